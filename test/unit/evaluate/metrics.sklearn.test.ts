import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateClustering } from '../../../src/evaluate/index.js';
import { requireTool } from '../../helpers/tools.js';
import { rng } from '../../helpers/fixtures.js';

/** First interpreter that can import the module (Debian's /usr/bin/python3 first: the PATH one may be a pyenv). */
function pythonWith(module: string): string | undefined {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', `import ${module}`], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return undefined;
}


interface Case {
  name: string;
  pred: number[];
  truth: number[];
}

function cases(): Case[] {
  const rand = rng(2024);
  const randomLabels = (n: number, k: number): number[] => Array.from({ length: n }, () => Math.floor(rand() * k));
  const out: Case[] = [];
  for (const [n, kp, kt] of [
    [2, 2, 2],
    [10, 3, 2],
    [50, 5, 5],
    [200, 20, 4],
    [1000, 7, 7],
    [1000, 300, 10],
    [5000, 50, 3],
    [30000, 12, 7],
  ] as const) {
    out.push({ name: `random n=${n} k=${kp} c=${kt}`, pred: randomLabels(n, kp), truth: randomLabels(n, kt) });
  }
  // Correlated labellings (noisy copy of the truth), closer to real clustering results.
  for (const [n, c, noise] of [
    [2000, 7, 0.05],
    [20000, 30, 0.2],
  ] as const) {
    const truth = randomLabels(n, c);
    const pred = truth.map((t) => (rand() < noise ? Math.floor(rand() * (c + 3)) : t * 2 + (rand() < 0.1 ? 1 : 0)));
    out.push({ name: `noisy copy n=${n} c=${c}`, pred, truth });
  }
  const n = 500;
  const truth = randomLabels(n, 6);
  const seq = Array.from({ length: n }, (_, i) => i);
  out.push({ name: 'one cluster', pred: new Array<number>(n).fill(4), truth });
  out.push({ name: 'one class', pred: randomLabels(n, 9), truth: new Array<number>(n).fill(0) });
  out.push({ name: 'one cluster and one class', pred: new Array<number>(n).fill(1), truth: new Array<number>(n).fill(2) });
  out.push({ name: 'all singletons', pred: seq, truth });
  out.push({ name: 'truth all singletons', pred: randomLabels(n, 9), truth: seq });
  out.push({ name: 'both all singletons', pred: seq.map((i) => n - i), truth: seq });
  out.push({ name: 'one cluster vs all singletons', pred: new Array<number>(n).fill(0), truth: seq });
  out.push({ name: 'identical up to relabelling', pred: truth.map((t) => 100 - 7 * t), truth });
  out.push({ name: 'negative and large labels', pred: truth.map((t) => (t % 2 ? -5 : 2147483000)), truth });
  out.push({ name: 'single item', pred: [3], truth: [9] });
  return out;
}

const PY = `
import json, sys, warnings
warnings.simplefilter('ignore')
from sklearn import metrics
cases = json.load(open(sys.argv[1]))
out = []
for c in cases:
    t, p = c['truth'], c['pred']
    h, co, v = metrics.homogeneity_completeness_v_measure(t, p)
    out.append({'ari': float(metrics.adjusted_rand_score(t, p)),
                'nmi': float(metrics.normalized_mutual_info_score(t, p, average_method='arithmetic')),
                'homogeneity': float(h), 'completeness': float(co), 'vMeasure': float(v)})
json.dump(out, open(sys.argv[2], 'w'))
`;

void test('ARI, NMI, homogeneity, completeness and V-measure equal scikit-learn to 1e-9', (t) => {
  const py = pythonWith('sklearn');
  if (!requireTool(t, py !== undefined, 'python3 with scikit-learn (Debian python3-sklearn)')) return;
  const dir = mkdtempSync(join(tmpdir(), 'metavec-sklearn-'));
  try {
    const all = cases();
    const inPath = join(dir, 'cases.json');
    const outPath = join(dir, 'sklearn.json');
    writeFileSync(inPath, JSON.stringify(all));
    const r = spawnSync(py as string, ['-c', PY, inPath, outPath], { encoding: 'utf8' });
    assert.equal(r.status, 0, `python failed: ${r.stderr}`);
    const expected = JSON.parse(readFileSync(outPath, 'utf8')) as Record<string, number>[];
    assert.equal(expected.length, all.length);
    let worst = 0;
    all.forEach((c, i) => {
      const m = evaluateClustering(Int32Array.from(c.pred), Int32Array.from(c.truth));
      const e = expected[i] as Record<string, number>;
      for (const key of ['ari', 'nmi', 'homogeneity', 'completeness', 'vMeasure'] as const) {
        const diff = Math.abs(m[key] - (e[key] as number));
        worst = Math.max(worst, diff);
        assert.ok(diff <= 1e-9, `${c.name}: ${key} = ${m[key]}, scikit-learn ${e[key]}`);
      }
    });
    t.diagnostic(`${all.length} labellings, largest difference ${worst.toExponential(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
