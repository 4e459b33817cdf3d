// The state gallery's world (end2end/tests/gallery.test.mjs): a fixture
// application and a real Prometheus scraping it, the release console
// configured to read it, the people (admin, olga, ann, bob, vera) each in a
// browser context of their own; the plan files; REST helpers acting in
// their sessions; bounded waits; and every page with what makes it work
// for each role (`PAGES`, `visitAll`, `screenshots`).
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startConsole, launchBrowser, watchErrors, screenshot, hydrated, personIn, signIn } from './console.mjs';
import { startFixtureApp } from './fixture_app.mjs';
import { startPrometheus } from './prometheus.mjs';

export let server;
export let browser;
export let fixture;
export let prom;
/** The people, each signed in in a browser context of their own. */
export let admin;
export let olga;
export let ann;
export let bob;
export let vera;
/** Who opens the pages in every state: one person of each role. */
export let everyone;

export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

/** Starts the fixture, Prometheus, the console and the people before the file's tests; stops them after. */
export function useGallery() {
  before(async () => {
    fixture = await startFixtureApp();
    prom = await startPrometheus(fixture.hostPort);
    // On an injected clock: Gallery main soaks its 100 % phase for a day.
    server = await startConsole({ config: `[prometheus.app]\nurl = "${prom.url}"\n`, movableClock: true });
    browser = await launchBrowser();
    // A token, so the admin's token list has a row to show.
    server.createToken('gallery-reader', ['audit:read']);
    admin = await adminIn();
    olga = await person('olga', 'operator');
    ann = await person('ann', 'approver');
    bob = await person('bob', 'approver');
    vera = await person('vera', 'viewer');
    everyone = [admin, olga, ann, vera];
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await prom?.stop();
    await fixture?.stop();
  });
}

/** A new user with `role`, signed in; `writes`: may change plans. */
export async function person(username, role) {
  const p = await personIn(server, browser, username, role);
  await p.page.setViewportSize(DESKTOP);
  return { name: username, role, admin: false, writes: role === 'operator', ...p };
}

/** The first admin (its password printed at the console's first start). */
export async function adminIn() {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  const errors = watchErrors(page);
  await signIn(page, server.url, 'admin', server.adminPassword);
  return { name: 'admin', role: 'admin', admin: true, writes: true, context, page, errors, password: server.adminPassword };
}

/**
 * Moves the console's clock `hours` forward. Past the sessions' idle
 * timeout, everyone has been signed out: `people` sign in again (each
 * finds the sign-in page first, as a person back the next day would).
 */
export async function passTime(hours, people) {
  await server.advanceClock(hours * 3600);
  await Promise.all(people.map(async (who) => {
    const where = `${who.name}, ${hours} h later`;
    const res = await who.page.goto(`${server.url}/`);
    assert.ok(res.status() < 500, `${where}: / answered ${res.status()}`);
    assert.match(new URL(who.page.url()).pathname, /^\/login/, `${where}: signed out after the idle timeout`);
    await signIn(who.page, server.url, who.name, who.password);
    assert.deepEqual(who.errors.splice(0), [], `${where}: page errors while signing in again`);
  }));
}

// --- Plans -------------------------------------------------------------------

// What the guardrails ask Prometheus. `or vector(0)`: an application that
// has never answered a 5xx has no 5xx series at all; that is 0 %, not "no
// data". 10 s windows: the fixture is scraped every second, so the rate
// moves within seconds of a change of its error ratio.
export const ERROR_RATE = '(sum(rate(http_requests_total{status=~"5.."}[10s])) or vector(0)) / sum(rate(http_requests_total[10s]))';

/** The error-rate guardrail on production, taking `action` once it has failed for 2 s. */
export const guardrail = (action) => `
[[guardrails]]
name = "error_rate"
environments = ["production"]
prometheus = "app"
query = '${ERROR_RATE}'
max = 0.01
for = "2s"
interval = "1s"
action = "${action}"
`;

// The plan walked through every state. Its guardrail only records (a blip of
// no data while Prometheus warms up must not pause it); its 5 % phase is
// gated on it. Its 100 % phase soaks a day, passed on the injected clock:
// its gate asks nothing of Prometheus, which has no samples in the console's
// moved future.
// The job: a verify-only job (no `apply`, so no key or table to walk) on the
// console's default `demo` target. The job page reads only the console's
// own store (the job's runs), never the target, so it renders although the
// demo database was never seeded; nothing runs the job here.
export const MAIN = `[plan]
name = "Gallery main"
flag = "gallery_main"
description = "Every state a rollout reaches: dev, a production pilot, 5 %, then 100 % (irreversible)."

[[phases]]
name = "dev"
environment = "dev"
exposure_bp = 10000
notes = "Everyone in dev."
[phases.gate]
approvals = 1
[[phases.checklist]]
kind = "manual"
text = "Smoke tests pass in dev"

[[phases]]
name = "pilot"
environment = "production"
exposure_bp = 0
notes = "Two pilot organisations, nobody else."
allow = ["org-1", "org-2"]
[phases.gate]
approvals = 1

[[phases]]
name = "production 5%"
environment = "production"
exposure_bp = 500
[phases.gate]
approvals = 1
[[phases.checklist]]
kind = "auto"
check = "guardrail_error_rate"
text = "5xx below 1 %"

[[phases]]
name = "production 100%"
environment = "production"
exposure_bp = 10000
irreversible = "The cleanup migration drops the legacy tables: turning the flag down afterwards sends requests to tables that no longer exist."
[phases.gate]
approvals = 2
soak = "24h"
[[phases.checklist]]
kind = "auto"
check = "soak_elapsed"
text = "A day at 100 % without incident"
${guardrail('record')}
[rollback]
standard = ["Restart the application so it reads the flag"]
emergency = ["Page the on-call engineer"]

[[jobs]]
name = "parity"
target = "demo"
verify_legacy = "SELECT COUNT(*) FROM projects_project"
verify_new = "SELECT COUNT(*) FROM projects_schoolproject"
`;

/** dev, then production 5 % watched by a guardrail that takes `action` (none: unwatched). */
export const twoPhases = (name, flag, action) => `[plan]
name = "${name}"
flag = "${flag}"

[[phases]]
name = "dev"
environment = "dev"
exposure_bp = 10000
[phases.gate]
approvals = 1

[[phases]]
name = "production 5%"
environment = "production"
exposure_bp = 500
[phases.gate]
approvals = 1
${action ? guardrail(action) : ''}`;

// --- REST helpers (the people's own sessions) ---------------------------------

/** A REST call with the page's session (same-origin, as the CSRF check asks). */
export function api(page, method, path, data) {
  const toml = typeof data === 'string' ? { 'Content-Type': 'application/toml' } : {};
  return page.request.fetch(`${server.url}${path}`, {
    method,
    data,
    headers: { Origin: server.url, Accept: 'application/json', ...toml },
  });
}

/** Imports a plan file as olga; returns `{ id, name }`. */
export async function createPlan(source) {
  const res = await api(olga.page, 'POST', '/api/v1/plans', source);
  assert.equal(res.status(), 201, `import: ${await res.text()}`);
  const { id } = await res.json();
  return { id, name: source.match(/^name = "(.*)"$/m)[1] };
}

/** The plan view as `who` sees it over REST. */
export async function viewOf(plan, who = olga) {
  const res = await api(who.page, 'GET', `/api/v1/plans/${plan.id}`);
  assert.equal(res.status(), 200, `GET plan ${plan.name} as ${who.name}: ${await res.text()}`);
  return res.json();
}

export function phaseOf(view, name) {
  const phase = view.phases.find((p) => p.name === name);
  assert.ok(phase, `no phase "${name}" in ${view.phases.map((p) => p.name).join(', ')}`);
  return phase;
}

export const flagIn = (view, environment) => view.flag.environments.find((e) => e.environment === environment);

export async function command(who, plan, cmd) {
  const res = await api(who.page, 'POST', `/api/v1/plans/${plan.id}/commands`, cmd);
  const what = [cmd.command, cmd.kind, cmd.verdict].filter(Boolean).join(' ');
  assert.equal(res.status(), 200, `${plan.name}: ${what} by ${who.name}: ${await res.text()}`);
  return res.json();
}

export async function expectStatus(plan, status) {
  const view = await viewOf(plan);
  assert.equal(view.summary.status, status, `${plan.name}: the plan's status`);
  return view;
}

export async function expectPhase(plan, name, status) {
  const view = await viewOf(plan);
  assert.equal(phaseOf(view, name).status, status, `${plan.name}: phase "${name}"`);
  return view;
}

/** olga starts a phase. */
export async function start(plan, name) {
  await command(olga, plan, { command: 'start_phase', phase_id: phaseOf(await viewOf(plan), name).id });
  await expectPhase(plan, name, 'active');
}

/** olga ticks the phase's open manual checklist items and asks for approval. */
export async function requestApproval(plan, name) {
  for (const item of phaseOf(await viewOf(plan), name).checklist) {
    if (item.kind === 'manual' && !item.entry && !item.met) {
      await command(olga, plan, { command: 'tick', item_id: item.id, ticked: true, comment: 'checked' });
    }
  }
  await command(olga, plan, { command: 'request_approval', phase_id: phaseOf(await viewOf(plan), name).id });
  await expectPhase(plan, name, 'awaiting_approval');
}

/** Each approver signs the evidence they are shown (olga, who asked, may not). */
export async function approve(plan, name, ...approvers) {
  for (const who of approvers) {
    const phase = phaseOf(await viewOf(plan, who), name);
    await command(who, plan, {
      command: 'decide', phase_id: phase.id, verdict: 'approve', comment: 'ok', evidence: phase.evidence_hash,
    });
  }
  await expectPhase(plan, name, 'approved');
}

// --- Waiting, bounded ----------------------------------------------------------

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` (→ [done, what it saw]) until done; fails saying what was expected and seen. */
export async function until(expected, probe, timeout = 60_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const [done, seen] = await probe();
    if (done) return;
    if (Date.now() > deadline) assert.fail(`expected ${expected} within ${timeout / 1000} s; last seen: ${seen}`);
    await sleep(500);
  }
}

/** What Prometheus reads as the fixture's error rate now (NaN: no data yet). */
export async function errorRate() {
  const result = await prom.query(ERROR_RATE);
  return result.length ? Number(result[0].value[1]) : NaN;
}

export async function errorRateReads(expected, ok) {
  await until(`Prometheus to read the error rate ${expected}`, async () => {
    const rate = await errorRate();
    return [ok(rate), `${rate} (fixture ${JSON.stringify(fixture.totals())})`];
  }, 45_000);
}

/** The plan's error_rate guardrail in production, as its newest reading says. */
export async function readingOf(plan) {
  const view = await viewOf(plan);
  const reading = view.guardrails.find((g) => g.name === 'error_rate')?.readings.find((r) => r.environment === 'production');
  return { view, reading };
}

export async function readsHealthy(plan) {
  await until(`${plan.name}: its error_rate guardrail to read healthy in production`, async () => {
    const { reading } = await readingOf(plan);
    return [reading?.outcome === 'healthy', JSON.stringify(reading ?? 'no reading yet')];
  }, 30_000);
}

// --- Pages ----------------------------------------------------------------------

/** Waits for `selector`; fails naming the visit and the page. */
export async function see(page, selector, where, timeout = 10_000) {
  try {
    await page.waitForSelector(selector, { timeout });
  } catch {
    assert.fail(`${where}: ${selector} did not appear within ${timeout / 1000} s on ${page.url()}`);
  }
}

export const textOf = async (page, selector, where) => {
  await see(page, selector, where);
  return (await page.textContent(selector)).trim();
};

/**
 * Opens `path` as `who`: answered with `status` (200 unless said; 'any':
 * anything but a server error), then hydrated. Returns the response.
 */
export async function open(who, path, where, { status = 200 } = {}) {
  const res = await who.page.goto(`${server.url}${path}`);
  if (status === 'any') assert.ok(res.status() < 500, `${where}: ${path} answered ${res.status()}`);
  else assert.equal(res.status(), status, `${where}: the HTTP status of ${path}`);
  try {
    await hydrated(who.page);
  } catch {
    assert.fail(`${where}: main[data-hydrated="true"] not reached on ${path}`);
  }
  return res;
}

/** Each page: opens it and checks what makes it work for `who`. */
export const PAGES = {
  async dashboard(who, { where }) {
    await open(who, '/', where);
    // The island is live: Refresh re-runs its server function.
    const before = Number(await who.page.getAttribute('#refresh-count', 'data-refreshes'));
    const [res] = await Promise.all([
      who.page.waitForResponse((r) => r.url().endsWith('/api/system_facts') && r.request().method() === 'POST', { timeout: 10_000 }),
      who.page.click('#refresh-facts'),
    ]);
    assert.equal(res.status(), 200, `${where}: Refresh (system_facts) answered`);
    await see(who.page, `#refresh-count[data-refreshes="${before + 1}"]`, `${where} (after Refresh)`);
  },

  async plans(who, { plan, status, where }) {
    await open(who, '/plans', where);
    const row = `#plans tr[data-plan="${plan.name}"]`;
    assert.ok((await textOf(who.page, row, where)).includes(status.replace('_', ' ')), `${where}: the plans list says "${status}"`);
  },

  async plan(who, { plan, status, where }) {
    await open(who, `/plans/${plan.id}`, where);
    await see(who.page, `#plan[data-status="${status}"]`, where);
    // The timeline is a card of the plan page; its REST form answers too.
    await see(who.page, '#timeline', where);
    const timeline = await api(who.page, 'GET', `/api/v1/plans/${plan.id}/timeline`);
    assert.equal(timeline.status(), 200, `${where}: GET …/timeline: ${await timeline.text()}`);
    assert.match((await timeline.json()).svg, /<svg/, `${where}: the timeline's chart`);
  },

  async edit(who, { plan, where }) {
    // Operators and admins get the editor; the others may get a refusal or
    // a page they cannot save from, but no server error and no page error.
    await open(who, `/plans/${plan.id}/edit`, where, { status: who.writes ? 200 : 'any' });
    if (who.writes) await see(who.page, '#plan-source', where);
  },

  async job(who, { plan, jobs, where }) {
    // Gallery main declares the job; a plan without it answers its address
    // with a clear "not found" (a state worth seeing too).
    if (jobs.includes('parity')) {
      await open(who, `/plans/${plan.id}/jobs/parity`, where);
      assert.match(await textOf(who.page, '#job-rules', where), /Verify-only/, `${where}: the job's card`);
    } else {
      await open(who, `/plans/${plan.id}/jobs/parity`, where, { status: 404 });
      assert.match(await textOf(who.page, '#job-error', where), /job "parity" .*not found/, `${where}: the job page's refusal`);
    }
  },

  async audit(who, { where }) {
    await open(who, '/audit', where);
    await see(who.page, '#chain-badge', where);
    // The island is live: "Verify now" walks the chain again and comes back.
    const [res] = await Promise.all([
      who.page.waitForResponse((r) => r.url().endsWith('/api/audit_verify'), { timeout: 15_000 }),
      who.page.click('#verify-chain'),
    ]);
    assert.equal(res.status(), 200, `${where}: Verify now (audit_verify) answered`);
    try {
      await who.page.waitForFunction(() => {
        const button = document.querySelector('#verify-chain');
        return button && !button.disabled && button.textContent.trim() === 'Verify now'
          && /chain intact/.test(document.querySelector('#chain-badge')?.textContent ?? '');
      }, null, { timeout: 10_000 });
    } catch {
      const seen = await who.page.evaluate(() => `${document.querySelector('#verify-chain')?.outerHTML} · ${document.querySelector('.badge-row')?.textContent}`);
      assert.fail(`${where}: after Verify now, expected the button enabled again ("Verify now") and the chain intact; saw ${seen}`);
    }
    assert.equal(await who.page.locator('.badge.broken').count(), 0, `${where}: an error badge after Verify now`);
  },

  async event(who, { where }) {
    // The newest event (the REST list is newest first).
    const res = await api(who.page, 'GET', '/api/v1/audit/events');
    assert.equal(res.status(), 200, `${where}: GET /api/v1/audit/events: ${await res.text()}`);
    const { events } = await res.json();
    assert.ok(events.length > 0, `${where}: the audit trail has events`);
    const { seq } = events[0];
    await open(who, `/audit/${seq}`, where);
    assert.match(await textOf(who.page, '#event-title', where), new RegExp(`^Event #${seq}\\b`), where);
    await see(who.page, '#event-details', where);
  },

  async users(who, { where }) {
    await open(who, '/admin/users', where, { status: who.admin ? 200 : 403 });
    if (who.admin) await see(who.page, '#users tr[data-username="vera"]', where);
    else assert.match(await textOf(who.page, '#users-error', where), /you are not allowed to manage users/, where);
  },

  async tokens(who, { where }) {
    await open(who, '/admin/tokens', where, { status: who.admin ? 200 : 403 });
    if (who.admin) {
      // The island's listing, there once hydrated.
      assert.match(await textOf(who.page, '#tokens tbody', where), /gallery-reader/, `${where}: the token list`);
    } else {
      assert.match(await textOf(who.page, '#tokens-error', where), /you are not allowed to manage API tokens/, where);
    }
  },
};

export const FULL = Object.keys(PAGES);

/**
 * Opens `pages` as each of `people` (in parallel: each has a context of
 * their own; pages one after another per person) in `state` of `plan`;
 * `extra[page](who, where)` checks what this state shows there. After each
 * page: no page error, console error or failed sub-request.
 */
export async function visitAll(state, people, pages, { plan, extra = {} }) {
  const { summary: { status }, jobs } = await viewOf(plan);
  const results = await Promise.allSettled(people.map(async (who) => {
    // What the page left open since the last visit logged while the plan changed.
    assert.deepEqual(who.errors.splice(0), [], `${plan.name}, before "${state}": ${who.name}'s open page logged errors`);
    for (const name of pages) {
      const where = `${plan.name}, ${state}: ${name} as ${who.name} (${who.role})`;
      await PAGES[name](who, { plan, status, jobs, where });
      await extra[name]?.(who, where);
      assert.deepEqual(who.errors.splice(0), [], `${where}: page errors, console errors or failed sub-requests`);
    }
  }));
  const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
  if (failed.length === 1) throw failed[0];
  if (failed.length > 1) throw new AggregateError(failed, failed.map((e) => e.message).join('\n---\n'));
}

/**
 * The plan page as olga at 1280 and 390 px wide, screenshot as
 * `gallery-NAME-1280` / `-390`; on the phone the document must not be wider
 * than the screen.
 */
export async function screenshots(who, plan, name) {
  try {
    for (const size of [DESKTOP, PHONE]) {
      const where = `${plan.name}, ${name}: the plan page at ${size.width} px`;
      await who.page.setViewportSize(size);
      await open(who, `/plans/${plan.id}`, where);
      await screenshot(who.page, `gallery-${name}-${size.width}`);
      if (size === PHONE) {
        const seen = await who.page.evaluate(() => {
          const width = window.innerWidth;
          const doc = document.documentElement.scrollWidth;
          const past = doc > width + 1
            ? [...document.querySelectorAll('body *')]
              .filter((el) => el.getBoundingClientRect().right > width + 1)
              .slice(0, 8)
              .map((el) => el.localName + (el.id ? `#${el.id}` : '')
                + (typeof el.className === 'string' && el.className.trim() ? `.${el.className.trim().split(/\s+/).join('.')}` : ''))
            : [];
          return { width, doc, past };
        });
        assert.ok(seen.doc <= seen.width + 1,
          `${where}: the document is ${seen.doc} px wide on a ${seen.width} px screen (it scrolls sideways); `
          + `reaching past the edge: ${seen.past.join(', ')}`);
      }
      assert.deepEqual(who.errors.splice(0), [], `${where}: page errors, console errors or failed sub-requests`);
    }
  } finally {
    await who.page.setViewportSize(DESKTOP);
  }
}

/** The plan page's incident banner: `action`, by the console itself or by `by`. */
export const incident = (action, by) => ({
  async plan(who, where) {
    const text = await textOf(who.page, `#incident[data-action="${action}"]`, where);
    assert.match(text, by ? new RegExp(`by ${by}`) : /by the console \(a guardrail\)/, `${where}: who did it`);
  },
});
