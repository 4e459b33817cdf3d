// One browser test file's world: the release console on a fresh store and
// Debian's Chromium, started before the file's tests and stopped after them.
// `server` and `browser` are live bindings: import them beside useConsole.
import { before, after } from 'node:test';
import { startConsole, launchBrowser } from './console.mjs';

export let server;
export let browser;

/**
 * `demoRows`: the demo target seeded with that many rows (`demo seed`)
 * once the console is up; `expectPageErrors`: the file expects page errors
 * (they are not logged to the run's error log); the rest goes to
 * startConsole (`prepare`, `config`, `movableClock`).
 */
export function useConsole({ demoRows, expectPageErrors = false, ...options } = {}) {
  before(async () => {
    server = await startConsole(options);
    browser = await launchBrowser({ expectPageErrors });
    if (demoRows) server.cli('demo', 'seed', '--rows', String(demoRows));
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });
}
