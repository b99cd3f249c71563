import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { MetavecError } from '../../errors.js';

/**
 * Model directories for `--embed onnx:DIR` and the presets. A directory holds what the Hugging Face hub
 * ships for a model plus its ONNX export (scripts/export-dnabert.py writes exactly this):
 *   config.json (hidden_size, max_position_embeddings), tokenizer.json, [tokenizer_config.json],
 *   onnx/model.onnx (inputs input_ids [+ attention_mask, token_type_ids], output last_hidden_state).
 * Nothing is ever downloaded: a missing directory is an error that says how to make it.
 */

export const PRESETS: Record<string, { dir: string; checkpoint: string }> = {
  dnabert2: { dir: 'dnabert2', checkpoint: 'zhihan1996/DNABERT-2-117M' },
  dnaberts: { dir: 'dnaberts', checkpoint: 'zhihan1996/DNABERT-S' },
};

/** Where presets live: $METAVEC_MODELS, else ~/.metavec/models. */
export function modelsRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.METAVEC_MODELS ? resolve(env.METAVEC_MODELS) : join(homedir(), '.metavec', 'models');
}

export const MODEL_FILE = join('onnx', 'model.onnx');

export interface ModelInfo {
  dir: string;
  modelPath: string;
  dim: number;
  /** longest token sequence the model takes (special tokens included) */
  maxLength: number;
  modelType: string;
  /** provenance written by the export script (metavec-export.json), when present */
  export?: Record<string, unknown>;
}

async function readJson(path: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new MetavecError('USAGE', `embed onnx: ${path}: cannot read ${what} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new MetavecError('USAGE', `embed onnx: ${path}: ${what} is not valid JSON (${(err as Error).message})`);
  }
}

/** Checks the directory's files and reads the dimension and maximum length from its configs. */
export async function readModelInfo(dir: string, preset?: string): Promise<ModelInfo> {
  if (!existsSync(dir)) {
    const how = preset
      ? `make it with scripts/export-dnabert.py ${preset} ${dir} on a machine with Hugging Face hub access, or set METAVEC_MODELS to the directory that holds '${PRESETS[preset]?.dir ?? preset}/'`
      : 'expected tokenizer.json, config.json and onnx/model.onnx in it';
    throw new MetavecError('USAGE', `embed onnx: model directory ${dir} does not exist (${how}; see docs/embedding.md)`);
  }
  for (const f of ['config.json', 'tokenizer.json', MODEL_FILE]) {
    if (!existsSync(join(dir, f))) throw new MetavecError('USAGE', `embed onnx: ${join(dir, f)} is missing (a model directory holds tokenizer.json, config.json and onnx/model.onnx; docs/embedding.md)`);
  }
  const config = await readJson(join(dir, 'config.json'), 'config.json');
  const dim = config.hidden_size;
  if (!Number.isInteger(dim) || (dim as number) <= 0) throw new MetavecError('USAGE', `embed onnx: ${join(dir, 'config.json')}: hidden_size missing or invalid (${JSON.stringify(dim)})`);
  let maxLength = Infinity;
  const mpe = config.max_position_embeddings;
  if (Number.isInteger(mpe) && (mpe as number) > 0) maxLength = mpe as number;
  if (existsSync(join(dir, 'tokenizer_config.json'))) {
    const tc = await readJson(join(dir, 'tokenizer_config.json'), 'tokenizer_config.json');
    const mml = tc.model_max_length;
    // transformers writes a huge sentinel (1e30) when the tokenizer has no limit of its own
    if (typeof mml === 'number' && mml > 0 && mml < 1e6) maxLength = Math.min(maxLength, mml);
  }
  if (!Number.isFinite(maxLength)) maxLength = 512;
  const info: ModelInfo = { dir, modelPath: join(dir, MODEL_FILE), dim: dim as number, maxLength, modelType: typeof config.model_type === 'string' ? config.model_type : 'unknown' };
  if (existsSync(join(dir, 'metavec-export.json'))) info.export = await readJson(join(dir, 'metavec-export.json'), 'metavec-export.json');
  return info;
}
