/**
 * Local k-means engine: a KMeansExecutor whose rows live in SharedArrayBuffers shared with a piscina pool of
 * worker threads. Each operation is split into contiguous ranges of fixed-size blocks; workers write one
 * partial per block into a shared buffer and the main thread reduces them in block order (BlockExecutor), so
 * results are bitwise identical for any thread count.
 */
import { Piscina } from 'piscina';
import { MetavecError } from '../../errors.js';
import { BlockExecutor, checkShape } from '../../cluster/blockExecutor.js';
import type { BlockOp } from '../../cluster/blockOps.js';
import type { KMeansExecutor } from '../../cluster/types.js';
import type { KMeansTask, SharedRowBuffers } from './kmeansWorker.js';

let nextId = 1;

/** Tasks per thread and operation (load balancing; has no effect on results). */
const TASKS_PER_THREAD = 4;

class LocalKMeansExecutor extends BlockExecutor {
  private readonly id = nextId++;
  private readonly xShared: SharedArrayBuffer;
  private readonly xByteOffset: number;

  constructor(x: Float32Array, n: number, d: number, private readonly pool: Piscina, private readonly threads: number) {
    super(x, n, d, (len) => new SharedArrayBuffer(len));
    this.xShared = x.buffer as SharedArrayBuffer;
    this.xByteOffset = x.byteOffset;
  }

  private shared(): SharedRowBuffers {
    const b = this.buf;
    return {
      x: this.xShared,
      xByteOffset: this.xByteOffset,
      n: this.n,
      d: this.d,
      xNorms: b.xNorms.buffer as SharedArrayBuffer,
      labels: b.labels.buffer as SharedArrayBuffer,
      dist2: b.dist2.buffer as SharedArrayBuffer,
      closest: b.closest.buffer as SharedArrayBuffer,
      part: b.part.buffer as SharedArrayBuffer,
    };
  }

  protected async runAll(op: BlockOp): Promise<Int32Array[]> {
    const nTasks = Math.min(this.nBlocks, this.threads * TASKS_PER_THREAD);
    const per = Math.ceil(this.nBlocks / nTasks);
    const buffers = this.shared();
    const jobs: Promise<Int32Array | null>[] = [];
    for (let b0 = 0; b0 < this.nBlocks; b0 += per) {
      const task: KMeansTask = { id: this.id, buffers, op, b0, b1: Math.min(this.nBlocks, b0 + per) };
      jobs.push(this.pool.run(task) as Promise<Int32Array | null>);
    }
    const out = await Promise.all(jobs);
    return out.filter((p): p is Int32Array => p !== null);
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}

/**
 * Executor over `data` (row-major n*d float32) using `threads` worker threads. The matrix is used in place when
 * it already lives in a SharedArrayBuffer, otherwise it is copied once into one.
 */
export async function createLocalKMeansExecutor(
  data: Float32Array, n: number, d: number, threads: number,
): Promise<KMeansExecutor & { close(): Promise<void> }> {
  checkShape(data, n, d);
  if (!Number.isInteger(threads) || threads < 1) {
    throw new MetavecError('USAGE', `kmeans: threads must be an integer >= 1 (got ${threads})`);
  }
  let x = data;
  if (!(data.buffer instanceof SharedArrayBuffer)) {
    x = new Float32Array(new SharedArrayBuffer(4 * n * d));
    x.set(data);
  }
  const pool = new Piscina({
    filename: new URL('./kmeansWorker.js', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 60_000,
  });
  const exec = new LocalKMeansExecutor(x, n, d, pool, threads);
  // Row norms, column statistics and the non-finite check, once (cached by prepare()).
  await exec.prepare();
  return exec;
}
