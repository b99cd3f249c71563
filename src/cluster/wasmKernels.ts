/**
 * WebAssembly SIMD versions of the hot k-means kernels, emitted as module bytes by a tiny hand-written binary
 * encoder at load time (no .wasm blob, no build tool).
 *
 * Bit-identical to the JS kernels (kernels.ts) by construction: every distance is computed with the same
 * float64 operations in the same order. Products of two float32 values are exact in float64, so only the
 * summation order matters, and it is kept:
 *  - nearest (nearestBlock): one sequential float64 dot-product accumulator per (row, center), vectorised ACROSS
 *    centers (f64x2 lanes = 2 centers; the centers are stored transposed, t-major), register-blocked 2 rows x 8
 *    centers; argmin in increasing center order with strict <, as in JS.
 *  - trial (distancesBlock + the min(closest) sums of seedTrial): the JS 4-way split accumulators a0..a3 (t mod 4)
 *    are exactly two f64x2 accumulators along t; then ((a0 + a1) + a2) + a3.
 *  - accum (the coordinate sums of accumulateBlock): each sum element is still added to in row order.
 *
 * Rows are copied from the (shared) matrix into the instance's own memory in chunks of CHUNK_ROWS rows (L2-sized)
 * right before they are used, so the copy mostly costs the DRAM read the kernel would need anyway.
 *
 * Selection: env METAVEC_KMEANS_KERNEL = 'wasm' (default when WebAssembly SIMD is available) or 'js'.
 */
import { MetavecError } from '../errors.js';

export type KernelKind = 'js' | 'wasm';

// ---------------------------------------------------------------------------------------------------------
// Minimal WebAssembly binary encoder.

const I32 = 0x7f;
const F64 = 0x7c;
const V128 = 0x7b;

function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

function sleb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) { out.push(b); return out; }
    out.push(b | 0x80);
  }
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function str(s: string): number[] {
  const b = Array.from(new TextEncoder().encode(s));
  return [...uleb(b.length), ...b];
}

/** Function body builder: value-stack code with structured-control helpers. */
class Fn {
  readonly code: number[] = [];
  private readonly localTypes: number[] = [];

  constructor(readonly name: string, readonly nParams: number) {}

  local(type: number): number {
    this.localTypes.push(type);
    return this.nParams + this.localTypes.length - 1;
  }

  get(i: number): this { this.code.push(0x20, ...uleb(i)); return this; }
  set(i: number): this { this.code.push(0x21, ...uleb(i)); return this; }
  i32(v: number): this { this.code.push(0x41, ...sleb(v | 0)); return this; }
  f64(v: number): this {
    const b = new Uint8Array(new Float64Array([v]).buffer);
    this.code.push(0x44, ...b);
    return this;
  }
  op(...bytes: number[]): this { this.code.push(...bytes); return this; }
  /** SIMD instruction (0xfd prefix) with optional immediates. */
  simd(opcode: number, ...imm: number[]): this { this.code.push(0xfd, ...uleb(opcode), ...imm); return this; }
  mem(opcode: number, align: number, offset = 0): this { this.code.push(opcode, align, ...uleb(offset)); return this; }
  simdMem(opcode: number, align: number, offset = 0): this { return this.simd(opcode, align, ...uleb(offset)); }

  /** local[i] += v (i32). */
  inc(i: number, v: number): this { return this.get(i).i32(v).op(OP.i32add).set(i); }
  /** local[i] += local[j] (i32). */
  incBy(i: number, j: number): this { return this.get(i).get(j).op(OP.i32add).set(i); }

  /** while (cond) body */
  while(cond: () => void, body: () => void): this {
    this.code.push(0x02, 0x40, 0x03, 0x40);
    cond();
    this.code.push(0x45, 0x0d, 1); // i32.eqz; br_if 1 (exit)
    body();
    this.code.push(0x0c, 0, 0x0b, 0x0b); // br 0; end loop; end block
    return this;
  }

  /** if (cond) then */
  if(cond: () => void, then: () => void): this {
    cond();
    this.code.push(0x04, 0x40);
    then();
    this.code.push(0x0b);
    return this;
  }

  body(): number[] {
    const groups: number[][] = this.localTypes.map((t) => [1, t]);
    const b = [...vec(groups), ...this.code, 0x0b];
    return [...uleb(b.length), ...b];
  }
}

const OP = {
  i32load: 0x28, f32load: 0x2a, f64load: 0x2b, i32store: 0x36, f64store: 0x39,
  i32add: 0x6a, i32sub: 0x6b, i32mul: 0x6c, i32ltS: 0x48, i32ltU: 0x49, i32leS: 0x4c,
  f64lt: 0x63, f64gt: 0x64, f64add: 0xa0, f64sub: 0xa1, f64mul: 0xa2, f64promote: 0xbb, select: 0x1b,
} as const;
const SIMD = {
  load: 0x00, store: 0x0b, const: 0x0c, f64x2splat: 0x14, f64x2extract: 0x21, load64zero: 0x5d,
  f64x2promoteLow: 0x5f, f64x2add: 0xf0, f64x2mul: 0xf2,
} as const;

function v128zero(f: Fn): Fn {
  return f.simd(SIMD.const, ...new Array<number>(16).fill(0));
}

const PAGE = 65536;
const MAX_PAGES = 65536;
/** Largest WebAssembly (wasm32) memory: 4 GiB. */
export const WASM_MAX_BYTES = PAGE * MAX_PAGES;
/**
 * Largest matrix placed in a WASM memory (in place). Pointer loops compare unsigned, so up to 4 GiB should work,
 * but addresses >= 2^31 are untested: larger matrices use the chunk-copy mode.
 */
export const WASM_IN_PLACE_MAX_BYTES = 2 ** 31 - (64 << 20);

function moduleBytes(fns: Fn[]): Uint8Array {
  const types = fns.map((fn) => [0x60, ...vec(new Array<number[]>(fn.nParams).fill([I32])), 0]);
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    // (import "env" "mem" (memory 1 65536 shared)): the matrix can live in it and be shared by worker threads.
    ...section(2, vec([[...str('env'), ...str('mem'), 0x02, 0x03, ...uleb(1), ...uleb(MAX_PAGES)]])),
    ...section(3, vec(fns.map((_, i) => uleb(i)))),
    ...section(7, vec(fns.map((fn, i) => [...str(fn.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(fns.map((fn) => fn.body()))),
  ];
  return Uint8Array.from(bytes);
}

// ---------------------------------------------------------------------------------------------------------
// Kernels.

/**
 * nearest(xP, rows, d, xnP, ctP, cnP, m, mPad, labP, d2P): for chunk rows i < rows (x f32 at xP, row norms f64
 * at xnP), lab[i] = argmin_j cn[j] - 2 x_i.c_j (ties: lowest j), d2[i] = max(that + xn[i], 0) (NaN -> 0).
 * ct: centers transposed, f64 ct[t * mPad + j], mPad = m rounded up to even (padding lanes are never read back).
 */
function emitNearest(name: string, R: number, Vs: readonly number[]): Fn {
  const f = new Fn(name, 11);
  const [xP, rows, d, xnP, ctP, cnP, m, mPad, labP, d2P, secP] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] as const;
  const vMax = Math.max(...Vs);
  const i = f.local(I32), jg = f.local(I32), cp = f.local(I32), cstr = f.local(I32), rowB = f.local(I32), xend = f.local(I32);
  const xp = Array.from({ length: R }, () => f.local(I32));
  const best = Array.from({ length: R }, () => f.local(F64));
  const bj = Array.from({ length: R }, () => f.local(I32));
  const sec = Array.from({ length: R }, () => f.local(F64));
  const val = f.local(F64);
  const lt = f.local(I32);
  const xs = Array.from({ length: R }, () => f.local(V128));
  const cv = Array.from({ length: vMax }, () => f.local(V128));
  const acc = Array.from({ length: R }, () => Array.from({ length: vMax }, () => f.local(V128)));

  f.get(d).i32(4).op(OP.i32mul).set(rowB);
  f.get(mPad).i32(8).op(OP.i32mul).set(cstr);

  const tile = (R: number): void => {
    for (let r = 0; r < R; r++) f.f64(Infinity).set(best[r]!).i32(0).set(bj[r]!).f64(Infinity).set(sec[r]!);
    f.i32(0).set(jg);
    for (const V of Vs) {
      f.while(
        () => f.get(jg).i32(2 * V).op(OP.i32add).get(mPad).op(OP.i32leS),
        () => {
          for (let r = 0; r < R; r++) for (let v = 0; v < V; v++) v128zero(f).set(acc[r]![v]!);
          for (let r = 0; r < R; r++) f.get(xP).get(i).i32(r).op(OP.i32add).get(rowB).op(OP.i32mul).op(OP.i32add).set(xp[r]!);
          f.get(xp[0]!).get(rowB).op(OP.i32add).set(xend);
          f.get(ctP).get(jg).i32(8).op(OP.i32mul).op(OP.i32add).set(cp);
          f.while(() => f.get(xp[0]!).get(xend).op(OP.i32ltU), () => {
            for (let r = 0; r < R; r++) f.get(xp[r]!).mem(OP.f32load, 2).op(OP.f64promote).simd(SIMD.f64x2splat).set(xs[r]!);
            for (let v = 0; v < V; v++) f.get(cp).simdMem(SIMD.load, 3, 16 * v).set(cv[v]!);
            for (let r = 0; r < R; r++) {
              for (let v = 0; v < V; v++) {
                f.get(acc[r]![v]!).get(xs[r]!).get(cv[v]!).simd(SIMD.f64x2mul).simd(SIMD.f64x2add).set(acc[r]![v]!);
              }
            }
            for (let r = 0; r < R; r++) f.inc(xp[r]!, 4);
            f.incBy(cp, cstr);
          });
          for (let r = 0; r < R; r++) {
            for (let v = 0; v < V; v++) {
              for (let lane = 0; lane < 2; lane++) {
                const c = 2 * v + lane;
                f.if(() => f.get(jg).i32(c).op(OP.i32add).get(m).op(OP.i32ltS), () => {
                  // val = cn[j] - 2 * dot; if (val < best) { best = val; bj = j }
                  f.get(cnP).get(jg).i32(8).op(OP.i32mul).op(OP.i32add).mem(OP.f64load, 3, 8 * c);
                  f.f64(2).get(acc[r]![v]!).simd(SIMD.f64x2extract, lane).op(OP.f64mul).op(OP.f64sub).set(val);
                  f.get(val).get(best[r]!).op(OP.f64lt).set(lt);
                  // second-best (for the pruning bounds): lt ? best : (val < sec ? val : sec)
                  f.get(best[r]!).get(val).get(sec[r]!).get(val).get(sec[r]!).op(OP.f64lt).op(OP.select).get(lt).op(OP.select).set(sec[r]!);
                  f.get(val).get(best[r]!).get(lt).op(OP.select).set(best[r]!);
                  f.get(jg).i32(c).op(OP.i32add).get(bj[r]!).get(lt).op(OP.select).set(bj[r]!);
                });
              }
            }
          }
          f.inc(jg, 2 * V);
        },
      );
    }
    for (let r = 0; r < R; r++) {
      // d2 = best + xn; !(d2 > 0) -> 0
      f.get(xnP).get(i).i32(r).op(OP.i32add).i32(8).op(OP.i32mul).op(OP.i32add).mem(OP.f64load, 3).set(val);
      f.get(secP).get(i).i32(r).op(OP.i32add).i32(8).op(OP.i32mul).op(OP.i32add).get(sec[r]!).get(val).op(OP.f64add).mem(OP.f64store, 3);
      f.get(best[r]!).get(val).op(OP.f64add).set(val);
      f.get(d2P).get(i).i32(r).op(OP.i32add).i32(8).op(OP.i32mul).op(OP.i32add);
      f.get(val).f64(0).get(val).f64(0).op(OP.f64gt).op(OP.select).mem(OP.f64store, 3);
      f.get(labP).get(i).i32(r).op(OP.i32add).i32(4).op(OP.i32mul).op(OP.i32add).get(bj[r]!).mem(OP.i32store, 2);
    }
  };

  f.i32(0).set(i);
  f.while(() => f.get(i).i32(R).op(OP.i32add).get(rows).op(OP.i32leS), () => { tile(R); f.inc(i, R); });
  f.while(() => f.get(i).get(rows).op(OP.i32ltS), () => { tile(1); f.inc(i, 1); });
  return f;
}

/**
 * trial(xP, rows, d, xnP, cP, cnP, m, clP, accP): acc[j] += min(dist(i, j), cl[i]) over chunk rows i in order,
 * dist(i, j) = max((xn[i] + cn[j]) - 2 (((a0 + a1) + a2) + a3), 0) with a0..a3 the t mod 4 partial dot products
 * (the tail t >= 4 floor(d/4) goes to a0), exactly as distancesBlock. c: m*d f64 row-major.
 */
function emitTrial(): Fn {
  const f = new Fn('trial', 9);
  const [xP, rows, d, xnP, cP, cnP, m, clP, accP] = [0, 1, 2, 3, 4, 5, 6, 7, 8] as const;
  const GMAX = 4;
  const i = f.local(I32), j = f.local(I32), t = f.local(I32), xq = f.local(I32), cq = f.local(I32), xrow = f.local(I32);
  const cstr = f.local(I32), addr = f.local(I32);
  const xn = f.local(F64), ci = f.local(F64), a0 = f.local(F64), v = f.local(F64);
  const x01 = f.local(V128), x23 = f.local(V128);
  const A01 = Array.from({ length: GMAX }, () => f.local(V128));
  const A23 = Array.from({ length: GMAX }, () => f.local(V128));
  f.get(d).i32(8).op(OP.i32mul).set(cstr);
  f.i32(0).set(i);
  f.while(() => f.get(i).get(rows).op(OP.i32ltS), () => {
    f.get(xP).get(i).get(d).op(OP.i32mul).i32(4).op(OP.i32mul).op(OP.i32add).set(xrow);
    f.get(xnP).get(i).i32(8).op(OP.i32mul).op(OP.i32add).mem(OP.f64load, 3).set(xn);
    f.get(clP).get(i).i32(8).op(OP.i32mul).op(OP.i32add).mem(OP.f64load, 3).set(ci);
    f.i32(0).set(j);
    // Candidates in groups of G sharing each load of x (G = 4, then 3, 2, 1 for the rest).
    for (let G = GMAX; G >= 1; G--) {
      f.while(() => f.get(j).i32(G).op(OP.i32add).get(m).op(OP.i32leS), () => {
        for (let g = 0; g < G; g++) { v128zero(f).set(A01[g]!); v128zero(f).set(A23[g]!); }
        f.i32(0).set(t);
        f.get(xrow).set(xq);
        f.get(cP).get(j).get(cstr).op(OP.i32mul).op(OP.i32add).set(cq);
        f.while(() => f.get(t).i32(3).op(OP.i32add).get(d).op(OP.i32ltS), () => {
          f.get(xq).simdMem(SIMD.load64zero, 3).simd(SIMD.f64x2promoteLow).set(x01);
          f.get(xq).simdMem(SIMD.load64zero, 3, 8).simd(SIMD.f64x2promoteLow).set(x23);
          for (let g = 0; g < G; g++) {
            // candidate g's row is at cq + g * d * 8: use a computed address for g > 0
            const base = (): Fn => (g === 0 ? f.get(cq) : f.get(cq).get(cstr).i32(g).op(OP.i32mul).op(OP.i32add));
            f.get(A01[g]!).get(x01);
            base().simdMem(SIMD.load, 3);
            f.simd(SIMD.f64x2mul).simd(SIMD.f64x2add).set(A01[g]!);
            f.get(A23[g]!).get(x23);
            base().simdMem(SIMD.load, 3, 16);
            f.simd(SIMD.f64x2mul).simd(SIMD.f64x2add).set(A23[g]!);
          }
          f.inc(xq, 16).inc(cq, 32).inc(t, 4);
        });
        for (let g = 0; g < G; g++) {
          f.get(A01[g]!).simd(SIMD.f64x2extract, 0).set(a0);
          // tail t >= 4 floor(d / 4) into a0 (xq/cq restart from the tail position for each candidate)
          f.get(t).set(addr);
          f.while(() => f.get(addr).get(d).op(OP.i32ltS), () => {
            f.get(a0);
            f.get(xrow).get(addr).i32(4).op(OP.i32mul).op(OP.i32add).mem(OP.f32load, 2).op(OP.f64promote);
            f.get(cP).get(j).i32(g).op(OP.i32add).get(cstr).op(OP.i32mul).op(OP.i32add).get(addr).i32(8).op(OP.i32mul).op(OP.i32add)
              .mem(OP.f64load, 3);
            f.op(OP.f64mul).op(OP.f64add).set(a0);
            f.inc(addr, 1);
          });
          // v = (xn + cn[j]) - 2 * (((a0 + a1) + a2) + a3); v = v > 0 ? v : 0
          f.get(xn).get(cnP).get(j).i32(g).op(OP.i32add).i32(8).op(OP.i32mul).op(OP.i32add).mem(OP.f64load, 3).op(OP.f64add);
          f.f64(2);
          f.get(a0).get(A01[g]!).simd(SIMD.f64x2extract, 1).op(OP.f64add).get(A23[g]!).simd(SIMD.f64x2extract, 0).op(OP.f64add)
            .get(A23[g]!).simd(SIMD.f64x2extract, 1).op(OP.f64add);
          f.op(OP.f64mul).op(OP.f64sub).set(v);
          f.get(v).f64(0).get(v).f64(0).op(OP.f64gt).op(OP.select).set(v);
          // acc[j] += v < ci ? v : ci
          f.get(accP).get(j).i32(g).op(OP.i32add).i32(8).op(OP.i32mul).op(OP.i32add).set(addr);
          f.get(addr).get(addr).mem(OP.f64load, 3).get(v).get(ci).get(v).get(ci).op(OP.f64lt).op(OP.select).op(OP.f64add).mem(OP.f64store, 3);
        }
        f.inc(j, G);
      });
    }
    f.inc(i, 1);
  });
  return f;
}

/**
 * own(xP, rows, d, xnP, ctP, cnP, mPad, labP, dP): dP[i] = (cn[a] - 2 x_i.c_a) + xn[i] (unclamped) for each row's
 * own center a = lab[i], with exactly the operations of nearest (sequential float64 dot product), 4 rows at a time.
 */
function emitOwn(): Fn {
  const f = new Fn('own', 9);
  const [xP, rows, d, xnP, ctP, cnP, mPad, labP, dP] = [0, 1, 2, 3, 4, 5, 6, 7, 8] as const;
  const R = 4;
  const i = f.local(I32), cstr = f.local(I32), rowB = f.local(I32), xend = f.local(I32);
  const xp = Array.from({ length: R }, () => f.local(I32));
  const cp = Array.from({ length: R }, () => f.local(I32));
  const lab = Array.from({ length: R }, () => f.local(I32));
  const acc = Array.from({ length: R }, () => f.local(F64));
  f.get(d).i32(4).op(OP.i32mul).set(rowB);
  f.get(mPad).i32(8).op(OP.i32mul).set(cstr);
  const tile = (R: number): void => {
    for (let r = 0; r < R; r++) {
      f.f64(0).set(acc[r]!);
      f.get(labP).get(i).i32(r).op(OP.i32add).i32(4).op(OP.i32mul).op(OP.i32add).mem(OP.i32load, 2).set(lab[r]!);
      f.get(ctP).get(lab[r]!).i32(8).op(OP.i32mul).op(OP.i32add).set(cp[r]!);
      f.get(xP).get(i).i32(r).op(OP.i32add).get(rowB).op(OP.i32mul).op(OP.i32add).set(xp[r]!);
    }
    f.get(xp[0]!).get(rowB).op(OP.i32add).set(xend);
    f.while(() => f.get(xp[0]!).get(xend).op(OP.i32ltU), () => {
      for (let r = 0; r < R; r++) {
        f.get(acc[r]!).get(xp[r]!).mem(OP.f32load, 2).op(OP.f64promote).get(cp[r]!).mem(OP.f64load, 3).op(OP.f64mul).op(OP.f64add).set(acc[r]!);
        f.inc(xp[r]!, 4).incBy(cp[r]!, cstr);
      }
    });
    for (let r = 0; r < R; r++) {
      f.get(dP).get(i).i32(r).op(OP.i32add).i32(8).op(OP.i32mul).op(OP.i32add);
      f.get(cnP).get(lab[r]!).i32(8).op(OP.i32mul).op(OP.i32add).mem(OP.f64load, 3).f64(2).get(acc[r]!).op(OP.f64mul).op(OP.f64sub);
      f.get(xnP).get(i).i32(r).op(OP.i32add).i32(8).op(OP.i32mul).op(OP.i32add).mem(OP.f64load, 3).op(OP.f64add);
      f.mem(OP.f64store, 3);
    }
  };
  f.i32(0).set(i);
  f.while(() => f.get(i).i32(R).op(OP.i32add).get(rows).op(OP.i32leS), () => { tile(R); f.inc(i, R); });
  f.while(() => f.get(i).get(rows).op(OP.i32ltS), () => { tile(1); f.inc(i, 1); });
  return f;
}

/** accum(xP, rows, d, labP, sumsP): sums[lab[i] * d + t] += x[i * d + t] (f64), rows in order. */
function emitAccum(): Fn {
  const f = new Fn('accum', 5);
  const [xP, rows, d, labP, sumsP] = [0, 1, 2, 3, 4] as const;
  const i = f.local(I32), t = f.local(I32), xq = f.local(I32), sq = f.local(I32);
  f.i32(0).set(i);
  f.get(xP).set(xq);
  f.while(() => f.get(i).get(rows).op(OP.i32ltS), () => {
    f.get(sumsP).get(labP).get(i).i32(4).op(OP.i32mul).op(OP.i32add).mem(OP.i32load, 2).get(d).op(OP.i32mul).i32(8).op(OP.i32mul)
      .op(OP.i32add).set(sq);
    f.i32(0).set(t);
    f.while(() => f.get(t).i32(1).op(OP.i32add).get(d).op(OP.i32ltS), () => {
      f.get(sq).get(sq).simdMem(SIMD.load, 3).get(xq).simdMem(SIMD.load64zero, 3).simd(SIMD.f64x2promoteLow).simd(SIMD.f64x2add)
        .simdMem(SIMD.store, 3);
      f.inc(sq, 16).inc(xq, 8).inc(t, 2);
    });
    f.if(() => f.get(t).get(d).op(OP.i32ltS), () => {
      f.get(sq).get(sq).mem(OP.f64load, 3).get(xq).mem(OP.f32load, 2).op(OP.f64promote).op(OP.f64add).mem(OP.f64store, 3);
      f.inc(xq, 4);
    });
    f.inc(i, 1);
  });
  return f;
}

/** The few WebAssembly JS-API members used (the project's TS lib has no WebAssembly declarations). */
export interface WasmMemory { readonly buffer: SharedArrayBuffer; grow(pages: number): number }
type WasmModule = object;
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { readonly exports: unknown };
  Memory: new (desc: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}
const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

let compiled: WasmModule | null | undefined;

/** The compiled module (once per thread), or null when this runtime lacks WebAssembly SIMD. */
export function kmeansWasmModule(): WasmModule | null {
  if (compiled === undefined) {
    const bytes = kmeansWasmBytes();
    compiled = WA?.validate(bytes) ? new WA.Module(bytes) : null;
  }
  return compiled;
}

/** The module's bytes (exported for tests). */
export function kmeansWasmBytes(): Uint8Array {
  return moduleBytes([emitNearest('nearest', 2, [4, 2, 1]), emitNearest('nearestTall', 4, [1]), emitTrial(), emitAccum(), emitOwn()]);
}

/** Kernel selected by METAVEC_KMEANS_KERNEL (default 'wasm' when available). */
export function selectedKernel(): KernelKind {
  const v = process.env.METAVEC_KMEANS_KERNEL;
  if (v === undefined || v === '' || v === 'auto') return kmeansWasmModule() ? 'wasm' : 'js';
  if (v === 'js') return 'js';
  if (v === 'wasm') {
    if (!kmeansWasmModule()) throw new MetavecError('USAGE', 'METAVEC_KMEANS_KERNEL=wasm but this runtime has no WebAssembly SIMD');
    return 'wasm';
  }
  throw new MetavecError('USAGE', `METAVEC_KMEANS_KERNEL must be 'js', 'wasm' or 'auto' (got '${v}')`);
}

// ---------------------------------------------------------------------------------------------------------
// JS side: one instance per Scratch (per thread), memory laid out per operation.

interface Exports {
  nearest(this: void, xP: number, rows: number, d: number, xnP: number, ctP: number, cnP: number, m: number, mPad: number, labP: number, d2P: number, secP: number): void;
  nearestTall(this: void, xP: number, rows: number, d: number, xnP: number, ctP: number, cnP: number, m: number, mPad: number, labP: number, d2P: number, secP: number): void;
  own(xP: number, rows: number, d: number, xnP: number, ctP: number, cnP: number, mPad: number, labP: number, dP: number): void;
  trial(xP: number, rows: number, d: number, xnP: number, cP: number, cnP: number, m: number, clP: number, accP: number): void;
  accum(xP: number, rows: number, d: number, labP: number, sumsP: number): void;
}

/** A shared WebAssembly memory of at least `bytes` bytes (growable to 4 GiB). */
export function newKMeansMemory(bytes: number): WasmMemory {
  if (!WA) throw new MetavecError('INTERNAL', 'WebAssembly is not available');
  return new WA.Memory({ initial: Math.max(1, Math.ceil(bytes / PAGE)), maximum: MAX_PAGES, shared: true });
}

/** Grow `mem` to at least `bytes` bytes. */
export function ensureMemory(mem: WasmMemory, bytes: number): void {
  const have = mem.buffer.byteLength;
  if (bytes > WASM_MAX_BYTES) throw new MetavecError('INTERNAL', `k-means WASM memory: ${bytes} bytes exceed 4 GiB`);
  if (bytes > have) mem.grow(Math.ceil((bytes - have) / PAGE));
}

/** Rows handed to one kernel call (and, when the matrix is not in the WASM memory, copied in; 136 dims: 278 KB). */
export const CHUNK_ROWS = 512;

const align16 = (v: number): number => (v + 15) & ~15;

/** Bytes of one thread's scratch region for m centers of dimension d (see WasmKernels.setCenters). */
export function scratchBytes(m: number, d: number, inPlace: boolean): number {
  const mPad = m + (m & 1);
  return align16(8 * mPad * d) + align16(8 * mPad) + align16(8 * m * d) + align16(8 * m)
    + (inPlace ? 1 : 2) * align16(4 * CHUNK_ROWS * d) + 7 * align16(8 * CHUNK_ROWS) + 2 * align16(4 * CHUNK_ROWS);
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

/** Matrices allocated by allocateKMeansMatrix: their memory, so executors can use them in place. */
const matrixMemories = new WeakMap<SharedArrayBuffer, WasmMemory>();

/**
 * A zeroed n*d float32 matrix allocated at offset 0 of a shared WebAssembly memory: a local executor created on
 * it uses it in place with the WASM kernel (no copy at all). Falls back to a plain SharedArrayBuffer when the
 * WASM kernel is not selected or the matrix is too large for a 4 GiB memory.
 */
export function allocateKMeansMatrix(n: number, d: number): Float32Array {
  const bytes = 4 * n * d;
  if (selectedKernel() !== 'wasm' || bytes > WASM_IN_PLACE_MAX_BYTES) return new Float32Array(new SharedArrayBuffer(bytes));
  const mem = newKMeansMemory(bytes);
  const x = new Float32Array(mem.buffer, 0, n * d);
  matrixMemories.set(mem.buffer, mem);
  return x;
}

/** The WASM memory holding `x` when it came from allocateKMeansMatrix. */
export function matrixMemory(x: Float32Array): WasmMemory | undefined {
  return x.buffer instanceof SharedArrayBuffer ? matrixMemories.get(x.buffer) : undefined;
}
