import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from './tools.js';

/** Deterministic PRNG for fixtures. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

export function randomSeq(len: number, r: () => number, gc = 0.5): string {
  let s = '';
  for (let i = 0; i < len; i++) {
    const x = r();
    s += x < gc / 2 ? 'G' : x < gc ? 'C' : x < gc + (1 - gc) / 2 ? 'A' : 'T';
  }
  return s;
}

export function revcomp(s: string): string {
  const c: Record<string, string> = { A: 'T', C: 'G', G: 'C', T: 'A', N: 'N' };
  return [...s].reverse().map((b) => c[b] ?? 'N').join('');
}

export interface PairFixture {
  r1: string;
  r2: string;
  ids: string[];
}

/** Read pairs sampled from a few random genomes with distinct GC (no errors, high quality). */
export function makePairs(n: number, seed = 1, opts: { readLen?: number; insert?: number; genomes?: number } = {}): PairFixture {
  const r = rng(seed);
  const readLen = opts.readLen ?? 100;
  const insert = opts.insert ?? 250;
  const genomes = Array.from({ length: opts.genomes ?? 3 }, (_, g) => randomSeq(20000, r, 0.3 + 0.2 * g));
  let r1 = '';
  let r2 = '';
  const ids: string[] = [];
  const qual = 'I'.repeat(readLen);
  for (let i = 0; i < n; i++) {
    const g = genomes[i % genomes.length]!;
    const pos = Math.floor(r() * (g.length - insert));
    const frag = g.slice(pos, pos + insert);
    const id = `frag${String(i).padStart(6, '0')}`;
    ids.push(id);
    r1 += `@${id}/1 g${i % genomes.length}\n${frag.slice(0, readLen)}\n+\n${qual}\n`;
    r2 += `@${id}/2 g${i % genomes.length}\n${revcomp(frag).slice(0, readLen)}\n+\n${qual}\n`;
  }
  return { r1, r2, ids };
}

export class TempDir {
  readonly path: string;
  constructor(prefix = 'metavec-test-') {
    this.path = mkdtempSync(join(tmpdir(), prefix));
  }
  file(name: string, content: string | Uint8Array, gzip = false): string {
    const p = join(this.path, name);
    writeFileSync(p, gzip ? gzipSync(content) : content);
    return p;
  }
  join(name: string): string {
    return join(this.path, name);
  }
  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

export const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');

export function runCli(args: string[], opts: { timeout?: number } = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: opts.timeout ?? 300_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
