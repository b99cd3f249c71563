/**
 * Long fuzzing run of the FASTQ/FASTA reader+parser and the manifest reader: the property cases of
 * test/helpers/fuzzers.ts (CI runs a few hundred) for a fixed time or number of cases.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/fuzz.js [--seconds 600] [--seed 1] [--max-cases N] [--out FILE]
 *
 * Writes bench/results/fuzz-<date>.json: cases run per target, outcome counts (accepted / refused and the
 * error kinds), failures with the seed that reproduces each (METAVEC_FUZZ_SEED=<seed> METAVEC_FUZZ_RUNS=1 node
 * scripts/run-tests.mjs fuzz-parser). Exit status 1 when any property failed.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeRunDir, manifestCase, parserCase } from '../test/helpers/fuzzers.js';
import { TOOL_VERSION } from '../src/version.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const seconds = Number(arg('seconds', '600'));
const seed0 = Number(arg('seed', String(Date.now() % 1_000_000_000)));
const maxCases = Number(arg('max-cases', String(Number.MAX_SAFE_INTEGER)));
const date = new Date().toISOString().slice(0, 10);
const out = arg('out', join(ROOT, 'bench', 'results', `fuzz-${date}.json`));

const kindOf = (o: string): string =>
  o
    .replace(/^(fastq|fasta) \d+ records, mutated \d+ bytes -> /, '')
    .replace(/^error /, '')
    .replace(/^ok .*/, 'ok (mutation still valid)')
    .replace(/^(fastq|fasta): \S+ record \d+ \(line \d+\): /, '$1: ')
    .replace(/^\S+: record \d+ \(line \d+\): /, '')
    .replace(/^\S+: /, '')
    .replace(/'.'|byte 0x[0-9a-f]{2}/g, 'X')
    .replace(/\d+/g, 'N')
    .slice(0, 90);

async function main(): Promise<void> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const deadline = t0 + seconds * 1000;
  const work = mkdtempSync(join(tmpdir(), 'metavec-fuzz-'));
  const runDir = join(work, 'run');
  const base = makeRunDir(runDir);
  const targets = {
    parser: { cases: 0, outcomes: new Map<string, number>(), failures: [] as { seed: number; error: string }[] },
    manifest: { cases: 0, outcomes: new Map<string, number>(), failures: [] as { seed: number; error: string }[] },
  };
  let i = 0;
  try {
    while (performance.now() < deadline && i < maxCases) {
      const seed = seed0 + i++;
      for (const [name, t] of Object.entries(targets)) {
        try {
          const o = name === 'parser' ? await parserCase(seed) : await manifestCase(seed, runDir, base);
          const k = name === 'parser' ? kindOf(o) : o.startsWith('accepted') ? 'accepted' : `refused: ${o.slice(9).replace(/\d+/g, 'N').slice(0, 60)}`;
          t.outcomes.set(k, (t.outcomes.get(k) ?? 0) + 1);
        } catch (err) {
          t.failures.push({ seed, error: (err as Error).message.slice(0, 300) });
          console.error(`FAIL ${name} seed ${seed}: ${(err as Error).message.slice(0, 200)}`);
        }
        t.cases++;
      }
      if (i % 500 === 0) console.error(`fuzz: ${i} cases, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const cpu = process.cpuUsage(cpu0);
  const sorted = (m: Map<string, number>) => Object.fromEntries([...m].sort((a, b) => b[1] - a[1]));
  const result = {
    schema: 'metavec.bench.fuzz/1',
    date,
    tool_version: TOOL_VERSION,
    machine: { nproc: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadavg_end: loadavg(), note: 'shared machine: wall time is not comparable, cases and CPU seconds are' },
    command: `node dist/bench/fuzz.js --seconds ${seconds} --seed ${seed0}`,
    seed_first: seed0,
    seed_last: seed0 + i - 1,
    wall_s: +((performance.now() - t0) / 1000).toFixed(1),
    cpu_s: +((cpu.user + cpu.system) / 1e6).toFixed(1),
    targets: Object.fromEntries(Object.entries(targets).map(([k, t]) => [k, { cases: t.cases, failures: t.failures, outcomes: sorted(t.outcomes) }])),
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`fuzz: ${i} seeds, parser ${targets.parser.cases} cases / ${targets.parser.failures.length} failures, manifest ${targets.manifest.cases} cases / ${targets.manifest.failures.length} failures, ${result.cpu_s} CPU s -> ${out}`);
  process.exitCode = targets.parser.failures.length + targets.manifest.failures.length > 0 ? 1 : 0;
}

await main();
