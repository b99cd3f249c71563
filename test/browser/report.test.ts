/**
 * The report of the sample run in a real browser (Debian's chromium driven by playwright-core): it loads
 * offline with no console errors or warnings and no network request, every plot has rendered marks, and a
 * screenshot is saved under test-artifacts/.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { CLI, TempDir } from '../helpers/fixtures.js';
import { REPO_ROOT, requireTool } from '../helpers/tools.js';

const CHROMIUM = process.env.METAVEC_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
const tmp = new TempDir('metavec-browser-');
after(() => tmp.remove());
const runDir = tmp.join('run');
let runStatus = { status: -1, stderr: '' };

before(() => {
  const sample = join(REPO_ROOT, 'examples/sample');
  const r = spawnSync(
    process.execPath,
    [CLI, 'run', '--input', join(sample, 'R1.fastq.gz'), '--input2', join(sample, 'R2.fastq.gz'), '--truth', join(sample, 'truth.tsv.gz'), '--output', runDir, '--k', '7', '--quiet'],
    { encoding: 'utf8', timeout: 300_000, env: { ...process.env, METAVEC_CATALOG: tmp.join('catalog.duckdb') } },
  );
  runStatus = { status: r.status ?? -1, stderr: r.stderr };
});

interface ReportState {
  done: boolean;
  errors: string[];
  charts: Record<string, { marks: number; renderer?: string; error?: string }>;
}

test('report.html of the sample run renders every plot in chromium, offline, without console errors', async (t) => {
  assert.equal(runStatus.status, 0, runStatus.stderr);
  const report = join(runDir, 'report.html');
  assert.ok(existsSync(report), 'metavec run wrote report.html');
  if (!requireTool(t, existsSync(CHROMIUM), `chromium at ${CHROMIUM} (apt-get install chromium)`)) return;

  const html = readFileSync(report, 'utf8');
  assert.doesNotMatch(html, /<script[^>]*\ssrc=|<link[^>]*\shref=/i, 'no external scripts or stylesheets');
  const chartIds = [...html.matchAll(/data-chart="([^"]+)"/g)].map((m) => m[1]!);
  for (const id of ['qc-quality', 'qc-bases', 'qc-gc', 'qc-length', 'qc-rates', 'pca', 'cluster-sizes', 'cluster-gc', 'cluster-length', 'confusion']) {
    assert.ok(chartIds.includes(id), `plot ${id} present (have ${chartIds.join(', ')})`);
  }

  const userData = tmp.join('chromium-profile');
  const t0 = performance.now();
  const context = await chromium.launchPersistentContext(userData, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    viewport: { width: 1400, height: 1000 },
    offline: true,
  });
  try {
    const page = await context.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await context.route('**/*', async (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      requests.push(url);
      return route.abort();
    });
    const tLaunch = performance.now();
    await page.goto(pathToFileURL(report).href);
    // (strings: this project compiles without the DOM library)
    await page.waitForFunction('window.metavecReport !== undefined && window.metavecReport.done === true', null, { timeout: 60_000 });
    const tRendered = performance.now();
    const state = await page.evaluate<ReportState>('window.metavecReport');
    const drawn = await page.evaluate<{ id: string; svgOrCanvas: boolean }[]>(
      `Array.from(document.querySelectorAll('div.vega')).map((d) => ({ id: d.dataset.chart, svgOrCanvas: d.querySelector('svg.marks, canvas.marks') !== null }))`,
    );

    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, 'report-sample.png');
    await page.screenshot({ path: shot, fullPage: true });
    const bytes = statSync(report).size;
    const msg = `report ${(bytes / 1e6).toFixed(2)} MB; chromium start ${((tLaunch - t0) / 1000).toFixed(2)} s, load + render ${((tRendered - tLaunch) / 1000).toFixed(2)} s; screenshot: ${shot}`;
    t.diagnostic(msg);
    console.log(`# ${msg}`);

    assert.deepEqual(problems, [], 'no console errors or warnings');
    assert.deepEqual(requests, [], 'no network requests');
    assert.deepEqual(state.errors, []);
    assert.deepEqual(Object.keys(state.charts).sort(), [...chartIds].sort(), 'every plot reported back');
    for (const id of chartIds) assert.ok((state.charts[id]?.marks ?? 0) > 0, `plot ${id} has rendered marks (${JSON.stringify(state.charts[id])})`);
    for (const d of drawn) assert.ok(d.svgOrCanvas, `plot ${d.id} has an svg or canvas`);
    // the PCA plot draws the whole sample (5,000 of the sample's fragments), twice (PC1/PC2 and PC1/PC3)
    assert.ok(state.charts.pca!.marks >= 2 * 5000, `pca marks ${state.charts.pca!.marks}`);
    assert.ok(bytes < 3e6, `report size ${bytes}`);
    assert.ok(statSync(shot).size > 10_000, 'screenshot written');
  } finally {
    await context.close();
  }
});
