/**
 * Loads the optional MPI binding (native/mpi, built by `scripts/setup.sh` when `mpicc` exists) on first use.
 * Nothing else in metavec needs it: without it only `--engine mpi` fails, with a message saying how to build it.
 */
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MetavecError } from '../../errors.js';

/** The addon's raw surface (native/mpi/src/binding.cc). Byte-level buffers; counts are bytes. */
export interface MpiAddon {
  init(): { rank: number; size: number; version: string; host: string };
  finalize(): void;
  rank(): number;
  size(): number;
  barrier(): void;
  allreduceSum(v: Float64Array): ArrayBuffer;
  bcast(v: ArrayBufferView, root: number): void;
  allgather(v: ArrayBufferView): ArrayBuffer;
  allgatherv(v: ArrayBufferView): { buffer: ArrayBuffer; counts: Int32Array };
  gatherv(v: ArrayBufferView, root: number): { buffer: ArrayBuffer; counts: Int32Array } | null;
  alltoallv(v: ArrayBufferView, sendCounts: Int32Array): { buffer: ArrayBuffer; counts: Int32Array };
  abort(code: number): void;
  wtime(): number;
}

/** Where the addon is looked for: $METAVEC_MPI_ADDON, else native/mpi/build/Release in this checkout. */
export function mpiAddonPath(): string {
  return process.env.METAVEC_MPI_ADDON
    ?? fileURLToPath(new URL('../../../../native/mpi/build/Release/metavec_mpi.node', import.meta.url));
}

let cached: MpiAddon | undefined;

export function loadMpiAddon(): MpiAddon {
  if (cached) return cached;
  const path = mpiAddonPath();
  if (!existsSync(path)) {
    throw new MetavecError(
      'USAGE',
      `mpi: the MPI binding is not built (${path} missing): install an MPI (Debian: openmpi-bin libopenmpi-dev) and run 'bash scripts/setup.sh' (or 'npm install' in native/mpi)`,
    );
  }
  const mod = { exports: {} as unknown };
  try {
    // RTLD_GLOBAL: some MPI builds load their transport plugins with dlopen and need libmpi's symbols global.
    process.dlopen(mod, path, constants.dlopen.RTLD_NOW | constants.dlopen.RTLD_GLOBAL);
  } catch (err) {
    throw new MetavecError('USAGE', `mpi: cannot load the MPI binding ${path}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  cached = mod.exports as MpiAddon;
  return cached;
}
