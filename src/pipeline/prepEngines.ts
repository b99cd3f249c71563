import { MetavecError } from '../errors.js';
import type { PrepDryRun, PrepEngine, PrepEngineName, PrepOptions, PrepSummary } from './prepOptions.js';

/**
 * The engines of Phase 1 by name: the only file of pipeline/ that knows them. Each implements PrepEngine under
 * engines/<name>/ and is loaded when chosen (the Ray and Slurm clients are not loaded by a local run).
 */
const PREP_ENGINES: Record<PrepEngineName, () => Promise<PrepEngine>> = {
  local: async () => (await import('../engines/local/prepRun.js')).localPrepEngine,
  ray: async () => (await import('../engines/ray/prepJob.js')).rayPrepEngine,
  slurm: async () => (await import('../engines/slurm/prepJobs.js')).slurmPrepEngine,
};

/** Phase 1 on the engine the options name; a dry run (`--engine slurm --dry-run`) returns what would be submitted. */
export async function startPrep(opts: PrepOptions): Promise<PrepSummary | PrepDryRun> {
  const load = PREP_ENGINES[opts.engine.name] as (() => Promise<PrepEngine>) | undefined;
  if (!load) throw new MetavecError('INTERNAL', `prep: no engine '${String(opts.engine.name)}'`);
  return (await load()).run(opts);
}

/** Phase 1 to its summary (`metavec run`, the library): a dry run has none. */
export async function runPrep(opts: PrepOptions): Promise<PrepSummary> {
  const r = await startPrep(opts);
  if ('dryRun' in r) throw new MetavecError('INTERNAL', 'prep: --dry-run has no summary (the CLI prints the scripts)');
  return r;
}
