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

/**
 * Largest message of one collective call in the chunked exchanges (alltoallvWords, gathervPieces, scatterWords):
 * MPI counts are C ints (2 GiB per call). METAVEC_MPI_CHUNK_BYTES overrides the 256 MiB default (small values
 * exercise the multi-round path).
 */
export function mpiChunkBytes(): number {
  const v = Number(process.env.METAVEC_MPI_CHUNK_BYTES ?? '');
  return Number.isInteger(v) && v >= 64 && v <= 2 ** 30 ? v : 1 << 28;
}

/** Bytes a rank exchanged with the other ranks in one phase (payload only; what stays on the rank is not counted). */
export interface PhaseTraffic {
  sent: number;
  received: number;
  calls: number;
  /** wall seconds inside the collectives (transfer plus waiting for the other ranks) */
  seconds: number;
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

  private callStart = 0;

  /** Marks the start of a collective call (its time goes to the phase with the bytes). */
  private mark(): void {
    this.callStart = performance.now();
  }

  private count(sent: number, received: number): void {
    const t = (this.traffic[this.phase] ??= { sent: 0, received: 0, calls: 0, seconds: 0 });
    t.sent += sent;
    t.received += received;
    t.calls++;
    t.seconds += (performance.now() - this.callStart) / 1000;
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
    this.mark();
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
    this.mark();
    const all = this.mpi.allgatherv(acc);
    this.count(8 * mine * (P - 1), 8 * len - 8 * mine);
    return new Float64Array(all.buffer);
  }

  /** Plain MPI_Allreduce(SUM) (MPI's own order; used where the values are integers, so order cannot matter). */
  allreduceSum(v: Float64Array): Float64Array {
    this.bytesSent += 8 * v.length;
    this.mark();
    const r = new Float64Array(this.mpi.allreduceSum(v));
    if (this.size > 1) this.count(8 * v.length, 8 * v.length);
    return r;
  }

  /** One value per rank, in rank order. */
  allgatherNumber(x: number): Float64Array {
    this.bytesSent += 8;
    this.mark();
    const r = new Float64Array(this.mpi.allgather(Float64Array.of(x)));
    this.count(8 * (this.size - 1), 8 * (this.size - 1));
    return r;
  }

  allgathervF64(v: Float64Array): { data: Float64Array; counts: number[] } {
    this.bytesSent += v.byteLength;
    this.mark();
    const r = this.mpi.allgatherv(v);
    this.count(v.byteLength * (this.size - 1), r.buffer.byteLength - v.byteLength);
    return { data: new Float64Array(r.buffer), counts: Array.from(r.counts, (c) => c / 8) };
  }

  allgathervF32(v: Float32Array): { data: Float32Array; counts: number[] } {
    this.bytesSent += v.byteLength;
    this.mark();
    const r = this.mpi.allgatherv(v);
    this.count(v.byteLength * (this.size - 1), r.buffer.byteLength - v.byteLength);
    return { data: new Float32Array(r.buffer), counts: Array.from(r.counts, (c) => c / 4) };
  }

  allgathervI32(v: Int32Array): { data: Int32Array; counts: number[] } {
    this.bytesSent += v.byteLength;
    this.mark();
    const r = this.mpi.allgatherv(v);
    this.count(v.byteLength * (this.size - 1), r.buffer.byteLength - v.byteLength);
    return { data: new Int32Array(r.buffer), counts: Array.from(r.counts, (c) => c / 4) };
  }

  /** Concatenation (rank order) of every rank's bytes on `root`; null on the other ranks. */
  gathervBytes(v: ArrayBufferView, root: number): ArrayBuffer | null {
    this.bytesSent += v.byteLength;
    this.mark();
    const r = this.mpi.gatherv(v, root);
    this.count(this.rank === root ? 0 : v.byteLength, r ? r.buffer.byteLength - v.byteLength : 0);
    return r ? r.buffer : null;
  }

  /**
   * Every rank's bytes on `root`, one buffer per source rank (null on the other ranks), moved in rounds of at
   * most `chunk` bytes per rank: one MPI_Gatherv is limited to 2 GiB in total (int counts and displacements).
   */
  gathervPieces(v: ArrayBufferView, root: number, chunk = mpiChunkBytes()): Uint8Array[] | null {
    const P = this.size;
    const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    const lens = this.allgatherNumber(bytes.byteLength);
    let rounds = 1;
    for (const l of lens) rounds = Math.max(rounds, Math.ceil(l / chunk));
    const out = this.rank === root ? Array.from(lens, (l) => new Uint8Array(l)) : null;
    for (let i = 0; i < rounds; i++) {
      const piece = bytes.subarray(Math.min(bytes.byteLength, i * chunk), Math.min(bytes.byteLength, (i + 1) * chunk));
      this.bytesSent += piece.byteLength;
      this.mark();
      const r = this.mpi.gatherv(piece, root);
      this.count(this.rank === root ? 0 : piece.byteLength, r ? r.buffer.byteLength - piece.byteLength : 0);
      if (r && out) {
        let o = 0;
        for (let j = 0; j < P; j++) {
          if (r.counts[j]! > 0) out[j]!.set(new Uint8Array(r.buffer, o, r.counts[j]), i * chunk);
          o += r.counts[j]!;
        }
      }
    }
    return out;
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
    this.mark();
    const r = this.mpi.alltoallv(buf, counts);
    this.count(total - counts[this.rank]!, r.buffer.byteLength - r.counts[this.rank]!);
    const out: Uint8Array[] = [];
    let p = 0;
    for (let j = 0; j < P; j++) { out.push(new Uint8Array(r.buffer, p, r.counts[j])); p += r.counts[j]!; }
    return out;
  }

  /**
   * Personalised exchange of 32-bit words: `send` holds the words for rank 0, then rank 1, ... (`counts[j]`
   * words for rank j); returns what every rank sent to this one, by source rank in rank order. Moved in
   * rounds of at most `chunk` bytes per call (MPI's int counts and displacements: 2 GiB per call); the ranks
   * agree on the number of rounds first.
   */
  alltoallvWords(send: Uint32Array, counts: Int32Array, chunk = mpiChunkBytes()): { data: Uint32Array; counts: Int32Array } {
    const P = this.size;
    const per = Math.max(1, Math.floor(chunk / 4 / P));
    let rounds = 1;
    for (let j = 0; j < P; j++) rounds = Math.max(rounds, Math.ceil(counts[j]! / per));
    if (P > 1) rounds = Math.max(...this.allgatherNumber(rounds));
    const start = new Int32Array(P);
    for (let j = 1; j < P; j++) start[j] = start[j - 1]! + counts[j - 1]!;
    const pieces: Uint32Array[][] = Array.from({ length: P }, () => []);
    for (let i = 0; i < rounds; i++) {
      const rc = new Int32Array(P);
      for (let j = 0; j < P; j++) rc[j] = 4 * Math.max(0, Math.min(per, counts[j]! - i * per));
      let buf = send;
      if (rounds > 1) {
        buf = new Uint32Array(rc.reduce((a, c) => a + c / 4, 0));
        let o = 0;
        for (let j = 0; j < P; j++) {
          const from = start[j]! + i * per;
          buf.set(send.subarray(from, from + rc[j]! / 4), o);
          o += rc[j]! / 4;
        }
      }
      this.bytesSent += buf.byteLength;
      this.mark();
      const r = this.mpi.alltoallv(buf, rc);
      this.count(buf.byteLength - rc[this.rank]!, r.buffer.byteLength - r.counts[this.rank]!);
      let o = 0;
      for (let j = 0; j < P; j++) {
        pieces[j]!.push(new Uint32Array(r.buffer, o, r.counts[j]! / 4));
        o += r.counts[j]!;
      }
    }
    const got = new Int32Array(P);
    for (let j = 0; j < P; j++) got[j] = pieces[j]!.reduce((a, q) => a + q.length, 0);
    if (rounds === 1) {
      const only = pieces[0]![0]!;
      return { data: new Uint32Array(only.buffer, 0, only.buffer.byteLength / 4), counts: got };
    }
    const data = new Uint32Array(got.reduce((a, c) => a + c, 0));
    let o = 0;
    for (const list of pieces) for (const q of list) { data.set(q, o); o += q.length; }
    return { data, counts: got };
  }

  /**
   * Root's `parts[j]` to rank j (the other ranks pass null; every rank passes `lengths`, the parts' word
   * counts); every rank returns its part. In rounds of at most `chunk` bytes per call, for MPI's int counts.
   */
  scatterWords(parts: Uint32Array[] | null, lengths: number[], root: number, chunk = mpiChunkBytes()): Uint32Array {
    const P = this.size;
    if (this.rank === root && (!parts || parts.length !== P)) throw new Error('scatterWords: the root needs one part per rank');
    const per = Math.max(1, Math.floor(chunk / 4 / P));
    let rounds = 1;
    for (const l of lengths) rounds = Math.max(rounds, Math.ceil(l / per));
    const mine = new Uint32Array(lengths[this.rank]!);
    for (let i = 0; i < rounds; i++) {
      const counts = new Int32Array(P);
      let send = new Uint32Array(0);
      if (parts) {
        const pieces = parts.map((p) => p.subarray(Math.min(p.length, i * per), Math.min(p.length, (i + 1) * per)));
        send = new Uint32Array(pieces.reduce((a, p) => a + p.length, 0));
        let o = 0;
        pieces.forEach((p, j) => {
          counts[j] = p.length;
          send.set(p, o);
          o += p.length;
        });
      }
      const got = this.alltoallvWords(send, counts).data;
      if (got.length > 0) mine.set(got, i * per);
    }
    return mine;
  }

  /**
   * Rank `root`'s bytes on every rank (the others pass null), in rounds of at most `chunk` bytes per
   * MPI_Bcast (int counts: 2 GiB per call).
   */
  bcastBytes(v: Uint8Array | null, root: number, chunk = mpiChunkBytes()): Uint8Array {
    const isRoot = this.rank === root;
    if (isRoot && !v) throw new Error('bcastBytes: the root passed no bytes');
    const len = Float64Array.of(isRoot ? v!.byteLength : 0);
    this.mark();
    this.mpi.bcast(len, root);
    const out = isRoot ? v! : new Uint8Array(len[0]!);
    for (let o = 0; o < out.byteLength; o += chunk) this.mpi.bcast(out.subarray(o, Math.min(out.byteLength, o + chunk)), root);
    if (this.size > 1) this.count(isRoot ? (8 + out.byteLength) * (this.size - 1) : 0, isRoot ? 0 : 8 + out.byteLength);
    if (isRoot) this.bytesSent += out.byteLength;
    return out;
  }

  /** Rank `root`'s string on every rank. */
  bcastString(s: string, root: number): string {
    const bytes = this.rank === root ? new TextEncoder().encode(s) : new Uint8Array(0);
    const len = new Float64Array([bytes.length]);
    this.mark();
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
