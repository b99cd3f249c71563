import type { Normalisation } from './kmerProfile.js';

/**
 * The embedding stage's contract. An embedder turns the kept fragments of one batch (both mates, after QC
 * and correction) into fixed-length float32 rows. Specs are plain data so they cross thread / process
 * boundaries; the engine hands the spec to a worker, the worker builds (and keeps) the embedder.
 */

export type EmbedSpec = KmerSpec | LshSpec | OnnxSpec;

export interface KmerSpec {
  method: 'kmer';
  k: number;
  normalisation: Normalisation;
}

export interface LshSpec {
  method: 'lsh';
  /** k-mer length, 8..15 */
  k: number;
  /** sketch dimension */
  dim: number;
  /** bits of the random-hyperplane hash of a k-mer (LSH buckets = 2^bits) */
  bits: number;
  /** signed coordinates each bucket adds to the sketch */
  nnz: number;
  seed: number;
}

export interface OnnxSpec {
  method: 'onnx';
  /** absolute model directory: tokenizer.json, config.json, onnx/model.onnx */
  dir: string;
  /** preset name when the directory came from one (dnabert2, dnaberts) */
  preset?: string;
  /** hidden size of the model (= embedding dimension) */
  dim: number;
  /** tokens per sequence including special tokens; longer reads are truncated */
  maxLength: number;
  /** sequences per model call */
  batchSize: number;
  device: 'cpu' | 'cuda';
  /** GPUs to spread worker threads over (device cuda) */
  numGpus: number;
  /** onnxruntime intra-op threads per worker thread */
  intraOpThreads: number;
  normalise: 'none' | 'l2';
}

/** Kept fragments of a batch as views into the batch bytes (mate 2 length 0 for single-end). */
export interface FragmentSeqs {
  n: number;
  bytes1: Uint8Array;
  start1: Int32Array;
  len1: Int32Array;
  bytes2: Uint8Array;
  start2: Int32Array;
  len2: Int32Array;
}

export interface Embedder {
  readonly dim: number;
  /** Writes n rows of `dim` floats into out (row-major, out.length >= n * dim, zero-filled by the caller). */
  embed(frags: FragmentSeqs, out: Float32Array): void | Promise<void>;
  /** Releases native resources (model sessions). */
  close?(): Promise<void>;
}

/** The manifest's `embedding` object. */
export interface EmbeddingInfo {
  method: string;
  dim: number;
  k?: number;
  normalisation?: string;
  columns?: string[];
  [key: string]: unknown;
}
