import { availableParallelism } from 'node:os';
import { LSH_BITS_RANGE, LSH_DEFAULTS, LSH_K_RANGE, NORMALISATIONS, parseEmbedMethod, type EmbedChoice } from '../embed/index.js';
import { usageError } from '../errors.js';
import { choiceOption, floatOption, intOption } from './args.js';

/** `--embed` and the options of each embedding method (shared by `prep` and `run`). */

export const EMBED_HELP = `embedding (docs/embedding.md)
  --embed kmer          canonical k-mer profile (default)
  --embed lsh           LSHvec-style sketch: random-hyperplane hashed k-mers, sparse random projection
  --embed onnx:DIR      transformer (BERT-family ONNX export: DIR/tokenizer.json, config.json, onnx/model.onnx)
  --embed dnabert2|dnaberts   the same from $METAVEC_MODELS/<name> (default ~/.metavec/models/<name>),
                        made once by scripts/export-dnabert.py; never downloaded
  --kmer K              kmer: 3..6 (default 4: 136 dimensions); lsh: ${LSH_K_RANGE[0]}..${LSH_K_RANGE[1]} (default ${LSH_DEFAULTS.k})
  --normalise M         kmer: freq|clr|hellinger (default freq); onnx: none|l2 (default none); lsh rows are l2
  --embed-dim N         lsh: sketch dimension (default ${LSH_DEFAULTS.dim}); onnx takes the model's hidden size
  --embed-seed S        lsh: seed of the hyperplanes and the projection (default ${LSH_DEFAULTS.seed})
  --lsh-bits B          lsh: hyperplanes per k-mer hash, ${LSH_BITS_RANGE[0]}..${LSH_BITS_RANGE[1]} (default ${LSH_DEFAULTS.bits})
  --lsh-nnz N           lsh: signed entries each hash bucket adds to the sketch (default ${LSH_DEFAULTS.nnz})
  --embed-batch-size N  onnx: sequences per model call (default 64; --batch-size is fragments per prep batch,
                        default 1024 with onnx)
  --embed-max-length N  onnx: tokens per read incl. [CLS]/[SEP] (default and maximum: the model's)
  --device cpu|cuda     onnx: execution provider (default cpu, all cores split over the worker threads)
  --num-gpus N          onnx: spread worker threads over N CUDA devices (implies --device cuda)
`;

export const EMBED_OPTIONS = {
  embed: { type: 'string' },
  kmer: { type: 'string' },
  normalise: { type: 'string' },
  'embed-dim': { type: 'string' },
  'embed-seed': { type: 'string' },
  'lsh-bits': { type: 'string' },
  'lsh-nnz': { type: 'string' },
  'embed-batch-size': { type: 'string' },
  'embed-max-length': { type: 'string' },
  device: { type: 'string' },
  'num-gpus': { type: 'string' },
} as const;

type EmbedValues = Partial<Record<keyof typeof EMBED_OPTIONS, string>>;

function onlyFor(cmd: string, v: EmbedValues, method: string, names: (keyof typeof EMBED_OPTIONS)[]): void {
  for (const n of names) if (v[n] !== undefined) throw usageError(`${cmd}: --${n} does not apply to --embed ${method}`);
}

export function embedChoiceFrom(cmd: string, v: EmbedValues, threads: number, env: NodeJS.ProcessEnv = process.env): EmbedChoice {
  let m;
  try {
    m = parseEmbedMethod(v.embed ?? 'kmer', env);
  } catch (err) {
    throw usageError(`${cmd}: ${(err as Error).message}`);
  }
  if (m.method === 'kmer') {
    onlyFor(cmd, v, 'kmer', ['embed-dim', 'embed-seed', 'lsh-bits', 'lsh-nnz', 'embed-batch-size', 'embed-max-length', 'device', 'num-gpus']);
    return { method: 'kmer', k: intOption(cmd, 'kmer', v.kmer, 4, 3, 6), normalisation: choiceOption(cmd, 'normalise', v.normalise, 'freq', NORMALISATIONS) };
  }
  if (m.method === 'lsh') {
    onlyFor(cmd, v, 'lsh', ['embed-batch-size', 'embed-max-length', 'device', 'num-gpus']);
    choiceOption(cmd, 'normalise', v.normalise, 'l2', ['l2'] as const);
    return {
      method: 'lsh',
      k: intOption(cmd, 'kmer', v.kmer, LSH_DEFAULTS.k, LSH_K_RANGE[0], LSH_K_RANGE[1]),
      dim: intOption(cmd, 'embed-dim', v['embed-dim'], LSH_DEFAULTS.dim, 2, 65536),
      bits: intOption(cmd, 'lsh-bits', v['lsh-bits'], LSH_DEFAULTS.bits, LSH_BITS_RANGE[0], LSH_BITS_RANGE[1]),
      nnz: intOption(cmd, 'lsh-nnz', v['lsh-nnz'], LSH_DEFAULTS.nnz, 1, 64),
      seed: intOption(cmd, 'embed-seed', v['embed-seed'], LSH_DEFAULTS.seed, 0, 0xffffffff),
    };
  }
  onlyFor(cmd, v, 'onnx', ['kmer', 'embed-dim', 'embed-seed', 'lsh-bits', 'lsh-nnz']);
  // a fraction is allowed (the Ray engine reserves fractional GPUs per actor); a local run uses ceil(N) devices
  const numGpus = Math.ceil(floatOption(cmd, 'num-gpus', v['num-gpus'], 0, 0, 64));
  const device = choiceOption(cmd, 'device', v.device, numGpus > 0 ? 'cuda' : 'cpu', ['cpu', 'cuda'] as const);
  if (device === 'cpu' && numGpus > 0) throw usageError(`${cmd}: --num-gpus ${numGpus} needs --device cuda (got --device cpu)`);
  const maxLength = v['embed-max-length'] !== undefined ? intOption(cmd, 'embed-max-length', v['embed-max-length'], 512, 3, 1 << 16) : undefined;
  return {
    method: 'onnx',
    dir: m.dir,
    ...(m.preset ? { preset: m.preset } : {}),
    ...(maxLength !== undefined ? { maxLength } : {}),
    batchSize: intOption(cmd, 'embed-batch-size', v['embed-batch-size'], 64, 1, 1 << 16),
    device,
    numGpus: device === 'cuda' ? Math.max(1, numGpus) : 0,
    // the cores are shared by the worker threads: each session gets its share
    intraOpThreads: Math.max(1, Math.floor(availableParallelism() / threads)),
    normalise: choiceOption(cmd, 'normalise', v.normalise, 'none', ['none', 'l2'] as const),
  };
}
