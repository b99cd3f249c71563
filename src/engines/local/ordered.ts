import type { PrepBatch } from '../../prep/params.js';

/**
 * Runs batches on an engine with at most `depth` in flight and hands results to `consume` in batch order
 * (so everything downstream is independent of the thread count).
 */
export async function runOrdered<R>(
  batches: AsyncIterable<PrepBatch>,
  run: (b: PrepBatch) => Promise<R>,
  depth: number,
  consume: (r: R, b: PrepBatch) => Promise<void>,
): Promise<void> {
  // The engine transfers a batch's byte buffers away; its metadata fields stay readable for consume().
  const pending: { promise: Promise<R>; batch: PrepBatch }[] = [];
  const it = batches[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<PrepBatch>;
      try {
        next = await it.next();
      } catch (err) {
        // Report the earliest problem in input order: a batch already handed out (e.g. a malformed record
        // found by a worker) comes before whatever the reader found further on.
        for (const p of pending) await p.promise;
        throw err;
      }
      if (next.done) break;
      const batch = next.value;
      const promise = run(batch);
      promise.catch(() => undefined); // awaited in order below
      pending.push({ promise, batch });
      while (pending.length >= depth) {
        const head = pending.shift()!;
        await consume(await head.promise, head.batch);
      }
    }
    while (pending.length > 0) {
      const head = pending.shift()!;
      await consume(await head.promise, head.batch);
    }
  } finally {
    for (const p of pending) p.promise.catch(() => undefined);
    await it.return?.();
  }
}
