import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shardPieces } from '../../../src/io/shardSlice.js';

test('shardPieces: a row range split over the shards it overlaps, with shard-local rows', () => {
  const shards = [{ path: 'a', rows: 2500 }, { path: 'b', rows: 2500 }, { path: 'c', rows: 0 }, { path: 'd', rows: 4000 }];
  assert.deepEqual(shardPieces(shards, 0, 4096), [{ shard: 0, from: 0, to: 2500 }, { shard: 1, from: 0, to: 1596 }]);
  assert.deepEqual(shardPieces(shards, 4096, 9000), [{ shard: 1, from: 1596, to: 2500 }, { shard: 3, from: 0, to: 4000 }]);
  assert.deepEqual(shardPieces(shards, 5000, 5000), []);
});
