import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetavecError } from '../../../src/errors.js';
import { readClustersNetcdf, writeClustersNetcdf, type ClustersNetcdf } from '../../../src/io/netcdf.js';
import { TOOL_VERSION } from '../../../src/version.js';
import { hasCommand, requireTool } from '../../helpers/tools.js';

function pythonWith(module: string): string | undefined {
  for (const py of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(py, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0) return py;
  }
  return undefined;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'metavec-netcdf-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function sample(k = 3, d = 4, iterations = 5): ClustersNetcdf {
  return {
    centroids: Float32Array.from({ length: k * d }, (_, i) => Math.sin(i + 1) / 3),
    k,
    d,
    clusterSize: Int32Array.from({ length: k }, (_, i) => 100 * (i + 1)),
    objective: Float64Array.from({ length: iterations }, (_, i) => 1000 / (i + 1) + 0.125),
    attrs: { method: 'spherical-kmeans', seed: 42, embedding: 'kmer4-pca16', Conventions: 'CF-1.8', tol: 1e-4 },
  };
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

void test('clusters.nc round trip through readClustersNetcdf, atomically', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'res', 'clusters.nc');
    const c = sample();
    await writeClustersNetcdf(path, c);
    const back = await readClustersNetcdf(path);
    assert.equal(back.k, 3);
    assert.equal(back.d, 4);
    assert.deepEqual(back.centroids, c.centroids);
    assert.deepEqual(back.clusterSize, c.clusterSize);
    assert.deepEqual(back.objective, c.objective);
    assert.deepEqual(back.attrs, {
      method: 'spherical-kmeans',
      k: 3,
      seed: 42,
      tool_version: TOOL_VERSION,
      embedding: 'kmer4-pca16',
      Conventions: 'CF-1.8',
      tol: 1e-4,
    });
    assert.equal(back.dimNames, undefined, 'no names given: dim holds indices');
    assert.equal(back.longNames.centroids, 'cluster centroids in embedding space');
    assert.deepEqual(readdirSync(join(dir, 'res')), ['clusters.nc']);
    // Dimension names, no objective (a method without a per-iteration objective), own long names.
    const named = { ...sample(2, 3), objective: undefined, dimNames: ['AAA', 'AAC', 'ACA'], longNames: { centroids: 'pooled profile', dim: 'canonical 3-mer' } };
    await writeClustersNetcdf(path, named);
    const b3 = await readClustersNetcdf(path);
    assert.deepEqual(b3.dimNames, ['AAA', 'AAC', 'ACA']);
    assert.equal(b3.objective.length, 0);
    assert.deepEqual(b3.longNames, { cluster: 'cluster id (labels.parquet column cluster)', dim: 'canonical 3-mer', centroids: 'pooled profile', cluster_size: 'number of fragments (read pairs) assigned to the cluster' });
    await assert.rejects(writeClustersNetcdf(path, { ...named, dimNames: ['AAA'] }), /dimNames has 1 names, expected d = 3/);
    // No iterations recorded, non-ASCII attribute.
    const empty = { ...sample(2, 3, 0), attrs: { method: 'kmeans', seed: 7, note: 'café Ω' } };
    await writeClustersNetcdf(path, empty);
    const back2 = await readClustersNetcdf(path);
    assert.equal(back2.objective.length, 0);
    assert.equal(back2.attrs.note, 'café Ω');
    assert.deepEqual(back2.centroids, empty.centroids);
  });
});

void test('ncdump -h shows named dimensions, variables and global attributes', async (t) => {
  if (!requireTool(t, hasCommand('ncdump'), 'ncdump (Debian netcdf-bin)')) return;
  await withDir(async (dir) => {
    const path = join(dir, 'clusters.nc');
    await writeClustersNetcdf(path, sample());
    const out = run('ncdump', ['-h', path]);
    t.diagnostic(out);
    for (const s of [
      'cluster = 3 ;',
      'dim = 4 ;',
      'int cluster(cluster) ;',
      'int dim(dim) ;',
      'iteration = 5 ;',
      'float centroids(cluster, dim) ;',
      'int cluster_size(cluster) ;',
      'double objective(iteration) ;',
      ':method = "spherical-kmeans" ;',
      ':k = 3 ;',
      ':seed = 42 ;',
      `:tool_version = "${TOOL_VERSION}" ;`,
      ':embedding = "kmer4-pca16" ;',
      ':Conventions = "CF-1.8" ;',
      ':tol = 0.0001 ;',
    ]) {
      assert.ok(out.includes(s), `ncdump -h lacks '${s}'`);
    }
    assert.ok(!out.includes('phony_dim'), 'no phony dimensions');
    assert.ok(!/\bstring\s+:/.test(out), 'no variable-length string attributes');
    // Variables keep creation order (not alphabetical).
    assert.ok(out.indexOf('centroids(') < out.indexOf('cluster_size(') && out.indexOf('cluster_size(') < out.indexOf('objective('));
    const data = run('ncdump', ['-v', 'cluster_size,cluster', path]);
    assert.match(data, /cluster_size = 100, 200, 300 ;/);
    assert.match(data, /cluster = 0, 1, 2 ;/);
    // named dimensions: a string coordinate variable; no objective: no iteration dimension
    await writeClustersNetcdf(path, { ...sample(2, 2), objective: undefined, dimNames: ['AAAA/TTTT', 'AAAC/GTTT'] });
    const named = run('ncdump', [path]);
    t.diagnostic(named);
    assert.ok(named.includes('string dim(dim) ;'), named);
    assert.match(named, /dim = "AAAA\/TTTT", "AAAC\/GTTT" ;/);
    assert.ok(!named.includes('iteration') && !named.includes('objective'), 'no objective variable');
  });
});

void test('nccopy -k nc7 (netCDF-4 classic model) and -k classic accept the file', async (t) => {
  if (!requireTool(t, hasCommand('nccopy') && hasCommand('ncdump'), 'nccopy/ncdump (Debian netcdf-bin)')) return;
  await withDir(async (dir) => {
    const path = join(dir, 'clusters.nc');
    const classic = join(dir, 'classic.nc');
    await writeClustersNetcdf(path, sample());
    run('nccopy', ['-k', 'nc7', path, classic]);
    const out = run('ncdump', ['-k', classic]);
    assert.equal(out.trim(), 'netCDF-4 classic model');
    const h = run('ncdump', ['-h', classic]);
    assert.ok(h.includes('float centroids(cluster, dim) ;'));
    assert.ok(h.includes(':method = "spherical-kmeans" ;'));
    // Plain classic (CDF-1) works too.
    run('nccopy', ['-k', 'classic', path, join(dir, 'cdf1.nc')]);
    assert.equal(run('ncdump', ['-k', join(dir, 'cdf1.nc')]).trim(), 'classic');
    // And the same file with no iterations (zero-length dimension).
    await writeClustersNetcdf(path, sample(2, 2, 0));
    run('nccopy', ['-k', 'nc7', path, join(dir, 'classic0.nc')]);
    // dimension names are a netCDF-4 string variable: the classic model takes the other variables (-V)
    await writeClustersNetcdf(path, { ...sample(2, 2), dimNames: ['AA', 'AC'] });
    run('nccopy', ['-k', 'nc7', '-V', 'cluster,centroids,cluster_size,objective', path, join(dir, 'classic-named.nc')]);
    assert.ok(run('ncdump', ['-h', join(dir, 'classic-named.nc')]).includes('float centroids(cluster, dim) ;'));
  });
});

void test('python netCDF4 reads the centroids we wrote', async (t) => {
  const py = pythonWith('netCDF4');
  if (!requireTool(t, py !== undefined, 'python3 with netCDF4 (Debian python3-netcdf4)')) return;
  await withDir(async (dir) => {
    const path = join(dir, 'clusters.nc');
    const c = { ...sample(5, 7, 3), dimNames: ['AAAA', 'AAAC', 'AAAG', 'AAAT', 'AACA', 'AACC', 'AACG'] };
    await writeClustersNetcdf(path, c);
    const code = [
      'import json, sys, netCDF4',
      'ds = netCDF4.Dataset(sys.argv[1])',
      'v = ds.variables["centroids"]',
      'print(json.dumps({"dims": list(v.dimensions), "shape": list(v.shape), "dtype": str(v.dtype),',
      '  "values": [float(x) for x in v[:].ravel()], "sizes": [int(x) for x in ds.variables["cluster_size"][:]],',
      '  "objective": [float(x) for x in ds.variables["objective"][:]], "method": ds.getncattr("method"),',
      '  "k": int(ds.getncattr("k")), "model": ds.data_model, "dim": [str(x) for x in ds.variables["dim"][:]],',
      '  "cluster": [int(x) for x in ds.variables["cluster"][:]]}))',
    ].join('\n');
    const got = JSON.parse(run(py as string, ['-c', code, path])) as {
      dims: string[];
      shape: number[];
      dtype: string;
      values: number[];
      sizes: number[];
      objective: number[];
      method: string;
      k: number;
      model: string;
      dim: string[];
      cluster: number[];
    };
    assert.deepEqual(got.dim, c.dimNames);
    assert.deepEqual(got.cluster, [0, 1, 2, 3, 4]);
    assert.deepEqual(got.dims, ['cluster', 'dim']);
    assert.deepEqual(got.shape, [5, 7]);
    assert.equal(got.dtype, 'float32');
    assert.deepEqual(got.values, Array.from(c.centroids));
    assert.deepEqual(got.sizes, Array.from(c.clusterSize));
    assert.deepEqual(got.objective, Array.from(c.objective!));
    assert.equal(got.method, 'spherical-kmeans');
    assert.equal(got.k, 5);
    assert.equal(got.model, 'NETCDF4');
  });
});

void test('clusters.nc errors: bad input, missing and foreign files', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'clusters.nc');
    await assert.rejects(writeClustersNetcdf(path, { ...sample(), k: 2 }), /centroids has 12 values, expected k\*d = 8/);
    await assert.rejects(writeClustersNetcdf(path, { ...sample(), attrs: { seed: 1 } }), /attribute 'method' is required/);
    await assert.rejects(
      writeClustersNetcdf(path, { ...sample(), attrs: { method: 'x', seed: 1, 'bad/name': 'y' } }),
      /not a valid netCDF name/,
    );
    assert.deepEqual(readdirSync(dir), [], 'nothing written on bad input');
    const isInput = (re: RegExp) => (e: unknown) => e instanceof MetavecError && e.code === 'INPUT' && re.test(e.message);
    await assert.rejects(readClustersNetcdf(join(dir, 'nope.nc')), isInput(/nope\.nc: cannot open/));
    const text = join(dir, 'text.nc');
    writeFileSync(text, 'CDF\x01 not really netcdf\n');
    await assert.rejects(readClustersNetcdf(text), isInput(/text\.nc: not a NetCDF-4 file/));
  });
});
