// The timeline in the browser: a guardrail watches dev; a backfill makes it
// breach; the console rolls dev back on its own. The operator's open plan
// page shows the breach, the guardrail's action and the rollback on the
// timeline and in its events, without a reload; a viewer sees the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { screenshot, hydrated, personIn, startPhase } from './support/console.mjs';
import { useConsole, server, browser } from './support/use_console.mjs';

useConsole({ demoRows: 2000 });

const PLAN = `[plan]
name = "Guarded dev"
flag = "guarded_dev"

[[phases]]
name = "dev"
environment = "dev"
exposure_bp = 10000

[[guardrails]]
name = "subtype_rows"
environments = ["dev"]
target = "demo"
sql = "SELECT COUNT(*) FROM projects_schoolproject"
max = 0
interval = "1s"
action = "rollback"

[[jobs]]
name = "school"
target = "demo"
require_dry_run = false
key = "id"
table = "projects_project"
filter = "project_type = 'school' AND is_draft = FALSE"
apply = """
INSERT INTO projects_schoolproject (project_id, course_name, course_code, teacher_name)
SELECT id, course_name, course_code, teacher_name FROM projects_project
WHERE id > $1 AND id <= $2 AND project_type = 'school' AND is_draft = FALSE
ON CONFLICT (project_id) DO NOTHING
RETURNING project_id"""
error_policy = "skip"
`;

test('a breach and the automatic rollback appear on the timeline without reload', async () => {
  const file = join(server.dir, 'guarded.toml');
  writeFileSync(file, PLAN);
  const planId = server.cli('plan', 'import', file).match(/ as ([0-9a-f]{32})/)[1];
  const op = await personIn(server, browser, 'olga', 'operator');
  const viewer = await personIn(server, browser, 'vera', 'viewer');
  const planUrl = `${server.url}/plans/${planId}`;
  await op.page.goto(planUrl);
  await hydrated(op.page);
  await startPhase(op.page.locator('section.phase[data-phase="dev"]'));
  await op.page.waitForSelector('section.phase[data-phase="dev"][data-status="active"]');
  await op.page.waitForSelector('#guardrails tr[data-guardrail="subtype_rows"] .reading[data-outcome="healthy"]', { timeout: 10_000 });
  assert.match(await op.page.innerHTML('#timeline-chart'), /<svg/);
  assert.match(await op.page.textContent('#timeline-chart'), /exposure per environment/);

  // From here the page is not reloaded.
  await op.page.evaluate(() => { window.__sameDocument = true; });
  const res = await op.page.request.post(`${server.url}/api/v1/plans/${planId}/jobs/school/runs`, {
    data: { mode: 'run' },
    headers: { Origin: server.url },
  });
  assert.equal(res.status(), 202, await res.text());

  await op.page.waitForSelector('#timeline-events tr[data-action="plan.rollback.standard"]', { timeout: 20_000 });
  await op.page.waitForSelector('section.phase[data-phase="dev"][data-status="pending"]');
  for (const action of ['guardrail.state', 'guardrail.action', 'plan.rollback.standard']) {
    assert.equal(await op.page.locator(`#timeline-events tr[data-action="${action}"]`).count() >= 1, true, action);
  }
  assert.match(await op.page.textContent('#timeline-events tr[data-action="plan.rollback.standard"]'), /system/);
  assert.match(await op.page.textContent('#guardrails tr[data-guardrail="subtype_rows"]'), /failed/);
  assert.equal(await op.page.textContent('#exposure-dev'), '0 %', 'standard rollback: dev back to 0 %');
  assert.match(await op.page.textContent('#timeline-chart'), /subtype_rows \(dev\)/, 'the guardrail on the chart');
  assert.equal(await op.page.evaluate(() => window.__sameDocument), true, 'no reload happened');
  await screenshot(op.page, 'timeline-rollback');

  // A viewer sees the same story.
  await viewer.page.goto(planUrl);
  await hydrated(viewer.page);
  assert.ok((await viewer.page.locator('#timeline-events tr[data-action="guardrail.action"]').count()) >= 1);
  await screenshot(viewer.page, 'timeline-viewer');
  const refused = op.errors.filter((e) => /^HTTP 4\d\d/.test(e));
  assert.deepEqual(op.errors.filter((e) => !refused.includes(e)), [], 'no page errors');
  assert.deepEqual(viewer.errors, []);
  await op.context.close();
  await viewer.context.close();
});
