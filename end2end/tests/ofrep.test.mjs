// Applications read a plan's flag with the stock OpenFeature clients over
// OFREP, versions pinned: Node (@openfeature/server-sdk 1.23.0 with
// @openfeature/ofrep-provider 0.1.3), Python (openfeature-sdk 0.10.0 with
// openfeature-provider-ofrep 0.3.0, scripts/tools/venv) and a web page in
// Chromium (@openfeature/web-sdk 1.10.0 with @openfeature/ofrep-web-provider
// 0.4.3), served from another origin the console allows ([ofrep]
// cors_origins). The page's value changes when the operator starts the next
// phase on the plan page, through the event stream, without a reload.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { personIn, hydrated, startPhase } from './support/console.mjs';
import { useConsole, server, browser } from './support/use_console.mjs';

const END2END = join(dirname(fileURLToPath(import.meta.url)), '..');
const PYTHON = join(END2END, '..', 'scripts', 'tools', 'venv', 'bin', 'python');

// The shop: a page and the OpenFeature modules, on an origin of its own.
const shop = createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (path === '/') {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(PAGE);
    return;
  }
  const file = normalize(join(END2END, 'node_modules', path.replace(/^\/m\//, '')));
  if (!path.startsWith('/m/') || !file.startsWith(join(END2END, 'node_modules'))) {
    res.writeHead(404).end();
    return;
  }
  try {
    res.writeHead(200, { 'content-type': 'text/javascript' });
    res.end(await readFile(file));
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((resolve) => shop.listen(0, '127.0.0.1', resolve));
const SHOP = `http://127.0.0.1:${shop.address().port}`;
after(() => shop.close());

useConsole({ config: `[ofrep]\ncors_origins = ["${SHOP}"]\nrequests_per_sec = 5\nburst = 40\n` });

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Shop</title>
<script type="importmap">
{ "imports": {
  "@openfeature/core": "/m/@openfeature/core/dist/esm/index.js",
  "@openfeature/web-sdk": "/m/@openfeature/web-sdk/dist/esm/index.js",
  "@openfeature/ofrep-core": "/m/@openfeature/ofrep-web-provider/node_modules/@openfeature/ofrep-core/index.esm.js",
  "@openfeature/ofrep-web-provider": "/m/@openfeature/ofrep-web-provider/index.esm.js"
} }
</script>
<script type="module">
import { OpenFeature, ProviderEvents } from '@openfeature/web-sdk';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';
const q = new URLSearchParams(location.search);
const provider = new OFREPWebProvider({
  baseUrl: q.get('console'),
  headers: [['Authorization', 'Bearer ' + q.get('token')]],
  cacheMode: 'disabled',
});
await OpenFeature.setContext({ targetingKey: q.get('entity') });
await OpenFeature.setProviderAndWait(provider);
const client = OpenFeature.getClient();
const show = () => {
  const d = client.getStringDetails('theme', 'unset');
  document.querySelector('#theme').textContent = d.value;
  document.querySelector('#reason').textContent = d.reason;
  document.querySelector('#phase').textContent = d.flagMetadata.phase ?? '';
};
show();
OpenFeature.addHandler(ProviderEvents.ConfigurationChanged, show);
window.__ready = true;
</script></head>
<body><p>Theme: <b id="theme">…</b> (<span id="reason"></span>, set by <span id="phase"></span>)</p></body></html>`;

const FLAGS = [
  ['Boolean', 'new_checkout', ''],
  ['Theme', 'theme', '[flag]\ntype = "string"\non = "dark"\noff = "light"\non_variant = "dark-theme"\noff_variant = "light-theme"\n'],
  ['Columns', 'columns', '[flag]\ntype = "integer"\non = 4\noff = 3\n'],
  ['Ratio', 'discount_ratio', '[flag]\ntype = "float"\non = 1\noff = 0.25\n'],
  ['Layout', 'layout', '[flag]\ntype = "object"\non = { columns = 4, banner = true }\noff = { columns = 3 }\n'],
];

function planFile(name, flag, table) {
  const phase = (n, env, bp) => `[[phases]]\nname = "${n}"\nenvironment = "${env}"\nexposure_bp = ${bp}\n\n`;
  return `[plan]\nname = "${name}"\nflag = "${flag}"\n\n${table}\n${phase('dev 10%', 'dev', 1000)}${phase('dev 50%', 'dev', 5000)}${phase('staging all', 'staging', 10000)}`;
}

let olga;
let plans = {};
let staging;

/** The console's REST API as olga (her session; the console's origin for CSRF). */
async function call(method, path, data) {
  const res = await olga.context.request.fetch(`${server.url}${path}`, { method, headers: { Origin: server.url }, data });
  assert.ok(res.ok(), `${method} ${path}: HTTP ${res.status()} ${await res.text()}`);
  return res.json();
}

async function startNth(plan, i) {
  const view = await call('GET', `/api/v1/plans/${plan.id}`);
  if (i > 0) await call('POST', `/api/v1/plans/${plan.id}/commands`, { command: 'request_approval', phase_id: view.phases[i - 1].id });
  await call('POST', `/api/v1/plans/${plan.id}/commands`, { command: 'start_phase', phase_id: view.phases[i].id });
}

// The plans and tokens every test reads, made once by the first test (the
// console starts in useConsole's hook).
let made;
const setUp = () => (made ??= makePlans());
async function makePlans() {
  olga = await personIn(server, browser, 'olga', 'operator');
  for (const [name, flag, table] of FLAGS) {
    const res = await olga.context.request.post(`${server.url}/api/v1/plans`, {
      headers: { Origin: server.url, 'content-type': 'text/plain' },
      data: planFile(name, flag, table),
    });
    assert.equal(res.status(), 201, await res.text());
    plans[flag] = await res.json();
    // Everyone on in staging, except the theme: it stays at dev 10 % for the page.
    await startNth(plans[flag], 0);
    if (flag !== 'theme') for (const i of [1, 2]) await startNth(plans[flag], i);
  }
  // The theme's dev 10 % is approved (its gate asks for none): dev 50 % may start.
  const theme = await call('GET', `/api/v1/plans/${plans.theme.id}`);
  await call('POST', `/api/v1/plans/${plans.theme.id}/commands`, { command: 'request_approval', phase_id: theme.phases[0].id });
  staging = server.createToken('shop-staging', ['flags:read'], 'staging');
}

/** The same evaluation through the console's own endpoint (the expected answer). */
async function evaluated(token, flag, entity) {
  const res = await fetch(`${server.url}/api/v1/flags/${flag}/evaluate?entity=${entity}`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  return res.json();
}

test('Node: the server SDK reads every type, names a missing flag and key, and waits out a 429', async () => {
  await setUp();
  await OpenFeature.setProviderAndWait('staging', new OFREPProvider({ baseUrl: server.url, headers: { Authorization: `Bearer ${staging}` } }));
  const client = OpenFeature.getClient('staging');
  const ctx = { targetingKey: 'org-1', plan: 'premium' };
  assert.equal(await client.getBooleanValue('new_checkout', false, ctx), true);
  assert.equal(await client.getNumberValue('columns', 0, ctx), 4);
  assert.equal(await client.getNumberValue('discount_ratio', 0, ctx), 1);
  assert.deepEqual(await client.getObjectValue('layout', {}, ctx), { columns: 4, banner: true });
  // The theme has not reached staging: off, and why.
  const theme = await client.getStringDetails('theme', 'unset', ctx);
  assert.deepEqual([theme.value, theme.variant, theme.reason], ['light', 'light-theme', 'DISABLED']);
  const on = await client.getBooleanDetails('new_checkout', false, ctx);
  assert.deepEqual([on.variant, on.reason, on.flagMetadata.phase, on.flagMetadata.environment, on.flagMetadata.plan], ['on', 'SPLIT', 'staging all', 'staging', 'Boolean']);
  const missing = await client.getBooleanDetails('no_such_flag', false, ctx);
  assert.equal(missing.errorCode, 'FLAG_NOT_FOUND');
  const anonymous = await client.getBooleanDetails('new_checkout', false, {});
  assert.equal(anonymous.errorCode, 'TARGETING_KEY_MISSING');

  const limitedToken = server.createToken('node-limited', ['flags:read'], 'staging');
  await OpenFeature.setProviderAndWait('limited', new OFREPProvider({ baseUrl: server.url, headers: { Authorization: `Bearer ${limitedToken}` } }));
  const limited = OpenFeature.getClient('limited');
  let refused;
  for (let i = 0; i < 200 && !refused; i++) {
    const d = await limited.getBooleanDetails('new_checkout', false, ctx);
    if (d.errorCode) refused = d;
  }
  assert.ok(refused, 'a 429 within 200 requests at 5 a second');
  assert.equal(refused.errorCode, 'GENERAL');
  assert.match(refused.errorMessage, /rate limit exceeded, try again after/);
  await new Promise((r) => setTimeout(r, 1_200));
  assert.equal(await limited.getBooleanValue('new_checkout', false, ctx), true, 'served again after Retry-After');
});

test('Python: the Python SDK reads every type, names a missing flag and key, and waits out a 429', async () => {
  await setUp();
  const limitedToken = server.createToken('python-limited', ['flags:read'], 'staging');
  const out = spawnSync(PYTHON, [join(END2END, 'tests', 'support', 'ofrep_client.py'), server.url, staging, 'org-1', limitedToken], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  const r = JSON.parse(out.stdout);
  assert.deepEqual([r.boolean.value, r.boolean.variant, r.boolean.reason, r.boolean.error], [true, 'on', 'SPLIT', null]);
  assert.deepEqual([r.string.value, r.string.variant, r.string.reason], ['light', 'light-theme', 'DISABLED']);
  assert.deepEqual([r.integer.value, r.integer.error], [4, null], JSON.stringify(r.integer));
  assert.deepEqual([r.float.value, r.float.error], [1.0, null], JSON.stringify(r.float));
  assert.deepEqual(r.object.value, { columns: 4, banner: true });
  assert.equal(r.boolean.metadata.phase, 'staging all');
  assert.equal(r.not_found.error, 'FLAG_NOT_FOUND');
  assert.equal(r.no_targeting_key.error, 'TARGETING_KEY_MISSING');
  assert.ok(r.limited, 'a 429 within 200 requests');
  assert.equal(r.limited.error, 'GENERAL');
  assert.match(r.limited.message, /Rate limited, retry after: 1/);
  assert.deepEqual([r.after_retry_after.value, r.after_retry_after.error], [true, null]);
});

test('Browser: the web SDK on another origin reads the bulk answer, gets 304 on refresh, and follows the operator through the event stream', async () => {
  await setUp();
  const dev = server.createToken('shop-dev', ['flags:read'], 'dev');
  // An organisation off at 10 % and on at 50 % (its bucket, as the console says).
  let entity;
  for (let i = 0; !entity; i++) {
    const e = await evaluated(dev, 'theme', `org-${i}`);
    if (e.bucket >= 1000 && e.bucket < 5000) entity = e.entity;
    assert.ok(i < 1000);
  }
  const context = await browser.newContext();
  const page = await context.newPage();
  const bulk = [];
  page.on('response', (res) => {
    if (res.url().startsWith(`${server.url}/ofrep/v1/evaluate/flags`) && res.request().method() === 'POST') {
      bulk.push({ status: res.status(), ifNoneMatch: res.request().headers()['if-none-match'] });
    }
  });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const query = new URLSearchParams({ console: server.url, token: dev, entity });
  await page.goto(`${SHOP}/?${query}`);
  await page.waitForFunction(() => window.__ready === true);
  assert.equal(await page.textContent('#theme'), 'light');
  assert.equal(await page.textContent('#phase'), 'dev 10%');
  assert.equal(bulk[0].status, 200);

  // Asked again with the ETag it read (cross-origin: the console exposes
  // it): nothing changed, 304.
  const again = await page.evaluate(async ({ url, token, entity }) => {
    const first = await fetch(`${url}/ofrep/v1/evaluate/flags`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ context: { targetingKey: entity } }) });
    const etag = first.headers.get('etag');
    const second = await fetch(`${url}/ofrep/v1/evaluate/flags`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json', 'if-none-match': etag }, body: JSON.stringify({ context: { targetingKey: entity } }) });
    return { etag, status: second.status };
  }, { url: server.url, token: dev, entity });
  assert.ok(again.etag, 'the ETag is readable cross-origin');
  assert.equal(again.status, 304);

  // The operator starts "dev 50%" on the plan page; the shop's page follows.
  await olga.page.goto(`${server.url}/plans/${plans.theme.id}`);
  await hydrated(olga.page);
  const before = bulk.length;
  await startPhase(olga.page.locator('section.phase[data-phase="dev 50%"]'));
  await page.waitForFunction(() => document.querySelector('#theme').textContent === 'dark', null, { timeout: 5_000 });
  assert.equal(await page.textContent('#phase'), 'dev 50%');
  assert.equal(await page.textContent('#reason'), 'SPLIT');
  const refetch = bulk.slice(before);
  assert.ok(refetch.length >= 1 && refetch.every((b) => b.status === 200), JSON.stringify(refetch));
  assert.ok(refetch[0].ifNoneMatch, 'the refetch names the ETag it had');
  assert.deepEqual(errors, []);
  await context.close();
});
