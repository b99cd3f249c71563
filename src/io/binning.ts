/**
 * The CAMI binning format (bioboxes.org "binning" 0.9.1), which AMBER and the other CAMI tools read:
 *
 *   @Version:0.9.1
 *   @SampleID:<name>
 *
 *   @@SEQUENCEID	BINID
 *   r0000001	3
 *
 * One row per fragment (read pair), SEQUENCEID = read_id, BINID = cluster id. Written from labels.parquet by
 * DuckDB (COPY, streamed: no per-read state in this process), so it works the same when the labels were
 * written in parts. docs/formats-phase2.md.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { MetavecError } from '../errors.js';
import { produceAtomic } from './atomic.js';
import { openDuckDB, sqlString } from './duckdb.js';

export const CAMI_BINNING_VERSION = '0.9.1';

/** The header lines of a CAMI binning file for `sampleId` (per read pair: no /1 /2). */
export function camiBinningHeader(sampleId: string): string {
  return `@Version:${CAMI_BINNING_VERSION}\n@SampleID:${sampleId}\n\n@@SEQUENCEID\tBINID\n`;
}

/** A sample id as the format allows it on one header line (no control characters; not empty). */
export function camiSampleId(name: string): string {
  // eslint-disable-next-line no-control-regex
  const s = name.replace(/[\x00-\x1f\x7f]+/g, '_').trim();
  return s.length > 0 ? s : 'sample';
}

/**
 * Writes `path` atomically: the CAMI header, then one `read_id<TAB>cluster` row per row of `labelsParquet`, in
 * its order; with `perRead`, two rows per read pair (`read_id/1`, `read_id/2`: the mates as CAMI read gold
 * standards name them). Returns the number of rows.
 */
export async function writeCamiBinning(path: string, labelsParquet: string, sampleId: string, perRead = false): Promise<number> {
  const header = camiBinningHeader(camiSampleId(sampleId));
  return produceAtomic(path, async (tmp) => {
    const body = `${tmp}.rows`;
    try {
      const db = await openDuckDB(1);
      let rows: number;
      try {
        // QUOTE '' and ESCAPE '': the columns never need quoting (read ids hold no whitespace, cluster is an
        // integer), and a quote character in a read id must reach AMBER as it is.
        const r = await db.conn.runAndReadAll(
          `COPY (SELECT ${perRead ? "unnest([CAST(read_id AS VARCHAR) || '/1', CAST(read_id AS VARCHAR) || '/2'])" : 'CAST(read_id AS VARCHAR)'} AS SEQUENCEID, ` +
            `CAST(cluster AS VARCHAR) AS BINID FROM read_parquet(${sqlString(labelsParquet)})) ` +
            `TO ${sqlString(body)} (FORMAT csv, DELIMITER '\t', HEADER false, QUOTE '', ESCAPE '')`,
        );
        rows = Number(r.getRows()[0]?.[0] ?? 0);
      } catch (err) {
        throw new MetavecError('OUTPUT', `binning: ${path}: cannot write from ${labelsParquet} (${(err as Error).message.split('\n')[0]})`, { cause: err });
      } finally {
        db.close();
      }
      const out = createWriteStream(tmp);
      out.write(header);
      await pipeline(createReadStream(body, { highWaterMark: 1 << 20 }), out);
      return rows;
    } finally {
      await rm(body, { force: true });
    }
  });
}
