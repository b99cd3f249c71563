/**
 * The hostile-input corpus (docs/reliability.md has the same table): malformed or adversarial FASTQ/FASTA,
 * gzip and manifests, generated here (nothing big is committed). Every case is either a clean one-line error
 * naming the file, record/line and problem, with a non-zero exit and no manifest/summary, or a documented
 * acceptance; each run has a timeout (a hang fails) and the big ones a peak-RSS bound.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream, cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { createGzip, gzipSync } from 'node:zlib';
import { rng, randomSeq, runCli, TempDir } from '../helpers/fixtures.js';
import { runCliMeasured } from '../helpers/measure.js';
import { MAX_RECORD_BYTES } from '../../src/io/recordReader.js';

const tmp = new TempDir('metavec-hostile-');
after(() => tmp.remove());

const r = rng(12);
const rec = (id: string, seq: string, q = 'I'): string => `@${id}\n${seq}\n+\n${q.repeat(seq.length)}\n`;
const reads = (n: number, suffix = '', len = 100): string => Array.from({ length: n }, (_, i) => rec(`r${i}${suffix}`, randomSeq(len, r))).join('');
const f = (name: string, data: string | Uint8Array): string => tmp.file(name, data);

/** Streams a gzip file of `head` followed by `fillMiB` MiB of byte `fill` (a gzip bomb: ~1000:1). */
async function gzipBomb(name: string, head: string, fillMiB: number, fill: number): Promise<string> {
  const p = tmp.join(name);
  const gz = createGzip({ level: 9 });
  const out = createWriteStream(p);
  gz.pipe(out);
  gz.write(head);
  const mib = Buffer.alloc(1 << 20, fill);
  for (let i = 0; i < fillMiB; i++) if (!gz.write(mib)) await once(gz, 'drain');
  gz.end();
  await once(out, 'close');
  return p;
}

interface PrepCase {
  name: string;
  /** files: [input] or [input, input2] */
  files: () => string[] | Promise<string[]>;
  args?: string[];
  /** error cases: the message; acceptances: undefined */
  expect?: RegExp;
  /** acceptances: checks on the manifest counts */
  accept?: (counts: Record<string, number>) => void;
  /** peak RSS bound in MiB */
  maxRssMb?: number;
}

const good = reads(40);
const crlfMid = good + reads(40, 'b').replaceAll('\n', '\r\n');

const prepCases: PrepCase[] = [
  // line structure
  { name: 'CRLF line endings from the middle of the file', files: () => [f('crlf.fq', crlfMid)], accept: (c) => assert.equal(c.fragments_in, 80) },
  { name: 'old Mac CR-only line endings', files: () => [f('cr.fq', reads(5).replaceAll('\n', '\r'))], expect: /fastq: cr\.fq record 1 \(line 1\): truncated record: the file ends after the header line \(old Mac CR-only line endings\?/ },
  { name: 'leading blank lines', files: () => [f('lead.fq', '\n\r\n\n' + good)], accept: (c) => assert.equal(c.fragments_in, 40) },
  { name: 'blank line between records', files: () => [f('blank.fq', reads(5) + '\n' + reads(5, 'x'))], expect: /fastq: blank\.fq record 6 \(line 21\): header line must start with '@', found byte 0x0a/ },
  { name: 'only blank lines', files: () => [f('blanks.fq', '\n\n  \n\t\n')], expect: /blanks\.fq: empty file \(no records\)/ },
  { name: 'a million newlines after a header', files: () => [f('nl.fq', '@a\n' + '\n'.repeat(1_000_000))], expect: /fastq: nl\.fq record 1 \(line 1\): truncated record: the file ends before its '\+' line/ },
  { name: 'UTF-8 byte-order mark', files: () => [f('bom.fq', '\ufeff' + good)], expect: /bom\.fq: not FASTQ or FASTA \(record 1, line 1: starts with byte 0xef.*byte-order mark/ },
  // bytes that do not belong
  { name: 'NUL byte in a sequence', files: () => [f('nul.fq', reads(3) + '@x\nAC\0T\n+\nIIII\n')], expect: /fastq: nul\.fq record 4 \(line 14\): invalid character byte 0x00 in sequence at position 3/ },
  { name: 'NUL byte in a read name', files: () => [f('nulname.fq', reads(3) + '@x\0y\nACGT\n+\nIIII\n')], expect: /fastq: nulname\.fq record 4 \(line 13\): control character byte 0x00 in the read name at column 3/ },
  {
    name: 'read name that is not UTF-8',
    files: () => [f('utf8.fq', Buffer.concat([Buffer.from(reads(3)), Buffer.from([0x40, 0x72, 0xff, 0xfe, 0x0a]), Buffer.from('ACGT\n+\nIIII\n')]))],
    expect: /fastq: utf8\.fq record 4 \(line 13\): read name is not valid UTF-8/,
  },
  { name: 'space inside a sequence', files: () => [f('sp.fq', reads(3) + '@x\nAC GT\n+\nIIIII\n')], expect: /fastq: sp\.fq record 4 \(line 14\): invalid character byte 0x20 in sequence at position 3/ },
  { name: 'space inside a quality line', files: () => [f('qs.fq', reads(3) + '@x\nACGT\n+\nII I\n')], expect: /fastq: qs\.fq record 4 \(line 16\): invalid quality character byte 0x20 at position 3/ },
  { name: 'DEL byte in a quality line', files: () => [f('qd.fq', reads(3) + '@x\nACGT\n+\nII\x7fI\n')], expect: /fastq: qd\.fq record 4 \(line 16\): invalid quality character byte 0x7f at position 3/ },
  {
    name: 'quality byte above the Phred+64 range',
    files: () => [f('q64.fq', Buffer.from(reads(3, '', 50).replaceAll(/^I+$/gm, (s) => 'h'.repeat(s.length)) + '@x\nACGT\n+\nhh\x80h\n', 'latin1'))],
    args: ['--phred', '64'],
    expect: /fastq: q64\.fq record 4 \(line 16\): invalid quality character byte 0x80 at position 3 \(Phred\+64 expects/,
  },
  {
    name: 'Phred+64 for the sampled records, then a Phred+33 record',
    files: () => [f('pmix.fq', Array.from({ length: 20_001 }, (_, i) => rec(`p${i}`, randomSeq(30, r), 'h')).join('') + rec('late', randomSeq(30, r), '#'))],
    expect: /fastq: pmix\.fq record 20002 \(line 80008\): quality character '#' at position 1 is below the Phred\+64 range/,
  },
  // binary garbage and wrong formats
  { name: 'binary garbage after an @', files: () => [f('bin.fq', Buffer.concat([Buffer.from('@'), Buffer.from(Array.from({ length: 1 << 20 }, () => Math.floor(r() * 256)))]))], expect: /fastq: bin\.fq record 1 \(line 1\): (control character|read name is not valid UTF-8|invalid character)/ },
  { name: 'binary garbage', files: () => [f('bin.dat', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 255)))], expect: /bin\.dat: not FASTQ or FASTA \(record 1, line 1: starts with byte 0x00/ },
  { name: '/dev/urandom (endless random bytes)', files: () => ['/dev/urandom'], expect: /urandom: not FASTQ or FASTA \(record 1, line 1: starts with / },
  { name: '/dev/zero (endless NUL bytes)', files: () => ['/dev/zero'], expect: /zero: not FASTQ or FASTA \(record 1, line 1: starts with byte 0x00/ },
  { name: 'bzip2-compressed input', files: () => [f('x.fq.bz2', 'BZh91AY&SY' + 'x'.repeat(100))], expect: /x\.fq\.bz2: not FASTQ or FASTA .*looks like bzip2-compressed/ },
  { name: 'zstd-compressed input', files: () => [f('x.fq.zst', new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3, 4]))], expect: /x\.fq\.zst: not FASTQ or FASTA .*looks like zstd-compressed/ },
  { name: 'xz-compressed input', files: () => [f('x.fq.xz', new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 1, 2]))], expect: /x\.fq\.xz: not FASTQ or FASTA .*looks like xz-compressed/ },
  { name: 'a directory as input', files: () => [tmp.path], expect: /: is a directory, not a file/ },
  // gzip
  { name: 'gzip compressed twice', files: () => [f('dbl.fq.gz', gzipSync(gzipSync(good)))], expect: /dbl\.fq\.gz: not FASTQ or FASTA .*gzip data inside gzip/ },
  { name: 'gzip header only', files: () => [f('h.fq.gz', gzipSync(good).subarray(0, 10))], expect: /gzip: h\.fq\.gz: corrupt or truncated gzip data near compressed byte 10/ },
  { name: 'gzip magic only', files: () => [f('m.fq.gz', new Uint8Array([0x1f, 0x8b]))], expect: /gzip: m\.fq\.gz: corrupt or truncated gzip data/ },
  {
    name: 'gzip with a bad CRC',
    files: () => {
      const g = gzipSync(good);
      g[g.length - 6]! ^= 0xff;
      return [f('crc.fq.gz', g)];
    },
    expect: /gzip: crc\.fq\.gz: corrupt or truncated gzip data .*incorrect data check/,
  },
  { name: 'garbage after the gzip stream', files: () => [f('tg.fq.gz', Buffer.concat([gzipSync(good), Buffer.from('garbage!garbage!')]))], expect: /gzip: tg\.fq\.gz: corrupt or truncated gzip data/ },
  { name: 'zero padding after the gzip stream (tape/block padding)', files: () => [f('tz.fq.gz', Buffer.concat([gzipSync(good), Buffer.alloc(1000)]))], accept: (c) => assert.equal(c.fragments_in, 40) },
  { name: 'gzip of an empty file', files: () => [f('ge.fq.gz', gzipSync(''))], expect: /ge\.fq\.gz: empty file \(no records\)/ },
  { name: 'gzip bomb of NUL bytes (200 MiB)', files: async () => [await gzipBomb('bomb0.gz', '', 200, 0)], expect: /bomb0\.gz: not FASTQ or FASTA/, maxRssMb: 400 },
  {
    name: 'gzip bomb: one 300 MiB sequence line',
    files: async () => [await gzipBomb('bomb1.fq.gz', '@r\n', (MAX_RECORD_BYTES >> 20) + 44, 0x41)],
    expect: /bomb1\.fq\.gz: record 1 \(line 1\): a single record exceeds 256 MiB/,
    // buffer bound ~ MAX_RECORD_BYTES + growth copy; unbounded growth would pass 1 GiB
    maxRssMb: 3 * (MAX_RECORD_BYTES >> 20) + 200,
  },
  {
    name: 'gzip bomb: a 300 MiB header line without newline',
    files: async () => [await gzipBomb('bomb2.fq.gz', '@', (MAX_RECORD_BYTES >> 20) + 44, 0x41)],
    expect: /bomb2\.fq\.gz: record 1 \(line 1\): a single record exceeds 256 MiB/,
    maxRssMb: 3 * (MAX_RECORD_BYTES >> 20) + 200,
  },
  // odd but valid reads: accepted, QC decides
  { name: 'zero-length reads among normal ones', files: () => [f('zero.fq', reads(10) + '@z\n\n+\n\n' + reads(10, 'y'))], accept: (c) => { assert.equal(c.fragments_in, 21); assert.equal(c.fragments_passed_qc, 20); } },
  { name: 'only zero-length reads', files: () => [f('allzero.fq', '@z\n\n+\n\n'.repeat(100))], accept: (c) => { assert.equal(c.fragments_in, 100); assert.equal(c.fragments_out, 0); } },
  { name: 'all-N reads', files: () => [f('alln.fq', Array.from({ length: 100 }, (_, i) => rec(`n${i}`, 'N'.repeat(100))).join(''))], accept: (c) => { assert.equal(c.fragments_in, 100); assert.equal(c.fragments_out, 0); } },
  { name: 'every read has the same name', files: () => [f('dupn.fq', Array.from({ length: 200 }, () => rec('same', randomSeq(100, r))).join(''))], accept: (c) => assert.equal(c.fragments_in, 200) },
  { name: 'a 1 Mbp read', files: () => [f('long.fq', reads(5) + rec('long', randomSeq(1_000_000, r)) + reads(5, 'z'))], args: ['--no-correct'], accept: (c) => assert.equal(c.fragments_in, 11), maxRssMb: 600 },
  { name: 'a 5 MB read name', files: () => [f('longname.fq', reads(3) + rec('x'.repeat(5_000_000), randomSeq(100, r)))], accept: (c) => assert.equal(c.fragments_in, 4) },
  { name: "'+' line repeating a different name", files: () => [f('plus.fq', reads(3) + '@x\nACGT\n+y\nIIII\n')], expect: /fastq: plus\.fq record 4 \(line 15\): the '\+' line names read "y" but the header names "x"/ },
  { name: "'+' line repeating the name with another description", files: () => [f('plusd.fq', reads(3) + '@x a=1\nACGT\n+x\nIIII\n')], accept: (c) => assert.equal(c.fragments_in, 4) },
  { name: 'FASTA record without sequence', files: () => [f('fe.fa', '>a\n>b\nACGT\n')], accept: (c) => assert.equal(c.fragments_in, 2) },
  { name: 'FASTA header without a name', files: () => [f('fg.fa', '>\nACGT\n')], expect: /fasta: fg\.fa record 1 \(line 1\): empty read name/ },
  { name: 'FASTQ header without a name', files: () => [f('at.fq', '@\nACGT\n+\nIIII\n')], expect: /fastq: at\.fq record 1 \(line 1\): empty read name/ },
  // pairs
  { name: 'R1 shorter than R2', files: () => [f('s1.fq', reads(10, '/1')), f('s2.fq', reads(11, '/2'))], expect: /fastq: s1\.fq ends after 10 records but s2\.fq continues \(record 11, line 41\)/ },
  { name: 'interleaved input with an odd number of reads', files: () => [f('odd.fq', reads(11))], args: ['--interleaved'], expect: /fastq: odd\.fq record 11: interleaved input has an odd number of records/ },
  { name: 'both mate files carry /1 names', files: () => [f('m1.fq', reads(10, '/1')), f('m2.fq', reads(10, '/1'))], accept: (c) => assert.equal(c.fragments_in, 10) },
];

for (const c of prepCases) {
  test(`hostile prep input: ${c.name}`, { timeout: 180_000 }, async () => {
    const files = await c.files();
    const out = tmp.join(`prep-${c.name.replace(/\W+/g, '-')}`);
    const args = ['prep', '--input', files[0]!, ...(files[1] ? ['--input2', files[1]] : []), '--output', out, '--quiet', '--threads', '2', ...(c.args ?? [])];
    const res = runCliMeasured(args, { timeout: 150_000 });
    assert.equal(res.signal, null, `no crash or hang (signal ${res.signal}); stderr: ${res.stderr.slice(-2000)}`);
    if (c.expect) {
      assert.equal(res.status, 1, `exit status; stderr: ${res.stderr.slice(0, 500)}`);
      assert.match(res.stderr, /^metavec: error: /);
      assert.match(res.stderr, c.expect);
      assert.equal(res.stderr.trim().split('\n').length, 1, `one error line: ${res.stderr.slice(0, 500)}`);
      assert.ok(!existsSync(join(out, 'manifest.json')), 'no manifest');
    } else {
      assert.equal(res.status, 0, res.stderr.slice(0, 500));
      const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { counts: Record<string, number> };
      c.accept!(m.counts);
    }
    if (c.maxRssMb !== undefined) {
      assert.ok(res.peakRssMb !== undefined && res.peakRssMb < c.maxRssMb, `peak RSS ${res.peakRssMb?.toFixed(0)} MiB < ${c.maxRssMb} MiB`);
    }
    for (const p of files) if (p.startsWith(`${tmp.path}/`)) rmSync(p, { force: true }); // the bombs are big
  });
}

test('hostile prep input: R2 reads 600x longer than R1 (mate batch cut at the byte cap) equals a run with small batches', { timeout: 300_000 }, () => {
  const n = 300;
  let a = '';
  let b = '';
  for (let i = 0; i < n; i++) {
    a += rec(`p${i}/1`, randomSeq(100, r));
    b += rec(`p${i}/2`, randomSeq(60_000, r));
  }
  const r1 = f('lr1.fq', a);
  const r2 = f('lr2.fq', b);
  const base = ['prep', '--input', r1, '--input2', r2, '--quiet', '--no-correct', '--json'];
  const big = runCli([...base, '--output', tmp.join('lr-big')]);
  assert.equal(big.status, 0, big.stderr.slice(0, 500));
  const small = runCli([...base, '--output', tmp.join('lr-small'), '--batch-size', '50']);
  assert.equal(small.status, 0, small.stderr.slice(0, 500));
  const shards = (d: string) => (JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8')) as { shards: { sha256: string }[]; counts: Record<string, number> });
  const mb = shards(tmp.join('lr-big'));
  assert.equal(mb.counts.fragments_in, n);
  assert.deepEqual(mb.shards.map((s) => s.sha256), shards(tmp.join('lr-small')).shards.map((s) => s.sha256));
});

// ---- manifests and shard lists (metavec cluster) ----
let base = '';
let m0: Record<string, unknown> & { shards: { path: string; rows: number; sha256: string }[] };
before(() => {
  base = tmp.join('mbase');
  const res = runCli(['prep', '--input', f('m-in.fq', reads(400)), '--output', base, '--quiet', '--rows-per-shard', '200', '--no-correct']);
  assert.equal(res.status, 0, res.stderr.slice(0, 500));
  m0 = JSON.parse(readFileSync(join(base, 'manifest.json'), 'utf8')) as typeof m0;
});
const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

interface ManifestCase {
  name: string;
  /** edits a copy of the run dir; returns the manifest object to write, or undefined when the file was written */
  edit: (m: typeof m0, dir: string) => unknown;
  expect?: RegExp;
}

const manifestCases: ManifestCase[] = [
  { name: 'shard path with ../ outside the run', edit: (m) => ((m.shards[0]!.path = '../mbase/shards/part-00000.parquet'), m), expect: /path "\.\.\/mbase\/shards\/part-00000\.parquet" points outside the run directory/ },
  { name: 'absolute shard path', edit: (m) => ((m.shards[0]!.path = join(base, 'shards/part-00000.parquet')), m), expect: /path ".*" must be relative/ },
  { name: 'Windows-style ..\\ shard path', edit: (m) => ((m.shards[0]!.path = '..\\mbase\\shards\\part-00000.parquet'), m), expect: /contains a control character or a backslash/ },
  { name: 'NUL byte in a shard path', edit: (m) => ((m.shards[0]!.path = 'shards/part-00000.parquet\u0000.x'), m), expect: /contains a control character or a backslash/ },
  { name: 'empty shard path', edit: (m) => ((m.shards[0]!.path = ''), m), expect: /path "" must be relative/ },
  { name: 'shard path that is a directory', edit: (m) => ((m.shards[0]!.path = 'shards'), m), expect: /shard: .*\/shards: not a regular file/ },
  {
    name: 'shard that is a symlink to a file outside the run',
    edit: (m, dir) => {
      symlinkSync(join(base, 'shards/part-00000.parquet'), join(dir, 'shards/evil.parquet'));
      m.shards[0]!.path = 'shards/evil.parquet';
      return m;
    },
    expect: /path "shards\/evil\.parquet" is a symbolic link to .*, outside the run directory/,
  },
  {
    name: 'shard under a symlinked directory outside the run',
    edit: (m, dir) => {
      symlinkSync(join(base, 'shards'), join(dir, 'elsewhere'));
      m.shards[0]!.path = 'elsewhere/part-00000.parquet';
      return m;
    },
    expect: /path "elsewhere\/part-00000\.parquet" is a symbolic link to .*, outside the run directory/,
  },
  {
    name: 'shard that is a symlink to /etc/passwd with its checksum',
    edit: (m, dir) => {
      symlinkSync('/etc/passwd', join(dir, 'shards/pw.parquet'));
      m.shards[0]!.path = 'shards/pw.parquet';
      m.shards[0]!.sha256 = sha('/etc/passwd');
      return m;
    },
    expect: /is a symbolic link to \/etc\/passwd, outside the run directory/,
  },
  {
    name: 'manifest.json that is a symlink outside the run',
    edit: (_m, dir) => {
      rmSync(join(dir, 'manifest.json'));
      symlinkSync(join(base, 'manifest.json'), join(dir, 'manifest.json'));
    },
    expect: /path "manifest\.json" is a symbolic link to .*, outside the run directory/,
  },
  { name: 'rows as a string', edit: (m) => ((m.shards[0] as { rows: unknown }).rows = '200', m), expect: /shard 0 is incomplete/ },
  { name: 'negative rows', edit: (m) => ((m.shards[0]!.rows = -5), m), expect: /shard 0 \(shards\/part-00000\.parquet\): rows -5 is not a count/ },
  { name: 'rows beyond 2^53', edit: (m) => ((m.shards[0]!.rows = 1e300), m), expect: /rows 1e\+300 is not a count/ },
  { name: 'rows that disagree with the shards', edit: (m) => ((m.shards[0]!.rows = 201), m), expect: /shard: rows read \(400\) != rows in the manifest \(401\)/ },
  { name: 'malformed sha256', edit: (m) => ((m.shards[0]!.sha256 = 'zz'), m), expect: /sha256 "zz" is not 64 lower-case hex digits/ },
  { name: 'shard listed twice', edit: (m) => (m.shards.push(m.shards[0]!), m), expect: /shard 2 \(shards\/part-00000\.parquet\) is listed twice/ },
  { name: 'shards is an object', edit: (m) => ((m as Record<string, unknown>).shards = { a: 1 }, m), expect: /shards list missing/ },
  { name: 'a null shard entry', edit: (m) => ((m.shards as unknown[])[0] = null, m), expect: /shard 0 is incomplete/ },
  { name: 'no shards', edit: (m) => ((m.shards = []), m), expect: /has no fragments/ },
  { name: 'embedding.dim 0', edit: (m) => ((m.embedding as { dim: number }).dim = 0, m), expect: /embedding\.dim missing or invalid/ },
  { name: 'embedding.dim 2^31', edit: (m) => ((m.embedding as { dim: number }).dim = 2 ** 31, m), expect: /embedding\.dim missing or invalid/ },
  { name: 'embedding.dim that disagrees with the shards', edit: (m) => ((m.embedding as { dim: number }).dim = 10, m), expect: /embedding dimension 136 != manifest embedding\.dim 10/ },
  { name: 'future schema version', edit: (m) => ((m.schema = 'metavec.prep/2'), m), expect: /unknown schema version "metavec\.prep\/2"/ },
  { name: 'manifest is a JSON array', edit: (_m, dir) => writeFileSync(join(dir, 'manifest.json'), '[]'), expect: /not a JSON object/ },
  { name: 'truncated manifest', edit: (_m, dir) => writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m0).slice(0, 100)), expect: /not valid JSON/ },
  { name: 'binary manifest', edit: (_m, dir) => writeFileSync(join(dir, 'manifest.json'), Buffer.from([0, 1, 2, 255])), expect: /not valid JSON/ },
  { name: '100,000-deep nested JSON', edit: (_m, dir) => writeFileSync(join(dir, 'manifest.json'), '['.repeat(100_000) + ']'.repeat(100_000)), expect: /not a JSON object|not valid JSON/ },
  {
    name: 'manifest.json is a directory',
    edit: (_m, dir) => {
      rmSync(join(dir, 'manifest.json'));
      mkdirSync(join(dir, 'manifest.json'));
    },
    expect: /manifest: .*manifest\.json: cannot read/,
  },
  {
    name: 'a garbage shard with a matching checksum',
    edit: (m, dir) => {
      writeFileSync(join(dir, 'shards/part-00000.parquet'), 'PAR1 not really');
      m.shards[0]!.sha256 = sha(join(dir, 'shards/part-00000.parquet'));
      return m;
    },
    expect: /shard: cannot read Parquet: .*part-00000\.parquet/,
  },
  {
    name: 'a truncated shard',
    edit: (m, dir) => {
      const p = join(dir, 'shards/part-00000.parquet');
      writeFileSync(p, readFileSync(p).subarray(0, 500));
      return m;
    },
    expect: /part-00000\.parquet: checksum mismatch/,
  },
  { name: 'a missing shard', edit: (m, dir) => (rmSync(join(dir, 'shards/part-00001.parquet')), m), expect: /part-00001\.parquet: missing \(listed in the manifest\)/ },
  {
    name: 'a symlinked shard inside the run (accepted)',
    edit: (m, dir) => {
      symlinkSync(join(dir, 'shards/part-00000.parquet'), join(dir, 'shards/alias.parquet'));
      m.shards[0]!.path = 'shards/alias.parquet';
      return m;
    },
  },
  { name: '"__proto__" key in the manifest (accepted, no pollution)', edit: (_m, dir) => writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m0).replace('{', '{"__proto__":{"polluted":1},')) },
];

for (const c of manifestCases) {
  test(`hostile manifest: ${c.name}`, { timeout: 120_000 }, () => {
    const dir = tmp.join(`run-${c.name.replace(/\W+/g, '-')}`);
    cpSync(base, dir, { recursive: true });
    const m = c.edit(structuredClone(m0), dir);
    if (m !== undefined) writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    const out = tmp.join(`cl-${c.name.replace(/\W+/g, '-')}`);
    const res = runCli(['cluster', '--method', 'kmeans', '--input', dir, '--output', out, '--k', '2', '--quiet', '--threads', '1'], { timeout: 100_000 });
    if (c.expect) {
      assert.equal(res.status, 1, `exit status; stderr: ${res.stderr.slice(0, 500)}`);
      assert.match(res.stderr, /^metavec: error: /);
      assert.match(res.stderr, c.expect);
      assert.equal(res.stderr.trim().split('\n').length, 1, `one error line: ${res.stderr.slice(0, 500)}`);
      assert.ok(!existsSync(join(out, 'summary.json')), 'no summary');
      assert.ok(!existsSync(join(out, 'labels.parquet')), 'no labels');
    } else {
      assert.equal(res.status, 0, res.stderr.slice(0, 500));
      assert.ok(existsSync(join(out, 'summary.json')));
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    }
  });
}
