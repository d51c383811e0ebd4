// report.mjs — opens brunt's HTML report in headless Chromium (Debian's /usr/bin/chromium)
// through playwright-core and checks it as a reader would see it:
//   - no console error and no page error while it loads;
//   - every chart drew: with scripts on, each line chart is uPlot's canvas (the
//     interactive layer) and the per-request chart SVG; then again with JavaScript
//     disabled, where every chart is its static inline SVG.  Each is screenshotted and
//     must hold coloured (non-grey, non-background) pixels: its plotted lines or bars;
//   - the figures on the page equal the result file's (read here with JSON.parse);
//   - a full-page screenshot is saved as OUTDIR/report.png.
// usage: node report.mjs REPORT.html RESULT.json OUTDIR
// Exits 0 when every check passed, 1 with one line per failed check otherwise.
import { chromium } from 'playwright-core';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inflateSync } from 'node:zlib';

const [html, resultPath, outDir] = process.argv.slice(2);
if (!html || !resultPath || !outDir) {
  console.error('usage: node report.mjs REPORT.html RESULT.json OUTDIR');
  process.exit(2);
}
const result = JSON.parse(readFileSync(resultPath, 'utf8'));
const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
};

// Decodes an 8-bit RGB/RGBA PNG (what Chromium's screenshots are) into pixels.
function decodePng(buf) {
  let off = 8, width = 0, height = 0, colorType = 0;
  const idat = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('ascii', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8) throw new Error('PNG bit depth ' + data[8]);
      colorType = data[9];
    } else if (type === 'IDAT') {
      idat.push(data);
    }
    off += 12 + len;
  }
  const bpp = colorType === 6 ? 4 : colorType === 2 ? 3 : 0;
  if (!bpp) throw new Error('PNG colour type ' + colorType);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const px = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? px[y * stride + x - bpp] : 0;
      const b = y > 0 ? px[(y - 1) * stride + x] : 0;
      const c = x >= bpp && y > 0 ? px[(y - 1) * stride + x - bpp] : 0;
      let v = src[x];
      if (f === 1) v += a;
      else if (f === 2) v += b;
      else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      px[y * stride + x] = v & 255;
    }
  }
  return { width, height, bpp, px };
}

// Pixels that are clearly coloured: plotted lines and bars (grid, axes and text are grey),
// below the legend (the top 24 rows of each chart, whose swatches are coloured too).
function colouredPixels(png, skipRows) {
  let n = 0;
  for (let i = skipRows * png.width * png.bpp; i < png.px.length; i += png.bpp) {
    const r = png.px[i], g = png.px[i + 1], b = png.px[i + 2];
    if (Math.max(r, g, b) - Math.min(r, g, b) > 60) n++;
  }
  return n;
}

// Each context gets a fresh profile directory (--user-data-dir), removed afterwards.
const launchOptions = {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1100, height: 900 },
};
const profile = mkdtempSync(join(tmpdir(), 'brunt-chromium-'));
const context = await chromium.launchPersistentContext(profile, launchOptions);
try {
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  // Any request beyond the file itself would be the network: the report must need none.
  const requests = [];
  page.on('request', (r) => { if (!r.url().startsWith('file://')) requests.push(r.url()); });
  await page.goto('file://' + resolve(html), { waitUntil: 'load' });

  check(errors.length === 0, 'console errors: ' + errors.join(' | '));
  check(requests.length === 0, 'network requests: ' + requests.join(' '));

  const expectCharts = ['chart-latency', 'chart-throughput', 'chart-vus', 'chart-spectrum',
                        'chart-requests'];
  // checkCharts(page, interactive): every figure drew, as canvas or as SVG.
  async function checkCharts(pg, interactive) {
    const charts = await pg.$$('figure.chart');
    const ids = await Promise.all(charts.map((c) => c.getAttribute('id')));
    for (const id of expectCharts) check(ids.includes(id), 'chart missing: ' + id);
    let canvases = 0;
    for (let i = 0; i < charts.length; i++) {
      const canvas = await charts[i].$('.uplot-host canvas');
      const svg = await charts[i].$('svg');
      const el = canvas || svg;
      const visible = el && (await el.isVisible());
      check(visible, `chart ${ids[i]}: nothing visible`);
      if (!visible) continue;
      canvases += canvas ? 1 : 0;
      const png = decodePng(await el.screenshot());
      const n = colouredPixels(png, canvas ? 0 : 24);
      check(n > 150, `chart ${ids[i]} (${canvas ? 'canvas' : 'svg'}, scripts ${interactive ? 'on' : 'off'}) ` +
                     `drew ${n} coloured pixels (expected > 150)`);
    }
    if (interactive) {
      // The charts whose data the page carries (brunt-data) become uPlot; the bar charts
      // (per request, a profile's hottest functions) stay SVG.
      const dataIds = await pg.$eval('#brunt-data', (e) => JSON.parse(e.textContent).charts.map((c) => c.id));
      const want = ids.filter((id) => dataIds.includes(id)).length;
      check(want >= charts.length - 2, `${want} charts with data of ${charts.length}`);
      check(canvases === want, `${canvases} interactive charts, ${want} with data`);
    } else {
      check(canvases === 0, `${canvases} canvases with JavaScript disabled`);
    }
    // A profile's flame graph: an <img> of a data: URL (the page's policy allows those
    // and nothing else), decoded and drawn.
    const flames = await pg.$$('figure.flame img');
    for (let i = 0; i < flames.length; i++) {
      const w = await flames[i].evaluate((e) => (e.complete ? e.naturalWidth : 0));
      check(w > 0, `flame graph ${i} (scripts ${interactive ? 'on' : 'off'}) did not load`);
      if (w > 0) {
        await flames[i].scrollIntoViewIfNeeded();
        const n = colouredPixels(decodePng(await flames[i].screenshot()), 24);
        check(n > 1000, `flame graph ${i} drew ${n} coloured pixels (expected > 1000)`);
      }
    }
    flameCount = flames.length;
    return charts.length;
  }
  let flameCount = 0;
  const nCharts = await checkCharts(page, true);
  // EXPECT_FLAMES=N: the caller knows the report holds N flame graphs.
  if (process.env.EXPECT_FLAMES !== undefined) {
    check(flameCount === Number(process.env.EXPECT_FLAMES),
          `${flameCount} flame graphs on the page, expected ${process.env.EXPECT_FLAMES}`);
  }

  // Figures: data-value attributes against the result file.
  const fig = async (name) => {
    const el = await page.$(`[data-fig="${name}"]`);
    if (!el) { failures.push('figure missing: ' + name); return NaN; }
    return Number(await el.getAttribute('data-value'));
  };
  const near = (a, b) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
  const m = result.metrics;
  const reqs = await fig('total_requests');
  check(reqs === m.http_reqs.values.count, `total_requests ${reqs} != ${m.http_reqs.values.count}`);
  const text = (await page.textContent('[data-fig="total_requests"]')).replace(/,/g, '');
  check(text === String(m.http_reqs.values.count), `total_requests text '${text}'`);
  const p95 = await fig('http_req_duration.p95');
  check(near(p95, m.http_req_duration.values['p(95)']), `p95 ${p95} != ${m.http_req_duration.values['p(95)']}`);
  const p99 = await fig('http_req_duration.p99');
  check(near(p99, m.http_req_duration.values['p(99)']), `p99 ${p99}`);
  const fr = await fig('failed_rate');
  check(near(fr, m.http_req_failed.values.rate), `failed_rate ${fr}`);
  const rows = await page.$$eval('tr[data-request]', (trs) =>
    trs.map((t) => ({ name: t.dataset.request, count: Number(t.dataset.count) })));
  const sum = rows.reduce((a, r) => a + r.count, 0);
  check(sum === m.http_reqs.values.count,
        `per-request counts sum to ${sum}, http_reqs count is ${m.http_reqs.values.count}`);
  for (const r of rows) {
    const want = m.http_reqs.series
      .filter((s) => (s.tags.name || s.tags.url) === r.name)
      .reduce((a, s) => a + s.values.count, 0);
    check(r.count === want, `request ${r.name}: page ${r.count}, result ${want}`);
  }
  const obs = await page.$$eval('[data-check]', (els) => els.map((e) => Number(e.dataset.value)));
  result.thresholds.forEach((t, i) => {
    check(i < obs.length && near(obs[i], t.observed ?? 0), `threshold ${i} observed ${obs[i]} != ${t.observed}`);
  });
  await page.screenshot({ path: join(outDir, 'report.png'), fullPage: true });

  // Scripts blocked (as a CI server's content policy does): the static charts remain.
  const profile2 = mkdtempSync(join(tmpdir(), 'brunt-chromium-'));
  const context2 = await chromium.launchPersistentContext(profile2, { ...launchOptions, javaScriptEnabled: false });
  try {
    const staticPage = await context2.newPage();
    await staticPage.goto('file://' + resolve(html), { waitUntil: 'load' });
    await checkCharts(staticPage, false);
    await staticPage.screenshot({ path: join(outDir, 'report-noscript.png'), fullPage: true });
  } finally {
    await context2.close();
    rmSync(profile2, { recursive: true, force: true });
  }
  console.log(`browser: ${nCharts} charts and ${flameCount} flame graphs drawn with and without scripts, ${rows.length} requests, ` +
              `${obs.length} checks; screenshots ${join(outDir, 'report.png')}, report-noscript.png`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
if (failures.length) {
  for (const f of failures) console.error('browser: ' + f);
  process.exit(1);
}
