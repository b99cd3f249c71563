// The golden corpus (test/golden/) through the local engine with 1 and 2 threads: the same counts, shards,
// qc_stats.json, K, cluster sizes and labels as recorded in test/golden/ (regenerate: node scripts/update-golden.mjs).
// The engine tests (ray-engine, mpi-cluster) compare their engine with the same files.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { TempDir } from '../helpers/fixtures.js';
import { assertGoldenCluster, assertGoldenPrep, cli, goldenClusterArgs, goldenExpected, goldenPrepArgs, GOLDEN_METHODS } from '../helpers/golden.js';

const tmp = new TempDir('metavec-golden-');
after(() => tmp.remove());

void test('golden corpus: every QC filter, dedup and (when on) correction have work (the corpus tests what it claims)', () => {
  const { counts: c, correction } = goldenExpected().prep;
  const steps = ['adapter_fragments_overlap', 'quality_bases_trimmed', 'filtered_too_short', 'filtered_too_many_n', 'filtered_low_quality', 'filtered_low_complexity', 'duplicates_removed'];
  // correction has work when it runs (whether it runs by default is a choice recorded in expected.json)
  for (const k of correction ? [...steps, 'bases_corrected'] : steps) {
    assert.ok((c[k] ?? 0) > 0, `${k} is ${c[k]}`);
  }
  assert.equal(goldenExpected().prep.shards.length > 1, true, 'more than one shard');
});

for (const threads of [1, 2]) {
  void test(`golden corpus, local engine, --threads ${threads}: counts, shards, qc_stats, labels of k-means and of the default method`, async () => {
    const prep = tmp.join(`prep-${threads}`);
    const cluster = tmp.join(`cluster-${threads}`);
    cli(['prep', ...goldenPrepArgs(prep), '--threads', String(threads), '--quiet']);
    assertGoldenPrep(prep, `prep --threads ${threads}`);
    for (const method of GOLDEN_METHODS) {
      cli(['cluster', ...goldenClusterArgs(prep, `${cluster}-${method}`, method), '--threads', String(threads), '--quiet']);
      await assertGoldenCluster(`${cluster}-${method}`, method, `cluster (${method}) --threads ${threads}`);
    }
  });
}
