import { Piscina } from 'piscina';
import { ignoreStrayPoolErrors } from './retry.js';

/**
 * A piscina pool whose threads run the default export of the ES module at `moduleUrl`, through the CommonJS
 * entry in esmEntry.cts (why: that file's comment — a pool destroyed while a thread is still loading must not
 * abort the process). Every local engine (prep, correction spectrum, k-means) makes its pool here.
 */
export function workerPool(moduleUrl: string, threads: number, idleTimeout?: number): Piscina {
  return ignoreStrayPoolErrors(
    new Piscina({
      filename: new URL('./esmEntry.cjs', import.meta.url).href,
      workerData: { metavecTaskModule: moduleUrl },
      minThreads: threads,
      maxThreads: threads,
      ...(idleTimeout !== undefined ? { idleTimeout } : {}),
    }),
  );
}
