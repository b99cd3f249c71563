import { Piscina } from 'piscina';
import { MetavecError } from '../../errors.js';
import { spectrumBatch } from '../../prep/spectrumBatch.js';
import type { PrepBatch, SpectrumBatchResult } from '../../prep/params.js';

export type SpectrumReply = { ok: true; result: SpectrumBatchResult } | { ok: false; code: string; message: string };

/** Worker entry for pass 1 of error correction; the sketch cells are shared memory. */
export default function run(task: { batch: PrepBatch; k: number; cells: Uint8Array }): unknown {
  try {
    const result = spectrumBatch(task.batch, task.k, task.cells);
    const reply: SpectrumReply = { ok: true, result };
    return Piscina.move({
      [Piscina.transferableSymbol]: [result.keys.buffer, result.counts.buffer],
      [Piscina.valueSymbol]: reply,
    } as unknown as ArrayBuffer);
  } catch (err) {
    if (err instanceof MetavecError) return { ok: false, code: err.code, message: err.message } satisfies SpectrumReply;
    const e = err as Error;
    return { ok: false, code: 'INTERNAL', message: `worker: ${e.stack ?? e.message}` } satisfies SpectrumReply;
  }
}
