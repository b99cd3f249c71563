/**
 * k-means: metavec (local worker-thread engine) vs scikit-learn KMeans (lloyd), side by side.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/kmeans-vs-sklearn.js [--n 1000000] [--k 7] [--threads 2]
 *       [--n-init 3] [--max-iter 300] [--tol 1e-4] [--matrix file.bin|file.npy --d 136] [--python /usr/bin/python3]
 *       [--repeat 3] [--kernels wasm|js|js,wasm] [--chooseK [--choosek-kernels wasm,js-inprocess]]
 *
 * Each data set is run --repeat times, alternating sklearn and ours (each --kernels value, via
 * METAVEC_KMEANS_KERNEL); medians of the wall times (and of the process CPU times) are reported, with the 1-min
 * load average around every run (the machine may be shared). --chooseK also times chooseK (gap statistic,
 * k = 1..12, nInit 3) on the last data set.
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
import { chooseK, createInProcessExecutor, kmeans } from '../src/cluster/index.js';
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

interface Side { wallSeconds: number; cpuSeconds?: number; iterations: number; inertia: number; load1m?: number }

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function runOurs(x: Float32Array, n: number, d: number, threads: number, opts: KMeansOptions, kernel: string): Promise<Side & { init: string; kernel: string }> {
  process.env.METAVEC_KMEANS_KERNEL = kernel;
  const c0 = cpuSeconds();
  const t0 = performance.now();
  const exec = await createLocalKMeansExecutor(x, n, d, threads);
  try {
    const r = await kmeans(exec, opts);
    return {
      kernel, wallSeconds: (performance.now() - t0) / 1000, cpuSeconds: cpuSeconds() - c0, iterations: r.iterations, inertia: r.inertia,
      init: r.init, load1m: loadavg()[0] ?? 0,
    };
  } finally {
    await exec.close();
  }
}

async function runChooseK(x: Float32Array, n: number, d: number, threads: number, kernel: string): Promise<{ kernel: string; wallSeconds: number; cpuSeconds: number; k: number; load1m: number }> {
  // 'js-inprocess': the JS kernel on the calling thread only (chooseK as it was before runIndependent).
  const inProcess = kernel.endsWith('-inprocess');
  process.env.METAVEC_KMEANS_KERNEL = kernel.replace('-inprocess', '');
  const c0 = cpuSeconds();
  const t0 = performance.now();
  const exec = inProcess ? Object.assign(createInProcessExecutor(x, n, d), { close: () => Promise.resolve() }) : await createLocalKMeansExecutor(x, n, d, threads);
  try {
    const r = await chooseK(exec, { kMin: 1, kMax: 12, seed: 0, nInit: 3, maxIter: 300, tol: 1e-4 });
    return { kernel, wallSeconds: (performance.now() - t0) / 1000, cpuSeconds: cpuSeconds() - c0, k: r.k, load1m: loadavg()[0] ?? 0 };
  } finally {
    await exec.close();
  }
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
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
  const repeat = Number(arg('repeat', '3'));
  const kernels = (arg('kernels', 'wasm') ?? 'wasm').split(',');
  const results = [];
  let chooseKRuns: Awaited<ReturnType<typeof runChooseK>>[] = [];
  try {
    for (const [di, ds] of datasets.entries()) {
      const { x, n: rows, d } = ds.load();
      const file = join(dir, 'x.bin');
      writeFileSync(file, new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
      const loadBefore = loadavg()[0] ?? 0;
      const sk: Side[] = [];
      const ours: Record<string, Awaited<ReturnType<typeof runOurs>>[]> = Object.fromEntries(kernels.map((k) => [k, []]));
      for (let rep = 0; rep < repeat; rep++) {
        if (py) sk.push({ ...runSklearn(py, file, rows, d, threads, base), load1m: loadavg()[0] ?? 0 });
        for (const kern of kernels) ours[kern]!.push(await runOurs(x, rows, d, threads, base, kern));
      }
      const skWall = sk.length ? median(sk.map((s) => s.wallSeconds)) : null;
      const summary = Object.fromEntries(kernels.map((kern) => {
        const runs = ours[kern]!;
        const wall = median(runs.map((r) => r.wallSeconds));
        return [kern, {
          medianWallSeconds: wall, medianCpuSeconds: median(runs.map((r) => r.cpuSeconds!)),
          timeRatio: skWall ? wall / skWall : null, inertiaRatio: sk[0] ? runs[0]!.inertia / sk[0].inertia : null,
          iterations: runs[0]!.iterations, inertia: runs[0]!.inertia,
        }];
      }));
      const row = {
        loadAverage1m: { before: loadBefore, after: loadavg()[0] ?? 0 },
        dataset: ds.name, n: rows, d, k, nInit: base.nInit, maxIter: base.maxIter, tol: base.tol, threads, repeat,
        sklearn: sk.length ? { medianWallSeconds: skWall, medianCpuSeconds: median(sk.map((s) => s.cpuSeconds ?? NaN)), runs: sk } : undefined,
        ours: summary, oursRuns: ours,
      };
      results.push(row);
      console.log(`\n${ds.name}: n=${rows} d=${d} k=${k} n_init=${base.nInit} max_iter=${base.maxIter} tol=${base.tol} threads=${threads}, ${repeat} runs each`
        + ` (1-min load average ${row.loadAverage1m.before.toFixed(2)} -> ${row.loadAverage1m.after.toFixed(2)} on ${cpus().length} CPUs)`);
      if (sk.length) {
        console.log(`  sklearn (k-means++, lloyd): median ${skWall!.toFixed(2)} s [${sk.map((s) => s.wallSeconds.toFixed(2)).join(', ')}], ${sk[0]!.iterations} iterations, objective ${sk[0]!.inertia.toFixed(4)}`);
      }
      for (const kern of kernels) {
        const s = summary[kern]!;
        console.log(`  metavec ${kern}: median ${s.medianWallSeconds.toFixed(2)} s [${ours[kern]!.map((r) => r.wallSeconds.toFixed(2)).join(', ')}], cpu ${s.medianCpuSeconds.toFixed(2)} s, `
          + `${s.iterations} iterations, objective ${s.inertia.toFixed(4)}${s.timeRatio !== null ? `, ratio ours/sklearn: time ${s.timeRatio.toFixed(2)}, objective ${s.inertiaRatio!.toFixed(5)}` : ''}`);
      }
      if (process.argv.includes('--chooseK') && di === datasets.length - 1) {
        chooseKRuns = [];
        const ckKernels = (arg('choosek-kernels', 'wasm') ?? 'wasm').split(',');
        for (let rep = 0; rep < repeat; rep++) for (const kern of ckKernels) chooseKRuns.push(await runChooseK(x, rows, d, threads, kern));
        for (const kern of ckKernels) {
          const runs = chooseKRuns.filter((r) => r.kernel === kern);
          console.log(`  chooseK (gap, k=1..12, nInit 3) ${kern}: median ${median(runs.map((r) => r.wallSeconds)).toFixed(1)} s [${runs.map((r) => r.wallSeconds.toFixed(1)).join(', ')}], k=${runs[0]!.k}`);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const date = new Date().toISOString().slice(0, 10);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const out = join(ROOT, `bench/results/kmeans-${date}.json`);
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), metavec: TOOL_VERSION, node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, results, chooseK: chooseKRuns }, null, 2) + '\n');
  console.log(`\nwrote ${out}`);
}

await main();
