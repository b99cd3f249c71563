/**
 * The collectives a Phase 2 method is written over (DESIGN.md "Scale contract"): a method calls these and
 * nothing else to combine the work of its ranks, so the same code runs on one process (`localCollectives`,
 * size 1, every operation the identity), on P simulated ranks in one process (loopbackCollectives.ts, for unit
 * tests) and on MPI ranks (src/engines/mpi/collectives.ts). Every rank calls the same operations in the same
 * order; results are deterministic (sums in rank order, pieces by source rank), so labels do not depend on P.
 *
 * Payloads are bytes (pack/unpack below carry several typed arrays in one message); sums are float64.
 */
export interface Collectives {
  readonly rank: number;
  readonly size: number;
  /** Element-wise sum over ranks, added in rank order ((v0 + v1) + v2 ...): the same bits on every rank and run. */
  sum(v: Float64Array): Promise<Float64Array>;
  /** Every rank's bytes on `root`, by source rank; null on the other ranks. */
  gather(v: Uint8Array, root: number): Promise<Uint8Array[] | null>;
  /** Every rank's bytes on every rank, by source rank. */
  allGather(v: Uint8Array): Promise<Uint8Array[]>;
  /** `root`'s bytes on every rank (the other ranks pass null). */
  broadcast(v: Uint8Array | null, root: number): Promise<Uint8Array>;
  /** All-to-all by owner: send[j] goes to rank j; returns what every rank sent to this one, by source rank. */
  allToAll(send: Uint8Array[]): Promise<Uint8Array[]>;
  barrier(): Promise<void>;
  /** Names the phase the following calls' traffic is counted under (for reports; no effect on results). */
  phase(name: string): void;
  /** Payload bytes exchanged with other ranks per phase, where the implementation counts them. */
  traffic?(): Record<string, { sent: number; received: number; calls: number; seconds: number }>;
}

/** One process: rank 0 of 1, every collective the identity (copies, so callers may reuse their buffers). */
export const localCollectives: Collectives = {
  rank: 0,
  size: 1,
  sum: (v) => Promise.resolve(Float64Array.from(v)),
  gather: (v) => Promise.resolve([v.slice()]),
  allGather: (v) => Promise.resolve([v.slice()]),
  broadcast: (v) => {
    if (!v) return Promise.reject(new Error('collectives: broadcast: the root passed no bytes'));
    return Promise.resolve(v.slice());
  },
  allToAll: (send) => {
    if (send.length !== 1) return Promise.reject(new Error(`collectives: allToAll: ${send.length} parts for 1 rank`));
    return Promise.resolve([send[0]!.slice()]);
  },
  barrier: () => Promise.resolve(),
  phase: () => undefined,
};

type Packable = Float64Array | Float32Array | Int32Array | Uint32Array | Uint8Array;

const pad8 = (x: number): number => (x + 7) & ~7;

/**
 * Several typed arrays in one message: a header (count, then each array's byte length, as uint32), then the
 * arrays, each starting at a multiple of 8 bytes so that they can be viewed in place after unpack().
 */
export function pack(arrays: Packable[]): Uint8Array {
  const head = pad8(4 * (1 + arrays.length));
  let total = head;
  for (const a of arrays) total += pad8(a.byteLength);
  const out = new Uint8Array(total);
  const h = new Uint32Array(out.buffer, 0, 1 + arrays.length);
  h[0] = arrays.length;
  let o = head;
  arrays.forEach((a, i) => {
    h[1 + i] = a.byteLength;
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), o);
    o += pad8(a.byteLength);
  });
  return out;
}

/** The arrays of a pack() message, as byte views (copied once if the message is not 8-byte aligned). */
export function unpack(msg: Uint8Array): Uint8Array[] {
  const m = msg.byteOffset % 8 === 0 ? msg : msg.slice();
  if (m.byteLength < 4) throw new Error(`collectives: message of ${m.byteLength} bytes has no header`);
  const count = new Uint32Array(m.buffer, m.byteOffset, 1)[0]!;
  if (m.byteLength < 4 * (1 + count)) throw new Error(`collectives: message of ${m.byteLength} bytes is shorter than its header (${count} arrays)`);
  const h = new Uint32Array(m.buffer, m.byteOffset, 1 + count);
  const out: Uint8Array[] = [];
  let o = pad8(4 * (1 + count));
  for (let i = 0; i < count; i++) {
    const len = h[1 + i]!;
    if (o + len > m.byteLength) throw new Error(`collectives: array ${i} (${len} bytes at ${o}) runs past the message's ${m.byteLength} bytes`);
    out.push(new Uint8Array(m.buffer, m.byteOffset + o, len));
    o += pad8(len);
  }
  return out;
}

/** Typed views of unpacked bytes (8-byte aligned by pack). */
export const asF64 = (b: Uint8Array): Float64Array => new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
export const asF32 = (b: Uint8Array): Float32Array => new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
export const asI32 = (b: Uint8Array): Int32Array => new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4);
export const asU32 = (b: Uint8Array): Uint32Array => new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4);
