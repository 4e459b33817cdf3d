// A real Prometheus for browser tests: Debian's `prometheus` binary
// (installed by `scripts/setup test`), on a free port of 127.0.0.1, with a
// temporary config and TSDB, scraping one target every second (the
// fixture application of support/fixture_app.mjs). The console's
// `[prometheus.app]` points at `url`.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A port nothing listens on now (listen on 0, read it, close). */
async function freePort() {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address();
  probe.close();
  await once(probe, 'close');
  return port;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts Prometheus scraping `target` (`HOST:PORT`) and waits until it is
 * ready and has scraped the target once (`up` is 1). The one fixture stands
 * for the application in every environment: it is scraped once per
 * environment, labelled `environment="dev"`, `"staging"`, `"production"`
 * (the label the templates' queries select with `{{environment}}`).
 * Returns `url`, `query(promql)` (an instant query's result vector) and
 * `stop()`.
 */
export async function startPrometheus(target) {
  const dir = await mkdtemp(join(tmpdir(), 'rollout-console-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  await writeFile(config, [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: app',
    '    static_configs:',
    ...['dev', 'staging', 'production'].flatMap((environment) => [
      `      - targets: ['${target}']`,
      `        labels: {environment: ${environment}}`,
    ]),
    '',
  ].join('\n'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.env.PROMETHEUS_BIN || 'prometheus', [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Its log, for a failure message (the last few kB).
  let log = '';
  const keep = (chunk) => { log = (log + chunk.toString()).slice(-8000); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let spawnError = null;
  child.on('error', (e) => { spawnError = e; });

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && !spawnError) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const query = async (promql) => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = await res.json();
    if (body.status !== 'success') throw new Error(`Prometheus refused ${promql}: ${JSON.stringify(body)}`);
    return body.data.result;
  };

  // Ready, and the target scraped: the first reading a guardrail takes has data.
  const deadline = Date.now() + 30_000;
  let seen = 'no answer yet';
  for (;;) {
    if (spawnError) {
      await stop();
      throw new Error(`could not start prometheus (${spawnError.message}): install it with scripts/setup test`);
    }
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited with ${child.exitCode}:\n${log}`);
    }
    try {
      const ready = await fetch(`${url}/-/ready`);
      if (ready.status !== 200) {
        seen = `/-/ready answered ${ready.status}`;
      } else {
        const up = await query(`up{instance="${target}"}`);
        if (up[0]?.value[1] === '1') break;
        seen = `up{instance="${target}"} is ${JSON.stringify(up)}`;
      }
    } catch (e) {
      seen = e.message;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus on ${url} did not scrape ${target} within 30 s (last: ${seen}):\n${log}`);
    }
    await sleep(200);
  }
  return { url, query, stop };
}
