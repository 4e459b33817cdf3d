// What a live change of a plan costs the server: two Chromium browsers
// (two people, each signed in) have the plan page open; the operator ticks
// and unticks a checklist item CHANGES times through the REST API, and after
// each change both pages redraw themselves (the change feed asks for the
// parts that changed). Counted per change, both browsers together: the
// bytes of every response the redraws fetched (as the network saw them:
// encoded, headers included) and the server's time for those requests
// (`http_request_duration_seconds` of /metrics, every route but the
// command's and /metrics). Then the same CHANGES again the way pages
// redrew before (#28): the parts' address blocked, each browser fetches the
// whole page after each change (`Accept: text/html`), counted the same way
// (the page's route only).
// Usage: node live_change.mjs CONSOLE_URL PLAN_ID ITEM_ID OPERATOR_COOKIE
//        COOKIE_A COOKIE_B CHANGES — prints one JSON line.
import { chromium } from '../../end2end/node_modules/playwright-core/index.mjs';

const [base, planId, itemId, operator, cookieA, cookieB, changes = '20'] = process.argv.slice(2);
const pageUrl = `${base}/plans/${planId}`;
const commandRoute = '/api/v1/plans/{id}/commands';

/** Each label set's (seconds, requests) from /metrics. */
async function serverTime() {
  const text = await (await fetch(`${base}/metrics`)).text();
  const by = new Map();
  for (const line of text.split('\n')) {
    const m = line.match(/^http_request_duration_seconds_(sum|count)\{(.*)\} (\S+)$/);
    if (!m) continue;
    const entry = by.get(m[2]) || { route: (m[2].match(/route="([^"]*)"/) || [])[1], sum: 0, count: 0 };
    entry[m[1]] = Number(m[3]);
    by.set(m[2], entry);
  }
  return by;
}

/** Seconds and requests between two readings, but the command's and
 * /metrics (only `route`'s when given). */
function spent(before, after, route) {
  let seconds = 0;
  let requests = 0;
  for (const [labels, now] of after) {
    if (now.route === commandRoute || now.route === '/metrics') continue;
    if (route && now.route !== route) continue;
    const then = before.get(labels) || { sum: 0, count: 0 };
    seconds += now.sum - then.sum;
    requests += now.count - then.count;
  }
  return { seconds, requests };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});

async function open(cookie) {
  const [name, value] = cookie.split(/=(.*)/s);
  const context = await browser.newContext();
  await context.addCookies([{ name, value, url: base }]);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const seen = { bytes: 0, responses: 0 };
  const urls = new Map();
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.loadingFinished', (e) => {
    // The change feed stays open; its few bytes are not a redraw's.
    if ((urls.get(e.requestId) || '').includes('/events')) return;
    seen.bytes += e.encodedDataLength;
    seen.responses += 1;
  });
  const res = await page.goto(pageUrl);
  if (res.status() !== 200) throw new Error(`${pageUrl} answered ${res.status()}`);
  await page.waitForSelector('main[data-hydrated="true"]', { timeout: 60_000 });
  await page.waitForLoadState('networkidle');
  return { page, seen };
}

const a = await open(cookieA);
const b = await open(cookieB);

async function command(ticked) {
  const r = await fetch(`${base}/api/v1/plans/${planId}/commands`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: operator, origin: base },
    body: JSON.stringify({ command: 'tick', item_id: itemId, ticked, comment: 'bench' }),
  });
  if (r.status !== 200) throw new Error(`tick answered ${r.status}: ${await r.text()}`);
}

/** Both pages show the item ticked (who ticked it) or not. */
async function redrawn(ticked) {
  for (const { page } of [a, b]) {
    await page.waitForFunction(
      (want) => (document.querySelectorAll('#live-plan .ticked-by').length > 0) === want,
      ticked,
      { timeout: 30_000 },
    );
  }
}

let ticked = false;
const timeBefore = await serverTime();
a.seen.bytes = 0; b.seen.bytes = 0; a.seen.responses = 0; b.seen.responses = 0;
for (let i = 0; i < Number(changes); i++) {
  ticked = !ticked;
  await command(ticked);
  await redrawn(ticked);
}
await a.page.waitForLoadState('networkidle');
await b.page.waitForLoadState('networkidle');
const live = spent(timeBefore, await serverTime());
const liveBytes = a.seen.bytes + b.seen.bytes;
const liveResponses = a.seen.responses + b.seen.responses;

// The same changes, redrawn as before: each browser fetches the whole page.
for (const { page } of [a, b]) await page.route('**/api/plan_regions**', (r) => r.abort());
const renderBefore = await serverTime();
a.seen.bytes = 0; b.seen.bytes = 0; a.seen.responses = 0; b.seen.responses = 0;
for (let i = 0; i < Number(changes); i++) {
  ticked = !ticked;
  await command(ticked);
  await Promise.all([a, b].map(({ page }) => page.evaluate(async (url) => {
    const r = await fetch(url, { headers: { Accept: 'text/html' } });
    await r.text();
  }, pageUrl)));
}
const full = spent(renderBefore, await serverTime(), '/plans/{id}');
const fullBytes = a.seen.bytes + b.seen.bytes;
const fullResponses = a.seen.responses + b.seen.responses;
await browser.close();

const n = Number(changes);
console.log(JSON.stringify({
  changes: n,
  live_bytes_per_change: Math.round(liveBytes / n),
  live_responses_per_change: liveResponses / n,
  live_server_ms_per_change: (live.seconds * 1000) / n,
  page_bytes_per_change: Math.round(fullBytes / n),
  page_responses_per_change: fullResponses / n,
  page_server_ms_per_change: (full.seconds * 1000) / n,
}));
