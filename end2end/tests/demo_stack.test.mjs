// The demo as a real stack, started the way a new user starts it:
// `scripts/run` itself (in a directory of its own, on free ports) brings up
// Prometheus with the demo apps' past days, the lived-in demo, the console
// and the demo application of staging and of production, which read the
// plan's flag over OFREP. As olga, production 5% of the STI demo starts and
// its guardrails read healthy from that Prometheus; the failure switch on the
// production app's own page breaks the new code path, and the P0 guardrail
// rolls STI back by itself within its readings (ten failed in a row, 30 s
// apart), seen live by vera in another browser on the plan page and its
// timeline; the audit trail names the guardrail. Ctrl-C then leaves no
// process behind. Screenshots at 1280 and 390 px.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hydrated, launchBrowser, screenshot, signIn, startPhase, watchErrors } from './support/console.mjs';

const RUN = new URL('../../scripts/run', import.meta.url).pathname;
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

/** Whether nothing listens on 127.0.0.1:`port`. */
function free(port) {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * A base port whose +0 (the console), +1, +2 (the apps) and +9 (Prometheus)
 * are free, below Linux's ephemeral range (32768–60999): a port there can
 * be taken by any outgoing connection between this check and the bind.
 */
async function freeBase() {
  for (let i = 0; i < 50; i++) {
    const base = 20_000 + 10 * Math.floor(Math.random() * 1_200);
    const all = await Promise.all([0, 1, 2, 9].map((d) => free(base + d)));
    if (all.every(Boolean)) return base;
  }
  throw new Error('no free ports for the demo stack');
}

function answers(port) {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

/** Processes in the process group `pgid`. */
function inGroup(pgid) {
  const out = spawnSync('ps', ['-eo', 'pid=,pgid=,args='], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter((l) => l.trim().split(/\s+/)[1] === String(pgid));
}

let run;
let workdir;
let browser;
after(async () => {
  await browser?.close();
  if (run && run.exitCode === null) {
    try { process.kill(-run.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  if (workdir) await rm(workdir, { recursive: true, force: true });
});

test('scripts/run serves a real stack: the guardrails read the demo app and roll production back when it fails', { timeout: 20 * 60_000 }, async () => {
  workdir = await mkdtemp(join(tmpdir(), 'rollout-console-run-'));
  const base = await freeBase();
  const url = `http://127.0.0.1:${base}`;
  const production = `http://127.0.0.1:${base + 2}`;
  const env = { ...process.env, RUN_WORKDIR: workdir, CONSOLE_LISTEN: `127.0.0.1:${base}`, DEMO_PORT_BASE: String(base) };
  for (const name of ['DATABASE_URL', 'CONSOLE_DATABASE_URL', 'CONSOLE_CONFIG', 'CONSOLE_LOG_LEVEL', 'CONSOLE_DEMO']) delete env[name];
  // Its own process group, as a terminal gives it: Ctrl-C reaches all of it.
  run = spawn(RUN, [], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  run.stdout.on('data', (c) => { log += c; });
  run.stderr.on('data', (c) => { log += c; });
  const started = Date.now();
  while (!/run: demo apps:/.test(log) || !(await answers(base))) {
    assert.equal(run.exitCode, null, `scripts/run stopped:\n${log}`);
    assert.ok(Date.now() - started < 10 * 60_000, `scripts/run did not serve within 10 min:\n${log}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  // It served the build under test, with the history and Prometheus's past days.
  assert.match(log, new RegExp(`build: server: ${process.env.E2E_CONSOLE_BIN.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.match(log, /Prometheus holds 80 hours of the apps' metrics/);
  assert.match(log, /production 5% ready to start \(its guardrails read the demo's Prometheus\)/);
  const passwords = Object.fromEntries([...log.matchAll(/^ {2}(\S+) +(\S+) +(\S{12,})$/gm)].map((m) => [m[1], m[3]]));
  assert.ok(passwords.olga && passwords.vera, log);

  browser = await launchBrowser();
  const people = {};
  for (const name of ['olga', 'vera']) {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    people[name] = { page, errors: watchErrors(page) };
    await signIn(page, url, name, passwords[name]);
  }
  const { olga, vera } = people;
  // The partitioned plan is part-way too: its pilot runs on an allow list.
  const plans = await (await olga.page.request.get(`${url}/api/v1/plans`)).json();
  const partitioned = plans.find((p) => p.name === 'Partitioned finance tables');
  const pview = await (await olga.page.request.get(`${url}/api/v1/plans/${partitioned.id}`)).json();
  assert.equal(pview.phases.find((p) => p.name === 'pilot').status, 'active', JSON.stringify(pview.phases.map((p) => [p.name, p.status])));
  const pilotFlag = pview.flag.environments.find((e) => e.environment === 'production');
  assert.ok(pilotFlag.allow.length > 0 && pilotFlag.exposure_bp === 0, JSON.stringify(pilotFlag));
  await olga.page.goto(`${url}/plans`);
  await hydrated(olga.page);
  await olga.page.locator('#plans tr[data-plan="STI subtype backfill"] a').first().click();
  await olga.page.waitForURL(/\/plans\/[0-9a-f]{32}$/);
  const planUrl = olga.page.url();
  const planId = planUrl.split('/').pop();
  await hydrated(olga.page);
  // Vera watches the last six hours: the history's two hours of readings, then live.
  await vera.page.goto(`${planUrl}?hours=6`);
  await hydrated(vera.page);
  await vera.page.evaluate(() => { window.__sameDocument = true; });

  // Staging's guardrail items were met on the history's readings: production 5% starts.
  const prod = olga.page.locator('section.phase[data-phase="production 5%"]');
  assert.equal(await prod.locator('ul.blockers').count(), 0, `nothing blocks it: ${await prod.textContent()}`);
  await startPhase(prod);
  await olga.page.waitForSelector('section.phase[data-phase="production 5%"][data-status="active"]');
  for (const name of ['error_rate', 'error_rate_p0', 'latency_p95', 'app_up']) {
    await olga.page.waitForSelector(`#guardrails tr[data-guardrail="${name}"] .reading[data-environment="production"][data-outcome="healthy"]`, { timeout: 90_000 });
  }
  const reading = await olga.page.textContent('#guardrails tr[data-guardrail="error_rate"] .reading[data-environment="production"]');
  assert.match(reading, /127\.0\.0\.1:\d+/, `read from the demo's Prometheus: ${reading}`);
  await vera.page.waitForSelector('section.phase[data-phase="production 5%"][data-status="active"]');
  assert.match(await vera.page.innerHTML('#timeline-chart'), /<svg/);
  assert.match(await vera.page.textContent('#timeline-chart'), /error_rate \(staging\)/, 'the readings on the chart');
  await screenshot(olga.page, 'demo-stack-started-1280');
  await olga.page.setViewportSize(PHONE);
  await screenshot(olga.page, 'demo-stack-started-390');
  await olga.page.setViewportSize(DESKTOP);

  // The app reads the flag over OFREP: some of production's requests take the new path.
  const app = await (await browser.newContext({ viewport: DESKTOP })).newPage();
  await app.goto(production);
  await app.waitForFunction(() => parseFloat(document.querySelector('#new-path')?.textContent) > 0, null, { timeout: 60_000 });
  assert.match(await app.textContent('#environment'), /production/);
  // Make it fail, from the app's own page.
  await Promise.all([app.waitForURL(`${production}/`), app.click('button:has-text("Make it fail")')]);
  assert.match(await app.textContent('#failing'), /^on/);
  const failedAt = Date.now();

  // Within its readings (ten failed in a row, 30 s apart; rate windows of
  // 5 min), the P0 guardrail rolls STI back everywhere, live on vera's page.
  await vera.page.waitForSelector('#timeline-events tr[data-action="plan.rollback.emergency"]', { timeout: 10 * 60_000 });
  const tookS = (Date.now() - failedAt) / 1000;
  assert.ok(tookS > 4 * 30, `acted after ${tookS} s: not before ten failed readings`);
  assert.match(await vera.page.textContent('#timeline-events tr[data-action="plan.rollback.emergency"]'), /system/);
  assert.ok(await vera.page.locator('#timeline-events tr[data-action="guardrail.action"]').count() >= 1);
  assert.match(await vera.page.textContent('#guardrails tr[data-guardrail="error_rate_p0"]'), /failed/);
  await vera.page.waitForSelector('#exposure-production');
  assert.match(await vera.page.textContent('#timeline-chart'), /error_rate_p0 \(production\)/);
  assert.equal(await vera.page.evaluate(() => window.__sameDocument), true, 'vera saw it without a reload');
  assert.match(await vera.page.textContent('main'), /error_rate_p0/);

  // The audit trail names the guardrail that acted, and the flag is off.
  const trail = await olga.page.request.get(`${url}/api/v1/audit/events?action=plan.rollback.emergency&subject=plan:${planId}`);
  assert.equal(trail.status(), 200);
  const { events } = await trail.json();
  assert.equal(events.length, 1, JSON.stringify(events));
  assert.equal(events[0].actor_kind, 'system');
  assert.match(events[0].details, /error_rate_p0/);
  const view = await (await olga.page.request.get(`${url}/api/v1/plans/${planId}`)).json();
  assert.equal(view.summary.status, 'rolled_back');
  assert.ok(view.flag.environments.every((e) => !e.enabled), 'STI off in every environment');

  await vera.page.reload();
  await hydrated(vera.page);
  await screenshot(vera.page, 'demo-stack-rolled-back-1280');
  await vera.page.setViewportSize(PHONE);
  await screenshot(vera.page, 'demo-stack-rolled-back-390');
  assert.deepEqual(olga.errors.filter((e) => !/^HTTP 4\d\d/.test(e)), [], 'no page errors for olga');
  assert.deepEqual(vera.errors, [], 'no page errors for vera');

  // Ctrl-C: everything scripts/run started stops, nothing is left behind.
  process.kill(-run.pid, 'SIGINT');
  const [code] = await once(run, 'exit');
  assert.ok([0, 130].includes(code), `scripts/run exited ${code}:\n${log.slice(-2000)}`);
  for (let i = 0; i < 50 && inGroup(run.pid).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(inGroup(run.pid), [], 'no process of the stack is left');
  for (const port of [base, base + 1, base + 2, base + 9]) assert.equal(await answers(port), false, `port ${port} closed`);
});
