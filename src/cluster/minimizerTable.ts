/**
 * An open-addressing hash table from a 64-bit minimizer (hi, lo words) to a 32-bit count, with a parallel label
 * array added once counting is over. The graph method's coverage table and minimizer -> cluster index
 * (docs/graph.md "Depth"): its size follows the community's distinct content (genome minimizers, plus the
 * sequencing errors' singletons), not the number of reads. 12 bytes per slot (16 with labels), at most half
 * full. Minimizers are already hashes (fmix of the 2-bit code), so their low word indexes the table directly.
 */
export class MinimizerTable {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private cnt: Uint32Array;
  private mask: number;
  /** distinct keys stored */
  size = 0;
  /** per slot, once attachLabels() ran: -1 unlabelled, else the cluster */
  labels: Int32Array | undefined;

  constructor(capacity = 1 << 16) {
    let c = 1 << 10;
    while (c < capacity) c *= 2;
    this.hi = new Uint32Array(c);
    this.lo = new Uint32Array(c);
    this.cnt = new Uint32Array(c);
    this.mask = c - 1;
  }

  get capacity(): number {
    return this.mask + 1;
  }

  /** Bytes held by the table's arrays. */
  get bytes(): number {
    return this.capacity * (12 + (this.labels ? 4 : 0));
  }

  /** Slot of (hi, lo), or the empty slot where it would go. Count 0 marks an empty slot. */
  private slot(hi: number, lo: number): number {
    let s = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask;
    for (;;) {
      if (this.cnt[s] === 0 || (this.lo[s] === lo && this.hi[s] === hi)) return s;
      s = (s + 1) & this.mask;
    }
  }

  /** Adds `by` to the count of (hi, lo) (saturating at 2^32 - 1). */
  add(hi: number, lo: number, by = 1): void {
    let s = this.slot(hi, lo);
    if (this.cnt[s] === 0) {
      if (this.labels) throw new Error('MinimizerTable: no new keys after attachLabels()');
      if (2 * (this.size + 1) > this.capacity) {
        this.grow();
        s = this.slot(hi, lo);
      }
      this.hi[s] = hi;
      this.lo[s] = lo;
      this.size++;
    }
    this.cnt[s] = Math.min(0xffffffff, this.cnt[s]! + by);
  }

  /** Count of (hi, lo); 0 when absent. */
  count(hi: number, lo: number): number {
    return this.cnt[this.slot(hi, lo)]!;
  }

  /** Label of (hi, lo) (attachLabels); -1 when absent or unlabelled. */
  label(hi: number, lo: number): number {
    const s = this.slot(hi, lo);
    return this.cnt[s] === 0 || !this.labels ? -1 : this.labels[s]!;
  }

  /** Starts the label index: every key unlabelled. The table takes no new keys afterwards. */
  attachLabels(): void {
    this.labels = new Int32Array(this.capacity).fill(-1);
  }

  /** Labels (hi, lo) with cluster `c` when the key is present (the last claim wins). */
  claim(hi: number, lo: number, c: number): void {
    const s = this.slot(hi, lo);
    if (this.cnt[s] !== 0 && this.labels) this.labels[s] = c;
  }

  /** Every (hi, lo, count), in slot order (for an engine that exchanges tables). */
  forEach(fn: (hi: number, lo: number, count: number) => void): void {
    for (let s = 0; s <= this.mask; s++) if (this.cnt[s] !== 0) fn(this.hi[s]!, this.lo[s]!, this.cnt[s]!);
  }

  /** Every labelled (hi, lo, label), in slot order (what another rank's copy of the table needs to claim). */
  forEachLabel(fn: (hi: number, lo: number, label: number) => void): void {
    const labels = this.labels;
    if (!labels) return;
    for (let s = 0; s <= this.mask; s++) if (this.cnt[s] !== 0 && labels[s]! >= 0) fn(this.hi[s]!, this.lo[s]!, labels[s]!);
  }

  private grow(): void {
    const { hi, lo, cnt } = this;
    const c = this.capacity * 2;
    this.hi = new Uint32Array(c);
    this.lo = new Uint32Array(c);
    this.cnt = new Uint32Array(c);
    this.mask = c - 1;
    for (let s = 0; s < cnt.length; s++) {
      if (cnt[s] === 0) continue;
      const t = this.slot(hi[s]!, lo[s]!);
      this.hi[t] = hi[s]!;
      this.lo[t] = lo[s]!;
      this.cnt[t] = cnt[s]!;
    }
  }
}
