/**
 * Block operations shared by every executor that holds rows in memory (the in-process executor and the
 * piscina workers): each operation processes whole blocks [b0, b1) of BLOCK_ROWS rows and writes one
 * fixed-width float64 partial per block into `part` (block b at b*width). The caller reduces the partials in
 * block order. Pure over the typed arrays it is given (which may be SharedArrayBuffer views).
 */
import { BLOCK_ROWS } from './types.js';
import {
  accumulateBlock, accumulateLabels, centerSqNorms, columnCenteredSqBlock, columnSumsBlock, distancesBlock, nearestBlock, rowSqNorms,
} from './kernels.js';
import { hashUniform } from './rng.js';
import { newKMeansMemory, selectedKernel, WasmKernels } from './wasm/index.js';
import type { KernelKind, WasmMemory } from './wasm/index.js';

export interface RowBuffers {
  x: Float32Array;
  n: number;
  d: number;
  xNorms: Float64Array;
  labels: Int32Array;
  dist2: Float64Array;
  closest: Float64Array;
  /** Lower bound of each row's distance to every center but its own (WASM assign; for exact pruning). */
  lower: Float64Array;
  /** Per-block partials, nBlocks * width for the current operation. */
  part: Float64Array;
  /** The shared WebAssembly memory `x` is a view on (WASM kernel in place), if any. */
  wasmMemory?: WasmMemory | undefined;
}

export type BlockOp =
  | { op: 'prep1' }
  | { op: 'prep2'; mean: Float64Array }
  /** prune (WASM kernel only): per center a, the largest distance any other center moved since the previous assign. */
  | { op: 'assign'; c: Float32Array; k: number; first: boolean; prune?: Float64Array | null }
  | { op: 'seedUpdate'; c: Float32Array; m: number; reset: boolean }
  | { op: 'seedTrial'; c: Float32Array; m: number }
  /** base: global index of row 0 of these buffers (the uniform draw of a row depends on its global index). */
  | { op: 'bernoulli'; seed: number; l: number; phi: number; base?: number }
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

/**
 * Per-thread scratch, grown on demand, and the kernel implementation ('js' or 'wasm': bit-identical results,
 * see wasm/emitters.ts); default from METAVEC_KMEANS_KERNEL.
 */
export class Scratch {
  readonly kernel: KernelKind;
  private privateKernels: WasmKernels | undefined;
  private sharedKernels: WasmKernels | undefined;
  private current: WasmKernels | undefined;
  label = new Int32Array(BLOCK_ROWS);
  d2 = new Float64Array(BLOCK_ROWS);
  dist = new Float64Array(0);
  changed = new Float64Array(1);
  c64 = new Float64Array(0);
  cNorms = new Float64Array(0);

  constructor(kernel: KernelKind = selectedKernel()) {
    this.kernel = kernel;
  }

  /**
   * Select the WASM instance for `buf`: over buf.wasmMemory with the matrix in place and this task's scratch
   * region at slotBase, or over a private memory (rows copied in chunk by chunk).
   */
  bind(buf: RowBuffers, slotBase: number): void {
    if (this.kernel !== 'wasm') return;
    if (buf.wasmMemory && slotBase >= 0) {
      if (this.sharedKernels?.memory !== buf.wasmMemory) this.sharedKernels = new WasmKernels(buf.wasmMemory);
      this.current = this.sharedKernels;
      this.current.place(slotBase, buf.x.byteOffset);
    } else {
      this.privateKernels ??= new WasmKernels(newKMeansMemory(0));
      this.current = this.privateKernels;
      this.current.place(0, -1);
    }
  }

  get wasm(): WasmKernels {
    if (!this.current) throw new Error('Scratch.bind() was not called');
    return this.current;
  }

  /** Load m centers (float64 copy and squared norms; into the WASM instance too, transposed or row-major). */
  centers(c: Float32Array, m: number, d: number, transposed = true): void {
    if (this.c64.length < m * d) this.c64 = new Float64Array(m * d);
    if (this.cNorms.length < m) this.cNorms = new Float64Array(m);
    for (let i = 0; i < m * d; i++) this.c64[i] = c[i]!;
    centerSqNorms(this.c64, m, d, this.cNorms);
    if (this.kernel === 'wasm') this.wasm.setCenters(this.c64, this.cNorms, m, d, transposed);
  }

  /** nearestBlock of rows [r0, r1) against the loaded centers into label/d2. */
  nearest(buf: RowBuffers, r0: number, r1: number, m: number): void {
    if (this.kernel === 'wasm') this.wasm.nearest(buf.x, r0, r1, buf.xNorms, this.label, this.d2);
    else nearestBlock(buf.x, buf.d, r0, r1, buf.xNorms, this.c64, this.cNorms, m, this.label, this.d2);
  }

  distances(size: number): Float64Array {
    if (this.dist.length < size) this.dist = new Float64Array(size);
    return this.dist;
  }
}

/** Centers an operation loads (0: none). */
export function opCenters(op: BlockOp): number {
  switch (op.op) {
    case 'assign': return op.k;
    case 'seedUpdate': case 'seedTrial': case 'countNearest': return op.m;
    default: return 0;
  }
}

/**
 * Run `op` over blocks [b0, b1); slotBase: byte offset of this task's scratch region in buf.wasmMemory (-1: none).
 * Returns the selected rows for 'bernoulli' (increasing order), else null.
 * One small function per operation keeps each hot loop's type feedback monomorphic.
 */
export function runBlockOp(buf: RowBuffers, s: Scratch, op: BlockOp, b0: number, b1: number, slotBase = -1): Int32Array | null {
  const w = partWidth(op, buf.d);
  s.bind(buf, slotBase);
  switch (op.op) {
    case 'prep1': for (let b = b0; b < b1; b++) opPrep1(buf, b, w); return null;
    case 'prep2': for (let b = b0; b < b1; b++) opPrep2(buf, b, w, op.mean); return null;
    case 'assign':
      s.centers(op.c, op.k, buf.d);
      if (op.prune && s.kernel !== 'wasm') throw new Error('assign: pruning needs the WASM kernel');
      for (let b = b0; b < b1; b++) opAssign(buf, s, b, w, op.k, op.first, op.prune ?? null);
      return null;
    case 'seedUpdate':
      s.centers(op.c, op.m, buf.d);
      for (let b = b0; b < b1; b++) opSeedUpdate(buf, s, b, w, op.m, op.reset);
      return null;
    case 'seedTrial':
      s.centers(op.c, op.m, buf.d, false);
      for (let b = b0; b < b1; b++) opSeedTrial(buf, s, b, w, op.m);
      return null;
    case 'countNearest':
      s.centers(op.c, op.m, buf.d);
      for (let b = b0; b < b1; b++) opCountNearest(buf, s, b, w, op.m);
      return null;
    case 'bernoulli': {
      const picked: number[] = [];
      for (let b = b0; b < b1; b++) opBernoulli(buf, b, w, op.seed, op.l, op.phi, op.base ?? 0, picked);
      return Int32Array.from(picked);
    }
  }
}

function blockRange(buf: RowBuffers, b: number): [number, number] {
  const r0 = b * BLOCK_ROWS;
  return [r0, Math.min(buf.n, r0 + BLOCK_ROWS)];
}

function opPrep1(buf: RowBuffers, b: number, w: number): void {
  const { x, d, part } = buf;
  const [r0, r1] = blockRange(buf, b);
  const po = b * w;
  part.fill(0, po, po + w);
  rowSqNorms(x, d, r0, r1, buf.xNorms.subarray(r0, r1));
  const first = part.subarray(po + d + 1, po + d + 2);
  first[0] = -1;
  part[po + d] = columnSumsBlock(x, d, r0, r1, part.subarray(po, po + d), first);
}

function opPrep2(buf: RowBuffers, b: number, w: number, mean: Float64Array): void {
  const { x, d, part } = buf;
  const [r0, r1] = blockRange(buf, b);
  const po = b * w;
  part.fill(0, po, po + w);
  columnCenteredSqBlock(x, d, r0, r1, mean, part.subarray(po, po + d));
}

function opAssign(buf: RowBuffers, s: Scratch, b: number, w: number, k: number, first: boolean, prune: Float64Array | null): void {
  const { x, d, part } = buf;
  const [r0, r1] = blockRange(buf, b);
  const po = b * w;
  part.fill(0, po, po + w);
  const sums = part.subarray(po, po + k * d);
  const counts = part.subarray(po + k * d, po + k * d + k);
  if (s.kernel === 'wasm') {
    s.wasm.assign(x, r0, r1, buf.xNorms, buf.labels, buf.lower, first ? null : prune, s.label, s.d2, sums);
    part[po + k * d + k] = accumulateLabels(r0, r1, s.label, s.d2, buf.labels, buf.dist2, first, counts, s.changed);
  } else {
    nearestBlock(x, d, r0, r1, buf.xNorms, s.c64, s.cNorms, k, s.label, s.d2);
    part[po + k * d + k] = accumulateBlock(x, d, r0, r1, s.label, s.d2, buf.labels, buf.dist2, first, sums, counts, s.changed);
  }
  part[po + k * d + k + 1] = s.changed[0]!;
}

function opSeedUpdate(buf: RowBuffers, s: Scratch, b: number, w: number, m: number, reset: boolean): void {
  const [r0, r1] = blockRange(buf, b);
  s.nearest(buf, r0, r1, m);
  const cl = buf.closest;
  const d2 = s.d2;
  let pot = 0;
  for (let i = r0; i < r1; i++) {
    const v = d2[i - r0]!;
    const cur = reset ? v : Math.min(cl[i]!, v);
    cl[i] = cur;
    pot += cur;
  }
  buf.part[b * w] = pot;
}

function opSeedTrial(buf: RowBuffers, s: Scratch, b: number, w: number, m: number): void {
  const { x, d, part } = buf;
  const [r0, r1] = blockRange(buf, b);
  const po = b * w;
  if (s.kernel === 'wasm') {
    s.wasm.trial(x, r0, r1, buf.xNorms, buf.closest, part.subarray(po, po + m));
    return;
  }
  const dist = s.distances((r1 - r0) * m);
  distancesBlock(x, d, r0, r1, buf.xNorms, s.c64, s.cNorms, m, dist);
  const cl = buf.closest;
  for (let j = 0; j < m; j++) {
    let acc = 0;
    for (let i = r0; i < r1; i++) {
      const v = dist[(i - r0) * m + j]!;
      const ci = cl[i]!;
      acc += v < ci ? v : ci;
    }
    part[po + j] = acc;
  }
}

function opCountNearest(buf: RowBuffers, s: Scratch, b: number, w: number, m: number): void {
  const { part } = buf;
  const [r0, r1] = blockRange(buf, b);
  const po = b * w;
  part.fill(0, po, po + w);
  s.nearest(buf, r0, r1, m);
  for (let i = 0; i < r1 - r0; i++) {
    const q = po + s.label[i]!;
    part[q] = part[q]! + 1;
  }
}

function opBernoulli(buf: RowBuffers, b: number, w: number, seed: number, l: number, phi: number, base: number, picked: number[]): void {
  const [r0, r1] = blockRange(buf, b);
  const cl = buf.closest;
  const scale = phi > 0 ? l / phi : 0;
  let cnt = 0;
  for (let i = r0; i < r1; i++) {
    const p = cl[i]! * scale;
    if (p > 0 && hashUniform(seed, base + i) < p) {
      picked.push(i);
      cnt++;
    }
  }
  buf.part[b * w] = cnt;
}
