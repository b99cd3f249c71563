import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { CLI, runCli, TempDir } from '../helpers/fixtures.js';
import { REPO_ROOT } from '../helpers/tools.js';
import { encodeRequest } from '../../src/engines/slice/codec.js';
import { frameHeader, readFrames } from '../../src/engines/slice/frame.js';
import { onnxPackagesInstalled, TINY_BERT } from '../helpers/onnx.js';
import { requireTool } from '../helpers/tools.js';

// The distributed Phase 1 core (plan -> slice workers -> merge) against the local engine: byte-identical
// shards, qc_stats and clean FASTQ, the same manifest counts, with error correction on (--correct).

const tmp = new TempDir();
after(() => tmp.remove());
const sampleR1 = join(REPO_ROOT, 'examples/sample/R1.fastq.gz');
const sampleR2 = join(REPO_ROOT, 'examples/sample/R2.fastq.gz');
const plainR1 = tmp.file('R1.fastq', gunzipSync(readFileSync(sampleR1)).toString('latin1'));
const plainR2 = tmp.file('R2.fastq', gunzipSync(readFileSync(sampleR2)).toString('latin1'));

interface Manifest {
  counts: Record<string, number>;
  shards: { path: string; rows: number; sha256: string }[];
  parameters: { correction: Record<string, unknown> };
  inputs: unknown[];
}

function outputDigest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const files = ['qc_stats.json', ...readdirSync(dir).filter((f) => f.endsWith('.fastq.gz')), ...readdirSync(join(dir, 'shards')).map((f) => `shards/${f}`)];
  for (const f of files) out[f] = createHash('sha256').update(readFileSync(join(dir, f))).digest('hex');
  return out;
}

function manifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
}

function local(out: string, args: string[]): void {
  const r = runCli(['prep', ...args, '--output', out, '--threads', '2', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
}

function plan(out: string, args: string[], sliceFragments: number): { plan: string; slices: number; correct: boolean; gzip: boolean } {
  const r = runCli(['prep-plan', ...args, '--output', out, '--slice-fragments', String(sliceFragments), '--json', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { plan: string; slices: number; correct: boolean; gzip: boolean };
}

/** Runs `node CLI cmd...` feeding `frames` on stdin; resolves with stdout frames and stderr. */
function piped(cmd: string[], frames: Uint8Array[]): Promise<{ status: number | null; replies: Uint8Array[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...cmd], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const replies: Uint8Array[] = [];
    const reading = (async () => {
      for await (const f of readFrames(child.stdout, 'test')) replies.push(f);
    })();
    child.on('error', reject);
    child.stdin.on('error', () => undefined); // a merge that fails stops reading its stdin
    child.on('close', (status) => {
      reading.then(() => resolve({ status, replies, stderr }), reject);
    });
    for (const f of frames) {
      child.stdin.write(frameHeader(f.length));
      child.stdin.write(f);
    }
    child.stdin.end();
  });
}

/** The whole distributed flow through one long-lived `prep-worker --stdio` and the --stdin merges. */
async function distributedStdio(out: string, args: string[], sliceFragments: number): Promise<void> {
  const p = plan(out, args, sliceFragments);
  const reqs = (op: 'spectrum' | 'prep') => Array.from({ length: p.slices }, (_, i) => encodeRequest({ op, plan: p.plan, slice: i }));
  if (p.correct) {
    const w = await piped(['prep-worker', '--stdio'], reqs('spectrum'));
    assert.equal(w.status, 0, w.stderr);
    assert.equal(w.replies.length, p.slices);
    assert.match(w.stderr, /stdin closed after \d+ requests/);
    // Partials merge in any order: feed them reversed.
    const m = await piped(['prep-spectrum', '--plan', p.plan, '--stdin', '--quiet'], w.replies.reverse());
    assert.equal(m.status, 0, m.stderr);
  }
  const w = await piped(['prep-worker', '--stdio'], reqs('prep'));
  assert.equal(w.status, 0, w.stderr);
  const m = await piped(['prep-merge', '--plan', p.plan, '--stdin', '--threads', '2', '--quiet'], w.replies);
  assert.equal(m.status, 0, m.stderr);
}

/** The same flow with one process per slice and result files (what a Slurm array task does). */
function distributedFiles(out: string, args: string[], sliceFragments: number): void {
  const p = plan(out, args, sliceFragments);
  const parts = join(out, '_prep_work', 'parts');
  const ops: ('spectrum' | 'prep')[] = p.correct ? ['spectrum', 'prep'] : ['prep'];
  for (const op of ops) {
    for (let i = 0; i < p.slices; i++) {
      const r = runCli(['prep-slice', '--plan', p.plan, '--slice', String(i), '--op', op, '--out', join(parts, `${op}-${String(i).padStart(5, '0')}.arrow`)]);
      assert.equal(r.status, 0, r.stderr);
    }
    const r = runCli([op === 'spectrum' ? 'prep-spectrum' : 'prep-merge', '--plan', p.plan, '--parts', parts, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
  }
}

function assertSame(a: string, b: string): void {
  assert.deepEqual(outputDigest(b), outputDigest(a));
  const ma = manifest(a);
  const mb = manifest(b);
  assert.deepEqual(mb.counts, ma.counts);
  assert.deepEqual(mb.shards, ma.shards);
  assert.deepEqual(mb.parameters.correction, ma.parameters.correction);
  assert.deepEqual(mb.inputs, ma.inputs);
  assert.ok(!existsSync(join(b, '_prep_work')), 'work directory removed after the merge');
}

test('distributed prep (plain paired FASTQ, byte-range slices, stdio worker) == local engine, correction on', async () => {
  const args = ['--input', plainR1, '--input2', plainR2, '--rows-per-shard', '3000', '--batch-size', '1000', '--correct'];
  const a = tmp.join('local-plain');
  const b = tmp.join('dist-plain');
  local(a, args);
  const corr = manifest(a).parameters.correction;
  assert.equal(corr.enabled, true);
  assert.ok(corr.level !== undefined, 'correction ran (not skipped) on the sample');
  assert.ok(manifest(a).counts.bases_corrected! > 0);
  await distributedStdio(b, args, 3000); // 7 slices of 3 batches (the last shorter)
  assertSame(a, b);
});

test('distributed prep (gzip input, one process per slice, clean FASTQ) == local engine', () => {
  const args = ['--input', sampleR1, '--input2', sampleR2, '--rows-per-shard', '4000', '--write-fastq', '--batch-size', '2048'];
  const a = tmp.join('local-gz');
  const b = tmp.join('dist-gz');
  local(a, args);
  distributedFiles(b, args, 6000);
  assertSame(a, b);
});

test('distributed prep: a malformed record in a later slice names the same whole-file record and line as local', async () => {
  // Twice the sample (40,000 records): the parameter sample (first 20,000 records) is clean.
  const twice = (p: string) => readFileSync(p, 'latin1').repeat(2);
  const lines = twice(plainR1).split('\n');
  lines[4 * 30000 + 3] = lines[4 * 30000 + 3]!.slice(0, 10); // record 30001: quality shorter than sequence
  const bad = tmp.file('bad_R1.fastq', lines.join('\n'));
  const args = ['--input', bad, '--input2', tmp.file('twice_R2.fastq', twice(plainR2)), '--batch-size', '500', '--no-correct'];
  const l = runCli(['prep', ...args, '--output', tmp.join('bad-local'), '--quiet']);
  assert.equal(l.status, 1);
  const p = plan(tmp.join('bad-dist'), args, 1000);
  const w = await piped(['prep-worker', '--stdio'], Array.from({ length: p.slices }, (_, i) => encodeRequest({ op: 'prep', plan: p.plan, slice: i })));
  assert.equal(w.status, 0, 'the worker answers errors and keeps serving');
  const mergeOut = await piped(['prep-merge', '--plan', p.plan, '--stdin', '--quiet'], w.replies);
  assert.equal(mergeOut.status, 1);
  const localMsg = /error: (.*)/.exec(l.stderr)?.[1] ?? '';
  assert.ok(localMsg.includes('record 30001 (line 120004)'), l.stderr);
  assert.match(mergeOut.stderr, new RegExp(`error: ${localMsg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.ok(!existsSync(join(tmp.join('bad-dist'), 'manifest.json')));
});

test('prep-merge --stdin --parts keeps each result; prep-plan --resume reports them; a merge reading them all == local engine', async () => {
  const args = ['--input', plainR1, '--input2', plainR2, '--rows-per-shard', '3000', '--batch-size', '1000', '--no-correct'];
  const a = tmp.join('local-keep');
  const b = tmp.join('dist-keep');
  local(a, args);
  const planned = (): { plan: string; slices: number; resume?: { parts: string; reused: number[]; spectrum: boolean } } => {
    const r = runCli(['prep-plan', ...args, '--output', b, '--slice-fragments', '6000', '--resume', '--json', '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as never;
  };
  const p = planned();
  assert.deepEqual(p.resume?.reused, []);
  const parts = p.resume.parts;
  const w = await piped(['prep-worker', '--stdio'], Array.from({ length: p.slices }, (_, i) => encodeRequest({ op: 'prep', plan: p.plan, slice: i })));
  assert.equal(w.status, 0, w.stderr);
  // bad uses of --reused
  assert.match(runCli(['prep-merge', '--plan', p.plan, '--parts', parts, '--reused', '0']).stderr, /--reused needs both --stdin and --parts/);
  assert.match((await piped(['prep-merge', '--plan', p.plan, '--stdin', '--parts', parts, '--reused', String(p.slices)], [])).stderr, new RegExp(`--reused: '${p.slices}' is not a slice index below ${p.slices}`));
  // first merge: every result comes on stdin, is kept in parts/, then the merge fails (qc_stats.json is a directory)
  mkdirSync(join(b, 'qc_stats.json', 'x'), { recursive: true });
  const failed = await piped(['prep-merge', '--plan', p.plan, '--stdin', '--parts', parts, '--reused', '', '--quiet'], w.replies);
  assert.notEqual(failed.status, 0);
  assert.equal(readdirSync(parts).filter((f) => f.startsWith('prep-')).length, p.slices);
  rmSync(join(b, 'qc_stats.json'), { recursive: true });
  // the re-plan keeps them; the merge reads them all and nothing from stdin; a stray frame would be refused
  const q = planned();
  assert.deepEqual(q.resume?.reused, Array.from({ length: p.slices }, (_, i) => i));
  const all = q.resume.reused.join(',');
  const extra = await piped(['prep-merge', '--plan', q.plan, '--stdin', '--parts', parts, '--reused', all, '--quiet'], [w.replies[0]!]);
  assert.match(extra.stderr, /more results than the plan's \d+ slices/);
  const m = await piped(['prep-merge', '--plan', q.plan, '--stdin', '--parts', parts, '--reused', all, '--quiet'], []);
  assert.equal(m.status, 0, m.stderr);
  assertSame(a, b);
});

test('prep-worker: usage errors', () => {
  const r = runCli(['prep-worker']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--stdio is required/);
  const s = runCli(['prep-slice', '--plan', '/nonexistent/plan.json', '--slice', '0', '--op', 'prep', '--out', tmp.join('x.arrow')]);
  assert.equal(s.status, 1);
  assert.match(s.stderr, /plan: \/nonexistent\/plan.json: cannot read/);
  writeFileSync(tmp.join('p.json'), '{"schema":"other"}');
  const t = runCli(['prep-slice', '--plan', tmp.join('p.json'), '--slice', '0', '--op', 'prep', '--out', tmp.join('x.arrow')]);
  assert.match(t.stderr, /unknown schema "other"/);
});

test('distributed prep carries the embedding stage: --embed lsh and --embed onnx:DIR == local engine', async (t) => {
  const embeds: string[][] = [['--embed', 'lsh', '--kmer', '10', '--embed-dim', '48', '--embed-seed', '9']];
  if (requireTool(t, onnxPackagesInstalled(), 'onnxruntime-node and @huggingface/tokenizers (scripts/setup.sh --system)')) embeds.push(['--embed', `onnx:${TINY_BERT}`, '--embed-batch-size', '32']);
  for (const [i, embed] of embeds.entries()) {
    const args = ['--input', plainR1, '--input2', plainR2, '--rows-per-shard', '3000', '--batch-size', '1000', '--no-correct', ...embed];
    const a = tmp.join(`local-embed${i}`);
    const b = tmp.join(`dist-embed${i}`);
    local(a, args);
    await distributedStdio(b, args, 6000);
    assertSame(a, b);
    const ea = (JSON.parse(readFileSync(join(a, 'manifest.json'), 'utf8')) as { embedding: Record<string, unknown> }).embedding;
    const eb = (JSON.parse(readFileSync(join(b, 'manifest.json'), 'utf8')) as { embedding: Record<string, unknown> }).embedding;
    assert.equal(ea.method, embed[1]!.startsWith('onnx') ? 'onnx' : 'lsh');
    assert.deepEqual(eb, ea);
  }
});
