// Every page of the console hydrates in Chromium on the build users get (the
// release site and server that scripts/run serves): no page error, no console
// error, and `data-hydrated` turns true. A wasm that a broken optimiser
// rewrote (issue: Debian's wasm-opt 108) fails here on the first page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { watchErrors, screenshot, signIn, newPlanFromTemplate } from './support/console.mjs';
import { useConsole, server, browser } from './support/use_console.mjs';

useConsole({ demoRows: 2000 });

async function expectHydrated(page, path, errors) {
  const res = await page.goto(`${server.url}${path}`);
  assert.equal(res.status(), 200, `${path} answers 200`);
  await page.waitForSelector('main[data-hydrated="true"]', { timeout: 30_000 });
  assert.deepEqual(errors, [], `${path}: no page or console errors`);
}

test('every page hydrates on the release build with no page or console error', async () => {
  const page = await browser.newPage();
  const errors = watchErrors(page);

  await expectHydrated(page, '/login', errors);
  await signIn(page, server.url, 'admin', server.adminPassword);

  // A plan with a job, made as an operator would: from the STI template.
  await expectHydrated(page, '/plans', errors);
  const planPath = new URL(await newPlanFromTemplate(page, 'sti-backfill', 'Hydration walk', 'enable_hydration_walk')).pathname;
  const job = await page.getAttribute('#plan-jobs a[data-job]', 'data-job');
  assert.ok(job, 'the STI plan lists a backfill job');

  const firstEvent = await (async () => {
    await expectHydrated(page, '/audit', errors);
    const href = await page.getAttribute('a[href^="/audit/"]', 'href');
    assert.ok(href, 'the audit page links to its events');
    return href;
  })();

  for (const path of ['/', planPath, `${planPath}/edit`, `${planPath}/jobs/${job}`, firstEvent, '/admin/users', '/admin/tokens']) {
    await expectHydrated(page, path, errors);
  }
  await screenshot(page, 'hydration-tokens');
  await page.close();
});
