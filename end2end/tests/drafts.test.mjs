// What one person is typing on the plan page survives another person's
// change: the page reloads the plan live (its change feed) and redraws the
// phase cards, and a half-typed comment is put back where it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot, hydrated, personIn, newPlanFromTemplate, startPhase } from './support/console.mjs';
import { useConsole, server, browser } from './support/use_console.mjs';

useConsole();

test("a comment being typed survives another person's tick", async () => {
  const olga = await personIn(server, browser, 'olga', 'operator');
  const otto = await personIn(server, browser, 'otto', 'operator');
  await olga.page.goto(`${server.url}/plans`);
  await hydrated(olga.page);
  const planUrl = await newPlanFromTemplate(olga.page, 'sti-backfill', 'Drafts', 'drafts_flag');
  await hydrated(olga.page);
  const dev = (page) => page.locator('section.phase[data-phase="dev"]');
  await startPhase(dev(olga.page));
  await olga.page.waitForSelector('section.phase[data-phase="dev"][data-status="active"]');
  await otto.page.goto(planUrl);
  await hydrated(otto.page);

  const first = 'tr[data-item="All existing tests pass with ENABLE_STI=true"]';
  const second = 'tr[data-item="No performance regressions detected"]';
  const typed = 'p95 flat on the dev dashboard; checking the nightly run before I tick';
  await dev(olga.page).locator(`${second} input[name="comment"]`).fill(typed);
  // Otto ticks another item; olga's page redraws the card without a reload.
  await olga.page.evaluate(() => { window.__sameDocument = true; });
  await dev(otto.page).locator(`${first} button[type="submit"]`).click();
  await olga.page.waitForSelector(`section.phase[data-phase="dev"] ${first}[data-met="true"]`);
  assert.equal(await dev(olga.page).locator(`${second} input[name="comment"]`).inputValue(), typed, 'the half-typed comment is back');
  assert.equal(await olga.page.evaluate(() => window.__sameDocument), true, 'no reload happened');
  await screenshot(olga.page, 'drafts-kept');

  // Sent, it is ticked with that comment, and the draft is gone.
  await dev(olga.page).locator(`${second} button[type="submit"]`).click();
  await olga.page.waitForSelector(`section.phase[data-phase="dev"] ${second}[data-met="true"]`);
  assert.match(await dev(olga.page).locator(second).textContent(), /p95 flat on the dev dashboard/);
  assert.deepEqual([olga.errors, otto.errors], [[], []]);
});
