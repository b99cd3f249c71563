import { test, after } from 'node:test';
import { join } from 'node:path';
import { makeRunDir, manifestCase } from '../../helpers/fuzzers.js';
import { TempDir } from '../../helpers/fixtures.js';

/**
 * Property-based fuzzing of the manifest reader (seeded, see seqParser.fuzz.test.ts for the knobs): a mutated
 * manifest (wrong types, odd numbers, hostile paths: `..`, absolute, symlinks out of the run, NUL, backslashes,
 * duplicates, truncated JSON) is refused with a one-line MANIFEST error or accepted with every path inside the
 * run directory after resolving symlinks.
 */
const seed0 = Number(process.env.METAVEC_FUZZ_SEED ?? 20261122);
const runs = Number(process.env.METAVEC_FUZZ_RUNS ?? 500);
const tmp = new TempDir('metavec-fuzz-manifest-');
after(() => tmp.remove());

test(`manifest reader properties hold for ${runs} mutated manifests (seed ${seed0})`, { timeout: 300_000 }, async () => {
  const dir = join(tmp.path, 'run');
  const base = makeRunDir(dir);
  const outcomes = new Map<string, number>();
  for (let i = 0; i < runs; i++) {
    const seed = seed0 + i;
    try {
      const o = await manifestCase(seed, dir, base);
      const kind = o.startsWith('accepted') ? 'accepted' : 'refused';
      outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
    } catch (err) {
      throw new Error(`fuzz case seed ${seed} (rerun: METAVEC_FUZZ_SEED=${seed} METAVEC_FUZZ_RUNS=1): ${(err as Error).message}`, { cause: err });
    }
  }
  // both branches must be exercised, or the generator is not testing anything
  if (runs >= 100 && (!outcomes.get('accepted') || !outcomes.get('refused'))) throw new Error(`one-sided outcomes: ${JSON.stringify([...outcomes])}`);
});
