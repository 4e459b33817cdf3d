// The first load of a page in Chromium, cache empty: bytes over the wire
// (every response's encoded length, headers included, as the network saw it)
// and the time from navigation to hydration (`main[data-hydrated="true"]`).
// The network is throttled to MBPS megabit/s down (and up) with 20 ms of
// latency, so the bytes show in the time as they would off this machine.
// Usage: node page_load.mjs URL COOKIE RUNS MBPS — prints one JSON line.
import { chromium } from '../../end2end/node_modules/playwright-core/index.mjs';

const [url, cookie, runs = '5', mbps = '20'] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
const [name, value] = cookie.split(/=(.*)/s);
const samples = [];
for (let i = 0; i < Number(runs); i++) {
  const context = await browser.newContext();
  await context.addCookies([{ name, value, url }]);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const throughput = (Number(mbps) * 1_000_000) / 8;
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 20,
    downloadThroughput: throughput,
    uploadThroughput: throughput,
  });
  let bytes = 0;
  let wasm = 0;
  const urls = new Map();
  cdp.on('Network.responseReceived', (e) => urls.set(e.requestId, e.response.url));
  cdp.on('Network.loadingFinished', (e) => {
    bytes += e.encodedDataLength;
    if ((urls.get(e.requestId) || '').endsWith('.wasm')) wasm += e.encodedDataLength;
  });
  const t0 = Date.now();
  const res = await page.goto(url);
  if (res.status() !== 200) throw new Error(`${url} answered ${res.status()}`);
  await page.waitForSelector('main[data-hydrated="true"]', { timeout: 60_000 });
  const interactive = Date.now() - t0;
  await page.waitForLoadState('networkidle');
  samples.push({ bytes, wasm, interactive });
  await context.close();
}
await browser.close();
const median = (k) => samples.map((s) => s[k]).sort((a, b) => a - b)[Math.floor(samples.length / 2)];
console.log(JSON.stringify({ runs: samples.length, bytes: median('bytes'), wasm: median('wasm'), interactive_ms: median('interactive') }));
