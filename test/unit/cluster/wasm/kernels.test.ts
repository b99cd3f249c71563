import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetavecError } from '../../../../src/errors.js';
import { numBlocks, partWidth, runBlockOp, Scratch } from '../../../../src/cluster/blockOps.js';
import type { BlockOp, RowBuffers } from '../../../../src/cluster/blockOps.js';
import { rowSqNorms } from '../../../../src/cluster/kernels.js';
import {
  allocateKMeansMatrix, CHUNK_ROWS, ensureMemory, kmeansWasmBytes, kmeansWasmModule, newKMeansMemory, pruneStats, scratchBytes, selectedKernel,
} from '../../../../src/cluster/wasm/index.js';
import { chooseK, createInProcessExecutor, kmeans } from '../../../../src/cluster/index.js';
import type { KMeansOptions, KMeansResult } from '../../../../src/cluster/index.js';
import { Rng } from '../../../../src/cluster/rng.js';
import { profileMixture } from '../../../../src/cluster/synthetic.js';
import { createLocalKMeansExecutor } from '../../../../src/engines/local/kmeansPool.js';

/** Run fn with METAVEC_KMEANS_KERNEL (and METAVEC_KMEANS_PRUNE) set, restoring them afterwards. */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T> | T): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

function bits(a: Float32Array | Float64Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function assertSameResult(got: KMeansResult, want: KMeansResult, what: string): void {
  assert.deepEqual(got.labels, want.labels, `${what}: labels`);
  assert.deepEqual(bits(got.centroids), bits(want.centroids), `${what}: centroid bits`);
  assert.deepEqual(bits(got.distances), bits(want.distances), `${what}: distance bits`);
  assert.equal(got.inertia, want.inertia, `${what}: inertia`);
  assert.deepEqual(got.objectiveHistory, want.objectiveHistory, `${what}: history`);
  assert.equal(got.iterations, want.iterations, `${what}: iterations`);
}

void test('kmeans WASM module is valid and emitted deterministically', () => {
  assert.ok(kmeansWasmModule(), 'this Node has WebAssembly SIMD');
  assert.deepEqual(kmeansWasmBytes(), kmeansWasmBytes());
  assert.equal(selectedKernel(), process.env.METAVEC_KMEANS_KERNEL === 'js' ? 'js' : 'wasm');
});

void test('kmeans WASM block operations are bit-identical to the JS kernels (copy and in-place modes)', () => {
  const rng = new Rng(5);
  for (const [n, d, m] of [[CHUNK_ROWS * 2 + 37, 136, 7], [4096 + 1001, 17, 1], [900, 3, 9], [700, 6, 2], [301, 1, 5], [1500, 10, 13]] as const) {
    const x0 = Float32Array.from({ length: n * d }, () => rng.nextDouble() * 2 - 1);
    const c = Float32Array.from({ length: m * d }, () => rng.nextDouble() * 2 - 1);
    const closest = Float64Array.from({ length: n }, () => rng.nextDouble() * d);
    const nb = numBlocks(n);
    const run = (kernel: 'js' | 'wasm', inPlace: boolean): Uint8Array[] => {
      let x: Float32Array<ArrayBufferLike> = x0;
      let wasmMemory;
      let slot = -1;
      if (inPlace) {
        wasmMemory = newKMeansMemory(4 * n * d);
        x = new Float32Array(wasmMemory.buffer, 0, n * d);
        x.set(x0);
        slot = (4 * n * d + 63) & ~63;
        ensureMemory(wasmMemory, slot + scratchBytes(m, d, true));
      }
      const xNorms = new Float64Array(n);
      rowSqNorms(x, d, 0, n, xNorms);
      const buf: RowBuffers = {
        x, n, d, xNorms, labels: new Int32Array(n), dist2: new Float64Array(n), closest: Float64Array.from(closest),
        lower: new Float64Array(n), part: new Float64Array(nb * (m * d + m + 2)), wasmMemory,
      };
      const s = new Scratch(kernel);
      const out: Uint8Array[] = [];
      const ops: BlockOp[] = [
        { op: 'seedTrial', c, m },
        { op: 'countNearest', c, m },
        { op: 'assign', c, k: m, first: true },
        { op: 'seedUpdate', c, m, reset: false },
      ];
      for (const op of ops) {
        runBlockOp(buf, s, op, 0, nb, slot);
        out.push(bits(buf.part.slice(0, nb * partWidth(op, d))));
      }
      out.push(bits(Int32Array.from(buf.labels)), bits(Float64Array.from(buf.dist2)), bits(Float64Array.from(buf.closest)));
      return out;
    };
    const js = run('js', false);
    for (const inPlace of [false, true]) {
      const w = run('wasm', inPlace);
      js.forEach((want, i) => assert.deepEqual(w[i], want, `n=${n} d=${d} m=${m} inPlace=${inPlace} output ${i}`));
    }
  }
});

void test('kmeans gives bit-identical results with the JS kernel, the WASM kernel (pruned or not) and 2 WASM worker threads', async () => {
  // Overlapping clusters: many Lloyd iterations, so the pruned assign path is exercised.
  const d = 20;
  const n = 2 * 4096 + 777;
  const x = profileMixture(7, n, d, 11, 0.2);
  for (const o of [
    { k: 7, seed: 3, nInit: 2, maxIter: 200, tol: 0, init: 'k-means++', algorithm: 'lloyd' },
    { k: 5, seed: 4, nInit: 1, maxIter: 200, tol: 1e-6, init: 'k-means||', algorithm: 'lloyd' },
    { k: 4, seed: 5, nInit: 1, maxIter: 3, tol: 1e-4, init: 'k-means++', algorithm: 'minibatch', batchSize: 512 },
  ] as KMeansOptions[]) {
    const ref = await withEnv({ METAVEC_KMEANS_KERNEL: 'js' }, () => kmeans(createInProcessExecutor(x, n, d), o));
    if (o.algorithm === 'lloyd') assert.ok(ref.iterations > 10, `enough iterations to prune (${ref.iterations})`);
    for (const prune of ['1', '0']) {
      const before = pruneStats.pruned;
      const w = await withEnv({ METAVEC_KMEANS_KERNEL: 'wasm', METAVEC_KMEANS_PRUNE: prune }, () => kmeans(createInProcessExecutor(x, n, d), o));
      assertSameResult(w, ref, `wasm prune=${prune} ${o.init} ${o.algorithm}`);
      if (o.algorithm === 'lloyd') assert.equal(pruneStats.pruned > before, prune === '1', `rows pruned (prune=${prune})`);
    }
    const pooled = await withEnv({ METAVEC_KMEANS_KERNEL: 'wasm' }, async () => {
      const exec = await createLocalKMeansExecutor(x, n, d, 2);
      try { return await kmeans(exec, o); } finally { await exec.close(); }
    });
    assertSameResult(pooled, ref, `2 threads ${o.init} ${o.algorithm}`);
  }
  // A matrix allocated in the WASM memory is used in place (no copy) and gives the same result.
  const o: KMeansOptions = { k: 6, seed: 1, nInit: 1, maxIter: 100, tol: 1e-6, init: 'k-means++', algorithm: 'lloyd' };
  const ref = await withEnv({ METAVEC_KMEANS_KERNEL: 'js' }, () => kmeans(createInProcessExecutor(x, n, d), o));
  await withEnv({ METAVEC_KMEANS_KERNEL: 'wasm' }, async () => {
    const y = allocateKMeansMatrix(n, d);
    y.set(x);
    const exec = await createLocalKMeansExecutor(y, n, d, 2);
    try { assertSameResult(await kmeans(exec, o), ref, 'allocateKMeansMatrix'); } finally { await exec.close(); }
  });
});

void test('chooseK on worker threads (runIndependent) gives the same scores as in-process and with the JS kernel', async () => {
  const d = 8;
  const n = 3000;
  const x = profileMixture(4, n, d, 21, 0.01);
  const opts = { kMin: 1, kMax: 6, seed: 2, nInit: 2, maxIter: 100, tol: 1e-4, sampleSize: 1500 };
  const ref = await withEnv({ METAVEC_KMEANS_KERNEL: 'js' }, () => chooseK(createInProcessExecutor(x, n, d), opts));
  const pooled = await withEnv({ METAVEC_KMEANS_KERNEL: 'wasm' }, async () => {
    const exec = await createLocalKMeansExecutor(x, n, d, 2);
    try {
      const gap = await chooseK(exec, opts);
      const sil = await chooseK(exec, { ...opts, kMin: 2, method: 'silhouette' });
      return { gap, sil };
    } finally { await exec.close(); }
  });
  assert.deepEqual(pooled.gap, ref);
  const silRef = await withEnv({ METAVEC_KMEANS_KERNEL: 'js' }, () => chooseK(createInProcessExecutor(x, n, d), { ...opts, kMin: 2, method: 'silhouette' }));
  assert.deepEqual(pooled.sil, silRef);
});

void test('METAVEC_KMEANS_KERNEL rejects unknown values', async () => {
  await withEnv({ METAVEC_KMEANS_KERNEL: 'gpu' }, () => {
    assert.throws(() => selectedKernel(), (e: unknown) => e instanceof MetavecError && e.code === 'USAGE' && /js', 'wasm'/.test(e.message));
  });
});
