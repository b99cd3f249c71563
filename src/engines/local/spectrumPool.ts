import type { Piscina } from 'piscina';
import { describeBatch, runWithRetry, transferableCopy } from './retry.js';
import { workerPool } from './threadPool.js';
import type { PrepBatch, SpectrumBatchResult } from '../../prep/params.js';
import type { SpectrumReply } from './spectrumWorker.js';

/** Local engine for pass 1 of error correction: worker threads updating one shared sketch. */
export class LocalSpectrumEngine {
  private readonly pool: Piscina;
  /** Set by close(): tasks failing from then on were cancelled by the shutdown (runWithRetry). */
  private closing = false;

  constructor(
    readonly threads: number,
    private readonly opts: { workerUrl?: string; onRetry?: (msg: string) => void } = {},
  ) {
    this.pool = workerPool(opts.workerUrl ?? new URL('./spectrumWorker.js', import.meta.url).href, threads);
  }

  get queueDepth(): number {
    return this.threads * 2 + 1;
  }

  /** Retried like LocalPrepEngine.run: the sketch update is an atomic max, so a repeated batch changes nothing. */
  run(batch: PrepBatch, k: number, cells: Uint8Array): Promise<SpectrumBatchResult> {
    return runWithRetry(
      describeBatch(batch),
      () => {
        const { batch: copy, transfer } = transferableCopy(batch);
        return this.pool.run({ batch: copy, k, cells }, { transferList: transfer }) as Promise<SpectrumReply>;
      },
      this.opts.onRetry,
      () => this.closing,
    );
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.pool.destroy();
  }
}
