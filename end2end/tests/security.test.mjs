// Clickjacking: a page on another origin (another port of the same host, so
// the same site for cookies) frames a signed-in plan page. The console's
// frame-ancestors / X-Frame-Options answer keeps the frame empty, so no click
// on the attacker's page can land on "Start".
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { screenshot, signIn, newPlanFromTemplate } from './support/console.mjs';
import { useConsole, server, browser } from './support/use_console.mjs';

// Chromium logs the refused frame as a console error: expected here.
useConsole({ expectPageErrors: true });

let attacker;

after(() => attacker?.close());

test('the plan page cannot be framed by another origin', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, server.url, 'admin', server.adminPassword);
  await page.goto(`${server.url}/plans`);
  await page.waitForSelector('main[data-hydrated="true"]', { timeout: 30_000 });
  const planUrl = await newPlanFromTemplate(page, 'sti-backfill', 'Framed', 'enable_framed');
  // Signed in, the plan page itself works.
  await page.waitForSelector('#plan-name');
  assert.equal(await page.textContent('#plan-name'), 'Framed', 'the plan page renders at its own address');

  attacker = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(`<!doctype html><title>win a prize</title><iframe id="victim" src="${planUrl}" width="1200" height="900"></iframe>`);
  });
  attacker.listen(0, '127.0.0.1');
  await once(attacker, 'listening');
  const evil = `http://127.0.0.1:${attacker.address().port}/`;
  assert.notEqual(new URL(evil).origin, new URL(server.url).origin, 'another origin');

  const framing = await context.newPage();
  const consoleErrors = [];
  framing.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  await framing.goto(evil);
  await framing.waitForTimeout(1_500);
  const frame = framing.frames().find((f) => f !== framing.mainFrame());
  assert.ok(frame, 'the iframe exists');
  const framedContent = await frame.$('#plan-name, main, form').catch(() => null);
  assert.equal(framedContent, null, 'nothing of the console renders inside the frame');
  assert.ok(
    consoleErrors.some((e) => /frame|frame-ancestors|X-Frame-Options/i.test(e)),
    `Chromium refused the frame: ${consoleErrors.join(' | ')}`,
  );
  await screenshot(framing, 'security-framing-refused');
  await context.close();
});
