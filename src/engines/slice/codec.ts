import {
  Binary, Field, FixedSizeList, Float32, Float64, Int32, makeData, RecordBatch, Schema, Struct, Table, tableFromIPC, tableToIPC,
  Uint32, Utf8, type Data, type DataType,
} from 'apache-arrow';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { MetavecError, type ErrorCode } from '../../errors.js';
import { ATTRS_PER_FRAGMENT, COUNTER_NAMES, type PrepBatchResult } from '../../prep/params.js';
import { allocStats } from '../../qc/stats.js';
import type { SpectrumPartial } from './sliceWork.js';

/**
 * Arrow IPC encoding of what crosses a process boundary in a distributed Phase 1 run: requests to a worker,
 * a slice's prep result (one row per kept fragment: read_id, lengths, QC attributes, dedup fingerprint,
 * embedding, optional clean FASTQ), a slice's spectrum partial, and errors. Each message is one complete IPC
 * stream (schema + one record batch); on a pipe it is framed by its byte length (frame.ts). Per-slice
 * counters and QC statistics (integer sums) travel as JSON in the schema metadata.
 */

const KIND = 'metavec.kind';

function col(type: DataType, length: number, init: Record<string, unknown>): Data {
  return makeData({ type, length, nullCount: 0, ...init } as Parameters<typeof makeData>[0]);
}

function fixedList<T extends DataType>(child: T, size: number, n: number, values: ArrayLike<number>): Data {
  const childData = col(child, n * size, { data: values });
  return col(new FixedSizeList(size, new Field('item', child, false)), n, { child: childData });
}

function encode(fields: Field[], children: Data[], length: number, meta: Record<string, string>): Uint8Array {
  const schema = new Schema(fields, new Map(Object.entries(meta)));
  const data = makeData({ type: new Struct(fields), length, nullCount: 0, children });
  return tableToIPC(new Table([new RecordBatch(schema, data)]), 'stream');
}

interface Decoded {
  kind: string;
  meta: Map<string, string>;
  batch: RecordBatch | undefined;
  length: number;
}

function decode(bytes: Uint8Array, what: string): Decoded {
  let t: Table;
  try {
    t = tableFromIPC(bytes);
  } catch (err) {
    throw new MetavecError('INTERNAL', `${what}: not an Arrow IPC stream (${(err as Error).message})`);
  }
  const meta = t.schema.metadata;
  if (t.batches.length > 1) throw new MetavecError('INTERNAL', `${what}: expected one record batch, got ${t.batches.length}`);
  const kind = meta.get(KIND) ?? '';
  if (kind === 'error') {
    throw new MetavecError((meta.get('metavec.code') ?? 'INTERNAL') as ErrorCode, meta.get('metavec.message') ?? 'worker failed');
  }
  return { kind, meta, batch: t.batches[0], length: t.numRows };
}

function childData(d: Decoded, name: string): Data {
  const i = d.batch ? d.batch.schema.fields.findIndex((f) => f.name === name) : -1;
  if (i < 0 || !d.batch) throw new MetavecError('INTERNAL', `arrow: column ${name} missing`);
  return d.batch.data.children[i]!;
}

function values<T extends Int32Array | Uint32Array | Float32Array | Float64Array | Uint8Array>(d: Data, width: number, ctor: new (n: number) => T): T {
  const child = (d.children[0] ?? d);
  const v = child.values as T;
  const start = (child.offset + (d.children[0] ? d.offset * width : 0));
  const out = new ctor(d.length * width);
  out.set(v.subarray(start, start + d.length * width));
  return out;
}

function varBinary(d: Data): { bytes: Uint8Array; offsets: Int32Array } {
  const offs = d.valueOffsets as Int32Array;
  const base = offs[d.offset]!;
  const offsets = new Int32Array(d.length + 1);
  for (let i = 0; i <= d.length; i++) offsets[i] = offs[d.offset + i]! - base;
  const bytes = (d.values as Uint8Array).slice(base, base + offsets[d.length]!);
  return { bytes, offsets };
}

/** A slice's prep result (positions relative to the slice's first fragment). */
export function encodePrepResult(r: PrepBatchResult, dim: number, slice: number): Uint8Array {
  const n = r.kept;
  const fields: Field[] = [
    new Field('position', new Int32(), false),
    new Field('read_id', new Utf8(), false),
    new Field('lengths', new FixedSizeList(2, new Field('item', new Int32(), false)), false),
    new Field('attrs', new FixedSizeList(ATTRS_PER_FRAGMENT, new Field('item', new Float32(), false)), false),
    new Field('hash', new FixedSizeList(2, new Field('item', new Uint32(), false)), false),
    new Field('embedding', new FixedSizeList(dim, new Field('item', new Float32(), false)), false),
  ];
  const children = [
    col(new Int32(), n, { data: r.positions.subarray(0, n) }),
    col(new Utf8(), n, { valueOffsets: r.idOffsets.subarray(0, n + 1), data: r.idBytes.subarray(0, r.idOffsets[n]) }),
    fixedList(new Int32(), 2, n, r.lengths.subarray(0, 2 * n)),
    fixedList(new Float32(), ATTRS_PER_FRAGMENT, n, r.attrs.subarray(0, ATTRS_PER_FRAGMENT * n)),
    fixedList(new Uint32(), 2, n, r.hashes.subarray(0, 2 * n)),
    fixedList(new Float32(), dim, n, r.embedding.subarray(0, dim * n)),
  ];
  if (r.minimizers && r.minimizerOffsets) {
    // minimizer sketch: per fragment its hi/lo word pairs as bytes (8 per minimizer)
    const offs = new Int32Array(n + 1);
    for (let i = 0; i <= n; i++) offs[i] = 8 * r.minimizerOffsets[i]!;
    fields.push(new Field('minimizers', new Binary(), false));
    children.push(col(new Binary(), n, { valueOffsets: offs, data: new Uint8Array(r.minimizers.buffer, r.minimizers.byteOffset, offs[n]) }));
  }
  for (const [name, data, offs] of [['fastq1', r.fastq1, r.fastqOffsets1], ['fastq2', r.fastq2, r.fastqOffsets2]] as const) {
    if (!data || !offs) continue;
    fields.push(new Field(name, new Binary(), false));
    children.push(col(new Binary(), n, { valueOffsets: offs.subarray(0, n + 1), data: data.subarray(0, offs[n]) }));
  }
  return encode(fields, children, n, {
    [KIND]: 'prep',
    'metavec.slice': String(slice),
    'metavec.dim': String(dim),
    'metavec.counters': JSON.stringify(Array.from(r.counters)),
    // Sparse: most of the statistics array is zero.
    'metavec.stats': JSON.stringify(sparse(r.stats)),
  });
}

function sparse(a: Float64Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) out.push(i, a[i]!);
  return out;
}

export function decodePrepResult(bytes: Uint8Array): { slice: number; result: PrepBatchResult } {
  const d = decode(bytes, 'prep result');
  if (d.kind !== 'prep') throw new MetavecError('INTERNAL', `prep result: unexpected message kind ${JSON.stringify(d.kind)}`);
  const dim = Number(d.meta.get('metavec.dim'));
  const n = d.length;
  const counters = Float64Array.from(JSON.parse(d.meta.get('metavec.counters') ?? '[]') as number[]);
  if (counters.length !== COUNTER_NAMES.length) throw new MetavecError('INTERNAL', `prep result: ${counters.length} counters, expected ${COUNTER_NAMES.length}`);
  const stats = allocStats();
  const sp = JSON.parse(d.meta.get('metavec.stats') ?? '[]') as number[];
  for (let i = 0; i < sp.length; i += 2) stats[sp[i]!] = sp[i + 1]!;
  const empty = n === 0 || !d.batch;
  const ids = empty ? { bytes: new Uint8Array(0), offsets: new Int32Array(1) } : varBinary(childData(d, 'read_id'));
  const result: PrepBatchResult = {
    index: Number(d.meta.get('metavec.slice')),
    kept: n,
    positions: empty ? new Int32Array(0) : values(childData(d, 'position'), 1, Int32Array),
    idBytes: ids.bytes,
    idOffsets: ids.offsets,
    lengths: empty ? new Int32Array(0) : values(childData(d, 'lengths'), 2, Int32Array),
    attrs: empty ? new Float32Array(0) : values(childData(d, 'attrs'), ATTRS_PER_FRAGMENT, Float32Array),
    hashes: empty ? new Uint32Array(0) : values(childData(d, 'hash'), 2, Uint32Array),
    embedding: empty ? new Float32Array(0) : values(childData(d, 'embedding'), dim, Float32Array),
    counters,
    stats,
  };
  const names = d.batch?.schema.fields.map((f) => f.name) ?? [];
  if (names.includes('minimizers')) {
    const f = varBinary(childData(d, 'minimizers'));
    result.minimizers = new Uint32Array(f.bytes.slice().buffer, 0, f.bytes.length / 4);
    result.minimizerOffsets = f.offsets.map((o) => o / 8);
  }
  if (names.includes('fastq1')) {
    const f = varBinary(childData(d, 'fastq1'));
    result.fastq1 = f.bytes;
    result.fastqOffsets1 = f.offsets;
  }
  if (names.includes('fastq2')) {
    const f = varBinary(childData(d, 'fastq2'));
    result.fastq2 = f.bytes;
    result.fastqOffsets2 = f.offsets;
  }
  return { slice: result.index, result };
}

/** A slice's pass-1 partial: one row; the sketch deflated (mostly small levels and zeros). */
export function encodeSpectrum(p: SpectrumPartial): Uint8Array {
  const fields = [
    new Field('kmers', new Float64(), false),
    new Field('sketch', new Binary(), false),
    new Field('sub_keys', new Binary(), false),
    new Field('sub_counts', new Binary(), false),
  ];
  const bin = (b: Uint8Array) => col(new Binary(), 1, { valueOffsets: Int32Array.of(0, b.length), data: b });
  const asBytes = (a: Uint32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const children = [col(new Float64(), 1, { data: Float64Array.of(p.kmers) }), bin(deflateRawSync(p.cells, { level: 1 })), bin(asBytes(p.keys)), bin(asBytes(p.counts))];
  return encode(fields, children, 1, { [KIND]: 'spectrum', 'metavec.slice': String(p.slice), 'metavec.cells': String(p.cells.length) });
}

export function decodeSpectrum(bytes: Uint8Array): SpectrumPartial {
  const d = decode(bytes, 'spectrum partial');
  if (d.kind !== 'spectrum') throw new MetavecError('INTERNAL', `spectrum partial: unexpected message kind ${JSON.stringify(d.kind)}`);
  const one = (name: string) => varBinary(childData(d, name)).bytes;
  const u32 = (b: Uint8Array) => new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  const cells = new Uint8Array(inflateRawSync(one('sketch')));
  if (cells.length !== Number(d.meta.get('metavec.cells'))) throw new MetavecError('INTERNAL', `spectrum partial: sketch of ${cells.length} bytes, expected ${d.meta.get('metavec.cells')}`);
  return {
    slice: Number(d.meta.get('metavec.slice')),
    kmers: values(childData(d, 'kmers'), 1, Float64Array)[0]!,
    cells,
    keys: u32(one('sub_keys')),
    counts: u32(one('sub_counts')),
  };
}

export function encodeError(code: string, message: string): Uint8Array {
  return encode([], [], 0, { [KIND]: 'error', 'metavec.code': code, 'metavec.message': message });
}

/** A request to a slice worker. Inline bytes are used for inputs the worker cannot read by range (gzip). */
export interface SliceRequest {
  op: 'spectrum' | 'prep';
  plan: string;
  slice: number;
  r1?: Uint8Array;
  r2?: Uint8Array;
}

export function encodeRequest(q: SliceRequest): Uint8Array {
  const fields: Field[] = [new Field('op', new Utf8(), false), new Field('plan', new Utf8(), false), new Field('slice', new Int32(), false)];
  const enc = new TextEncoder();
  const str = (s: string) => col(new Utf8(), 1, { valueOffsets: Int32Array.of(0, enc.encode(s).length), data: enc.encode(s) });
  const children = [str(q.op), str(q.plan), col(new Int32(), 1, { data: Int32Array.of(q.slice) })];
  for (const [name, b] of [['r1', q.r1], ['r2', q.r2]] as const) {
    if (!b) continue;
    fields.push(new Field(name, new Binary(), false));
    children.push(col(new Binary(), 1, { valueOffsets: Int32Array.of(0, b.length), data: b }));
  }
  return encode(fields, children, 1, { [KIND]: 'request' });
}

export function decodeRequest(bytes: Uint8Array): SliceRequest {
  const d = decode(bytes, 'request');
  const names = d.batch?.schema.fields.map((f) => f.name) ?? [];
  const text = (name: string) => new TextDecoder().decode(varBinary(childData(d, name)).bytes);
  const op = text('op');
  if (op !== 'spectrum' && op !== 'prep') throw new MetavecError('USAGE', `prep-worker: unknown op ${JSON.stringify(op)} (spectrum, prep)`);
  const q: SliceRequest = { op, plan: text('plan'), slice: values(childData(d, 'slice'), 1, Int32Array)[0]! };
  if (names.includes('r1')) q.r1 = varBinary(childData(d, 'r1')).bytes;
  if (names.includes('r2')) q.r2 = varBinary(childData(d, 'r2')).bytes;
  return q;
}

/** Decompressed bytes of one mate of one slice (`prep-cut`: a driver ships gzip slices inline). */
export function encodeSliceBytes(slice: number, mate: 'r1' | 'r2', bytes: Uint8Array): Uint8Array {
  const enc = new TextEncoder().encode(mate);
  const fields = [new Field('slice', new Int32(), false), new Field('mate', new Utf8(), false), new Field('data', new Binary(), false)];
  const children = [
    col(new Int32(), 1, { data: Int32Array.of(slice) }),
    col(new Utf8(), 1, { valueOffsets: Int32Array.of(0, enc.length), data: enc }),
    col(new Binary(), 1, { valueOffsets: Int32Array.of(0, bytes.length), data: bytes }),
  ];
  return encode(fields, children, 1, { [KIND]: 'slice-bytes' });
}
