// An injected clock for the console under test, without a clock hook in the
// binary users get: the release binary runs under Debian's libfaketime
// (LD_PRELOAD), in the test only. Its wall clock (`clock_gettime`
// CLOCK_REALTIME) is the system's plus an offset the test writes to a file;
// its monotonic clock stays real (DONT_FAKE_MONOTONIC), so tokio's timers,
// timeouts and intervals keep their pace. Only the console is moved: Chromium,
// Prometheus (a Go program, which libfaketime cannot move) and the CLI run on
// the system's time, so whatever the console asks Prometheus about the moved
// future has no samples — a soaked phase must not need new readings.
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import assert from 'node:assert/strict';

export const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';

/**
 * A clock file in `dir` (the console's working directory), at the system's
 * time. `env`: what the console's `serve` process needs to run on it.
 */
export async function fakeClock(dir) {
  try {
    await access(LIBFAKETIME);
  } catch {
    throw new Error(`${LIBFAKETIME} is missing: run scripts/setup test (it installs Debian's libfaketime)`);
  }
  const file = join(dir, 'faketime');
  let offsetSeconds = 0;
  await writeFile(file, '+0\n');
  return {
    env: {
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME_TIMESTAMP_FILE: file,
      // The file is read again at most once a second.
      FAKETIME_CACHE_DURATION: '1',
      DONT_FAKE_MONOTONIC: '1',
    },
    get offsetSeconds() { return offsetSeconds; },
    /**
     * Moves the console's clock `seconds` forward and waits until its answers
     * say so (the HTTP `Date` header of `url`'s /healthz).
     */
    async advance(seconds, url) {
      offsetSeconds += seconds;
      await writeFile(file, `+${offsetSeconds}\n`);
      const expected = Date.now() + offsetSeconds * 1000 - 5_000;
      const deadline = Date.now() + 10_000;
      for (;;) {
        const date = Date.parse((await fetch(`${url}/healthz`)).headers.get('date'));
        if (date >= expected) return;
        assert.ok(Date.now() < deadline, `the console's clock did not move ${seconds} s forward within 10 s (its Date: ${new Date(date).toISOString()})`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
  };
}
