// Browser test: headless Debian Chromium (driven by playwright-core) mounts the built dist/
// modules in Grafana's theme and renders the report panel from a real plugin response (written
// by the Go harness's TestReportFramesForTheBrowser from a scenario in a real Prometheus), then
// the data source editors; then both panels (report and USE matrix) with a 1,000-host fleet's
// response (TestFleetFramesForTheBrowser) in both themes at 320×240, 800×600 and 1600×1000, a
// click in the matrix filtering the report through $instance, and the render time of 1,000
// insights (printed as RENDER). In every report run one flagged insight's card is expanded and
// its sparkline (threshold line, shaded held span) checked, and a flagged insight without a series
// is checked to draw none. Asserts what is on the page; saves the screenshots under
// frontend/test-output/ (<panel>-<theme>-<width>x<height>[-expanded].png, "expanded" when a card
// with its sparkline is open in view). Exits non-zero on any failure.
import { createServer } from 'node:http';
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname, join, normalize, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const repo = resolve(import.meta.dirname, '..', '..');
const out = join(repo, 'frontend', 'test-output');
const framesFile = join(out, 'report-frames.json');
const types = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

for (const [file, test] of [
  [framesFile, 'TestReportFramesForTheBrowser'],
  [join(out, 'fleet-report-frames.json'), 'TestFleetFramesForTheBrowser'],
  [join(out, 'fleet-matrix-frames.json'), 'TestFleetFramesForTheBrowser'],
]) {
  if (!existsSync(file)) {
    console.error(`missing ${file}: run the Go harness first (go test -run ${test} in tests/conformance)`);
    process.exit(1);
  }
}

// Static files from the repository; Grafana's icons from @grafana/ui's package.
const server = createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  const file = path.startsWith('/public/build/img/')
    ? join(
        repo,
        'frontend',
        'node_modules',
        '@grafana',
        'ui',
        'dist',
        'public',
        'img',
        path.slice('/public/build/img/'.length)
      )
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

/** A frame of a plugin response (the Go SDK's JSON) as rows of `{ field: value }`. */
function rowsOf(frames, name) {
  const frame = frames.find((f) => f.schema.name === name);
  if (!frame) {
    return [];
  }
  const fields = frame.schema.fields.map((f) => f.name);
  const length = frame.data.values[0]?.length ?? 0;
  return Array.from({ length }, (_, r) => Object.fromEntries(fields.map((f, k) => [f, frame.data.values[k][r]])));
}

/**
 * The cards of a report response a sparkline check needs, as their aria-labels: the most urgent
 * flagged insight with a series (a diagnosis such as a bottleneck when there is one, as the
 * backend draws those too), and another flagged insight with a series (`other`, with its id),
 * whose rows the check leaves out to get an insight without one.
 */
function sparklineCards(frames) {
  const insights = rowsOf(frames, 'insights').filter((i) => i.issue_type !== 'coverage');
  const drawn = new Set(rowsOf(frames, 'series').map((r) => r.insight_id));
  const withSeries = insights.filter((i) => i.severity !== 'info' && drawn.has(i.id));
  const pick = withSeries.find((i) => i.issue_type === 'bottleneck') ?? withSeries[0];
  const other = withSeries.find((i) => i !== pick);
  const label = (i) => i && `${i.severity}: ${i.title}`;
  return { withSeries: label(pick), position: insights.indexOf(pick), other: label(other), otherId: other?.id };
}

/**
 * The response with the `series` rows of insight `id` left out: that insight then has no series,
 * as an instant check's or another method's finding has none (the scenarios' flagged findings
 * all have one).
 */
function withoutSeriesOf(frames, id) {
  return frames.map((f) => {
    if (f.schema.name !== 'series') {
      return f;
    }
    const ids = f.data.values[f.schema.fields.findIndex((x) => x.name === 'insight_id')];
    const keep = ids.map((v) => v !== id);
    return { ...f, data: { ...f.data, values: f.data.values.map((column) => column.filter((_, r) => keep[r])) } };
  });
}

/** Open a card (a click on its header when closed). */
async function expand(card) {
  const closed = card.getByRole('button', { expanded: false });
  if ((await closed.count()) > 0) {
    await closed.first().click();
  }
}

/** Scroll the panel (and the page) so the card's header, held span and sparkline are in view. */
async function reveal(card) {
  await card.evaluate((el) => el.scrollIntoView({ block: 'start' }));
}

/** What the sparkline of a card has: the svg, its threshold lines, its held span's width. */
async function sparklineOf(card) {
  return card.locator('svg[data-testid="gregg-sparkline"]').evaluateAll((svgs) =>
    svgs.map((svg) => ({
      line: svg.querySelectorAll('path[data-testid="gregg-sparkline-line"]').length,
      thresholds: svg.querySelectorAll('line[data-testid^="gregg-sparkline-"]').length,
      held: Number(svg.querySelector('rect[data-testid="gregg-sparkline-held"]')?.getAttribute('width') ?? 0),
      label: svg.getAttribute('aria-label'),
    }))
  );
}

/**
 * Check the sparkline of the card labelled `withSeries` (left open and in view for the
 * screenshot), and, when `without` is given, that its card, open, draws none.
 */
async function checkSparklines(page, what, { withSeries, without }) {
  check(withSeries !== undefined, `${what}: the response has a flagged insight with a series`);
  if (withSeries === undefined) {
    return;
  }
  const card = page.locator(`[data-testid="gregg-card"][aria-label="${withSeries}"]`).first();
  await expand(card);
  const drawn = await sparklineOf(card);
  check(
    drawn.length === 1 && drawn[0].line === 1 && drawn[0].thresholds >= 1 && drawn[0].held > 0,
    `${what}: "${withSeries}" draws a sparkline with a threshold line and a shaded held span (${JSON.stringify(drawn)})`
  );
  if (without !== undefined) {
    const other = page.locator(`[data-testid="gregg-card"][aria-label="${without}"]`).first();
    await expand(other);
    const body = await other.innerText();
    const none = await sparklineOf(other);
    check(
      body.includes('Observation') && none.length === 0,
      `${what}: "${without}", open, has no series and draws no sparkline (${none.length})`
    );
  }
  await reveal(card);
}

const frames = JSON.parse(await readFile(framesFile, 'utf8'));
const insightRows = rowsOf(frames, 'insights');
const titles = insightRows.map((i) => i.title);
const critical = insightRows.filter((i) => i.severity === 'critical').length;
const reportCards = sparklineCards(frames);
const partialFrames = 'report-frames-partial-series.json';
await writeFile(join(out, partialFrames), JSON.stringify(withoutSeriesOf(frames, reportCards.otherId)));
const fleetCards = sparklineCards(JSON.parse(await readFile(join(out, 'fleet-report-frames.json'), 'utf8')));

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
    check(text.includes(`Critical ${critical}`), `${theme}: summary shows ${critical} critical`);
    const bar = await page.locator('[data-testid="gregg-summary"] [role="img"]').getAttribute('aria-label');
    check(bar?.includes(`${critical} critical`), `${theme}: the severity bar says so to screen readers (${bar})`);
    for (const t of titles) {
      check(text.includes(t), `${theme}: card "${t}"`);
    }
    check(text.includes('Investigation steps'), `${theme}: steps shown`);
    // The CPU bottleneck's drill-down and catalog steps both run `mpstat -P ALL 1`: shown once.
    const mpstat = await page.locator('[data-testid="gregg-card"] code', { hasText: /^mpstat -P ALL 1$/ }).count();
    check(mpstat === 1, `${theme}: mpstat -P ALL 1 listed once (${mpstat})`);
    check(!/\bn\/a\b/.test(text), `${theme}: no empty (n/a) evidence rows`);
    const copy = await page.getByRole('button', { name: 'Copy command' }).count();
    check(copy > 0, `${theme}: commands are copyable (${copy})`);
    const links = page.locator('a[href^="/explore?schemaVersion=1&panes="]');
    check((await links.count()) > 0, `${theme}: related metrics link to Explore (${await links.count()})`);
    // Over the panel's range (the harness gives Grafana's default, now-6h to now), not a fixed hour.
    const href = await links.first().getAttribute('href');
    const panes = JSON.parse(new URL(href, base).searchParams.get('panes'));
    const range = Object.values(panes)[0]?.range;
    check(
      range?.from === 'now-6h' && range?.to === 'now',
      `${theme}: Explore opens on the panel's time range (${JSON.stringify(range)})`
    );
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    check(background !== '', `${theme}: themed page (${background})`);
    check(errors.length === 0, `${theme}: no page errors ${errors.join('; ')}`);
    await page.screenshot({ path: join(out, `report-${theme}.png`), fullPage: true });
    console.log(`     screenshot ${join(out, `report-${theme}.png`)}`);
    await checkSparklines(page, theme, { withSeries: reportCards.withSeries });
    const expandedFile = join(out, `report-${theme}-1100x1400-expanded.png`);
    await page.screenshot({ path: expandedFile });
    console.log(`     screenshot ${expandedFile}`);
    // The same response without one insight's series rows: its card, open, draws no sparkline.
    check(reportCards.other !== undefined, `${theme}: the response has a second flagged insight with a series`);
    await page.goto(
      `${base}/frontend/harness/index.html?view=panel&theme=${theme}&frames=/frontend/test-output/${partialFrames}`
    );
    await page.waitForFunction(() => window.harness.ready || window.harness.error, null, { timeout: 30000 });
    await checkSparklines(page, `${theme} (${reportCards.other} without its series)`, {
      withSeries: reportCards.withSeries,
      without: reportCards.other,
    });
    // A small panel stays usable: the same content, scrollable.
    await page.goto(`${base}/frontend/harness/index.html?view=panel&theme=${theme}&width=320&height=240`);
    await page.waitForFunction(() => window.harness.ready || window.harness.error, null, { timeout: 30000 });
    const small = await page
      .locator('[data-testid="gregg-report"]')
      .evaluate((el) => ({ w: el.clientWidth, scroll: el.scrollHeight > el.clientHeight }));
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
    check(
      requests[0]?.url === '/api/ds/query' && query?.queryType === 'report',
      `app page queries a report (${JSON.stringify(query)})`
    );
    const text = await page.locator('[data-testid="gregg-insights-app"]').innerText();
    check(text.includes(`Critical ${critical}`), `app page: summary shows ${critical} critical`);
    check(
      titles.every((t) => text.includes(t)),
      'app page: the same cards as the panel'
    );
    await page.screenshot({ path: join(out, 'app-dark.png'), fullPage: true });
    console.log(`     screenshot ${join(out, 'app-dark.png')}`);
    await page.close();
  }
  // A 1,000-host fleet (written by the Go harness's TestFleetFramesForTheBrowser from
  // `gregg-testenv fleet 1000`): both panels, both themes, three sizes.
  const fleetReport = '/frontend/test-output/fleet-report-frames.json';
  const fleetMatrix = '/frontend/test-output/fleet-matrix-frames.json';
  const open = async (page, query) => {
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${base}/frontend/harness/index.html?${query}`);
    await page.waitForFunction(() => window.harness.ready || window.harness.error, null, { timeout: 60000 });
    const error = await page.evaluate(() => window.harness.error);
    check(!error, `${query}: mounts${error ? `: ${error}` : ''}`);
    return errors;
  };
  for (const theme of ['dark', 'light']) {
    for (const [width, height] of [
      [320, 240],
      [800, 600],
      [1600, 1000],
    ]) {
      for (const [panel, frames, testid] of [
        ['report', fleetReport, 'gregg-report'],
        ['matrix', fleetMatrix, 'gregg-matrix'],
      ]) {
        const page = await browser.newPage({ viewport: { width: width + 32, height: height + 32 } });
        const errors = await open(
          page,
          `view=panel&panel=${panel}&frames=${frames}&theme=${theme}&width=${width}&height=${height}`
        );
        const box = await page.locator(`[data-testid="${testid}"]`).boundingBox();
        check(
          box && box.width <= width + 1 && box.height <= height + 1,
          `${panel} ${theme} ${width}x${height}: fits (${JSON.stringify(box)})`
        );
        check(errors.length === 0, `${panel} ${theme} ${width}x${height}: no page errors ${errors.join('; ')}`);
        // A report shows an open card with its sparkline; the matrix has no cards.
        const expanded = panel === 'report';
        if (expanded) {
          check(
            fleetCards.position >= 0 && fleetCards.position < 50,
            `${panel} ${theme} ${width}x${height}: the card with a series is on the first page (${fleetCards.position})`
          );
          await checkSparklines(page, `${panel} ${theme} ${width}x${height}`, { withSeries: fleetCards.withSeries });
        }
        const file = join(out, `${panel}-${theme}-${width}x${height}${expanded ? '-expanded' : ''}.png`);
        await page.screenshot({ path: file });
        console.log(`     screenshot ${file}`);
        await page.close();
      }
    }
  }
  {
    // The matrix of 1,000 instances: windowed, worst first, keyboard and hover.
    const page = await browser.newPage({ viewport: { width: 1232, height: 932 } });
    await open(page, `view=panel&panel=matrix&frames=${fleetMatrix}&theme=dark&width=1200&height=900`);
    const count = await page.locator('[data-testid="gregg-matrix-count"]').innerText();
    check(count.startsWith('1,000 instances'), `matrix: ${count}`);
    const rows = await page.locator('[data-testid="gregg-matrix-row"]').count();
    check(rows > 10 && rows < 100, `matrix: only a window of rows in the DOM (${rows} of 1,000)`);
    const firstTone = await page
      .locator('[data-testid="gregg-matrix-row"]')
      .first()
      .locator('[data-tone]')
      .evaluateAll((els) => els.map((e) => e.dataset.tone));
    check(
      firstTone.some((t) => t === 'critical'),
      `matrix: the first row is a critical one (${firstTone.join(',')})`
    );
    const t0 = Date.now();
    await page.locator('[role="grid"]').evaluate((el) => (el.scrollTop = el.scrollHeight));
    await page.waitForTimeout(100);
    const lastRow = await page.locator('[data-testid="gregg-matrix-row"]').last().getAttribute('aria-rowindex');
    console.log(`     matrix: scrolled to the end in ${Date.now() - t0} ms (last row ${lastRow})`);
    check(lastRow === '1000', `matrix: scrolling reaches instance 1,000 (${lastRow})`);
    await page.locator('[role="grid"]').evaluate((el) => (el.scrollTop = 0));
    await page.waitForTimeout(100);
    const cell = page.locator('[role="gridcell"][tabindex="0"]');
    await cell.hover();
    const tip = await page.locator('[role="tooltip"]').innerText();
    check(
      /: \S+ \((ok|warning|critical)\); thresholds: warning \S+, critical \S+; check \S+/.test(tip),
      `matrix: hover shows value, level, thresholds and check (${tip})`
    );
    await cell.focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowRight');
    const focused = await page.evaluate(() => document.activeElement?.getAttribute('aria-label'));
    check(/ cpu saturation: /.test(focused ?? ''), `matrix: arrow keys move the focus (${focused})`);
    await page.close();
  }
  {
    // Clicking a matrix cell sets $instance, and the report panel shows that instance only. The
    // matrix panel gets the report frames too, as with a second (report) query for its drill-down.
    const page = await browser.newPage({ viewport: { width: 1232, height: 1432 } });
    await open(
      page,
      `view=dashboard&frames=${fleetReport}&matrixFrames=${fleetMatrix}&theme=dark&width=1200&height=1400`
    );
    const before = await page.locator('[data-testid="gregg-report"] [data-testid="gregg-shown"]').innerText();
    const first = page.locator('[data-testid="gregg-matrix-row"]').first();
    const instance = await first.locator('[role="rowheader"]').innerText();
    await first.locator('[data-tone="critical"]').first().click();
    await page
      .waitForFunction((i) => new URLSearchParams(location.search).get('var-instance') === i, instance, {
        timeout: 5000,
      })
      .catch(() => {});
    const url = await page.evaluate(() => new URLSearchParams(location.search).get('var-instance'));
    check(url === instance, `dashboard: clicking a cell of ${instance} sets var-instance (${url})`);
    const after = await page.locator('[data-testid="gregg-report"] [data-testid="gregg-shown"]').innerText();
    const cards = await page
      .locator('[data-testid="gregg-report"] [data-testid="gregg-card"]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') + ' ' + e.innerText));
    check(
      cards.length > 0 && cards.every((c) => c.includes(instance)),
      `dashboard: the report shows only ${instance} (${before} → ${after})`
    );
    check(
      (await page.locator('[data-testid="gregg-variable-filter"]').innerText()).includes(instance),
      'dashboard: the report says it is filtered by $instance'
    );
    check(
      (await page.locator('[data-testid="gregg-matrix-details"]').innerText()).includes(instance),
      'dashboard: the matrix shows the cell details'
    );
    const exploreLinks = page.locator('[data-testid="gregg-matrix-details"] a[href^="/explore"]');
    const explore = await exploreLinks.count();
    check(explore === 1, `dashboard: the details link the insight's PromQL to Explore (${explore})`);
    const matrixHref = explore === 1 ? await exploreLinks.getAttribute('href') : null;
    const matrixPanes = matrixHref ? JSON.parse(new URL(matrixHref, base).searchParams.get('panes') ?? '{}') : {};
    const matrixRange = Object.values(matrixPanes)[0]?.range;
    check(
      matrixRange?.from === 'now-6h' && matrixRange?.to === 'now',
      `dashboard: the matrix's Explore link opens on the panel's time range (${JSON.stringify(matrixRange)})`
    );
    await page.screenshot({ path: join(out, 'dashboard-dark-filtered.png') });
    console.log(`     screenshot ${join(out, 'dashboard-dark-filtered.png')}`);
    await page.close();
  }
  {
    // Render time of a report of 1,000 insights (the fleet report's insights repeated to 1,000
    // rows), first paint and "Show all".
    const page = await browser.newPage({ viewport: { width: 1232, height: 1032 } });
    await open(page, `view=panel&panel=report&frames=${fleetReport}&replicate=1000&theme=dark&width=1200&height=1000`);
    const first = await page.evaluate(() => window.harness.committedAt - window.harness.renderStart);
    const shown = await page.locator('[data-testid="gregg-shown"]').innerText();
    check(shown.endsWith('of 1000 shown'), `report: 1,000 insights (${shown})`);
    const all = await page.evaluate(async () => {
      const button = [...document.querySelectorAll('button')].find((b) => b.textContent === 'Show all');
      const t = performance.now();
      button.click();
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      return { ms: performance.now() - t, cards: document.querySelectorAll('[data-testid="gregg-card"]').length };
    });
    check(all.cards === 1000, `report: Show all renders 1,000 cards (${all.cards})`);
    const scroll = await page.evaluate(async () => {
      const el = document.querySelector('[data-testid="gregg-report"]');
      const t = performance.now();
      let frames = 0;
      let worst = 0;
      let last = t;
      while (el.scrollTop + el.clientHeight < el.scrollHeight && frames < 300) {
        el.scrollTop += 400;
        await new Promise((r) => requestAnimationFrame(r));
        const now = performance.now();
        worst = Math.max(worst, now - last);
        last = now;
        frames++;
      }
      return { ms: performance.now() - t, frames, worst };
    });
    console.log(
      `RENDER 1,000 insights: first render ${first.toFixed(0)} ms (50 cards), Show all ${all.ms.toFixed(0)} ms (1,000 cards), scroll through ${scroll.frames} frames in ${scroll.ms.toFixed(0)} ms, longest frame ${scroll.worst.toFixed(0)} ms`
    );
    check(all.ms < 5000, `report: Show all of 1,000 insights under 5 s (${all.ms.toFixed(0)} ms)`);
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
  for (const label of [
    'Prometheus server URL',
    'Authentication',
    'TLS settings',
    'Target selector',
    'Grafana dashboards',
  ]) {
    check(text.includes(label), `config editor shows "${label}"`);
  }
  const thresholds = await page.locator('[data-testid="threshold-overrides"]').innerText();
  check(
    /cpu: \d+ checks/.test(thresholds) && /memory: \d+ checks/.test(thresholds),
    `threshold overrides list the checks by component (${thresholds.slice(0, 80)})`
  );
  check(
    (await page.locator('input[aria-label="cpu.utilization warning"][placeholder="80"]').count()) === 1,
    'cpu.utilization shows its default warning 80'
  );
  // A configured secret is never shown, only reported as configured.
  check(
    text.includes('Bearer token') && (await page.locator('input[value="configured"]').count()) > 0,
    'bearer token shown as configured'
  );
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
