// A backfill from the browser: an operator dry-runs, then runs the STI
// template's school job on the demo target (refused at first: the dry-run
// was not clean and no phase is under way; overridden with a reason); the
// counters and the chart move without reload; pause and resume work; the
// failing keys are listed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { watchErrors, screenshot, signIn, newPlanFromTemplate, confirmAndSend } from './support/console.mjs';
import { useConsole, server, browser } from './support/use_console.mjs';

useConsole({ demoRows: 40000 });

const processed = (page) => page.getAttribute('#job-processed', 'data-value').then(Number);

test('dry-run then run from the UI, live counters and chart, pause and resume', async () => {
  const password = server.addUser('bella', 'operator');
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await signIn(page, server.url, 'bella', password);
  // The store this pass runs on (scripts/test runs this file on SQLite and on PostgreSQL).
  assert.match(await page.textContent('#fact-store'), new RegExp(`^${server.storeBackend} · `));
  await page.goto(`${server.url}/plans`);
  await page.waitForSelector('main[data-hydrated="true"]', { timeout: 30_000 });
  const planUrl = await newPlanFromTemplate(page, 'sti-backfill', 'STI demo', 'enable_sti_demo');

  // Slow the school job down so a person (and this test) can watch it.
  await page.waitForSelector('main[data-hydrated="true"]');
  await page.click('#edit-plan-link');
  await page.waitForSelector('#plan-source');
  await page.waitForSelector('main[data-hydrated="true"]');
  const source = await page.inputValue('#plan-source');
  await page.fill('#plan-source', source.replace('chunk = 2000\nerror_policy = "skip"', 'chunk = 250\nfixed_chunk = true\nmax_rows_per_sec = 3000\nerror_policy = "skip"'));
  await Promise.all([page.waitForURL((u) => u.pathname === new URL(planUrl).pathname), page.click('#edit-plan button[type="submit"]')]);
  await page.waitForSelector('#plan-jobs a[data-job="school"]');
  await page.waitForSelector('main[data-hydrated="true"]');
  await Promise.all([page.waitForURL(/\/jobs\/school$/), page.click('#plan-jobs a[data-job="school"]')]);
  await page.waitForSelector('#job[data-status="none"]');
  await page.waitForSelector('main[data-hydrated="true"]');

  await page.click('button[data-mode="dry_run"]');
  await page.waitForFunction(() => /dry-run/.test(document.querySelector('#job-status')?.textContent ?? ''));
  await page.waitForSelector('#job[data-status="done"]', { timeout: 30_000 });
  assert.match(await page.textContent('#job-status'), /done \(dry-run\)/);
  assert.ok(Number((await page.textContent('#job-created')).replaceAll(',', '')) > 10_000, 'the dry-run reports what it would create');
  assert.ok((await page.locator('#job-failures tbody tr').count()) >= 8, 'the broken rows are listed');

  // The demo data has broken rows, so the dry-run was not clean: the live
  // run's confirmation says so before anything is sent, and it goes ahead
  // only with a reason (audited).
  await page.evaluate(() => { window.__sameDocument = true; });
  assert.match(await page.textContent('#run-environment'), /dev \(target demo\)/);
  await page.click('details.run-confirm > summary');
  assert.match(await page.textContent('#run-what'), /writes to target demo for dev/);
  assert.match(await page.textContent('#dry-run-warning'), /newest dry-run for dev failed \d+ keys.*needs a reason/);
  await page.check('#run-form input[type="checkbox"]');
  let sent = 0;
  const count = (r) => { if (r.method() === 'POST') sent += 1; };
  page.on('request', count);
  await page.click('#run-form button[type="submit"]');
  await page.waitForTimeout(300);
  assert.equal(sent, 0, 'no reason, nothing sent: the form asks for it');
  assert.equal(await page.$eval('#run-form input[name="override_reason"]', (e) => e.validity.valueMissing), true);
  await screenshot(page, 'backfill-run-confirm');
  await page.fill('#run-form input[name="override_reason"]', 'the broken demo rows are known; they are listed as failing keys');
  await page.click('#run-form button[type="submit"]');
  page.off('request', count);
  await page.waitForSelector('#job[data-status="running"]');
  assert.match(await page.textContent('#job-runs tbody tr:first-child'), /dev · demo/);
  const first = await processed(page);
  const chartBefore = await page.innerHTML('#job-chart');
  await page.waitForFunction((n) => Number(document.querySelector('#job-processed')?.dataset.value) > n + 500, first, { timeout: 15_000 });
  assert.notEqual(await page.innerHTML('#job-chart'), chartBefore, 'the chart moved');
  assert.match(await page.innerHTML('#job-chart'), /<svg/);
  await screenshot(page, 'backfill-running');

  // Pause: it stays put; resume: it finishes.
  await page.click('#pause-run');
  await page.waitForSelector('#job[data-status="paused"]');
  const paused = await processed(page);
  await page.waitForTimeout(800);
  assert.equal(await processed(page), paused, 'a paused run does not move');
  // The dashboard lists the job under way with its progress.
  const elsewhere = await browser.newContext();
  const dashboard = await elsewhere.newPage();
  await signIn(dashboard, server.url, 'bella', password);
  await dashboard.goto(`${server.url}/`);
  const live = dashboard.locator('#live-runs tr[data-status="paused"]');
  assert.match(await live.textContent(), /STI demo · school.*paused \(run\).*dev · demo.*of [\d,]+ keys.*bella/s);
  assert.equal(Number(await live.locator('progress').getAttribute('value')), paused);
  await elsewhere.close();
  await confirmAndSend(page, 'details.run-confirm', { '#run-form input[name="override_reason"]': 'resume after the pause' });
  await page.waitForSelector('#job[data-status="running"]');
  // Live retune: lift the rate ceiling while it runs.
  await page.fill('#retune input[name="max_rows_per_sec"]', '0');
  await page.click('#retune button[type="submit"]');
  await page.waitForSelector('#retune-result.ok');
  await page.waitForSelector('#job[data-status="done"]', { timeout: 30_000 });
  assert.match(await page.textContent('#job-status'), /done \(run\)/);
  assert.ok((await page.locator('#job-failures tbody tr').count()) >= 8);
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload happened');
  await screenshot(page, 'backfill-done');

  // Verify says what it found where the operator looks: the broken rows are
  // missing from the subtype table, so it does not pass.
  await page.click('button[data-mode="verify"]');
  await page.waitForSelector('#verify-result');
  assert.equal(await page.getAttribute('#verify-result', 'data-passed'), 'false');
  assert.match(await page.textContent('#verify-result'), /Missing\s*8 \(first: 20, 5020/);
  await screenshot(page, 'backfill-verify-result');

  // Undo says how many rows it deletes, where, and whose run it reverts;
  // nothing is sent until that is confirmed.
  await page.click('details.undo-confirm > summary');
  assert.match(await page.textContent('#undo-what'), /Deletes what the 1 live run for dev created on target demo and still holds — up to \d+ rows \(newest: run [0-9a-f]{8}, by bella, /);
  await page.click('#undo-form button[type="submit"]');
  await page.waitForTimeout(300);
  assert.match(await page.textContent('#job-status'), /done \(verify\)/, 'not sent without the tick');
  await screenshot(page, 'backfill-undo-confirm');
  await page.check('#undo-form input[type="checkbox"]');
  await page.click('#undo-form button[type="submit"]');
  await page.waitForFunction(() => /\(undo\)/.test(document.querySelector('#job-status')?.textContent ?? ''), null, { timeout: 30_000 });
  await screenshot(page, 'job-1280');
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, 'job-390');
  // Nothing was refused and nothing failed on the page.
  assert.deepEqual(errors, [], 'no page or console errors, no refused request');
  await page.close();
});
