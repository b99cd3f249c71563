import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MetavecError } from '../../errors.js';
import { loadTokenizers, type HfTokenizer } from './runtime.js';

/**
 * A model directory's tokenizer.json (BPE for DNABERT-2 / DNABERT-S) through @huggingface/tokenizers, with
 * the truncation the Python `tokenizers` library applies: the sequence's tokens are cut so that, with the
 * special tokens the post-processor adds ([CLS] ... [SEP]), at most maxLength remain.
 */
export class DnaTokenizer {
  private constructor(
    private readonly tok: HfTokenizer,
    /** special tokens before / after the sequence's tokens */
    readonly prefix: readonly number[],
    readonly suffix: readonly number[],
    readonly padId: number,
  ) {}

  static async load(dir: string): Promise<DnaTokenizer> {
    const path = join(dir, 'tokenizer.json');
    let json: { padding?: { pad_id?: number } | null; truncation?: unknown; model?: { type?: string } };
    try {
      json = JSON.parse(await readFile(path, 'utf8')) as typeof json;
    } catch (err) {
      throw new MetavecError('USAGE', `embed onnx: ${path}: cannot read tokenizer (${(err as Error).message})`);
    }
    let config: { pad_token?: string | { content?: string } } = {};
    try {
      config = JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8')) as typeof config;
    } catch {
      // optional
    }
    const { Tokenizer } = await loadTokenizers();
    let tok: HfTokenizer;
    try {
      // DNABERT-S's tokenizer.json (as vendored from the hub) enables truncation and fixed padding to 2000;
      // transformers switches both off per call unless asked (truncation is ours: encode()), so we do too.
      tok = new Tokenizer({ ...json, truncation: null, padding: null }, config);
    } catch (err) {
      throw new MetavecError('USAGE', `embed onnx: ${path}: tokenizer not supported (${(err as Error).message})`);
    }
    // Where the post-processor puts its special tokens, from one probe sequence.
    const probe = 'ACGTACGT';
    const body = tok.encode(probe, { add_special_tokens: false }).ids;
    const full = tok.encode(probe, { add_special_tokens: true }).ids;
    let at = -1;
    for (let i = 0; i + body.length <= full.length && at < 0; i++) if (body.every((v, j) => full[i + j] === v)) at = i;
    if (at < 0 || body.length === 0) throw new MetavecError('USAGE', `embed onnx: ${path}: cannot locate the special tokens around an encoded sequence`);
    const padToken = typeof config.pad_token === 'string' ? config.pad_token : config.pad_token?.content;
    const padId = json.padding?.pad_id ?? (padToken !== undefined ? tok.token_to_id(padToken) : undefined) ?? tok.token_to_id('[PAD]') ?? 0;
    return new DnaTokenizer(tok, full.slice(0, at), full.slice(at + body.length), padId);
  }

  /** Token ids of one sequence with special tokens, at most maxLength of them. */
  encode(seq: string, maxLength: number): Int32Array {
    const body = this.tok.encode(seq, { add_special_tokens: false }).ids;
    const room = Math.max(0, maxLength - this.prefix.length - this.suffix.length);
    const n = Math.min(body.length, room);
    const out = new Int32Array(this.prefix.length + n + this.suffix.length);
    out.set(this.prefix, 0);
    for (let i = 0; i < n; i++) out[this.prefix.length + i] = body[i]!;
    out.set(this.suffix, this.prefix.length + n);
    return out;
  }
}
