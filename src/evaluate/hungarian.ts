/**
 * Linear sum assignment (Hungarian / Kuhn-Munkres with potentials, the O(n^2 m) shortest-augmenting-path
 * form used by Jonker-Volgenant) for rectangular matrices.
 *
 * The matrix is row-major `rows x cols`. Every row of the smaller side is assigned to a distinct element of
 * the larger side; elements of the larger side may stay unassigned (-1).
 */
export interface Assignment {
  /** For each row, the assigned column or -1. */
  rowToCol: Int32Array;
  /** For each column, the assigned row or -1. */
  colToRow: Int32Array;
  /** Sum of the matrix entries over the assigned pairs. */
  total: number;
  /**
   * Shortest-path steps taken (each scans the larger side once). At most n(n+1)/2 for n = min(rows, cols):
   * the work is O(n^2 m), which the tests check.
   */
  steps: number;
}

/**
 * Solve min (or max, with `maximize`) sum of `matrix[r*cols+c]` over a one-to-one matching that covers
 * min(rows, cols) pairs. Entries must be finite.
 */
export function linearSumAssignment(
  matrix: Float64Array,
  rows: number,
  cols: number,
  options: { maximize?: boolean } = {},
): Assignment {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new RangeError(`linearSumAssignment: bad shape ${rows}x${cols}`);
  }
  if (matrix.length !== rows * cols) {
    throw new RangeError(`linearSumAssignment: matrix has ${matrix.length} entries, expected ${rows}x${cols}`);
  }
  for (let i = 0; i < matrix.length; i++) {
    if (!Number.isFinite(matrix[i])) throw new RangeError(`linearSumAssignment: entry ${i} is not finite`);
  }
  const rowToCol = new Int32Array(rows).fill(-1);
  const colToRow = new Int32Array(cols).fill(-1);
  if (rows === 0 || cols === 0) return { rowToCol, colToRow, total: 0, steps: 0 };

  const sign = options.maximize ? -1 : 1;
  // Orient so that n (assigned side) <= m.
  const transpose = rows > cols;
  const n = transpose ? cols : rows;
  const m = transpose ? rows : cols;
  const cost = (i: number, j: number): number =>
    sign * (transpose ? (matrix[j * cols + i] as number) : (matrix[i * cols + j] as number));

  // 1-based arrays as in the classic formulation; index 0 is a virtual column.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1); // p[j] = row assigned to column j (1-based), 0 = none
  const way = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);

  let steps = 0;
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      steps++;
      used[j0] = 1;
      const i0 = p[j0] as number;
      const ui0 = u[i0] as number;
      let delta = Infinity;
      let j1 = -1;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = cost(i0 - 1, j - 1) - ui0 - (v[j] as number);
        if (cur < (minv[j] as number)) {
          minv[j] = cur;
          way[j] = j0;
        }
        if ((minv[j] as number) < delta) {
          delta = minv[j] as number;
          j1 = j;
        }
      }
      if (j1 < 0) throw new Error('linearSumAssignment: no augmenting path (internal error)');
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          const r = p[j] as number;
          u[r] = (u[r] as number) + delta;
          v[j] = (v[j] as number) - delta;
        } else {
          minv[j] = (minv[j] as number) - delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0] as number;
      p[j0] = p[j1] as number;
      j0 = j1;
    } while (j0 !== 0);
  }

  let total = 0;
  for (let j = 1; j <= m; j++) {
    const i = p[j] as number;
    if (i === 0) continue;
    const r = transpose ? j - 1 : i - 1;
    const c = transpose ? i - 1 : j - 1;
    rowToCol[r] = c;
    colToRow[c] = r;
    total += matrix[r * cols + c] as number;
  }
  return { rowToCol, colToRow, total, steps };
}
