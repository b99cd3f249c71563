import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { MetavecError } from '../../errors.js';

/**
 * Lazy access to the optional packages behind `--embed onnx:DIR`: onnxruntime-node (the model) and
 * @huggingface/tokenizers (tokenizer.json). Neither is installed by a plain `npm install` (they are optional
 * peer dependencies, ~290 MB for onnxruntime-node); only the parts used here are typed.
 */

export const ORT_PACKAGE = 'onnxruntime-node';
export const TOKENIZERS_PACKAGE = '@huggingface/tokenizers';
export const INSTALL_HINT =
  'ONNXRUNTIME_NODE_INSTALL_CUDA=skip ONNXRUNTIME_NODE_INSTALL=skip npm install --no-save onnxruntime-node@1.30.0 @huggingface/tokenizers@0.2.0 (docs/embedding.md)';

export interface OrtTensor {
  readonly dims: readonly number[];
  readonly data: unknown;
  readonly type: string;
}
export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
export interface OrtSessionOptions {
  executionProviders?: (string | { name: string; deviceId?: number })[];
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  executionMode?: 'sequential' | 'parallel';
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}
export interface OrtModule {
  InferenceSession: { create(path: string, options?: OrtSessionOptions): Promise<OrtSession> };
  Tensor: new (type: string, data: BigInt64Array | Float32Array | Int32Array, dims: readonly number[]) => OrtTensor;
  listSupportedBackends?: () => { name: string; bundled: boolean }[];
}
export interface HfTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
  token_to_id(token: string): number | undefined;
}
export interface TokenizersModule {
  Tokenizer: new (tokenizerJson: object, config: object) => HfTokenizer;
}

function missing(pkg: string, err: unknown): MetavecError {
  return new MetavecError('USAGE', `embed onnx: the optional package ${pkg} is not installed (${(err as Error).message.split('\n')[0]}); install it with: ${INSTALL_HINT}`, { cause: err });
}

let ort: Promise<OrtModule> | undefined;
let tok: Promise<TokenizersModule> | undefined;

/** Imports through a variable so the build does not need the optional packages' types. */
async function importOptional<T>(pkg: string): Promise<T> {
  const spec: string = pkg;
  try {
    const m = (await import(spec)) as { default?: T } & T;
    return m;
  } catch (err) {
    throw missing(pkg, err);
  }
}

export function loadOrt(): Promise<OrtModule> {
  ort ??= importOptional<OrtModule>(ORT_PACKAGE);
  return ort;
}

export function loadTokenizers(): Promise<TokenizersModule> {
  tok ??= importOptional<TokenizersModule>(TOKENIZERS_PACKAGE);
  return tok;
}

/**
 * Whether onnxruntime-node's CUDA execution provider library is present. The npm package bundles only the
 * CPU provider; the CUDA one is a separate download its postinstall makes (which metavec's install paths
 * skip: ONNXRUNTIME_NODE_INSTALL_CUDA=skip), so a user who wants CUDA installs it deliberately.
 */
export function cudaProviderPath(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const root = dirname(require.resolve(`${ORT_PACKAGE}/package.json`));
    for (const napi of ['napi-v6', 'napi-v3', 'napi-v4', 'napi-v5', 'napi-v7', 'napi-v8', 'napi-v9', 'napi-v10']) {
      const p = join(root, 'bin', napi, process.platform, process.arch, process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so');
      if (existsSync(p)) return p;
    }
  } catch {
    // package not installed: reported by loadOrt()
  }
  return undefined;
}
