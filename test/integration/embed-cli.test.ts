import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { CLI, makePairs, TempDir } from '../helpers/fixtures.js';
import { requireTool } from '../helpers/tools.js';
import { onnxPackagesInstalled, TINY_BERT } from '../helpers/onnx.js';
import { openDuckDB, sqlString } from '../../src/io/duckdb.js';
import { OnnxEmbedder } from '../../src/embed/onnx/embedder.js';
import { readModelInfo } from '../../src/embed/onnx/model.js';

const tmp = new TempDir('metavec-embed-');
after(() => tmp.remove());
const env = { ...process.env, METAVEC_CATALOG: tmp.join('catalog.duckdb'), METAVEC_MODELS: tmp.join('models') };
const fx = makePairs(900, 21, { genomes: 3 });
const r1 = tmp.file('r1.fq', fx.r1);
const r2 = tmp.file('r2.fq', fx.r2);
const truth = tmp.file('truth.tsv', 'read_id\tspecies\n' + fx.ids.map((id, i) => `${id}\tg${i % 3}`).join('\n') + '\n');

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000, env });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

async function shardEmbeddings(dir: string): Promise<{ id: string; v: number[] }[]> {
  const db = await openDuckDB();
  try {
    const res = await db.conn.runAndReadAll(`SELECT read_id, embedding::VARCHAR FROM read_parquet(${sqlString(join(dir, 'shards/*.parquet'))}) ORDER BY fragment`);
    return res.getRows().map((row) => ({ id: String(row[0]), v: JSON.parse(String(row[1])) as number[] }));
  } finally {
    db.close();
  }
}

interface Manifest {
  embedding: Record<string, unknown> & { method: string; dim: number };
  shard_schema: Record<string, string>;
}
const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;

test('metavec run --embed lsh: manifest, unit rows of --embed-dim, same output with 1 and 2 threads, clusters + report', async () => {
  const outs: string[] = [];
  for (const threads of ['1', '2']) {
    const out = tmp.join(`lsh${threads}`);
    const r = cli(['run', '--method', 'kmeans', '--input', r1, '--input2', r2, '--truth', truth, '--output', out, '--embed', 'lsh', '--kmer', '9', '--embed-dim', '64', '--embed-seed', '3', '--k', '3', '--threads', threads, '--batch-size', '200', '--quiet', '--json', ...(threads === '1' ? ['--no-report'] : [])]);
    assert.equal(r.status, 0, r.stderr);
    outs.push(out);
  }
  const m = manifestOf(join(outs[0]!, 'prep'));
  assert.deepEqual(
    { method: m.embedding.method, dim: m.embedding.dim, k: m.embedding.k, seed: m.embedding.seed, bits: m.embedding.lsh_bits },
    { method: 'lsh', dim: 64, k: 9, seed: 3, bits: 8 },
  );
  assert.equal(m.shard_schema.embedding, 'FLOAT[64]');
  const a = await shardEmbeddings(join(outs[0]!, 'prep'));
  const b = await shardEmbeddings(join(outs[1]!, 'prep'));
  assert.ok(a.length > 800);
  assert.deepEqual(b, a);
  for (const row of a.slice(0, 50)) {
    assert.equal(row.v.length, 64);
    assert.ok(Math.abs(Math.hypot(...row.v) - 1) < 1e-5);
  }
  const ev = JSON.parse(readFileSync(join(outs[1]!, 'eval.json'), 'utf8')) as { assigned: { clusters: number } };
  assert.equal(ev.assigned.clusters, 3);
  assert.ok(existsSync(join(outs[1]!, 'report.html')));
  const nc = JSON.parse(readFileSync(join(outs[1]!, 'cluster/summary.json'), 'utf8')) as { dim?: number };
  assert.equal(nc.dim, 64);
});

test('metavec run --embed onnx:DIR: tiny model end to end; shard vectors equal the embedder run on the cleaned reads', async (t) => {
  if (!requireTool(t, onnxPackagesInstalled(), 'onnxruntime-node and @huggingface/tokenizers (scripts/setup.sh --system installs them)')) return;
  const out = tmp.join('onnx');
  const r = cli(['run', '--method', 'kmeans', '--input', r1, '--input2', r2, '--truth', truth, '--output', out, '--embed', `onnx:${TINY_BERT}`, '--embed-batch-size', '16', '--batch-size', '300', '--threads', '2', '--k', '3', '--write-fastq', '--no-report', '--quiet', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const m = manifestOf(join(out, 'prep'));
  assert.equal(m.embedding.method, 'onnx');
  assert.equal(m.embedding.dim, 32);
  assert.equal(m.embedding.max_length, 24);
  assert.equal(m.embedding.model, TINY_BERT);
  assert.equal(m.shard_schema.embedding, 'FLOAT[32]');
  const rows = await shardEmbeddings(join(out, 'prep'));
  const fq = (name: string) => gunzipSync(readFileSync(join(out, 'prep', name))).toString('utf8').split('\n').filter((_, i) => i % 4 === 1);
  const m1 = fq('clean_R1.fastq.gz');
  const m2 = fq('clean_R2.fastq.gz');
  assert.equal(m1.length, rows.length);
  // the same reads through a fresh embedder, one batch: the pipeline's batching and threads must not matter
  const info = await readModelInfo(TINY_BERT);
  const e = await OnnxEmbedder.create({ method: 'onnx', dir: TINY_BERT, dim: 32, maxLength: info.maxLength, batchSize: 7, device: 'cpu', numGpus: 0, intraOpThreads: 1, normalise: 'none' });
  try {
    const n = 40;
    const enc = new TextEncoder();
    const b1 = enc.encode(m1.slice(0, n).join(''));
    const b2 = enc.encode(m2.slice(0, n).join(''));
    const f = { n, bytes1: b1, start1: new Int32Array(n), len1: new Int32Array(n), bytes2: b2, start2: new Int32Array(n), len2: new Int32Array(n) };
    let o1 = 0;
    let o2 = 0;
    for (let i = 0; i < n; i++) {
      f.start1[i] = o1;
      f.len1[i] = m1[i]!.length;
      o1 += m1[i]!.length;
      f.start2[i] = o2;
      f.len2[i] = m2[i]!.length;
      o2 += m2[i]!.length;
    }
    const want = new Float32Array(n * 32);
    await e.embed(f, want);
    for (let i = 0; i < n; i++) for (let j = 0; j < 32; j++) assert.ok(Math.abs(rows[i]!.v[j]! - want[i * 32 + j]!) < 1e-5, `fragment ${i} dim ${j}`);
  } finally {
    await e.close();
  }
  const ev = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8')) as { assigned: { clusters: number; n: number } };
  assert.equal(ev.assigned.clusters, 3);
});

test('embedding option errors: one line, exit 2, no manifest', (t) => {
  const cases: [string[], RegExp][] = [
    [['--embed', 'onnx:' + tmp.join('missing-model')], /embed onnx: model directory .*missing-model does not exist/],
    [['--embed', 'dnaberts'], /model directory .*models\/dnaberts does not exist \(make it with scripts\/export-dnabert\.py dnaberts/],
    [['--embed', 'word2vec'], /--embed must be kmer, lsh, onnx:DIR, dnabert2 or dnaberts; got 'word2vec'/],
    [['--embed', 'kmer', '--embed-dim', '64'], /--embed-dim does not apply to --embed kmer/],
    [['--embed', 'lsh', '--kmer', '4'], /--kmer must be an integer in \[8, 15\], got '4'/],
    [['--embed', 'lsh', '--device', 'cuda'], /--device does not apply to --embed lsh/],
    [['--embed', `onnx:${TINY_BERT}`, '--device', 'cpu', '--num-gpus', '2'], /--num-gpus 2 needs --device cuda/],
  ];
  if (onnxPackagesInstalled()) cases.push([['--embed', `onnx:${TINY_BERT}`, '--num-gpus', '1'], /--device cuda needs onnxruntime-node's CUDA execution provider, which is not installed/]);
  else requireTool(t, false, 'onnxruntime-node (for the CUDA-provider error case)');
  for (const [args, re] of cases) {
    const out = tmp.join('bad');
    const r = cli(['prep', '--input', r1, '--input2', r2, '--output', out, '--quiet', ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(!existsSync(join(out, 'manifest.json')));
  }
});
