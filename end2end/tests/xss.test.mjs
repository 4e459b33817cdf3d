// Stored and reflected XSS, in Chromium on the release build. Five payloads
// (`</textarea><script>…`, `</script><script>…`, `</style><img …>`,
// `<img src=… onerror=…>`, `"><svg onload=…>`) go into every string a plan
// file, a tick / approval comment, a rollback / resume reason, a rolled-back
// entity, a token name and a user agent can carry (and into usernames, the
// guardrail name, the flag key and an environment, which are refused). Then an
// admin opens every page that shows them. Each payload, were it ever run or
// parsed as markup, does something observable: it sets `window.__xss`, fetches
// or loads `/xss-<field><n>` (an <img> loads even under the CSP), or leaves an
// inline handler / a nonce-less script in the DOM, or makes Chromium report a
// CSP violation. None of that may happen; the strings must read back as text
// (the editor's textarea value equal to the stored file byte for byte); every
// page's CSP has a nonce and no 'unsafe-inline' in script-src (nor style-src),
// and the page still hydrates (its own scripts carry that nonce). So the
// escaping is proven, not only the CSP behind it. The test runs on the
// default launchBrowser(): any console error (a CSP refusal is one) also
// fails the run through its error log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot, signIn, hydrated } from './support/console.mjs';
import { useConsole, server, browser } from './support/use_console.mjs';

useConsole();

const FIELDS = Object.fromEntries(('cm TOML comment|c2 comment added in the editor|nm plan name|ds plan description|'
  + 'p0 first phase name|p1 second phase name|n0 first phase notes|n1 second phase notes|rb runbook step|'
  + 'en entry criterion|e1 second phase entry criterion|ck checklist item|al pilot allow entity|'
  + 'rs standard rollback step|re emergency rollback step|ge guardrail environment|gp guardrail prometheus|'
  + 'gq guardrail query|ce entry tick comment|ct tick comment|cl tick comment sent while the page is open|'
  + 'ca approval comment|rp pause reason|rr resume reason|rd entity rollback reason|dn rolled-back entity|'
  + 'tk token name|ua user agent|us username|gn guardrail name|fl flag key|ev environment|'
  + 'rt login retry parameter|nx login next parameter|qa audit actor filter|qs audit subject filter')
  .split('|').map((s) => [s.slice(0, 2), s.slice(3)]));

const run = (id) => `__xss='${id}';fetch('/xss-${id}')`;
/** The five payloads for field `f`, each with its own id (`nm1` … `nm5`). */
const payloads = (f) => [
  `</textarea><script>${run(`${f}1`)}</script>`,
  `</script><script>${run(`${f}2`)}</script>`,
  `</style><img src=/xss-${f}3>`,
  `<img src=/xss-${f}4 onerror=${run(`${f}4`)}>`,
  `"><svg onload=${run(`${f}5`)}>`,
];
const all = (f) => payloads(f).join(' ');
/** A TOML basic string (JSON's escapes are TOML's for this ASCII text). */
const tq = (s) => JSON.stringify(s);
const enc = (s) => encodeURIComponent(s).replace(/'/g, '%27');
const decode = (u) => { try { return decodeURIComponent(u); } catch { return u; } };
/** Names the planted field of every `/xss-…` in a message. */
const named = (s) => s.replace(/xss-([a-z][a-z0-9])(\d)/g, (m, f) => `${m} [${FIELDS[f] ?? f}]`);

const NAME = all('nm');
const SOURCE = [
  `# ${all('cm')} &lt;/textarea&gt; &amp;amp;`,
  '[plan]',
  `name = ${tq(NAME)}`,
  `description = ${tq(all('ds'))}`,
  'flag = "xss_probe"',
  '',
  '[[phases]]',
  `name = ${tq(all('p0'))}`,
  'environment = "dev"',
  'exposure_bp = 10000',
  `notes = ${tq(all('n0'))}`,
  `runbook = [${tq(all('rb'))}]`,
  `allow = [${payloads('al').map(tq).join(', ')}]`,
  '[phases.gate]',
  'approvals = 1',
  '[[phases.entry]]',
  'kind = "manual"',
  `text = ${tq(all('en'))}`,
  '[[phases.checklist]]',
  'kind = "manual"',
  `text = ${tq(all('ck'))}`,
  '',
  '[[phases]]',
  `name = ${tq(all('p1'))}`,
  'environment = "staging"',
  'exposure_bp = 10000',
  `notes = ${tq(all('n1'))}`,
  '[[phases.entry]]',
  'kind = "manual"',
  `text = ${tq(all('e1'))}`,
  '',
  '[rollback]',
  `standard = [${tq(all('rs'))}]`,
  `emergency = [${tq(all('re'))}]`,
  '',
  '[[guardrails]]',
  'name = "probe"',
  `environments = ["dev", ${tq(all('ge'))}]`,
  `prometheus = ${tq(all('gp'))}`,
  `query = ${tq(all('gq'))}`,
  'max = 1',
  'interval = "1s"',
  // Recorded only: its unconfigured Prometheus reads as an error within a
  // second of the start, and an acting guardrail in error would (rightly)
  // refuse the resume below whenever that reading lands first.
  'dry_run = true',
  // One (unconfigured) source for dev and the probe environment, said on
  // purpose: a guardrail that cannot tell environments apart is refused
  // for any but production otherwise.
  'shared_source = true',
  '',
].join('\n');

/** Records what a page does that a payload would: requests, dialogs, errors. */
function watch(page) {
  const w = { page, nav: new Set(), requests: [], dialogs: [], errors: [] };
  const origin = new URL(server.url).origin;
  page.on('request', (r) => {
    const u = r.url();
    if (/^(data|blob):/.test(u)) return;
    // The test's own navigations to addresses that carry a payload in their query.
    if (r.isNavigationRequest() && w.nav.has(decode(u))) return;
    if (u.includes('xss-') || new URL(u).origin !== origin) w.requests.push(`${r.method()} ${u}`);
  });
  page.on('dialog', (d) => { w.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('pageerror', (e) => w.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    const t = m.text();
    if ((m.type() === 'error' && !t.startsWith('Failed to load resource')) || /Content.Security.Policy/i.test(t)) {
      w.errors.push(`console ${m.type()}: ${t}`);
    }
  });
  return w;
}

/** Every CSP violation of the document, from before its first script. */
function cspProbe() {
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__cspViolations.push(`${e.violatedDirective}: ${e.sample || e.blockedURI}`);
  });
}

/**
 * The page as it is now: nothing a payload would leave behind. `nonce`: the
 * response's, which every inline script must carry (null after a live redraw,
 * whose markup comes from another response: then every one must carry one).
 */
async function inspect(w, where, nonce) {
  const dom = await w.page.evaluate((nonce) => {
    const handlers = [];
    for (const el of document.querySelectorAll('*')) {
      for (const a of el.attributes) if (/^on/i.test(a.name)) handlers.push(`<${el.localName} ${a.name}="${a.value}">`);
    }
    return {
      ran: window.__xss ?? null,
      violations: window.__cspViolations ?? ['the CSP probe did not run'],
      handlers,
      loads: [...document.querySelectorAll('img, image, script, iframe, embed, object')]
        .map((el) => el.getAttribute('src') ?? el.getAttribute('href') ?? '')
        .filter((u) => u.includes('xss-')),
      scripts: [...document.scripts]
        .filter((s) => !s.src && (!s.type || /module|javascript/i.test(s.type)) && (nonce ? s.nonce !== nonce : !s.nonce))
        .map((s) => s.outerHTML.slice(0, 160)),
    };
  }, nonce);
  assert.equal(dom.ran, null, named(`${where}: a payload ran (window.__xss = xss-${dom.ran})`));
  assert.deepEqual(dom.violations.map(named), [], `${where}: Chromium reported CSP violations`);
  assert.deepEqual(dom.handlers.map(named), [], `${where}: an element carries an inline event handler`);
  assert.deepEqual(dom.loads.map(named), [], `${where}: an injected element loads a payload address`);
  assert.deepEqual(dom.scripts.map(named), [], `${where}: an inline script without the response's nonce`);
  assert.deepEqual(w.requests.map(named), [], `${where}: a payload or cross-origin request left the page`);
  assert.deepEqual(w.dialogs, [], `${where}: a dialog opened`);
  assert.deepEqual(w.errors.map(named), [], `${where}: page or console errors`);
}

/** The text of `<main>` without its scripts (what a person reads, closed details included). */
const mainText = (page) => page.evaluate(() => {
  const main = document.querySelector('main').cloneNode(true);
  main.querySelectorAll('script, template').forEach((s) => s.remove());
  return main.textContent;
});

async function assertShows(page, where, texts) {
  const text = await mainText(page);
  for (const s of texts) assert.ok(text.includes(s), named(`${where} shows as text: ${s}`));
}

/**
 * Opens `path`, checks its CSP (a nonce, no 'unsafe-inline' in script-src),
 * waits for hydration (the nonce lets the page's own scripts run), inspects
 * it and checks that `shows` read as text; returns the response's nonce.
 */
async function visit(w, path, { status = 200, shows = [] } = {}) {
  const where = path.length > 70 ? `${path.slice(0, 70)}…` : path;
  const url = `${server.url}${path}`;
  w.nav.add(decode(url));
  const res = await w.page.goto(url);
  if (status) assert.equal(res.status(), status, `${where}: HTTP status`);
  else assert.ok(res.status() < 500, `${where}: HTTP ${res.status()}`);
  const csp = res.headers()['content-security-policy'] ?? '';
  const policy = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([k, ...v]) => [k, v]));
  const scriptSrc = policy['script-src'];
  assert.ok(scriptSrc, `${where}: the CSP has a script-src (${csp})`);
  assert.ok(!scriptSrc.includes("'unsafe-inline'"), `${where}: script-src allows 'unsafe-inline': ${csp}`);
  const styleSrc = policy['style-src'] ?? policy['default-src'] ?? [];
  assert.ok(!styleSrc.includes("'unsafe-inline'"), `${where}: style-src allows 'unsafe-inline': ${csp}`);
  const nonce = scriptSrc.find((s) => s.startsWith("'nonce-"))?.slice(7, -1);
  assert.ok(nonce, `${where}: script-src names a nonce: ${csp}`);
  await hydrated(w.page);
  await inspect(w, where, nonce);
  await assertShows(w.page, where, shows);
  return nonce;
}

/** A REST call with the page's session (same-origin, as the CSRF check asks). */
function api(page, method, path, data, headers = {}) {
  const toml = typeof data === 'string' ? { 'Content-Type': 'application/toml' } : {};
  return page.request.fetch(`${server.url}${path}`, {
    method,
    data,
    headers: { Origin: server.url, Accept: 'application/json', ...toml, ...headers },
  });
}

async function command(page, planId, cmd, headers) {
  const res = await api(page, 'POST', `/api/v1/plans/${planId}/commands`, cmd, headers);
  assert.equal(res.status(), 200, `${cmd.command}: ${await res.text()}`);
}

/** A server function's form post (the admin pages' forms). */
const form = (page, endpoint, fields) => page.request.post(`${server.url}/api/${endpoint}`, {
  headers: { Origin: server.url, Accept: 'application/json' },
  form: fields,
});

test('no planted string runs or injects markup on any page an admin opens', async () => {
  const context = await browser.newContext();
  await context.addInitScript(cspProbe);
  const admin = await context.newPage();
  const aw = watch(admin);
  await signIn(admin, server.url, 'admin', server.adminPassword);
  const sourceOf = async (id) => (await api(admin, 'GET', `/api/v1/plans/${id}/source`)).text();

  // What validation refuses: a guardrail name and a flag key are identifiers
  // (plans/file/guardrail_spec.rs, plans/file/spec/mod.rs), usernames are [a-z0-9._-]
  // (auth/users.rs). Nothing of them is stored.
  const refused = await api(admin, 'POST', '/api/v1/plans', SOURCE
    .replace('name = "probe"', `name = ${tq(all('gn'))}`)
    .replace('flag = "xss_probe"', `flag = ${tq(all('fl'))}`));
  assert.equal(refused.status(), 400);
  assert.match(await refused.text(), /plan\.flag/);
  assert.match(await refused.text(), /guardrails\[0\]\.name/);
  for (const username of payloads('us')) {
    const res = await form(admin, 'user_create', { username, password: 'a-long-password-1', role_viewer: 'on' });
    assert.equal(res.status(), 400, `username ${username}: ${await res.text()}`);
    assert.match(await res.text(), /username: /);
  }

  // The plan file, imported as written; the editor shows it byte for byte.
  const created = await api(admin, 'POST', '/api/v1/plans', SOURCE);
  assert.equal(created.status(), 201, await created.text());
  const planId = (await created.json()).id;
  assert.equal(await sourceOf(planId), SOURCE, 'stored as written');
  await visit(aw, `/plans/${planId}/edit`, { shows: [`Edit ${NAME}`] });
  assert.equal(await admin.inputValue('#plan-source'), SOURCE, 'the editor shows the file exactly, </textarea> and &lt; included');

  // Saved back from the editor with one more payload line, it is unchanged
  // but for that line (line endings aside: the browser's form encoding).
  const edited = `${SOURCE}# ${all('c2')} &lt;/textarea&gt;\n`;
  await admin.fill('#plan-source', edited);
  await Promise.all([
    admin.waitForURL((u) => u.pathname === `/plans/${planId}`),
    admin.click('#edit-plan button[type="submit"]'),
  ]);
  assert.equal((await sourceOf(planId)).replace(/\r\n/g, '\n'), edited, 'the editor saves the file as shown');

  // An environment that is not the console's is refused; the refusal quotes
  // it, next to the form, as text.
  const editNonce = await visit(aw, `/plans/${planId}/edit`);
  const badEnv = edited.replace('environment = "staging"', `environment = ${tq(all('ev'))}`);
  await admin.fill('#plan-source', badEnv);
  await admin.click('#edit-plan button[type="submit"]');
  const refusal = admin.locator('#edit-plan + .form-error');
  await refusal.waitFor();
  assert.match(await refusal.textContent(), /is not one of the console's environments/);
  assert.ok((await refusal.textContent()).includes(tq(all('ev'))), 'the refused value is quoted as text');
  assert.equal(await admin.inputValue('#plan-source'), badEnv, 'what was typed is kept');
  await inspect(aw, 'the editor after a refused save', editNonce);

  // Comments and reasons, through the REST API as the admin.
  const view = async (page) => (await api(page, 'GET', `/api/v1/plans/${planId}`)).json();
  const plan = await view(admin);
  const [p0, p1] = plan.phases;
  const entry0 = p0.checklist.find((i) => i.entry).id;
  const check0 = p0.checklist.find((i) => !i.entry).id;
  const entry1 = p1.checklist.find((i) => i.entry).id;
  await command(admin, planId, { command: 'tick', item_id: entry0, ticked: true, comment: all('ce') });
  await command(admin, planId, { command: 'start_phase', phase_id: p0.id });
  await command(admin, planId, { command: 'tick', item_id: check0, ticked: true, comment: all('ct') });
  await command(admin, planId, { command: 'rollback', kind: 'pause', confirm: NAME, reason: all('rp'), entity: '' });
  await command(admin, planId, { command: 'resume', reason: all('rr') });
  const denied = payloads('dn').join('');
  await command(admin, planId, { command: 'rollback', kind: 'entity', confirm: NAME, reason: all('rd'), entity: denied });
  await command(admin, planId, { command: 'request_approval', phase_id: p0.id });

  // An approver whose browser's user agent is a payload: the login page
  // reflects its query as text, then she approves with a payload comment.
  const UA = all('ua');
  const annPassword = server.addUser('ann', 'approver');
  const annContext = await browser.newContext({ userAgent: UA });
  await annContext.addInitScript(cspProbe);
  const ann = await annContext.newPage();
  const annw = watch(ann);
  await visit(annw, `/login?error=throttled&retry=${enc(all('rt'))}&next=${enc(all('nx'))}`, { shows: [all('rt')] });
  assert.equal(await ann.inputValue('#login-form input[name="next"]'), all('nx'));
  await signIn(ann, server.url, 'ann', annPassword);
  await visit(annw, '/', { shows: [NAME] });
  const evidence = (await view(ann)).phases[0].evidence_hash;
  await command(ann, planId, { command: 'decide', phase_id: p0.id, verdict: 'approve', comment: all('ca'), evidence },
    { 'User-Agent': UA });
  await annContext.close();

  // API tokens named with each payload (a name is at most 80 characters).
  for (const name of payloads('tk')) {
    const res = await form(admin, 'token_create', { name, scope_audit_read: 'on' });
    assert.equal(res.status(), 200, await res.text());
  }

  // The guardrail has read its unconfigured Prometheus (an error that quotes it).
  for (const deadline = Date.now() + 30_000; !(await view(admin)).guardrails[0]?.readings.length;) {
    assert.ok(Date.now() < deadline, 'the guardrail was read within 30 s');
    await admin.waitForTimeout(300);
  }

  // Every page that shows them, as the admin.
  const PH0 = all('p0');
  await visit(aw, '/', { shows: [NAME, PH0] });
  await visit(aw, '/plans', { shows: [NAME, PH0] });
  const feed = admin.waitForResponse((r) => r.url().endsWith(`/api/v1/plans/${planId}/events`), { timeout: 30_000 });
  await visit(aw, `/plans/${planId}`, {
    shows: [NAME, all('ds'), PH0, all('p1'), all('n0'), all('n1'), all('rb'), all('en'), all('e1'), all('ck'),
      all('ce'), all('ct'), all('ca'), all('rs'), all('re'), ...payloads('al'), denied, all('ge'), `prometheus ${all('gp')}`],
  });
  assert.equal(await admin.textContent('#plan-name'), NAME);
  assert.match(await admin.textContent('#guardrails tr[data-guardrail="probe"] .detail'), /is not configured/);
  await screenshot(admin, 'xss-plan');
  // A change while the page is open: the live regions are redrawn from the
  // page fetched again (DOMParser, innerHTML): still text.
  await feed;
  await command(admin, planId, { command: 'tick', item_id: entry1, ticked: true, comment: all('cl') });
  await admin.waitForFunction(() => document.querySelectorAll('section.phase')[1]?.querySelector('.ticked-by'), null, { timeout: 15_000 });
  await inspect(aw, 'the plan page after a live redraw', null);
  await assertShows(admin, 'the plan page after a live redraw', [all('cl'), NAME, all('ca')]);

  const stored = await sourceOf(planId);
  await visit(aw, `/plans/${planId}/edit`, { shows: [`Edit ${NAME}`] });
  assert.equal(await admin.inputValue('#plan-source'), stored.replace(/\r\n/g, '\n'), 'the editor shows the stored file');
  await screenshot(admin, 'xss-editor');

  await visit(aw, '/audit', { shows: [NAME, all('ce'), all('ct'), all('cl'), all('ca'), all('rp'), all('rr'), all('rd')] });
  await visit(aw, `/audit?subject=${enc(NAME)}`, { shows: [all('rp')] });
  assert.equal(await admin.inputValue('#audit-filter input[name="subject"]'), NAME);
  await visit(aw, `/audit?actor=${enc(all('qa'))}&subject=${enc(all('qs'))}`, { status: null });
  assert.equal(await admin.inputValue('#audit-filter input[name="actor"]'), all('qa'));
  assert.equal(await admin.inputValue('#audit-filter input[name="subject"]'), all('qs'));
  assert.match(await admin.textContent('#audit-error'), /no plan is named like/);

  // Each audit event that carries a payload, on its own page.
  const events = [];
  for (let before = null; ;) {
    const page = await (await api(admin, 'GET', `/api/v1/audit/events${before ? `?before=${before}` : ''}`)).json();
    events.push(...page.events);
    if (page.next_before == null) break;
    before = page.next_before;
  }
  const planted = events.filter((e) => JSON.stringify(e).includes('xss-'));
  const actions = new Set(planted.map((e) => e.action));
  for (const a of ['plan.import', 'checklist.tick', 'plan.pause', 'plan.resume', 'flag.deny', 'gate.approve', 'token.create', 'auth.login']) {
    assert.ok(actions.has(a), `an audit event ${a} carries a payload (${[...actions].join(', ')})`);
  }
  const leaves = (v) => (typeof v === 'string' ? [v] : v && typeof v === 'object' ? Object.values(v).flatMap(leaves) : []);
  for (const e of planted) {
    const shows = [
      ...leaves(JSON.parse(e.details)).filter((s) => s.includes('xss-')).map((s) => JSON.stringify(s).slice(1, -1)),
      ...[e.actor_name, e.subject, e.user_agent].filter((s) => s.includes('xss-')),
    ];
    await visit(aw, `/audit/${e.seq}`, { shows });
  }

  await visit(aw, '/admin/users', { shows: ['ann'] });
  assert.equal(await admin.locator('#users tr[data-username*="<"], #users tr[data-username*="xss"]').count(), 0, 'no payload username');
  await visit(aw, '/admin/tokens', { shows: payloads('tk') });
  await context.close();
});
