import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdirSync, copyFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { OnnxEmbedder } from '../../../../src/embed/onnx/embedder.js';
import { maskedMeanPool } from '../../../../src/embed/onnx/pooling.js';
import { readModelInfo } from '../../../../src/embed/onnx/model.js';
import { resolveEmbedding, parseEmbedMethod, type OnnxSpec } from '../../../../src/embed/index.js';
import { MetavecError } from '../../../../src/errors.js';
import { onnxPackagesInstalled, referencePython, TINY_BERT } from '../../../helpers/onnx.js';
import { REPO_ROOT, requireTool } from '../../../helpers/tools.js';
import { randomSeq, rng, TempDir } from '../../../helpers/fixtures.js';

interface Case {
  sequence: string;
  ids: number[];
  pooled: number[];
}
const expected = JSON.parse(readFileSync(join(TINY_BERT, 'expected.json'), 'utf8')) as { cases: Case[] };
const HAVE = onnxPackagesInstalled();
const WHAT = 'onnxruntime-node and @huggingface/tokenizers (scripts/setup.sh --system installs them)';

async function tinySpec(over: Partial<OnnxSpec> = {}): Promise<OnnxSpec> {
  const info = await readModelInfo(TINY_BERT);
  return { method: 'onnx', dir: TINY_BERT, dim: info.dim, maxLength: info.maxLength, batchSize: 3, device: 'cpu', numGpus: 0, intraOpThreads: 1, normalise: 'none', ...over };
}

function assertClose(actual: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(actual[i]! - want[i]!);
    assert.ok(d <= tol * (1 + Math.abs(want[i]!)), `${what}[${i}]: ${actual[i]} vs ${want[i]} (diff ${d})`);
  }
}

function seqs(list: string[][]) {
  // mates laid out in two byte buffers, as processBatch hands them over
  const enc = new TextEncoder();
  const b1 = enc.encode(list.map((p) => p[0]).join(''));
  const b2 = enc.encode(list.map((p) => p[1] ?? '').join(''));
  const n = list.length;
  const f = { n, bytes1: b1, start1: new Int32Array(n), len1: new Int32Array(n), bytes2: b2, start2: new Int32Array(n), len2: new Int32Array(n) };
  let o1 = 0;
  let o2 = 0;
  list.forEach((p, i) => {
    f.start1[i] = o1;
    f.len1[i] = p[0]!.length;
    o1 += p[0]!.length;
    f.start2[i] = o2;
    f.len2[i] = p[1]?.length ?? 0;
    o2 += p[1]?.length ?? 0;
  });
  return f;
}

test('masked mean pooling averages only positions with mask 1', () => {
  // batch 2, seq 3, dim 2; row 0 has 2 real tokens, row 1 has 3
  const hidden = Float32Array.from([1, 2, 3, 4, 100, 100, 1, 1, 2, 2, 3, 3]);
  const pooled = maskedMeanPool(hidden, [1, 1, 0, 1, 1, 1], 2, 3, 2);
  assert.deepEqual([...pooled], [2, 3, 2, 2]);
  assert.deepEqual([...maskedMeanPool(hidden.subarray(0, 6), [0n, 0n, 0n], 1, 3, 2)], [0, 0]);
  assert.throws(() => maskedMeanPool(hidden, [1], 2, 2, 2), /pooling: hidden has 12 values, expected 2x2x2/);
});

test('model directory: dimension and maximum length come from config.json / tokenizer_config.json', async () => {
  const info = await readModelInfo(TINY_BERT);
  assert.equal(info.dim, 32);
  assert.equal(info.maxLength, 24);
  assert.equal(info.modelType, 'bert');
});

test('model directory errors name the missing file and how to make a preset', async () => {
  const tmp = new TempDir();
  try {
    await assert.rejects(readModelInfo(tmp.join('nope')), /embed onnx: model directory .*nope does not exist/);
    const env = { METAVEC_MODELS: tmp.path };
    const m = parseEmbedMethod('dnabert2', env);
    assert.deepEqual(m, { method: 'onnx', dir: join(tmp.path, 'dnabert2'), preset: 'dnabert2' });
    await assert.rejects(readModelInfo(m.method === 'onnx' ? m.dir : '', 'dnabert2'), /scripts\/export-dnabert\.py dnabert2/);
    mkdirSync(tmp.join('partial/onnx'), { recursive: true });
    copyFileSync(join(TINY_BERT, 'config.json'), tmp.join('partial/config.json'));
    copyFileSync(join(TINY_BERT, 'tokenizer.json'), tmp.join('partial/tokenizer.json'));
    await assert.rejects(readModelInfo(tmp.join('partial')), (e: unknown) => e instanceof MetavecError && e.code === 'USAGE' && /onnx\/model\.onnx is missing/.test(e.message));
    assert.throws(() => parseEmbedMethod('bert'), /--embed must be kmer, lsh, onnx:DIR, dnabert2 or dnaberts; got 'bert'/);
  } finally {
    tmp.remove();
  }
});

test('tokenization matches the Python tokenizers library (committed reference), incl. truncation to the model length', async (t) => {
  if (!requireTool(t, HAVE, WHAT)) return;
  const e = await OnnxEmbedder.create(await tinySpec());
  try {
    for (const c of expected.cases) assert.deepEqual([...e.tokenizer.encode(c.sequence, 24)], c.ids, c.sequence);
    assert.ok(expected.cases.some((c) => c.ids.length === 24), 'a case is truncated');
    assert.equal(e.tokenizer.padId, 3);
    assert.deepEqual([...e.tokenizer.prefix, ...e.tokenizer.suffix], [1, 2]);
  } finally {
    await e.close();
  }
});

test('pooled vectors match numpy on the same weights; padding in a batch does not change them', async (t) => {
  if (!requireTool(t, HAVE, WHAT)) return;
  const ids = expected.cases.map((c) => Int32Array.from(c.ids));
  for (const batchSize of [1, 3, 64]) {
    const e = await OnnxEmbedder.create(await tinySpec({ batchSize }));
    try {
      const got = await e.pooled(ids);
      expected.cases.forEach((c, i) => assertClose(got.subarray(i * 32, (i + 1) * 32), c.pooled, 1e-4, `batch ${batchSize} case ${i}`));
    } finally {
      await e.close();
    }
  }
});

test('a pair is the mean of its mates; single-end is the read itself; l2 option normalises', async (t) => {
  if (!requireTool(t, HAVE, WHAT)) return;
  const [a, b, c] = expected.cases;
  const e = await OnnxEmbedder.create(await tinySpec());
  const el2 = await OnnxEmbedder.create(await tinySpec({ normalise: 'l2' }));
  try {
    const out = new Float32Array(2 * 32);
    await e.embed(seqs([[a!.sequence, b!.sequence], [c!.sequence]]), out);
    assertClose(out.subarray(0, 32), a!.pooled.map((v, j) => (v + b!.pooled[j]!) / 2), 1e-4, 'pair');
    assertClose(out.subarray(32), c!.pooled, 1e-4, 'single');
    const o2 = new Float32Array(32);
    await el2.embed(seqs([[c!.sequence]]), o2);
    const norm = Math.hypot(...c!.pooled);
    assertClose(o2, c!.pooled.map((v) => v / norm), 1e-4, 'l2');
  } finally {
    await e.close();
    await el2.close();
  }
});

test('random reads: ids and vectors agree with a Python reference computed now', async (t) => {
  if (!requireTool(t, HAVE, WHAT)) return;
  const py = referencePython();
  if (!requireTool(t, py !== undefined, 'python3 with numpy, onnx and tokenizers (scripts/setup.sh --system installs them)')) return;
  const r = rng(99);
  const list = Array.from({ length: 24 }, (_, i) => {
    const s = randomSeq(1 + Math.floor(r() * 120), r, 0.2 + 0.03 * i);
    return i % 5 === 0 ? s.slice(0, 10) + 'N' + s.slice(10) : s;
  });
  const res = spawnSync(py!, [join(REPO_ROOT, 'scripts/make-tiny-bert.py'), '--reference', TINY_BERT], { input: JSON.stringify({ sequences: list }), encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  const ref = JSON.parse(res.stdout) as Case[];
  const e = await OnnxEmbedder.create(await tinySpec({ batchSize: 5 }));
  try {
    const ids = list.map((s) => e.tokenizer.encode(s, 24));
    ref.forEach((c, i) => assert.deepEqual([...ids[i]!], c.ids, list[i]));
    const got = await e.pooled(ids);
    ref.forEach((c, i) => assertClose(got.subarray(i * 32, (i + 1) * 32), c.pooled, 1e-4, `read ${i}`));
  } finally {
    await e.close();
  }
});

test('resolveEmbedding describes the model for the manifest; --device cuda without the CUDA provider fails clearly', async (t) => {
  if (!requireTool(t, HAVE, WHAT)) return;
  const base = { method: 'onnx' as const, dir: TINY_BERT, batchSize: 8, device: 'cpu' as const, numGpus: 0, intraOpThreads: 1, normalise: 'none' as const };
  const r = await resolveEmbedding({ ...base, maxLength: 16 });
  assert.equal(r.info.dim, 32);
  assert.equal(r.info.max_length, 16);
  assert.match(String(r.info.model_sha256), /^[0-9a-f]{64}$/);
  assert.equal(r.spec.method === 'onnx' && r.spec.maxLength, 16);
  await assert.rejects(resolveEmbedding({ ...base, device: 'cuda', numGpus: 1 }), /--device cuda needs onnxruntime-node's CUDA execution provider, which is not installed/);
});

test('a model whose output is not [batch, seq, hidden_size] is refused with the shapes', async (t) => {
  if (!requireTool(t, HAVE, WHAT)) return;
  const tmp = new TempDir();
  try {
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) {
      mkdirSync(join(tmp.path, 'onnx'), { recursive: true });
      copyFileSync(join(TINY_BERT, f), join(tmp.path, f));
    }
    const cfg = JSON.parse(readFileSync(join(TINY_BERT, 'config.json'), 'utf8')) as Record<string, unknown>;
    const e = await OnnxEmbedder.create({ ...(await tinySpec()), dir: tmp.path, dim: (cfg.hidden_size as number) * 2 });
    try {
      await assert.rejects(e.pooled([Int32Array.from([1, 7, 2])]), /output last_hidden_state is float32\[1, 3, 32\], expected float32\[1, 3, 64\]/);
    } finally {
      await e.close();
    }
  } finally {
    rmSync(tmp.path, { recursive: true, force: true });
  }
});

test('the committed fixture is what scripts/make-tiny-bert.py builds; the export script compiles', (t) => {
  const py = referencePython();
  if (!requireTool(t, py !== undefined, 'python3 with numpy, onnx and tokenizers (scripts/setup.sh --system installs them)')) return;
  const tmp = new TempDir();
  try {
    const r = spawnSync(py!, [join(REPO_ROOT, 'scripts/make-tiny-bert.py'), tmp.path], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    for (const f of ['onnx/model.onnx', 'tokenizer.json', 'tokenizer_config.json', 'config.json', 'expected.json']) {
      assert.ok(readFileSync(join(tmp.path, f)).equals(readFileSync(join(TINY_BERT, f))), `${f} differs from the committed fixture`);
    }
    const c = spawnSync(py!, ['-m', 'py_compile', join(REPO_ROOT, 'scripts/export-dnabert.py'), join(REPO_ROOT, 'scripts/mosaicbert.py')], { encoding: 'utf8' });
    assert.equal(c.status, 0, c.stderr);
  } finally {
    tmp.remove();
  }
});

test('one embedder per worker thread: the same spec gives the same (cached) embedder, a new spec a new one', async () => {
  const { embedderFor } = await import('../../../../src/embed/index.js');
  const a = embedderFor({ method: 'lsh', k: 10, dim: 32, bits: 12, nnz: 2, seed: 1 });
  assert.equal(embedderFor({ method: 'lsh', k: 10, dim: 32, bits: 12, nnz: 2, seed: 1 }), a);
  const b = embedderFor({ method: 'lsh', k: 10, dim: 32, bits: 12, nnz: 2, seed: 2 });
  assert.notEqual(b, a);
  assert.equal((await b).dim, 32);
});

test('without the optional packages, --embed onnx says what to install (exit 2)', () => {
  // A resolve hook that hides onnxruntime-node, as on a default (lean) install.
  const hook = `data:text/javascript,${encodeURIComponent(
    "import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent(\"export async function resolve(s, c, n) { if (s === 'onnxruntime-node') throw new Error('Cannot find package onnxruntime-node'); return n(s, c); }\"));",
  )}`;
  const tmp = new TempDir();
  try {
    const fq = tmp.file('r.fq', '@r1\nACGTACGTACGTACGTACGTACGTACGTACGTACGTACGT\n+\nIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIII\n');
    const r = spawnSync(process.execPath, ['--import', hook, join(REPO_ROOT, 'dist/src/cli/main.js'), 'prep', '--input', fq, '--output', tmp.join('out'), '--embed', `onnx:${TINY_BERT}`, '--quiet'], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /embed onnx: the optional package onnxruntime-node is not installed .*install it with: ONNXRUNTIME_NODE_INSTALL_CUDA=skip ONNXRUNTIME_NODE_INSTALL=skip npm install --no-save onnxruntime-node@1\.30\.0/);
    assert.ok(!existsSync(tmp.join('out/manifest.json')));
  } finally {
    tmp.remove();
  }
});
