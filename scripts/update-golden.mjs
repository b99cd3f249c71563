#!/usr/bin/env node
// Rewrites the golden corpus's expected outputs (test/golden/expected.json, labels.*.tsv) from the local
// engine with the fixed options of test/golden/params.json, and prints what changed. Run after `npm run build`
// whenever an intended change alters Phase 1 counts, shards or labels (e.g. a new default), then commit
// test/golden/. `--reads` also recuts the reads (R1/R2.fastq.gz, truth.tsv.gz) from examples/sample.
// Usage: node scripts/update-golden.mjs [--reads] [--check]   (--check: exit 1 if anything would change, write nothing)
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

const helpers = new URL('../dist/test/helpers/golden.js', import.meta.url);
if (!existsSync(helpers)) {
  console.error('update-golden: dist/test/helpers/golden.js is missing: build first (npx tsc -p tsconfig.json)');
  process.exit(1);
}
const g = await import(helpers.href);
const args = new Set(process.argv.slice(2));
const check = args.has('--check');

/** Pairs in the corpus: the sample's first 600, plus the original of each duplicate among them (so dedup has work). */
const FIRST_PAIRS = 600;

/**
 * Synthetic pairs (5 of each kind, fixed seed) that give every QC step something to do: a quality tail to trim,
 * too short, too many N, too many low-quality bases, low complexity.
 */
function syntheticPairs() {
  let state = 19;
  const rand = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const seq = (n) => Array.from({ length: n }, () => 'ACGT'[Math.floor(rand() * 4)]).join('');
  const kinds = {
    qtail: () => [seq(150), 'I'.repeat(120) + '#'.repeat(30)],
    short: () => [seq(20), 'I'.repeat(20)],
    manyn: () => { const s = seq(150).split(''); for (let i = 0; i < 150; i += 6) s[i] = 'N'; return [s.join(''), 'I'.repeat(150)]; },
    lowqual: () => [seq(150), Array.from({ length: 150 }, (_, i) => (i % 2 ? '#' : 'I')).join('')],
    lowcomplexity: () => ['A'.repeat(70) + seq(10) + 'T'.repeat(70), 'I'.repeat(150)],
  };
  const pairs = [];
  for (const [kind, make] of Object.entries(kinds)) {
    for (let i = 1; i <= 5; i++) pairs.push({ id: `s_${kind}_${i}`, r1: make(), r2: make() });
  }
  // A 2 kb genome at ~40x whose every third read carries one substitution: error correction has solid k-mers to
  // correct against.
  const genome = seq(2000);
  const rc = (x) => x.split('').reverse().map((c) => ({ A: 'T', C: 'G', G: 'C', T: 'A' })[c]).join('');
  const substitute = (x) => {
    const i = 20 + Math.floor(rand() * 110);
    return x.slice(0, i) + 'ACGT'[('ACGT'.indexOf(x[i]) + 1) % 4] + x.slice(i + 1);
  };
  for (let i = 1; i <= 270; i++) {
    const pos = Math.floor(rand() * (genome.length - 300));
    const frag = genome.slice(pos, pos + 300);
    let r1 = frag.slice(0, 150);
    let r2 = rc(frag).slice(0, 150);
    if (i % 3 === 0) r1 = substitute(r1);
    if (i % 3 === 1) r2 = substitute(r2);
    pairs.push({ id: `s_covered_${i}`, r1: [r1, 'I'.repeat(150)], r2: [r2, 'I'.repeat(150)] });
  }
  return pairs;
}

function recutReads() {
  const sample = new URL('../examples/sample/', import.meta.url);
  const truthLines = gunzipSync(readFileSync(new URL('truth.tsv.gz', sample))).toString('utf8').trimEnd().split('\n');
  const header = truthLines[0].split('\t');
  const col = (name) => header.indexOf(name);
  const rows = truthLines.slice(1).map((l) => l.split('\t'));
  const keep = new Set(rows.slice(0, FIRST_PAIRS).map((r) => r[0]));
  for (const r of rows.slice(0, FIRST_PAIRS)) if (r[col('is_duplicate')] === '1') keep.add(r[col('dup_of')]);
  const truth = [header.slice(0, 3).join('\t')];
  for (const r of rows) if (keep.has(r[0])) truth.push(r.slice(0, 3).join('\t'));
  const synthetic = syntheticPairs();
  for (const p of synthetic) truth.push(`${p.id}\tsynthetic\tsynthetic`);
  for (const [m, mate] of ['R1', 'R2'].entries()) {
    const lines = gunzipSync(readFileSync(new URL(`${mate}.fastq.gz`, sample))).toString('latin1').split('\n');
    const out = [];
    for (let i = 0; i + 3 < lines.length; i += 4) {
      if (keep.has(lines[i].slice(1).replace(/\/[12]$/, '').split(/\s/)[0])) out.push(lines[i], lines[i + 1], lines[i + 2], lines[i + 3]);
    }
    for (const p of synthetic) {
      const [sq, q] = m === 0 ? p.r1 : p.r2;
      out.push(`@${p.id}/${m + 1}`, sq, '+', q);
    }
    writeFileSync(join(g.GOLDEN_DIR, `${mate}.fastq.gz`), gzipSync(Buffer.from(out.join('\n') + '\n', 'latin1'), { level: 9 }));
  }
  writeFileSync(g.GOLDEN_TRUTH, gzipSync(truth.join('\n') + '\n', { level: 9 }));
  console.log(`update-golden: reads recut: ${keep.size} pairs from examples/sample + ${synthetic.length} synthetic`);
}

if (args.has('--reads') && !check) recutReads();

const work = mkdtempSync(join(tmpdir(), 'metavec-golden-'));
try {
  const prep = join(work, 'prep');
  const cluster = join(work, 'cluster');
  g.cli(['prep', ...g.goldenPrepArgs(prep), '--threads', '1', '--quiet']);
  const expected = { prep: g.goldenPrepOf(prep), cluster: {} };
  const labels = {};
  for (const method of g.GOLDEN_METHODS) {
    g.cli(['cluster', ...g.goldenClusterArgs(prep, `${cluster}-${method}`, method), '--threads', '1', '--quiet']);
    expected.cluster[method] = g.goldenClusterOf(`${cluster}-${method}`);
    labels[method] = await g.goldenLabelsOf(`${cluster}-${method}`);
  }

  const old = existsSync(g.GOLDEN_EXPECTED) ? JSON.parse(readFileSync(g.GOLDEN_EXPECTED, 'utf8')) : undefined;
  const changes = [];
  const walk = (path, a, b) => {
    if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) walk(path ? `${path}.${k}` : k, a[k], b[k]);
    } else if (JSON.stringify(a) !== JSON.stringify(b)) changes.push(`  ${path}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`);
  };
  walk('', old, expected);
  for (const method of g.GOLDEN_METHODS) {
    const path = g.goldenLabelsPath(method);
    const oldLabels = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (oldLabels === labels[method]) continue;
    const a = (oldLabels ?? '').split('\n').slice(1, -1);
    const b = labels[method].split('\n').slice(1, -1);
    const cut = (l) => l.split('\t').slice(0, 2).join('\t');
    let moved = 0;
    let dist = 0;
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (cut(a[i] ?? '') !== cut(b[i] ?? '')) moved++;
      else if (a[i] !== b[i]) dist++;
    }
    changes.push(`  labels.${method}.tsv: ${a.length} -> ${b.length} rows; ${moved} rows with another read id or cluster, ${dist} with only another distance`);
  }
  if (changes.length === 0) console.log('update-golden: no change (test/golden/ matches the local engine)');
  else {
    console.log(`update-golden: ${check ? 'would change' : 'changed'}:\n${changes.join('\n')}`);
    if (!check) {
      writeFileSync(g.GOLDEN_EXPECTED, JSON.stringify(expected, null, 2) + '\n');
      for (const method of g.GOLDEN_METHODS) writeFileSync(g.goldenLabelsPath(method), labels[method]);
    }
  }
  if (check && changes.length > 0) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
