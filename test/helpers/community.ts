import { countKmers, kmerTable, normaliseRow } from '../../src/embed/kmerProfile.js';
import { DEFAULT_SKETCH, fragmentSketch, SketchScratch } from '../../src/sketch/minimizers.js';
import type { SketchSet } from '../../src/cluster/graph.js';
import { revcomp, rng } from './fixtures.js';

/** Read pairs simulated from given genomes at given fold coverage (random strand, substitution errors). */
export interface SimPairs {
  r1: string[];
  r2: string[];
  source: number[];
}

const BASES = 'ACGT';

function mutate(s: string, rate: number, r: () => number): string {
  if (rate <= 0) return s;
  let out = '';
  for (const ch of s) out += r() < rate ? BASES[(BASES.indexOf(ch) + 1 + Math.floor(r() * 3)) % 4]! : ch;
  return out;
}

export function simulatePairs(genomes: string[], coverage: number[], seed: number, opts: { readLen?: number; insert?: number; errorRate?: number } = {}): SimPairs {
  const r = rng(seed);
  const readLen = opts.readLen ?? 100;
  const insert = opts.insert ?? 250;
  const err = opts.errorRate ?? 0.002;
  const out: SimPairs = { r1: [], r2: [], source: [] };
  genomes.forEach((g, gi) => {
    const pairs = Math.max(1, Math.round((coverage[gi]! * g.length) / (2 * readLen)));
    for (let i = 0; i < pairs; i++) {
      const pos = Math.floor(r() * (g.length - insert));
      let frag = g.slice(pos, pos + insert);
      if (r() < 0.5) frag = revcomp(frag);
      out.r1.push(mutate(frag.slice(0, readLen), err, r));
      out.r2.push(mutate(revcomp(frag).slice(0, readLen), err, r));
      out.source.push(gi);
    }
  });
  return out;
}

/** Phase 1's per-fragment features for simulated pairs: 4-mer frequency profiles, k-mer weights and sketches. */
export function featuresOf(p: SimPairs): { embedding: Float32Array; weight: Float64Array; sketch: SketchSet; d: number } {
  const t = kmerTable(4);
  const n = p.r1.length;
  const enc = new TextEncoder();
  const embedding = new Float32Array(n * t.dim);
  const weight = new Float64Array(n);
  const offsets = new Int32Array(n + 1);
  const pairs: number[] = [];
  const sc = new SketchScratch();
  const buf = new Uint32Array(2 * 1024);
  for (let f = 0; f < n; f++) {
    const a = enc.encode(p.r1[f]);
    const b = enc.encode(p.r2[f]);
    const total = countKmers(t, a, 0, a.length, embedding, f * t.dim) + countKmers(t, b, 0, b.length, embedding, f * t.dim);
    normaliseRow(embedding, f * t.dim, t.dim, total, 'freq');
    weight[f] = total;
    const m = fragmentSketch(DEFAULT_SKETCH, sc, a, 0, a.length, b, 0, b.length, buf, 0);
    for (let j = 0; j < 2 * m; j++) pairs.push(buf[j]!);
    offsets[f + 1] = offsets[f]! + m;
  }
  const hi = new Uint32Array(pairs.length / 2);
  const lo = new Uint32Array(pairs.length / 2);
  for (let j = 0; j < hi.length; j++) {
    hi[j] = pairs[2 * j]!;
    lo[j] = pairs[2 * j + 1]!;
  }
  return { embedding, weight, sketch: { n, offsets, hi, lo }, d: t.dim };
}

/** Writes simulated pairs as FASTQ text (ids frag000000...). */
export function toFastq(p: SimPairs, prefix = 'frag'): { r1: string; r2: string; ids: string[] } {
  let r1 = '';
  let r2 = '';
  const ids: string[] = [];
  p.r1.forEach((s, i) => {
    const id = `${prefix}${String(i).padStart(6, '0')}`;
    ids.push(id);
    r1 += `@${id}/1\n${s}\n+\n${'I'.repeat(s.length)}\n`;
    r2 += `@${id}/2\n${p.r2[i]}\n+\n${'I'.repeat(p.r2[i]!.length)}\n`;
  });
  return { r1, r2, ids };
}

/** Fraction of genome `src`'s fragments in its majority cluster, and that cluster. */
export function majority(labels: Int32Array, source: number[], src: number): { cluster: number; fraction: number } {
  const c = new Map<number, number>();
  let n = 0;
  source.forEach((s, i) => {
    if (s !== src) return;
    n++;
    c.set(labels[i]!, (c.get(labels[i]!) ?? 0) + 1);
  });
  const [cluster, count] = [...c.entries()].sort((a, b) => b[1] - a[1])[0]!;
  return { cluster, fraction: count / n };
}
