import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { MetavecError } from '../../errors.js';
import { buildZip, type ZipEntry } from './zip.js';

/**
 * The Ray job's working directory: what the job needs to run metavec on the cluster, with no Python or build
 * step on the client: package.json, the compiled dist/src, the ray/ driver and the production dependencies
 * in node_modules (their native parts are linux-x64, so the client must be linux-x64 too, as the cluster's
 * nodes are). Named by the hash of its content, so an unchanged package is uploaded once.
 */

async function walk(dir: string, keep: (path: string) => boolean, out: string[]): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const n of names.sort()) {
    const p = join(dir, n);
    const s = await stat(p);
    if (s.isDirectory()) await walk(p, keep, out);
    else if (s.isFile() && keep(p)) out.push(p);
  }
}

/** Production dependency folders (package.json dependencies + optionalDependencies, transitively, as installed). */
export async function productionModules(root: string): Promise<string[]> {
  const seen = new Set<string>();
  const queue: string[] = [];
  const addDeps = async (pkgJson: string) => {
    const pkg = JSON.parse(await readFile(pkgJson, 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    for (const name of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) if (!seen.has(name)) queue.push(name);
  };
  await addDeps(join(root, 'package.json'));
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const dir = join(root, 'node_modules', name);
    try {
      await addDeps(join(dir, 'package.json'));
    } catch {
      seen.delete(name); // an optional dependency that is not installed (another platform's binary)
      seen.add(`!${name}`);
    }
  }
  return [...seen].filter((n) => !n.startsWith('!')).sort().map((n) => join('node_modules', n));
}

export interface RayPackage {
  /** gcs://_ray_pkg_<hex>.zip */
  uri: string;
  files: number;
  bytes: number;
  /** Builds the zip (only needed when the cluster does not have the package yet). */
  zip(): Uint8Array;
}

export async function buildRayPackage(root: string): Promise<RayPackage> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new MetavecError('USAGE', `prep: --engine ray packages this installation's node_modules (native DuckDB for ${process.platform}-${process.arch}); the Ray nodes run linux-x64: submit from a linux-x64 machine (docs/ray.md)`);
  }
  const files: string[] = [];
  const noMaps = (p: string) => !p.endsWith('.map') && !p.endsWith('.d.ts') && !p.endsWith('.d.mts');
  files.push(join(root, 'package.json'));
  await walk(join(root, 'dist', 'src'), noMaps, files);
  await walk(join(root, 'ray'), (p) => p.endsWith('.py'), files);
  for (const m of await productionModules(root)) await walk(join(root, m), noMaps, files);
  if (!files.some((f) => f.endsWith(join('dist', 'src', 'cli', 'main.js')))) {
    throw new MetavecError('USAGE', `prep: ${join(root, 'dist/src/cli/main.js')} is missing: build metavec first (npx tsc -p tsconfig.json)`);
  }
  const entries: ZipEntry[] = [];
  const hash = createHash('sha256');
  let bytes = 0;
  for (const f of files) {
    const data = new Uint8Array(await readFile(f));
    const name = relative(root, f).split(sep).join('/');
    const mode = (await stat(f)).mode & 0o777;
    entries.push({ name, data, mode });
    hash.update(name).update('\0').update(String(mode)).update('\0').update(data);
    bytes += data.length;
  }
  return {
    uri: `gcs://_ray_pkg_${hash.digest('hex').slice(0, 32)}.zip`,
    files: entries.length,
    bytes,
    zip: () => buildZip(entries),
  };
}
