// Pilot targeting in the browser: an operator puts hand-picked organisations
// on production's allow list, loads the pilot phase's allow_query from its
// target, takes one off again, and sees the list on the plan page; once the
// pilot starts they evaluate on. A viewer sees the list but no controls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { screenshot, hydrated, personIn, startPhase } from './support/console.mjs';
import { useConsole, server, browser } from './support/use_console.mjs';

useConsole({ demoRows: 100 });

const PLAN = `[plan]
name = "Partitioned pilot"
flag = "partitioned_pilot"

[[phases]]
name = "pilot 1%"
environment = "production"
exposure_bp = 100
allow_query = { target = "demo", sql = "SELECT 'org-' || id FROM projects_project WHERE id <= 3 ORDER BY id" }
runbook = ["encore deploy production", "Watch the logs for the first 4 hours"]

[rollback]
standard = ["Set USE_PARTITIONED_TABLES=false in the application", "Monitor for 30 minutes"]
`;

async function evaluate(request, token, entity) {
  const res = await request.get(`${server.url}/api/v1/flags/partitioned_pilot/evaluate?entity=${entity}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  assert.equal(res.status(), 200);
  return res.json();
}

test('pilot allow list by hand and from an allow_query, shown on the plan page', async () => {
  const file = join(server.dir, 'pilot.toml');
  writeFileSync(file, PLAN);
  const planId = server.cli('plan', 'import', file).match(/ as ([0-9a-f]{32})/)[1];
  const prod = server.createToken('billing', ['flags:read'], 'production');
  const op = await personIn(server, browser, 'olga', 'operator');
  const viewer = await personIn(server, browser, 'vera', 'viewer');
  const planUrl = `${server.url}/plans/${planId}`;

  await op.page.goto(planUrl);
  await hydrated(op.page);
  assert.match(await op.page.textContent('#flag-allow + span'), /nobody on an allow list/);

  // By hand: two organisations, with a reason.
  await op.page.click('details.allow-add summary');
  await op.page.selectOption('#allow-form select[name="environment"]', 'production');
  await op.page.fill('#allow-form textarea[name="entity"]', 'org-acme, org-globex');
  await op.page.fill('#allow-form input[name="reason"]', 'hand-picked by the customer team');
  await op.page.click('#allow-form button[type="submit"]');
  await op.page.waitForSelector('#flag-allow li[data-allowed="org-globex"]');

  // From the phase's allow_query on the demo target.
  const phase = op.page.locator('section.phase[data-phase="pilot 1%"]');
  assert.match(await phase.locator('form.load-pilot button').textContent(), /Load the pilot from target demo/);
  await phase.locator('form.load-pilot input[name="reason"]').fill('pilot list from the CRM');
  await phase.locator('form.load-pilot button').click();
  await op.page.waitForSelector('#flag-allow li[data-allowed="org-3"]');
  const listed = await op.page.locator('#flag-allow li[data-allowed]').evaluateAll((els) => els.map((e) => e.dataset.allowed));
  assert.deepEqual(listed, ['org-1', 'org-2', 'org-3', 'org-acme', 'org-globex']);
  assert.match(await op.page.textContent('#flag-allow li[data-environment="production"] strong'), /production \(5\)/);
  await screenshot(op.page, 'pilot-allow-list');

  // One leaves the pilot.
  await op.page.selectOption('#disallow-form select[name="environment"]', 'production');
  await op.page.fill('#disallow-form input[name="entity"]', 'org-globex');
  await op.page.fill('#disallow-form input[name="reason"]', 'asked to leave the pilot');
  await op.page.click('#disallow-form button[type="submit"]');
  await op.page.waitForSelector('#flag-allow li[data-allowed="org-globex"]', { state: 'detached' });

  // Off until the pilot starts (production is off), then on for them.
  assert.equal((await evaluate(op.page.request, prod, 'org-acme')).value, false);
  await startPhase(phase);
  await op.page.waitForSelector('section.phase[data-phase="pilot 1%"][data-status="active"]');
  const acme = await evaluate(op.page.request, prod, 'org-acme');
  assert.equal(acme.value, true);
  assert.equal(acme.reason, 'allowed');
  assert.equal((await evaluate(op.page.request, prod, 'org-2')).value, true);

  // A viewer sees who is in the pilot, and no control to change it.
  await viewer.page.goto(planUrl);
  await hydrated(viewer.page);
  assert.equal(await viewer.page.locator('#flag-allow li[data-allowed]').count(), 4);
  assert.equal(await viewer.page.locator('#allow-form').count(), 0);
  assert.equal(await viewer.page.locator('form.load-pilot').count(), 0);
  assert.equal(await viewer.page.locator('#disallow-form').count(), 0);
  // The steps people carry out, where they belong: on the phase (for
  // everyone), and beside the rollback they go with (for those who may).
  assert.deepEqual(
    await viewer.page.locator('section.phase[data-phase="pilot 1%"] details.runbook li').allTextContents(),
    ['encore deploy production', 'Watch the logs for the first 4 hours'],
  );
  assert.match(await op.page.textContent('#rollback-preview tr[data-steps-of="standard"]'), /Monitor for 30 minutes/);
  await screenshot(viewer.page, 'pilot-viewer');
  assert.deepEqual(op.errors, [], 'no page errors for the operator');
  assert.deepEqual(viewer.errors, [], 'no page errors for the viewer');
  await op.context.close();
  await viewer.context.close();
});
