// What the plan and job pages show is chosen in their address (GET forms):
// the timeline's range and the environment a job's run is for change in
// place, with no reload, and the address says what is shown (a link to it
// shows the same; a reload keeps it). A start then goes where was chosen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hydrated, personIn, newPlanFromTemplate } from './support/console.mjs';
import { useConsole, server, browser } from './support/use_console.mjs';

useConsole({ demoRows: 2000 });

test('the timeline range and a job environment are chosen in place and kept in the address', async () => {
  const op = await personIn(server, browser, 'olga', 'operator');
  const { page } = op;
  await page.goto(`${server.url}/plans`);
  await hydrated(page);
  const planUrl = await newPlanFromTemplate(page, 'sti-backfill', 'Choices', 'choices_flag');
  await hydrated(page);

  // The timeline's range: the chart is drawn again for the last hour.
  await page.evaluate(() => { window.__sameDocument = true; });
  const whole = await page.innerHTML('#timeline-chart');
  await page.selectOption('#timeline-range', '1');
  await page.waitForFunction(() => location.search === '?hours=1');
  await page.waitForFunction((before) => document.querySelector('#timeline-chart')?.innerHTML !== before, whole);
  assert.equal(await page.inputValue('#timeline-range'), '1');
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload happened');
  await page.reload();
  await hydrated(page);
  assert.equal(await page.inputValue('#timeline-range'), '1', 'the address keeps the range');

  // A job's environment: what a live run would do, and where a dry-run goes.
  await page.goto(`${planUrl}/jobs/school`);
  await hydrated(page);
  const first = await page.inputValue('#run-environment');
  const other = (await page.locator('#run-environment option').evaluateAll((os) => os.map((o) => o.value))).find((v) => v !== first);
  assert.ok(other, 'the job has more than one environment');
  await page.evaluate(() => { window.__sameDocument = true; });
  await page.selectOption('#run-environment', other);
  await page.waitForFunction((env) => location.search === `?environment=${env}`, other);
  await page.waitForFunction((env) => document.querySelector('#run-what')?.textContent.includes(`for ${env}:`), other);
  await page.click('button[data-mode="dry_run"]');
  await page.waitForSelector('#job-outcome .ok');
  assert.equal(await page.textContent('#job-outcome'), `Started the dry-run for ${other}.`);
  await page.waitForFunction(() => document.querySelector('#job-runs tbody tr') !== null);
  assert.match(await page.textContent('#job-runs tbody tr:first-child'), new RegExp(`dry-run.*${other} · demo`));
  assert.equal(await page.inputValue('#run-environment'), other, 'still the chosen environment');
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload happened');
  assert.deepEqual(op.errors, []);
  await op.context.close();
});
