// What a new user finds after `scripts/run`: the lived-in demo that
// `rollout-console demo history` makes on a new store (the same command
// scripts/run runs on its first start), seen by its operator, an approver
// and its viewer in their own browsers: the STI plan with dev and staging
// approved and production 5 % ready, the school job's runs and chart, the
// audit trail verified, the dashboard. Screenshots at 1280 and 390 px.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot, hydrated, signIn, watchErrors } from './support/console.mjs';
import { useConsole, server, browser } from './support/use_console.mjs';

useConsole({ prepare: ['demo', 'history', '--rows', '20000'] });

async function signedIn(username) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchErrors(page);
  const password = server.passwords[username];
  assert.ok(password, `demo history printed no password for ${username}: ${server.prepared}`);
  await signIn(page, server.url, username, password);
  return { page, errors };
}

test('the demo a new user signs in to: a rollout part-way, its runs, its audit trail', async () => {
  for (const name of ['admin', 'olga', 'ann', 'bob', 'vera']) assert.ok(server.passwords[name], name);
  const olga = await signedIn('olga');
  const bob = await signedIn('bob');
  const vera = await signedIn('vera');

  // The plans list: the STI plan active, the partitioned one too (dev and staging approved).
  await olga.page.goto(`${server.url}/plans`);
  await hydrated(olga.page);
  const sti = olga.page.locator('#plans tr[data-plan="STI subtype backfill"]');
  assert.match(await sti.textContent(), /active/);
  assert.match(await olga.page.locator('#plans tr[data-plan="Partitioned finance tables"]').textContent(), /active/);
  await sti.locator('a').first().click();
  await olga.page.waitForURL(/\/plans\/[0-9a-f]{32}$/);
  const planUrl = olga.page.url();
  await hydrated(olga.page);

  // Dev (done: staging followed it) and staging approved by different
  // people; production 5 % shown disabled with what it still needs.
  assert.equal(await olga.page.getAttribute('section.phase[data-phase="dev"]', 'data-status'), 'done');
  assert.equal(await olga.page.getAttribute('section.phase[data-phase="staging"]', 'data-status'), 'approved');
  const prod = olga.page.locator('section.phase[data-phase="production 5%"]');
  assert.equal(await prod.getAttribute('data-status'), 'pending');
  const blockers = await prod.locator('ul.blockers').textContent();
  assert.match(blockers, /checklist of phase "staging" is not complete: .*5xx errors/);
  assert.match(await olga.page.textContent('#flag-deny'), /org-4711/);
  assert.equal(await olga.page.locator('section.phase[data-phase="dev"] li[data-user="ann"][data-verdict="approve"]').count(), 1);
  assert.equal(await olga.page.locator('section.phase[data-phase="staging"] li[data-user="bob"][data-verdict="approve"]').count(), 1);
  // The timeline has the story's phase starts and the guardrails' readings.
  assert.ok(await olga.page.locator('#timeline-chart svg').count() > 0, 'the timeline is drawn');
  await screenshot(olga.page, 'demo-plan-1280');

  // The school job: dev's dry-runs (the broken rows, then clean), staging's
  // dry-run, live run and verification, with the chart.
  await olga.page.goto(`${planUrl}/jobs/school`);
  await hydrated(olga.page);
  const runs = await olga.page.locator('#job-runs tbody tr').allTextContents();
  assert.ok(runs.length >= 5, runs.join('\n'));
  assert.ok(runs.some((r) => /verify/.test(r) && /staging/.test(r)), runs.join('\n'));
  assert.ok(await olga.page.locator('#job-chart svg').count() > 0, 'the progress chart');
  await screenshot(olga.page, 'demo-job-1280');

  // The audit trail: the chain verifies, the people are named.
  await olga.page.goto(`${server.url}/audit`);
  await hydrated(olga.page);
  await olga.page.waitForFunction(() => /intact/.test(document.querySelector('#chain-badge')?.textContent ?? ''));
  const trail = await olga.page.textContent('main');
  for (const who of ['olga', 'ann', 'bob']) assert.match(trail, new RegExp(who));
  await screenshot(olga.page, 'demo-audit-1280');

  // The viewer's dashboard: the active plan and its exposures; the approver
  // has nothing waiting (both gates are decided).
  await vera.page.goto(`${server.url}/`);
  await hydrated(vera.page);
  const live = vera.page.locator('#live-plans tr', { hasText: 'STI subtype backfill' });
  assert.match(await live.locator('li[data-environment="staging"]').textContent(), /staging 100 %/);
  assert.match(await live.locator('li[data-environment="production"]').textContent(), /production off/);
  await screenshot(vera.page, 'demo-dashboard-1280');
  await bob.page.goto(`${server.url}/`);
  await hydrated(bob.page);
  assert.equal(await bob.page.locator('#waiting-for-me').count(), 0);

  for (const [page, url, name] of [[olga.page, planUrl, 'plan'], [olga.page, `${planUrl}/jobs/school`, 'job'], [olga.page, `${server.url}/audit`, 'audit'], [vera.page, `${server.url}/`, 'dashboard']]) {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(url);
    await hydrated(page);
    await screenshot(page, `demo-${name}-390`);
  }
  assert.deepEqual([olga.errors, bob.errors, vera.errors], [[], [], []]);
});
