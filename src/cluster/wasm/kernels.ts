/**
 * The WASM k-means kernels as an object a thread calls: one instance per Scratch (per thread), memory laid out
 * per operation. Rows are copied from the (shared) matrix into the instance's own memory in chunks of CHUNK_ROWS
 * rows (L2-sized) right before they are used, so the copy mostly costs the DRAM read the kernel would need
 * anyway; a matrix from allocateKMeansMatrix is used in place.
 */
import { MetavecError } from '../../errors.js';
import { align16, CHUNK_ROWS, ensureMemory } from './memory.js';
import { kmeansWasmModule, WA, type WasmMemory } from './select.js';

interface Exports {
  nearest(this: void, xP: number, rows: number, d: number, xnP: number, ctP: number, cnP: number, m: number, mPad: number, labP: number, d2P: number, secP: number): void;
  nearestTall(this: void, xP: number, rows: number, d: number, xnP: number, ctP: number, cnP: number, m: number, mPad: number, labP: number, d2P: number, secP: number): void;
  own(xP: number, rows: number, d: number, xnP: number, ctP: number, cnP: number, mPad: number, labP: number, dP: number): void;
  trial(xP: number, rows: number, d: number, xnP: number, cP: number, cnP: number, m: number, clP: number, accP: number): void;
  accum(xP: number, rows: number, d: number, labP: number, sumsP: number): void;
}

/**
 * Relative safety margin of the exact pruning test (see WasmKernels.assign): E = PRUNE_EPS (||x|| + max ||c||)^2
 * bounds the float64 rounding error of a computed squared distance (actual bound ~ 2 (d + 3) 2^-53 (||x|| +
 * ||c||)^2 ~ 3e-14 for d = 136) with a large safety factor.
 */
export const PRUNE_EPS = 1e-9;

/** Rows of pruned assign passes that kept their label without a full distance computation, and the others (this thread). */
export const pruneStats = { pruned: 0, full: 0 };

/** Lower bound of the distances to every other center, from the second-smallest computed squared distance. */
function lowerBound(sec: number, e: number): number {
  const v = sec - e;
  return v > 0 ? Math.sqrt(v) * (1 - 1e-12) : 0;
}

/**
 * One instance of the kernels over a shared memory. Either the matrix lives in that memory (in place: xOffset
 * = byte offset of the Float32Array view; nothing is copied) or rows are copied into the scratch region chunk by
 * chunk. The scratch region [base, base + scratchBytes) is private to the calling thread/task.
 */
export class WasmKernels {
  private readonly ex: Exports;
  private f32: Float32Array<ArrayBufferLike> = new Float32Array(0);
  private f64: Float64Array<ArrayBufferLike> = new Float64Array(0);
  private i32: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private base = 0;
  private xOffset = -1;
  // Byte offsets of the current layout.
  private cP = 0; private cnP = 0; private sumsP = 0; private accP = 0;
  private xP = 0; private xnP = 0; private clP = 0; private labP = 0; private d2P = 0; private secP = 0;
  // Gathered rows of the pruned assign (rows that need all distances).
  private gP = 0; private gxnP = 0; private gd2P = 0; private gsecP = 0; private glabP = 0;
  private readonly gIdx = new Int32Array(CHUNK_ROWS);
  private m = 0; private mPad = 0; private d = 0;

  constructor(readonly memory: WasmMemory) {
    const mod = kmeansWasmModule();
    if (!mod || !WA) throw new MetavecError('INTERNAL', 'WebAssembly SIMD is not available');
    this.ex = new WA.Instance(mod, { env: { mem: memory } }).exports as Exports;
    this.views();
  }

  private views(): void {
    const b = this.memory.buffer;
    this.f32 = new Float32Array(b);
    this.f64 = new Float64Array(b);
    this.i32 = new Int32Array(b);
  }

  /** Scratch region start (16-aligned) and where the matrix is (byte offset in the memory, or -1: copy rows in). */
  place(base: number, xOffset: number): void {
    this.base = base;
    this.xOffset = xOffset;
  }

  /** Lay out the scratch region for m centers of dimension d (plus m*d sums) and load them (transposed or row-major). */
  setCenters(c64: Float64Array, cNorms: Float64Array, m: number, d: number, transposed: boolean): void {
    const mPad = m + (m & 1);
    let p = this.base;
    this.cP = p; p = align16(p + 8 * mPad * d);
    this.cnP = p; p = align16(p + 8 * mPad);
    this.sumsP = p; p = align16(p + 8 * m * d);
    this.accP = p; p = align16(p + 8 * m);
    if (this.xOffset < 0) { this.xP = p; p = align16(p + 4 * CHUNK_ROWS * d); }
    this.xnP = p; p = align16(p + 8 * CHUNK_ROWS);
    this.clP = p; p = align16(p + 8 * CHUNK_ROWS);
    this.d2P = p; p = align16(p + 8 * CHUNK_ROWS);
    this.secP = p; p = align16(p + 8 * CHUNK_ROWS);
    this.labP = p; p = align16(p + 4 * CHUNK_ROWS);
    this.gP = p; p = align16(p + 4 * CHUNK_ROWS * d);
    this.gxnP = p; p = align16(p + 8 * CHUNK_ROWS);
    this.gd2P = p; p = align16(p + 8 * CHUNK_ROWS);
    this.gsecP = p; p = align16(p + 8 * CHUNK_ROWS);
    this.glabP = p; p = align16(p + 4 * CHUNK_ROWS);
    ensureMemory(this.memory, p);
    if (this.f64.buffer.byteLength < p) this.views();
    this.m = m; this.mPad = mPad; this.d = d;
    const f64 = this.f64;
    const c0 = this.cP / 8;
    if (transposed) {
      for (let j = 0; j < m; j++) for (let t = 0; t < d; t++) f64[c0 + t * mPad + j] = c64[j * d + t]!;
      if (mPad > m) for (let t = 0; t < d; t++) f64[c0 + t * mPad + m] = 0;
    } else {
      f64.set(c64.subarray(0, m * d), c0);
    }
    f64.set(cNorms.subarray(0, m), this.cnP / 8);
  }

  /** Rows [a, b): their byte address for the kernel (copied into the scratch region unless in place); norms copied. */
  private loadRows(x: Float32Array, xNorms: Float64Array, a: number, b: number): number {
    const d = this.d;
    this.f64.set(xNorms.subarray(a, b), this.xnP / 8);
    if (this.xOffset >= 0) return this.xOffset + 4 * a * d;
    this.f32.set(x.subarray(a * d, b * d), this.xP / 4);
    return this.xP;
  }

  private nearestCall(xP: number, rows: number, xnP: number, labP: number, d2P: number, secP: number): void {
    // Few centers: 4 rows x 2 centers per tile (more independent accumulators); else 2 rows x 8 centers.
    (this.mPad <= 2 ? this.ex.nearestTall : this.ex.nearest)(xP, rows, this.d, xnP, this.cP, this.cnP, this.m, this.mPad, labP, d2P, secP);
  }

  /** nearestBlock over rows [r0, r1) with the centers of setCenters(..., transposed=true). */
  nearest(x: Float32Array, r0: number, r1: number, xNorms: Float64Array, outLabel: Int32Array, outD2: Float64Array): void {
    for (let a = r0; a < r1; a += CHUNK_ROWS) {
      const b = Math.min(r1, a + CHUNK_ROWS);
      const xP = this.loadRows(x, xNorms, a, b);
      this.nearestCall(xP, b - a, this.xnP, this.labP, this.d2P, this.secP);
      outLabel.set(this.i32.subarray(this.labP / 4, this.labP / 4 + (b - a)), a - r0);
      outD2.set(this.f64.subarray(this.d2P / 8, this.d2P / 8 + (b - a)), a - r0);
    }
  }

  /**
   * The assign step of rows [r0, r1): labels/d2 as nearestBlock into outLabel/outD2 (block-relative), the block's
   * coordinate sums (k*d float64 from 0, rows in order) into sumsOut, and lower[i] (global rows) = a lower bound
   * of the distance of row i to every center other than its own.
   *
   * Exact pruning (Hamerly 2010 with a rounding margin), when maxOther is given (maxOther[a] >= the largest
   * distance moved by any center other than a since the previous assign, whose labels are in `labels`): row i
   * keeps its label a without computing the other distances when its computed squared distance to c_a is below
   * l^2 - E (l = lower[i] - maxOther[a], E = PRUNE_EPS (||x|| + max ||c||)^2 >> the rounding error): then every
   * other center's computed value exceeds a's, so the full kernel would have chosen a too, and d2 is computed by
   * the same operations as in the full kernel. Labels, distances and sums are therefore bit-identical.
   */
  assign(
    x: Float32Array, r0: number, r1: number, xNorms: Float64Array, labels: Int32Array, lower: Float64Array,
    maxOther: Float64Array | null, outLabel: Int32Array, outD2: Float64Array, sumsOut: Float64Array,
  ): void {
    const { d, m } = this;
    const f64 = this.f64, i32 = this.i32, f32 = this.f32;
    const s0 = this.sumsP / 8;
    f64.fill(0, s0, s0 + m * d);
    let cMax = 0;
    for (let j = 0; j < m; j++) cMax = Math.max(cMax, f64[this.cnP / 8 + j]!);
    const cMaxNorm = Math.sqrt(cMax);
    const lab0 = this.labP / 4, d20 = this.d2P / 8, sec0 = this.secP / 8;
    for (let a = r0; a < r1; a += CHUNK_ROWS) {
      const b = Math.min(r1, a + CHUNK_ROWS);
      const rows = b - a;
      const xP = this.loadRows(x, xNorms, a, b);
      if (maxOther) {
        i32.set(labels.subarray(a, b), lab0);
        this.ex.own(xP, rows, d, this.xnP, this.cP, this.cnP, this.mPad, this.labP, this.d2P);
        let g = 0;
        const gx0 = this.gP / 4, gxn0 = this.gxnP / 8;
        for (let i = a; i < b; i++) {
          const la = labels[i]!;
          const l = lower[i]! - maxOther[la]!;
          const dd = f64[d20 + i - a]!;
          const xn = xNorms[i]!;
          const rn = Math.sqrt(xn) + cMaxNorm;
          if (l > 0 && dd < l * l - PRUNE_EPS * rn * rn) {
            outLabel[i - r0] = la;
            outD2[i - r0] = dd > 0 ? dd : 0;
            lower[i] = l;
          } else {
            f32.set(x.subarray(i * d, i * d + d), gx0 + g * d);
            f64[gxn0 + g] = xn;
            this.gIdx[g++] = i;
          }
        }
        pruneStats.pruned += rows - g;
        pruneStats.full += g;
        if (g > 0) {
          this.nearestCall(this.gP, g, this.gxnP, this.glabP, this.gd2P, this.gsecP);
          const gl0 = this.glabP / 4, gd0 = this.gd2P / 8, gs0 = this.gsecP / 8;
          for (let q = 0; q < g; q++) {
            const i = this.gIdx[q]!;
            outLabel[i - r0] = i32[gl0 + q]!;
            outD2[i - r0] = f64[gd0 + q]!;
            const rn = Math.sqrt(xNorms[i]!) + cMaxNorm;
            lower[i] = lowerBound(f64[gs0 + q]!, PRUNE_EPS * rn * rn);
          }
        }
        i32.set(outLabel.subarray(a - r0, b - r0), lab0);
      } else {
        this.nearestCall(xP, rows, this.xnP, this.labP, this.d2P, this.secP);
        outLabel.set(i32.subarray(lab0, lab0 + rows), a - r0);
        outD2.set(f64.subarray(d20, d20 + rows), a - r0);
        for (let i = a; i < b; i++) {
          const rn = Math.sqrt(xNorms[i]!) + cMaxNorm;
          lower[i] = lowerBound(f64[sec0 + i - a]!, PRUNE_EPS * rn * rn);
        }
      }
      this.ex.accum(xP, rows, d, this.labP, this.sumsP);
    }
    sumsOut.set(f64.subarray(s0, s0 + m * d));
  }

  /** The seedTrial partial of rows [r0, r1): out[j] = sum_i min(dist(i, j), closest[i]) (setCenters row-major). */
  trial(x: Float32Array, r0: number, r1: number, xNorms: Float64Array, closest: Float64Array, out: Float64Array): void {
    const { d, m } = this;
    const a0 = this.accP / 8;
    this.f64.fill(0, a0, a0 + m);
    for (let a = r0; a < r1; a += CHUNK_ROWS) {
      const b = Math.min(r1, a + CHUNK_ROWS);
      const xP = this.loadRows(x, xNorms, a, b);
      this.f64.set(closest.subarray(a, b), this.clP / 8);
      this.ex.trial(xP, b - a, d, this.xnP, this.cP, this.cnP, m, this.clP, this.accP);
    }
    out.set(this.f64.subarray(a0, a0 + m));
  }
}
