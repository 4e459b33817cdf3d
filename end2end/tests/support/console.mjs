// Starts the console binary built by `cargo leptos build` on a free port with
// a fresh SQLite store, and launches Debian's Chromium through playwright-core.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export async function startConsole() {
  const bin = process.env.E2E_CONSOLE_BIN;
  const siteRoot = process.env.E2E_SITE_ROOT;
  if (!bin || !siteRoot) {
    throw new Error('E2E_CONSOLE_BIN and E2E_SITE_ROOT are not set: run the browser tests through scripts/test');
  }
  const dir = await mkdtemp(join(tmpdir(), 'rollout-console-e2e-'));
  const child = spawn(bin, ['serve'], {
    cwd: dir,
    env: {
      ...process.env,
      CONSOLE_LISTEN: '127.0.0.1:0',
      CONSOLE_SITE_ROOT: siteRoot,
      DATABASE_URL: `sqlite://${dir}/console.db`,
      CONSOLE_LOG_LEVEL: 'info',
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
  return {
    url,
    dir,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
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
