import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readLabelsParquet } from '../../src/io/labels.js';
import { readClustersNetcdf } from '../../src/io/netcdf.js';
import { CLI } from './fixtures.js';
import { hasCommand, IN_CI, REPO_ROOT } from './tools.js';

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

/** `mpirun -n ranks metavec cluster --engine mpi --input ... --output ... --quiet --json ...extra`. */
export function mpiCluster(input: string, ranks: number, out: string, extra: string[], env: NodeJS.ProcessEnv = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('mpirun', [...mpirunArgs(ranks), process.execPath, CLI, 'cluster', '--engine', 'mpi', '--input', input, '--output', out, '--quiet', '--json', ...extra], {
    encoding: 'utf8', env: { ...MPI_ENV, ...env }, timeout: 240_000,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Same read ids, labels and distances in labels.parquet, same centroids and sizes in clusters.nc. */
export async function assertSameLabelsAndCentroids(localDir: string, mpiDir: string): Promise<void> {
  const la = await readLabelsParquet(join(localDir, 'labels.parquet'));
  const lb = await readLabelsParquet(join(mpiDir, 'labels.parquet'));
  assert.deepEqual(lb.readIds, la.readIds);
  assert.deepEqual(lb.clusters, la.clusters);
  assert.deepEqual(lb.distances, la.distances);
  const ca = await readClustersNetcdf(join(localDir, 'clusters.nc'));
  const cb = await readClustersNetcdf(join(mpiDir, 'clusters.nc'));
  assert.deepEqual(cb.centroids, ca.centroids);
  assert.deepEqual(cb.clusterSize, ca.clusterSize);
}

/**
 * A 2-rank `metavec cluster --engine mpi` job whose rank 1 is killed with SIGKILL once its stderr matches
 * `when` (rank 1's pid comes from its "mpi rank 1/2 pid N" line). Returns the job's exit code and stderr.
 */
export async function killRankOneWhen(args: string[], when: RegExp): Promise<{ code: number | null; stderr: string; killed: boolean }> {
  const child = spawn('mpirun', [...mpirunArgs(2), process.execPath, CLI, 'cluster', '--engine', 'mpi', ...args], { env: MPI_ENV });
  let stderr = '';
  let killed = false;
  child.stdout.resume();
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    stderr += s;
    const pid = /mpi rank 1\/2 pid (\d+)/.exec(stderr)?.[1];
    if (!killed && pid && when.test(stderr)) {
      killed = true;
      process.kill(Number(pid), 'SIGKILL');
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
  const code = await new Promise<number | null>((res) => child.on('close', res));
  clearTimeout(timer);
  return { code, stderr, killed };
}

/** A single-node Slurm of the test's own (scripts/slurm.sh, config in `dir`, ports from `portBase` and the pid). */
export class TestSlurm {
  conf: string | undefined;
  private readonly env: NodeJS.ProcessEnv;

  constructor(dir: string, portBase: number) {
    this.env = {
      ...process.env, METAVEC_SLURM_DIR: dir,
      METAVEC_SLURMCTLD_PORT: String(portBase + (process.pid % 9000)), METAVEC_SLURMD_PORT: String(portBase + 10000 + (process.pid % 9000)),
    };
  }

  /** Started (once) and usable: slurmctld, sbatch and the MPI binding present; in CI a failed start throws. */
  up(): boolean {
    if (this.conf) return true;
    if (!hasCommand('slurmctld') || !hasCommand('sbatch') || !mpiReady()) return false;
    const r = spawnSync('bash', [join(REPO_ROOT, 'scripts/slurm.sh'), 'start'], { encoding: 'utf8', env: this.env });
    if (r.status !== 0) {
      if (IN_CI) throw new Error(`scripts/slurm.sh start failed:\n${r.stderr}`);
      return false;
    }
    this.conf = /export SLURM_CONF=(\S+)/.exec(r.stdout)?.[1];
    return this.conf !== undefined;
  }

  /** Both daemons, by their recorded PIDs (before the directory is removed). */
  stop(): void {
    if (this.conf) spawnSync('bash', [join(REPO_ROOT, 'scripts/slurm.sh'), 'stop'], { env: this.env });
  }
}
