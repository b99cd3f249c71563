import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { MetavecError, inputError } from '../errors.js';
import { localStreamChunks, openSource } from '../io/source.js';

/**
 * Load a truth table: tab-separated, header row first, plain or gzip-compressed (detected by magic bytes).
 * Returns read_id -> value of `column` (e.g. species or strain).
 *
 * Errors (MetavecError 'INPUT', naming file and line): missing file, empty file, no `read_id` column,
 * `column` absent (the available columns are listed), ragged row, duplicate read_id, empty read_id.
 */
export async function loadTruth(path: string, column = 'species'): Promise<Map<string, string>> {
  // s3://: streamed with ranged GETs; a local path is read once from its start (a pipe works too:
  // --truth <(zcat truth.tsv.gz)); gzip is detected by its magic bytes either way (io/source.ts)
  const chunks = /^s3:\/\//i.test(path) ? (await openSource(path)).chunks() : localStreamChunks(path, 'truth table');
  const stream = Readable.from(chunks, { objectMode: false });
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
    // a corrupt gzip stream is reported at the line it broke (the stream's message names the file already)
    if (err instanceof MetavecError && !err.message.startsWith('gzip: ')) throw err;
    const msg = err instanceof Error ? err.message.replace(/^gzip: truth table .*?: (?=corrupt)/, '') : String(err);
    throw new MetavecError('INPUT', `truth table ${path}, line ${lineNo + 1}: cannot read (${msg})`, { cause: err });
  } finally {
    rl.close();
    stream.destroy();
  }
  if (lineNo === 0) throw inputError(`truth table ${path}: empty file (expected a header row with read_id and ${column})`);
  return truth;
}
