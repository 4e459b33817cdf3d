// The dashboard in a real browser: server-rendered facts, hydration, and a
// click that calls a server function.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { watchErrors, screenshot, signIn } from './support/console.mjs';
import { useConsole, server, browser } from './support/use_console.mjs';

useConsole();

test('dashboard shows server facts, hydrates, and refreshes them through a server function', async () => {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await signIn(page, server.url, 'admin', server.adminPassword);
  await page.goto(`${server.url}/`);

  // Server-rendered facts are there from the first byte.
  assert.equal(await page.title(), 'Dashboard · Rollout Console');
  assert.match(await page.textContent('#fact-store'), new RegExp(`^${server.storeBackend} · `));
  assert.match(await page.textContent('#fact-migration'), /#21 passkeys \(21 of 21 applied\)/);
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
  assert.equal(facts.store, server.storeBackend);
  await page.waitForSelector('#refresh-count[data-refreshes="1"]');
  assert.equal(await page.textContent('#refresh-count'), 'Refreshed 1 time.');
  assert.match(await page.textContent('#fact-store'), new RegExp(`^${server.storeBackend} · `), 'facts are shown again after the refresh');

  const shot = await screenshot(page, 'dashboard');
  assert.ok(existsSync(shot), `screenshot saved at ${shot}`);
  assert.deepEqual(errors, [], 'no page or console errors');
  await page.close();
});

test('an unknown address shows the not-found page inside the layout', async () => {
  const page = await browser.newPage();
  await signIn(page, server.url, 'admin', server.adminPassword);
  const res = await page.goto(`${server.url}/nowhere`);
  assert.equal(res.status(), 404);
  assert.equal(await page.textContent('h1'), 'Page not found');
  await page.click('nav >> text=Dashboard');
  await page.waitForSelector('#fact-version');
  await page.close();
});

// The dashboard once a rollback exists (it used to panic in hydration: the
// page rewrote the island's times before the island hydrated). An operator
// pauses a running plan; an approver's dashboard lists the pause, stays live
// (Refresh answers) and logs nothing.
test('after a rollback the dashboard hydrates, lists it and stays live', async () => {
  const plan = `[plan]
name = "Paused on purpose"
flag = "paused_on_purpose"

[[phases]]
name = "dev"
environment = "dev"
exposure_bp = 10000
`;
  const admin = await browser.newPage();
  await signIn(admin, server.url, 'admin', server.adminPassword);
  const post = (path, data, type = 'application/json') => admin.request.post(`${server.url}${path}`, {
    data,
    headers: { Origin: server.url, Accept: 'application/json', 'Content-Type': type },
  });
  const created = await post('/api/v1/plans', plan, 'application/toml');
  assert.equal(created.status(), 201, await created.text());
  const { id } = await created.json();
  const view = await (await admin.request.get(`${server.url}/api/v1/plans/${id}`)).json();
  for (const cmd of [
    { command: 'start_phase', phase_id: view.phases[0].id },
    { command: 'rollback', kind: 'pause', confirm: 'Paused on purpose', reason: 'checking the dashboard', entity: '' },
  ]) {
    const res = await post(`/api/v1/plans/${id}/commands`, cmd);
    assert.equal(res.status(), 200, await res.text());
  }
  await admin.close();

  const password = server.addUser('ann', 'approver');
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await signIn(page, server.url, 'ann', password);
  await page.goto(`${server.url}/`);
  await page.waitForSelector('main[data-hydrated="true"]', { timeout: 30_000 });
  // Paused reads "off", as on the plan's own page, not "0 %".
  assert.equal(await page.textContent(`#live-plans tr[data-plan="${id}"] li[data-environment="dev"]`), 'dev off');
  const rollbacks = await page.textContent('#recent-rollbacks');
  assert.match(rollbacks, /plan\.pause/, rollbacks);
  const row = page.locator('#recent-rollbacks tr[data-action="plan.pause"]');
  assert.match(await row.textContent(), /Paused on purpose.*dev.*checking the dashboard.*admin/s, 'which plan, where, why, by whom');
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/system_facts') && r.request().method() === 'POST'),
    page.click('#refresh-facts'),
  ]);
  await page.waitForSelector('#refresh-count[data-refreshes="1"]');
  // The island's own time is in the reader's zone once hydrated.
  assert.doesNotMatch(await page.textContent('#recent-rollbacks time'), / UTC$/);
  await screenshot(page, 'dashboard-after-rollback');
  // The plan's own page says it is paused, by whom and why.
  await page.click(`#recent-rollbacks a[href="/plans/${id}"]`);
  await page.waitForSelector('#incident[data-action="plan.pause"]');
  assert.equal(await page.textContent('#incident .why'), 'checking the dashboard');
  assert.match(await page.textContent('#incident'), /Paused \(dev\).*by admin/s);
  await page.waitForSelector('main[data-hydrated="true"]');
  await screenshot(page, 'plan-paused');
  assert.deepEqual(errors, [], 'no hydration panic, no page or console errors');
  await page.close();
});
