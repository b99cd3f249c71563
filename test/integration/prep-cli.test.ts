import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, chmodSync } from 'node:fs';
import { gzipSync, gunzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CLI, makePairs, runCli, TempDir } from '../helpers/fixtures.js';
import { devCommunity, hasCommand, requireTool } from '../helpers/tools.js';
import { openDuckDB, sqlString } from '../../src/io/duckdb.js';

const tmp = new TempDir();
after(() => tmp.remove());
const fx = makePairs(3000, 42);
const r1 = tmp.file('r1.fq.gz', fx.r1, true);
const r2 = tmp.file('r2.fq.gz', fx.r2, true);

async function shardRows(dir: string): Promise<unknown[][]> {
  const db = await openDuckDB();
  try {
    const res = await db.conn.runAndReadAll(
      `SELECT fragment, read_id, len_r1, len_r2, gc_r1, meanq_r1, embedding::FLOAT[136]::VARCHAR FROM read_parquet(${sqlString(join(dir, 'shards/*.parquet'))}) ORDER BY fragment`,
    );
    return res.getRows();
  } finally {
    db.close();
  }
}

test('prep writes shards + manifest readable by DuckDB with the documented schema', async () => {
  const out = tmp.join('ok');
  const r = runCli(['prep', '--input', r1, '--input2', r2, '--output', out, '--threads', '2', '--rows-per-shard', '1000', '--json', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { fragments_in: number; fragments_out: number; shards: number };
  assert.equal(summary.fragments_in, 3000);
  const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { schema: string; shards: { rows: number }[]; embedding: { dim: number }; counts: Record<string, number> };
  assert.equal(m.schema, 'metavec.prep/1');
  assert.equal(m.embedding.dim, 136);
  assert.equal(m.shards.length, summary.shards);
  assert.equal(m.shards.reduce((a, s) => a + s.rows, 0), summary.fragments_out);
  assert.equal(m.counts.fragments_in, 3000);
  const db = await openDuckDB();
  try {
    const desc = await db.conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(join(out, 'shards/*.parquet'))})`);
    const cols: Record<string, unknown> = Object.fromEntries(desc.getRows().map((row) => [String(row[0]), row[1]]));
    assert.deepEqual(Object.keys(cols), ['fragment', 'read_id', 'len_r1', 'len_r2', 'gc_r1', 'gc_r2', 'meanq_r1', 'meanq_r2', 'embedding', 'minimizers']);
    assert.equal(cols.read_id, 'VARCHAR');
    assert.equal(cols.minimizers, 'UBIGINT[]');
    assert.equal(cols.embedding, 'FLOAT[]');
    const agg = await db.conn.runAndReadAll(
      `SELECT count(*)::INT, min(len(embedding))::INT, max(len(embedding))::INT, max(abs(list_sum(embedding) - 1)) < 1e-4 FROM read_parquet(${sqlString(join(out, 'shards/*.parquet'))})`,
    );
    assert.deepEqual(agg.getRows()[0], [summary.fragments_out, 136, 136, true]);
  } finally {
    db.close();
  }
});

test('pyarrow reads the shards with the documented schema', (t) => {
  const py = ['python3', '/usr/bin/python3'].find((c) => spawnSync(c, ['-c', 'import pyarrow'], { stdio: 'ignore' }).status === 0);
  if (!requireTool(t, py !== undefined, 'python3 with pyarrow (pip install pyarrow)')) return;
  const code = `import pyarrow.parquet as pq, sys; t = pq.read_table(sys.argv[1]); print(t.schema.field('read_id').type, t.schema.field('embedding').type, t.num_rows, len(t.column('embedding')[0]))`;
  const r = spawnSync(py!, ['-c', code, join(tmp.join('ok'), 'shards')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.trim(), /^string list<element: float> \d+ 136$/);
});

test('1 and 2 threads give identical shard contents and identical shard bytes', async () => {
  const a = tmp.join('t1');
  const b = tmp.join('t2');
  assert.equal(runCli(['prep', '--input', r1, '--input2', r2, '--output', a, '--threads', '1', '--batch-size', '500', '--quiet']).status, 0);
  assert.equal(runCli(['prep', '--input', r1, '--input2', r2, '--output', b, '--threads', '2', '--batch-size', '500', '--quiet']).status, 0);
  assert.deepEqual(await shardRows(a), await shardRows(b));
  const ma = JSON.parse(readFileSync(join(a, 'manifest.json'), 'utf8')) as { shards: { sha256: string }[] };
  const mb = JSON.parse(readFileSync(join(b, 'manifest.json'), 'utf8')) as { shards: { sha256: string }[] };
  assert.deepEqual(ma.shards.map((s) => s.sha256), mb.shards.map((s) => s.sha256));
});

test('interleaved input equals the two-file layout; duplicates are removed; --write-fastq output is valid', async () => {
  const l1 = fx.r1.trimEnd().split('\n');
  const l2 = fx.r2.trimEnd().split('\n');
  let inter = '';
  for (let i = 0; i < l1.length; i += 4) inter += l1.slice(i, i + 4).join('\n') + '\n' + l2.slice(i, i + 4).join('\n') + '\n';
  const il = tmp.file('inter.fq', inter);
  const a = tmp.join('il');
  assert.equal(runCli(['prep', '--input', il, '--interleaved', '--output', a, '--quiet']).status, 0);
  const b = tmp.join('pe');
  const base = runCli(['prep', '--input', r1, '--input2', r2, '--output', b, '--quiet', '--json']);
  assert.equal(base.status, 0);
  const baseDups = (JSON.parse(base.stdout) as { duplicates: number }).duplicates;
  assert.deepEqual(await shardRows(a), await shardRows(b));
  // duplicate the first 100 pairs; write cleaned FASTQ
  const d1 = tmp.file('d1.fq', fx.r1 + l1.slice(0, 400).join('\n') + '\n');
  const d2 = tmp.file('d2.fq', fx.r2 + l2.slice(0, 400).join('\n') + '\n');
  const c = tmp.join('dups');
  const r = runCli(['prep', '--input', d1, '--input2', d2, '--output', c, '--write-fastq', '--json', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { duplicates: number; fragments_out: number };
  assert.equal(s.duplicates, baseDups + 100, 'the 100 copied pairs come on top of fragments sampled twice from the same position');
  const fq = gunzipSync(readFileSync(join(c, 'clean_R1.fastq.gz'))).toString().trimEnd().split('\n');
  assert.equal(fq.length / 4, s.fragments_out);
  assert.match(fq[0]!, /^@frag000000\/1$/);
});

test('multi-member gzip and several inputs in one run give the same fragments as one file', async () => {
  const l1 = fx.r1.split('\n');
  const l2 = fx.r2.split('\n');
  const half = 4 * 1500;
  const cat = (a: string, b: string) => Buffer.concat([gzipSync(a), gzipSync(b)]);
  const m1 = tmp.file('mm1.fq.gz', cat(l1.slice(0, half).join('\n') + '\n', l1.slice(half).join('\n')));
  const m2 = tmp.file('mm2.fq.gz', cat(l2.slice(0, half).join('\n') + '\n', l2.slice(half).join('\n')));
  const a = tmp.join('multimember');
  assert.equal(runCli(['prep', '--input', m1, '--input2', m2, '--output', a, '--quiet']).status, 0);
  const s1 = tmp.file('s1a.fq', l1.slice(0, half).join('\n') + '\n');
  const s2 = tmp.file('s1b.fq', l1.slice(half).join('\n'));
  const t1 = tmp.file('s2a.fq', l2.slice(0, half).join('\n') + '\n');
  const t2 = tmp.file('s2b.fq', l2.slice(half).join('\n'));
  const b = tmp.join('several');
  const r = runCli(['prep', '--input', s1, '--input2', t1, '--input', s2, '--input2', t2, '--output', b, '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  const c = tmp.join('single');
  assert.equal(runCli(['prep', '--input', r1, '--input2', r2, '--output', c, '--quiet']).status, 0);
  const ref = await shardRows(c);
  assert.deepEqual(await shardRows(a), ref);
  assert.deepEqual(await shardRows(b), ref);
});

test('Phred+64 input is detected and converted to the same result as Phred+33', async () => {
  const lines = fx.r1.trimEnd().split('\n');
  const lines2 = fx.r2.trimEnd().split('\n');
  const to64 = (ls: string[]) => ls.map((l, i) => (i % 4 === 3 ? [...l].map((c) => String.fromCharCode(c.charCodeAt(0) + 31)).join('') : l)).join('\n') + '\n';
  const p1 = tmp.file('p64_1.fq', to64(lines));
  const p2 = tmp.file('p64_2.fq', to64(lines2));
  const a = tmp.join('p64');
  assert.equal(runCli(['prep', '--input', p1, '--input2', p2, '--output', a, '--quiet']).status, 0);
  const m = JSON.parse(readFileSync(join(a, 'manifest.json'), 'utf8')) as { quality_encoding: string };
  assert.match(m.quality_encoding, /phred64 \(detected/);
  const b = tmp.join('p33');
  assert.equal(runCli(['prep', '--input', r1, '--input2', r2, '--output', b, '--quiet']).status, 0);
  assert.deepEqual(await shardRows(a), await shardRows(b));
});

// ---- bad input: one clear error naming file/record/line, non-zero exit, no manifest ----
const good1 = fx.r1.split('\n');
const good2 = fx.r2.split('\n');
const mutate = (ls: string[], i: number, v: string) => ls.map((l, j) => (j === i ? v : l)).join('\n');

const badCases: { name: string; files: () => string[]; args?: string[]; expect: RegExp; exit?: number }[] = [
  { name: 'truncated record', files: () => [tmp.file('trunc.fq', good1.slice(0, 4 * 10 + 2).join('\n') + '\n')], expect: /trunc\.fq record 11 \(line 41\): truncated record/ },
  { name: 'sequence/quality length mismatch', files: () => [tmp.file('len.fq', mutate(good1, 4 * 6 + 3, 'III'))], expect: /len\.fq record 7 \(line 28\): quality length 3 != sequence length 100/ },
  { name: "missing '+' line", files: () => [tmp.file('plus.fq', mutate(good1, 4 * 2 + 2, 'X'))], expect: /plus\.fq record 3 \(line 11\): missing '\+' separator line/ },
  { name: 'invalid characters', files: () => [tmp.file('chars.fq', mutate(good1, 4 * 4 + 1, '1234' + good1[4 * 4 + 1]!.slice(4)))], expect: /chars\.fq record 5 \(line 18\): invalid character '1' in sequence at position 1/ },
  {
    name: 'R1/R2 names that do not match',
    files: () => [tmp.file('n1.fq', fx.r1), tmp.file('n2.fq', mutate(good2, 4 * 8, '@other/2'))],
    expect: /n1\.fq \/ n2\.fq record 9 \(R1 line 33, R2 line 33\): mate names differ \('frag000008' vs 'other'\)/,
  },
  {
    name: 'R2 ending before R1',
    files: () => [tmp.file('e1.fq', fx.r1), tmp.file('e2.fq', good2.slice(0, 4 * 2000).join('\n') + '\n')],
    expect: /e2\.fq ends after 2000 records but e1\.fq continues \(record 2001\)/,
  },
  { name: 'empty file', files: () => [tmp.file('empty.fq', '')], expect: /empty\.fq: empty file/ },
  { name: 'corrupt gzip', files: () => [tmp.file('corrupt.fq.gz', gzipSync(fx.r1).subarray(0, 5000))], expect: /gzip: corrupt\.fq\.gz: corrupt or truncated gzip data/ },
  { name: 'non-FASTQ file', files: () => [tmp.file('notes.txt', 'hello world\n')], expect: /notes\.txt: not FASTQ or FASTA \(record 1, line 1: starts with 'h'/ },
  { name: 'unknown option', files: () => [r1], args: ['--frobnicate'], expect: /prep: Unknown option '--frobnicate'/, exit: 2 },
  { name: 'missing path', files: () => [tmp.join('does-not-exist.fq')], expect: /does-not-exist\.fq: no such file/ },
];

for (const c of badCases) {
  test(`bad input: ${c.name}`, () => {
    const files = c.files();
    const out = tmp.join(`bad-${c.name.replace(/\W+/g, '-')}`);
    const args = ['prep', '--input', files[0]!, ...(files[1] ? ['--input2', files[1]] : []), '--output', out, '--quiet', ...(c.args ?? [])];
    const r = runCli(args);
    assert.equal(r.status, c.exit ?? 1, `exit status; stderr: ${r.stderr}`);
    assert.match(r.stderr, c.expect);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one error line: ${r.stderr}`);
    assert.ok(!existsSync(join(out, 'manifest.json')), 'no manifest');
  });
}

test('bad input: unreadable path', (t) => {
  const p = tmp.file('locked.fq', fx.r1);
  chmodSync(p, 0);
  const out = tmp.join('locked');
  let r;
  if (process.getuid?.() === 0) {
    // root reads any file: drop to an unprivileged user for this run (setpriv from util-linux)
    if (!requireTool(t, hasCommand('setpriv'), 'setpriv (util-linux) to drop root privileges')) return;
    chmodSync(tmp.path, 0o777);
    const s = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'prep', '--input', p, '--output', out, '--quiet'], { encoding: 'utf8' });
    r = { status: s.status, stderr: s.stderr };
  } else {
    r = runCli(['prep', '--input', p, '--output', out, '--quiet']);
  }
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /locked\.fq: permission denied/);
  assert.ok(!existsSync(join(out, 'manifest.json')));
});

test('agreement with fastp on the dev community (pairs kept, pairs with adapters clipped)', (t) => {
  const dev = devCommunity();
  if (!requireTool(t, dev !== undefined, '../shared/data/dev-community')) return;
  if (!requireTool(t, hasCommand('fastp'), 'fastp (apt-get install fastp)')) return;
  const out = tmp.join('dev');
  const r = runCli(['prep', '--input', `${dev}R1.fastq.gz`, '--input2', `${dev}R2.fastq.gz`, '--output', out, '--no-dedup', '--json', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  const ours = (JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { counts: Record<string, number> }).counts;
  const fj = tmp.join('fastp.json');
  const fp = spawnSync('fastp', ['-w', '2', '-i', `${dev}R1.fastq.gz`, '-I', `${dev}R2.fastq.gz`, '-o', tmp.join('f1.fq'), '-O', tmp.join('f2.fq'),
    '--detect_adapter_for_pe', '--cut_front', '--cut_tail', '-W', '4', '-M', '20', '-l', '30', '-n', '7', '-y', '-j', fj, '-h', tmp.join('fastp.html')], { encoding: 'utf8' });
  assert.equal(fp.status, 0, fp.stderr);
  const f = JSON.parse(readFileSync(fj, 'utf8')) as { summary: { after_filtering: { total_reads: number } }; adapter_cutting: { adapter_trimmed_reads: number; adapter_trimmed_bases: number } };
  const fastpPairs = f.summary.after_filtering.total_reads / 2;
  // Documented tolerance (docs/qc.md): pairs kept within 0.5 %, adapter-clipped bases within 2 %.
  assert.ok(Math.abs(ours.fragments_passed_qc! - fastpPairs) / fastpPairs < 0.005, `pairs kept: ours ${ours.fragments_passed_qc} fastp ${fastpPairs}`);
  const fb = f.adapter_cutting.adapter_trimmed_bases;
  assert.ok(Math.abs(ours.adapter_bases_trimmed! - fb) / fb < 0.02, `adapter bases: ours ${ours.adapter_bases_trimmed} fastp ${fb}`);
  const fastpPairsClipped = f.adapter_cutting.adapter_trimmed_reads / 2;
  const oursClipped = ours.adapter_fragments_overlap! + ours.adapter_fragments_sequence!;
  assert.ok(Math.abs(oursClipped - fastpPairsClipped) / fastpPairsClipped < 0.05, `pairs clipped: ours ${oursClipped} fastp ${fastpPairsClipped}`);
});
