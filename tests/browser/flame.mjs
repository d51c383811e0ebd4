// flame.mjs — the interactive flame graph (brunt's SVG writer, src/analysis/flame.c) in
// headless Chromium (Debian's /usr/bin/chromium through playwright-core):
//   - it loads with no console or page error;
//   - hovering a frame of FUNCTION shows its title (name, module, weight, share) below;
//   - clicking it zooms: the frame then spans the whole width, and its parent is drawn
//     faded; Escape (and "Reset zoom") give the first view back;
//   - searching FUNCTION ("Search" prompts for a regular expression) colours its frames
//     and reports "Matched: X%", which must be FUNCTION's total share in the result
//     (RESULT.json's probes.profile|pprof.top, or a `brunt profile --export` document)
//     within one point (frames narrower than 0.1 px are not drawn).
//
//   node flame.mjs GRAPH.svg RESULT.json FUNCTION
import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const [svgPath, resultPath, fn] = process.argv.slice(2);
if (!fn) {
  console.error('usage: node flame.mjs GRAPH.svg RESULT.json FUNCTION');
  process.exit(2);
}
const res = JSON.parse(readFileSync(resultPath, 'utf8'));
const prof = res.probes ? res.probes.profile || res.probes.pprof : res;
const row = (prof.top || []).find((t) => t.function === fn);
const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); };
check(row !== undefined, `${fn} is not in the result's top`);

const profile = mkdtempSync(join(tmpdir(), 'brunt-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1300, height: 900 },
});
try {
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto('file://' + resolve(svgPath), { waitUntil: 'load' });
  check(errors.length === 0, 'console errors: ' + errors.join(' | '));

  const W = await page.evaluate(() => +document.documentElement.getAttribute('width'));
  const P = await page.evaluate(() => +document.documentElement.getAttribute('data-pad'));
  // The widest frame of fn (its title is "NAME (MODULE, ...)" or "NAME: ...").
  const pick = () => page.evaluate((name) => {
    let best = null;
    for (const g of document.querySelectorAll('g.f')) {
      const t = g.querySelector('title').textContent;
      if (t === name || t.startsWith(name + ' (') || t.startsWith(name + ': ')) {
        if (!best || +g.getAttribute('data-w') > +best.getAttribute('data-w')) best = g;
      }
    }
    if (!best) return null;
    best.setAttribute('data-probe', '1');
    return { w: +best.getAttribute('data-w'), title: best.querySelector('title').textContent };
  }, fn);
  const frame = await pick();
  check(frame !== null, `no frame of ${fn} in the SVG`);
  if (frame) {
    const g = page.locator('g.f[data-probe="1"]');
    const width = () => g.locator('rect').evaluate((r) => +r.getAttribute('width'));
    const before = await width();
    await g.hover();
    const details = await page.textContent('#details');
    check(details === frame.title, `hover shows '${details}', expected '${frame.title}'`);
    await g.click();
    const zoomed = await width();
    check(Math.abs(zoomed - (W - 2 * P)) < 1,
          `after a click ${fn} is ${zoomed} px wide, expected the whole ${W - 2 * P} px`);
    const faded = await page.evaluate(() =>
      [...document.querySelectorAll('g.f')].some((e) => e.style.opacity === '0.6'));
    check(faded, 'no faded parent frame after the zoom');
    await page.keyboard.press('Escape');
    const reset = await width();
    check(Math.abs(reset - before) < 0.5, `after Escape ${fn} is ${reset} px wide, was ${before}`);
    // Search: the prompt is answered with the function's name, as a regular expression.
    const esc = fn.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    page.once('dialog', (d) => d.accept('^' + esc + '$'));
    await page.click('#search');
    await page.waitForFunction(() => document.getElementById('matched').textContent.startsWith('Matched'));
    const matched = await page.textContent('#matched');
    const pct = parseFloat(matched.replace(/^Matched: /, ''));
    const want = row ? row.total_share * 100 : NaN;
    check(Math.abs(pct - want) <= 1, `search '${fn}': ${matched}, the result's total share ${want.toFixed(2)}%`);
    const coloured = await page.evaluate(() =>
      [...document.querySelectorAll('g.f rect')].filter((r) => r.getAttribute('fill') === 'rgb(230,0,230)').length);
    check(coloured >= 1, 'the search coloured no frame');
    console.log(`flame: ${fn} zoomed to ${zoomed.toFixed(0)} px and back to ${reset.toFixed(1)}, ` +
                `${matched} (result ${want.toFixed(2)}%), ${coloured} frames coloured`);
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
if (failures.length) {
  for (const f of failures) console.error('flame: ' + f);
  process.exit(1);
}
