// Identity and the audit trail in a real browser: sign-in before hydration,
// an operator finding their own login event, and a viewer kept out of admin
// pages and actions (in the UI and by direct request).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { watchErrors, screenshot, signIn } from './support/console.mjs';
import { useConsole, server, browser } from './support/use_console.mjs';

useConsole();

test('the sign-in form works without JavaScript', async () => {
  const password = server.addUser('nojs', 'viewer');
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${server.url}/audit`);
  assert.equal(new URL(page.url()).pathname, '/login', 'pages ask for a sign-in');
  await page.fill('#username', 'nojs');
  await page.fill('#password', 'not the password');
  await Promise.all([page.waitForURL(/error=invalid/), page.click('#sign-in')]);
  assert.equal(await page.textContent('#login-message'), 'Unknown username or wrong password.');
  await page.fill('#username', 'nojs');
  await page.fill('#password', password);
  await Promise.all([page.waitForURL((u) => u.pathname === '/audit'), page.click('#sign-in')]);
  assert.equal(await page.getAttribute('#whoami', 'data-username'), 'nojs');
  await context.close();
});

test('an operator signs in and finds their login event on the audit page', async () => {
  const password = server.addUser('opal', 'operator');
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await signIn(page, server.url, 'opal', password);
  await page.click('nav >> text=Audit');
  await page.waitForSelector('#audit-events');
  await page.waitForSelector('main[data-hydrated="true"]', { timeout: 30_000 });

  await page.fill('input[name="actor"]', 'opal');
  await page.fill('input[name="action"]', 'auth.*');
  await Promise.all([page.waitForURL(/actor=opal/), page.click('#apply-filter')]);
  const rows = page.locator('#audit-events tbody tr');
  await rows.first().waitFor();
  assert.equal(await rows.count(), 1, 'exactly one login by opal');
  assert.equal(await rows.first().getAttribute('data-action'), 'auth.login');
  assert.equal(await rows.first().getAttribute('data-actor'), 'opal');

  // The badge verifies the chain; "Verify now" walks it again from the browser.
  await page.waitForSelector('#chain-badge');
  const [verify] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/audit_verify')),
    page.click('#verify-chain'),
  ]);
  assert.equal(verify.status(), 200);
  await page.waitForFunction(() => /chain intact through #\d+/.test(document.querySelector('#chain-badge')?.textContent ?? ''));
  await screenshot(page, 'audit');

  // The event's own page shows its details and hashes.
  await rows.first().locator('a').click();
  await page.waitForSelector('#event-details');
  assert.match(await page.textContent('#event-title'), /auth\.login/);
  assert.match(await page.textContent('#event-actor'), /opal/);
  assert.match(await page.textContent('#event-details'), /"operator"/);

  // Exports of the filtered set.
  const csv = await page.request.get(`${server.url}/api/v1/audit/export?format=csv&actor=opal`);
  assert.equal(csv.status(), 200);
  const lines = (await csv.text()).trim().split('\n');
  assert.match(lines[0], /^seq,time,actor_kind,actor_name/);
  assert.equal(lines.length, 2);
  assert.deepEqual(errors, [], 'no page or console errors');
  await page.close();
});

test('a viewer cannot reach admin pages or actions', async () => {
  const password = server.addUser('vivi', 'viewer');
  const page = await browser.newPage();
  await signIn(page, server.url, 'vivi', password);
  assert.equal(await page.locator('nav >> text=Users').count(), 0, 'no admin links for a viewer');
  assert.equal(await page.locator('nav >> text=Tokens').count(), 0);

  const res = await page.goto(`${server.url}/admin/users`);
  assert.equal(res.status(), 403);
  assert.match(await page.textContent('#users-error'), /you are not allowed to manage users/);

  // A direct request with the viewer's session, from the console's own origin
  // (so only authorization can refuse it).
  const direct = await page.request.post(`${server.url}/api/user_create`, {
    headers: { Origin: server.url, Accept: 'application/json' },
    form: { username: 'sneaky', password: 'a-long-password-1', role_admin: 'on' },
  });
  assert.equal(direct.status(), 403);
  assert.match(await direct.text(), /Forbidden/);
  const tokens = await page.request.post(`${server.url}/api/token_create`, {
    headers: { Origin: server.url, Accept: 'application/json' },
    form: { name: 'mine', scope_audit_read: 'on' },
  });
  assert.equal(tokens.status(), 403);

  // An admin sees that nothing was created.
  const adminPage = await browser.newPage();
  await signIn(adminPage, server.url, 'admin', server.adminPassword);
  await adminPage.goto(`${server.url}/admin/users`);
  await adminPage.waitForSelector('#users');
  assert.equal(await adminPage.locator('#users tr[data-username="sneaky"]').count(), 0);
  assert.equal(await adminPage.locator('#users tr[data-username="vivi"]').count(), 1);
  await screenshot(adminPage, 'users');
  await adminPage.close();
  await page.close();
});
