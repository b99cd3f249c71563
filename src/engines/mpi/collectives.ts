/**
 * The Collectives of src/cluster/collectives.ts over MPI_COMM_WORLD (MpiComm): what a method written over the
 * collectives (the coverage-normalised graph, src/pipeline/phase2Normalized.ts) exchanges between MPI ranks.
 * Every exchange is chunked below MPI's 2 GiB-per-call limit (mpiChunkBytes); sums are in rank order
 * (sumInRankOrder), so they are the same bits on every rank and every run.
 */
import { pack, unpack, type Collectives } from '../../cluster/collectives.js';
import type { MpiComm } from './comm.js';

export function mpiCollectives(comm: MpiComm): Collectives {
  const P = comm.size;
  return {
    rank: comm.rank,
    size: P,
    sum: (v) => Promise.resolve(comm.sumInRankOrder(v)),
    gather: (v, root) => Promise.resolve(comm.gathervPieces(v, root)),
    allGather: (v) => {
      // gathered on rank 0 and broadcast as one message: twice the volume of an allgatherv, chunked like it
      const pieces = comm.gathervPieces(v, 0);
      return Promise.resolve(unpack(comm.bcastBytes(pieces ? pack(pieces) : null, 0)));
    },
    broadcast: (v, root) => Promise.resolve(comm.bcastBytes(comm.rank === root && v ? v.slice() : null, root)),
    allToAll: (send) => {
      if (send.length !== P) return Promise.reject(new Error(`mpi collectives: allToAll: ${send.length} parts for ${P} ranks`));
      // byte lengths first (one word per destination), then the payload padded to whole words
      const lens = comm.alltoallvWords(Uint32Array.from(send, (s) => s.byteLength), new Int32Array(P).fill(1)).data;
      const counts = Int32Array.from(send, (s) => Math.ceil(s.byteLength / 4));
      const words = new Uint32Array(counts.reduce((a, c) => a + c, 0));
      const bytes = new Uint8Array(words.buffer);
      let o = 0;
      send.forEach((s, j) => {
        bytes.set(s, 4 * o);
        o += counts[j]!;
      });
      const got = comm.alltoallvWords(words, counts);
      const out: Uint8Array[] = [];
      let p = 0;
      for (let j = 0; j < P; j++) {
        out.push(new Uint8Array(got.data.buffer, got.data.byteOffset + 4 * p, lens[j]));
        p += got.counts[j]!;
      }
      return Promise.resolve(out);
    },
    barrier: () => {
      comm.barrier();
      return Promise.resolve();
    },
    phase: (name) => comm.setPhase(name),
    traffic: () => comm.traffic,
  };
}
