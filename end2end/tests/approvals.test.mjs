// Approvals that reach people, in Chromium on the release build: a gate
// names dana and erik. When the operator asks for its approval, dana's
// header ("Waiting for you") counts it without a reload and ann's does
// not; a webhook receiver written here (Node's own crypto, from the
// Standard Webhooks specification) gets the request signed and naming dana
// and erik. Dana follows her inbox to the focused approval view — the
// phase alone, what approving lets happen, the decision form — approves
// there, and her count goes back to 0. Screenshots at 1280 and 390 px.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hydrated, personIn, screenshot, startPhase } from './support/console.mjs';
import { useConsole, server, browser } from './support/use_console.mjs';

const END2END = join(dirname(fileURLToPath(import.meta.url)), '..');
const KEY = Buffer.from('e2e signing key, thirty-two bytes');
process.env.E2E_HOOK_SECRET = `whsec_${KEY.toString('base64')}`;

// The receiver: every delivery, with whether its signature holds.
const deliveries = [];
const receiver = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const id = req.headers['webhook-id'];
    const ts = req.headers['webhook-timestamp'];
    const expected = `v1,${createHmac('sha256', KEY).update(`${id}.${ts}.`).update(body).digest('base64')}`;
    const fresh = Math.abs(Date.now() / 1000 - Number(ts)) < 300;
    deliveries.push({
      id,
      signed: fresh && (req.headers['webhook-signature'] ?? '').split(' ').includes(expected),
      event: JSON.parse(body.toString()),
    });
    res.writeHead(204).end();
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
after(() => receiver.close());

useConsole({
  config: `[notify.hook]
url = "http://127.0.0.1:${receiver.address().port}/hook"
secret_env = "E2E_HOOK_SECRET"
events = ["gate.*"]
`,
});

const PLAN = `[plan]
name = "Checkout v2"
flag = "checkout_v2"

[[phases]]
name = "pilot"
environment = "staging"
exposure_bp = 500
runbook = ["Watch the checkout error rate for an hour"]
[phases.gate]
approvals = 1
approvers = ["dana", "erik"]
[[phases.checklist]]
kind = "manual"
text = "Backup taken"

[[phases]]
name = "everyone"
environment = "production"
exposure_bp = 10000
`;

const count = (page) => page.textContent('#inbox-count');

test('a request for approval reaches the people its gate names, who approve from the focused view', async () => {
  const olga = await personIn(server, browser, 'olga', 'operator');
  const dana = await personIn(server, browser, 'dana', 'approver');
  const ann = await personIn(server, browser, 'ann', 'approver');
  server.addUser('erik', 'admin');
  const file = join(server.dir, 'checkout.toml');
  writeFileSync(file, PLAN);
  const planId = server.cli('plan', 'import', file).match(/ as ([0-9a-f]{32})/)[1];

  for (const p of [dana, ann]) {
    await p.page.goto(`${server.url}/plans`);
    await hydrated(p.page);
    assert.equal(await count(p.page), '0');
  }
  const pilot = olga.page.locator('section.phase[data-phase="pilot"]');
  await olga.page.goto(`${server.url}/plans/${planId}`);
  await hydrated(olga.page);
  await startPhase(pilot);
  await olga.page.waitForSelector('section.phase[data-phase="pilot"][data-status="active"]');
  await pilot.locator('tr[data-item="Backup taken"] form.tick button').click();
  await olga.page.waitForSelector('section.phase[data-phase="pilot"] tr[data-item="Backup taken"][data-met="true"]');
  await pilot.locator('form.request-approval button').click();
  await olga.page.waitForSelector('section.phase[data-phase="pilot"][data-status="awaiting_approval"]');

  // Dana's header counts it, live; ann is not asked.
  await dana.page.waitForFunction(() => document.querySelector('#inbox-count')?.textContent === '1', null, { timeout: 10_000 });
  assert.match(await dana.page.getAttribute('#inbox-count', 'class'), /some/);
  await ann.page.waitForTimeout(500);
  assert.equal(await count(ann.page), '0', 'ann is not named on the gate');

  // The webhook: signed, naming the people asked.
  const request = deliveries.find((d) => d.event.type === 'gate.request');
  assert.ok(request, JSON.stringify(deliveries));
  assert.equal(request.signed, true);
  assert.deepEqual(request.event.data.to, ['dana', 'erik']);
  assert.match(request.event.data.link, new RegExp(`^${server.url}/plans/${planId}/approve/[0-9a-f]{32}$`));

  // Dana: inbox → focused view.
  await Promise.all([dana.page.waitForURL(`${server.url}/inbox`), dana.page.click('#inbox-link')]);
  await hydrated(dana.page);
  const item = dana.page.locator(`#inbox li[data-plan="${planId}"] a`);
  assert.match(await item.textContent(), /Checkout v2 · pilot/);
  await Promise.all([dana.page.waitForURL(/\/approve\//), item.click()]);
  await hydrated(dana.page);
  assert.match(await dana.page.textContent('#approve-head h1'), /Approve "pilot"/);
  assert.match(await dana.page.textContent('#approve-head .lets'), /the next phase, "everyone", start: production at 100 %/);
  assert.equal(await dana.page.textContent('#exposure-change tr[data-environment="production"] td:nth-child(3)'), '100 %');
  assert.equal(await dana.page.locator('section.phase').count(), 1, 'the phase alone');
  assert.match(await dana.page.textContent('section.phase[data-phase="pilot"]'), /Watch the checkout error rate for an hour/);
  await dana.page.setViewportSize({ width: 1280, height: 900 });
  await screenshot(dana.page, 'approval-focused-1280');
  await dana.page.setViewportSize({ width: 390, height: 844 });
  await screenshot(dana.page, 'approval-focused-390');
  await dana.page.setViewportSize({ width: 1280, height: 900 });

  await dana.page.fill('form.approve input[name="comment"]', 'pilot looks healthy');
  await dana.page.click('form.approve button[type="submit"]');
  await dana.page.waitForFunction(() => document.querySelector('#inbox-count')?.textContent === '0', null, { timeout: 10_000 });
  await olga.page.waitForSelector('section.phase[data-phase="pilot"][data-status="approved"]', { timeout: 10_000 });
  for (let i = 0; i < 50 && !deliveries.some((d) => d.event.type === 'gate.approve'); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const approved = deliveries.find((d) => d.event.type === 'gate.approve');
  assert.equal(approved?.signed, true, JSON.stringify(deliveries));
  assert.equal(new Set(deliveries.map((d) => d.id)).size, deliveries.length, 'one key per event');
});

const SIGNED_PLAN = `[plan]
name = "Payments v2"
flag = "payments_v2"

[[phases]]
name = "pilot"
environment = "staging"
exposure_bp = 500
notes = "first customers"
[phases.gate]
approvals = 1
approvers = ["sam"]
signed = true

[[phases]]
name = "everyone"
environment = "production"
exposure_bp = 10000
`;

test('a signed gate: a passkey registered in Chromium signs the approval from the focused view', async () => {
  // WebAuthn needs a relying party that is a domain: the console on localhost.
  const local = server.url.replace('127.0.0.1', 'localhost');
  const olga = await personIn(server, browser, 'olga2', 'operator');
  const samPassword = server.addUser('sam', 'approver');
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  await page.goto(`${local}/login`);
  await page.fill('#username', 'sam');
  await page.fill('#password', samPassword);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('#sign-in')]);

  // Sam registers a passkey on his account page.
  await page.goto(`${local}/account`);
  await hydrated(page);
  await page.fill('#add-passkey input[name="name"]', 'virtual key');
  await Promise.all([page.waitForEvent('load'), page.click('#add-passkey button')]);
  await page.waitForSelector('#passkey-list tr[data-passkey]');
  assert.match(await page.textContent('#passkey-list'), /virtual key/);
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(credentials.length, 1);

  // Olga starts the pilot and asks for its approval.
  const file = join(server.dir, 'payments.toml');
  writeFileSync(file, SIGNED_PLAN);
  const planId = server.cli('plan', 'import', file).match(/ as ([0-9a-f]{32})/)[1];
  const pilot = olga.page.locator('section.phase[data-phase="pilot"]');
  await olga.page.goto(`${server.url}/plans/${planId}`);
  await hydrated(olga.page);
  await startPhase(pilot);
  await olga.page.waitForSelector('section.phase[data-phase="pilot"][data-status="active"]');
  await pilot.locator('form.request-approval button').click();
  await olga.page.waitForSelector('section.phase[data-phase="pilot"][data-status="awaiting_approval"]');

  // Without a signature the console refuses the decision.
  const evidence = (await (await page.request.get(`${local}/api/v1/plans/${planId}`)).json()).phases[0].evidence_hash;
  const unsigned = await page.request.post(`${local}/api/v1/plans/${planId}/commands`, {
    headers: { origin: local },
    data: { command: 'decide', phase_id: (await (await page.request.get(`${local}/api/v1/plans/${planId}`)).json()).phases[0].id, verdict: 'approve', comment: '', evidence },
  });
  assert.equal(unsigned.status(), 400);
  assert.match((await unsigned.json()).error, /signed with a passkey/);

  // A real assertion from his passkey, but over other evidence: refused.
  const phaseId = (await (await page.request.get(`${local}/api/v1/plans/${planId}`)).json()).phases[0].id;
  await page.goto(`${local}/account`);
  const overOther = await page.evaluate(async ({ planId, phaseId }) => {
    const b64u = {
      enc: (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
      dec: (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)), (c) => c.charCodeAt(0)),
    };
    const post = (url, body) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const options = await (await post(`/api/v1/plans/${planId}/sign`, { phase_id: phaseId, verdict: 'approve', evidence: '0'.repeat(64) })).json();
    const pk = options.publicKey;
    const cred = await navigator.credentials.get({ publicKey: { ...pk, challenge: b64u.dec(pk.challenge), allowCredentials: pk.allowCredentials.map((c) => ({ type: c.type, id: b64u.dec(c.id) })) } });
    const view = await (await fetch(`/api/v1/plans/${planId}`)).json();
    const res = await post(`/api/v1/plans/${planId}/commands`, {
      command: 'decide', phase_id: phaseId, verdict: 'approve', comment: '', evidence: view.phases[0].evidence_hash,
      signature: { nonce: options.nonce, credential_id: b64u.enc(cred.rawId), authenticator_data: b64u.enc(cred.response.authenticatorData),
        client_data_json: b64u.enc(cred.response.clientDataJSON), signature: b64u.enc(cred.response.signature) },
    });
    return { status: res.status, body: await res.json() };
  }, { planId, phaseId });
  assert.equal(overOther.status, 400, JSON.stringify(overOther));
  assert.match(overOther.body.error, /another decision or for evidence that has changed/);

  // Sam follows his inbox to the focused view and approves; the passkey signs.
  await page.goto(`${local}/inbox`);
  await hydrated(page);
  await Promise.all([page.waitForURL(/\/approve\//), page.click(`#inbox li[data-plan="${planId}"] a`)]);
  await hydrated(page);
  assert.match(await page.textContent('.signed-note'), /signed with a passkey/);
  await screenshot(page, 'approval-signed-1280');
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, 'approval-signed-390');
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.fill('form.approve input[name="comment"]', 'signed with my passkey');
  await page.click('form.approve button[type="submit"]');
  await olga.page.waitForSelector('section.phase[data-phase="pilot"][data-status="approved"]', { timeout: 15_000 });
  await page.waitForSelector('section.phase[data-phase="pilot"] li[data-verdict="approve"][data-user="sam"]');
  assert.match(server.cli('audit', 'verify'), /signed decisions hold: 1 checked/);
  // The proof stands without the console: its export, checked in Python.
  const trail = join(server.dir, 'trail.jsonl');
  writeFileSync(trail, server.cli('audit', 'export', '--format', 'jsonl'));
  const python = join(END2END, '..', 'scripts', 'tools', 'venv', 'bin', 'python');
  const checked = spawnSync(python, [join(END2END, '..', 'scripts', 'verify-signed-decisions'), trail], { encoding: 'utf8' });
  assert.equal(checked.status, 0, checked.stdout + checked.stderr);
  assert.match(checked.stdout, /^ok {2}decision \S+ \(event #\d+, sam gate\.approve\)/m);
  assert.match(checked.stdout, /1 signed decision\(s\) checked, 0 bad/);

  // Changing the phase dismisses the signed approval, as any other.
  const view = await (await olga.page.request.get(`${server.url}/api/v1/plans/${planId}`)).json();
  const edited = await olga.page.request.put(
    `${server.url}/api/v1/plans/${planId}/source?revision=${view.summary.revision}`,
    { data: SIGNED_PLAN.replace('first customers', 'first ten customers'), headers: { 'content-type': 'application/toml', origin: server.url } },
  );
  assert.equal(edited.status(), 200, await edited.text());
  await page.waitForSelector('section.phase[data-phase="pilot"] li[data-verdict="approve"][data-dismissed="true"]', { timeout: 15_000 });
  await context.close();
});
