import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import { outputError, tempPathFor } from './atomic.js';
import type { MetavecError } from '../errors.js';

// The cleaned reads as gzip FASTQ (`prep --write-fastq`): records are appended as the batches come, in input order,
// to a temporary file that commitTemp renames when the run succeeded.

interface GzipSink {
  tmp: string;
  gz: ReturnType<typeof createGzip>;
  file: WriteStream;
  /** a write failure (disk full, ...), reported by the next write or end() */
  error?: MetavecError;
}

/** Resolves when the gzip stream drains, or when the file closes after a failure (listeners removed either way). */
function drainedOrClosed(sink: GzipSink): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      sink.gz.off('drain', done);
      sink.file.off('close', done);
      resolve();
    };
    sink.gz.on('drain', done);
    sink.file.on('close', done);
  });
}

function failed(sink: GzipSink): void {
  if (sink.error) throw sink.error;
}

function gzipSink(path: string): GzipSink {
  const tmp = tempPathFor(path);
  const gz = createGzip({ level: 4 });
  const file = createWriteStream(tmp);
  const sink: GzipSink = { tmp, gz, file };
  const fail = (err: unknown): void => {
    sink.error ??= outputError(path, err);
    gz.unpipe(file);
    gz.destroy();
    file.destroy();
  };
  file.on('error', fail);
  gz.on('error', fail);
  gz.pipe(file);
  return sink;
}

/** One gzip FASTQ output written under a temporary name (`tmp`); a write failure is reported by the next call. */
export class FastqGzWriter {
  private readonly sink: GzipSink;
  constructor(path: string) {
    this.sink = gzipSink(path);
  }

  /** The temporary file (renamed by the caller after end()). */
  get tmp(): string {
    return this.sink.tmp;
  }

  /** Appends the records k < n with keep[k] set; `data` holds the records back to back, record k at offs[k]..offs[k+1]. */
  async writeKept(data: Uint8Array | undefined, offs: Int32Array | undefined, keep: Uint8Array, n: number): Promise<void> {
    const sink = this.sink;
    if (!data || !offs) return;
    const parts: Uint8Array[] = [];
    let runStart = -1;
    for (let k = 0; k <= n; k++) {
      if (k < n && keep[k]) {
        if (runStart < 0) runStart = k;
      } else if (runStart >= 0) {
        parts.push(data.subarray(offs[runStart], offs[k]));
        runStart = -1;
      }
    }
    failed(sink);
    const ok = sink.gz.write(Buffer.concat(parts));
    if (!ok && !sink.error) await drainedOrClosed(sink);
    failed(sink);
  }

  /** Finishes the gzip stream and closes the file. */
  async end(): Promise<void> {
    const sink = this.sink;
    if (!sink.error) {
      sink.gz.end();
      await once(sink.file, 'close');
    }
    failed(sink);
  }

  /** After a failure: stops writing and removes the temporary file. */
  async abort(): Promise<void> {
    this.sink.gz.destroy();
    this.sink.file.destroy();
    await rm(this.sink.tmp, { force: true });
  }
}
