import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE2 } from '../../../src/seq/twoBit.js';

void test('BASE2: A C G T -> 0 1 2 3, every other byte (N, lower case, IUPAC) -> -1', () => {
  assert.deepEqual(['A', 'C', 'G', 'T'].map((c) => BASE2[c.charCodeAt(0)]), [0, 1, 2, 3]);
  let others = 0;
  for (let b = 0; b < 256; b++) if (!'ACGT'.includes(String.fromCharCode(b))) others += BASE2[b] === -1 ? 1 : 0;
  assert.equal(others, 252);
  // complement is 3 - code
  assert.equal(3 - (BASE2[0x41] as number), BASE2[0x54]);
  assert.equal(3 - (BASE2[0x43] as number), BASE2[0x47]);
});
