import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hasCommand, REPO_ROOT } from './tools.js';

/** The optional MPI binding as built by scripts/setup.sh (native/mpi). */
export const MPI_ADDON = join(REPO_ROOT, 'native/mpi/build/Release/metavec_mpi.node');

export function mpiReady(): boolean {
  return hasCommand('mpirun') && existsSync(MPI_ADDON);
}

/** mpirun for tests: root allowed (CI runs as root), more ranks than detected slots allowed. */
export function mpirunArgs(ranks: number): string[] {
  return ['-n', String(ranks), '--oversubscribe', ...(process.getuid?.() === 0 ? ['--allow-run-as-root'] : [])];
}

/** Ranks yield the CPU while waiting (the CI machine has 2 shared cores). */
export const MPI_ENV = { ...process.env, OMPI_MCA_mpi_yield_when_idle: '1' };
