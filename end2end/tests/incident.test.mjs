// A console you can trust in an incident, in Chromium on the release build:
// a phase start asks first and says what it does to exposure; a blocked
// phase shows its Start disabled with the items that block it; a refused
// comment is said next to its field with the text kept; a mistyped
// emergency rollback keeps "Emergency" and the reason; Approve is disabled
// while its request is pending (a double click sends one); the audit badge
// is current; a viewer's dashboard shows the active plan's exposures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { screenshot, hydrated, personIn } from './support/console.mjs';
import { useConsole, server, browser } from './support/use_console.mjs';

useConsole();

const PLAN = `[plan]
name = "Incident drill"
flag = "incident_drill"

[[phases]]
name = "dev"
environment = "dev"
exposure_bp = 10000
[phases.gate]
approvals = 1
[[phases.checklist]]
kind = "manual"
text = "Smoke tests pass in dev"

[[phases]]
name = "production 5%"
environment = "production"
exposure_bp = 500
[phases.gate]
approvals = 1
`;

/** Counts the plan commands the page sends. */
function commands(page) {
  const sent = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/api/plan_command')) sent.push(r.url());
  });
  return sent;
}

test('confirmations, errors where you act, blockers, pending buttons, audit badge, live dashboard', async () => {
  const file = join(server.dir, 'drill.toml');
  writeFileSync(file, PLAN);
  const planId = server.cli('plan', 'import', file).match(/ as ([0-9a-f]{32})/)[1];
  const planUrl = `${server.url}/plans/${planId}`;
  const op = await personIn(server, browser, 'olga', 'operator');
  const ann = await personIn(server, browser, 'ann', 'approver');
  const vera = await personIn(server, browser, 'vera', 'viewer');
  const sent = commands(op.page);

  await op.page.setViewportSize({ width: 1280, height: 900 });
  await op.page.goto(planUrl);
  await hydrated(op.page);
  await screenshot(op.page, 'incident-plan-before-start-1280');

  // The start asks first and says what it does; nothing is sent unticked.
  const dev = op.page.locator('section.phase[data-phase="dev"]');
  await dev.locator('details.start-confirm > summary').click();
  assert.match(await dev.locator('form.start-phase').textContent(), /dev from 0 % to 100 %/);
  assert.match(await dev.locator('form.start-phase button[type="submit"]').textContent(), /dev: 0 % → 100 %/);
  await dev.locator('form.start-phase button[type="submit"]').click();
  await op.page.waitForTimeout(300);
  assert.equal(sent.length, 0, 'not sent before the tick');
  await dev.locator('form.start-phase input[type="checkbox"]').check();
  await dev.locator('form.start-phase button[type="submit"]').click();
  await op.page.waitForSelector('section.phase[data-phase="dev"][data-status="active"]');
  assert.equal(sent.length, 1);

  // The next phase's Start is shown, disabled, with every item that blocks it.
  const prod = op.page.locator('section.phase[data-phase="production 5%"]');
  const blocked = prod.locator('.start button[disabled]');
  assert.match(await blocked.textContent(), /Start production 5% \(production: 0 % → 5 %\)/);
  const blockers = await prod.locator('ul.blockers').textContent();
  assert.match(blockers, /phase "dev" is not approved yet/);
  assert.match(blockers, /checklist of phase "dev" is not complete: "Smoke tests pass in dev" is not ticked/);

  // A refused comment is said next to its field, and the text stays.
  const tick = dev.locator('form.tick');
  const long = 'x'.repeat(2001);
  await tick.locator('input[name="comment"]').evaluate((el, v) => { el.removeAttribute('maxlength'); el.value = v; }, long);
  await tick.locator('button').click();
  const tickError = dev.locator('.form-error');
  await tickError.waitFor();
  assert.match(await tickError.textContent(), /comment: at most 2000 characters/);
  assert.equal(await tick.locator('input[name="comment"]').inputValue(), long, 'the text is kept');
  assert.equal(await op.page.locator('#outcome .error').count(), 0, 'not far away');
  await tick.locator('input[name="comment"]').fill('all green');
  await tick.locator('button').click();
  await op.page.waitForSelector('section.phase[data-phase="dev"] .ticked-by');
  await dev.locator('form.request-approval button').click();
  await op.page.waitForSelector('section.phase[data-phase="dev"][data-status="awaiting_approval"]');

  // The rollback panel is one click from anywhere; a mistyped emergency
  // rollback keeps its choice and reason, with the error under the form.
  await op.page.mouse.wheel(0, 4000);
  await op.page.click('#jump-rollback');
  await op.page.check('#rollback-form input[value="emergency"]');
  await op.page.fill('#rollback-form input[name="reason"]', 'error budget burnt');
  await op.page.fill('#rollback-form input[name="confirm"]', 'Incident dril');
  await op.page.click('#rollback-form button[type="submit"]');
  const rbError = op.page.locator('#rollback .form-error');
  await rbError.waitFor();
  assert.match(await rbError.textContent(), /type the plan's name exactly/);
  assert.equal(await op.page.isChecked('#rollback-form input[value="emergency"]'), true, 'still Emergency');
  assert.equal(await op.page.inputValue('#rollback-form input[name="reason"]'), 'error budget burnt');
  await screenshot(op.page, 'incident-rollback-mistyped');

  // The approver: Approve is disabled while its request is pending, and a
  // double click sends one decision.
  const annSent = commands(ann.page);
  await ann.page.goto(planUrl);
  await hydrated(ann.page);
  await ann.page.route('**/api/plan_command', async (route) => {
    await new Promise((r) => setTimeout(r, 800));
    await route.continue();
  });
  // Before signing, the approver sees what the approval covers.
  const annDev = ann.page.locator('section.phase[data-phase="dev"]');
  assert.match(await annDev.locator('form.approve').textContent(), /Approving signs this evidence: .* dev at 100 %/);
  assert.match(await annDev.locator('.edits-since').textContent(), /has not changed since its last approval/);
  const approve = ann.page.locator('section.phase[data-phase="dev"] form.approve button[type="submit"]');
  await approve.dblclick();
  await ann.page.waitForTimeout(100);
  assert.equal(await approve.isDisabled(), true, 'disabled while pending');
  await ann.page.waitForSelector('section.phase[data-phase="dev"][data-status="approved"]');
  assert.equal(annSent.length, 1, 'one decision sent');
  assert.equal(await ann.page.locator('.form-error').count(), 0, 'not told "you already decided"');

  // The audit badge is current: it covers the newest event shown.
  await op.page.goto(`${server.url}/audit`);
  await hydrated(op.page);
  const newest = await op.page.getAttribute('#audit-events tbody tr:first-child', 'data-seq');
  assert.equal(await op.page.textContent('#chain-badge'), `chain intact through #${newest}`);
  // Subjects read as plan names, linked; a plan's name finds its events.
  assert.ok(await op.page.locator('#audit-events td.subject a', { hasText: 'Incident drill' }).count() > 0);
  await op.page.fill('#audit-filter input[name="subject"]', 'incident drill');
  await Promise.all([op.page.waitForURL(/subject=/), op.page.click('#apply-filter')]);
  await op.page.waitForSelector('#audit-events');
  const subjects = await op.page.locator('#audit-events td.subject').allTextContents();
  assert.ok(subjects.length > 3 && subjects.every((s) => s === 'Incident drill'), subjects.join('|'));
  await screenshot(op.page, 'incident-audit-1280');

  // The viewer's dashboard: what is live, with each environment's exposure.
  await vera.page.goto(`${server.url}/`);
  await hydrated(vera.page);
  const row = vera.page.locator(`#live-plans tr[data-plan="${planId}"]`);
  assert.match(await row.textContent(), /Incident drill/);
  assert.match(await row.locator('li[data-environment="dev"]').textContent(), /dev 100 %/);
  assert.match(await row.locator('li[data-environment="production"]').textContent(), /production off/);
  await screenshot(vera.page, 'incident-dashboard-viewer-1280');

  // The same pages on a phone's width.
  const narrow = [[op.page, planUrl, 'plan'], [op.page, `${server.url}/audit`, 'audit'], [vera.page, `${server.url}/`, 'dashboard']];
  for (const [page, url, name] of narrow) {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(url);
    await hydrated(page);
    await screenshot(page, `incident-${name}-390`);
  }

  // Nothing failed but the refusals this test asked for.
  const expected = (e) => /HTTP (400|409): .*\/api\/plan_command$/.test(e);
  assert.deepEqual(op.errors.filter((e) => !expected(e)), []);
  assert.deepEqual(ann.errors, []);
  assert.deepEqual(vera.errors, []);
});
