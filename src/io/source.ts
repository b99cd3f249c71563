import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { mkdtemp, open, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MetavecError, inputError } from '../errors.js';
import { gunzipChunks, type ByteSource } from './byteSource.js';

export { gunzipChunks, type ByteSource } from './byteSource.js';


const READ_CHUNK = 1 << 20;

async function sniff(path: string): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function describeFsError(label: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return `${label}: no such file`;
    case 'EACCES':
      return `${label}: permission denied`;
    case 'EISDIR':
      return `${label}: is a directory, not a file`;
    case 'ESPIPE':
      return `${label}: cannot read (a pipe cannot be read from a given position)`;
    default:
      return `${label}: cannot read (${e.message})`;
  }
}

/**
 * A pipe (`--input <(zcat r1.fq.gz)`, a FIFO, /dev/stdin) can be read once, from its start only, but prep reads
 * its inputs more than once (adapter detection, correction pass 1, pass 2): its bytes are copied, as they are, to
 * a file in the temporary directory ($TMPDIR), removed when the process exits.
 */
async function spoolPipe(path: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'metavec-pipe-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const dest = join(dir, basename(path) || 'input');
  try {
    await pipeline(createReadStream(path, { highWaterMark: READ_CHUNK }), createWriteStream(dest));
  } catch (err) {
    throw inputError(describeFsError(path, err));
  }
  return dest;
}

/**
 * Opens a local file. gzip is recognised by its magic bytes, not the file name; multi-member gzip (incl.
 * BGZF) is decompressed as one stream (Node's gunzip continues across members). A pipe is copied to a
 * temporary file first (spoolPipe); the source keeps the pipe's name in its uri and messages.
 */
export async function openLocalSource(path: string): Promise<ByteSource> {
  const label = basename(path) || path;
  let size: number;
  let magic: Uint8Array;
  let file = path;
  try {
    let st = await stat(path);
    if (st.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    // a pipe only: character devices (/dev/zero, /dev/urandom) read from any position and are streamed as
    // files are (a bad input there fails at its first record, in constant memory)
    if (st.isFIFO() || st.isSocket()) {
      file = await spoolPipe(path);
      st = await stat(file);
    }
    size = st.size;
    magic = await sniff(file);
  } catch (err) {
    if (err instanceof MetavecError) throw err;
    throw inputError(describeFsError(path, err));
  }
  const gz = magic[0] === 0x1f && magic[1] === 0x8b;
  let raw = 0;
  return {
    uri: path,
    label,
    size,
    compression: gz ? 'gzip' : 'none',
    ...(file !== path ? { pipe: true } : {}),
    rawBytesRead: () => raw,
    chunks: async function* () {
      const stream = createReadStream(file, { highWaterMark: READ_CHUNK });
      stream.on('data', (c) => {
        raw += c.length;
      });
      if (!gz) {
        try {
          for await (const c of stream) yield c as Uint8Array;
        } catch (err) {
          throw inputError(describeFsError(path, err));
        }
        return;
      }
      yield* gunzipChunks(stream, label, () => raw, READ_CHUNK, (err) => inputError(describeFsError(path, err)));
    },
  };
}

/**
 * The decompressed bytes of a local file read once from its start, without seeking: plain or gzip (detected
 * from the first bytes read), a regular file or a pipe (`--truth <(zcat truth.tsv.gz)`). For single-pass
 * readers (truth tables); errors name `what` and the path.
 */
export async function* localStreamChunks(path: string, what: string): AsyncGenerator<Uint8Array> {
  const label = `${what} ${path}`;
  const stream = createReadStream(path, { highWaterMark: READ_CHUNK });
  let raw = 0;
  stream.on('data', (c) => {
    raw += c.length;
  });
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  let first: IteratorResult<Uint8Array>;
  try {
    first = await it.next();
  } catch (err) {
    stream.destroy();
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : String(code ?? err);
    throw inputError(`${label}: cannot open (${why})`);
  }
  if (first.done) return;
  // the rest of the stream, after the chunk already taken
  async function* rest(): AsyncGenerator<Uint8Array> {
    yield first.value as Uint8Array;
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      yield n.value;
    }
  }
  const head = first.value;
  if (!(head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b)) {
    try {
      yield* rest();
    } catch (err) {
      throw inputError(`${label}: cannot read (${(err as Error).message})`);
    } finally {
      stream.destroy();
    }
    return;
  }
  try {
    yield* gunzipChunks(Readable.from(rest(), { objectMode: false }), label, () => raw, READ_CHUNK, (err) => inputError(`${label}: cannot read (${(err as Error).message})`));
  } finally {
    stream.destroy();
  }
}

/** Opens a local path or an s3:// URI (the S3 code and the AWS SDK load only for s3://). */
export async function openSource(location: string): Promise<ByteSource> {
  if (/^s3:\/\//i.test(location)) {
    const { openS3Source } = await import('./s3/source.js');
    return openS3Source(location);
  }
  return openLocalSource(location);
}
