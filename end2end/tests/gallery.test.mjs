// A state gallery, in Chromium on the release build. Plans are driven
// through every state a rollout reaches — a draft, a phase under way,
// awaiting approval, approved, a production pilot on an allow list
// ("0 % + 2 allowed"), a change request waiting, one organisation rolled
// back alone, 5 % with a healthy guardrail, an irreversible phase under way,
// completed (launched), paused by a guardrail, rolled back by a guardrail,
// an emergency rollback, aborted, a day's soak passed on an injected clock
// (the console runs under libfaketime: support/clock.mjs) — and in each
// state the console's pages are opened as an admin, an operator (olga), an
// approver (ann) and a viewer (vera), each in a browser context of their own. Every visit must answer
// (no 5xx; a clear 403 where the role may not look), hydrate
// (`main[data-hydrated="true"]`), log no page error, hydration panic or
// console error, make no sub-request that fails, and keep its islands live:
// the dashboard's Refresh, the audit log's "Verify now", the token list.
//
// No mocks: the guardrails read a real Prometheus (Debian's) scraping a
// fixture application whose error ratio the test sets. A healthy
// application that never answered a 5xx (no 5xx series at all) passes the
// "5xx below 1 %" gate; a failing one pauses one plan and rolls another back
// on the console's own.
//
// Every page (dashboard, plans, the plan with its timeline, its editor, its
// backfill job, the audit log, the newest audit event, users, tokens) is
// opened in every state as every role (a plan without the job answers its
// job page with a clear 404). The plan page is screenshot at 1280 and 390 px
// wide when paused, rolled back and completed, and must not scroll sideways
// on the phone. Gallery main runs last: its soak moves the console's clock a
// day ahead, where Prometheus has no samples for the other tests' guardrails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useGallery, FULL, MAIN, admin, ann, api, approve, bob, vera, command, createPlan, errorRateReads, everyone, expectStatus, fixture, flagIn, guardrail, incident, olga, open, phaseOf, prom, passTime, readingOf, readsHealthy, requestApproval, screenshots, see, start, textOf, twoPhases, until, viewOf, visitAll,
} from './support/gallery.mjs';

useGallery();

// --- The gallery --------------------------------------------------------------------

test('Gallery paused: the application fails and its guardrail pauses production', async () => {
  await errorRateReads('at most 1 %', (rate) => rate <= 0.01);
  const plan = await createPlan(twoPhases('Gallery paused', 'gallery_paused', 'pause'));
  await start(plan, 'dev');
  await requestApproval(plan, 'dev');
  await approve(plan, 'dev', ann);
  await start(plan, 'production 5%');
  await readsHealthy(plan);

  fixture.setErrorRatio(0.5);
  try {
    await until(`${plan.name}: production off (paused by its guardrail)`, async () => {
      const { view, reading } = await readingOf(plan);
      const prod = flagIn(view, 'production');
      return [prod?.enabled === false, `production ${JSON.stringify(prod)}; reading ${JSON.stringify(reading ?? null)}`];
    });
  } finally {
    fixture.setErrorRatio(0);
  }
  const view = await viewOf(plan);
  assert.equal(view.summary.status, 'active', 'a paused plan stays active (resumable)');
  assert.equal(view.incident?.action, 'plan.pause', `the incident: ${JSON.stringify(view.incident)}`);
  assert.equal(view.incident.by_system, true, 'paused by the console itself');

  await visitAll('paused by a guardrail', everyone, FULL, {
    plan,
    extra: {
      ...incident('plan.pause'),
      dashboard: (who, where) => see(who.page, `#recent-rollbacks tr[data-action="plan.pause"][data-plan="${plan.id}"]`, `${where}: among recent rollbacks`),
    },
  });
  await screenshots(olga, plan, 'paused');
});

test('Gallery rolled back: the application fails and its guardrail rolls production back', async () => {
  // The pause test's failures have left Prometheus's 10 s window.
  await errorRateReads('back to at most 1 %', (rate) => rate <= 0.01);
  const plan = await createPlan(twoPhases('Gallery rolled back', 'gallery_rolled', 'rollback'));
  await start(plan, 'dev');
  await requestApproval(plan, 'dev');
  await approve(plan, 'dev', ann);
  await start(plan, 'production 5%');
  await readsHealthy(plan);

  fixture.setErrorRatio(0.5);
  try {
    await until(`${plan.name}: production 5% back to pending (rolled back by its guardrail)`, async () => {
      const { view, reading } = await readingOf(plan);
      const phase = phaseOf(view, 'production 5%');
      return [phase.status === 'pending', `phase ${phase.status}; incident ${JSON.stringify(view.incident)}; reading ${JSON.stringify(reading ?? null)}`];
    });
  } finally {
    fixture.setErrorRatio(0);
  }
  const view = await viewOf(plan);
  assert.equal(view.incident?.action, 'plan.rollback.standard', `the incident: ${JSON.stringify(view.incident)}`);
  assert.equal(view.incident.by_system, true, 'rolled back by the console itself');
  assert.equal(phaseOf(view, 'dev').status, 'approved', 'dev runs again');

  await visitAll('rolled back by a guardrail', everyone, FULL, { plan, extra: incident('plan.rollback.standard') });
  await screenshots(olga, plan, 'rolled-back');
});

test('Gallery emergency: an operator pulls the kill switch', async () => {
  const plan = await createPlan(twoPhases('Gallery emergency', 'gallery_emergency'));
  await start(plan, 'dev');
  await command(olga, plan, {
    command: 'rollback', kind: 'emergency', confirm: plan.name, reason: 'customers see wrong totals', entity: '', accept_irreversible: false,
  });
  const view = await expectStatus(plan, 'rolled_back');
  assert.equal(flagIn(view, 'dev').enabled, false, 'the flag is off in dev');
  await visitAll('emergency rollback', everyone, FULL, { plan, extra: incident('plan.rollback.emergency', 'olga') });
});

test('Gallery aborted: a draft is abandoned', async () => {
  const plan = await createPlan(twoPhases('Gallery aborted', 'gallery_aborted'));
  await expectStatus(plan, 'draft');
  await command(olga, plan, {
    command: 'rollback', kind: 'abort', confirm: plan.name, reason: 'superseded by another plan', entity: '', accept_irreversible: false,
  });
  await expectStatus(plan, 'aborted');
  await visitAll('aborted', everyone, FULL, { plan, extra: incident('plan.abort', 'olga') });
});

test('Gallery main: draft to completed, through a pilot, a change request and an irreversible phase', async () => {
  // The application restarts healthy after the failures of the tests above:
  // Prometheus has rates, and the application has not answered a 5xx since,
  // so it has no 5xx series at all, which the guardrail must read as 0 %.
  fixture.restart();
  await until('Prometheus to mark the 5xx series stale (the restarted application has none)', async () => {
    const series = await prom.query('http_requests_total{status=~"5.."}');
    return [series.length === 0, JSON.stringify(series)];
  }, 30_000);
  await errorRateReads('as 0 (a healthy application)', (rate) => rate === 0);

  const plan = await createPlan(MAIN);
  await expectStatus(plan, 'draft');
  await visitAll('draft', everyone, FULL, { plan });

  await start(plan, 'dev');
  await expectStatus(plan, 'active');
  await visitAll('dev under way', everyone, FULL, { plan });

  await requestApproval(plan, 'dev');
  await visitAll('dev awaiting approval', everyone, FULL, {
    plan,
    extra: {
      async dashboard(who, where) {
        if (who.role === 'approver') await see(who.page, `#waiting-for-me li[data-plan="${plan.id}"][data-phase="dev"]`, `${where}: waiting for her decision`);
      },
    },
  });

  await approve(plan, 'dev', ann);
  await visitAll('dev approved', everyone, FULL, { plan });

  // The pilot: production at 0 %, two organisations on its allow list.
  await start(plan, 'pilot');
  const pilot = flagIn(await viewOf(plan), 'production');
  assert.deepEqual([pilot.enabled, pilot.exposure_bp, [...pilot.allow].sort()], [true, 0, ['org-1', 'org-2']], 'production after the pilot started');
  await visitAll('pilot on an allow list', everyone, FULL, {
    plan,
    extra: {
      async plan(who, where) {
        assert.equal(await textOf(who.page, '#exposure-production', where), '0 % + 2 allowed', `${where}: production's exposure in the plan's head`);
        assert.match(await textOf(who.page, '#plan-bar-exposure', where), /production 0 % \+ 2 allowed/, `${where}: the plan bar`);
      },
      async dashboard(who, where) {
        const item = `#live-plans tr[data-plan="${plan.id}"] li[data-environment="production"]`;
        assert.equal(await textOf(who.page, item, where), 'production 0 % + 2 allowed', `${where}: the live plans' exposure`);
      },
    },
  });

  // A change request: olga loosens the last gate (2 approvals → 1); it
  // waits for approval instead of applying. Then she withdraws it.
  const before = await viewOf(plan);
  const source = await (await api(olga.page, 'GET', `/api/v1/plans/${plan.id}/source`)).text();
  assert.ok(source.includes('approvals = 2'), 'the stored file is the imported one');
  const put = await api(olga.page, 'PUT', `/api/v1/plans/${plan.id}/source?revision=${before.summary.revision}`, source.replace('approvals = 2', 'approvals = 1'));
  assert.equal(put.status(), 202, `a weaker gate waits as a change request: ${await put.text()}`);
  assert.ok((await put.json()).pending_change, 'summary.pending_change names it');
  const change = (await viewOf(plan)).change_request;
  assert.ok(change?.id, 'the plan view shows the change request');
  await visitAll('a change request waiting', everyone, FULL, {
    plan,
    extra: { plan: (who, where) => see(who.page, '#change-request', where) },
  });
  await command(olga, plan, { command: 'withdraw_change', change_id: change.id });
  assert.ok(!(await viewOf(plan)).change_request, 'the change request is withdrawn');

  // One organisation rolled back alone.
  await command(olga, plan, {
    command: 'rollback', kind: 'entity', confirm: plan.name, reason: 'org-1 reports broken invoices', entity: 'org-1', accept_irreversible: false,
  });
  assert.ok(flagIn(await viewOf(plan), 'production').deny.includes('org-1'), 'org-1 is denied in production');
  await visitAll('org-1 rolled back alone', everyone, FULL, {
    plan,
    extra: { async plan(who, where) { assert.match(await textOf(who.page, '#flag-deny', where), /org-1/, `${where}: rolled back alone`); } },
  });

  // 5 %: the gate's automatic item passes on real readings of a healthy
  // application (no 5xx series at all).
  await requestApproval(plan, 'pilot');
  await approve(plan, 'pilot', ann);
  await start(plan, 'production 5%');
  const metOn5 = async () => {
    const item = phaseOf(await viewOf(plan), 'production 5%').checklist.find((i) => i.kind === 'auto');
    return [item.met, `met: ${item.met}, "${item.detail}"; reading ${JSON.stringify((await readingOf(plan)).reading ?? null)}`];
  };
  await until('"5xx below 1 %" met on production 5% (a healthy application)', metOn5);
  await visitAll('production 5 % with a healthy guardrail', everyone, FULL, {
    plan,
    extra: { plan: (who, where) => see(who.page, '#guardrails tr[data-guardrail="error_rate"] .reading[data-environment="production"][data-outcome="healthy"]', where) },
  });

  // 100 %, the irreversible phase: every rollback that turns production
  // down is now marked unsafe.
  await requestApproval(plan, 'production 5%');
  await approve(plan, 'production 5%', ann);
  await until('"5xx below 1 %" still met before 100 % starts', metOn5);
  await start(plan, 'production 100%');
  const unsafe = (await viewOf(plan)).rollbacks.filter((r) => r.unsafe_because).map((r) => r.kind);
  assert.ok(unsafe.length > 0, 'after the irreversible phase started, some rollbacks are unsafe');
  await visitAll('production 100 % under way (irreversible)', everyone, FULL, {
    plan,
    extra: {
      async plan(who, where) {
        await see(who.page, '[data-irreversible="true"]', where);
        // The rollback panel is for those who may roll back.
        if (who.writes) await see(who.page, '#rollback-preview [data-unsafe]', `${where}: unsafe rollbacks (${unsafe.join(', ')}) marked`);
      },
    },
  });

  // Two approvals while the phase soaks; completing waits for the day to
  // pass. Then olga completes on the page: the form says what stays and
  // asks for the plan's name; the answer says the kill switch stays.
  await requestApproval(plan, 'production 100%');
  await approve(plan, 'production 100%', ann, bob);
  const soak = phaseOf(await viewOf(plan), 'production 100%').checklist.find((i) => i.check === 'soak_elapsed');
  assert.deepEqual([soak.met, /^soak ends at /.test(soak.detail)], [false, true], `the soak item before the day passed: ${JSON.stringify(soak)}`);
  // During the soak the page offers no completing, its soak item says until
  // when, and the API refuses to complete.
  const during = `${plan.name}: during the soak`;
  await open(olga, `/plans/${plan.id}`, during);
  const soakRow = 'section.phase[data-phase="production 100%"] tr[data-item="A day at 100 % without incident"]';
  assert.match(await textOf(olga.page, soakRow, during), /soak ends at/);
  assert.equal(await olga.page.locator('#complete-plan').count(), 0, `${during}: no complete form before the soak has passed`);
  const early = await api(olga.page, 'POST', `/api/v1/plans/${plan.id}/commands`, { command: 'complete', confirm: plan.name });
  assert.deepEqual([early.status(), (await early.json()).code], [409, 'wrong_state'], `${during}: completing over the API`);
  assert.match(await early.text(), /its soak elapsed first/);
  await expectStatus(plan, 'active');

  // A day later (the console's injected clock), everyone signs in again.
  await passTime(24.5, [admin, olga, ann, bob, vera]);
  const soaked = phaseOf(await viewOf(plan), 'production 100%').checklist.find((i) => i.check === 'soak_elapsed');
  assert.deepEqual([soaked.met, soaked.detail], [true, 'soak elapsed'], 'the soak item a day later');
  const completing = `${plan.name}: completing a day later`;
  await open(olga, `/plans/${plan.id}`, completing);
  assert.match(await textOf(olga.page, soakRow, completing), /soak elapsed/);
  assert.match(await textOf(olga.page, '#complete-plan', completing), /gallery_main stays as it is now/);
  await olga.page.fill('#complete-plan input[name="confirm"]', plan.name);
  await olga.page.click('#complete-plan button[type="submit"]');
  await see(olga.page, '#outcome .ok.outcome', `${completing}: the outcome`, 15_000);
  assert.match(await olga.page.textContent('#outcome'), /completed: gallery_main stays at 100 % \+ 2 allowed in production; its kill switch/);
  await expectStatus(plan, 'completed');
  await visitAll('completed', everyone, FULL, {
    plan,
    extra: {
      dashboard: (who, where) => see(who.page, `#launched-plans tr[data-plan="${plan.id}"]`, `${where}: listed as launched`),
      async plan(who, where) {
        if (who.writes) assert.equal(await textOf(who.page, '#jump-rollback', where), 'Kill switch…', `${where}: the plan bar`);
      },
    },
  });
  await screenshots(olga, plan, 'completed');
});
