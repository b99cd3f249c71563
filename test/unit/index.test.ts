import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makePairs, TempDir } from '../helpers/fixtures.js';
import { REPO_ROOT } from '../helpers/tools.js';

type Library = typeof import('../../src/index.js');

/** The package as another tool imports it: by its name, through package.json `exports` (Node's self-reference). */
async function library(): Promise<Library> {
  const name = 'metavec';
  return (await import(name)) as Library;
}

void test('package.json main, types and exports point at the built public surface', () => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    main: string;
    types: string;
    exports: Record<string, { types: string; import: string }>;
  };
  assert.equal(pkg.main, 'dist/src/index.js');
  assert.equal(pkg.exports['.']?.import, `./${pkg.main}`);
  assert.equal(pkg.exports['.']?.types, `./${pkg.types}`);
  for (const f of [pkg.main, pkg.types]) assert.ok(existsSync(join(REPO_ROOT, f)), `${f} is built`);
});

void test('import "metavec": prep + cluster + evaluate + read back on a tiny paired sample', async () => {
  const mv = await library();
  const dir = new TempDir('metavec-index-');
  try {
    const pairs = makePairs(300, 5, { genomes: 3 });
    const r1 = dir.file('r1.fq', pairs.r1);
    const r2 = dir.file('r2.fq', pairs.r2);
    const truth = dir.file('truth.tsv', `read_id\tspecies\n${pairs.ids.map((id, i) => `${id}\tg${i % 3}`).join('\n')}\n`);

    const opts = mv.prepOptions({ inputs: [r1], inputs2: [r2], output: dir.join('prep'), threads: 1, qc: { minLength: 50 } });
    assert.equal(opts.correct, false, 'defaults are the command line defaults (correction off since issue 20)');
    assert.equal(opts.qc.minLength, 50);
    assert.equal(opts.qc.cutMeanQuality, 20, 'QC fields not given keep their defaults');

    const p = await mv.prep({ inputs: [r1], inputs2: [r2], output: dir.join('prep'), threads: 1, kmer: 3 });
    assert.equal(p.fragmentsIn, 300);
    assert.ok(p.fragmentsOut > 250 && p.fragmentsOut <= 300, `fragments out ${p.fragmentsOut}`);

    const back = await mv.readPrep(dir.join('prep'));
    assert.equal(back.manifest.embedding.method, 'kmer');
    assert.equal(back.manifest.embedding.k, 3);
    assert.equal(back.n, p.fragmentsOut);
    assert.equal(back.dim, 32); // canonical 3-mers
    assert.equal(back.data.length, back.n * back.dim);

    const c = await mv.cluster({ input: dir.join('prep'), output: dir.join('cluster'), method: 'kmeans', k: 3, seed: 1, threads: 1 });
    assert.equal(c.k, 3);
    assert.equal(c.fragments, p.fragmentsOut);
    const labels = await mv.readLabelsParquet(join(dir.path, 'cluster', 'labels.parquet'));
    assert.equal(labels.readIds.length, p.fragmentsOut);
    assert.deepEqual(new Set(labels.clusters), new Set([0, 1, 2]));

    // Three genomes of GC 0.3 / 0.5 / 0.7 are told apart by their 3-mer profiles.
    const e = await mv.evaluate(join(dir.path, 'cluster', 'labels.parquet'), truth);
    assert.ok(e.assigned.ari > 0.9, `ARI ${e.assigned.ari}`);

    // The same embedding outside a run: one row per pair, equal to the shard's row for that fragment.
    const i = back.readIds.indexOf(pairs.ids[0] as string);
    assert.ok(i >= 0);
    const lines1 = pairs.r1.split('\n');
    const lines2 = pairs.r2.split('\n');
    const row = await mv.embedReads({ method: 'kmer', k: 3, normalisation: 'freq' }, [[lines1[1] as string, lines2[1] as string]]);
    assert.deepEqual(Array.from(row), Array.from(back.data.subarray(i * back.dim, (i + 1) * back.dim)));
  } finally {
    dir.remove();
  }
});

void test('run(): prep + cluster + eval.json + run.json in one directory, like `metavec run --no-report --no-catalog`', async () => {
  const mv = await library();
  const dir = new TempDir('metavec-index-run-');
  try {
    const pairs = makePairs(200, 9, { genomes: 2 });
    const r1 = dir.file('r1.fq', pairs.r1);
    const r2 = dir.file('r2.fq', pairs.r2);
    const truth = dir.file('truth.tsv', `read_id\tspecies\n${pairs.ids.map((id, i) => `${id}\tg${i % 2}`).join('\n')}\n`);
    const out = dir.join('run');
    const r = await mv.run({ inputs: [r1], inputs2: [r2], output: out, truth, report: false, prep: { threads: 1 }, cluster: { method: 'kmeans', k: 2, seed: 1, threads: 1 } });
    assert.equal(r.output, out);
    assert.equal(r.prep.fragmentsIn, 200);
    assert.equal(r.cluster.k, 2);
    assert.ok(r.eval && r.eval.assigned.ari > 0.9, `ARI ${r.eval?.assigned.ari}`);
    assert.equal(r.report, undefined);
    for (const f of ['prep/manifest.json', 'cluster/labels.parquet', 'cluster/summary.json', 'eval.json', 'run.json']) assert.ok(existsSync(join(out, f)), f);
    assert.equal(existsSync(join(out, 'report.html')), false);
    const saved = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { prep: { fragments_in: number }; cluster: { k: number } };
    assert.deepEqual([saved.prep.fragments_in, saved.cluster.k], [200, 2]);
  } finally {
    dir.remove();
  }
});

void test('the library throws MetavecError with a code, naming the missing input', async () => {
  const mv = await library();
  await assert.rejects(mv.cluster({ input: '/nonexistent/prep', output: '/tmp/metavec-never' }), (err: unknown) => {
    assert.ok(err instanceof mv.MetavecError, String(err));
    assert.match(err.message, /nonexistent/);
    assert.equal(typeof err.code, 'string');
    return true;
  });
});
