import type { Collectives } from './collectives.js';

/**
 * P simulated ranks in one process (for unit tests of code written over Collectives): `loopbackCollectives(P)`
 * returns one handle per rank; run the rank code as P concurrent async tasks, one per handle. Each collective
 * waits until every rank has called it (a rendezvous per call number), then hands each rank its result, with
 * the same semantics (copies, rank order) as the MPI implementation. A rank calling another operation than
 * the others at the same point is an error, as it would be a deadlock or garbage under MPI.
 */
interface Call {
  op: string;
  inputs: unknown[];
  arrived: number;
  resolve: ((r: unknown) => void)[];
  reject: ((e: unknown) => void)[];
}

class Rendezvous {
  private readonly calls = new Map<number, Call>();
  private failed: Error | undefined;

  constructor(readonly size: number) {}

  /** Rank `rank`'s contribution to call number `seq`; `combine` runs once, when the last rank arrives. */
  exchange<T, R>(seq: number, rank: number, op: string, input: T, combine: (inputs: T[]) => R[]): Promise<R> {
    if (this.failed) return Promise.reject(this.failed);
    let c = this.calls.get(seq);
    if (!c) {
      c = { op, inputs: new Array<unknown>(this.size), arrived: 0, resolve: [], reject: [] };
      this.calls.set(seq, c);
    }
    if (c.op !== op) {
      const err = new Error(`loopback collectives: call ${seq}: rank ${rank} called ${op} where another rank called ${c.op}`);
      this.fail(err);
      return Promise.reject(err);
    }
    const call = c;
    return new Promise<R>((resolve, reject) => {
      call.inputs[rank] = input;
      call.resolve[rank] = resolve as (r: unknown) => void;
      call.reject[rank] = reject;
      if (++call.arrived < this.size) return;
      this.calls.delete(seq);
      try {
        const out = combine(call.inputs as T[]);
        out.forEach((r, j) => call.resolve[j]!(r));
      } catch (err) {
        call.reject.forEach((rj) => rj(err));
      }
    });
  }

  /** A failed call fails every pending and later call (the other ranks would otherwise wait forever). */
  fail(err: unknown): void {
    this.failed = err instanceof Error ? err : new Error(String(err));
    for (const c of this.calls.values()) c.reject.forEach((rj) => rj?.(err));
    this.calls.clear();
  }
}

export function loopbackCollectives(size: number): Collectives[] {
  if (!Number.isInteger(size) || size < 1) throw new Error(`loopback collectives: size must be a positive integer, got ${size}`);
  const hub = new Rendezvous(size);
  return Array.from({ length: size }, (_, rank): Collectives => {
    let seq = 0;
    const x = <T, R>(op: string, input: T, combine: (inputs: T[]) => R[]): Promise<R> => hub.exchange(seq++, rank, op, input, combine);
    const all = <R>(r: (j: number) => R): R[] => Array.from({ length: size }, (_, j) => r(j));
    return {
      rank,
      size,
      sum: (v) =>
        x('sum', v.slice(), (vs) => {
          const len = vs[0]!.length;
          for (const u of vs) if (u.length !== len) throw new Error(`loopback collectives: sum of vectors of ${len} and ${u.length} values`);
          const acc = vs[0]!.slice();
          for (let r = 1; r < size; r++) for (let i = 0; i < len; i++) acc[i] = acc[i]! + vs[r]![i]!;
          return all(() => acc.slice());
        }),
      gather: (v, root) => x(`gather(${root})`, v.slice(), (vs) => all((j) => (j === root ? vs.map((u) => u.slice()) : null))),
      allGather: (v) => x('allGather', v.slice(), (vs) => all(() => vs.map((u) => u.slice()))),
      broadcast: (v, root) =>
        x(`broadcast(${root})`, v ? v.slice() : null, (vs) => {
          const m = vs[root];
          if (!m) throw new Error(`loopback collectives: broadcast: the root (rank ${root}) passed no bytes`);
          return all(() => m.slice());
        }),
      allToAll: (send) =>
        x('allToAll', send.map((u) => u.slice()), (ss) => {
          ss.forEach((s, r) => {
            if (s.length !== size) throw new Error(`loopback collectives: allToAll: rank ${r} sent ${s.length} parts for ${size} ranks`);
          });
          return all((j) => ss.map((s) => s[j]!.slice()));
        }),
      barrier: () => x('barrier', null, () => all(() => undefined)),
      phase: () => undefined,
    };
  });
}
