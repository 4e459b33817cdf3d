// Gates that bind, in the browser: an operator edits a running plan's gate
// to need no approvals; the edit waits as a change request (the gate still
// asks for its approval); the operator is offered no Approve on their own
// change; an approver, in their own browser, approves it, and it applies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { screenshot, hydrated, personIn, startPhase } from './support/console.mjs';
import { useConsole, server, browser } from './support/use_console.mjs';

useConsole();

const PLAN = `[plan]
name = "Search v3"
flag = "search_v3"

[[phases]]
name = "pilot"
environment = "production"
exposure_bp = 100
[phases.gate]
approvals = 1

[[phases]]
name = "everyone"
environment = "production"
exposure_bp = 10000
`;

test('a weakened gate waits for someone else', async () => {
  const op = await personIn(server, browser, 'olga', 'operator');
  const ann = await personIn(server, browser, 'ann', 'approver');

  // The operator removes the approval the gate asks for.
  const planUrl = await proposeWeakerGate(op, 'Search v3', 'search_v3');
  const planId = new URL(planUrl).pathname.split('/').pop();
  assert.equal(await op.page.locator('#change-request form.approve-change').count(), 0, 'not for its author');
  const gate = op.page.locator('section.phase[data-phase="pilot"] .gate .approvals-count');
  assert.equal(await gate.textContent(), '0 of 1 approvals', 'the gate still asks for its approval');
  await screenshot(op.page, 'change-request-author');

  // The approver's dashboard lists it among what waits for her decision.
  await ann.page.goto(`${server.url}/`);
  await hydrated(ann.page);
  assert.match(
    await ann.page.textContent(`#waiting-for-me li[data-change][data-plan="${planId}"]`),
    /Search v3 · change request by olga — changes: .*approvals 1 → 0.*; 0 of 1 approvals/,
  );

  // The approver approves it in their own browser; it applies.
  await ann.page.goto(planUrl);
  await hydrated(ann.page);
  await ann.page.fill('#change-request form.approve-change input[name="comment"]', 'fine for a 1 % pilot');
  await ann.page.click('#change-request form.approve-change button');
  await ann.page.waitForSelector('#change-request', { state: 'detached' });
  await screenshot(ann.page, 'change-request-applied');
  await op.page.waitForSelector('#change-request', { state: 'detached', timeout: 10_000 });
  assert.equal(await gate.textContent(), '0 of 0 approvals', 'now in effect');

  for (const p of [op, ann]) {
    assert.deepEqual(p.errors, [], 'no page or console errors');
    await p.context.close();
  }
});

/** A plan file like PLAN, under its own name and flag key. */
function planFile(name, flag) {
  return PLAN.replace('name = "Search v3"', `name = "${name}"`).replace('flag = "search_v3"', `flag = "${flag}"`);
}

/**
 * Imports a plan, starts its pilot in the author's browser and edits its gate
 * down to no approvals; returns the plan's URL once the edit waits as a
 * change request.
 */
async function proposeWeakerGate(author, name, flag) {
  const file = join(server.dir, `${flag}.toml`);
  writeFileSync(file, planFile(name, flag));
  const planId = server.cli('plan', 'import', file).match(/ as ([0-9a-f]{32})/)[1];
  const planUrl = `${server.url}/plans/${planId}`;
  await author.page.goto(planUrl);
  await hydrated(author.page);
  await startPhase(author.page.locator('section.phase[data-phase="pilot"]'));
  await author.page.waitForSelector('section.phase[data-phase="pilot"][data-status="active"]');
  await author.page.click('#edit-plan-link');
  await author.page.waitForSelector('#plan-source');
  await hydrated(author.page);
  const source = await author.page.inputValue('#plan-source');
  await author.page.fill('#plan-source', source.replace('approvals = 1', 'approvals = 0'));
  await Promise.all([
    author.page.waitForURL((u) => u.pathname === `/plans/${planId}`),
    author.page.click('#edit-plan button[type="submit"]'),
  ]);
  await author.page.waitForSelector('#change-request');
  await hydrated(author.page);
  assert.match(await author.page.textContent('#change-request .weakens'), /approvals 1 → 0/);
  // And the file's lines it changes, as a diff.
  const diff = await author.page.textContent('#change-request pre.diff');
  assert.match(diff, /^-approvals = 1$/m, diff);
  assert.match(diff, /^\+approvals = 0$/m, diff);
  return planUrl;
}

const gateOf = (page) => page.locator('section.phase[data-phase="pilot"] .gate .approvals-count');
const changeForms = '#change-request form.approve-change, #change-request form.reject-change, '
  + '#change-request form.override-change, #change-request form.withdraw-change';

test('a change request is rejected, withdrawn, or overridden by an admin with a reason', async () => {
  // Names of their own: the test above made olga and ann on this console.
  const op = await personIn(server, browser, 'opal', 'operator');
  const amos = await personIn(server, browser, 'amos', 'approver');
  const vera = await personIn(server, browser, 'vera', 'viewer');
  const ada = await personIn(server, browser, 'ada', 'admin');

  // 1. An approver rejects it, with a comment; it is gone for the author
  // too (live, no reload), and the gate still asks for its approval.
  const rejected = await proposeWeakerGate(op, 'Search v3 rejected', 'search_v3_rejected');
  assert.equal(await op.page.locator('#change-request form.reject-change').count(), 0, 'the author cannot reject it');
  await amos.page.goto(rejected);
  await hydrated(amos.page);
  await amos.page.fill('#change-request form.reject-change input[name="comment"]', 'not without a second pair of eyes');
  await amos.page.click('#change-request form.reject-change button[type="submit"]');
  await amos.page.waitForSelector('#change-request', { state: 'detached' });
  assert.match(await amos.page.textContent('#outcome'), /Rejected the change request/);
  assert.equal(await gateOf(amos.page).textContent(), '0 of 1 approvals', 'the gate is unchanged');
  await screenshot(amos.page, 'change-request-rejected');
  await op.page.waitForSelector('#change-request', { state: 'detached', timeout: 10_000 });
  assert.equal(await gateOf(op.page).textContent(), '0 of 1 approvals', 'unchanged for the author too');

  // 2. A viewer sees the pending change but may not act on it; its author
  // withdraws it, and it is gone for both.
  const withdrawn = await proposeWeakerGate(op, 'Search v3 withdrawn', 'search_v3_withdrawn');
  await vera.page.goto(withdrawn);
  await hydrated(vera.page);
  await vera.page.waitForSelector('#change-request');
  assert.match(await vera.page.textContent('#change-request .weakens'), /approvals 1 → 0/);
  assert.equal(await vera.page.locator(changeForms).count(), 0, 'no Approve, Reject, Override or Withdraw for a viewer');
  assert.equal(await vera.page.locator('#change-request button').count(), 0);
  await screenshot(vera.page, 'change-request-viewer');
  await op.page.click('#change-request form.withdraw-change button[type="submit"]');
  await op.page.waitForSelector('#change-request', { state: 'detached' });
  assert.match(await op.page.textContent('#outcome'), /Withdrew the change request/);
  assert.equal(await gateOf(op.page).textContent(), '0 of 1 approvals', 'the gate is unchanged');
  await screenshot(op.page, 'change-request-withdrawn');
  await vera.page.waitForSelector('#change-request', { state: 'detached', timeout: 10_000 });
  assert.equal(await gateOf(vera.page).textContent(), '0 of 1 approvals');

  // 3. An admin who did not write it overrides it: not without a reason.
  const overridden = await proposeWeakerGate(op, 'Search v3 overridden', 'search_v3_overridden');
  await ada.page.goto(overridden);
  await hydrated(ada.page);
  const form = ada.page.locator('#change-request form.override-change');
  const reason = form.locator('input[name="reason"]');
  const sent = [];
  ada.page.on('request', (r) => { if (r.url().endsWith('/api/plan_command')) sent.push(r); });
  await form.locator('button[type="submit"]').click();
  await ada.page.waitForTimeout(300);
  assert.equal(await reason.evaluate((el) => el.validity.valueMissing), true, 'the reason is required');
  assert.equal(sent.length, 0, 'nothing sent without a reason');
  // Blanks pass the browser's check; the server refuses them, next to the form.
  await reason.fill('   ');
  await form.locator('button[type="submit"]').click();
  const refused = ada.page.locator('#change-request .form-error');
  await refused.waitFor();
  assert.match(await refused.textContent(), /reason: say why/);
  assert.equal(await ada.page.locator('#change-request').count(), 1, 'still waiting');
  assert.equal(await gateOf(ada.page).textContent(), '0 of 1 approvals', 'still asking for its approval');
  await screenshot(ada.page, 'change-request-override-refused');
  await reason.fill('pilot is 1 %, approvers are out today');
  await form.locator('button[type="submit"]').click();
  await ada.page.waitForSelector('#change-request', { state: 'detached' });
  assert.match(await ada.page.textContent('#outcome'), /applies by an admin override/);
  assert.equal(await gateOf(ada.page).textContent(), '0 of 0 approvals', 'the weaker gate is in effect');
  await screenshot(ada.page, 'change-request-overridden');
  await op.page.waitForSelector('#change-request', { state: 'detached', timeout: 10_000 });
  assert.equal(await gateOf(op.page).textContent(), '0 of 0 approvals');

  // Nothing failed but the one refusal this test asked for.
  const expected = (e) => /HTTP 400: .*\/api\/plan_command$/.test(e);
  assert.equal(ada.errors.filter(expected).length, 1, 'the blank reason was refused once');
  assert.deepEqual(ada.errors.filter((e) => !expected(e)), []);
  for (const p of [op, amos, vera, ada]) {
    if (p !== ada) assert.deepEqual(p.errors, [], 'no page or console errors');
    await p.context.close();
  }
});
