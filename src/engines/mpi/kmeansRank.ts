/**
 * The mpi engine's KMeansExecutor: each rank holds a contiguous, block-aligned range of the global rows and
 * runs the same block operations as the local engine on them (BlockExecutor, in this rank's thread: one rank
 * per core). Every reduced vector is combined over ranks by MpiComm.sumInRankOrder; row-level answers (rows by
 * global index, k-means|| picks, farthest rows, D^2 sampling) are exchanged with allgatherv. The k-means
 * driver (src/cluster/kmeans.ts) and chooseK run unchanged on every rank, with identical results on all ranks.
 *
 * Labels and distances of labelsAndDistances() are gathered on rank 0 only (the writer); other ranks get
 * empty arrays (their length is 0, not n).
 */
import { MetavecError } from '../../errors.js';
import { BlockExecutor, placeMatrix, type RowShare } from '../../cluster/blockExecutor.js';
import { runBlockOp, Scratch, type BlockOp } from '../../cluster/blockOps.js';
import { InProcessExecutor } from '../../cluster/blockExecutor.js';
import { kmeans } from '../../cluster/kmeans.js';
import { BLOCK_ROWS } from '../../cluster/types.js';
import type {
  AssignStats, DataSummary, FarthestRows, IndependentKMeansJob, IndependentKMeansResult, KMeansExecutor, LabelsAndDistances,
} from '../../cluster/types.js';
import { blockPartition, type MpiComm } from './comm.js';
import { createLocalKMeansExecutor } from '../local/kmeansPool.js';

/** This rank's rows, in this thread; combine() goes over MPI. */
class RankRows extends BlockExecutor {
  private readonly scratch = new Scratch();

  constructor(x: Float32Array, n: number, d: number, share: RowShare) {
    const placed = placeMatrix(x, n, d, true);
    super(placed.x, n, d, (len) => new ArrayBuffer(len), placed.memory, share);
  }

  protected runAll(op: BlockOp): Promise<Int32Array[]> {
    const slot = this.slotStride(op, 1) >= 0 ? this.slotsStart : -1;
    const picked = runBlockOp(this.buf, this.scratch, op, 0, this.nBlocks, slot);
    return Promise.resolve(picked ? [picked] : []);
  }

}

export class MpiKMeansExecutor implements KMeansExecutor {
  readonly n: number;
  readonly d: number;
  readonly rowBase: number;
  readonly nLocal: number;
  private inner!: BlockExecutor & { runIndependent?: KMeansExecutor['runIndependent']; close?(): Promise<void> };

  /**
   * `local`: this rank's rows [start, end) of blockPartition(n, comm.size, BLOCK_ROWS), row-major float32.
   * Every rank must hold at least one row. threads > 1: the rank's blocks run on the local engine's worker
   * pool (same block order, same results).
   */
  static async create(comm: MpiComm, local: Float32Array, n: number, d: number, threads = 1): Promise<MpiKMeansExecutor> {
    const e = new MpiKMeansExecutor(comm, local, n, d);
    if (threads > 1) e.inner = await createLocalKMeansExecutor(local, e.nLocal, d, threads, e.share);
    return e;
  }

  private readonly share: RowShare;

  constructor(private readonly comm: MpiComm, local: Float32Array, n: number, d: number) {
    const part = blockPartition(n, comm.size, BLOCK_ROWS)[comm.rank]!;
    this.n = n;
    this.d = d;
    this.rowBase = part.start;
    this.nLocal = part.end - part.start;
    if (this.nLocal < 1) {
      throw new MetavecError('USAGE', `mpi: ${n} fragments make ${Math.ceil(n / BLOCK_ROWS)} block(s) of ${BLOCK_ROWS} rows, fewer than the ${comm.size} ranks: run with at most ${Math.ceil(n / BLOCK_ROWS)} rank(s)`);
    }
    if (local.length !== this.nLocal * d) {
      throw new MetavecError('INTERNAL', `mpi: rank ${comm.rank} holds ${local.length / d} rows, expected ${this.nLocal}`);
    }
    const share: RowShare = {
      rowBase: this.rowBase,
      nTotal: n,
      combine: (v) => comm.sumInRankOrder(v),
      minIndex: (v) => {
        let best = -1;
        for (const x of comm.allgatherNumber(v)) if (x >= 0 && (best < 0 || x < best)) best = x;
        return best;
      },
    };
    this.share = share;
    this.inner = new RankRows(local, this.nLocal, d, share);
  }

  /** Stop the rank's worker threads (if any). */
  async close(): Promise<void> {
    await this.inner.close?.();
  }

  prepare(): Promise<DataSummary> {
    return this.inner.prepare();
  }

  getRows(indices: Int32Array): Promise<Float32Array> {
    const { d, rowBase, nLocal } = this;
    const x = this.inner.rowsView();
    const pos: number[] = [];
    for (let i = 0; i < indices.length; i++) {
      const r = indices[i]!;
      if (r < 0 || r >= this.n) throw new MetavecError('INTERNAL', `mpi: getRows: row ${r} out of range`);
      if (r >= rowBase && r < rowBase + nLocal) pos.push(i);
    }
    const rows = new Float32Array(pos.length * d);
    pos.forEach((i, q) => {
      const lr = indices[i]! - rowBase;
      rows.set(x.subarray(lr * d, lr * d + d), q * d);
    });
    const allPos = this.comm.allgathervI32(Int32Array.from(pos)).data;
    const allRows = this.comm.allgathervF32(rows).data;
    const out = new Float32Array(indices.length * d);
    for (let q = 0; q < allPos.length; q++) out.set(allRows.subarray(q * d, q * d + d), allPos[q]! * d);
    return Promise.resolve(out);
  }

  seedUpdate(centers: Float32Array, m: number, reset: boolean): Promise<number> {
    return this.inner.seedUpdate(centers, m, reset);
  }

  /**
   * The local rule (first row whose cumulative D^2 exceeds t, walking blocks then rows) at rank granularity:
   * the owner is the first rank whose cumulative potential exceeds t; it searches its own blocks for t minus
   * the potential of the ranks before it.
   */
  async seedSample(targets: Float64Array): Promise<Int32Array> {
    const pots = this.comm.allgatherNumber(this.inner.localPotential());
    const P = this.comm.size;
    const mine: number[] = [];
    const local: number[] = [];
    for (let q = 0; q < targets.length; q++) {
      const t = targets[q]!;
      let r = 0;
      let cum = 0;
      while (r < P - 1 && cum + pots[r]! <= t) cum += pots[r++]!;
      if (r === this.comm.rank) { mine.push(q); local.push(t - cum); }
    }
    const picks = new Float64Array(targets.length);
    if (mine.length > 0) {
      const got = await this.inner.seedSample(Float64Array.from(local));
      mine.forEach((q, i) => { picks[q] = got[i]! + this.rowBase; });
    }
    // Exactly one rank owns each target and the others add 0: an exact integer sum.
    const all = this.comm.allreduceSum(picks);
    return Int32Array.from(all);
  }

  seedTrial(candidates: Float32Array, m: number): Promise<Float64Array> {
    return this.inner.seedTrial(candidates, m);
  }

  async seedBernoulli(seed: number, l: number, phi: number): Promise<Int32Array> {
    const local = await this.inner.seedBernoulli(seed, l, phi);
    for (let i = 0; i < local.length; i++) local[i] = local[i]! + this.rowBase;
    // Ranks hold increasing row ranges: rank order is increasing row order.
    return this.comm.allgathervI32(local).data;
  }

  countNearest(centers: Float32Array, m: number): Promise<Float64Array> {
    return this.inner.countNearest(centers, m);
  }

  assign(centroids: Float32Array, k: number, first: boolean): Promise<AssignStats> {
    return this.inner.assign(centroids, k, first);
  }

  async farthest(count: number): Promise<FarthestRows> {
    const f = await this.inner.farthest(count);
    for (let i = 0; i < f.rows.length; i++) f.rows[i] = f.rows[i]! + this.rowBase;
    const rows = this.comm.allgathervI32(f.rows).data;
    const labels = this.comm.allgathervI32(f.labels).data;
    const dist2 = this.comm.allgathervF64(f.dist2).data;
    const order = Array.from(rows.keys()).sort((a, b) => dist2[b]! - dist2[a]! || rows[a]! - rows[b]!).slice(0, Math.min(count, this.n));
    return {
      rows: Int32Array.from(order, (i) => rows[i]!),
      labels: Int32Array.from(order, (i) => labels[i]!),
      dist2: Float64Array.from(order, (i) => dist2[i]!),
    };
  }

  async labelsAndDistances(centroids: Float32Array, k: number): Promise<LabelsAndDistances> {
    const r = await this.inner.labelsAndDistances(centroids, k);
    const labels = this.comm.gathervBytes(r.labels, 0);
    const distances = this.comm.gathervBytes(r.distances, 0);
    return {
      labels: labels ? new Int32Array(labels) : new Int32Array(0),
      distances: distances ? new Float32Array(distances) : new Float32Array(0),
      clusterSize: r.clusterSize,
      inertia: r.inertia,
    };
  }

  /**
   * chooseK's independent problems: job j runs on rank j mod P (in-process, as the sequential reference), and
   * the results are exchanged, so every rank returns the same list.
   */
  async runIndependent(jobs: IndependentKMeansJob[], onDone?: (index: number) => void): Promise<IndependentKMeansResult[]> {
    const P = this.comm.size;
    const mineIdx: number[] = [];
    for (let j = this.comm.rank; j < jobs.length; j += P) mineIdx.push(j);
    let mine: IndependentKMeansResult[];
    if (this.inner.runIndependent) {
      // the rank's worker threads (each result equals the sequential in-process run by contract)
      mine = await this.inner.runIndependent(mineIdx.map((j) => jobs[j]!));
    } else {
      const execs = new Map<Float32Array, InProcessExecutor>();
      mine = [];
      for (const j of mineIdx) {
        const job = jobs[j]!;
        let e = execs.get(job.data);
        if (!e) { e = new InProcessExecutor(job.data, job.n, job.d); execs.set(job.data, e); }
        const res = await kmeans(e, job.opts);
        mine.push(job.labels ? { inertia: res.inertia, labels: res.labels } : { inertia: res.inertia });
      }
    }
    const out: number[] = [];
    mineIdx.forEach((j, q) => {
      const res = mine[q]!;
      const labels = jobs[j]!.labels && res.labels ? res.labels : undefined;
      out.push(j, res.inertia, labels ? labels.length : 0);
      if (labels) for (const l of labels) out.push(l);
    });
    const all = this.comm.allgathervF64(Float64Array.from(out)).data;
    const results: IndependentKMeansResult[] = new Array<IndependentKMeansResult>(jobs.length);
    for (let p = 0; p < all.length;) {
      const j = all[p]!;
      const inertia = all[p + 1]!;
      const nl = all[p + 2]!;
      results[j] = nl > 0 ? { inertia, labels: Int32Array.from(all.subarray(p + 3, p + 3 + nl)) } : { inertia };
      p += 3 + nl;
    }
    for (let j = 0; j < jobs.length; j++) if (!results[j]) throw new MetavecError('INTERNAL', `mpi: chooseK job ${j} has no result`);
    // progress: every job is known done after the exchange (the ranks' runs are not reported one by one)
    if (onDone) for (let j = jobs.length - 1; j >= 0; j--) onDone(j);
    return results;
  }
}
