// The REST API keeps the contract its OpenAPI document states, checked by
// schemathesis (PyPI, installed by scripts/setup into scripts/tools/venv)
// with every check (`--checks all`: no server error, documented statuses,
// content types, headers and schemas, schema-violating input refused,
// schema-valid input accepted, authentication not ignored, …) over its
// examples, coverage, fuzzing and stateful phases, against the release
// build on a store with the demo's history (real plans, runs and events to
// find), with a token that holds every scope.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { access } from 'node:fs/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startConsole } from './support/console.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ST = process.env.SCHEMATHESIS_BIN || join(ROOT, 'scripts', 'tools', 'venv', 'bin', 'st');
// What only configuration can say (each entry says why), and the hooks.
const CONTRACT = join(ROOT, 'end2end', 'contract');

let server;

before(async () => {
  await access(ST).catch(() => {
    throw new Error(`${ST} is missing: run scripts/setup test (it installs schemathesis)`);
  });
  server = await startConsole({ prepare: ['demo', 'history'] });
});

after(async () => {
  await server?.stop();
});

test('the REST API passes schemathesis --checks all in every phase', async () => {
  const token = server.createToken('contract', ['audit:read', 'plans:read', 'plans:write', 'flags:read'], 'production');
  // The demo's active plan is the `{id}` every plan operation is tried on
  // (besides the plans the run creates itself), so commands and runs meet a
  // real plan with real phases and jobs, not only 404s.
  const plans = await (await fetch(`${server.url}/api/v1/plans`, { headers: { authorization: `Bearer ${token}` } })).json();
  const active = plans.find((p) => p.status === 'active');
  assert.ok(active, `the demo has an active plan: ${JSON.stringify(plans)}`);
  const config = join(server.dir, 'schemathesis.toml');
  writeFileSync(config, `${readFileSync(join(CONTRACT, 'schemathesis.toml'), 'utf8')}\n[parameters]\n"path.id" = "${active.id}"\n`);
  const child = spawn(ST, [
    '--config-file', config,
    'run', `${server.url}/api/v1/openapi.json`,
    '--checks', 'all',
    '--phases', 'examples,coverage,fuzzing,stateful',
    '--max-examples', process.env.SCHEMATHESIS_MAX_EXAMPLES || '50',
    '--seed', process.env.SCHEMATHESIS_SEED || '20261204',
    '--header', `Authorization: Bearer ${token}`,
    '--request-timeout', '20',
    '--workers', '1',
    '--no-color',
  ], {
    cwd: server.dir,
    env: { ...process.env, SCHEMATHESIS_HOOKS: join(CONTRACT, 'hooks.py'), SCHEMATHESIS_TELEMETRY: 'false' },
  });
  let out = '';
  child.stdout.on('data', (c) => { out += c; });
  child.stderr.on('data', (c) => { out += c; });
  const [code] = await once(child, 'exit');
  // The summary (and every failure, with a curl line to replay it) stays in
  // the test log.
  console.log(out.split('\n').slice(-80).join('\n'));
  assert.equal(code, 0, `schemathesis found failures:\n${out.slice(-20000)}`);
  assert.match(out, /passed/, 'schemathesis ran its operations');
});
