// A state gallery, in Chromium on the release build. Plans are driven
// through every state a rollout reaches — a draft, a phase under way,
// awaiting approval, approved, a production pilot on an allow list
// ("0 % + 2 allowed"), a change request waiting, one organisation rolled
// back alone, 5 % with a healthy guardrail, an irreversible phase under way,
// completed (launched), paused by a guardrail, rolled back by a guardrail,
// an emergency rollback, aborted — and in each state the console's pages
// are opened as an admin, an operator (olga), an approver (ann) and a viewer
// (vera), each in a browser context of their own. Every visit must answer
// (no 5xx; a clear 403 where the role may not look), hydrate
// (`main[data-hydrated="true"]`), log no page error, hydration panic or
// console error, make no sub-request that fails, and keep its islands live:
// the dashboard's Refresh, the audit log's "Verify now", the token list.
//
// No mocks: the guardrails read a real Prometheus (Debian's) scraping a
// fixture application whose error ratio the test sets. A healthy
// application that never answered a 5xx (no 5xx series at all) passes the
// "5xx below 1 %" gate; a failing one pauses one plan and rolls another back
// on the console's own.
//
// Every page (dashboard, plans, the plan with its timeline, its editor, its
// backfill job, the audit log, the newest audit event, users, tokens) is
// opened in every state as every role (a plan without the job answers its
// job page with a clear 404). The plan page is screenshot at 1280 and 390 px
// wide when paused, rolled back and completed, and must not scroll sideways
// on the phone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startConsole, launchBrowser, watchErrors, screenshot, hydrated, personIn, signIn } from './support/console.mjs';
import { startFixtureApp } from './support/fixture_app.mjs';
import { startPrometheus } from './support/prometheus.mjs';

let server;
let browser;
let fixture;
let prom;
/** The people, each signed in in a browser context of their own. */
let admin;
let olga;
let ann;
let bob;
let vera;
/** Who opens the pages in every state: one person of each role. */
let everyone;

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

before(async () => {
  fixture = await startFixtureApp();
  prom = await startPrometheus(fixture.hostPort);
  server = await startConsole({ config: `[prometheus.app]\nurl = "${prom.url}"\n` });
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

/** A new user with `role`, signed in; `writes`: may change plans. */
async function person(username, role) {
  const p = await personIn(server, browser, username, role);
  await p.page.setViewportSize(DESKTOP);
  return { name: username, role, admin: false, writes: role === 'operator', ...p };
}

/** The first admin (its password printed at the console's first start). */
async function adminIn() {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  const errors = watchErrors(page);
  await signIn(page, server.url, 'admin', server.adminPassword);
  return { name: 'admin', role: 'admin', admin: true, writes: true, context, page, errors };
}

// --- Plans -------------------------------------------------------------------

// What the guardrails ask Prometheus. `or vector(0)`: an application that
// has never answered a 5xx has no 5xx series at all; that is 0 %, not "no
// data". 10 s windows: the fixture is scraped every second, so the rate
// moves within seconds of a change of its error ratio.
const ERROR_RATE = '(sum(rate(http_requests_total{status=~"5.."}[10s])) or vector(0)) / sum(rate(http_requests_total[10s]))';

/** The error-rate guardrail on production, taking `action` once it has failed for 2 s. */
const guardrail = (action) => `
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

// The plan walked through every state. Soaks are 0 (no [phases.gate] soak):
// no clock is needed. Its guardrail only records (a blip of no data while
// Prometheus warms up must not pause it); its 5 % phase is gated on it.
// The job: a verify-only job (no `apply`, so no key or table to walk) on the
// console's default `demo` target. The job page reads only the console's
// own store (the job's runs), never the target, so it renders although the
// demo database was never seeded; nothing runs the job here.
const MAIN = `[plan]
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
const twoPhases = (name, flag, action) => `[plan]
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
function api(page, method, path, data) {
  const toml = typeof data === 'string' ? { 'Content-Type': 'application/toml' } : {};
  return page.request.fetch(`${server.url}${path}`, {
    method,
    data,
    headers: { Origin: server.url, Accept: 'application/json', ...toml },
  });
}

/** Imports a plan file as olga; returns `{ id, name }`. */
async function createPlan(source) {
  const res = await api(olga.page, 'POST', '/api/v1/plans', source);
  assert.equal(res.status(), 201, `import: ${await res.text()}`);
  const { id } = await res.json();
  return { id, name: source.match(/^name = "(.*)"$/m)[1] };
}

/** The plan view as `who` sees it over REST. */
async function viewOf(plan, who = olga) {
  const res = await api(who.page, 'GET', `/api/v1/plans/${plan.id}`);
  assert.equal(res.status(), 200, `GET plan ${plan.name} as ${who.name}: ${await res.text()}`);
  return res.json();
}

function phaseOf(view, name) {
  const phase = view.phases.find((p) => p.name === name);
  assert.ok(phase, `no phase "${name}" in ${view.phases.map((p) => p.name).join(', ')}`);
  return phase;
}

const flagIn = (view, environment) => view.flag.environments.find((e) => e.environment === environment);

async function command(who, plan, cmd) {
  const res = await api(who.page, 'POST', `/api/v1/plans/${plan.id}/commands`, cmd);
  const what = [cmd.command, cmd.kind, cmd.verdict].filter(Boolean).join(' ');
  assert.equal(res.status(), 200, `${plan.name}: ${what} by ${who.name}: ${await res.text()}`);
  return res.json();
}

async function expectStatus(plan, status) {
  const view = await viewOf(plan);
  assert.equal(view.summary.status, status, `${plan.name}: the plan's status`);
  return view;
}

async function expectPhase(plan, name, status) {
  const view = await viewOf(plan);
  assert.equal(phaseOf(view, name).status, status, `${plan.name}: phase "${name}"`);
  return view;
}

/** olga starts a phase. */
async function start(plan, name) {
  await command(olga, plan, { command: 'start_phase', phase_id: phaseOf(await viewOf(plan), name).id });
  await expectPhase(plan, name, 'active');
}

/** olga ticks the phase's open manual checklist items and asks for approval. */
async function requestApproval(plan, name) {
  for (const item of phaseOf(await viewOf(plan), name).checklist) {
    if (item.kind === 'manual' && !item.entry && !item.met) {
      await command(olga, plan, { command: 'tick', item_id: item.id, ticked: true, comment: 'checked' });
    }
  }
  await command(olga, plan, { command: 'request_approval', phase_id: phaseOf(await viewOf(plan), name).id });
  await expectPhase(plan, name, 'awaiting_approval');
}

/** Each approver signs the evidence they are shown (olga, who asked, may not). */
async function approve(plan, name, ...approvers) {
  for (const who of approvers) {
    const phase = phaseOf(await viewOf(plan, who), name);
    await command(who, plan, {
      command: 'decide', phase_id: phase.id, verdict: 'approve', comment: 'ok', evidence: phase.evidence_hash,
    });
  }
  await expectPhase(plan, name, 'approved');
}

// --- Waiting, bounded ----------------------------------------------------------

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` (→ [done, what it saw]) until done; fails saying what was expected and seen. */
async function until(expected, probe, timeout = 60_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const [done, seen] = await probe();
    if (done) return;
    if (Date.now() > deadline) assert.fail(`expected ${expected} within ${timeout / 1000} s; last seen: ${seen}`);
    await sleep(500);
  }
}

/** What Prometheus reads as the fixture's error rate now (NaN: no data yet). */
async function errorRate() {
  const result = await prom.query(ERROR_RATE);
  return result.length ? Number(result[0].value[1]) : NaN;
}

async function errorRateReads(expected, ok) {
  await until(`Prometheus to read the error rate ${expected}`, async () => {
    const rate = await errorRate();
    return [ok(rate), `${rate} (fixture ${JSON.stringify(fixture.totals())})`];
  }, 45_000);
}

/** The plan's error_rate guardrail in production, as its newest reading says. */
async function readingOf(plan) {
  const view = await viewOf(plan);
  const reading = view.guardrails.find((g) => g.name === 'error_rate')?.readings.find((r) => r.environment === 'production');
  return { view, reading };
}

async function readsHealthy(plan) {
  await until(`${plan.name}: its error_rate guardrail to read healthy in production`, async () => {
    const { reading } = await readingOf(plan);
    return [reading?.outcome === 'healthy', JSON.stringify(reading ?? 'no reading yet')];
  }, 30_000);
}

// --- Pages ----------------------------------------------------------------------

/** Waits for `selector`; fails naming the visit and the page. */
async function see(page, selector, where, timeout = 10_000) {
  try {
    await page.waitForSelector(selector, { timeout });
  } catch {
    assert.fail(`${where}: ${selector} did not appear within ${timeout / 1000} s on ${page.url()}`);
  }
}

const textOf = async (page, selector, where) => {
  await see(page, selector, where);
  return (await page.textContent(selector)).trim();
};

/**
 * Opens `path` as `who`: answered with `status` (200 unless said; 'any':
 * anything but a server error), then hydrated. Returns the response.
 */
async function open(who, path, where, { status = 200 } = {}) {
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
const PAGES = {
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

const FULL = Object.keys(PAGES);

/**
 * Opens `pages` as each of `people` (in parallel: each has a context of
 * their own; pages one after another per person) in `state` of `plan`;
 * `extra[page](who, where)` checks what this state shows there. After each
 * page: no page error, console error or failed sub-request.
 */
async function visitAll(state, people, pages, { plan, extra = {} }) {
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
async function screenshots(who, plan, name) {
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
const incident = (action, by) => ({
  async plan(who, where) {
    const text = await textOf(who.page, `#incident[data-action="${action}"]`, where);
    assert.match(text, by ? new RegExp(`by ${by}`) : /by the console \(a guardrail\)/, `${where}: who did it`);
  },
});

// --- The gallery --------------------------------------------------------------------

test('Gallery main: draft to completed, through a pilot, a change request and an irreversible phase', async () => {
  // Prometheus has rates, and the application has never answered a 5xx: no
  // 5xx series at all, which the guardrail must read as 0 %.
  await errorRateReads('as 0 (a healthy application)', (rate) => rate === 0);
  assert.deepEqual(await prom.query('http_requests_total{status=~"5.."}'), [], 'a healthy application has no 5xx series');

  const plan = await createPlan(MAIN);
  await expectStatus(plan, 'draft');
  await visitAll('draft', everyone, FULL, { plan });

  await start(plan, 'dev');
  await expectStatus(plan, 'active');
  await visitAll('dev under way', everyone, FULL, { plan });

  await requestApproval(plan, 'dev');
  await visitAll('dev awaiting approval', everyone, FULL, {
    plan,
    extra: {
      async dashboard(who, where) {
        if (who.role === 'approver') await see(who.page, `#waiting-for-me li[data-plan="${plan.id}"][data-phase="dev"]`, `${where}: waiting for her decision`);
      },
    },
  });

  await approve(plan, 'dev', ann);
  await visitAll('dev approved', everyone, FULL, { plan });

  // The pilot: production at 0 %, two organisations on its allow list.
  await start(plan, 'pilot');
  const pilot = flagIn(await viewOf(plan), 'production');
  assert.deepEqual([pilot.enabled, pilot.exposure_bp, [...pilot.allow].sort()], [true, 0, ['org-1', 'org-2']], 'production after the pilot started');
  await visitAll('pilot on an allow list', everyone, FULL, {
    plan,
    extra: {
      async plan(who, where) {
        assert.equal(await textOf(who.page, '#exposure-production', where), '0 % + 2 allowed', `${where}: production's exposure in the plan's head`);
        assert.match(await textOf(who.page, '#plan-bar-exposure', where), /production 0 % \+ 2 allowed/, `${where}: the plan bar`);
      },
      async dashboard(who, where) {
        const item = `#live-plans tr[data-plan="${plan.id}"] li[data-environment="production"]`;
        assert.equal(await textOf(who.page, item, where), 'production 0 % + 2 allowed', `${where}: the live plans' exposure`);
      },
    },
  });

  // A change request: olga loosens the last gate (2 approvals → 1); it
  // waits for approval instead of applying. Then she withdraws it.
  const before = await viewOf(plan);
  const source = await (await api(olga.page, 'GET', `/api/v1/plans/${plan.id}/source`)).text();
  assert.ok(source.includes('approvals = 2'), 'the stored file is the imported one');
  const put = await api(olga.page, 'PUT', `/api/v1/plans/${plan.id}/source?revision=${before.summary.revision}`, source.replace('approvals = 2', 'approvals = 1'));
  assert.equal(put.status(), 202, `a weaker gate waits as a change request: ${await put.text()}`);
  assert.ok((await put.json()).pending_change, 'summary.pending_change names it');
  const change = (await viewOf(plan)).change_request;
  assert.ok(change?.id, 'the plan view shows the change request');
  await visitAll('a change request waiting', everyone, FULL, {
    plan,
    extra: { plan: (who, where) => see(who.page, '#change-request', where) },
  });
  await command(olga, plan, { command: 'withdraw_change', change_id: change.id });
  assert.ok(!(await viewOf(plan)).change_request, 'the change request is withdrawn');

  // One organisation rolled back alone.
  await command(olga, plan, {
    command: 'rollback', kind: 'entity', confirm: plan.name, reason: 'org-1 reports broken invoices', entity: 'org-1', accept_irreversible: false,
  });
  assert.ok(flagIn(await viewOf(plan), 'production').deny.includes('org-1'), 'org-1 is denied in production');
  await visitAll('org-1 rolled back alone', everyone, FULL, {
    plan,
    extra: { async plan(who, where) { assert.match(await textOf(who.page, '#flag-deny', where), /org-1/, `${where}: rolled back alone`); } },
  });

  // 5 %: the gate's automatic item passes on real readings of a healthy
  // application (no 5xx series at all).
  await requestApproval(plan, 'pilot');
  await approve(plan, 'pilot', ann);
  await start(plan, 'production 5%');
  const metOn5 = async () => {
    const item = phaseOf(await viewOf(plan), 'production 5%').checklist.find((i) => i.kind === 'auto');
    return [item.met, `met: ${item.met}, "${item.detail}"; reading ${JSON.stringify((await readingOf(plan)).reading ?? null)}`];
  };
  await until('"5xx below 1 %" met on production 5% (a healthy application)', metOn5);
  await visitAll('production 5 % with a healthy guardrail', everyone, FULL, {
    plan,
    extra: { plan: (who, where) => see(who.page, '#guardrails tr[data-guardrail="error_rate"] .reading[data-environment="production"][data-outcome="healthy"]', where) },
  });

  // 100 %, the irreversible phase: every rollback that turns production
  // down is now marked unsafe.
  await requestApproval(plan, 'production 5%');
  await approve(plan, 'production 5%', ann);
  await until('"5xx below 1 %" still met before 100 % starts', metOn5);
  await start(plan, 'production 100%');
  const unsafe = (await viewOf(plan)).rollbacks.filter((r) => r.unsafe_because).map((r) => r.kind);
  assert.ok(unsafe.length > 0, 'after the irreversible phase started, some rollbacks are unsafe');
  await visitAll('production 100 % under way (irreversible)', everyone, FULL, {
    plan,
    extra: {
      async plan(who, where) {
        await see(who.page, '[data-irreversible="true"]', where);
        // The rollback panel is for those who may roll back.
        if (who.writes) await see(who.page, '#rollback-preview [data-unsafe]', `${where}: unsafe rollbacks (${unsafe.join(', ')}) marked`);
      },
    },
  });

  // Two approvals, then complete: launched, the flag stays.
  await requestApproval(plan, 'production 100%');
  await approve(plan, 'production 100%', ann, bob);
  // Completing, as olga does it on the page: the form says what stays and
  // asks for the plan's name; the answer says the kill switch stays.
  const completing = `${plan.name}: completing`;
  await open(olga, `/plans/${plan.id}`, completing);
  assert.match(await textOf(olga.page, '#complete-plan', completing), /gallery_main stays as it is now/);
  await olga.page.fill('#complete-plan input[name="confirm"]', plan.name);
  await olga.page.click('#complete-plan button[type="submit"]');
  await see(olga.page, '#outcome .ok.outcome', `${completing}: the outcome`, 15_000);
  assert.match(await olga.page.textContent('#outcome'), /completed: gallery_main stays at 100 % \+ 2 allowed in production; its kill switch/);
  await expectStatus(plan, 'completed');
  await visitAll('completed', everyone, FULL, {
    plan,
    extra: {
      dashboard: (who, where) => see(who.page, `#launched-plans tr[data-plan="${plan.id}"]`, `${where}: listed as launched`),
      async plan(who, where) {
        if (who.writes) assert.equal(await textOf(who.page, '#jump-rollback', where), 'Kill switch…', `${where}: the plan bar`);
      },
    },
  });
  await screenshots(olga, plan, 'completed');
});

test('Gallery paused: the application fails and its guardrail pauses production', async () => {
  await errorRateReads('at most 1 %', (rate) => rate <= 0.01);
  const plan = await createPlan(twoPhases('Gallery paused', 'gallery_paused', 'pause'));
  await start(plan, 'dev');
  await requestApproval(plan, 'dev');
  await approve(plan, 'dev', ann);
  await start(plan, 'production 5%');
  await readsHealthy(plan);

  fixture.setErrorRatio(0.5);
  try {
    await until(`${plan.name}: production off (paused by its guardrail)`, async () => {
      const { view, reading } = await readingOf(plan);
      const prod = flagIn(view, 'production');
      return [prod?.enabled === false, `production ${JSON.stringify(prod)}; reading ${JSON.stringify(reading ?? null)}`];
    });
  } finally {
    fixture.setErrorRatio(0);
  }
  const view = await viewOf(plan);
  assert.equal(view.summary.status, 'active', 'a paused plan stays active (resumable)');
  assert.equal(view.incident?.action, 'plan.pause', `the incident: ${JSON.stringify(view.incident)}`);
  assert.equal(view.incident.by_system, true, 'paused by the console itself');

  await visitAll('paused by a guardrail', everyone, FULL, {
    plan,
    extra: {
      ...incident('plan.pause'),
      dashboard: (who, where) => see(who.page, `#recent-rollbacks tr[data-action="plan.pause"][data-plan="${plan.id}"]`, `${where}: among recent rollbacks`),
    },
  });
  await screenshots(olga, plan, 'paused');
});

test('Gallery rolled back: the application fails and its guardrail rolls production back', async () => {
  // The pause test's failures have left Prometheus's 10 s window.
  await errorRateReads('back to at most 1 %', (rate) => rate <= 0.01);
  const plan = await createPlan(twoPhases('Gallery rolled back', 'gallery_rolled', 'rollback'));
  await start(plan, 'dev');
  await requestApproval(plan, 'dev');
  await approve(plan, 'dev', ann);
  await start(plan, 'production 5%');
  await readsHealthy(plan);

  fixture.setErrorRatio(0.5);
  try {
    await until(`${plan.name}: production 5% back to pending (rolled back by its guardrail)`, async () => {
      const { view, reading } = await readingOf(plan);
      const phase = phaseOf(view, 'production 5%');
      return [phase.status === 'pending', `phase ${phase.status}; incident ${JSON.stringify(view.incident)}; reading ${JSON.stringify(reading ?? null)}`];
    });
  } finally {
    fixture.setErrorRatio(0);
  }
  const view = await viewOf(plan);
  assert.equal(view.incident?.action, 'plan.rollback.standard', `the incident: ${JSON.stringify(view.incident)}`);
  assert.equal(view.incident.by_system, true, 'rolled back by the console itself');
  assert.equal(phaseOf(view, 'dev').status, 'approved', 'dev runs again');

  await visitAll('rolled back by a guardrail', everyone, FULL, { plan, extra: incident('plan.rollback.standard') });
  await screenshots(olga, plan, 'rolled-back');
});

test('Gallery emergency: an operator pulls the kill switch', async () => {
  const plan = await createPlan(twoPhases('Gallery emergency', 'gallery_emergency'));
  await start(plan, 'dev');
  await command(olga, plan, {
    command: 'rollback', kind: 'emergency', confirm: plan.name, reason: 'customers see wrong totals', entity: '', accept_irreversible: false,
  });
  const view = await expectStatus(plan, 'rolled_back');
  assert.equal(flagIn(view, 'dev').enabled, false, 'the flag is off in dev');
  await visitAll('emergency rollback', everyone, FULL, { plan, extra: incident('plan.rollback.emergency', 'olga') });
});

test('Gallery aborted: a draft is abandoned', async () => {
  const plan = await createPlan(twoPhases('Gallery aborted', 'gallery_aborted'));
  await expectStatus(plan, 'draft');
  await command(olga, plan, {
    command: 'rollback', kind: 'abort', confirm: plan.name, reason: 'superseded by another plan', entity: '', accept_irreversible: false,
  });
  await expectStatus(plan, 'aborted');
  await visitAll('aborted', everyone, FULL, { plan, extra: incident('plan.abort', 'olga') });
});
