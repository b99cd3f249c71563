import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputPosition } from '../../../src/pipeline/progress.js';

test('prep progress follows the batches that are done, not the read-ahead', async () => {
  let pos = 0;
  const tracker = new InputPosition<{ index: number }>(() => pos);
  async function* reader() {
    for (let i = 0; i < 4; i++) {
      pos += 100; // the reader has consumed another 100 bytes for batch i
      yield await Promise.resolve({ index: i });
    }
  }
  const read: { index: number }[] = [];
  for await (const b of tracker.track(reader())) read.push(b);
  assert.equal(pos, 400); // everything read ahead
  assert.equal(tracker.done(read[0]!), 100);
  assert.equal(tracker.done(read[1]!), 200);
  assert.equal(tracker.done(read[3]!), 400);
});
