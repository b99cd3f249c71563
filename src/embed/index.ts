import { sha256File } from '../io/checksum.js';
import { KmerProfileEmbedder, kmerTable } from './kmerProfile.js';
import { LshSketch, validateLsh } from './lsh.js';
import { checkCudaProvider, OnnxEmbedder } from './onnx/embedder.js';
import { PRESETS, modelsRoot, readModelInfo } from './onnx/model.js';
import { loadOrt } from './onnx/runtime.js';
import { DnaTokenizer } from './onnx/tokenizer.js';
import type { Embedder, EmbeddingInfo, EmbedSpec, KmerSpec, LshSpec, OnnxSpec } from './types.js';
import { MetavecError } from '../errors.js';
import { join, resolve } from 'node:path';

/**
 * The embedding stage: pick an embedder from a spec (plain data), keep it for the life of the worker thread,
 * describe it for the manifest. `--embed kmer | lsh | onnx:DIR | dnabert2 | dnaberts` (docs/embedding.md).
 */

export type { Embedder, EmbeddingInfo, EmbedSpec, FragmentSeqs, KmerSpec, LshSpec, OnnxSpec } from './types.js';
export { LSH_DEFAULTS, LSH_K_RANGE, LSH_BITS_RANGE } from './lsh.js';
export { PRESETS, modelsRoot } from './onnx/model.js';
export { NORMALISATIONS, type Normalisation } from './kmerProfile.js';

/** An onnx choice before the model directory has been read (dimension and length limit come from it). */
export type OnnxChoice = Omit<OnnxSpec, 'dim' | 'maxLength'> & { maxLength?: number };
export type EmbedChoice = KmerSpec | LshSpec | OnnxChoice;

/** `--embed` values: kmer, lsh, onnx:DIR, or a preset name resolved under modelsRoot(). */
export function parseEmbedMethod(value: string, env: NodeJS.ProcessEnv = process.env): { method: 'kmer' } | { method: 'lsh' } | { method: 'onnx'; dir: string; preset?: string } {
  if (value === 'kmer' || value === 'lsh') return { method: value };
  if (value.startsWith('onnx:')) {
    const dir = value.slice(5);
    if (dir.length === 0) throw new MetavecError('USAGE', `--embed onnx:DIR needs a model directory after 'onnx:'`);
    return { method: 'onnx', dir: resolve(dir) };
  }
  const preset = PRESETS[value];
  if (preset) return { method: 'onnx', dir: join(modelsRoot(env), preset.dir), preset: value };
  throw new MetavecError('USAGE', `--embed must be kmer, lsh, onnx:DIR, ${Object.keys(PRESETS).join(' or ')}; got '${value}'`);
}

/**
 * Completes a choice into a spec and the manifest's description. For onnx: reads the model directory,
 * loads the optional packages and the tokenizer here (so a missing package or a bad directory fails before
 * any worker starts); the model itself is loaded by each worker.
 */
export async function resolveEmbedding(choice: EmbedChoice): Promise<{ spec: EmbedSpec; info: EmbeddingInfo }> {
  if (choice.method === 'kmer') {
    const t = kmerTable(choice.k);
    return { spec: choice, info: { method: 'kmer', k: choice.k, dim: t.dim, normalisation: choice.normalisation, columns: t.names } };
  }
  if (choice.method === 'lsh') {
    try {
      validateLsh(choice);
    } catch (err) {
      throw new MetavecError('USAGE', (err as Error).message);
    }
    return {
      spec: choice,
      info: { method: 'lsh', k: choice.k, dim: choice.dim, normalisation: 'l2', lsh_bits: choice.bits, nnz: choice.nnz, seed: choice.seed, canonical: true },
    };
  }
  const model = await readModelInfo(choice.dir, choice.preset);
  await loadOrt();
  await DnaTokenizer.load(choice.dir);
  if (choice.device === 'cuda') checkCudaProvider();
  const maxLength = Math.min(model.maxLength, choice.maxLength ?? Infinity);
  const spec: OnnxSpec = { ...choice, dim: model.dim, maxLength };
  const info: EmbeddingInfo = {
    method: 'onnx',
    dim: model.dim,
    model: choice.dir,
    ...(choice.preset ? { preset: choice.preset, checkpoint: PRESETS[choice.preset]!.checkpoint } : {}),
    model_type: model.modelType,
    model_sha256: await sha256File(model.modelPath),
    max_length: maxLength,
    pooling: 'mean over attention mask (special tokens included); pair = mean of the two mates',
    normalisation: choice.normalise,
    batch_size: choice.batchSize,
    device: choice.device,
    ...(model.export ? { export: model.export } : {}),
  };
  return { spec, info };
}

export async function createEmbedder(spec: EmbedSpec): Promise<Embedder> {
  if (spec.method === 'kmer') return new KmerProfileEmbedder(spec.k, spec.normalisation);
  if (spec.method === 'lsh') return new LshSketch(spec);
  return OnnxEmbedder.create(spec);
}

let cached: { key: string; embedder: Promise<Embedder> } | undefined;

/**
 * The embedder for a spec, built once per thread (module state is per worker thread) and reused across
 * batches: an ONNX session is loaded once per worker, not once per batch.
 */
export function embedderFor(spec: EmbedSpec): Promise<Embedder> {
  const key = JSON.stringify(spec);
  if (cached?.key === key) return cached.embedder;
  const previous = cached?.embedder;
  const embedder = createEmbedder(spec);
  cached = { key, embedder };
  embedder.catch(() => {
    if (cached?.key === key) cached = undefined; // let a later batch retry and report the error again
  });
  if (previous) void previous.then((e) => e.close?.()).catch(() => undefined);
  return embedder;
}

/** One line for summaries and NetCDF attributes. */
export function describeEmbedding(e: { method: string; k?: number; dim: number; normalisation?: string; [key: string]: unknown }): string {
  if (e.method === 'kmer') return `kmer k=${e.k ?? ''} ${e.normalisation ?? ''}`.trim();
  if (e.method === 'lsh') return `lsh k=${e.k ?? ''} dim=${e.dim} bits=${Number(e.lsh_bits)} seed=${Number(e.seed)}`;
  if (e.method === 'onnx') return `onnx ${typeof e.preset === 'string' ? e.preset : typeof e.model === 'string' ? e.model : ''} dim=${e.dim}`.trim();
  return `${e.method} dim=${e.dim}`;
}
