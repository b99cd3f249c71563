/**
 * piscina worker of the local k-means engine: runs one block operation over a contiguous range of blocks,
 * on views of the executor's SharedArrayBuffers (the matrix is never copied; only centroids travel per task).
 */
import { runBlockOp, Scratch } from '../../cluster/blockOps.js';
import { InProcessExecutor } from '../../cluster/blockExecutor.js';
import { kmeans } from '../../cluster/kmeans.js';
import type { IndependentKMeansResult, KMeansOptions } from '../../cluster/types.js';
import type { BlockOp, RowBuffers } from '../../cluster/blockOps.js';
import type { WasmMemory } from '../../cluster/wasm/index.js';

export interface SharedRowBuffers {
  /** Changes whenever a buffer is reallocated (views are cached per executor id and generation). */
  gen: number;
  /** The shared WebAssembly memory x lives in (WASM kernel in place), if any. */
  wasmMemory: WasmMemory | undefined;
  x: SharedArrayBuffer;
  xByteOffset: number;
  n: number;
  d: number;
  xNorms: SharedArrayBuffer;
  labels: SharedArrayBuffer;
  dist2: SharedArrayBuffer;
  closest: SharedArrayBuffer;
  lower: SharedArrayBuffer;
  part: SharedArrayBuffer;
}

export interface KMeansTask {
  /** Executor id (buffers are cached per id). */
  id: number;
  buffers: SharedRowBuffers;
  op: BlockOp;
  b0: number;
  b1: number;
  /** Byte offset of this task's scratch region in wasmMemory (-1: none). */
  slot: number;
}

/** One whole k-means run on a small shared matrix (KMeansExecutor.runIndependent). */
export interface IndependentRunTask {
  kind: 'kmeans';
  /** Matrix id (the worker keeps an in-process executor per id: norms and summary computed once). */
  dataId: number;
  data: SharedArrayBuffer;
  byteOffset: number;
  n: number;
  d: number;
  opts: KMeansOptions;
  labels: boolean;
}

const scratch = new Scratch();
const independent = new Map<number, InProcessExecutor>();

async function runIndependent(t: IndependentRunTask): Promise<IndependentKMeansResult> {
  let e = independent.get(t.dataId);
  if (!e) {
    if (independent.size >= 8) independent.clear();
    e = new InProcessExecutor(new Float32Array(t.data, t.byteOffset, t.n * t.d), t.n, t.d);
    independent.set(t.dataId, e);
  }
  const r = await kmeans(e, t.opts);
  return t.labels ? { inertia: r.inertia, labels: r.labels } : { inertia: r.inertia };
}
const cache = new Map<number, { gen: number; views: RowBuffers }>();

function views(task: KMeansTask): RowBuffers {
  const s = task.buffers;
  const hit = cache.get(task.id);
  if (hit && hit.gen === s.gen) return hit.views;
  const v: RowBuffers = {
    x: new Float32Array(s.x, s.xByteOffset, s.n * s.d),
    n: s.n,
    d: s.d,
    xNorms: new Float64Array(s.xNorms),
    labels: new Int32Array(s.labels),
    dist2: new Float64Array(s.dist2),
    closest: new Float64Array(s.closest),
    lower: new Float64Array(s.lower),
    part: new Float64Array(s.part),
    // The same memory object across tasks (one WASM instance per worker and executor).
    wasmMemory: hit?.views.wasmMemory ?? s.wasmMemory,
  };
  if (cache.size > 8) cache.clear();
  cache.set(task.id, { gen: s.gen, views: v });
  return v;
}

export default function runTask(task: KMeansTask | IndependentRunTask): Int32Array | null | Promise<IndependentKMeansResult> {
  if ('kind' in task) return runIndependent(task);
  return runBlockOp(views(task), scratch, task.op, task.b0, task.b1, task.slot);
}
