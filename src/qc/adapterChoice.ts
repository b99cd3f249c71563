import { detectAdapter, encodeAdapters } from './adapters.js';

/**
 * Which adapters a run clips: the given sequence, else one detected from the first reads of the mate (fastp's
 * auto-detection), else none (pairs are still clipped by mate overlap). Decided once per run, before any batch.
 */
export interface AdapterChoice {
  adaptersR1: string[];
  /** undefined for single-end input */
  adaptersR2?: string[];
  /** the manifest's `adapters` entry */
  info: Record<string, unknown>;
}

export function chooseAdapters(
  reads1: Uint8Array[],
  reads2: Uint8Array[],
  paired: boolean,
  given: { r1?: string | undefined; r2?: string | undefined },
  detect: boolean,
): AdapterChoice {
  const info: Record<string, unknown> = {};
  const pick = (seq: string | undefined, reads: Uint8Array[], mate: string): string[] => {
    if (seq) {
      info[mate] = { sequence: seq.toUpperCase(), source: 'given' };
      return [seq.toUpperCase()];
    }
    if (!detect || reads.length === 0) return [];
    const d = detectAdapter(reads, undefined, mate === 'read2' ? 2 : 1);
    if (!d) {
      info[mate] = { sequence: null, source: 'detection found none' };
      return [];
    }
    info[mate] = { name: d.name, sequence: d.sequence, source: 'detected', sample_fraction: +d.fraction.toFixed(5) };
    return [d.sequence];
  };
  const adaptersR1 = pick(given.r1, reads1, 'read1');
  const adaptersR2 = paired ? pick(given.r2 ?? given.r1, reads2, 'read2') : undefined;
  info.pair_overlap = paired;
  return { adaptersR1, ...(adaptersR2 ? { adaptersR2 } : {}), info };
}

const encoded = new Map<string, Uint8Array[]>();
/** The adapters as the clipping kernels take them, encoded once per worker thread. */
export function encodedAdapters(list: string[]): Uint8Array[] {
  const key = list.join(',');
  let v = encoded.get(key);
  if (!v) {
    v = encodeAdapters(list);
    encoded.set(key, v);
  }
  return v;
}
