import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { OnnxEmbedder, createSession } from '../../../../src/embed/onnx/embedder.js';
import { readModelInfo } from '../../../../src/embed/onnx/model.js';
import { loadOrt } from '../../../../src/embed/onnx/runtime.js';
import type { OnnxSpec } from '../../../../src/embed/index.js';
import { onnxPackagesInstalled, referencePython } from '../../../helpers/onnx.js';
import { REPO_ROOT, requireTool } from '../../../helpers/tools.js';
import { randomSeq, rng, TempDir } from '../../../helpers/fixtures.js';

/**
 * The DNABERT-2 / DNABERT-S export checked against a forward pass written from the published modelling code
 * (test/reference/dnabert2_published.py: bert_layers.py's unpad/pad attention, ALiBi, GLU, post-LN, and
 * DNABERT-S's mean pooling), on random weights with the checkpoint's tensor names and shapes, exported by
 * scripts/export-dnabert.py's weights_from_state_dict into scripts/mosaicbert.py's graph, run by metavec's
 * own tokenizer + onnxruntime path.
 */

const REF = join(REPO_ROOT, 'test/reference/dnabert2_published.py');
const WHAT = 'onnxruntime-node and @huggingface/tokenizers (scripts/setup.sh --system installs them)';
const PY_WHAT = 'python3 with numpy, onnx and tokenizers (scripts/setup.sh --system installs them)';

interface Reference {
  ids: number[][];
  tokens: number[][][];
  pooled: number[][];
}

function assertClose(actual: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(actual[i]! - want[i]!);
    assert.ok(d <= tol * (1 + Math.abs(want[i]!)), `${what}[${i}]: ${actual[i]} vs ${want[i]} (diff ${d})`);
  }
}

test('export self-check: ALiBi slopes in closed form (12 heads and 1-32), strict checkpoint mapping, loading report', (t) => {
  const py = referencePython();
  if (!requireTool(t, py !== undefined, PY_WHAT)) return;
  const r = spawnSync(py!, [REF, '--self-check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /self-check ok/);
});

for (const [heads, layout] of [
  [12, 'bertmodel'],
  [6, 'maskedlm'],
] as const) {
  test(`exported ${heads}-head model (${layout} state dict) = the published computation: ids, token vectors, DNABERT-S mean pooling`, async (t) => {
    if (!requireTool(t, onnxPackagesInstalled(), WHAT)) return;
    const py = referencePython();
    if (!requireTool(t, py !== undefined, PY_WHAT)) return;
    const r = rng(heads);
    const sequences = Array.from({ length: 14 }, (_, i) => {
      const s = randomSeq(1 + Math.floor(r() * 180), r, 0.3 + 0.02 * i);
      // N (not in DNABERT-2's alphabet: [UNK]) in some reads
      return i % 4 === 1 ? `${s.slice(0, 5)}NN${s.slice(5)}N` : s;
    });
    const tmp = new TempDir();
    try {
      const res = spawnSync(py!, [REF, tmp.path, '--heads', String(heads), '--layout', layout], { input: JSON.stringify({ sequences }), encoding: 'utf8' });
      assert.equal(res.status, 0, res.stderr);
      const ref = JSON.parse(res.stdout) as Reference;
      const info = await readModelInfo(tmp.path);
      assert.equal(info.dim, 24);
      const spec: OnnxSpec = { method: 'onnx', dir: tmp.path, dim: info.dim, maxLength: info.maxLength, batchSize: 4, device: 'cpu', numGpus: 0, intraOpThreads: 1, normalise: 'none' };
      const e = await OnnxEmbedder.create(spec);
      try {
        const ids = sequences.map((s) => e.tokenizer.encode(s, spec.maxLength));
        ref.ids.forEach((want, i) => assert.deepEqual([...ids[i]!], want, sequences[i]));
        assert.ok(ref.ids.some((x) => x.includes(0)), 'some read has an [UNK] (N)');
        // pooled vectors through the embedder (length-sorted batches of 4, padding inside each)
        const pooled = await e.pooled(ids);
        ref.pooled.forEach((want, i) => assertClose(pooled.subarray(i * 24, (i + 1) * 24), want, 1e-4, `pooled ${i}`));
      } finally {
        await e.close();
      }
      // every real token's vector, all reads in one right-padded batch
      const ort = await loadOrt();
      const session = await createSession(ort, spec);
      try {
        const len = Math.max(...ref.ids.map((x) => x.length));
        const b = ref.ids.length;
        const inputIds = new BigInt64Array(b * len).fill(3n);
        const mask = new BigInt64Array(b * len);
        ref.ids.forEach((row, i) => row.forEach((id, p) => ((inputIds[i * len + p] = BigInt(id)), (mask[i * len + p] = 1n))));
        const out = await session.run({ input_ids: new ort.Tensor('int64', inputIds, [b, len]), attention_mask: new ort.Tensor('int64', mask, [b, len]) });
        const hidden = out.last_hidden_state!.data as Float32Array;
        ref.tokens.forEach((rows, i) => rows.forEach((want, p) => assertClose(hidden.subarray((i * len + p) * 24, (i * len + p + 1) * 24), want, 1e-4, `read ${i} token ${p}`)));
      } finally {
        await session.release();
      }
    } finally {
      tmp.remove();
    }
  });
}
