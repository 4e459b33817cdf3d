// The dashboard in a real browser: server-rendered facts, hydration, and a
// click that calls a server function.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startConsole, launchBrowser, watchErrors, screenshot, signIn } from './support/console.mjs';

let consoleServer;
let browser;

before(async () => {
  consoleServer = await startConsole();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await consoleServer?.stop();
});

test('dashboard shows server facts, hydrates, and refreshes them through a server function', async () => {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await signIn(page, consoleServer.url, 'admin', consoleServer.adminPassword);
  await page.goto(`${consoleServer.url}/`);

  // Server-rendered facts are there from the first byte.
  assert.equal(await page.title(), 'Dashboard · Rollout Console');
  assert.match(await page.textContent('#fact-store'), new RegExp(`^${consoleServer.storeBackend} · `));
  assert.match(await page.textContent('#fact-migration'), /#12 guardrail latest \(12 of 12 applied\)/);
  assert.equal(await page.textContent('#refresh-count'), 'Server facts as rendered.');

  // Hydration done: the effect only runs in the browser.
  await page.waitForSelector('main[data-hydrated="true"]', { timeout: 30_000 });

  // A client-side interaction: the click re-runs the server function.
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/system_facts') && r.request().method() === 'POST'),
    page.click('#refresh-facts'),
  ]);
  assert.equal(response.status(), 200);
  const facts = await response.json();
  assert.equal(facts.store, consoleServer.storeBackend);
  await page.waitForSelector('#refresh-count[data-refreshes="1"]');
  assert.equal(await page.textContent('#refresh-count'), 'Refreshed 1 time.');
  assert.match(await page.textContent('#fact-store'), new RegExp(`^${consoleServer.storeBackend} · `), 'facts are shown again after the refresh');

  const shot = await screenshot(page, 'dashboard');
  assert.ok(existsSync(shot), `screenshot saved at ${shot}`);
  assert.deepEqual(errors, [], 'no page or console errors');
  await page.close();
});

test('an unknown address shows the not-found page inside the layout', async () => {
  const page = await browser.newPage();
  await signIn(page, consoleServer.url, 'admin', consoleServer.adminPassword);
  const res = await page.goto(`${consoleServer.url}/nowhere`);
  assert.equal(res.status(), 404);
  assert.equal(await page.textContent('h1'), 'Page not found');
  await page.click('nav >> text=Dashboard');
  await page.waitForSelector('#fact-version');
  await page.close();
});
