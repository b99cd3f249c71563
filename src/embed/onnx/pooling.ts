/**
 * Mean pooling of a model's token vectors over the attention mask: for each row b, the average of
 * hidden[b, t, :] over the positions t with mask[b, t] = 1 (special tokens included, as
 * sentence-transformers and the DNABERT-S examples do). Accumulates in float64. A row with an empty mask
 * gives zeros.
 */
export function maskedMeanPool(hidden: Float32Array, mask: ArrayLike<number | bigint>, batch: number, seqLen: number, dim: number): Float64Array {
  if (hidden.length !== batch * seqLen * dim) throw new RangeError(`pooling: hidden has ${hidden.length} values, expected ${batch}x${seqLen}x${dim}`);
  const out = new Float64Array(batch * dim);
  for (let b = 0; b < batch; b++) {
    let count = 0;
    const o = b * dim;
    for (let t = 0; t < seqLen; t++) {
      if (Number(mask[b * seqLen + t]) === 0) continue;
      count++;
      const h = (b * seqLen + t) * dim;
      for (let j = 0; j < dim; j++) out[o + j]! += hidden[h + j]!;
    }
    if (count > 0) for (let j = 0; j < dim; j++) out[o + j] = out[o + j]! / count;
  }
  return out;
}
