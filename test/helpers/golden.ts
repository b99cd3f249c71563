/**
 * The golden corpus (test/golden/): a small FASTQ pair cut from the bundled sample, run with fixed options, and
 * what every engine must produce from it: per-stage counts, the shard list with sha256, qc_stats.json's sha256,
 * K and cluster sizes, and the labels (read_id, cluster, distance) of k-means and of the default method. `node scripts/update-golden.mjs` rewrites the
 * expected files from the local engine and says what changed (it imports this module from dist/).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLabelsParquet } from '../../src/io/labels.js';
import { REPO_ROOT } from './tools.js';

export const GOLDEN_DIR = join(REPO_ROOT, 'test/golden');
export const GOLDEN_R1 = join(GOLDEN_DIR, 'R1.fastq.gz');
export const GOLDEN_R2 = join(GOLDEN_DIR, 'R2.fastq.gz');
export const GOLDEN_TRUTH = join(GOLDEN_DIR, 'truth.tsv.gz');
export const GOLDEN_EXPECTED = join(GOLDEN_DIR, 'expected.json');

/**
 * The Phase 2 runs recorded: k-means with a fixed K (every engine runs it) and the default method with K auto
 * (what `metavec cluster` does without options).
 */
export const GOLDEN_METHODS = ['kmeans', 'default'] as const;
export type GoldenMethod = (typeof GOLDEN_METHODS)[number];

export function goldenLabelsPath(method: GoldenMethod): string {
  return join(GOLDEN_DIR, `labels.${method}.tsv`);
}

/** The fixed options (test/golden/params.json): prep and cluster arguments after --input/--output. */
export interface GoldenParams {
  prep: string[];
  cluster: Record<GoldenMethod, string[]>;
}

export function goldenParams(): GoldenParams {
  return JSON.parse(readFileSync(join(GOLDEN_DIR, 'params.json'), 'utf8')) as GoldenParams;
}

/** `prep` arguments for the golden reads into `output` (add --engine / --threads as needed). */
export function goldenPrepArgs(output: string): string[] {
  return ['--input', GOLDEN_R1, '--input2', GOLDEN_R2, '--output', output, ...goldenParams().prep];
}

/** `cluster` arguments from a golden prep directory into `output` (add --engine / --threads as needed). */
export function goldenClusterArgs(prep: string, output: string, method: GoldenMethod): string[] {
  return ['--input', prep, '--output', output, ...goldenParams().cluster[method]];
}

export interface GoldenPrep {
  /** error correction ran (manifest parameters.correction.enabled) */
  correction: boolean;
  fragments_in: number;
  fragments_out: number;
  /** manifest.json counts: reads in/out and what each filter removed */
  counts: Record<string, number>;
  shards: { path: string; rows: number; sha256: string }[];
  qc_stats_sha256: string;
}

export interface GoldenCluster {
  method: string;
  k: number;
  cluster_sizes: number[];
}

export interface GoldenExpected {
  prep: GoldenPrep;
  cluster: Record<GoldenMethod, GoldenCluster>;
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** What a prep directory holds, in the form of expected.json's `prep`. */
export function goldenPrepOf(prepDir: string): GoldenPrep {
  const m = readJson<{
    counts: Record<string, number>;
    shards: { path: string; rows: number; sha256: string }[];
    qc_stats: { sha256: string };
    parameters: { correction: { enabled: boolean } };
  }>(join(prepDir, 'manifest.json'));
  return {
    correction: m.parameters.correction.enabled,
    fragments_in: m.counts.fragments_in as number,
    fragments_out: m.counts.fragments_out as number,
    counts: m.counts,
    shards: m.shards.map((s) => ({ path: s.path, rows: s.rows, sha256: s.sha256 })),
    qc_stats_sha256: m.qc_stats.sha256,
  };
}

/** What a cluster directory holds, in the form of expected.json's `cluster`. */
export function goldenClusterOf(clusterDir: string): GoldenCluster {
  const s = readJson<{ method: string; k: number; cluster_sizes: number[] }>(join(clusterDir, 'summary.json'));
  return { method: s.method, k: s.k, cluster_sizes: s.cluster_sizes };
}

/** labels.parquet as TSV text (read_id, cluster, distance as the float32 value printed exactly). */
export async function goldenLabelsOf(clusterDir: string): Promise<string> {
  const l = await readLabelsParquet(join(clusterDir, 'labels.parquet'));
  const lines = ['read_id\tcluster\tdistance'];
  for (let i = 0; i < l.readIds.length; i++) lines.push(`${l.readIds[i]}\t${l.clusters[i]}\t${l.distances[i]}`);
  return lines.join('\n') + '\n';
}

export function goldenExpected(): GoldenExpected {
  return readJson<GoldenExpected>(GOLDEN_EXPECTED);
}

const REGENERATE = "if the change is intended, run 'node scripts/update-golden.mjs' and commit test/golden/";

/** A prep directory made from the golden reads with the golden options equals the golden output. */
export function assertGoldenPrep(prepDir: string, what: string): void {
  const want = goldenExpected().prep;
  const got = goldenPrepOf(prepDir);
  assert.deepEqual(got.counts, want.counts, `${what}: counts differ from test/golden/expected.json (${REGENERATE})`);
  assert.deepEqual(got, want, `${what}: shards or qc_stats.json differ from test/golden/expected.json (${REGENERATE})`);
}

/**
 * Labels, K and cluster sizes equal the golden ones. `distances: false` compares read ids and clusters only
 * (for an engine whose distances may legitimately differ in the last bits).
 */
export async function assertGoldenCluster(clusterDir: string, method: GoldenMethod, what: string, opts: { distances?: boolean } = {}): Promise<void> {
  assert.deepEqual(goldenClusterOf(clusterDir), goldenExpected().cluster[method], `${what}: method, K or cluster sizes differ from test/golden/expected.json cluster.${method} (${REGENERATE})`);
  let got = await goldenLabelsOf(clusterDir);
  let want = readFileSync(goldenLabelsPath(method), 'utf8');
  if (opts.distances === false) {
    const cut = (s: string): string => s.replace(/\t[^\t\n]*$/gm, '');
    got = cut(got);
    want = cut(want);
  }
  if (got === want) return;
  const a = got.split('\n');
  const b = want.split('\n');
  let i = 0;
  while (i < Math.max(a.length, b.length) && a[i] === b[i]) i++;
  assert.fail(`${what}: labels differ from test/golden/labels.${method}.tsv at line ${i + 1}: got '${a[i] ?? '<end>'}', expected '${b[i] ?? '<end>'}' (${REGENERATE})`);
}

/** Runs the CLI (dist) and fails with its stderr when it exits non-zero. */
export function cli(args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'dist/src/cli/main.js'), ...args], { encoding: 'utf8', env, timeout: 600_000 });
  assert.equal(r.status, 0, `metavec ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}
