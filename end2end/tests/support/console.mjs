// Starts the console binary that scripts/build made (the release build that
// scripts/run serves) on a free port with a fresh store, and launches
// Debian's Chromium through playwright-core. The store is a SQLite file, or
// with E2E_STORE=postgres a new database on the PostgreSQL server of
// TEST_DATABASE_URL (scripts/test sets both for its PostgreSQL-store pass).
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, readFileSync } from 'node:fs';
import { access, mkdtemp, rm, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { fakeClock } from './clock.mjs';

/**
 * `prepare`: a CLI command run on the new store before `serve` (e.g.
 * ['demo', 'history']); its output is `prepared`, and the passwords it
 * prints ("  NAME ROLE PASSWORD" lines) are `passwords`. `config`: the text
 * of a `console.toml` written to the console's working directory before
 * anything runs there (it reads that file from its cwd), e.g.
 * `[prometheus.app]\nurl = "…"\n`; without it, the defaults. `movableClock`:
 * the console runs on an injected clock (support/clock.mjs), `server.clock`,
 * which the test moves forward.
 */
export async function startConsole({ prepare, config, movableClock = false } = {}) {
  const bin = process.env.E2E_CONSOLE_BIN;
  const siteRoot = process.env.E2E_SITE_ROOT;
  if (!bin || !siteRoot) {
    throw new Error('E2E_CONSOLE_BIN and E2E_SITE_ROOT are not set: run the browser tests through scripts/test');
  }
  const wasm = join(siteRoot, 'pkg', 'rollout-console.wasm');
  try {
    await access(wasm);
  } catch {
    throw new Error(`${wasm} is missing: E2E_SITE_ROOT must be the site scripts/build made`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'rollout-console-e2e-'));
  if (config !== undefined) await writeFile(join(dir, 'console.toml'), config);
  const store = freshStore(dir);
  const clock = movableClock ? await fakeClock(dir) : undefined;
  let prepared = '';
  const passwords = {};
  if (prepare) {
    const out = spawnSync(bin, prepare, {
      cwd: dir,
      env: { ...process.env, DATABASE_URL: store.url, CONSOLE_LOG_LEVEL: 'warn' },
      encoding: 'utf8',
    });
    if (out.status !== 0) throw new Error(`${prepare.join(' ')} failed (${out.status}): ${out.stderr}`);
    prepared = out.stdout;
    for (const m of prepared.matchAll(/^ {2}(\S+) +(\S+) +(\S{12,})$/gm)) passwords[m[1]] = m[3];
  }
  const child = spawn(bin, ['serve'], {
    cwd: dir,
    env: {
      ...process.env,
      CONSOLE_LISTEN: '127.0.0.1:0',
      CONSOLE_SITE_ROOT: siteRoot,
      DATABASE_URL: store.url,
      CONSOLE_LOG_LEVEL: 'info',
      ...clock?.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`console did not start within 30 s:\n${log}`)), 30_000);
    const onData = (chunk) => {
      log += chunk.toString();
      const m = log.match(/listening on (http:\/\/[0-9.:]+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`console exited with ${code}:\n${log}`)));
  });
  // First start: the console creates `admin` and prints its password once
  // (unless the prepared command made it).
  const admin = passwords.admin ?? await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no admin password printed:\n${log}`)), 10_000);
    const check = () => {
      const m = log.match(/password: (\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      } else {
        setTimeout(check, 20);
      }
    };
    check();
  });
  const env = { ...process.env, DATABASE_URL: store.url, CONSOLE_LOG_LEVEL: 'warn' };
  return {
    url,
    dir,
    /** `sqlite` or `postgres`: the console's own store. */
    storeBackend: store.backend,
    adminPassword: admin,
    prepared,
    passwords,
    /** Moves the injected clock (`movableClock`) `seconds` forward; resolves once the console's answers show it. */
    advanceClock: (seconds) => {
      if (!clock) throw new Error('advanceClock: start the console with movableClock: true');
      return clock.advance(seconds, url);
    },
    /** Adds a user through the CLI (as an operator of the console would); returns the password. */
    addUser(username, ...roles) {
      const password = `${username}-e2e-password`;
      const args = ['user', 'add', username, '--password-stdin', ...roles.flatMap((r) => ['--role', r])];
      const out = spawnSync(bin, args, { cwd: dir, env, input: `${password}\n`, encoding: 'utf8' });
      if (out.status !== 0) throw new Error(`user add failed (${out.status}): ${out.stderr}`);
      return password;
    },
    /** Runs the console's CLI in the server's directory; returns its stdout. */
    cli(...args) {
      const out = spawnSync(bin, args, { cwd: dir, env, encoding: 'utf8' });
      if (out.status !== 0) throw new Error(`${args.join(' ')} failed (${out.status}): ${out.stderr}`);
      return out.stdout;
    },
    /** Creates an API token through the CLI; returns its secret. */
    /** A token with `scopes`; one that reads flags is bound to `environment`. */
    createToken(name, scopes, environment) {
      const args = ['token', 'create', '--name', name, ...scopes.flatMap((s) => ['--scope', s])];
      // A plans:write token acts for a person: the first admin.
      if (scopes.includes('plans:write')) args.push('--owner', 'admin');
      if (environment) args.push('--environment', environment);
      const out = spawnSync(bin, args, { cwd: dir, env, encoding: 'utf8' });
      if (out.status !== 0) throw new Error(`token create failed (${out.status}): ${out.stderr}`);
      const m = out.stdout.match(/secret \(shown once\): (\S+)/);
      if (!m) throw new Error(`no secret in: ${out.stdout}`);
      return m[1];
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      store.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The console's store for one test file: a SQLite file in `dir`, or a new PostgreSQL database. */
function freshStore(dir) {
  if ((process.env.E2E_STORE ?? 'sqlite') === 'sqlite') {
    return { backend: 'sqlite', url: `sqlite://${dir}/console.db`, drop() {} };
  }
  if (process.env.E2E_STORE !== 'postgres') {
    throw new Error(`E2E_STORE=${process.env.E2E_STORE}: use sqlite (the default) or postgres`);
  }
  const server = process.env.TEST_DATABASE_URL;
  if (!server) throw new Error('E2E_STORE=postgres needs TEST_DATABASE_URL (a PostgreSQL server to create the store on)');
  const name = `rollout_e2e_${process.pid}_${Date.now()}`;
  const psql = (sql) => {
    const out = spawnSync('psql', [server, '-v', 'ON_ERROR_STOP=1', '-qc', sql], { encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`psql ${sql} failed (${out.status}): ${out.stderr || out.error}`);
  };
  psql(`CREATE DATABASE ${name}`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  return { backend: 'postgres', url: url.toString(), drop: () => psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

export async function launchBrowser({ expectPageErrors = false } = {}) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  if (!expectPageErrors) {
    // Every page of every context (browser.newPage makes its context through
    // newContext too) reports to the run's error log, which scripts/test
    // fails on: a hydration panic cannot go unnoticed in a test that forgot
    // to watch for it.
    const newContext = browser.newContext.bind(browser);
    browser.newContext = async (...args) => {
      const context = await newContext(...args);
      context.on('page', logPageErrors);
      return context;
    };
  }
  return browser;
}

function logPageErrors(page) {
  const log = process.env.E2E_PAGE_ERRORS;
  if (!log) return;
  const record = (what) => appendFileSync(log, `${page.url()} ${what}\n`);
  page.on('pageerror', (e) => record(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) record(`console: ${m.text()}`);
  });
}

/** Collects uncaught page errors and console errors (hydration mismatches land there). */
export function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.request().isNavigationRequest()) errors.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`);
  });
  return errors;
}

export async function screenshot(page, name) {
  const dir = new URL('../../screenshots/', import.meta.url).pathname;
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Waits until the page's wasm has hydrated. */
export async function hydrated(page) {
  await page.waitForSelector('main[data-hydrated="true"]', { timeout: 30_000 });
}

/** A new user with `roles`, signed in in a browser context of their own. */
export async function personIn(server, browser, username, ...roles) {
  const password = server.addUser(username, ...roles);
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchErrors(page);
  await signIn(page, server.url, username, password);
  return { context, page, errors, password };
}

/** Signs in through the login form and waits for the page it leads to. */
export async function signIn(page, baseUrl, username, password) {
  await page.goto(`${baseUrl}/login`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('#sign-in')]);
}

/** Creates a plan from a built-in template on the Plans page (the page must be open); returns its URL. */
export async function newPlanFromTemplate(page, template, name, flagKey) {
  await page.check(`input[name="template"][value="${template}"]`);
  await page.fill('#new-plan input[name="name"]', name);
  await page.fill('#new-plan input[name="flag_key"]', flagKey);
  await Promise.all([page.waitForURL(/\/plans\/[0-9a-f]{32}$/), page.click('#new-plan button[type="submit"]')]);
  return page.url();
}

/**
 * Opens a confirming form (`<details class="confirm">` under `scope`), fills
 * `fields` (selector → value), ticks its confirmation and sends it.
 */
export async function confirmAndSend(scope, detailsSelector, fields = {}) {
  const details = scope.locator(detailsSelector);
  await details.locator(':scope > summary').click();
  for (const [selector, value] of Object.entries(fields)) await details.locator(selector).fill(value);
  await details.locator('input[type="checkbox"]').check();
  await details.locator('button[type="submit"]').click();
}

/** Starts a phase from its card (`section.phase` locator), confirming what it does. */
export function startPhase(phase) {
  return confirmAndSend(phase, 'details.start-confirm');
}

/**
 * Runs axe-core (npm `axe-core`) on the page as it is now; returns its
 * serious and critical violations as "rule: target (summary)" lines.
 */
export async function seriousViolations(page) {
  const path = new URL('../../node_modules/axe-core/axe.min.js', import.meta.url).pathname;
  // Evaluated through the DevTools protocol: the console's CSP (nonces, no
  // 'unsafe-inline') refuses an injected <script>, as it should.
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(readFileSync(path, 'utf8'));
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => `${n.target.join(' ')} (${n.failureSummary?.split('\n')[1]?.trim() ?? ''})`) }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((n) => `${v.id}: ${n}`));
}
