// A fixture application for guardrail tests: a node HTTP server on
// 127.0.0.1 that answers traffic of its own on a timer (50 requests every
// 200 ms by default, a fraction `ratio` of them 500s) and exposes it at
// `/metrics` in the Prometheus text format, as an instrumented application
// would: `http_requests_total{status="200"|"500"}` counters and an
// `http_request_duration_seconds` histogram. A real Prometheus scrapes it
// (support/prometheus.mjs), so the console's guardrails read real rates.
//
// Like a Prometheus client library, the 5xx series exists only once a 5xx
// has been answered: a healthy application that never failed has no 5xx
// series at all (an empty vector, not a zero), which is what the plan
// templates' `or vector(0)` queries must read as 0 %. Once it has failed,
// the counter stays (counters never go away); its rate falls back to 0
// when the ratio is set back to 0.
import { createServer } from 'node:http';
import { once } from 'node:events';

/** Upper bounds of the latency histogram's buckets, in seconds. */
const BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, Infinity];

/**
 * Starts the application; `url` is its base address, `hostPort` what a
 * Prometheus scrape target names (`127.0.0.1:PORT`).
 * `setErrorRatio(r)`: from now on, a share `r` (0..1) of its requests fail.
 */
export async function startFixtureApp({ requestsPerTick = 50, tickMs = 200 } = {}) {
  let ratio = 0;
  // Cumulative since start, as counters are.
  let ok = 0;
  let failed = 0;
  let owed = 0; // fractional failures carried to the next tick
  const buckets = BUCKETS.map(() => 0);
  let sum = 0;

  const tick = () => {
    owed += requestsPerTick * ratio;
    const errors = Math.min(requestsPerTick, Math.floor(owed));
    owed -= errors;
    failed += errors;
    ok += requestsPerTick - errors;
    // Latencies spread over 20 ms … 290 ms (failures are slow: 400 ms).
    for (let i = 0; i < requestsPerTick; i += 1) {
      const seconds = i < errors ? 0.4 : 0.02 + (i % 10) * 0.03;
      sum += seconds;
      BUCKETS.forEach((le, k) => { if (seconds <= le) buckets[k] += 1; });
    }
  };
  const timer = setInterval(tick, tickMs);
  timer.unref();

  const metrics = () => {
    const lines = [
      '# HELP http_requests_total Requests the application answered, by status.',
      '# TYPE http_requests_total counter',
      `http_requests_total{status="200"} ${ok}`,
    ];
    if (failed > 0) lines.push(`http_requests_total{status="500"} ${failed}`);
    lines.push(
      '# HELP http_request_duration_seconds How long the application took to answer.',
      '# TYPE http_request_duration_seconds histogram',
      ...BUCKETS.map((le, k) => `http_request_duration_seconds_bucket{le="${le === Infinity ? '+Inf' : le}"} ${buckets[k]}`),
      `http_request_duration_seconds_sum ${sum.toFixed(3)}`,
      `http_request_duration_seconds_count ${ok + failed}`,
    );
    return `${lines.join('\n')}\n`;
  };

  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url.split('?')[0] === '/metrics') {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(metrics());
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found\n');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();

  return {
    url: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    /** The share of requests answered with a 500 from now on. */
    setErrorRatio(r) {
      if (!(r >= 0 && r <= 1)) throw new Error(`error ratio ${r}: give a number from 0 to 1`);
      ratio = r;
    },
    /**
     * As if the application restarted healthy: its counters start again
     * from zero and, until it fails again, it has no 5xx series (Prometheus
     * marks the old one stale at its next scrape).
     */
    restart() {
      ratio = 0;
      ok = 0;
      failed = 0;
      owed = 0;
      sum = 0;
      buckets.fill(0);
    },
    /** The counters as they are now (for failure messages). */
    totals: () => ({ ok, failed, ratio }),
    async stop() {
      clearInterval(timer);
      // Prometheus keeps its scrape connection open.
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
