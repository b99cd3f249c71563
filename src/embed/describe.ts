import { CLR_PSEUDOCOUNT } from './kmerProfile.js';
import type { EmbeddingInfo } from './types.js';

/**
 * What an embedding means, written into the files that hold embeddings or are derived from them (shards'
 * Parquet key-value metadata, clusters.nc's `dim` coordinate), so that a file read alone says it
 * (docs/formats.md, docs/formats-phase2.md).
 */

/** Version of the key-value metadata written into Parquet files (shards, labels). */
export const PARQUET_METADATA_VERSION = 'metavec.parquet-metadata/1';

const COMPLEMENT: Record<string, string> = { A: 'T', C: 'G', G: 'C', T: 'A' };

/** `AAAC/GTTT`: a canonical k-mer and its reverse complement (one dimension); a palindrome stands alone (`ACGT`). */
export function kmerPairName(kmer: string): string {
  let rc = '';
  for (let i = kmer.length - 1; i >= 0; i--) rc += COMPLEMENT[kmer[i]!] ?? 'N';
  return rc === kmer ? kmer : `${kmer}/${rc}`;
}

/** Names of the dimensions (k-mer profiles: `AAAA/TTTT`, ...); undefined when dimensions have no names. */
export function embeddingDimensionNames(e: EmbeddingInfo): string[] | undefined {
  if (e.method !== 'kmer' || !Array.isArray(e.columns) || e.columns.length !== e.dim) return undefined;
  return e.columns.map(kmerPairName);
}

/** One sentence: what embedding[i] is. */
export function embeddingMeaning(e: EmbeddingInfo): string {
  if (e.method === 'kmer') {
    const k = e.k ?? 0;
    const freq = `(count of canonical ${k}-mer i, a k-mer and its reverse complement counted together, over both mates, k-mers with N skipped) / (${k}-mers counted in the fragment)`;
    const norm = e.normalisation ?? 'freq';
    if (norm === 'hellinger') return `embedding[i] = sqrt${freq}; i is named by dim_names (Hellinger coordinates)`;
    if (norm === 'clr') {
      return `embedding[i] = log(count of canonical ${k}-mer i + ${CLR_PSEUDOCOUNT}) minus the mean of these logs over the fragment's ${e.dim} dimensions (centred log-ratio); i is named by dim_names`;
    }
    return `embedding[i] = ${freq}; i is named by dim_names`;
  }
  if (e.method === 'lsh') {
    return `LSH sketch: every canonical ${e.k ?? ''}-mer is hashed to one of 2^${Number(e.lsh_bits)} buckets by random hyperplanes, each bucket adds ${Number(e.nnz)} signed unit entries at seeded (seed ${Number(e.seed)}) coordinates of the ${e.dim}-vector, the row is L2-normalised; dimensions have no names`;
  }
  if (e.method === 'onnx') {
    const str = (v: unknown, dflt: string): string => (typeof v === 'string' ? v : dflt);
    const model = typeof e.preset === 'string' ? `${e.preset}${typeof e.checkpoint === 'string' ? ` (${e.checkpoint})` : ''}` : str(e.model_type, 'transformer');
    return `mean-pooled last hidden state of ${model}, model sha256 ${str(e.model_sha256, '?')}, normalisation ${str(e.normalisation, 'none')}; dimensions have no names`;
  }
  return `${e.method} embedding of ${e.dim} dimensions`;
}

/** The embedding description without what differs between machines (model path, device, batch size) or is listed apart. */
export function portableEmbedding(e: EmbeddingInfo): Record<string, unknown> {
  const { columns: _c, model: _m, device: _d, batch_size: _b, ...rest } = e;
  return rest;
}

/**
 * Parquet key-value metadata of a shard: deterministic (the same run gives the same bytes under every engine).
 * Keys: metavec.metadata, metavec.embedding (JSON), metavec.embedding.meaning, metavec.embedding.dim_names
 * (JSON array, k-mer profiles), metavec.sketch (JSON, when shards store minimizers), metavec.docs.
 */
export function shardKeyValueMetadata(e: EmbeddingInfo, sketch?: Record<string, unknown>): Record<string, string> {
  const names = embeddingDimensionNames(e);
  return {
    'metavec.metadata': PARQUET_METADATA_VERSION,
    'metavec.content': 'Phase 1 shard: one row per fragment (read pair); column embedding holds the vector described by metavec.embedding',
    'metavec.embedding': JSON.stringify(portableEmbedding(e)),
    'metavec.embedding.meaning': embeddingMeaning(e),
    ...(names ? { 'metavec.embedding.dim_names': JSON.stringify(names) } : {}),
    ...(sketch ? { 'metavec.sketch': JSON.stringify(sketch) } : {}),
    'metavec.docs': 'docs/formats.md (metavec)',
  };
}
