import { ATTRS_PER_FRAGMENT, type PrepBatchResult } from '../prep/params.js';

// The rows of the next Parquet shard (io/shards.ts writes them) as Phase 1 collects them, and their copy in a
// resume checkpoint (pipeline/prepResume.ts).

/** A shard buffer's rows as a self-contained copy (a resume checkpoint's spill file). */
export interface SpillRows {
  rows: number;
  idLen: number;
  fragment: Float64Array;
  idBytes: Uint8Array;
  idOffsets: Int32Array;
  lengths: Int32Array;
  attrs: Float32Array;
  embedding: Float32Array;
  hashes: Uint32Array;
  /** minimizer sketch of the rows (hi/lo pairs) and per-row offsets, when the run stores one */
  minimizerLen?: number;
  minimizers?: Uint32Array;
  minimizerOffsets?: Int32Array;
}

/** Shard rows accumulated in memory (fixed capacity: memory does not grow with the input). */
export class ShardBuffer {
  rows = 0;
  readonly fragment: Float64Array;
  idBytes: Uint8Array;
  idLen = 0;
  readonly idOffsets: Int32Array;
  readonly lengths: Int32Array;
  readonly attrs: Float32Array;
  readonly embedding: Float32Array;
  /** minimizer sketch (hi/lo pairs) and per-row offsets, when the run stores one */
  minimizers: Uint32Array;
  minimizerLen = 0;
  readonly minimizerOffsets: Int32Array | undefined;
  /** dedup fingerprints of the rows (for the resume journal: the Bloom filter is re-derived from them) */
  readonly hashes: Uint32Array;
  constructor(
    readonly capacity: number,
    readonly dim: number,
    withMinimizers: boolean,
  ) {
    this.minimizers = new Uint32Array(withMinimizers ? capacity * 64 : 0);
    this.minimizerOffsets = withMinimizers ? new Int32Array(capacity + 1) : undefined;
    this.fragment = new Float64Array(capacity);
    this.idBytes = new Uint8Array(capacity * 24);
    this.idOffsets = new Int32Array(capacity + 1);
    this.lengths = new Int32Array(capacity * 2);
    this.attrs = new Float32Array(capacity * ATTRS_PER_FRAGMENT);
    this.embedding = new Float32Array(capacity * dim);
    this.hashes = new Uint32Array(capacity * 2);
  }
  add(r: PrepBatchResult, k: number, fragment: number): void {
    const row = this.rows++;
    this.fragment[row] = fragment;
    const s = r.idOffsets[k]!;
    const e = r.idOffsets[k + 1]!;
    if (this.idLen + (e - s) > this.idBytes.length) {
      const next = new Uint8Array(Math.max(this.idBytes.length * 2, this.idLen + e - s));
      next.set(this.idBytes.subarray(0, this.idLen));
      this.idBytes = next;
    }
    this.idBytes.set(r.idBytes.subarray(s, e), this.idLen);
    this.idLen += e - s;
    this.idOffsets[row + 1] = this.idLen;
    this.lengths[2 * row] = r.lengths[2 * k]!;
    this.lengths[2 * row + 1] = r.lengths[2 * k + 1]!;
    this.attrs.set(r.attrs.subarray(k * ATTRS_PER_FRAGMENT, (k + 1) * ATTRS_PER_FRAGMENT), row * ATTRS_PER_FRAGMENT);
    this.embedding.set(r.embedding.subarray(k * this.dim, (k + 1) * this.dim), row * this.dim);
    if (this.minimizerOffsets) {
      if (!r.minimizers || !r.minimizerOffsets) throw new Error('prep: batch result without the minimizer sketch');
      const a = r.minimizerOffsets[k]!;
      const b = r.minimizerOffsets[k + 1]!;
      if (2 * (this.minimizerLen + b - a) > this.minimizers.length) {
        const next = new Uint32Array(Math.max(this.minimizers.length * 2, 2 * (this.minimizerLen + b - a)));
        next.set(this.minimizers.subarray(0, 2 * this.minimizerLen));
        this.minimizers = next;
      }
      this.minimizers.set(r.minimizers.subarray(2 * a, 2 * b), 2 * this.minimizerLen);
      this.minimizerLen += b - a;
      this.minimizerOffsets[row + 1] = this.minimizerLen;
    }
    this.hashes[2 * row] = r.hashes[2 * k]!;
    this.hashes[2 * row + 1] = r.hashes[2 * k + 1]!;
  }
  /** The rows as a self-contained copy (a resume checkpoint). */
  snapshot(): SpillRows {
    const n = this.rows;
    return {
      rows: n,
      idLen: this.idLen,
      fragment: this.fragment.slice(0, n),
      idBytes: this.idBytes.slice(0, this.idLen),
      idOffsets: this.idOffsets.slice(0, n + 1),
      lengths: this.lengths.slice(0, 2 * n),
      attrs: this.attrs.slice(0, ATTRS_PER_FRAGMENT * n),
      embedding: this.embedding.slice(0, this.dim * n),
      hashes: this.hashes.slice(0, 2 * n),
      ...(this.minimizerOffsets
        ? { minimizerLen: this.minimizerLen, minimizerOffsets: this.minimizerOffsets.slice(0, n + 1), minimizers: this.minimizers.slice(0, 2 * this.minimizerLen) }
        : {}),
    };
  }
  /** Refills from a checkpoint's rows. */
  restore(s: SpillRows): void {
    this.rows = s.rows;
    this.idLen = s.idLen;
    if (this.idBytes.length < s.idLen) this.idBytes = new Uint8Array(s.idLen);
    this.fragment.set(s.fragment);
    this.idBytes.set(s.idBytes);
    this.idOffsets.set(s.idOffsets);
    this.lengths.set(s.lengths);
    this.attrs.set(s.attrs);
    this.embedding.set(s.embedding);
    this.hashes.set(s.hashes);
    if (this.minimizerOffsets) {
      if (!s.minimizers || !s.minimizerOffsets) throw new Error('resume: the checkpoint has no minimizer sketch');
      this.minimizerLen = s.minimizerLen ?? 0;
      if (this.minimizers.length < s.minimizers.length) this.minimizers = new Uint32Array(s.minimizers.length);
      this.minimizers.set(s.minimizers);
      this.minimizerOffsets.set(s.minimizerOffsets);
    }
  }
  reset(): void {
    this.rows = 0;
    this.idLen = 0;
    this.minimizerLen = 0;
  }
}
