import { Piscina } from 'piscina';
import { MetavecError, type ErrorCode } from '../../errors.js';
import type { PrepBatch, SpectrumBatchResult } from '../../prep/params.js';
import type { SpectrumReply } from './spectrumWorker.js';

/** Local engine for pass 1 of error correction: worker threads updating one shared sketch. */
export class LocalSpectrumEngine {
  private readonly pool: Piscina;

  constructor(readonly threads: number) {
    this.pool = new Piscina({ filename: new URL('./spectrumWorker.js', import.meta.url).href, minThreads: threads, maxThreads: threads });
  }

  get queueDepth(): number {
    return this.threads * 2 + 1;
  }

  async run(batch: PrepBatch, k: number, cells: Uint8Array): Promise<SpectrumBatchResult> {
    const transfer: ArrayBuffer[] = [batch.r1.bytes.buffer as ArrayBuffer];
    if (batch.r2) transfer.push(batch.r2.bytes.buffer as ArrayBuffer);
    const reply = (await this.pool.run({ batch, k, cells }, { transferList: transfer })) as SpectrumReply;
    if (!reply.ok) throw new MetavecError(reply.code as ErrorCode, reply.message);
    return reply.result;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
