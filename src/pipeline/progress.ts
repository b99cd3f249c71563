/**
 * Progress on stderr: a redrawn bar on a terminal, plain lines every few seconds otherwise, nothing with
 * --quiet. Stdout stays clean for --json.
 */
export interface ProgressSink {
  phase(name: string): void;
  update(done: { fragments: number; bytes: number; totalBytes?: number }): void;
  log(line: string): void;
  finish(): void;
}

function fmtRate(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

export function createProgress(opts: { quiet: boolean; stream?: NodeJS.WriteStream; intervalMs?: number }): ProgressSink {
  const stream = opts.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const interval = opts.intervalMs ?? (tty ? 200 : 5000);
  let name = '';
  let t0 = performance.now();
  let last = 0;
  let drawn = false;
  const clear = (): void => {
    if (tty && drawn) stream.write('\r\x1b[K');
    drawn = false;
  };
  return {
    phase(n: string) {
      clear();
      name = n;
      t0 = performance.now();
      last = 0;
    },
    update(d) {
      if (opts.quiet) return;
      const now = performance.now();
      if (now - last < interval) return;
      last = now;
      const secs = (now - t0) / 1000;
      const fps = d.fragments / Math.max(secs, 1e-9);
      const mbs = d.bytes / 1e6 / Math.max(secs, 1e-9);
      let line = `${name}: ${fmtRate(d.fragments)} fragments, ${fmtRate(fps)} fragments/s, ${mbs.toFixed(1)} MB/s`;
      if (d.totalBytes && d.totalBytes > 0) {
        const frac = Math.min(1, d.bytes / d.totalBytes);
        const eta = frac > 0 ? secs / frac - secs : Infinity;
        if (tty) {
          const w = 24;
          const fill = Math.round(frac * w);
          line = `${name} [${'#'.repeat(fill)}${'.'.repeat(w - fill)}] ${(frac * 100).toFixed(0)}% ${fmtRate(d.fragments)} fragments ${fmtRate(fps)}/s ${mbs.toFixed(1)} MB/s ETA ${fmtTime(eta)}`;
        } else {
          line += `, ${(frac * 100).toFixed(0)}% of input, ETA ${fmtTime(eta)}`;
        }
      }
      if (tty) {
        stream.write(`\r\x1b[K${line}`);
        drawn = true;
      } else stream.write(`${line}\n`);
    },
    log(line: string) {
      if (opts.quiet) return;
      clear();
      stream.write(`${line}\n`);
    },
    finish() {
      clear();
    },
  };
}

export const silentProgress: ProgressSink = { phase() {}, update() {}, log() {}, finish() {} };

/**
 * Where the input stood when each batch was read: progress reports the input behind the batches that are
 * done, not the reader's position (which runs ahead by the batches in flight and the read-ahead buffers, so
 * "% of input" and the ETA ran ahead of the work).
 */
export class InputPosition<B extends { index: number }> {
  private readonly at = new Map<number, number>();
  private last = 0;

  constructor(private readonly position: () => number) {}

  /** Passes the batches through, noting the input position at each. */
  async *track(batches: AsyncIterable<B>): AsyncGenerator<B> {
    for await (const b of batches) {
      this.at.set(b.index, this.position());
      yield b;
    }
  }

  /** Input consumed up to and including `batch` (call once per batch, when it is done). */
  done(batch: B): number {
    const v = this.at.get(batch.index);
    this.at.delete(batch.index);
    if (v !== undefined && v > this.last) this.last = v;
    return this.last;
  }
}
