/**
 * piscina worker of the local k-means engine: runs one block operation over a contiguous range of blocks,
 * on views of the executor's SharedArrayBuffers (the matrix is never copied; only centroids travel per task).
 */
import { runBlockOp, Scratch } from '../../cluster/blockOps.js';
import type { BlockOp, RowBuffers } from '../../cluster/blockOps.js';

export interface SharedRowBuffers {
  x: SharedArrayBuffer;
  xByteOffset: number;
  n: number;
  d: number;
  xNorms: SharedArrayBuffer;
  labels: SharedArrayBuffer;
  dist2: SharedArrayBuffer;
  closest: SharedArrayBuffer;
  part: SharedArrayBuffer;
}

export interface KMeansTask {
  /** Executor id (buffers are cached per id). */
  id: number;
  buffers: SharedRowBuffers;
  op: BlockOp;
  b0: number;
  b1: number;
}

const scratch = new Scratch();
const cache = new Map<number, { shared: SharedRowBuffers; views: RowBuffers }>();

function views(task: KMeansTask): RowBuffers {
  const s = task.buffers;
  const hit = cache.get(task.id);
  if (hit && hit.shared.part === s.part && hit.shared.x === s.x) return hit.views;
  const v: RowBuffers = {
    x: new Float32Array(s.x, s.xByteOffset, s.n * s.d),
    n: s.n,
    d: s.d,
    xNorms: new Float64Array(s.xNorms),
    labels: new Int32Array(s.labels),
    dist2: new Float64Array(s.dist2),
    closest: new Float64Array(s.closest),
    part: new Float64Array(s.part),
  };
  if (cache.size > 8) cache.clear();
  cache.set(task.id, { shared: s, views: v });
  return v;
}

export default function runTask(task: KMeansTask): Int32Array | null {
  return runBlockOp(views(task), scratch, task.op, task.b0, task.b1);
}
