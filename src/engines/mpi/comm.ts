/**
 * Typed collectives over MPI_COMM_WORLD for the mpi engine, on top of the byte-level binding. The one
 * reduction k-means needs, sumInRankOrder, is deterministic by construction: a reduce-scatter (alltoallv) in
 * which the owner of each slice adds the ranks' contributions in rank order, then an allgatherv of the slices.
 * MPI_Allreduce would be as fast but its summation order depends on the algorithm MPI picks for the message
 * size and rank count; here every element is ((v0 + v1) + v2) + ... on every run and every rank.
 */
import { loadMpiAddon, type MpiAddon } from './binding.js';

export interface RankInfo {
  rank: number;
  size: number;
  version: string;
  host: string;
}

/** Rows [start, end) of every rank: whole blocks of `blockRows`, ranks get floor(r*B/P) .. floor((r+1)*B/P). */
export function blockPartition(n: number, size: number, blockRows: number): { start: number; end: number }[] {
  const nBlocks = Math.ceil(n / blockRows);
  const out: { start: number; end: number }[] = [];
  for (let r = 0; r < size; r++) {
    const b0 = Math.floor((r * nBlocks) / size);
    const b1 = Math.floor(((r + 1) * nBlocks) / size);
    out.push({ start: Math.min(n, b0 * blockRows), end: Math.min(n, b1 * blockRows) });
  }
  return out;
}

let active: MpiComm | undefined;

/** Bytes a rank exchanged with the other ranks in one phase (payload only; what stays on the rank is not counted). */
export interface PhaseTraffic {
  sent: number;
  received: number;
  calls: number;
}

export class MpiComm {
  readonly rank: number;
  readonly size: number;
  readonly info: RankInfo;
  /** Bytes this rank sent through the collectives below (for the scaling measurements). */
  bytesSent = 0;
  /**
   * Payload bytes this rank sent to and received from other ranks, per phase (setPhase), counted per
   * collective as the algorithm-independent volume: alltoallv and gatherv count what goes to / comes from
   * other ranks, allgather(v) counts this rank's part once per other rank as sent and the others' parts as
   * received, bcast the message once per other rank at the root and once elsewhere, allreduce the vector
   * both ways.
   */
  readonly traffic: Record<string, PhaseTraffic> = {};
  private phase = 'other';
  private finalized = false;

  private constructor(private readonly mpi: MpiAddon) {
    this.info = mpi.init();
    this.rank = this.info.rank;
    this.size = this.info.size;
  }

  /**
   * MPI_Init once per process. A rank that exits with a non-zero status before finalize() calls MPI_Abort, so
   * the launcher (mpirun, srun) tears the whole job down instead of leaving the other ranks in a collective.
   */
  static world(): MpiComm {
    if (active) return active;
    const comm = new MpiComm(loadMpiAddon());
    active = comm;
    process.on('exit', (code) => {
      if (!comm.finalized && code !== 0) comm.mpi.abort(code);
    });
    return comm;
  }

  finalize(): void {
    if (this.finalized) return;
    this.finalized = true;
    this.mpi.finalize();
  }

  /** Name the phase the following collectives' bytes are counted under. */
  setPhase(name: string): void {
    this.phase = name;
  }

  private count(sent: number, received: number): void {
    const t = (this.traffic[this.phase] ??= { sent: 0, received: 0, calls: 0 });
    t.sent += sent;
    t.received += received;
    t.calls++;
  }

  barrier(): void {
    this.mpi.barrier();
  }

  wtime(): number {
    return this.mpi.wtime();
  }

  /** Element-wise sum over ranks, added in rank order (bitwise identical on every rank and every run). */
  sumInRankOrder(v: Float64Array): Float64Array {
    const P = this.size;
    if (P === 1) return Float64Array.from(v);
    const len = v.length;
    const cut = (j: number): number => Math.floor((j * len) / P);
    const counts = new Int32Array(P);
    for (let j = 0; j < P; j++) counts[j] = 8 * (cut(j + 1) - cut(j));
    this.bytesSent += 8 * len;
    const got = this.mpi.alltoallv(v, counts); // the binding sends exactly the view's bytes
    const mine = cut(this.rank + 1) - cut(this.rank);
    this.count(8 * len - 8 * mine, 8 * mine * (P - 1));
    const parts = new Float64Array(got.buffer);
    const acc = parts.slice(0, mine);
    for (let r = 1; r < P; r++) {
      const o = r * mine;
      for (let i = 0; i < mine; i++) acc[i] = acc[i]! + parts[o + i]!;
    }
    this.bytesSent += 8 * mine;
    const all = this.mpi.allgatherv(acc);
    this.count(8 * mine * (P - 1), 8 * len - 8 * mine);
    return new Float64Array(all.buffer);
  }

  /** Plain MPI_Allreduce(SUM) (MPI's own order; used where the values are integers, so order cannot matter). */
  allreduceSum(v: Float64Array): Float64Array {
    this.bytesSent += 8 * v.length;
    if (this.size > 1) this.count(8 * v.length, 8 * v.length);
    return new Float64Array(this.mpi.allreduceSum(v));
  }

  /** One value per rank, in rank order. */
  allgatherNumber(x: number): Float64Array {
    this.bytesSent += 8;
    this.count(8 * (this.size - 1), 8 * (this.size - 1));
    return new Float64Array(this.mpi.allgather(Float64Array.of(x)));
  }

  allgathervF64(v: Float64Array): { data: Float64Array; counts: number[] } {
    this.bytesSent += v.byteLength;
    const r = this.mpi.allgatherv(v);
    this.count(v.byteLength * (this.size - 1), r.buffer.byteLength - v.byteLength);
    return { data: new Float64Array(r.buffer), counts: Array.from(r.counts, (c) => c / 8) };
  }

  allgathervF32(v: Float32Array): { data: Float32Array; counts: number[] } {
    this.bytesSent += v.byteLength;
    const r = this.mpi.allgatherv(v);
    this.count(v.byteLength * (this.size - 1), r.buffer.byteLength - v.byteLength);
    return { data: new Float32Array(r.buffer), counts: Array.from(r.counts, (c) => c / 4) };
  }

  allgathervI32(v: Int32Array): { data: Int32Array; counts: number[] } {
    this.bytesSent += v.byteLength;
    const r = this.mpi.allgatherv(v);
    this.count(v.byteLength * (this.size - 1), r.buffer.byteLength - v.byteLength);
    return { data: new Int32Array(r.buffer), counts: Array.from(r.counts, (c) => c / 4) };
  }

  /** Concatenation (rank order) of every rank's bytes on `root`; null on the other ranks. */
  gathervBytes(v: ArrayBufferView, root: number): ArrayBuffer | null {
    this.bytesSent += v.byteLength;
    const r = this.mpi.gatherv(v, root);
    this.count(this.rank === root ? 0 : v.byteLength, r ? r.buffer.byteLength - v.byteLength : 0);
    return r ? r.buffer : null;
  }

  /** send[j]: the bytes for rank j; returns what every rank sent to this one, by source rank. */
  alltoallvBytes(send: Uint8Array[]): Uint8Array[] {
    const P = this.size;
    const counts = new Int32Array(P);
    let total = 0;
    for (let j = 0; j < P; j++) { counts[j] = send[j]!.byteLength; total += counts[j]!; }
    const buf = new Uint8Array(total);
    let o = 0;
    for (let j = 0; j < P; j++) { buf.set(send[j]!, o); o += send[j]!.byteLength; }
    this.bytesSent += total;
    const r = this.mpi.alltoallv(buf, counts);
    this.count(total - counts[this.rank]!, r.buffer.byteLength - r.counts[this.rank]!);
    const out: Uint8Array[] = [];
    let p = 0;
    for (let j = 0; j < P; j++) { out.push(new Uint8Array(r.buffer, p, r.counts[j])); p += r.counts[j]!; }
    return out;
  }

  /**
   * Personalised exchange of 32-bit words: `send` holds the words for rank 0, then rank 1, ... (`counts[j]`
   * words for rank j); returns what every rank sent to this one, by source rank in rank order.
   */
  alltoallvWords(send: Uint32Array, counts: Int32Array): { data: Uint32Array; counts: Int32Array } {
    const P = this.size;
    const bytes = new Int32Array(P);
    for (let j = 0; j < P; j++) bytes[j] = 4 * counts[j]!;
    this.bytesSent += send.byteLength;
    const r = this.mpi.alltoallv(send, bytes);
    this.count(send.byteLength - bytes[this.rank]!, r.buffer.byteLength - r.counts[this.rank]!);
    const got = new Int32Array(P);
    for (let j = 0; j < P; j++) got[j] = r.counts[j]! / 4;
    return { data: new Uint32Array(r.buffer), counts: got };
  }

  /** Root's `parts[j]` to rank j (the other ranks pass null); every rank returns its part. */
  scatterWords(parts: Uint32Array[] | null, root: number): Uint32Array {
    const P = this.size;
    const counts = new Int32Array(P);
    let send = new Uint32Array(0);
    if (this.rank === root) {
      if (!parts || parts.length !== P) throw new Error('scatterWords: the root needs one part per rank');
      let total = 0;
      for (let j = 0; j < P; j++) { counts[j] = parts[j]!.length; total += parts[j]!.length; }
      send = new Uint32Array(total);
      let o = 0;
      for (const p of parts) { send.set(p, o); o += p.length; }
    }
    return this.alltoallvWords(send, counts).data;
  }

  /** Rank `root`'s string on every rank. */
  bcastString(s: string, root: number): string {
    const bytes = this.rank === root ? new TextEncoder().encode(s) : new Uint8Array(0);
    const len = new Float64Array([bytes.length]);
    this.mpi.bcast(len, root);
    const buf = this.rank === root ? bytes : new Uint8Array(len[0]!);
    this.mpi.bcast(buf, root);
    if (this.size > 1) this.count(this.rank === root ? (8 + buf.length) * (this.size - 1) : 0, this.rank === root ? 0 : 8 + buf.length);
    return new TextDecoder().decode(buf);
  }

  abort(code: number): void {
    this.mpi.abort(code);
  }
}
