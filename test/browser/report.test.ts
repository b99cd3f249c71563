/**
 * The report of the sample run in a real browser (Debian's chromium driven by playwright-core), for a graph run
 * and a k-means run of the same prep: each loads offline with no console errors or warnings (Vega-Lite logs its
 * warnings there) and no network request, every plot has rendered marks in a non-empty SVG or canvas, a table's
 * CSV button downloads the table, and a full-page screenshot is saved under test-artifacts/ to look at.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { CLI, TempDir } from '../helpers/fixtures.js';
import { REPO_ROOT, requireTool } from '../helpers/tools.js';

const CHROMIUM = process.env.METAVEC_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
const tmp = new TempDir('metavec-browser-');
after(() => tmp.remove());
const runDir = tmp.join('run');
const env = { ...process.env, METAVEC_CATALOG: tmp.join('catalog.duckdb') };
let runStatus = { status: -1, stderr: '' };

function cli(args: string[]): { status: number; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000, env });
  return { status: r.status ?? -1, stderr: r.stderr };
}

before(() => {
  const sample = join(REPO_ROOT, 'examples/sample');
  runStatus = cli(['run', '--input', join(sample, 'R1.fastq.gz'), '--input2', join(sample, 'R2.fastq.gz'), '--truth', join(sample, 'truth.tsv.gz'), '--output', runDir, '--method', 'graph', '--quiet']);
  if (runStatus.status !== 0) return;
  // the same prep clustered by k-means, and its report
  const k = cli(['cluster', '--input', join(runDir, 'prep'), '--output', tmp.join('kmeans'), '--method', 'kmeans', '--k', '7', '--quiet']);
  if (k.status !== 0) runStatus = k;
  else runStatus = cli(['report', '--prep', join(runDir, 'prep'), '--cluster', tmp.join('kmeans'), '--output', tmp.join('kmeans.html'), '--quiet']);
});

interface ReportState {
  done: boolean;
  errors: string[];
  charts: Record<string, { marks: number; renderer?: string; error?: string }>;
}

async function openContext(): Promise<BrowserContext> {
  return chromium.launchPersistentContext(tmp.join(`chromium-profile-${Math.random().toString(36).slice(2)}`), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    viewport: { width: 1400, height: 1000 },
    offline: true,
    acceptDownloads: true,
  });
}

/** Loads a report, checks it as a person would look at it, saves the screenshot; returns the plot ids. */
async function checkReport(t: test.TestContext, report: string, shotName: string, expected: string[]): Promise<string[]> {
  const html = readFileSync(report, 'utf8');
  assert.doesNotMatch(html, /<script[^>]*\ssrc=|<link[^>]*\shref=/i, 'no external scripts or stylesheets');
  const chartIds = [...html.matchAll(/data-chart="([^"]+)"/g)].map((m) => m[1]!);
  for (const id of expected) assert.ok(chartIds.includes(id), `plot ${id} present (have ${chartIds.join(', ')})`);
  const t0 = performance.now();
  const context = await openContext();
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
      if (url.startsWith('file:') || url.startsWith('blob:')) return route.continue();
      requests.push(url);
      return route.abort();
    });
    const tLaunch = performance.now();
    await page.goto(pathToFileURL(report).href);
    // (strings: this project compiles without the DOM library)
    await page.waitForFunction('window.metavecReport !== undefined && window.metavecReport.done === true', null, { timeout: 60_000 });
    const tRendered = performance.now();
    const state = await page.evaluate<ReportState>('window.metavecReport');
    // what is on the screen: an svg with drawn mark elements, or a canvas with a size
    const drawn = await page.evaluate<{ id: string; kind: string; elements: number; width: number; height: number }[]>(
      `Array.from(document.querySelectorAll('div.vega')).map((d) => {
        const svg = d.querySelector('svg.marks');
        const canvas = d.querySelector('canvas.marks');
        const box = (svg || canvas || d).getBoundingClientRect();
        return {
          id: d.dataset.chart,
          kind: svg ? 'svg' : canvas ? 'canvas' : 'none',
          elements: svg ? svg.querySelectorAll('g[class^="mark-"]:not(.mark-group) path, g[class^="mark-"]:not(.mark-group) line, g[class^="mark-"]:not(.mark-group) text').length : canvas ? canvas.width * canvas.height : 0,
          width: box.width,
          height: box.height,
        };
      })`,
    );

    // a table's CSV button downloads that table
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button[data-csv="clusters"]')]);
    const csvPath = tmp.join(`${shotName}-clusters.csv`);
    await download.saveAs(csvPath);
    const csv = readFileSync(csvPath, 'utf8').trim().split('\r\n');

    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, `${shotName}.png`);
    // a full-page capture repeats the sticky navigation bar over the page at the viewport's height
    await page.addStyleTag({ content: 'nav { position: static !important; }' });
    await page.screenshot({ path: shot, fullPage: true });
    const bytes = statSync(report).size;
    const msg = `${shotName}: ${(bytes / 1e6).toFixed(2)} MB; chromium start ${((tLaunch - t0) / 1000).toFixed(2)} s, load + render ${((tRendered - tLaunch) / 1000).toFixed(2)} s; screenshot: ${shot}`;
    t.diagnostic(msg);
    console.log(`# ${msg}`);

    assert.deepEqual(problems, [], 'no console errors or warnings (Vega-Lite warnings included)');
    assert.deepEqual(requests, [], 'no network requests');
    assert.deepEqual(state.errors, []);
    assert.deepEqual(Object.keys(state.charts).sort(), [...chartIds].sort(), 'every plot reported back');
    for (const id of chartIds) assert.ok((state.charts[id]?.marks ?? 0) > 0, `plot ${id} has rendered marks (${JSON.stringify(state.charts[id])})`);
    for (const d of drawn) {
      assert.notEqual(d.kind, 'none', `plot ${d.id} has an svg or canvas`);
      assert.ok(d.elements > 0 && d.width > 50 && d.height > 50, `plot ${d.id} is drawn and not empty (${JSON.stringify(d)})`);
    }
    assert.equal(csv[0]!.split(',')[0], 'cluster', 'the CSV starts with its header');
    assert.ok(csv.length >= 3, `clusters.csv has a line per cluster (${csv.length} lines)`);
    assert.ok(bytes < 3e6, `report size ${bytes}`);
    assert.ok(statSync(shot).size > 10_000, 'screenshot written');
    return chartIds.map((id) => `${id}:${state.charts[id]!.marks}`);
  } finally {
    await context.close();
  }
}

test('report.html of the sample run (graph method) renders every plot in chromium, offline, without console errors', async (t) => {
  assert.equal(runStatus.status, 0, runStatus.stderr);
  const report = join(runDir, 'report.html');
  assert.ok(existsSync(report), 'metavec run wrote report.html');
  if (!requireTool(t, existsSync(CHROMIUM), `chromium at ${CHROMIUM} (apt-get install chromium)`)) return;
  const marks = await checkReport(t, report, 'report-sample', [
    'qc-quality', 'qc-bases', 'qc-gc', 'qc-length', 'qc-insert', 'qc-duplication', 'qc-rates', 'pca',
    'cluster-sizes', 'cluster-gc', 'cluster-distance', 'group-sizes', 'cluster-coverage-gc', 'k-selection', 'confusion',
  ]);
  assert.ok(!marks.some((m) => m.startsWith('kmeans-objective:')), 'no k-means objective for a graph run');
  // the PCA plot draws the whole sample (5,000 of the sample's fragments), twice (PC1/PC2 and PC1/PC3)
  const pcaMarks = Number(marks.find((m) => m.startsWith('pca:'))!.split(':')[1]);
  assert.ok(pcaMarks >= 2 * 5000, `pca marks ${pcaMarks}`);
});

test('report of a k-means run of the same prep renders every plot, with the objective per iteration', async (t) => {
  assert.equal(runStatus.status, 0, runStatus.stderr);
  if (!requireTool(t, existsSync(CHROMIUM), `chromium at ${CHROMIUM} (apt-get install chromium)`)) return;
  await checkReport(t, tmp.join('kmeans.html'), 'report-sample-kmeans', ['qc-gc', 'qc-rates', 'pca', 'cluster-sizes', 'cluster-distance', 'kmeans-objective']);
});
