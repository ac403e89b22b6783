// Browser test: headless Debian Chromium (driven by playwright-core) mounts the built dist/
// modules in Grafana's theme and renders the report panel from a real plugin response (written
// by the Go harness's TestReportFramesForTheBrowser from a scenario in a real Prometheus), then
// the data source editors. Asserts what is on the page; saves light and dark screenshots under
// frontend/test-output/. Exits non-zero on any failure.
import { createServer } from 'node:http';
import { readFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname, join, normalize, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const repo = resolve(import.meta.dirname, '..', '..');
const out = join(repo, 'frontend', 'test-output');
const framesFile = join(out, 'report-frames.json');
const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.svg': 'image/svg+xml', '.map': 'application/json' };

if (!existsSync(framesFile)) {
  console.error(`missing ${framesFile}: run the Go harness first (go test -run TestReportFramesForTheBrowser)`);
  process.exit(1);
}

// Static files from the repository; Grafana's icons from @grafana/ui's package.
const server = createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  const file = path.startsWith('/public/build/img/')
    ? join(repo, 'frontend', 'node_modules', '@grafana', 'ui', 'dist', 'public', 'img', path.slice('/public/build/img/'.length))
    : join(repo, normalize(path));
  if (!file.startsWith(repo)) {
    res.writeHead(403).end();
    return;
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

const failures = [];
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) {
    failures.push(what);
  }
};

const frames = JSON.parse(await readFile(framesFile, 'utf8'));
const insightsFrame = frames.find((f) => f.schema.name === 'insights');
const titleIndex = insightsFrame.schema.fields.findIndex((f) => f.name === 'title');
const sevIndex = insightsFrame.schema.fields.findIndex((f) => f.name === 'severity');
const titles = insightsFrame.data.values[titleIndex];
const critical = insightsFrame.data.values[sevIndex].filter((s) => s === 'critical').length;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  await mkdir(out, { recursive: true });
  for (const theme of ['dark', 'light']) {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1500 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${base}/frontend/harness/index.html?view=panel&theme=${theme}`);
    await page.waitForFunction(() => window.harness.ready || window.harness.error, null, { timeout: 30000 });
    const error = await page.evaluate(() => window.harness.error);
    check(!error, `${theme}: the built panel module mounts${error ? `: ${error}` : ''}`);
    const text = await page.locator('[data-testid="gregg-report"]').innerText();
    check(text.includes(`Critical Issues\n${critical}`), `${theme}: summary shows ${critical} critical`);
    for (const t of titles) {
      check(text.includes(t), `${theme}: card "${t}"`);
    }
    check(text.includes('INVESTIGATION STEPS') || text.includes('Investigation steps'), `${theme}: steps shown`);
    const links = await page.locator('a[href^="/explore?left="]').count();
    check(links > 0, `${theme}: related metrics link to Explore (${links})`);
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    check(background !== '', `${theme}: themed page (${background})`);
    check(errors.length === 0, `${theme}: no page errors ${errors.join('; ')}`);
    await page.screenshot({ path: join(out, `report-${theme}.png`), fullPage: true });
    console.log(`     screenshot ${join(out, `report-${theme}.png`)}`);
    // A small panel stays usable: the same content, scrollable.
    await page.goto(`${base}/frontend/harness/index.html?view=panel&theme=${theme}&width=320&height=240`);
    await page.waitForFunction(() => window.harness.ready || window.harness.error, null, { timeout: 30000 });
    const small = await page.locator('[data-testid="gregg-report"]').evaluate((el) => ({ w: el.clientWidth, scroll: el.scrollHeight > el.clientHeight }));
    check(small.w <= 320 && small.scroll, `${theme}: small panel scrolls (${JSON.stringify(small)})`);
    await page.close();
  }
  {
    // The app's Insights page: the built app module asks /api/ds/query for a report and shows it.
    const page = await browser.newPage({ viewport: { width: 1200, height: 1400 } });
    await page.goto(`${base}/frontend/harness/index.html?view=app&theme=dark`);
    await page.waitForFunction(() => window.harness.ready || window.harness.error, null, { timeout: 30000 });
    const error = await page.evaluate(() => window.harness.error);
    check(!error, `app page mounts${error ? `: ${error}` : ''}`);
    const requests = await page.evaluate(() => window.harness.requests ?? []);
    const query = requests[0]?.data?.queries?.[0];
    check(requests[0]?.url === '/api/ds/query' && query?.queryType === 'report', `app page queries a report (${JSON.stringify(query)})`);
    const text = await page.locator('[data-testid="gregg-insights-app"]').innerText();
    check(text.includes(`Critical Issues\n${critical}`), `app page: summary shows ${critical} critical`);
    check(titles.every((t) => text.includes(t)), 'app page: the same cards as the panel');
    await page.screenshot({ path: join(out, 'app-dark.png'), fullPage: true });
    console.log(`     screenshot ${join(out, 'app-dark.png')}`);
    await page.close();
  }
  const page = await browser.newPage({ viewport: { width: 1200, height: 1100 } });
  await page.goto(`${base}/frontend/harness/index.html?view=editors&theme=dark`);
  await page.waitForFunction(() => window.harness.ready || window.harness.error, null, { timeout: 30000 });
  const error = await page.evaluate(() => window.harness.error);
  check(!error, `editors mount${error ? `: ${error}` : ''}`);
  const text = await page.locator('#root').innerText();
  for (const label of ['Query type', 'Instances', 'Components', 'Min severity', 'Histogram', 'PromQL']) {
    check(text.includes(label), `query editor shows "${label}"`);
  }
  for (const label of ['Prometheus server URL', 'Authentication', 'TLS settings', 'Target selector', 'Grafana dashboards']) {
    check(text.includes(label), `config editor shows "${label}"`);
  }
  const thresholds = await page.locator('[data-testid="threshold-overrides"]').innerText();
  check(/cpu: \d+ checks/.test(thresholds) && /memory: \d+ checks/.test(thresholds), `threshold overrides list the checks by component (${thresholds.slice(0, 80)})`);
  check((await page.locator('input[aria-label="cpu.utilization warning"][placeholder="80"]').count()) === 1, 'cpu.utilization shows its default warning 80');
  // A configured secret is never shown, only reported as configured.
  check(text.includes('Bearer token') && (await page.locator('input[value="configured"]').count()) > 0, 'bearer token shown as configured');
  await page.screenshot({ path: join(out, 'editors-dark.png'), fullPage: true });
  console.log(`     screenshot ${join(out, 'editors-dark.png')}`);
} finally {
  await browser.close();
  server.close();
}
if (failures.length > 0) {
  console.error(`\n${failures.length} browser check(s) failed`);
  process.exit(1);
}
console.log('\nbrowser test passed');
