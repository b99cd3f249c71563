/**
 * Block operations shared by every executor that holds rows in memory (the in-process executor and the
 * piscina workers): each operation processes whole blocks [b0, b1) of BLOCK_ROWS rows and writes one
 * fixed-width float64 partial per block into `part` (block b at b*width). The caller reduces the partials in
 * block order. Pure over the typed arrays it is given (which may be SharedArrayBuffer views).
 */
import { BLOCK_ROWS } from './types.js';
import {
  accumulateBlock, centerSqNorms, columnCenteredSqBlock, columnSumsBlock, distancesBlock, nearestBlock, rowSqNorms,
} from './kernels.js';
import { hashUniform } from './rng.js';

export interface RowBuffers {
  x: Float32Array;
  n: number;
  d: number;
  xNorms: Float64Array;
  labels: Int32Array;
  dist2: Float64Array;
  closest: Float64Array;
  /** Per-block partials, nBlocks * width for the current operation. */
  part: Float64Array;
}

export type BlockOp =
  | { op: 'prep1' }
  | { op: 'prep2'; mean: Float64Array }
  | { op: 'assign'; c: Float32Array; k: number; first: boolean }
  | { op: 'seedUpdate'; c: Float32Array; m: number; reset: boolean }
  | { op: 'seedTrial'; c: Float32Array; m: number }
  | { op: 'bernoulli'; seed: number; l: number; phi: number }
  | { op: 'countNearest'; c: Float32Array; m: number };

/** Width (float64 values per block) of each operation's partial. */
export function partWidth(op: BlockOp, d: number): number {
  switch (op.op) {
    case 'prep1': return d + 2;
    case 'prep2': return d;
    case 'assign': return op.k * d + op.k + 2;
    case 'seedUpdate': return 1;
    case 'seedTrial': return op.m;
    case 'bernoulli': return 1;
    case 'countNearest': return op.m;
  }
}

export function numBlocks(n: number): number {
  return Math.ceil(n / BLOCK_ROWS);
}

/** Per-thread scratch, grown on demand. */
export class Scratch {
  label = new Int32Array(BLOCK_ROWS);
  d2 = new Float64Array(BLOCK_ROWS);
  dist = new Float64Array(0);
  changed = new Float64Array(1);
  c64 = new Float64Array(0);
  cNorms = new Float64Array(0);

  centers(c: Float32Array, m: number, d: number): void {
    if (this.c64.length < m * d) this.c64 = new Float64Array(m * d);
    if (this.cNorms.length < m) this.cNorms = new Float64Array(m);
    for (let i = 0; i < m * d; i++) this.c64[i] = c[i]!;
    centerSqNorms(this.c64, m, d, this.cNorms);
  }

  distances(size: number): Float64Array {
    if (this.dist.length < size) this.dist = new Float64Array(size);
    return this.dist;
  }
}

/**
 * Run `op` over blocks [b0, b1). Returns the selected rows for 'bernoulli' (increasing order), else null.
 */
export function runBlockOp(buf: RowBuffers, s: Scratch, op: BlockOp, b0: number, b1: number): Int32Array | null {
  const { x, n, d, part } = buf;
  const w = partWidth(op, d);
  if (op.op === 'assign' || op.op === 'seedUpdate' || op.op === 'seedTrial' || op.op === 'countNearest') {
    s.centers(op.c, op.op === 'assign' ? op.k : op.m, d);
  }
  const picked: number[] = [];
  for (let b = b0; b < b1; b++) {
    const r0 = b * BLOCK_ROWS;
    const r1 = Math.min(n, r0 + BLOCK_ROWS);
    const po = b * w;
    part.fill(0, po, po + w);
    switch (op.op) {
      case 'prep1': {
        rowSqNorms(x, d, r0, r1, buf.xNorms.subarray(r0, r1));
        const colSum = part.subarray(po, po + d);
        const first = part.subarray(po + d + 1, po + d + 2);
        first[0] = -1;
        part[po + d] = columnSumsBlock(x, d, r0, r1, colSum, first);
        break;
      }
      case 'prep2':
        columnCenteredSqBlock(x, d, r0, r1, op.mean, part.subarray(po, po + d));
        break;
      case 'assign': {
        const k = op.k;
        nearestBlock(x, d, r0, r1, buf.xNorms, s.c64, s.cNorms, k, s.label, s.d2);
        const sums = part.subarray(po, po + k * d);
        const counts = part.subarray(po + k * d, po + k * d + k);
        part[po + k * d + k] = accumulateBlock(x, d, r0, r1, s.label, s.d2, buf.labels, buf.dist2, op.first, sums, counts, s.changed);
        part[po + k * d + k + 1] = s.changed[0]!;
        break;
      }
      case 'seedUpdate': {
        nearestBlock(x, d, r0, r1, buf.xNorms, s.c64, s.cNorms, op.m, s.label, s.d2);
        const cl = buf.closest;
        let pot = 0;
        for (let i = r0; i < r1; i++) {
          const v = s.d2[i - r0]!;
          const cur = op.reset ? v : Math.min(cl[i]!, v);
          cl[i] = cur;
          pot += cur;
        }
        part[po] = pot;
        break;
      }
      case 'seedTrial': {
        const m = op.m;
        const dist = s.distances((r1 - r0) * m);
        distancesBlock(x, d, r0, r1, buf.xNorms, s.c64, s.cNorms, m, dist);
        const cl = buf.closest;
        for (let i = r0; i < r1; i++) {
          const base = (i - r0) * m;
          const ci = cl[i]!;
          for (let j = 0; j < m; j++) {
            const v = dist[base + j]!;
            part[po + j] = part[po + j]! + (v < ci ? v : ci);
          }
        }
        break;
      }
      case 'countNearest': {
        nearestBlock(x, d, r0, r1, buf.xNorms, s.c64, s.cNorms, op.m, s.label, s.d2);
        for (let i = 0; i < r1 - r0; i++) {
          const q = po + s.label[i]!;
          part[q] = part[q]! + 1;
        }
        break;
      }
      case 'bernoulli': {
        const cl = buf.closest;
        const scale = op.phi > 0 ? op.l / op.phi : 0;
        let cnt = 0;
        for (let i = r0; i < r1; i++) {
          const p = cl[i]! * scale;
          if (p > 0 && hashUniform(op.seed, i) < p) {
            picked.push(i);
            cnt++;
          }
        }
        part[po] = cnt;
        break;
      }
    }
  }
  return op.op === 'bernoulli' ? Int32Array.from(picked) : null;
}
