// A rollout driven by three people in three browsers: an operator creates a
// plan from the STI template, ticks the checklist and requests approval; two
// approvers approve in their own browsers while the operator's open page
// shows each approval without reload; the operator advances, then presses
// emergency rollback; the flag is off for everyone; the audit trail has it all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot, newPlanFromTemplate, signIn, hydrated, personIn, startPhase } from './support/console.mjs';
import { useConsole, server, browser } from './support/use_console.mjs';

useConsole();

async function evaluateAll(request, token, key, ids) {
  const values = [];
  for (const id of ids) {
    const res = await request.get(`${server.url}/api/v1/flags/${key}/evaluate?entity=${id}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(res.status(), 200);
    values.push((await res.json()).value);
  }
  return values;
}

test('operator, two approvers, live gate, advance, emergency rollback', async () => {
  const op = await personIn(server, browser, 'olga', 'operator');
  const ann = await personIn(server, browser, 'ann', 'approver');
  const bob = await personIn(server, browser, 'bob', 'approver');
  const token = server.createToken('storefront', ['flags:read'], 'staging');
  const production = server.createToken('storefront-prod', ['flags:read'], 'production');

  // The store this pass runs on (scripts/test runs this file on SQLite and on PostgreSQL).
  assert.match(await op.page.textContent('#fact-store'), new RegExp(`^${server.storeBackend} · `));

  // The operator creates the plan from the STI template.
  await op.page.goto(`${server.url}/plans`);
  await hydrated(op.page);
  const planUrl = await newPlanFromTemplate(op.page, 'sti-backfill', 'STI EU', 'enable_sti_eu');
  const planId = planUrl.split('/').pop();
  await op.page.waitForSelector('#plan[data-status="draft"]');

  // The template's dev gate asks for a 48 h soak and a clean dry-run (which
  // only the backfill engine can report); for this test the operator edits
  // the plan file in the browser: two approvers, no soak, no dry-run items
  // before production.
  await hydrated(op.page);
  await op.page.click('#edit-plan-link');
  await op.page.waitForSelector('#plan-source');
  await hydrated(op.page);
  const source = await op.page.inputValue('#plan-source');
  const edited = source
    .replace('approvals = 1\nsoak = "48h"', 'approvals = 2\nsoak = "0"')
    .replace('[[phases.checklist]]\nkind = "auto"\ncheck = "dry_run_clean"\ntext = "Dry-run completes without errors"\n', '')
    .replace(/\[\[phases\.entry\]\]\nkind = "auto"\ncheck = "dry_run_clean"\nmax_age = "24h"\ntext = "Dry-run on staging's data[^\n]*\n/, '');
  assert.equal((edited.match(/check = "dry_run_clean"/g) ?? []).length, 1, 'only production\'s dry-run item is left');
  assert.notEqual(edited, source);
  await op.page.fill('#plan-source', edited);
  await Promise.all([op.page.waitForURL((u) => u.pathname === new URL(planUrl).pathname), op.page.click('#edit-plan button[type="submit"]')]);
  await op.page.waitForSelector('section[data-phase="dev"]');
  // The save is said where the eye is, not silently.
  assert.match(await op.page.textContent('#outcome #saved'), /Plan file saved: the change applies now/);
  await hydrated(op.page);

  // Start dev: the flag goes to 100 %.
  const dev = op.page.locator('section.phase[data-phase="dev"]');
  await startPhase(dev);
  await op.page.waitForSelector('section.phase[data-phase="dev"][data-status="active"]');
  assert.equal(await op.page.textContent('#exposure-dev'), '100 %');
  assert.equal(await op.page.textContent('#exposure-production'), 'off', 'dev is only dev');

  // Tick every manual item (who and when is shown), then request approval.
  for (let ticked = 0; ; ticked++) {
    const tick = dev.locator('form.tick button', { hasText: /^Tick$/ });
    if ((await tick.count()) === 0) break;
    await tick.first().click();
    await op.page.waitForFunction(
      (n) => document.querySelectorAll('section[data-phase="dev"] .ticked-by').length === n,
      ticked + 1,
    );
  }
  assert.equal(await dev.locator('.ticked-by').count(), 3);
  assert.match(await dev.locator('.ticked-by').first().textContent(), /ticked by olga at/);
  await dev.locator('form.request-approval button').click();
  await op.page.waitForSelector('section.phase[data-phase="dev"][data-status="awaiting_approval"]');
  assert.match(await dev.locator('.still-needed').textContent(), /still needed: 2 more from approver/);

  // From here the operator's page is never reloaded: SSE brings the changes.
  await op.page.evaluate(() => { window.__sameDocument = true; });

  for (const [n, who, name] of [[1, ann, 'ann'], [2, bob, 'bob']]) {
    await who.page.goto(planUrl);
    await hydrated(who.page);
    const gate = who.page.locator('section.phase[data-phase="dev"]');
    await gate.locator('form.approve input[name="comment"]').fill(`looks good — ${name}`);
    await gate.locator('form.approve button').click();
    await who.page.waitForSelector(`section.phase[data-phase="dev"] li[data-user="${name}"][data-verdict="approve"]`);
    // The operator's open page shows it, live.
    await op.page.waitForSelector(`section.phase[data-phase="dev"] li[data-user="${name}"][data-verdict="approve"]`, { timeout: 10_000 });
    assert.match(await dev.locator('.approvals-count').textContent(), new RegExp(`^${n} of 2 approvals`));
  }
  await op.page.waitForSelector('section.phase[data-phase="dev"][data-status="approved"]');
  assert.equal(await op.page.evaluate(() => window.__sameDocument), true, 'no reload happened');
  await screenshot(op.page, 'plan-approved');

  // The operator advances to staging, once its entry criteria are ticked
  // (team notified, rollback plan ready, monitoring active).
  const staging = op.page.locator('section.phase[data-phase="staging"]');
  assert.match(await staging.textContent(), /Before starting/);
  for (let ticked = 0; ; ticked++) {
    const tick = staging.locator('table.entry form.tick button', { hasText: /^Tick$/ });
    if ((await tick.count()) === 0) break;
    await tick.first().click();
    await op.page.waitForFunction(
      (n) => document.querySelectorAll('section[data-phase="staging"] table.entry .ticked-by').length === n,
      ticked + 1,
    );
  }
  await startPhase(staging);
  await op.page.waitForSelector('section.phase[data-phase="staging"][data-status="active"]');
  // Staging's guardrails are read at once, live on the open page; with no
  // Prometheus configured they read as errors: never healthy.
  const reading = '#guardrails tr[data-guardrail="error_rate"] .reading[data-environment="staging"]';
  await op.page.waitForSelector(`${reading}[data-outcome="error"]`, { timeout: 10_000 });
  assert.match(await op.page.textContent(reading), /prometheus "app" is not configured/);
  await screenshot(op.page, 'plan-guardrails');
  await op.page.waitForSelector('section.phase[data-phase="dev"][data-status="done"]');
  const ids = Array.from({ length: 100 }, (_, i) => `org-${i}`);
  assert.deepEqual(await evaluateAll(op.page.request, token, 'enable_sti_eu', ids), ids.map(() => true));
  assert.deepEqual(await evaluateAll(op.page.request, production, 'enable_sti_eu', ids), ids.map(() => false), 'production untouched');

  // Emergency rollback, with the plan's name typed.
  await op.page.check('#rollback-form input[value="emergency"]');
  await op.page.fill('#rollback-form input[name="reason"]', 'checkout errors doubled');
  await op.page.fill('#rollback-form input[name="confirm"]', 'STI EU');
  await op.page.click('#rollback-form button[type="submit"]');
  await op.page.waitForSelector('#plan[data-status="rolled_back"]');
  for (const env of ['dev', 'staging', 'production']) {
    assert.equal(await op.page.textContent(`#exposure-${env}`), 'off', env);
  }
  assert.deepEqual(await evaluateAll(op.page.request, token, 'enable_sti_eu', ids), ids.map(() => false));
  await screenshot(op.page, 'plan-rolled-back');

  // The audit page lists every step with its actor.
  await op.page.goto(`${server.url}/audit?subject=plan:${planId}`);
  await op.page.waitForSelector('#audit-events');
  const all = await op.page.$$eval('#audit-events tbody tr', (trs) =>
    trs.map((tr) => `${tr.dataset.actor} ${tr.dataset.action}`).reverse(),
  );
  // The console's own guardrail readings (staging's guardrails read no
  // configured Prometheus: errors, audited as the system) interleave; every
  // other step is a person's, in order.
  const rows = all.filter((r) => r !== 'system guardrail.state');
  assert.ok(all.every((r) => !r.startsWith('system ') || r === 'system guardrail.state'), all.join(', '));
  assert.deepEqual(rows, [
    'olga plan.create',
    'olga plan.edit',
    'olga plan.activate',
    'olga phase.start',
    'olga checklist.tick',
    'olga checklist.tick',
    'olga checklist.tick',
    'olga gate.request',
    'ann gate.approve',
    'bob gate.approve',
    'olga checklist.tick',
    'olga checklist.tick',
    'olga checklist.tick',
    'olga phase.start',
    'olga plan.rollback.emergency',
  ]);
  for (const p of [op, ann, bob]) {
    assert.deepEqual(p.errors, [], 'no page or console errors');
    await p.context.close();
  }
});

/** Submits a form by clicking `button` and waits for the page the server sends back. */
async function submit(page, button) {
  await Promise.all([page.waitForEvent('framenavigated'), button.click()]);
  await page.waitForLoadState('load');
}

test('plan forms work before hydration (JavaScript off)', async () => {
  const password = server.addUser('nojs-op', 'operator');
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, server.url, 'nojs-op', password);
  await page.goto(`${server.url}/plans`);
  const planUrl = await newPlanFromTemplate(page, 'partitioned-tables', 'Partitions without JS', 'partitions_nojs');
  const dev = page.locator('section.phase[data-phase="dev"]');
  // The confirmation is a native disclosure and a required tick: no script needed.
  await dev.locator('details.start-confirm > summary').click();
  await dev.locator('form.start-phase input[type="checkbox"]').check();
  await submit(page, dev.locator('form.start-phase button[type="submit"]'));
  await page.waitForSelector('section.phase[data-phase="dev"][data-status="active"]');
  assert.equal(await page.textContent('#exposure-dev'), '100 %');
  await dev.locator('form.tick input[name="comment"]').first().fill('checked by hand');
  await submit(page, dev.locator('form.tick button').first());
  assert.match(await dev.locator('.ticked-by').first().textContent(), /ticked by nojs-op at .* — checked by hand/);
  // A mistake is refused without losing anything: the wrong name typed.
  await page.check('#rollback-form input[value="emergency"]');
  await page.fill('#rollback-form input[name="reason"]', 'test');
  await page.fill('#rollback-form input[name="confirm"]', 'not the name');
  await submit(page, page.locator('#rollback-form button[type="submit"]'));
  assert.equal(new URL(page.url()).pathname, new URL(planUrl).pathname);
  await page.waitForSelector('#plan[data-status="active"]');
  assert.match(await page.textContent('#outcome'), /type the plan's name exactly \("Partitions without JS"\)/);
  await context.close();
});
