// How the mpi engine splits rows over ranks (no MPI needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockPartition } from '../../../../src/engines/mpi/comm.js';

test('blockPartition: contiguous, block-aligned, covers every row once, ranks differ by at most one block', () => {
  for (const [n, P] of [[1, 1], [4096, 1], [4097, 2], [9000, 2], [9000, 3], [1_000_000, 7], [123_457, 16]] as const) {
    const parts = blockPartition(n, P, 4096);
    assert.equal(parts.length, P);
    assert.equal(parts[0]!.start, 0);
    assert.equal(parts[P - 1]!.end, n);
    const blocks = parts.map((p) => Math.ceil((p.end - p.start) / 4096));
    for (let r = 0; r < P; r++) {
      if (r > 0) assert.equal(parts[r]!.start, parts[r - 1]!.end);
      assert.equal(parts[r]!.start % 4096, 0);
    }
    if (Math.ceil(n / 4096) >= P) assert.ok(Math.max(...blocks) - Math.min(...blocks) <= 1, `${n}/${P}: ${blocks.join(',')}`);
  }
  // fewer blocks than ranks: some ranks get nothing (the engine refuses to run then)
  assert.deepEqual(blockPartition(5000, 3, 4096).map((p) => p.end - p.start), [0, 4096, 904]);
});
