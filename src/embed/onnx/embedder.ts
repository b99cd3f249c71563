import { threadId } from 'node:worker_threads';
import { MetavecError } from '../../errors.js';
import type { Embedder, FragmentSeqs, OnnxSpec } from '../types.js';
import { maskedMeanPool } from './pooling.js';
import { cudaProviderPath, loadOrt, type OrtModule, type OrtSession, type OrtSessionOptions } from './runtime.js';
import { DnaTokenizer } from './tokenizer.js';
import { MODEL_FILE } from './model.js';
import { join } from 'node:path';

/**
 * Transformer embedding through an ONNX model (DNABERT-2, DNABERT-S or any BERT-family export). Each mate
 * is tokenized on its own (truncated to spec.maxLength tokens), sequences are sorted by token count and run
 * in batches of spec.batchSize padded to the batch's longest (attention mask 0 on padding), token vectors
 * are mean-pooled over the mask, and a pair's vector is the mean of its two mates' vectors. One session per
 * worker thread, created once and reused for every batch (embedderFor() caches it).
 */

const decoder = new TextDecoder();

/** Throws the one-line explanation when onnxruntime-node has no CUDA provider installed. */
export function checkCudaProvider(): void {
  if (cudaProviderPath()) return;
  throw new MetavecError(
    'USAGE',
    `embed onnx: --device cuda needs onnxruntime-node's CUDA execution provider, which is not installed (metavec installs the CPU build: ONNXRUNTIME_NODE_INSTALL_CUDA=skip). Reinstall onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 on a machine with CUDA 12, or drop --device cuda / --num-gpus`,
  );
}

export async function createSession(ort: OrtModule, spec: OnnxSpec): Promise<OrtSession> {
  const opts: OrtSessionOptions = {
    intraOpNumThreads: spec.intraOpThreads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    logSeverityLevel: 3,
  };
  let where = 'CPU';
  if (spec.device === 'cuda') {
    checkCudaProvider();
    // Worker threads are spread over the GPUs round-robin by thread id.
    const deviceId = threadId % Math.max(1, spec.numGpus);
    opts.executionProviders = [{ name: 'cuda', deviceId }];
    where = `CUDA device ${deviceId}`;
  } else {
    opts.executionProviders = ['cpu'];
  }
  const path = join(spec.dir, MODEL_FILE);
  try {
    return await ort.InferenceSession.create(path, opts);
  } catch (err) {
    throw new MetavecError('USAGE', `embed onnx: cannot load ${path} on ${where}: ${(err as Error).message.split('\n')[0]}`);
  }
}

export class OnnxEmbedder implements Embedder {
  readonly dim: number;
  private readonly outputName: string;
  private readonly feedTypeIds: boolean;

  private constructor(
    private readonly spec: OnnxSpec,
    private readonly ort: OrtModule,
    private readonly session: OrtSession,
    readonly tokenizer: DnaTokenizer,
  ) {
    this.dim = spec.dim;
    const inputs = session.inputNames;
    const path = join(spec.dir, MODEL_FILE);
    if (!inputs.includes('input_ids') || !inputs.includes('attention_mask')) {
      throw new MetavecError('USAGE', `embed onnx: ${path} must take inputs input_ids and attention_mask (it takes ${inputs.join(', ')})`);
    }
    const extra = inputs.filter((n) => n !== 'input_ids' && n !== 'attention_mask' && n !== 'token_type_ids');
    if (extra.length > 0) throw new MetavecError('USAGE', `embed onnx: ${path} has inputs metavec cannot fill: ${extra.join(', ')}`);
    this.feedTypeIds = inputs.includes('token_type_ids');
    this.outputName = session.outputNames.includes('last_hidden_state') ? 'last_hidden_state' : session.outputNames[0]!;
  }

  static async create(spec: OnnxSpec): Promise<OnnxEmbedder> {
    const ort = await loadOrt();
    const tokenizer = await DnaTokenizer.load(spec.dir);
    const session = await createSession(ort, spec);
    return new OnnxEmbedder(spec, ort, session, tokenizer);
  }

  /** Token ids of every mate of the batch, with the fragment each belongs to. */
  tokenize(f: FragmentSeqs): { ids: Int32Array[]; owner: Int32Array } {
    const ids: Int32Array[] = [];
    const owner: number[] = [];
    const max = this.spec.maxLength;
    for (let i = 0; i < f.n; i++) {
      ids.push(this.tokenizer.encode(decoder.decode(f.bytes1.subarray(f.start1[i], f.start1[i]! + f.len1[i]!)), max));
      owner.push(i);
      if (f.len2[i]! > 0) {
        ids.push(this.tokenizer.encode(decoder.decode(f.bytes2.subarray(f.start2[i], f.start2[i]! + f.len2[i]!)), max));
        owner.push(i);
      }
    }
    return { ids, owner: Int32Array.from(owner) };
  }

  /** Runs the model on sequences (already tokenized) and returns their mean-pooled vectors, row per sequence. */
  async pooled(ids: Int32Array[]): Promise<Float64Array> {
    const dim = this.dim;
    const out = new Float64Array(ids.length * dim);
    // Sorting by length keeps padding small; the order is fixed by the input, so results do not depend on it.
    const order = ids.map((_, i) => i).sort((a, b) => ids[a]!.length - ids[b]!.length || a - b);
    const bs = this.spec.batchSize;
    for (let s = 0; s < order.length; s += bs) {
      const rows = order.slice(s, s + bs);
      const b = rows.length;
      let len = 1;
      for (const r of rows) len = Math.max(len, ids[r]!.length);
      const inputIds = new BigInt64Array(b * len).fill(BigInt(this.tokenizer.padId));
      const mask = new BigInt64Array(b * len);
      rows.forEach((r, j) => {
        const t = ids[r]!;
        for (let p = 0; p < t.length; p++) {
          inputIds[j * len + p] = BigInt(t[p]!);
          mask[j * len + p] = 1n;
        }
      });
      const feeds: Record<string, InstanceType<OrtModule['Tensor']>> = {
        input_ids: new this.ort.Tensor('int64', inputIds, [b, len]),
        attention_mask: new this.ort.Tensor('int64', mask, [b, len]),
      };
      if (this.feedTypeIds) feeds.token_type_ids = new this.ort.Tensor('int64', new BigInt64Array(b * len), [b, len]);
      let res;
      try {
        res = await this.session.run(feeds);
      } catch (err) {
        throw new MetavecError('INTERNAL', `embed onnx: ${join(this.spec.dir, MODEL_FILE)}: inference failed on a batch of ${b}x${len} tokens: ${(err as Error).message.split('\n')[0]}`);
      }
      const hidden = res[this.outputName]!;
      const dims = hidden.dims;
      if (dims.length !== 3 || dims[0] !== b || dims[1] !== len || dims[2] !== dim || !(hidden.data instanceof Float32Array)) {
        throw new MetavecError('USAGE', `embed onnx: ${join(this.spec.dir, MODEL_FILE)}: output ${this.outputName} is ${hidden.type}[${dims.join(', ')}], expected float32[${b}, ${len}, ${dim}] (hidden_size ${dim} from config.json)`);
      }
      const pooled = maskedMeanPool(hidden.data, mask, b, len, dim);
      rows.forEach((r, j) => out.set(pooled.subarray(j * dim, (j + 1) * dim), r * dim));
    }
    return out;
  }

  async embed(f: FragmentSeqs, out: Float32Array): Promise<void> {
    const dim = this.dim;
    const { ids, owner } = this.tokenize(f);
    const pooled = await this.pooled(ids);
    const acc = new Float64Array(f.n * dim);
    const mates = new Int32Array(f.n);
    for (let s = 0; s < ids.length; s++) {
      const o = owner[s]! * dim;
      mates[owner[s]!]! += 1;
      for (let j = 0; j < dim; j++) acc[o + j]! += pooled[s * dim + j]!;
    }
    for (let i = 0; i < f.n; i++) {
      const o = i * dim;
      const m = mates[i]! || 1;
      let ss = 0;
      for (let j = 0; j < dim; j++) {
        acc[o + j] = acc[o + j]! / m;
        ss += acc[o + j]! * acc[o + j]!;
      }
      const scale = this.spec.normalise === 'l2' && ss > 0 ? 1 / Math.sqrt(ss) : 1;
      for (let j = 0; j < dim; j++) out[o + j] = acc[o + j]! * scale;
    }
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
