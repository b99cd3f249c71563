/**
 * Throughput of the FASTQ reader (record framing) and parser on in-memory data: the usual 4-line records and
 * the same reads wrapped at 60 columns. No I/O or gzip: this isolates src/io/recordReader.ts + seqParser.ts.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/parse.js [--reads 1000000] [--len 150] [--reps 5]
 *
 * Prints, per layout, the best of --reps runs (wall ms and MB/s) for framing only and framing + parsing, and
 * the lowest CPU time of those runs (the machine is shared: CPU time is steadier than wall time).
 */
import { RecordReader } from '../src/io/recordReader.js';
import type { ByteSource } from '../src/io/source.js';
import { allocParsed, parseRecords } from '../src/io/seqParser.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? Number(process.argv[i + 1]) : def;
}
const reads = arg('reads', 1_000_000);
const len = arg('len', 150);
const reps = arg('reps', 5);

/** One block of records (repeated to reach `reads`): random bases and Phred+33 qualities. */
function block(n: number, wrap: number): Uint8Array {
  let s = 1;
  const rnd = (): number => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) / (1 << 24);
  const lines: string[] = [];
  const wrapped = (x: string): string => (wrap > 0 ? (x.match(new RegExp(`.{1,${wrap}}`, 'g')) ?? ['']).join('\n') : x);
  for (let i = 0; i < n; i++) {
    let seq = '';
    let qual = '';
    for (let j = 0; j < len; j++) {
      seq += 'ACGT'[Math.floor(rnd() * 4)];
      qual += String.fromCharCode(35 + Math.floor(rnd() * 40));
    }
    lines.push(`@read${i} 1:N:0:ACGT`, wrapped(seq), '+', wrapped(qual));
  }
  return new TextEncoder().encode(lines.join('\n') + '\n');
}

function source(blk: Uint8Array, copies: number): ByteSource {
  return {
    uri: 'mem',
    label: 'bench.fq',
    size: blk.length * copies,
    compression: 'none',
    rawBytesRead: () => 0,
    chunks: async function* () {
      // 64 KiB pieces, as the gunzip stream delivers them
      for (let c = 0; c < copies; c++) {
        await Promise.resolve();
        for (let i = 0; i < blk.length; i += 65536) yield blk.subarray(i, i + 65536);
      }
    },
  };
}

async function run(blk: Uint8Array, copies: number, parse: boolean): Promise<{ ms: number; cpu: number; records: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const rd = new RecordReader(source(blk, copies));
  const format = await rd.detect();
  let records = 0;
  const out = allocParsed(8192);
  for (;;) {
    const c = await rd.next(8192);
    if (!c) break;
    if (parse) parseRecords(c.bytes, c.records, { label: 'bench.fq', firstRecord: c.firstRecord, firstLine: c.firstLine, format, quality: 'phred33' }, out);
    records += c.records;
  }
  const cpu = process.cpuUsage(cpu0);
  return { ms: performance.now() - t0, cpu: (cpu.user + cpu.system) / 1000, records };
}

async function main(): Promise<void> {
  const per = 25_000;
  for (const [name, wrap] of [['4-line', 0], ['wrapped at 60', 60]] as const) {
    const blk = block(per, wrap);
    const copies = Math.ceil(reads / per);
    const mb = (blk.length * copies) / 1e6;
    for (const parse of [false, true]) {
      let best = { ms: Infinity, cpu: Infinity, records: 0 };
      try {
        for (let r = 0; r < reps; r++) {
          const x = await run(blk, copies, parse);
          best = { ms: Math.min(best.ms, x.ms), cpu: Math.min(best.cpu, x.cpu), records: x.records };
        }
      } catch (err) {
        console.log(`${name.padEnd(14)} ${parse ? 'frame+parse' : 'frame only '}  rejected: ${(err as Error).message}`);
        continue;
      }
      console.log(
        `${name.padEnd(14)} ${parse ? 'frame+parse' : 'frame only '}  ${best.records} reads  ${mb.toFixed(0)} MB  best ${best.ms.toFixed(0)} ms, best cpu ${best.cpu.toFixed(0)} ms  ${(mb / (best.ms / 1000)).toFixed(0)} MB/s`,
      );
    }
  }
}

await main();
