import { basename } from 'node:path';
import { countKmers, kmerTable, normaliseRow, type Normalisation } from '../embed/kmerProfile.js';
import { inputError } from '../errors.js';
import { RecordReader } from '../io/recordReader.js';
import { openLocalSource } from '../io/source.js';
import { allocParsed, parseRecords } from '../io/seqParser.js';

/**
 * Cluster naming by reference genomes (`--references genome.fa ...`, docs/graph.md): each reference's pooled
 * signature is its whole-genome canonical k-mer profile with the run's k and normalisation (the profile a
 * read group from that genome tends to as it grows); a cluster takes the name of the reference whose
 * signature is nearest its centre in Hellinger distance (Euclidean distance of square-root profiles).
 */
export interface Reference {
  name: string;
  path: string;
  bases: number;
  contigs: number;
  profile: Float32Array;
}

/** Name of a reference: its file name without sequence/compression extensions. */
export function referenceName(path: string): string {
  return basename(path).replace(/\.(gz|bgz)$/i, '').replace(/\.(fa|fasta|fna|ffn|fas|seq|dna)$/i, '');
}

export async function loadReference(path: string, k: number, normalisation: Normalisation): Promise<Reference> {
  const table = kmerTable(k);
  const src = await openLocalSource(path);
  const reader = new RecordReader(src);
  const format = await reader.detect();
  if (format !== 'fasta') throw inputError(`${src.label}: a reference must be FASTA (found ${format.toUpperCase()})`);
  const counts = new Float32Array(table.dim);
  let total = 0;
  let bases = 0;
  let contigs = 0;
  for (;;) {
    const c = await reader.next(64);
    if (!c) break;
    const p = parseRecords(c.bytes, c.records, { label: src.label, firstRecord: c.firstRecord, firstLine: c.firstLine, format, quality: 'phred33' }, allocParsed(c.records));
    for (let i = 0; i < p.n; i++) {
      total += countKmers(table, c.bytes, p.seqStart[i]!, p.seqLen[i]!, counts, 0);
      bases += p.seqLen[i]!;
      contigs++;
    }
  }
  if (total === 0) throw inputError(`${src.label}: reference has no ${k}-mers (empty or only N)`);
  normaliseRow(counts, 0, table.dim, total, normalisation);
  return { name: referenceName(path), path, bases, contigs, profile: counts };
}

/** Hellinger-type distance used to name clusters: Euclidean distance of square-root frequency profiles. */
function sqrtDistance(a: Float32Array, ao: number, b: Float32Array, d: number): number {
  let s = 0;
  for (let t = 0; t < d; t++) {
    const u = Math.sqrt(Math.max(0, a[ao + t]!)) - Math.sqrt(Math.max(0, b[t]!));
    s += u * u;
  }
  return Math.sqrt(s);
}

export interface ClusterName {
  cluster: number;
  name: string;
  distance: number;
  /** distance to the second nearest reference (how clear the call is), null with one reference */
  runner_up: { name: string; distance: number } | null;
}

/** Names clusters after the nearest reference; centroids are frequency profiles (k x d). */
export function nameClusters(centroids: Float32Array, k: number, d: number, refs: Reference[]): ClusterName[] {
  const out: ClusterName[] = [];
  for (let j = 0; j < k; j++) {
    const ds = refs.map((r) => ({ name: r.name, distance: sqrtDistance(centroids, j * d, r.profile, d) })).sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name));
    out.push({ cluster: j, name: ds[0]!.name, distance: +ds[0]!.distance.toFixed(6), runner_up: ds[1] ? { name: ds[1].name, distance: +ds[1].distance.toFixed(6) } : null });
  }
  return out;
}
