// The Phase 1 engine registry: the CLI's choice reaches the engine named, wherever its code lives.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { parseCommand } from '../../../src/cli/args.js';
import { PREP_OPTIONS, prepOptionsFrom } from '../../../src/cli/prep.js';
import { MetavecError } from '../../../src/errors.js';
import { runPrep, startPrep } from '../../../src/pipeline/prepEngines.js';
import { createProgress } from '../../../src/pipeline/progress.js';
import { makePairs, TempDir } from '../../helpers/fixtures.js';

const tmp = new TempDir();
after(() => tmp.remove());
const pairs = makePairs(300, 7);
const r1 = tmp.file('r1.fq', pairs.r1);
const r2 = tmp.file('r2.fq', pairs.r2);

function options(extra: string[]): ReturnType<typeof prepOptionsFrom> {
  const { values } = parseCommand('prep', ['-i', r1, '-I', r2, '-o', tmp.join(`out-${extra.join('-').replace(/[^a-z0-9]/gi, '')}`), '--quiet', ...extra], PREP_OPTIONS);
  return prepOptionsFrom('prep', values, createProgress({ quiet: true }));
}

test('prep engines: --engine slurm --dry-run returns the job scripts, whose metavec entry point exists', async () => {
  const opts = options(['--engine', 'slurm', '--dry-run', '--correct', '--slice-fragments', '100', '--batch-size', '50']);
  assert.equal(opts.engine.name, 'slurm');
  const r = await startPrep(opts);
  assert.ok('dryRun' in r, 'a dry run returns the scripts');
  for (const key of ['spectrum', 'spectrum-merge', 'prep', 'merge']) assert.match(r.dryRun, new RegExp(`^# ---- ${key}\\.sbatch$`, 'm'));
  const entry = /(\S+\/cli\/main\.js) prep-slice /.exec(r.dryRun)?.[1];
  assert.ok(entry, 'the array task runs metavec prep-slice');
  assert.ok(existsSync(entry), `${entry} exists`);
  await assert.rejects(runPrep(opts), (err: unknown) => err instanceof MetavecError && err.code === 'INTERNAL' && /--dry-run has no summary/.test(err.message));
});

test('prep engines: --engine ray runs the Ray engine (an unreachable Jobs API is its error), local is the default', async () => {
  const ray = options(['--engine', 'ray', '--ray-address', 'http://127.0.0.1:9']);
  assert.equal(ray.engine.name, 'ray');
  await assert.rejects(startPrep(ray), (err: unknown) => err instanceof MetavecError && /^ray: cannot reach the Jobs API at http:\/\/127\.0\.0\.1:9/.test(err.message));
  const local = options(['--threads', '1', '--no-correct']);
  assert.equal(local.engine.name, 'local');
  const s = await runPrep(local);
  assert.equal(s.fragmentsIn, 300);
  assert.ok(existsSync(s.manifest));
});
