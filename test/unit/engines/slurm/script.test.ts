// The Slurm batch scripts (no Slurm needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arrayIndexList, batchScript, mpiBatchScript, shellQuote, validateSlurmJob, type SlurmJobOptions } from '../../../../src/engines/slurm/script.js';

const job: SlurmJobOptions = { jobName: 'mv', ntasks: 4, time: '00:10:00', modules: ['openmpi/4.1'], extra: ['--account=abc'], overcommit: true, dryRun: true, node: '/opt/node bin/node', entry: '/x/main.js' };

test('mpiBatchScript: #SBATCH header, module lines, overcommit settings, quoted srun line', () => {
  const s = mpiBatchScript(job, '/out/slurm', ['cluster', '--engine', 'mpi', '--input', "/d/it's"]);
  const lines = s.text.split('\n');
  for (const l of ['#SBATCH --job-name=mv', '#SBATCH --ntasks=4', '#SBATCH --time=00:10:00', '#SBATCH --overcommit', '#SBATCH --account=abc',
    '#SBATCH --output=/out/slurm/mv-%j.log', 'module load openmpi/4.1', 'export OMPI_MCA_mpi_yield_when_idle=1']) {
    assert.ok(lines.includes(l), l);
  }
  assert.ok(lines.includes(`srun --mpi=pmix --kill-on-bad-exit=1 --overcommit '/opt/node bin/node' /x/main.js cluster --engine mpi --input '/d/it'\\''s'`), s.text);
  assert.equal(s.logPattern, '/out/slurm/mv-%j.log');
});

test('batchScript: arrays use %A_%a logs and --array=0-(n-1)%max', () => {
  const s = batchScript({ ...job, maxParallel: 3 }, { what: 'x', ntasks: 1, array: 10, body: ['true'], logDir: '/l' });
  assert.match(s.text, /^#SBATCH --array=0-9%3$/m);
  assert.equal(s.logPattern, '/l/mv-%A_%a.log');
  assert.doesNotMatch(s.text, /overcommit/); // not an MPI step
});

test('batchScript: an index list (a resumed run\'s missing slices) becomes compressed ranges', () => {
  const s = batchScript({ ...job, maxParallel: 2 }, { what: 'x', ntasks: 1, array: [9, 0, 1, 2, 7, 10, 5], body: ['true'], logDir: '/l' });
  assert.match(s.text, /^#SBATCH --array=0-2,5,7,9-10%2$/m);
  assert.equal(s.logPattern, '/l/mv-%A_%a.log');
  assert.equal(arrayIndexList([4]), '4');
  assert.equal(arrayIndexList([]), '');
});

test('validateSlurmJob refuses values that would break or inject into the script', () => {
  assert.throws(() => validateSlurmJob({ ...job, time: '1h' }), /--time must look like/);
  assert.throws(() => validateSlurmJob({ ...job, jobName: 'a b' }), /--job-name/);
  assert.throws(() => validateSlurmJob({ ...job, modules: ['x; rm -rf /'] }), /not a module name/);
  assert.throws(() => validateSlurmJob({ ...job, extra: ['--comment=$(id)'] }), /--sbatch/);
  assert.throws(() => validateSlurmJob({ ...job, partition: 'p q' }), /partition/);
  assert.equal(shellQuote('plain/path-1.2'), 'plain/path-1.2');
  assert.equal(shellQuote('a b'), "'a b'");
});
