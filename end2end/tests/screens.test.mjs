// The plan, job, audit and dashboard pages at 1280 px and 390 px wide, in one
// state made only through the CLI and the REST API (an operator starts dev
// of the STI template, dry-runs and runs the school job, ticks the checklist;
// an approver approves), so the same test can photograph an older build:
// E2E_SCREENS_LABEL=before with that build's binary and site writes
// end2end/screenshots/before-*.png (committed: how the pages looked before
// the incident work); scripts/test writes after-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot, hydrated, personIn } from './support/console.mjs';
import { useConsole, server, browser } from './support/use_console.mjs';

const LABEL = process.env.E2E_SCREENS_LABEL ?? 'after';
useConsole({ demoRows: 20000 });

/** The REST API as `person` (their session cookie, the console's origin for CSRF). */
function api(person) {
  const headers = { Origin: server.url };
  const check = async (res, what) => {
    assert.ok(res.ok(), `${what}: HTTP ${res.status()} ${await res.text()}`);
    return res.json();
  };
  return {
    get: async (path) => check(await person.context.request.get(`${server.url}${path}`, { headers }), `GET ${path}`),
    post: async (path, data) => check(await person.context.request.post(`${server.url}${path}`, { headers, data }), `POST ${path}`),
  };
}

test(`${LABEL}: plan, job, audit and dashboard pages at 1280 and 390 px`, async () => {
  const olga = await personIn(server, browser, 'olga', 'operator');
  const ann = await personIn(server, browser, 'ann', 'approver');
  const vera = await personIn(server, browser, 'vera', 'viewer');
  const op = api(olga);
  const plan = await op.post('/api/v1/plans/from-template', { template: 'sti-backfill', name: 'STI subtype backfill', flag_key: 'enable_sti' });
  const command = (who, body) => who.post(`/api/v1/plans/${plan.id}/commands`, body);
  const dev = async () => (await op.get(`/api/v1/plans/${plan.id}`)).phases[0];
  await command(op, { command: 'start_phase', phase_id: (await dev()).id });

  const runJob = async (body) => {
    const run = await op.post(`/api/v1/plans/${plan.id}/jobs/school/runs`, body);
    for (let i = 0; i < 600; i++) {
      const runs = await op.get(`/api/v1/plans/${plan.id}/runs`);
      if (runs.find((r) => r.id === run.id)?.status !== 'running') return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`run ${run.id} did not end`);
  };
  await runJob({ mode: 'dry_run', environment: 'dev' });
  await runJob({ mode: 'run', environment: 'dev', override_reason: 'dev: the broken demo rows are known and listed' });
  for (const item of (await dev()).checklist.filter((i) => !i.entry && i.kind === 'manual')) {
    await command(op, { command: 'tick', item_id: item.id, ticked: true, comment: '' });
  }
  await command(op, { command: 'request_approval', phase_id: (await dev()).id });
  const gate = await dev();
  await command(api(ann), {
    command: 'decide', phase_id: gate.id, verdict: 'approve', evidence: gate.evidence_hash,
    comment: 'The dry-run failures are the known broken rows; tests pass with ENABLE_STI=true.',
  });
  assert.equal((await dev()).status, 'approved');

  const pages = [
    [olga.page, `/plans/${plan.id}`, 'plan'],
    [olga.page, `/plans/${plan.id}/jobs/school`, 'job'],
    [olga.page, '/audit', 'audit'],
    [vera.page, '/', 'dashboard'],
  ];
  for (const width of [1280, 390]) {
    for (const [page, path, name] of pages) {
      await page.setViewportSize({ width, height: width > 500 ? 900 : 844 });
      await page.goto(`${server.url}${path}`);
      await hydrated(page);
      await screenshot(page, `${LABEL}-${name}-${width}`);
    }
  }
  // What the pages show in this state.
  await olga.page.goto(`${server.url}/plans/${plan.id}/jobs/school`);
  assert.ok(await olga.page.locator('svg').count() > 0, 'the job page draws its chart');
  assert.deepEqual([olga.errors, ann.errors, vera.errors], [[], [], []]);
});
