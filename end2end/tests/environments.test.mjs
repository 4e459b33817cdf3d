// Environments in the browser: an operator runs a plan through dev and into
// production 5 %; the plan page shows each environment's exposure; the
// rollback panel says, before the typed confirmation, what each rollback
// does to each environment; one organisation is rolled back alone and
// restored, and evaluates on again; a viewer sees the exposures but no
// rollback or restore controls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { screenshot, hydrated, personIn, startPhase } from './support/console.mjs';
import { useConsole, server, browser } from './support/use_console.mjs';

useConsole();

const PLAN = `[plan]
name = "Checkout v2"
flag = "checkout_v2"

[[phases]]
name = "dev"
environment = "dev"
exposure_bp = 10000
[phases.gate]
approvals = 0

[[phases]]
name = "production 5%"
environment = "production"
exposure_bp = 500
[phases.gate]
approvals = 0
`;

async function evaluate(request, token, entity) {
  const res = await request.get(`${server.url}/api/v1/flags/checkout_v2/evaluate?entity=${entity}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  assert.equal(res.status(), 200);
  return (await res.json()).value;
}

test('exposure per environment, rollback preview, one organisation restored', async () => {
  const file = join(server.dir, 'checkout.toml');
  writeFileSync(file, PLAN);
  const imported = server.cli('plan', 'import', file);
  const planId = imported.match(/ as ([0-9a-f]{32})/)[1];
  const prod = server.createToken('storefront', ['flags:read'], 'production');
  const op = await personIn(server, browser, 'olga', 'operator');
  const viewer = await personIn(server, browser, 'vera', 'viewer');
  const planUrl = `${server.url}/plans/${planId}`;

  await op.page.goto(planUrl);
  await hydrated(op.page);
  for (const name of ['dev', 'production 5%']) {
    const phase = op.page.locator(`section.phase[data-phase="${name}"]`);
    await startPhase(phase);
    await op.page.waitForSelector(`section.phase[data-phase="${name}"][data-status="active"]`);
    await phase.locator('form.request-approval button').click();
    await op.page.waitForSelector(`section.phase[data-phase="${name}"][data-status="approved"]`);
  }
  assert.equal(await op.page.textContent('#exposure-dev'), '100 %');
  assert.equal(await op.page.textContent('#exposure-staging'), 'off');
  assert.equal(await op.page.textContent('#exposure-production'), '5 %');

  // Before anything is typed, the panel says what each rollback does.
  // Every environment is listed, what a rollback leaves alone included.
  const preview = op.page.locator('#rollback-preview');
  const effects = async (kind) =>
    preview.locator(`tr[data-kind="${kind}"] td .change`).evaluateAll((spans) => spans.map((s) => s.textContent.trim()));
  assert.deepEqual(await effects('standard'), [
    'dev 100 % (unchanged)',
    'staging 0 % (unchanged)',
    'production 5 % → 0 %',
  ]);
  assert.deepEqual(await effects('emergency'), [
    'dev 100 % → 0 %',
    'staging 0 % (unchanged)',
    'production 5 % → 0 %',
  ]);
  await screenshot(op.page, 'environments-preview');

  // One organisation that is on in production, rolled back alone.
  const ids = Array.from({ length: 400 }, (_, i) => `org-${i}`);
  let entity;
  for (const id of ids) {
    if (await evaluate(op.page.request, prod, id)) { entity = id; break; }
  }
  assert.ok(entity, 'someone is in the 5 %');
  await op.page.check('#rollback-form input[value="entity"]');
  await op.page.fill('#rollback-form input[name="entity"]', entity);
  await op.page.fill('#rollback-form input[name="reason"]', 'their import is broken');
  await op.page.fill('#rollback-form input[name="confirm"]', 'Checkout v2');
  await op.page.click('#rollback-form button[type="submit"]');
  await op.page.waitForSelector(`#flag-deny li[data-denied="${entity}"]`);
  assert.equal(await evaluate(op.page.request, prod, entity), false);
  assert.equal(await op.page.textContent('#exposure-production'), '5 %', 'the others keep it');

  // The viewer sees the exposures and the organisation, with no controls.
  await viewer.page.goto(planUrl);
  await hydrated(viewer.page);
  assert.equal(await viewer.page.textContent('#exposure-production'), '5 %');
  await viewer.page.waitForSelector(`#flag-deny li[data-denied="${entity}"]`);
  assert.equal(await viewer.page.locator('#flag-deny button').count(), 0);
  assert.equal(await viewer.page.locator('#rollback-form').count(), 0);
  await screenshot(viewer.page, 'environments-viewer');

  // Restored, with a reason: it evaluates on again.
  const row = op.page.locator(`#flag-deny li[data-denied="${entity}"]`);
  await row.locator('input[name="reason"]').fill('import fixed');
  await row.locator('button').click();
  await op.page.waitForSelector(`#flag-deny li[data-denied="${entity}"]`, { state: 'detached' });
  assert.equal(await evaluate(op.page.request, prod, entity), true);

  // Standard rollback of production 5 %: production off, dev unchanged.
  await op.page.check('#rollback-form input[value="standard"]');
  await op.page.fill('#rollback-form input[name="reason"]', 'p95 up 20 %');
  await op.page.fill('#rollback-form input[name="confirm"]', 'Checkout v2');
  await op.page.click('#rollback-form button[type="submit"]');
  await op.page.waitForSelector('section.phase[data-phase="production 5%"][data-status="pending"]');
  assert.equal(await op.page.textContent('#exposure-production'), '0 %');
  assert.equal(await op.page.textContent('#exposure-dev'), '100 %');
  await op.page.waitForSelector('#plan[data-status="active"]');
  await screenshot(op.page, 'environments-after-rollback');

  for (const p of [op, viewer]) {
    assert.deepEqual(p.errors, [], 'no page or console errors');
    await p.context.close();
  }
});
