/**
 * Cluster results as NetCDF-4 (an HDF5 file following the netCDF-4 conventions), written with h5wasm.
 *
 * Layout (see docs/formats-phase2.md):
 *   dimensions: cluster = k, dim = d, iteration = number of recorded objective values (only with an objective)
 *   coordinate variables: int cluster(cluster) = 0..k-1; dim(dim) = the dimension names (string) when given,
 *   else int 0..d-1
 *   variables:  float centroids(cluster, dim); int cluster_size(cluster); double objective(iteration) (only
 *   for methods with a per-iteration objective)
 *   global attributes: method, k, seed, tool_version, plus any caller attributes (e.g. embedding, Conventions)
 *
 * How the netCDF-4 mapping is achieved with plain HDF5:
 *  - every dimension is an HDF5 dimension scale (a dataset of the dimension's length); a coordinate variable
 *    (cluster, dim) is the scale itself, named after the dimension; the others (iteration) carry netCDF-C's
 *    marker for "dimension without coordinate variable" as NAME:
 *    "This is a netCDF dimension but not a netCDF variable." + the length right-aligned in 10 characters;
 *  - each variable attaches the scales of its dimensions (otherwise netCDF shows phony_dim_N);
 *  - the file tracks creation order, so variables and attributes keep the order they were written in;
 *  - string attributes are fixed-length ASCII/UTF-8 bytes (variable-length strings become netCDF `string`
 *    attributes, which cannot be converted to the classic model);
 *  - integer attributes within int32 are written as int, other numbers as double.
 */
import { access, open } from 'node:fs/promises';
import h5wasm from 'h5wasm/node';
import type { Dataset, File as H5File } from 'h5wasm/node';
import { MetavecError, inputError } from '../errors.js';
import { TOOL_VERSION } from '../version.js';
import { produceAtomic } from './atomic.js';

export type AttrValue = string | number;

export interface ClustersNetcdf {
  /** Row-major k x d centroid matrix. */
  centroids: Float32Array;
  k: number;
  d: number;
  /** Reads per cluster (length k). */
  clusterSize: Int32Array;
  /** Objective value after each iteration (may be empty); undefined: the method has none (no variable). */
  objective?: Float64Array;
  /** Name of each embedding dimension (length d), the `dim` coordinate; undefined: indices 0..d-1. */
  dimNames?: string[];
  /** long_name of the variables (defaults: the k-means meanings). */
  longNames?: { centroids?: string; objective?: string; dim?: string };
  /**
   * Global attributes. `method` and `seed` are required; `k` and `tool_version` are set by the writer
   * (values passed here for them are ignored). Names must be netCDF names (letters, digits, _ . @ + -).
   */
  attrs: Record<string, AttrValue>;
}

/** What readClustersNetcdf returns: the written content plus all global attributes. */
export interface ClustersNetcdfContent {
  centroids: Float32Array;
  k: number;
  d: number;
  clusterSize: Int32Array;
  /** empty when the file has no objective variable */
  objective: Float64Array;
  /** the `dim` coordinate when it holds names */
  dimNames?: string[];
  /** long_name of each variable */
  longNames: Record<string, string>;
  attrs: Record<string, AttrValue>;
}

const DIM_WITHOUT_VARIABLE = 'This is a netCDF dimension but not a netCDF variable.';
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.@+-]*$/;

let ready: Promise<unknown> | undefined;
async function h5(): Promise<typeof h5wasm> {
  ready ??= h5wasm.ready;
  await ready;
  return h5wasm;
}

function writeAttr(target: H5File | Dataset, name: string, value: AttrValue): void {
  if (typeof value === 'string') {
    // Fixed-length string ('A<n>': C string, NUL-terminated padding, n = UTF-8 byte length, at least 1).
    const bytes = Math.max(1, Buffer.byteLength(value, 'utf8'));
    target.create_attribute(name, value, null, `A${bytes}`);
  } else if (Number.isInteger(value) && value >= -2147483648 && value <= 2147483647) {
    target.create_attribute(name, value, null, '<i');
  } else {
    target.create_attribute(name, value, null, '<d');
  }
}

function makeDimension(f: H5File, name: string, length: number): void {
  const ds = f.create_dataset({ name, data: new Float32Array(length), shape: [length] });
  ds.make_scale(`${DIM_WITHOUT_VARIABLE}${String(length).padStart(10, ' ')}`);
}

function checkInput(path: string, c: ClustersNetcdf): void {
  const bad = (msg: string): MetavecError => new MetavecError('INTERNAL', `writeClustersNetcdf ${path}: ${msg}`);
  if (!Number.isInteger(c.k) || c.k < 1) throw bad(`k must be a positive integer, got ${c.k}`);
  if (!Number.isInteger(c.d) || c.d < 1) throw bad(`d must be a positive integer, got ${c.d}`);
  if (c.centroids.length !== c.k * c.d) throw bad(`centroids has ${c.centroids.length} values, expected k*d = ${c.k * c.d}`);
  if (c.clusterSize.length !== c.k) throw bad(`cluster_size has ${c.clusterSize.length} values, expected k = ${c.k}`);
  if (c.dimNames && c.dimNames.length !== c.d) throw bad(`dimNames has ${c.dimNames.length} names, expected d = ${c.d}`);
  for (const req of ['method', 'seed']) {
    if (!(req in c.attrs)) throw bad(`attribute '${req}' is required`);
  }
  for (const [name, v] of Object.entries(c.attrs)) {
    if (!NAME_RE.test(name)) throw bad(`attribute name '${name}' is not a valid netCDF name`);
    if (typeof v === 'number' && !Number.isFinite(v)) throw bad(`attribute '${name}' is not finite (${v})`);
  }
}

/** Write cluster results as NetCDF-4, atomically (temporary file + rename). */
export async function writeClustersNetcdf(path: string, c: ClustersNetcdf): Promise<void> {
  checkInput(path, c);
  const lib = await h5();
  await produceAtomic(path, (tmp) => {
    const f = new lib.File(tmp, 'w', { track_order: true });
    try {
      // coordinate variables: the scale dataset holds the values and is named after its dimension
      const cluster = f.create_dataset({ name: 'cluster', data: Int32Array.from({ length: c.k }, (_, i) => i), shape: [c.k] });
      cluster.make_scale('cluster');
      writeAttr(cluster, 'long_name', 'cluster id (labels.parquet column cluster)');
      const dim = c.dimNames
        ? f.create_dataset({ name: 'dim', data: c.dimNames, shape: [c.d] })
        : f.create_dataset({ name: 'dim', data: Int32Array.from({ length: c.d }, (_, i) => i), shape: [c.d] });
      dim.make_scale('dim');
      writeAttr(dim, 'long_name', c.longNames?.dim ?? (c.dimNames ? 'name of the embedding dimension' : 'index of the embedding dimension'));
      if (c.objective) makeDimension(f, 'iteration', c.objective.length);

      const centroids = f.create_dataset({ name: 'centroids', data: c.centroids, shape: [c.k, c.d] });
      centroids.attach_scale(0, 'cluster');
      centroids.attach_scale(1, 'dim');
      writeAttr(centroids, 'long_name', c.longNames?.centroids ?? 'cluster centroids in embedding space');

      const size = f.create_dataset({ name: 'cluster_size', data: c.clusterSize, shape: [c.k] });
      size.attach_scale(0, 'cluster');
      writeAttr(size, 'long_name', 'number of fragments (read pairs) assigned to the cluster');

      if (c.objective) {
        const objective = f.create_dataset({ name: 'objective', data: c.objective, shape: [c.objective.length] });
        objective.attach_scale(0, 'iteration');
        writeAttr(objective, 'long_name', c.longNames?.objective ?? 'clustering objective after each iteration');
      }

      writeAttr(f, 'method', c.attrs.method as AttrValue);
      writeAttr(f, 'k', c.k);
      writeAttr(f, 'seed', c.attrs.seed as AttrValue);
      writeAttr(f, 'tool_version', TOOL_VERSION);
      for (const [name, value] of Object.entries(c.attrs)) {
        if (name === 'method' || name === 'seed' || name === 'k' || name === 'tool_version') continue;
        writeAttr(f, name, value);
      }
    } finally {
      f.close();
    }
    return Promise.resolve();
  });
}

/** h5wasm decodes fixed-length ASCII-tagged strings byte by byte; restore UTF-8 text. */
function fixString(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(s) || !/^[\x00-\xff]*$/.test(s)) return s;
  return Buffer.from(s, 'latin1').toString('utf8');
}

function attrValue(path: string, name: string, v: unknown): AttrValue {
  if (typeof v === 'string') return fixString(v);
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (ArrayBuffer.isView(v) && !(v instanceof DataView) && (v as unknown as ArrayLike<unknown>).length === 1) {
    return attrValue(path, name, (v as unknown as ArrayLike<unknown>)[0]);
  }
  if (Array.isArray(v) && v.length === 1) return attrValue(path, name, v[0]);
  throw inputError(`${path}: global attribute '${name}' has an unsupported type`);
}

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * True when the file carries the HDF5 superblock signature (at offset 0, or 512, 1024, 2048, ... after a
 * user block). Checked before handing the file to h5wasm, which reports failures only as HDF5 diagnostics
 * on stderr and an invalid handle.
 */
async function hasHdf5Signature(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const buf = Buffer.alloc(8);
    for (let off = 0; off + 8 <= size && off <= 1 << 30; off = off === 0 ? 512 : off * 2) {
      const { bytesRead } = await fh.read(buf, 0, 8, off);
      if (bytesRead === 8 && buf.equals(HDF5_SIGNATURE)) return true;
    }
    return false;
  } finally {
    await fh.close();
  }
}

/** Read a file written by writeClustersNetcdf. */
export async function readClustersNetcdf(path: string): Promise<ClustersNetcdfContent> {
  try {
    await access(path);
    if (!(await hasHdf5Signature(path))) {
      throw inputError(`${path}: not a NetCDF-4 file (no HDF5 signature; classic netCDF and other formats are not read)`);
    }
  } catch (err) {
    if (err instanceof MetavecError) throw err;
    throw new MetavecError('INPUT', `${path}: cannot open (no such file or not readable)`, { cause: err });
  }
  const lib = await h5();
  let f: H5File;
  try {
    f = new lib.File(path, 'r');
  } catch (err) {
    throw new MetavecError('INPUT', `${path}: cannot open as NetCDF-4/HDF5 (${String(err)})`, { cause: err });
  }
  if (f.file_id < 0n) throw inputError(`${path}: cannot open as NetCDF-4/HDF5 (corrupt file?)`);
  try {
    const names = new Set(f.keys());
    const get = (name: string): Dataset => {
      if (!names.has(name)) throw inputError(`${path}: no variable '${name}' (found: ${Array.from(names).join(', ') || 'none'})`);
      const ds = f.get(name);
      if (!(ds instanceof lib.Dataset)) throw inputError(`${path}: no variable '${name}'`);
      return ds;
    };
    const cds = get('centroids');
    const shape = cds.shape ?? [];
    if (shape.length !== 2) throw inputError(`${path}: centroids has ${shape.length} dimensions, expected 2`);
    const [k, d] = shape as [number, number];
    const centroids = Float32Array.from(cds.value as ArrayLike<number>);
    const clusterSize = Int32Array.from(get('cluster_size').value as ArrayLike<number>);
    const objective = names.has('objective') ? Float64Array.from(get('objective').value as ArrayLike<number>) : new Float64Array(0);
    let dimNames: string[] | undefined;
    if (names.has('dim')) {
      const v = get('dim').value as unknown;
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) dimNames = v.map(fixString);
    }
    const longNames: Record<string, string> = {};
    for (const name of names) {
      const ds = f.get(name);
      const ln = ds instanceof lib.Dataset ? ds.attrs.long_name?.value : undefined;
      if (typeof ln === 'string') longNames[name] = fixString(ln);
    }
    const attrs: Record<string, AttrValue> = {};
    for (const [name, a] of Object.entries(f.attrs)) attrs[name] = attrValue(path, name, a.value);
    return { centroids, k, d, clusterSize, objective, ...(dimNames ? { dimNames } : {}), longNames, attrs };
  } finally {
    f.close();
  }
}
