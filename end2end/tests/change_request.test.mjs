// Gates that bind, in the browser: an operator edits a running plan's gate
// to need no approvals; the edit waits as a change request (the gate still
// asks for its approval); the operator is offered no Approve on their own
// change; an approver, in their own browser, approves it, and it applies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startConsole, launchBrowser, screenshot, hydrated, personIn, startPhase } from './support/console.mjs';

let server;
let browser;

before(async () => {
  server = await startConsole();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

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
  const file = join(server.dir, 'search.toml');
  writeFileSync(file, PLAN);
  const planId = server.cli('plan', 'import', file).match(/ as ([0-9a-f]{32})/)[1];
  const planUrl = `${server.url}/plans/${planId}`;
  const op = await personIn(server, browser, 'olga', 'operator');
  const ann = await personIn(server, browser, 'ann', 'approver');

  await op.page.goto(planUrl);
  await hydrated(op.page);
  await startPhase(op.page.locator('section.phase[data-phase="pilot"]'));
  await op.page.waitForSelector('section.phase[data-phase="pilot"][data-status="active"]');

  // The operator removes the approval the gate asks for.
  await op.page.click('#edit-plan-link');
  await op.page.waitForSelector('#plan-source');
  await hydrated(op.page);
  const source = await op.page.inputValue('#plan-source');
  await op.page.fill('#plan-source', source.replace('approvals = 1', 'approvals = 0'));
  await Promise.all([
    op.page.waitForURL((u) => u.pathname === `/plans/${planId}`),
    op.page.click('#edit-plan button[type="submit"]'),
  ]);
  await op.page.waitForSelector('#change-request');
  assert.match(await op.page.textContent('#change-request .weakens'), /approvals 1 → 0/);
  assert.equal(await op.page.locator('#change-request form.approve-change').count(), 0, 'not for its author');
  const gate = op.page.locator('section.phase[data-phase="pilot"] .gate .approvals-count');
  assert.equal(await gate.textContent(), '0 of 1 approvals', 'the gate still asks for its approval');
  await screenshot(op.page, 'change-request-author');

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
