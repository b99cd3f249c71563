/**
 * k-means: metavec (local worker-thread engine) vs scikit-learn KMeans (lloyd), side by side.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/kmeans-vs-sklearn.js [--n 1000000] [--k 7] [--threads 2]
 *       [--n-init 3] [--max-iter 300] [--tol 1e-4] [--matrix file.bin|file.npy --d 136] [--python /usr/bin/python3]
 *
 * (a) a synthetic n x 136 float32 matrix: 7 Dirichlet(1)-like composition centers plus Gaussian noise (sd 0.008,
 *     overlapping like per-read 4-mer profiles); (b) optionally a matrix file. Prints wall time, iterations and
 *     objective of both and the ratio ours/sklearn; writes bench/results/kmeans-<date>.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kmeans } from '../src/cluster/index.js';
import type { KMeansOptions } from '../src/cluster/index.js';
import { profileMixture } from '../src/cluster/synthetic.js';
import { createLocalKMeansExecutor } from '../src/engines/local/kmeansPool.js';
import { TOOL_VERSION } from '../src/version.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function arg(name: string, def?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

function findPython(): string | undefined {
  for (const py of [arg('python'), '/usr/bin/python3', 'python3']) {
    if (py && spawnSync(py, ['-c', 'import sklearn, threadpoolctl'], { stdio: 'ignore' }).status === 0) return py;
  }
  return undefined;
}

/** Minimal .npy reader (float32, C order, version 1/2 header). */
function readMatrix(file: string, dArg: number | undefined): { x: Float32Array; n: number; d: number } {
  const buf = readFileSync(file);
  if (file.endsWith('.npy')) {
    const major = buf[6]!;
    const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
    const hstart = major === 1 ? 10 : 12;
    const header = buf.subarray(hstart, hstart + hlen).toString('latin1');
    if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header)) throw new Error(`${file}: need a C-order float32 .npy`);
    const shape = /'shape':\s*\((\d+),\s*(\d+)\)/.exec(header);
    if (!shape) throw new Error(`${file}: need a 2-D array`);
    const n = Number(shape[1]), d = Number(shape[2]);
    const x = new Float32Array(n * d);
    x.set(new Float32Array(buf.buffer.slice(buf.byteOffset + hstart + hlen, buf.byteOffset + hstart + hlen + 4 * n * d)));
    return { x, n, d };
  }
  const d = dArg ?? 136;
  const x = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  return { x, n: x.length / d, d };
}

interface Side { wallSeconds: number; iterations: number; inertia: number }

async function runOurs(x: Float32Array, n: number, d: number, threads: number, opts: KMeansOptions): Promise<Side & { init: string }> {
  const t0 = performance.now();
  const exec = await createLocalKMeansExecutor(x, n, d, threads);
  try {
    const r = await kmeans(exec, opts);
    return { wallSeconds: (performance.now() - t0) / 1000, iterations: r.iterations, inertia: r.inertia, init: r.init };
  } finally {
    await exec.close();
  }
}

function runSklearn(py: string, file: string, n: number, d: number, threads: number, o: KMeansOptions): Side {
  const r = spawnSync(py, [join(ROOT, 'bench/kmeans_sklearn.py'), '--input', file, '--n', String(n), '--d', String(d), '--k', String(o.k),
    '--n-init', String(o.nInit), '--max-iter', String(o.maxIter), '--tol', String(o.tol), '--threads', String(threads), '--seed', '0'],
  { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) }, maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`sklearn failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Side;
}

async function main(): Promise<void> {
  const n = Number(arg('n', '1000000'));
  const k = Number(arg('k', '7'));
  const threads = Number(arg('threads', '2'));
  const base: KMeansOptions = {
    k, seed: 0, nInit: Number(arg('n-init', '3')), maxIter: Number(arg('max-iter', '300')), tol: Number(arg('tol', '1e-4')),
    init: (arg('init', 'k-means++') as KMeansOptions['init']), algorithm: 'lloyd',
  };
  const py = findPython();
  if (!py) console.error('warning: no python3 with scikit-learn found: only our side is timed');
  const dir = mkdtempSync(join(tmpdir(), 'metavec-kmeans-bench-'));
  const datasets: { name: string; load: () => { x: Float32Array; n: number; d: number } }[] = [
    { name: `synthetic ${n}x136 (7 Dirichlet centers + N(0, 0.008))`, load: () => ({ x: profileMixture(7, n, 136, 2024, 0.008), n, d: 136 }) },
  ];
  const matrix = arg('matrix');
  if (matrix) datasets.push({ name: matrix, load: () => readMatrix(matrix, arg('d') ? Number(arg('d')) : undefined) });
  const results = [];
  try {
    for (const ds of datasets) {
      const { x, n: rows, d } = ds.load();
      const file = join(dir, 'x.bin');
      writeFileSync(file, new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
      const loadBefore = loadavg()[0] ?? 0;
      const sk = py ? runSklearn(py, file, rows, d, threads, base) : undefined;
      const ours = await runOurs(x, rows, d, threads, base);
      const row = {
        loadAverage1m: { before: loadBefore, after: loadavg()[0] ?? 0 },
        dataset: ds.name, n: rows, d, k, nInit: base.nInit, maxIter: base.maxIter, tol: base.tol, threads,
        ours, sklearn: sk, timeRatio: sk ? ours.wallSeconds / sk.wallSeconds : null, inertiaRatio: sk ? ours.inertia / sk.inertia : null,
      };
      results.push(row);
      console.log(`\n${ds.name}: n=${rows} d=${d} k=${k} n_init=${base.nInit} max_iter=${base.maxIter} tol=${base.tol} threads=${threads}`
        + ` (1-min load average ${row.loadAverage1m.before.toFixed(2)} -> ${row.loadAverage1m.after.toFixed(2)} on ${cpus().length} CPUs)`);
      console.log(`  metavec (${ours.init}, lloyd): ${ours.wallSeconds.toFixed(2)} s, ${ours.iterations} iterations (best run), objective ${ours.inertia.toFixed(4)}`);
      if (sk) {
        console.log(`  sklearn (k-means++, lloyd): ${sk.wallSeconds.toFixed(2)} s, ${sk.iterations} iterations (best run), objective ${sk.inertia.toFixed(4)}`);
        console.log(`  ratio ours/sklearn: time ${row.timeRatio!.toFixed(2)}, objective ${row.inertiaRatio!.toFixed(5)}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const date = new Date().toISOString().slice(0, 10);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const out = join(ROOT, `bench/results/kmeans-${date}.json`);
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), metavec: TOOL_VERSION, node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, results }, null, 2) + '\n');
  console.log(`\nwrote ${out}`);
}

await main();
