/**
 * KMeansExecutor over an in-memory row-major float32 matrix, parameterised by how a block operation is run
 * over all blocks (in this thread, or split over worker threads sharing the buffers). All reductions of the
 * per-block partials happen here, sequentially in block order, so every subclass gives bitwise identical
 * results.
 */
import { MetavecError } from '../errors.js';
import { BLOCK_ROWS } from './types.js';
import type {
  AssignStats, DataSummary, FarthestRows, KMeansExecutor, LabelsAndDistances,
} from './types.js';
import { numBlocks, opCenters, partWidth, runBlockOp, Scratch } from './blockOps.js';
import type { BlockOp, RowBuffers } from './blockOps.js';
import { ensureMemory, matrixMemory, newKMeansMemory, scratchBytes, selectedKernel, WASM_IN_PLACE_MAX_BYTES } from './wasm/index.js';
import type { WasmMemory } from './wasm/index.js';

/** The in-process executor copies the matrix into a WASM memory (no per-pass copies) up to this size. */
const IN_PROCESS_WASM_COPY_MAX = 256 * 1024 * 1024;

/**
 * Where the matrix lives for the selected kernel: in a shared WebAssembly memory (WASM kernel in place) when it
 * already does (allocateKMeansMatrix) or when `copy` allows copying it there (at most WASM_IN_PLACE_MAX_BYTES);
 * else `data` itself (the WASM kernel then copies rows chunk by chunk).
 */
export function placeMatrix(data: Float32Array, n: number, d: number, copy: boolean): { x: Float32Array; memory?: WasmMemory } {
  if (selectedKernel() !== 'wasm') return { x: data };
  const known = matrixMemory(data);
  if (known) return { x: data, memory: known };
  const bytes = 4 * n * d;
  if (!copy || bytes > WASM_IN_PLACE_MAX_BYTES) return { x: data };
  const memory = newKMeansMemory(bytes);
  const x = new Float32Array(memory.buffer, 0, n * d);
  x.set(data);
  return { x, memory };
}

export type Allocator = (length: number) => ArrayBufferLike;

/**
 * When the rows of one problem are split over several executors (MPI ranks), each holds a contiguous,
 * block-aligned range of global rows, and every reduced vector is combined over all executors by `combine`
 * (the same fixed order on every executor). Without a share an executor holds all rows.
 */
export interface RowShare {
  /** Global index of this executor's first row (a multiple of BLOCK_ROWS). */
  rowBase: number;
  /** Rows over all executors. */
  nTotal: number;
  /** Element-wise sum of `v` over all executors, in a fixed order (identical result on every executor). */
  combine(v: Float64Array): Float64Array;
  /** Smallest non-negative `v` over all executors, or -1 when none is. */
  minIndex(v: number): number;
}

export abstract class BlockExecutor implements KMeansExecutor {
  readonly n: number;
  readonly d: number;
  protected readonly nBlocks: number;
  protected readonly buf: RowBuffers;
  private summary: DataSummary | undefined;
  /** Per-block sums of `closest` from the last seedUpdate() (this executor's blocks). */
  private potBlocks = new Float64Array(0);
  /** Kernel of this executor's scratch/workers (pruned assign only with 'wasm'). */
  protected readonly kernel = selectedKernel();
  /** Exact pruning of the assign step (WASM kernel; METAVEC_KMEANS_PRUNE=0 disables it, for tests/measurements). */
  private readonly pruning = this.kernel === 'wasm' && process.env.METAVEC_KMEANS_PRUNE !== '0';
  /** Centers of the previous assign() (its labels and lower bounds are in buf), for exact pruning. */
  private prevCenters: Float32Array | null = null;
  /** Byte offset of the first per-task scratch region in buf.wasmMemory. */
  protected readonly slotsStart: number;

  protected constructor(
    x: Float32Array, n: number, d: number, private readonly alloc: Allocator, wasmMemory?: WasmMemory,
    private readonly share?: RowShare,
  ) {
    this.n = n;
    this.d = d;
    this.nBlocks = numBlocks(n);
    this.slotsStart = (x.byteOffset + 4 * n * d + 63) & ~63;
    this.buf = {
      x, n, d,
      xNorms: new Float64Array(alloc(8 * n)),
      labels: new Int32Array(alloc(4 * n)),
      dist2: new Float64Array(alloc(8 * n)),
      closest: new Float64Array(alloc(8 * n)),
      lower: new Float64Array(alloc(8 * n)),
      part: new Float64Array(alloc(8 * this.nBlocks * (d + 2))),
      wasmMemory,
    };
  }

  /**
   * When the matrix is in a WASM memory: grow it for `nSlots` scratch regions for `op` and return their stride
   * (region i at slotsStart + i * stride); else -1.
   */
  protected slotStride(op: BlockOp, nSlots: number): number {
    const mem = this.buf.wasmMemory;
    if (!mem) return -1;
    const stride = (scratchBytes(Math.max(1, opCenters(op)), this.d, true) + 63) & ~63;
    ensureMemory(mem, this.slotsStart + nSlots * stride);
    return stride;
  }

  /** Run `op` over all blocks [0, nBlocks); for 'bernoulli' return the picked rows of consecutive block ranges in order. */
  protected abstract runAll(op: BlockOp): Promise<Int32Array[]>;

  private async exec(op: BlockOp): Promise<{ part: Float64Array; w: number; picked: Int32Array[] }> {
    const w = partWidth(op, this.d);
    if (this.buf.part.length < this.nBlocks * w) {
      this.buf.part = new Float64Array(this.alloc(8 * Math.max(this.nBlocks * w, 2 * this.buf.part.length)));
    }
    const picked = await this.runAll(op);
    return { part: this.buf.part, w, picked };
  }

  /** Sum of this executor's `closest` (its blocks in order) as of the last seedUpdate(). */
  localPotential(): number {
    let s = 0;
    for (const v of this.potBlocks) s += v;
    return s;
  }

  /** This executor's rows (row-major n*d). */
  rowsView(): Float32Array {
    return this.buf.x;
  }

  /** Combine a reduced vector over the executors sharing the rows (identity when this one holds them all). */
  private combine(v: Float64Array): Float64Array {
    return this.share ? this.share.combine(v) : v;
  }

  /** out[j] = sum over blocks b (in order) of part[b*w + off + j], j < len. */
  private reduce(part: Float64Array, w: number, off: number, len: number, out: Float64Array): Float64Array {
    for (let b = 0; b < this.nBlocks; b++) {
      const po = b * w + off;
      for (let j = 0; j < len; j++) out[j] = out[j]! + part[po + j]!;
    }
    return out;
  }

  async prepare(): Promise<DataSummary> {
    if (this.summary) return this.summary;
    const { d } = this;
    const n = this.share ? this.share.nTotal : this.n;
    const r1 = await this.exec({ op: 'prep1' });
    const local = this.reduce(r1.part, r1.w, 0, d, new Float64Array(d + 1)); // [column sums, non-finite count]
    let firstBad = -1;
    for (let b = 0; b < this.nBlocks; b++) {
      const nb = r1.part[b * r1.w + d]!;
      if (nb > 0 && firstBad < 0) firstBad = r1.part[b * r1.w + d + 1]!;
      local[d] = local[d]! + nb;
    }
    const colSum = this.combine(local);
    const bad = colSum[d]!;
    if (this.share) firstBad = this.share.minIndex(firstBad < 0 ? -1 : firstBad + this.share.rowBase * d);
    let meanVariance = NaN;
    if (bad === 0) {
      const mean = new Float64Array(d);
      for (let t = 0; t < d; t++) mean[t] = colSum[t]! / n;
      const r2 = await this.exec({ op: 'prep2', mean });
      const sq = this.combine(this.reduce(r2.part, r2.w, 0, d, new Float64Array(d)));
      let s = 0;
      for (let t = 0; t < d; t++) s += sq[t]! / n;
      meanVariance = s / d;
    }
    this.summary = { n, d, meanVariance, nonFinite: bad, firstNonFinite: firstBad };
    return this.summary;
  }

  getRows(indices: Int32Array): Promise<Float32Array> {
    const { d, buf } = this;
    const out = new Float32Array(indices.length * d);
    for (let i = 0; i < indices.length; i++) {
      const r = indices[i]!;
      out.set(buf.x.subarray(r * d, r * d + d), i * d);
    }
    return Promise.resolve(out);
  }

  async seedUpdate(centers: Float32Array, m: number, reset: boolean): Promise<number> {
    const r = await this.exec({ op: 'seedUpdate', c: centers, m, reset });
    this.potBlocks = new Float64Array(this.nBlocks);
    let total = 0;
    for (let b = 0; b < this.nBlocks; b++) {
      const v = r.part[b * r.w]!;
      this.potBlocks[b] = v;
      total += v;
    }
    return this.share ? this.combine(Float64Array.of(total))[0]! : total;
  }

  seedSample(targets: Float64Array): Promise<Int32Array> {
    const { n, nBlocks } = this;
    const cl = this.buf.closest;
    const out = new Int32Array(targets.length);
    for (let q = 0; q < targets.length; q++) {
      const t = targets[q]!;
      // First row whose cumulative D^2 exceeds t (numpy searchsorted side='right'): never a zero-weight row.
      let cum = 0;
      let b = 0;
      while (b < nBlocks - 1 && cum + this.potBlocks[b]! <= t) cum += this.potBlocks[b++]!;
      const r0 = b * BLOCK_ROWS;
      const r1 = Math.min(n, r0 + BLOCK_ROWS);
      let pick = -1;
      let lastPositive = -1;
      for (let i = r0; i < r1; i++) {
        const v = cl[i]!;
        if (v > 0) lastPositive = i;
        cum += v;
        if (cum > t && v > 0) { pick = i; break; }
      }
      if (pick < 0) pick = lastPositive >= 0 ? lastPositive : this.lastPositiveRow();
      out[q] = pick;
    }
    return Promise.resolve(out);
  }

  private lastPositiveRow(): number {
    const cl = this.buf.closest;
    for (let i = this.n - 1; i >= 0; i--) if (cl[i]! > 0) return i;
    return this.n - 1;
  }

  async seedTrial(candidates: Float32Array, m: number): Promise<Float64Array> {
    const r = await this.exec({ op: 'seedTrial', c: candidates, m });
    return this.combine(this.reduce(r.part, r.w, 0, m, new Float64Array(m)));
  }

  async seedBernoulli(seed: number, l: number, phi: number): Promise<Int32Array> {
    const r = await this.exec({ op: 'bernoulli', seed, l, phi, base: this.share?.rowBase ?? 0 });
    let total = 0;
    for (const p of r.picked) total += p.length;
    const out = new Int32Array(total);
    let o = 0;
    for (const p of r.picked) { out.set(p, o); o += p.length; }
    return out;
  }

  async countNearest(centers: Float32Array, m: number): Promise<Float64Array> {
    const r = await this.exec({ op: 'countNearest', c: centers, m });
    return this.combine(this.reduce(r.part, r.w, 0, m, new Float64Array(m)));
  }

  async assign(centroids: Float32Array, k: number, first: boolean): Promise<AssignStats> {
    const { d } = this;
    const prune = !first && this.pruning ? this.pruneShifts(centroids, k) : null;
    this.prevCenters = null;
    const r = await this.exec({ op: 'assign', c: centroids, k, first, prune });
    if (this.kernel === 'wasm') this.prevCenters = Float32Array.from(centroids.subarray(0, k * d));
    // One vector (sums | counts | inertia, changed): each element is reduced on its own, so this is the same
    // arithmetic as three separate reductions, and a rank share combines it in one message.
    const all = this.combine(this.reduce(r.part, r.w, 0, k * d + k + 2, new Float64Array(k * d + k + 2)));
    const sums = all.subarray(0, k * d);
    const counts = all.subarray(k * d, k * d + k);
    return { sums, counts, inertia: all[k * d + k]!, changed: all[k * d + k + 1]! };
  }

  /**
   * For exact pruning: out[a] >= max over centers j != a of the distance c_j moved since the previous assign
   * (float64, inflated by a relative 1e-9 against rounding); null when the previous assign had other k.
   */
  private pruneShifts(c: Float32Array, k: number): Float64Array | null {
    const prev = this.prevCenters;
    const d = this.d;
    if (!prev || prev.length !== k * d) return null;
    const shift = new Float64Array(k);
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) {
        const v = c[j * d + t]! - prev[j * d + t]!;
        s += v * v;
      }
      shift[j] = Math.sqrt(s) * (1 + 1e-9);
    }
    const out = new Float64Array(k);
    for (let a = 0; a < k; a++) {
      let mx = 0;
      for (let j = 0; j < k; j++) if (j !== a && shift[j]! > mx) mx = shift[j]!;
      out[a] = mx;
    }
    return out;
  }

  farthest(count: number): Promise<FarthestRows> {
    const { dist2, labels } = this.buf;
    const c = Math.min(count, this.n);
    // Keep the top-c (largest dist2, then lowest row) in a small sorted list.
    const rows: number[] = [];
    for (let i = 0; i < this.n; i++) {
      const v = dist2[i]!;
      if (rows.length === c && !(v > dist2[rows[c - 1]!]!)) continue;
      let p = rows.length;
      while (p > 0 && dist2[rows[p - 1]!]! < v) p--;
      rows.splice(p, 0, i);
      if (rows.length > c) rows.pop();
    }
    return Promise.resolve({
      rows: Int32Array.from(rows),
      labels: Int32Array.from(rows, (r) => labels[r]!),
      dist2: Float64Array.from(rows, (r) => dist2[r]!),
    });
  }

  async labelsAndDistances(centroids: Float32Array, k: number): Promise<LabelsAndDistances> {
    const st = await this.assign(centroids, k, true);
    const labels = Int32Array.from(this.buf.labels);
    const distances = new Float32Array(this.n);
    const dist2 = this.buf.dist2;
    for (let i = 0; i < this.n; i++) distances[i] = Math.sqrt(dist2[i]!);
    const clusterSize = Int32Array.from(st.counts);
    return { labels, distances, clusterSize, inertia: st.inertia };
  }
}

/** Executor running every block in the calling thread (small data, tests, the reference for the pool). */
export class InProcessExecutor extends BlockExecutor {
  private readonly scratch = new Scratch();

  constructor(data: Float32Array, n: number, d: number) {
    checkShape(data, n, d);
    const placed = placeMatrix(data, n, d, 4 * n * d <= IN_PROCESS_WASM_COPY_MAX);
    super(placed.x, n, d, (len) => new ArrayBuffer(len), placed.memory);
  }

  protected runAll(op: BlockOp): Promise<Int32Array[]> {
    const slot = this.slotStride(op, 1) >= 0 ? this.slotsStart : -1;
    const picked = runBlockOp(this.buf, this.scratch, op, 0, this.nBlocks, slot);
    return Promise.resolve(picked ? [picked] : []);
  }
}

export function checkShape(data: Float32Array, n: number, d: number): void {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(d) || d < 1) {
    throw new MetavecError('USAGE', `kmeans: n and d must be positive integers (n=${n}, d=${d})`);
  }
  if (data.length !== n * d) {
    throw new MetavecError('USAGE', `kmeans: data has ${data.length} values, expected n*d = ${n}*${d} = ${n * d}`);
  }
}

/** In-process executor (no threads). */
export function createInProcessExecutor(data: Float32Array, n: number, d: number): KMeansExecutor {
  return new InProcessExecutor(data, n, d);
}
