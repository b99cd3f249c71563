import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { camiBinningHeader, writeCamiBinning } from '../../src/io/binning.js';
import { writeLabelsParquet } from '../../src/io/labels.js';
import { runEval } from '../../src/pipeline/phase2.js';
import { rng } from '../helpers/fixtures.js';
import { hasCommand, requireTool } from '../helpers/tools.js';

/**
 * Agreement of `metavec eval` with AMBER (the CAMI binning evaluator, `pip install cami-amber`) on the same
 * labels and truth: bins.binning as the cluster step writes it, the gold standard made from the truth table.
 * docs/evaluation.md explains which AMBER column matches which metric and why.
 */

/** Labels with mixing, truth reads without a label (dropped by QC) and labelled reads absent from the truth. */
function community(): { ids: string[]; clusters: number[]; truth: [string, string][] } {
  const rand = rng(18);
  const truth: [string, string][] = [];
  const ids: string[] = [];
  const clusters: number[] = [];
  const species = ['Escherichia_coli', 'Bacillus_subtilis', 'Vibrio_cholerae', 'Helicobacter_pylori', 'phiX'];
  const abundance = [0.4, 0.25, 0.2, 0.1, 0.05];
  for (let i = 0; i < 3000; i++) {
    const u = rand();
    let s = 0;
    for (let acc = abundance[0]!; u > acc && s < species.length - 1; ) acc += abundance[++s]!;
    const id = `r${String(i + 1).padStart(7, '0')}`;
    truth.push([id, species[s]!]);
    if (rand() < 0.05) continue; // dropped by QC or dedup: in the truth, without a label
    ids.push(id);
    // species 0 split over two clusters, 3 and 4 merged, 10% noise
    const c = rand() < 0.1 ? Math.floor(rand() * 7) : s === 0 ? (rand() < 0.7 ? 0 : 5) : s === 4 ? 3 : s;
    clusters.push(c);
  }
  for (let i = 0; i < 20; i++) {
    ids.push(`unknown${i}`);
    clusters.push(i % 3);
  }
  return { ids, clusters, truth };
}

void test('bins.binning: CAMI header, one row per labels row in order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'metavec-binning-'));
  try {
    const labels = join(dir, 'labels.parquet');
    await writeLabelsParquet(labels, { readIds: ['r1', 'r2', 'x#1'], clusters: Int32Array.from([2, 0, 11]), distances: new Float32Array(3) });
    const rows = await writeCamiBinning(join(dir, 'bins.binning'), labels, 'my\nrun');
    assert.equal(rows, 3);
    assert.equal(readFileSync(join(dir, 'bins.binning'), 'utf8'), '@Version:0.9.1\n@SampleID:my_run\n\n@@SEQUENCEID\tBINID\nr1\t2\nr2\t0\nx#1\t11\n');
    await writeCamiBinning(join(dir, 'reads.binning'), labels, 'r', true);
    assert.equal(readFileSync(join(dir, 'reads.binning'), 'utf8'), '@Version:0.9.1\n@SampleID:r\n\n@@SEQUENCEID\tBINID\nr1/1\t2\nr1/2\t2\nr2/1\t0\nr2/2\t0\nx#1/1\t11\nx#1/2\t11\n');
    await assert.rejects(writeCamiBinning(join(dir, 'b2.binning'), join(dir, 'nope.parquet'), 's'), /binning: .*b2\.binning: cannot write from .*nope\.parquet/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('metavec eval agrees with AMBER on the same labels and truth', async (t) => {
  if (!requireTool(t, hasCommand('amber.py'), 'amber.py (python3 -m pip install cami-amber==2.0.8)')) return;
  const dir = mkdtempSync(join(tmpdir(), 'metavec-amber-'));
  try {
    const { ids, clusters, truth } = community();
    const labels = join(dir, 'labels.parquet');
    await writeLabelsParquet(labels, { readIds: ids, clusters: Int32Array.from(clusters), distances: new Float32Array(ids.length) });
    await writeCamiBinning(join(dir, 'bins.binning'), labels, 'sample');
    writeFileSync(join(dir, 'truth.tsv'), ['read_id\tspecies', ...truth.map(([id, s]) => `${id}\t${s}`)].join('\n') + '\n');
    // The gold standard: every fragment counts once (LENGTH 1), as in metavec eval; AMBER's _bp and _seq agree then.
    writeFileSync(join(dir, 'gs.binning'), camiBinningHeader('sample').replace('BINID\n', 'BINID\tLENGTH\n') + truth.map(([id, s]) => `${id}\t${s}\t1\n`).join(''));
    const r = spawnSync('amber.py', ['-g', join(dir, 'gs.binning'), '-l', 'metavec', '-o', join(dir, 'amber'), join(dir, 'bins.binning')], { encoding: 'utf8' });
    assert.equal(r.status, 0, `amber.py failed: ${r.stderr}`);
    const [head, ...lines] = readFileSync(join(dir, 'amber', 'results.tsv'), 'utf8').trim().split('\n');
    const cols = head!.split('\t');
    const row = lines.map((l) => l.split('\t')).find((f) => f[cols.indexOf('Tool')] === 'metavec');
    assert.ok(row, 'AMBER reports the metavec binning');
    const amber = (name: string): number => {
      const j = cols.indexOf(name);
      assert.ok(j >= 0, `AMBER results.tsv has no column ${name}`);
      return Number(row[j]);
    };
    const ev = await runEval(labels, join(dir, 'truth.tsv'), 'species');
    const a = ev.assigned;
    const close = (got: number, want: number, what: string): void => assert.ok(Math.abs(got - want) < 1e-9, `${what}: AMBER ${got}, metavec ${want}`);
    assert.ok(ev.unknownReads === 20 && ev.unassignedReads > 100, 'the case has unknown and unassigned reads');
    close(amber('adjusted_rand_index_seq'), a.ari, 'ARI (assigned reads)');
    close(amber('adjusted_rand_index_bp'), a.ari, 'ARI by bp with LENGTH 1');
    close(amber('precision_weighted_seq'), a.purity, 'purity (weighted)');
    close(amber('precision_avg_seq'), a.purityUnweighted, 'purity (unweighted)');
    close(amber('recall_weighted_seq'), a.inversePurity * ev.assignedFraction, 'completeness (weighted) = inverse purity x assigned fraction');
    close(amber('percentage_of_assigned_seqs'), ev.assignedFraction, 'assigned fraction');
    close(amber('accuracy_seq'), a.purity * ev.assignedFraction, 'accuracy');
    t.diagnostic(`ARI ${a.ari.toFixed(4)}, purity ${a.purity.toFixed(4)}, AMBER recall_weighted_seq ${amber('recall_weighted_seq').toFixed(4)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
