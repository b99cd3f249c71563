import { test } from 'node:test';
import { parserCase } from '../../helpers/fuzzers.js';

/**
 * Property-based fuzzing of the FASTQ/FASTA reader and parser (seeded; METAVEC_FUZZ_SEED / METAVEC_FUZZ_RUNS
 * reproduce or widen a run; bench/fuzz.ts runs the long version). Each case: a random valid file reads back
 * exactly under random chunkings; a mutated copy gives one outcome (the same records, or the same one-line
 * error naming file and record) for 1-byte, odd-sized, large and whole-file chunks; no other exception.
 */
const seed0 = Number(process.env.METAVEC_FUZZ_SEED ?? 20261122);
const runs = Number(process.env.METAVEC_FUZZ_RUNS ?? 150);

test(`reader + parser properties hold for ${runs} generated and mutated inputs (seed ${seed0})`, { timeout: 300_000 }, async () => {
  for (let i = 0; i < runs; i++) {
    const seed = seed0 + i;
    try {
      await parserCase(seed);
    } catch (err) {
      throw new Error(`fuzz case seed ${seed} (rerun: METAVEC_FUZZ_SEED=${seed} METAVEC_FUZZ_RUNS=1): ${(err as Error).message}`, { cause: err });
    }
  }
});
