/**
 * Local k-means engine: a KMeansExecutor whose rows live in SharedArrayBuffers shared with a piscina pool of
 * worker threads. Each operation is split into contiguous ranges of fixed-size blocks; workers write one
 * partial per block into a shared buffer and the main thread reduces them in block order (BlockExecutor), so
 * results are bitwise identical for any thread count.
 */
import type { Piscina } from 'piscina';
import { MetavecError } from '../../errors.js';
import { WORKER_ATTEMPTS } from './retry.js';
import { workerPool } from './threadPool.js';
import { BlockExecutor, checkShape, placeMatrix, type RowShare } from '../../cluster/blockExecutor.js';
import type { BlockOp } from '../../cluster/blockOps.js';
import type { IndependentKMeansJob, IndependentKMeansResult, KMeansExecutor } from '../../cluster/types.js';
import type { WasmMemory } from '../../cluster/wasm/index.js';
import type { IndependentRunTask, KMeansTask, SharedRowBuffers } from './kmeansWorker.js';

let nextId = 1;
/** Ids of the matrices of runIndependent jobs (workers cache an executor per id). */
const dataIds = new WeakMap<Float32Array, { id: number; shared: Float32Array }>();
let nextDataId = 1;

/** Tasks per thread and operation (load balancing; has no effect on results). */
const TASKS_PER_THREAD = 4;

/**
 * Retries a task whose worker thread failed (WORKER_ATTEMPTS in all), then fails with one clear error. Safe:
 * a block task rewrites the same partial slots and label ranges from the same inputs.
 */
async function retryTask<T>(what: string, run: () => Promise<T>): Promise<T> {
  let last: unknown;
  for (let i = 0; i < WORKER_ATTEMPTS; i++) {
    try {
      return await run();
    } catch (err) {
      if (err instanceof MetavecError && err.code !== 'INTERNAL') throw err;
      last = err;
    }
  }
  throw new MetavecError('INTERNAL', `${what}: the worker thread failed ${WORKER_ATTEMPTS} times; last error: ${String((last as Error)?.message ?? last).split('\n')[0]}`, { cause: last });
}

class LocalKMeansExecutor extends BlockExecutor {
  private readonly id = nextId++;
  private readonly xShared: SharedArrayBuffer;
  private readonly xByteOffset: number;
  private gen = 0;
  private lastPart: SharedArrayBuffer | undefined;

  constructor(
    x: Float32Array, n: number, d: number, private readonly pool: Piscina, private readonly threads: number, wasmMemory?: WasmMemory,
    share?: RowShare,
  ) {
    super(x, n, d, (len) => new SharedArrayBuffer(len), wasmMemory, share);
    this.xShared = x.buffer as SharedArrayBuffer;
    this.xByteOffset = x.byteOffset;
  }

  private shared(): SharedRowBuffers {
    const b = this.buf;
    if (b.part.buffer !== this.lastPart) { this.lastPart = b.part.buffer as SharedArrayBuffer; this.gen++; }
    return {
      gen: this.gen,
      wasmMemory: b.wasmMemory,
      x: this.xShared,
      xByteOffset: this.xByteOffset,
      n: this.n,
      d: this.d,
      xNorms: b.xNorms.buffer as SharedArrayBuffer,
      labels: b.labels.buffer as SharedArrayBuffer,
      dist2: b.dist2.buffer as SharedArrayBuffer,
      closest: b.closest.buffer as SharedArrayBuffer,
      lower: b.lower.buffer as SharedArrayBuffer,
      part: b.part.buffer as SharedArrayBuffer,
    };
  }

  protected async runAll(op: BlockOp): Promise<Int32Array[]> {
    const nTasks = Math.min(this.nBlocks, this.threads * TASKS_PER_THREAD);
    const per = Math.ceil(this.nBlocks / nTasks);
    const buffers = this.shared();
    const stride = this.slotStride(op, Math.ceil(this.nBlocks / per));
    const jobs: Promise<Int32Array | null>[] = [];
    for (let b0 = 0, t = 0; b0 < this.nBlocks; b0 += per, t++) {
      const slot = stride >= 0 ? this.slotsStart + t * stride : -1;
      const task: KMeansTask = { id: this.id, buffers, op, b0, b1: Math.min(this.nBlocks, b0 + per), slot };
      jobs.push(retryTask(`k-means ${op.op} blocks ${task.b0}..${task.b1}`, () => this.pool.run(task) as Promise<Int32Array | null>));
    }
    const out = await Promise.all(jobs);
    return out.filter((p): p is Int32Array => p !== null);
  }

  /** chooseK's independent runs: one piscina task per job (each worker runs it with an in-process executor). */
  async runIndependent(jobs: IndependentKMeansJob[], onDone?: (index: number) => void): Promise<IndependentKMeansResult[]> {
    return Promise.all(jobs.map(async (j, index) => {
      let e = dataIds.get(j.data);
      if (!e) {
        let shared = j.data;
        if (!(shared.buffer instanceof SharedArrayBuffer)) {
          shared = new Float32Array(new SharedArrayBuffer(4 * j.data.length));
          shared.set(j.data);
        }
        e = { id: nextDataId++, shared };
        dataIds.set(j.data, e);
      }
      const task: IndependentRunTask = {
        kind: 'kmeans', dataId: e.id, data: e.shared.buffer as SharedArrayBuffer, byteOffset: e.shared.byteOffset,
        n: j.n, d: j.d, opts: j.opts, labels: j.labels,
      };
      const r = await retryTask(`k-means run (k=${j.opts.k})`, () => this.pool.run(task) as Promise<IndependentKMeansResult>);
      onDone?.(index);
      return r;
    }));
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}

/**
 * Executor over `data` (row-major n*d float32) using `threads` worker threads. The matrix is used in place when
 * it already lives in a SharedArrayBuffer (with the WASM kernel: in place and copy-free when it comes from
 * allocateKMeansMatrix; any other shared matrix makes the WASM kernel copy each chunk of rows it reads),
 * otherwise it is copied once (into a shared WebAssembly memory with the WASM kernel).
 */
export async function createLocalKMeansExecutor(
  data: Float32Array, n: number, d: number, threads: number, share?: RowShare,
): Promise<BlockExecutor & Required<Pick<KMeansExecutor, 'runIndependent'>> & { close(): Promise<void> }> {
  checkShape(data, n, d);
  if (!Number.isInteger(threads) || threads < 1) {
    throw new MetavecError('USAGE', `kmeans: threads must be an integer >= 1 (got ${threads})`);
  }
  const shared = data.buffer instanceof SharedArrayBuffer;
  const placed = placeMatrix(data, n, d, !shared);
  let x = placed.x;
  if (!(x.buffer instanceof SharedArrayBuffer)) {
    x = new Float32Array(new SharedArrayBuffer(4 * n * d));
    x.set(data);
  }
  const pool = workerPool(new URL('./kmeansWorker.js', import.meta.url).href, threads, 60_000);
  const exec = new LocalKMeansExecutor(x, n, d, pool, threads, placed.memory, share);
  // Row norms, column statistics and the non-finite check, once (cached by prepare()); with a share (MPI
  // ranks) prepare() is collective, so the caller runs it on every rank.
  if (!share) await exec.prepare();
  return exec;
}
