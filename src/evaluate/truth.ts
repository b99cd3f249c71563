import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { MetavecError, inputError } from '../errors.js';
import { openSource } from '../io/source.js';

async function isGzip(path: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String(code ?? err);
    throw new MetavecError('INPUT', `truth table ${path}: cannot open (${why})`, { cause: err });
  }
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf[0] === 0x1f && buf[1] === 0x8b;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new MetavecError('INPUT', `truth table ${path}: cannot read (${String(code ?? err)})`, { cause: err });
  } finally {
    await fh.close();
  }
}

/**
 * Load a truth table: tab-separated, header row first, plain or gzip-compressed (detected by magic bytes).
 * Returns read_id -> value of `column` (e.g. species or strain).
 *
 * Errors (MetavecError 'INPUT', naming file and line): missing file, empty file, no `read_id` column,
 * `column` absent (the available columns are listed), ragged row, duplicate read_id, empty read_id.
 */
export async function loadTruth(path: string, column = 'species'): Promise<Map<string, string>> {
  let raw: Readable;
  let stream: Readable;
  if (/^s3:\/\//i.test(path)) {
    // streamed with ranged GETs, gzip detected by magic bytes (io/source.ts)
    const src = await openSource(path);
    raw = stream = Readable.from(src.chunks(), { objectMode: false });
  } else {
    const gz = await isGzip(path);
    raw = stream = createReadStream(path);
    if (gz) {
      stream = raw.pipe(createGunzip());
      raw.on('error', (err) => stream.destroy(err));
    }
  }
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  const truth = new Map<string, string>();
  let lineNo = 0;
  let idCol = -1;
  let valCol = -1;
  let width = 0;
  try {
    for await (const rawLine of rl) {
      lineNo++;
      const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
      if (lineNo === 1) {
        const header = line.split('\t');
        width = header.length;
        idCol = header.indexOf('read_id');
        valCol = header.indexOf(column);
        if (idCol < 0) {
          throw inputError(`truth table ${path}, line 1: no 'read_id' column in the header (columns: ${header.join(', ')})`);
        }
        if (valCol < 0) {
          throw inputError(
            `truth table ${path}, line 1: no column '${column}' in the header; available columns: ${header.join(', ')}`,
          );
        }
        continue;
      }
      const fields = line.split('\t');
      if (fields.length !== width) {
        throw inputError(`truth table ${path}, line ${lineNo}: ${fields.length} fields, expected ${width} as in the header`);
      }
      const id = fields[idCol] as string;
      if (id === '') throw inputError(`truth table ${path}, line ${lineNo}: empty read_id`);
      if (truth.has(id)) {
        throw inputError(`truth table ${path}, line ${lineNo}: duplicate read_id '${id}' (already on an earlier line)`);
      }
      truth.set(id, fields[valCol] as string);
    }
  } catch (err) {
    if (err instanceof MetavecError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    throw new MetavecError('INPUT', `truth table ${path}, line ${lineNo + 1}: cannot read (${msg})`, { cause: err });
  } finally {
    rl.close();
    stream.destroy();
    raw.destroy();
  }
  if (lineNo === 0) throw inputError(`truth table ${path}: empty file (expected a header row with read_id and ${column})`);
  return truth;
}
