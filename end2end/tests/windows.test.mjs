// A job with an off-peak window (seeds 000 and 002: 2-4 AM), in the
// browser: a dry-run started outside it waits and the job page says until
// when; a viewer sees the wait but no way to override it; the operator lets
// it go on with a reason, which the audit trail keeps; a verify shows that
// the values were compared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { watchErrors, screenshot, signIn, newPlanFromTemplate, personIn, hydrated } from './support/console.mjs';
import { useConsole, server, browser } from './support/use_console.mjs';

useConsole({ demoRows: 4000 });

/** A two-hour window (UTC) that opens two hours from now. */
function closedWindow() {
  const hm = (ms) => {
    const m = Math.floor(ms / 60_000) % (24 * 60);
    return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  };
  const now = Date.now();
  return `window = { from = "${hm(now + 2 * 3_600_000)}", to = "${hm(now + 4 * 3_600_000)}", time_zone = "UTC" }`;
}

test('a run outside its window waits, says until when, and goes on with an audited reason', async () => {
  const password = server.addUser('bella', 'operator');
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await signIn(page, server.url, 'bella', password);
  await page.goto(`${server.url}/plans`);
  await hydrated(page);
  const planUrl = await newPlanFromTemplate(page, 'sti-backfill', 'STI off-peak', 'enable_sti_offpeak');
  await hydrated(page);
  await page.click('#edit-plan-link');
  await page.waitForSelector('#plan-source');
  await hydrated(page);
  const source = await page.inputValue('#plan-source');
  const windowed = source.replace('# window = { from = "02:00", to = "04:00", time_zone = "UTC" }', closedWindow());
  assert.notEqual(windowed, source, 'the template carries the window line');
  await page.fill('#plan-source', windowed);
  await Promise.all([page.waitForURL((u) => u.pathname === new URL(planUrl).pathname), page.click('#edit-plan button[type="submit"]')]);
  await page.waitForSelector('#plan-jobs a[data-job="school"]');
  await hydrated(page);
  await Promise.all([page.waitForURL(/\/jobs\/school$/), page.click('#plan-jobs a[data-job="school"]')]);
  await hydrated(page);

  await page.click('button[data-mode="dry_run"]');
  await page.waitForSelector('#job-waiting', { timeout: 15_000 });
  const waiting = await page.textContent('#job-waiting');
  assert.match(waiting, /^Waiting: outside the job's window \d\d:\d\d–\d\d:\d\d UTC: waits until \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
  assert.equal(await page.getAttribute('#job', 'data-status'), 'running', 'waiting is not a pause');
  assert.equal(await page.getAttribute('#job-processed', 'data-value'), '0');
  await page.setViewportSize({ width: 1280, height: 900 });
  await screenshot(page, 'job-window-waiting-operator');

  // A viewer sees why it waits, and nothing to press.
  const vic = await personIn(server, browser, 'vic', 'viewer');
  await vic.page.goto(page.url());
  await hydrated(vic.page);
  assert.match(await vic.page.textContent('#job-waiting'), /outside the job's window/);
  assert.equal(await vic.page.locator('#window-override').count(), 0);
  await screenshot(vic.page, 'job-window-waiting-viewer');

  // The operator lets it go on, with a reason.
  await page.fill('#window-override input[name="reason"]', 'INC-7: the fix must land before the morning peak');
  await page.click('#window-override button[type="submit"]');
  await page.waitForSelector('#job[data-status="done"]', { timeout: 30_000 });
  assert.equal(await page.locator('#job-waiting').count(), 0);
  assert.match(await page.textContent('#job-status'), /done \(dry-run\)/);

  // Verify compares values too: nothing is backfilled yet, so every legacy
  // row is missing on the new side.
  await page.click('button[data-mode="verify"]');
  await page.waitForSelector('#verify-values', { timeout: 30_000 });
  assert.match(await page.textContent('#verify-values'), /^0 differ, [\d,]+ missing, 0 extra of 0 compared \(keys: \d+/);
  await screenshot(page, 'job-verify-values');

  // The auditor's question: who let it run outside its window, and why.
  const audit = await vic.page.evaluate(async () => {
    const res = await fetch('/api/v1/audit/events?action=backfill.window_override');
    return { status: res.status, body: await res.json() };
  });
  assert.equal(audit.status, 200, JSON.stringify(audit));
  assert.equal(audit.body.events.length, 1, JSON.stringify(audit.body));
  const [event] = audit.body.events;
  assert.equal(event.actor_name, 'bella');
  assert.match(event.details, /INC-7: the fix must land before the morning peak/);
  assert.match(event.details, /"window":"\d\d:\d\d–\d\d:\d\d UTC"/);
  assert.deepEqual(errors, []);
  assert.deepEqual(vic.errors, []);
  await vic.context.close();
});
