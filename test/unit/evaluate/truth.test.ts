import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { MetavecError } from '../../../src/errors.js';
import { evaluateLabels, formatEvalReport, loadTruth } from '../../../src/evaluate/index.js';
import { REPO_ROOT } from '../../helpers/tools.js';

function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'metavec-truth-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

async function rejectsInput(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof MetavecError, `expected MetavecError, got ${String(err)}`);
    assert.equal(err.code, 'INPUT');
    assert.match(err.message, re);
    return true;
  });
}

const TSV = 'read_id\tspecies\tstrain\nr1\tA\ta1\nr2\tA\ta2\nr3\tB\tb1\n';

void test('loadTruth reads plain, gzip and CRLF tables, any column', async () => {
  await withDir(async (dir) => {
    const plain = join(dir, 'truth.tsv');
    writeFileSync(plain, TSV);
    const gz = join(dir, 'truth.bin'); // gzip detected by magic bytes, not by name
    writeFileSync(gz, gzipSync(TSV));
    const crlf = join(dir, 'crlf.tsv');
    writeFileSync(crlf, TSV.replaceAll('\n', '\r\n'));
    for (const p of [plain, gz, crlf]) {
      const m = await loadTruth(p);
      assert.deepEqual(Array.from(m.entries()), [
        ['r1', 'A'],
        ['r2', 'A'],
        ['r3', 'B'],
      ]);
    }
    assert.equal((await loadTruth(plain, 'strain')).get('r2'), 'a2');
  });
});

void test('loadTruth errors name the file, line and problem', async () => {
  await withDir(async (dir) => {
    const w = (name: string, text: string): string => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };
    await rejectsInput(loadTruth(join(dir, 'missing.tsv')), /missing\.tsv: cannot open \(no such file\)/);
    await rejectsInput(loadTruth(w('noid.tsv', 'id\tspecies\nr1\tA\n')), /noid\.tsv, line 1: no 'read_id' column/);
    await rejectsInput(
      loadTruth(w('nocol.tsv', TSV), 'genus'),
      /nocol\.tsv, line 1: no column 'genus'.*available columns: read_id, species, strain/,
    );
    await rejectsInput(loadTruth(w('dup.tsv', TSV + 'r2\tB\tb2\n')), /dup\.tsv, line 5: duplicate read_id 'r2'/);
    await rejectsInput(loadTruth(w('ragged.tsv', TSV + 'r4\tB\n')), /ragged\.tsv, line 5: 2 fields, expected 3/);
    await rejectsInput(loadTruth(w('empty.tsv', '')), /empty\.tsv: empty file/);
    const badGz = join(dir, 'bad.gz');
    writeFileSync(badGz, gzipSync(TSV).subarray(0, 20));
    await rejectsInput(loadTruth(badGz), /bad\.gz, line \d+: cannot read/);
  });
});

function truthMap(entries: [string, string][]): Map<string, string> {
  return new Map(entries);
}

void test('evaluateLabels counts unassigned and unknown reads and builds both views', () => {
  const truth = truthMap([
    ['r1', 'A'],
    ['r2', 'A'],
    ['r3', 'A'],
    ['r4', 'B'],
    ['r5', 'B'],
    ['r6', 'C'],
  ]);
  const labels = { readIds: ['r1', 'r2', 'r4', 'r5', 'x9'], clusters: Int32Array.from([0, 0, 1, 1, 1]) };
  const rep = evaluateLabels(labels, truth);
  assert.equal(rep.truthReads, 6);
  assert.equal(rep.labelledReads, 5);
  assert.equal(rep.assignedReads, 4);
  assert.equal(rep.unassignedReads, 2);
  assert.equal(rep.unknownReads, 1);
  assert.deepEqual(rep.unknownExamples, ['x9']);
  assert.equal(rep.assignedFraction, 4 / 6);
  assert.deepEqual(rep.classNames, ['A', 'B', 'C']);
  // Over assigned reads the clustering is perfect.
  assert.equal(rep.assigned.n, 4);
  assert.equal(rep.assigned.ari, 1);
  assert.equal(rep.assigned.classes, 2);
  // Over all truth reads, r3 and r6 form the extra "unassigned" cluster.
  assert.equal(rep.unassignedCluster, -1);
  assert.equal(rep.allReads.n, 6);
  assert.equal(rep.allReads.clusters, 3);
  assert.equal(rep.allReads.classes, 3);
  assert.ok(rep.allReads.ari < 1);
  assert.equal(rep.allReads.f1.classToCluster[2], -1, 'class C (only unassigned) matches no cluster');
  // Confusion matrix with class names.
  assert.deepEqual(Array.from(rep.confusion.clusterIds), [0, 1]);
  const cells = Array.from(rep.confusion.counts, (n, i) => [
    rep.confusion.clusterIds[rep.confusion.rows[i] as number],
    rep.confusion.classNames[rep.confusion.cols[i] as number],
    n,
  ]);
  assert.deepEqual(cells, [
    [0, 'A', 2],
    [1, 'B', 2],
  ]);
  assert.deepEqual(Array.from(rep.confusion.unassigned), [1, 0, 1]);
  assert.deepEqual(Array.from(rep.confusion.classTotals), [3, 2, 1]);

  const text = formatEvalReport(rep);
  assert.match(text, /assigned reads\s+4 \(66\.67% of truth\)/);
  assert.match(text, /unknown reads\s+1 .*x9/);
  assert.match(text, /ARI\s+1\.0000/);
  assert.match(text, /^A\s+3\s+1\s+0\s+1\.0000\s+1\.0000\s+1\.0000\s+0:2$/m);
  assert.match(text, /^C\s+1\s+1\s+-/m);
});

void test('evaluateLabels picks an unused id for the unassigned cluster and validates labels', () => {
  const truth = truthMap([
    ['r1', 'A'],
    ['r2', 'B'],
    ['r3', 'B'],
  ]);
  const rep = evaluateLabels({ readIds: ['r1', 'r2'], clusters: Int32Array.from([-1, -3]) }, truth);
  assert.equal(rep.unassignedCluster, -4);
  assert.equal(rep.allReads.clusters, 3);
  assert.throws(
    () => evaluateLabels({ readIds: ['q1', 'q2'], clusters: Int32Array.from([0, 1]) }, truth),
    (e: unknown) => e instanceof MetavecError && e.code === 'INPUT' && /no read_id in common/.test(e.message),
  );
  assert.throws(
    () => evaluateLabels({ readIds: ['r1', 'r1'], clusters: Int32Array.from([0, 1]) }, truth),
    (e: unknown) => e instanceof MetavecError && /duplicate read_id 'r1' \(row 2\)/.test(e.message),
  );
  assert.throws(
    () => evaluateLabels({ readIds: ['r1'], clusters: Int32Array.from([0, 1]) }, truth),
    (e: unknown) => e instanceof MetavecError && e.code === 'INPUT',
  );
});

void test('bundled sample truth table loads (20,000 pairs, 7 species, 10 strains)', async () => {
  // The sample ships with the repository (examples/sample), so this runs everywhere, CI included.
  const path = join(REPO_ROOT, 'examples/sample/truth.tsv.gz');
  const truth = await loadTruth(path);
  assert.equal(truth.size, 20000);
  assert.equal(truth.get('r0000001'), 'Vibrio_cholerae');
  assert.equal(new Set(truth.values()).size, 7);
  const strains = await loadTruth(path, 'strain');
  assert.equal(new Set(strains.values()).size, 10);
  // A labelling by species with a few reads dropped: perfect over assigned reads.
  const names = Array.from(new Set(truth.values())).sort();
  const readIds: string[] = [];
  const clusters: number[] = [];
  let i = 0;
  for (const [id, sp] of truth) {
    if (i++ % 10 === 0) continue;
    readIds.push(id);
    clusters.push(names.indexOf(sp));
  }
  const rep = evaluateLabels({ readIds, clusters: Int32Array.from(clusters) }, truth);
  assert.equal(rep.assigned.ari, 1);
  assert.equal(rep.assigned.f1.macro, 1);
  assert.equal(rep.unassignedReads, 2000);
  assert.ok(rep.allReads.ari < 1);
});
