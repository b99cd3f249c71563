import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linearSumAssignment } from '../../../src/evaluate/index.js';
import { rng } from '../../helpers/fixtures.js';


/** Best total over all injective assignments of the smaller side, by enumeration. */
function bruteForce(m: Float64Array, rows: number, cols: number, maximize: boolean): number {
  const transpose = rows > cols;
  const n = transpose ? cols : rows;
  const big = transpose ? rows : cols;
  const at = (i: number, j: number): number => (transpose ? (m[j * cols + i] as number) : (m[i * cols + j] as number));
  const used = new Uint8Array(big);
  let best = maximize ? -Infinity : Infinity;
  const rec = (i: number, acc: number): void => {
    if (i === n) {
      best = maximize ? Math.max(best, acc) : Math.min(best, acc);
      return;
    }
    for (let j = 0; j < big; j++) {
      if (used[j]) continue;
      used[j] = 1;
      rec(i + 1, acc + at(i, j));
      used[j] = 0;
    }
  };
  rec(0, 0);
  return n === 0 ? 0 : best;
}

function checkValid(rowToCol: Int32Array, colToRow: Int32Array, rows: number, cols: number): void {
  let pairs = 0;
  for (let r = 0; r < rows; r++) {
    const c = rowToCol[r] as number;
    if (c < 0) continue;
    pairs++;
    assert.equal(colToRow[c], r, 'rowToCol and colToRow agree');
  }
  assert.equal(pairs, Math.min(rows, cols), 'the smaller side is fully assigned');
}

void test('Hungarian matches brute force on small random rectangular matrices', () => {
  const rand = rng(12345);
  let cases = 0;
  for (let rows = 1; rows <= 6; rows++) {
    for (let cols = 1; cols <= 6; cols++) {
      for (let rep = 0; rep < 12; rep++) {
        const m = new Float64Array(rows * cols);
        const integer = rep % 3 === 0; // integer entries produce many ties
        for (let i = 0; i < m.length; i++) m[i] = integer ? Math.floor(rand() * 4) : rand() * 10 - 3;
        for (const maximize of [false, true]) {
          const a = linearSumAssignment(m, rows, cols, { maximize });
          checkValid(a.rowToCol, a.colToRow, rows, cols);
          let total = 0;
          for (let r = 0; r < rows; r++) {
            const c = a.rowToCol[r] as number;
            if (c >= 0) total += m[r * cols + c] as number;
          }
          assert.ok(Math.abs(total - a.total) < 1e-9, 'reported total is the sum over assigned pairs');
          const best = bruteForce(m, rows, cols, maximize);
          assert.ok(Math.abs(a.total - best) < 1e-9, `${rows}x${cols} maximize=${maximize}: ${a.total} vs brute force ${best}`);
          cases++;
        }
      }
    }
  }
  assert.equal(cases, 6 * 6 * 12 * 2);
});

void test('Hungarian handles empty and degenerate shapes', () => {
  const e = linearSumAssignment(new Float64Array(0), 0, 5);
  assert.equal(e.total, 0);
  assert.deepEqual(Array.from(e.colToRow), [-1, -1, -1, -1, -1]);
  const one = linearSumAssignment(Float64Array.from([3, 1, 2]), 1, 3);
  assert.deepEqual(Array.from(one.rowToCol), [1]);
  const col = linearSumAssignment(Float64Array.from([3, 1, 2]), 3, 1, { maximize: true });
  assert.deepEqual(Array.from(col.colToRow), [0]);
  assert.throws(() => linearSumAssignment(new Float64Array(3), 2, 2), RangeError);
  assert.throws(() => linearSumAssignment(Float64Array.from([NaN]), 1, 1), RangeError);
});

void test('Hungarian on a 300 x 400 matrix: optimal against random swaps, O(n^2 m) work', () => {
  const rand = rng(7);
  const rows = 300;
  const cols = 400;
  const m = Float64Array.from({ length: rows * cols }, () => rand());
  const a = linearSumAssignment(m, rows, cols, { maximize: true });
  checkValid(a.rowToCol, a.colToRow, rows, cols);
  // Work: each row's augmenting search visits at most one more column than rows already placed, each visit
  // scans the 400 columns once; a cubic-in-m or exponential search would exceed this.
  assert.ok(a.steps >= rows, `steps ${a.steps}`);
  assert.ok(a.steps <= (rows * (rows + 1)) / 2, `steps ${a.steps} > n(n+1)/2 = ${(rows * (rows + 1)) / 2}`);
  // Optimality: no exchange of two rows' columns, and no move of a row to a free column, improves the total.
  const at = (r: number, c: number): number => m[r * cols + c] as number;
  for (let r1 = 0; r1 < rows; r1++) {
    const c1 = a.rowToCol[r1] as number;
    for (let c = 0; c < cols; c++) {
      if (a.colToRow[c] === -1) assert.ok(at(r1, c) <= at(r1, c1) + 1e-12, `row ${r1} gains by moving to free column ${c}`);
    }
    for (let r2 = r1 + 1; r2 < rows; r2++) {
      const c2 = a.rowToCol[r2] as number;
      assert.ok(at(r1, c2) + at(r2, c1) <= at(r1, c1) + at(r2, c2) + 1e-12, `rows ${r1}, ${r2} gain by swapping`);
    }
  }
});
