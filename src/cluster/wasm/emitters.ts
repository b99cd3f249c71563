/**
 * The k-means kernels as WebAssembly SIMD functions (nearest, nearestTall, trial, own, accum), emitted with
 * encoder.ts at load time (no .wasm blob, no build tool).
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
 */
import { F64, Fn, I32, moduleBytes, OP, SIMD, V128, v128zero } from './encoder.js';

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

/** The module's bytes: every kernel, in the order the instance exports them. */
export function kmeansWasmBytes(): Uint8Array {
  return moduleBytes([emitNearest('nearest', 2, [4, 2, 1]), emitNearest('nearestTall', 4, [1]), emitTrial(), emitAccum(), emitOwn()]);
}
