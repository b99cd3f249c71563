import { createHash } from 'node:crypto';
import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File } from '../io/checksum.js';
import { inputStamp } from '../io/inputs.js';
import { openOutputStore, type OutputStore } from '../io/store.js';
import type { ManifestShard } from '../io/manifest.js';
import type { BatchParams, PrepBatch } from '../prep/params.js';
import type { SpillRows } from '../io/shardBuffer.js';
import { TOOL_VERSION } from '../version.js';

/**
 * Crash-safe, resumable Phase 1 (docs/reliability.md). A run keeps a journal in OUTPUT/_resume/ (a directory,
 * or objects under an S3 output prefix, written through the same OutputStore as the shards):
 *
 * - `spectrum.bin` + its entry in state.json: the pass-1 k-mer sketch of error correction, written once when
 *   pass 1 ends (pass 1 is half the work with correction on; its sketch is a few hundred MiB at most and
 *   cannot be re-derived cheaply, so it is checkpointed).
 * - per committed shard, `part-NNNNN.hashes`: the dedup fingerprints of its rows (8 bytes a row). The Bloom
 *   filter is not checkpointed (64 MiB+ per shard would be written): it is re-derived on resume by re-marking
 *   these fingerprints, exactly, because a kept fragment sets its bits and a duplicate sets none.
 * - at the end of each batch in which a shard was committed: the counters, the QC statistics and the duplication-level sample (`stats-K.bin`: PrepSink appends DuplicationSample.encode()),
 *   the rows already buffered for the next shard (`spill-K.bin`) and the fragment where reading continues.
 *
 * state.json is replaced atomically after the files it names are complete, so a kill at any point leaves either
 * the previous checkpoint or the new one. A re-run with the same inputs (size and mtime) and parameters checks
 * every listed shard's sha256, restores the sink, skips the batches before the checkpoint without processing
 * them (they are still decompressed and cut into records: gzip has no random access) and continues; its final
 * outputs are byte-identical to an uninterrupted run. Anything that does not verify means a fresh start.
 */

export const RESUME_DIR = '_resume';
export const RESUME_SCHEMA = 'metavec.prep-resume/1';

/** The sink's state at a checkpoint: where reading continues, its counters, shards and buffered rows. */
interface SinkState {
  nextFragment: number;
  counters: Float64Array;
  stats: Float64Array;
  duplicates: number;
  fragmentsOut: number;
  shards: ManifestShard[];
  spill: SpillRows;
}

/** What the sink hands the journal at a checkpoint (all copies: the sink goes on). */
export interface SinkSnapshot extends SinkState {
  /** fingerprints of the shards committed since the previous checkpoint, by shard path */
  newShardHashes: { path: string; hashes: Uint32Array }[];
}

interface FileRef {
  file: string;
  sha256: string;
}

interface ResumeStateFile {
  schema: string;
  key: string;
  spectrum?: FileRef & { info: Record<string, unknown>; params?: Omit<NonNullable<BatchParams['correction']>, 'cells'> };
  checkpoint?: {
    nextFragment: number;
    counters: number[];
    duplicates: number;
    fragmentsOut: number;
    shards: (ManifestShard & { hashes: FileRef })[];
    stats: FileRef;
    spill: FileRef & { rows: number; idLen: number; minimizerLen?: number };
  };
}

/** The restored state of a resumed run. */
export interface Restored {
  spectrum?: { info: Record<string, unknown>; params?: NonNullable<BatchParams['correction']> };
  /** with the dedup fingerprints of every committed shard, in shard order */
  sink?: SinkState & { hashes: Uint32Array[] };
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function concat(parts: ArrayBufferView[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.byteLength, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(bytesOf(p), o);
    o += p.byteLength;
  }
  return out;
}

/** Spill rows as one buffer: every column is a multiple of 4 bytes long except idBytes, which goes last. */
function encodeSpill(s: SpillRows, dim: number): Uint8Array {
  return concat([
    s.fragment.subarray(0, s.rows),
    s.idOffsets.subarray(0, s.rows + 1),
    s.lengths.subarray(0, 2 * s.rows),
    s.attrs.subarray(0, 4 * s.rows),
    s.embedding.subarray(0, dim * s.rows),
    s.hashes.subarray(0, 2 * s.rows),
    ...(s.minimizerOffsets && s.minimizers ? [s.minimizerOffsets.subarray(0, s.rows + 1), s.minimizers.subarray(0, 2 * (s.minimizerLen ?? 0))] : []),
    s.idBytes.subarray(0, s.idLen),
  ]);
}

function decodeSpill(b: Uint8Array, rows: number, idLen: number, dim: number, minimizerLen: number | undefined): SpillRows {
  const buf = b.slice().buffer;
  let o = 0;
  const take = <T>(make: (buf: ArrayBuffer, off: number, n: number) => T, n: number, size: number): T => {
    const v = make(buf, o, n);
    o += n * size;
    return v;
  };
  const fragment = take((x, off, n) => new Float64Array(x, off, n), rows, 8);
  const idOffsets = take((x, off, n) => new Int32Array(x, off, n), rows + 1, 4);
  const lengths = take((x, off, n) => new Int32Array(x, off, n), 2 * rows, 4);
  const attrs = take((x, off, n) => new Float32Array(x, off, n), 4 * rows, 4);
  const embedding = take((x, off, n) => new Float32Array(x, off, n), dim * rows, 4);
  const hashes = take((x, off, n) => new Uint32Array(x, off, n), 2 * rows, 4);
  const mins =
    minimizerLen !== undefined
      ? {
          minimizerLen,
          minimizerOffsets: take((x, off, n) => new Int32Array(x, off, n), rows + 1, 4),
          minimizers: take((x, off, n) => new Uint32Array(x, off, n), 2 * minimizerLen, 4),
        }
      : {};
  const idBytes = take((x, off, n) => new Uint8Array(x, off, n), idLen, 1);
  if (o !== b.length) throw new Error(`spill file holds ${b.length} bytes, expected ${o}`);
  return { rows, idLen, fragment, idBytes, idOffsets, lengths, attrs, embedding, hashes, ...mins };
}

/** Identity of a run: same inputs (path, size, mtime or S3 ETag), same parameters and tool version => resumable. */
export async function runKey(inputs: string[], params: Record<string, unknown>): Promise<string> {
  const files = [];
  for (const p of inputs) files.push({ p, ...(await inputStamp(p)) });
  return sha(new TextEncoder().encode(JSON.stringify({ v: TOOL_VERSION, files, params })));
}

export class PrepJournal {
  private state: ResumeStateFile;
  private seq = 0;

  private constructor(
    private readonly store: OutputStore,
    key: string,
    private readonly dim: number,
  ) {
    this.state = { schema: RESUME_SCHEMA, key };
  }

  private rel(name: string): string {
    return `${RESUME_DIR}/${name}`;
  }

  private async put(name: string, data: string | Uint8Array): Promise<void> {
    await this.store.putBytes(this.rel(name), data);
  }

  /** Removes every journal file (a directory is removed whole; under an S3 prefix, each object). */
  private async clear(): Promise<void> {
    if (!this.store.remote) {
      await rm(join(this.store.location, RESUME_DIR), { recursive: true, force: true });
      return;
    }
    for (const o of await this.store.list(`${RESUME_DIR}/`)) await this.store.remove(o.rel);
  }

  /**
   * Opens the journal of `output`: when a previous run with the same key left a checkpoint that verifies, returns
   * what it restores (and `log` says how much); otherwise a fresh journal (the old one is removed).
   */
  static async open(output: string, key: string, dim: number, log: (msg: string) => void): Promise<{ journal: PrepJournal; restored: Restored | undefined }> {
    const journal = new PrepJournal(await openOutputStore(output), key, dim);
    let prev: ResumeStateFile | undefined;
    try {
      const bytes = await journal.store.get(journal.rel('state.json'));
      prev = bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as ResumeStateFile) : undefined;
    } catch (err) {
      if (journal.store.remote && !(err instanceof SyntaxError)) throw err; // an S3 error is not "no journal"
      prev = undefined;
    }
    if (prev && (prev.schema !== RESUME_SCHEMA || prev.key !== key)) {
      log('resume: the previous run had other inputs or parameters; starting over');
      prev = undefined;
    }
    if (prev) {
      try {
        const restored = await journal.restore(prev);
        journal.state = prev;
        journal.seq = prev.checkpoint ? prev.checkpoint.shards.length : 0;
        return { journal, restored };
      } catch (err) {
        log(`resume: cannot resume (${(err as Error).message}); starting over`);
      }
    }
    await journal.clear();
    return { journal, restored: undefined };
  }

  private async readVerified(ref: FileRef): Promise<Uint8Array> {
    const b = await this.store.get(this.rel(ref.file));
    if (!b) throw new Error(`${ref.file}: missing`);
    if (sha(b) !== ref.sha256) throw new Error(`${ref.file}: checksum mismatch`);
    return b;
  }

  /**
   * The sha256 of a committed shard: re-hashed from the file in a directory; in S3, the sha256 recorded with the
   * object when its upload completed (io/s3/store.ts), with the stored size checked too.
   */
  private async shardSha256(sh: ManifestShard): Promise<string> {
    if (!this.store.remote) return sha256File(join(this.store.location, ...sh.path.split('/'))).catch(() => 'missing');
    const st = await this.store.stat(sh.path);
    if (!st) return 'missing';
    return st.bytes === sh.bytes ? (st.sha256 ?? 'unrecorded') : 'size mismatch';
  }

  /**
   * A journal file in memory shared with the worker threads, like a freshly built sketch: a local file is read
   * straight into it (no second copy); an S3 object is downloaded, then copied in.
   */
  private async readShared(name: string): Promise<Uint8Array> {
    if (this.store.remote) {
      const b = await this.store.get(this.rel(name));
      if (!b) throw new Error(`${name}: missing`);
      const cells = new Uint8Array(new SharedArrayBuffer(b.length));
      cells.set(b);
      return cells;
    }
    const path = join(this.store.location, RESUME_DIR, name);
    const cells = new Uint8Array(new SharedArrayBuffer((await stat(path)).size));
    const fh = await open(path, 'r');
    try {
      for (let off = 0; off < cells.length; ) {
        const { bytesRead } = await fh.read(cells, off, Math.min(cells.length - off, 1 << 24), off);
        if (bytesRead === 0) throw new Error(`${name}: truncated`);
        off += bytesRead;
      }
    } finally {
      await fh.close();
    }
    return cells;
  }

  private async restore(s: ResumeStateFile): Promise<Restored> {
    const out: Restored = {};
    if (s.spectrum) {
      const cells = await this.readShared(s.spectrum.file);
      if (sha(cells) !== s.spectrum.sha256) throw new Error(`${s.spectrum.file}: checksum mismatch`);
      out.spectrum = { info: s.spectrum.info, ...(s.spectrum.params ? { params: { ...s.spectrum.params, cells } } : {}) };
    }
    const c = s.checkpoint;
    if (c) {
      const hashes: Uint32Array[] = [];
      for (const sh of c.shards) {
        const sum = await this.shardSha256(sh);
        if (sum !== sh.sha256) throw new Error(`${sh.path}: ${sum === 'missing' ? 'missing' : 'checksum mismatch'}`);
        const h = await this.readVerified(sh.hashes);
        hashes.push(new Uint32Array(h.slice().buffer));
      }
      const stats = await this.readVerified(c.stats);
      const spill = await this.readVerified(c.spill);
      out.sink = {
        nextFragment: c.nextFragment,
        counters: Float64Array.from(c.counters),
        stats: new Float64Array(stats.slice().buffer),
        duplicates: c.duplicates,
        fragmentsOut: c.fragmentsOut,
        shards: c.shards.map(({ hashes: _h, ...m }) => m),
        hashes,
        spill: decodeSpill(spill, c.spill.rows, c.spill.idLen, this.dim, c.spill.minimizerLen),
      };
    }
    return out;
  }

  private async writeState(): Promise<void> {
    await this.put('state.json', JSON.stringify(this.state) + '\n');
  }

  /** Checkpoints the pass-1 sketch and the pass-2 parameters derived from it. */
  async saveSpectrum(cells: Uint8Array, info: Record<string, unknown>, params: NonNullable<BatchParams['correction']> | undefined): Promise<void> {
    // written and hashed in place: pass 1 has ended, nothing writes the shared sketch any more (a copy would add
    // up to --correct-mem to the peak RSS)
    await this.put('spectrum.bin', cells);
    const { cells: _c, ...rest } = params ?? { cells: undefined };
    this.state.spectrum = { file: 'spectrum.bin', sha256: sha(cells), info, ...(params ? { params: rest as Omit<NonNullable<BatchParams['correction']>, 'cells'> } : {}) };
    await this.writeState();
  }

  /** Persists a sink checkpoint (after its shards are committed under their final names). */
  async commit(snap: SinkSnapshot): Promise<void> {
    const prev = this.state.checkpoint;
    const shards = [...(prev?.shards ?? [])];
    for (const s of snap.shards.slice(shards.length)) {
      const h = snap.newShardHashes.find((x) => x.path === s.path);
      if (!h) throw new Error(`resume journal: no fingerprints for ${s.path}`);
      const file = `${s.path.replace(/^shards\//, '').replace(/\.parquet$/, '')}.hashes`;
      const bytes = bytesOf(h.hashes);
      await this.put(file, bytes);
      shards.push({ ...s, hashes: { file, sha256: sha(bytes) } });
    }
    const k = ++this.seq;
    const stats = bytesOf(snap.stats);
    const spill = encodeSpill(snap.spill, this.dim);
    await this.put(`stats-${k}.bin`, stats);
    await this.put(`spill-${k}.bin`, spill);
    this.state.checkpoint = {
      nextFragment: snap.nextFragment,
      counters: Array.from(snap.counters),
      duplicates: snap.duplicates,
      fragmentsOut: snap.fragmentsOut,
      shards,
      stats: { file: `stats-${k}.bin`, sha256: sha(stats) },
      spill: {
        file: `spill-${k}.bin`,
        sha256: sha(spill),
        rows: snap.spill.rows,
        idLen: snap.spill.idLen,
        ...(snap.spill.minimizers ? { minimizerLen: snap.spill.minimizerLen ?? 0 } : {}),
      },
    };
    await this.writeState();
    if (prev) {
      await this.store.remove(this.rel(prev.stats.file));
      await this.store.remove(this.rel(prev.spill.file));
    }
  }

  /** After the manifest is written the journal has served its purpose. */
  async remove(): Promise<void> {
    await this.clear();
    await this.store.close();
  }
}

/** Drops the batches before `nextFragment` (a checkpoint is always at a batch boundary). */
export async function* skipBatches(batches: AsyncIterable<PrepBatch>, nextFragment: number): AsyncGenerator<PrepBatch> {
  for await (const b of batches) {
    if (b.firstFragment + b.fragments <= nextFragment) continue;
    if (b.firstFragment < nextFragment) {
      throw new Error(`resume: batch at fragment ${b.firstFragment} straddles the checkpoint at ${nextFragment}`);
    }
    yield b;
  }
}
