import { BASE2 } from '../seq/twoBit.js';
import { hashCode, kmerCodes } from './kmerCode.js';
import { LevelSketch } from './sketch.js';

/**
 * Pass 2: Lighter's trusted-position test, applied directly to the pass-1 sketch.
 * A k-mer is "sampled" when its sketch level is >= L (alpha = 2^-L). A read position covered by c k-mers is
 * trusted when at least y(c) of them are sampled, with y(c) the smallest count an erroneous base reaches with
 * probability <= 1% (binomial with p = alpha + false-membership rate): a true base's k-mers occur many times
 * and are sampled with probability ~1 - (1 - alpha)^multiplicity. At an untrusted position (fewest sampled
 * k-mers first, then lowest quality) each other base is tried; the substitution is kept when exactly one base
 * makes the position trusted and it is the best one. At most `maxCorrections` changes are made within any 20 bases
 * (Lighter's -maxcor); untrusted positions left mark the read uncorrectable. A read without k
 * consecutive trusted positions is not attempted (its genome is too rarely sampled to judge).
 */
/** Lighter's -maxcor window: at most maxCorrections changes within any WINDOW bases. */
const WINDOW = 20;
/** Sampled k-mers in a row that confirm a substitution when the full window cannot (errors closer than k). */
const MIN_RUN = 2;
/** Trusted positions in a row a read needs before corrections are attempted. */
const ANCHOR = 8;
/** Above this fraction of sampled covering k-mers a position is taken for an error's neighbour, not an error. */
const MAX_ERROR_SUPPORT = 0.75;

export interface CorrectionParams {
  k: number;
  /** sketch level threshold L (alpha = 2^-L) */
  level: number;
  /** y[c] for c = 0..k */
  trustThreshold: number[];
  /** most changes within any 20-bp window (Lighter's -maxcor, default 4) */
  maxCorrections: number;
}

/** y(c): smallest y with P(Binomial(c, p) >= y) <= tail, at least 1 and at most c. */
export function trustThresholds(k: number, p: number, tail = 0.01): number[] {
  const y = [0];
  for (let c = 1; c <= k; c++) {
    // P(X >= y) computed from the pmf
    const pmf: number[] = [];
    let q = Math.pow(1 - p, c);
    for (let i = 0; i <= c; i++) {
      pmf.push(q);
      q = (q * (c - i) * p) / ((i + 1) * (1 - p));
    }
    let tailP = 0;
    let yc = c + 1;
    for (let v = c; v >= 0; v--) {
      tailP += pmf[v]!;
      if (tailP > tail) {
        yc = v + 1;
        break;
      }
    }
    y.push(Math.max(1, Math.min(c, yc)));
  }
  return y;
}

/** Number of k-mers covering position j of a read with n k-mers. */
function coverOf(j: number, n: number, k: number): number {
  return Math.min(j, n - 1) - Math.max(0, j - k + 1) + 1;
}

export class ReadCorrector {
  private fhi: Uint32Array;
  private flo: Uint32Array;
  private rhi: Uint32Array;
  private rlo: Uint32Array;
  private valid: Uint8Array;
  private sampled: Uint8Array;
  private trusted: Uint8Array;
  private tried: Uint8Array;
  private changedAt: Int32Array;
  private sup: Int32Array;
  private readonly h = new Uint32Array(2);

  constructor(
    private readonly sketch: LevelSketch,
    private readonly p: CorrectionParams,
  ) {
    this.fhi = new Uint32Array(512);
    this.flo = new Uint32Array(512);
    this.rhi = new Uint32Array(512);
    this.rlo = new Uint32Array(512);
    this.valid = new Uint8Array(512);
    this.sampled = new Uint8Array(512);
    this.trusted = new Uint8Array(512);
    this.tried = new Uint8Array(512);
    this.changedAt = new Int32Array(512);
    this.sup = new Int32Array(512);
  }

  private ensure(len: number): void {
    if (this.valid.length >= len) return;
    const n = Math.max(len, this.valid.length * 2);
    this.fhi = new Uint32Array(n);
    this.flo = new Uint32Array(n);
    this.rhi = new Uint32Array(n);
    this.rlo = new Uint32Array(n);
    this.valid = new Uint8Array(n);
    this.sampled = new Uint8Array(n);
    this.trusted = new Uint8Array(n);
    this.tried = new Uint8Array(n);
    this.changedAt = new Int32Array(n);
    this.sup = new Int32Array(n);
  }

  /** Is the canonical form of (fh, fl | rh, rl) sampled? */
  private sampledCode(fh: number, fl: number, rh: number, rl: number): number {
    if (fh < rh || (fh === rh && fl <= rl)) hashCode(fh, fl, this.h, 0);
    else hashCode(rh, rl, this.h, 0);
    return this.sketch.level(this.h[0]!, this.h[1]!) >= this.p.level ? 1 : 0;
  }

  private isSampled(i: number): number {
    return this.valid[i] ? this.sampledCode(this.fhi[i]!, this.flo[i]!, this.rhi[i]!, this.rlo[i]!) : 0;
  }

  /** XOR masks that turn k-mer i's codes into those with base j changed by x (= old ^ new 2-bit code). */
  private shiftF = 0;
  private shiftR = 0;
  private masks(i: number, j: number, x: number): void {
    const k = this.p.k;
    const hiBases = k - 16;
    const d = j - i;
    // forward: offset d from the left; reverse complement: offset k-1-d, complemented (xor is unchanged)
    this.shiftF = d < hiBases ? x << (2 * (hiBases - 1 - d)) : x << (2 * (k - 1 - d));
    const p = k - 1 - d;
    this.shiftR = p < hiBases ? x << (2 * (hiBases - 1 - p)) : x << (2 * (k - 1 - p));
  }
  private inHi(i: number, j: number): boolean {
    return j - i < this.p.k - 16;
  }
  private rcInHi(i: number, j: number): boolean {
    return this.p.k - 1 - (j - i) < this.p.k - 16;
  }

  /** Sampled k-mers covering position j; also returns the coverage through this.cov. */
  private cov = 0;
  private support(j: number, n: number): number {
    const lo = Math.max(0, j - this.p.k + 1);
    const hi = Math.min(j, n - 1);
    let t = 0;
    for (let i = lo; i <= hi; i++) t += this.sampled[i]!;
    this.cov = hi - lo + 1;
    return t;
  }

  /**
   * For a candidate base at j: how many of the k-mers covering j are sampled (this.candT), and the longest
   * run of sampled k-mers starting from either end of the window (this.candRun). The run is what rescues two
   * errors closer than k: the k-mers on the far side of the second error still confirm the first (Lighter
   * extends from a trusted k-mer in the same way).
   */
  private candT = 0;
  private candRun = 0;
  private candidateSupport(s: Uint8Array, start: number, len: number, j: number, orig: number, cand: number, need: number, minRun: number): void {
    const k = this.p.k;
    const n = len - k + 1;
    const lo = Math.max(0, j - k + 1);
    const hi = Math.min(j, n - 1);
    const co = BASE2[orig]!;
    const x = co >= 0 ? co ^ BASE2[cand]! : -1;
    const sampledAt = (i: number): number => {
      if (x >= 0 && this.valid[i]) {
        this.masks(i, j, x);
        const fInHi = this.inHi(i, j);
        const rInHi = this.rcInHi(i, j);
        return this.sampledCode(
          fInHi ? (this.fhi[i]! ^ this.shiftF) >>> 0 : this.fhi[i]!,
          fInHi ? this.flo[i]! : (this.flo[i]! ^ this.shiftF) >>> 0,
          rInHi ? (this.rhi[i]! ^ this.shiftR) >>> 0 : this.rhi[i]!,
          rInHi ? this.rlo[i]! : (this.rlo[i]! ^ this.shiftR) >>> 0,
        );
      }
      // the k-mer held an N (or the base is N): compute it from the bases
      return this.kmerAt(s, start + i) && this.sketch.level(this.h[0]!, this.h[1]!) >= this.p.level ? 1 : 0;
    };
    // Runs from both edges first, then the middle only as far as it can still matter: most candidates are
    // wrong bases that fail within a few lookups (this cut correction time ~3x on a metagenome).
    let left = 0;
    let i = lo;
    while (i <= hi && sampledAt(i)) {
      left++;
      i++;
    }
    if (i > hi) {
      this.candT = left;
      this.candRun = left;
      return;
    }
    let right = 0;
    let r = hi;
    while (r > i && sampledAt(r)) {
      right++;
      r--;
    }
    const run = Math.max(left, right);
    let t = left + right;
    const qualifiesByRun = run >= minRun;
    // k-mers i (failed) and r (failed, when r > i) are done; the middle is (i, r)
    let remaining = Math.max(0, r - i - 1);
    for (let m = i + 1; m < r; m++) {
      if (!qualifiesByRun && t + remaining < need) break; // cannot reach the trust threshold any more
      t += sampledAt(m);
      remaining--;
    }
    this.candT = t;
    this.candRun = run;
  }

  private kmerAt(s: Uint8Array, at: number): boolean {
    const k = this.p.k;
    let hi = 0;
    let lo = 0;
    let rhi = 0;
    let rlo = 0;
    const hiBases = k - 16;
    for (let p = 0; p < k; p++) {
      const c = BASE2[s[at + p]!]!;
      if (c < 0) return false;
      if (p < hiBases) hi = ((hi << 2) | c) >>> 0;
      else lo = ((lo << 2) | c) >>> 0;
      // reverse complement: base p lands at position k-1-p
      const rp = k - 1 - p;
      if (rp < hiBases) rhi = (rhi | ((3 - c) << (2 * (hiBases - 1 - rp)))) >>> 0;
      else rlo = (rlo | ((3 - c) << (2 * (15 - (rp - hiBases))))) >>> 0;
    }
    if (hi < rhi || (hi === rhi && lo <= rlo)) hashCode(hi, lo, this.h, 0);
    else hashCode(rhi, rlo, this.h, 0);
    return true;
  }

  /**
   * Corrects s[start, start+len) in place. Returns bases changed (>= 0), or -1 - changed when the read is
   * left uncorrectable (untrusted positions remain; changes are kept only within maxCorrections).
   */
  correct(s: Uint8Array, start: number, len: number, qualStart: number): number {
    const k = this.p.k;
    const n = len - k + 1;
    if (n <= 0) return 0;
    this.ensure(len);
    kmerCodes(s, start, len, k, this.fhi, this.flo, this.rhi, this.rlo, this.valid);
    for (let i = 0; i < n; i++) this.sampled[i] = this.isSampled(i);
    let untrusted = 0;
    // support of each position: a sliding sum of sampled flags over the k-mers covering it
    const sup = this.sup;
    let window = 0;
    for (let j = 0; j < len; j++) {
      if (j < n) window += this.sampled[j]!;
      if (j - k >= 0) window -= this.sampled[j - k]!;
      sup[j] = window;
      const ok = window >= this.p.trustThreshold[coverOf(j, n, k)]! ? 1 : 0;
      this.trusted[j] = ok;
      this.tried[j] = 0;
      if (!ok) untrusted++;
    }
    if (untrusted === 0) return 0;
    // Without a run of k trusted positions there is no solid k-mer to anchor a correction: the read's genome
    // is below the coverage the spectrum can judge (common for rare species in a metagenome). Leave it as is.
    let run = 0;
    let anchored = false;
    for (let j = 0; j < len && !anchored; j++) {
      run = this.trusted[j] ? run + 1 : 0;
      if (run >= ANCHOR) anchored = true;
    }
    // Mostly-untrusted reads come from genomes the spectrum barely samples (rare species): their occasional
    // trusted runs are chance, and testing every position of them cost 15x the rest of prep on a metagenome.
    if (!anchored || untrusted * 2 > len) return -1;
    let changed = 0;
    for (;;) {
      // pick the untrusted, untried position with the lowest support ratio, then lowest quality
      let best = -1;
      let bestRatio = 2;
      let bestQ = 256;
      for (let j = 0; j < len; j++) {
        if (this.trusted[j] || this.tried[j]) continue;
        const r = sup[j]! / coverOf(j, n, k);
        const q = qualStart >= 0 ? s[qualStart + j]! : 0;
        if (r < bestRatio || (r === bestRatio && q < bestQ)) {
          best = j;
          bestRatio = r;
          bestQ = q;
        }
      }
      // the k-mers of an erroneous base are all unsampled; positions with half their k-mers sampled are
      // neighbours of an error, not errors: stop here rather than test them all
      if (best < 0 || bestRatio > MAX_ERROR_SUPPORT) break;
      this.tried[best] = 1;
      const orig = s[start + best]!;
      const cov = coverOf(best, n, k);
      const need = this.p.trustThreshold[cov]!;
      // a run of minRun sampled k-mers happens by chance for a wrong base with probability ~p^minRun
      const minRun = Math.min(cov, MIN_RUN);
      let winner = -1;
      let winRun = -1;
      let winT = -1;
      let ties = 0;
      for (const b of [0x41, 0x43, 0x47, 0x54]) {
        if (b === orig) continue;
        s[start + best] = b;
        this.candidateSupport(s, start, len, best, orig, b, need, minRun);
        if (this.candT < need && this.candRun < minRun) continue;
        if (this.candRun > winRun || (this.candRun === winRun && this.candT > winT)) {
          winner = b;
          winRun = this.candRun;
          winT = this.candT;
          ties = 1;
        } else if (this.candRun === winRun && this.candT === winT) ties++;
      }
      s[start + best] = orig;
      if (winner < 0 || ties > 1) continue;
      let near = 0;
      for (let c = 0; c < changed; c++) if (Math.abs(this.changedAt[c]! - best) < WINDOW) near++;
      // the window already holds maxCorrections changes: leave this position (the read ends uncorrectable)
      if (near >= this.p.maxCorrections) continue;
      s[start + best] = winner;
      this.changedAt[changed++] = best;
      // refresh the k-mers and trust of the affected window
      const lo = Math.max(0, best - k + 1);
      const hi = Math.min(best, n - 1);
      kmerCodes(s, start + lo, Math.min(len - lo, hi - lo + k), k, this.fhi.subarray(lo), this.flo.subarray(lo), this.rhi.subarray(lo), this.rlo.subarray(lo), this.valid.subarray(lo));
      for (let i = lo; i <= hi; i++) this.sampled[i] = this.isSampled(i);
      for (let j = lo; j < Math.min(len, hi + k); j++) {
        const t = this.support(j, n);
        sup[j] = t;
        this.trusted[j] = t >= this.p.trustThreshold[this.cov]! ? 1 : 0;
        this.tried[j] = 0;
      }
    }
    let left = 0;
    for (let j = 0; j < len; j++) if (!this.trusted[j]) left++;
    return left > 0 ? -1 - changed : changed;
  }
}
