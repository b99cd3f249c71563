// Agreement with scikit-learn: on the same matrix, our best k-means objective must be within 1% of (or
// better than) sklearn KMeans(lloyd, same n_init, random_state=0).inertia_.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, requireTool } from '../helpers/tools.js';
import { kmeans } from '../../src/cluster/index.js';
import { blobs, profileMixture } from '../../src/cluster/synthetic.js';
import { createLocalKMeansExecutor } from '../../src/engines/local/kmeansPool.js';

/** First python interpreter that can import sklearn (the Debian one: /usr/bin/python3), or undefined. */
export function sklearnPython(): string | undefined {
  for (const py of [process.env.METAVEC_SKLEARN_PYTHON, '/usr/bin/python3', 'python3']) {
    if (!py) continue;
    const r = spawnSync(py, ['-c', 'import sklearn, threadpoolctl'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return undefined;
}

interface SkResult { inertia: number; iterations: number; wallSeconds: number }

function runSklearn(py: string, file: string, n: number, d: number, k: number, nInit: number): SkResult {
  const r = spawnSync(py, [join(REPO_ROOT, 'bench/kmeans_sklearn.py'), '--input', file, '--n', String(n), '--d', String(d),
    '--k', String(k), '--n-init', String(nInit), '--max-iter', '300', '--tol', '1e-4', '--threads', '2', '--seed', '0'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as SkResult;
}

void test('kmeans objective agrees with scikit-learn KMeans (lloyd) within 1%', async (t) => {
  const py = sklearnPython();
  if (!requireTool(t, py !== undefined, 'a python3 with scikit-learn and threadpoolctl (Debian python3-sklearn)')) return;
  const dir = mkdtempSync(join(tmpdir(), 'metavec-kmeans-'));
  try {
    const d = 136;
    const cases = [
      { name: '7-center 4-mer-like mixture', x: profileMixture(7, 30000, d, 11, 0.004), n: 30000, k: 7, d },
      { name: 'overlapping mixture, k=10', x: profileMixture(5, 20000, d, 12, 0.01), n: 20000, k: 10, d },
      { name: 'Gaussian blobs', ...blobs(6, 2000, 20, 13, 3), k: 6, d: 20 },
    ];
    for (const c of cases) {
      const file = join(dir, `${c.k}-${c.n}.bin`);
      writeFileSync(file, new Uint8Array(c.x.buffer, c.x.byteOffset, c.x.byteLength));
      const sk = runSklearn(py!, file, c.n, c.d, c.k, 3);
      const exec = await createLocalKMeansExecutor(c.x, c.n, c.d, 2);
      try {
        const ours = await kmeans(exec, { k: c.k, seed: 0, nInit: 3, maxIter: 300, tol: 1e-4, init: 'k-means++', algorithm: 'lloyd' });
        t.diagnostic(`${c.name}: ours ${ours.inertia.toFixed(6)} (${ours.iterations} it) vs sklearn ${sk.inertia.toFixed(6)} (${sk.iterations} it), ratio ${(ours.inertia / sk.inertia).toFixed(5)}`);
        assert.ok(ours.inertia <= sk.inertia * 1.01, `${c.name}: ours ${ours.inertia} > 1.01 * sklearn ${sk.inertia}`);
      } finally {
        await exec.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
