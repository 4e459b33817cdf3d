// Every page of the console, as an admin sees it (the most controls), run
// through axe-core in Chromium on the release build: no serious or critical
// violation. The plan is the STI template with a finished dry-run, so the
// plan, job and audit pages carry real content.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hydrated, signIn, newPlanFromTemplate, seriousViolations } from './support/console.mjs';
import { useConsole, server, browser } from './support/use_console.mjs';

useConsole({ demoRows: 2000 });

test('axe-core finds no serious or critical violation on any page', async () => {
  const page = await browser.newPage();
  await signIn(page, server.url, 'admin', server.adminPassword);
  await page.goto(`${server.url}/plans`);
  await hydrated(page);
  const planUrl = await newPlanFromTemplate(page, 'sti-backfill', 'STI a11y', 'enable_sti_a11y');
  await page.goto(`${planUrl}/jobs/school`);
  await hydrated(page);
  await page.click('button[data-mode="dry_run"]');
  await page.waitForSelector('#job[data-status="done"]', { timeout: 30_000 });

  const pages = ['/', '/plans', new URL(planUrl).pathname, `${new URL(planUrl).pathname}/edit`, `${new URL(planUrl).pathname}/jobs/school`, '/audit', '/audit/1', '/admin/users', '/admin/tokens', '/no-such-page'];
  const found = [];
  for (const path of pages) {
    await page.goto(`${server.url}${path}`);
    await hydrated(page);
    for (const v of await seriousViolations(page)) found.push(`${path} ${v}`);
  }
  // The sign-in page, signed out.
  const anon = await browser.newPage();
  await anon.goto(`${server.url}/login`);
  await hydrated(anon);
  for (const v of await seriousViolations(anon)) found.push(`/login ${v}`);
  assert.deepEqual(found, [], found.join('\n'));
});
