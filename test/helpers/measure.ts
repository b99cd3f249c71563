import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from './fixtures.js';

/**
 * Runs the CLI with a preload that writes the process's peak RSS (getrusage maxrss, which counts Buffers and
 * typed arrays outside the V8 heap) to a file at exit, so tests can bound memory without /usr/bin/time.
 */
const dir = mkdtempSync(join(tmpdir(), 'metavec-rss-'));
const PRELOAD = join(dir, 'rss-reporter.cjs');
writeFileSync(
  PRELOAD,
  `process.on('exit', () => { const f = process.env.METAVEC_RSS_FILE; if (f) require('node:fs').writeFileSync(f, String(process.resourceUsage().maxRSS)); });\n`,
);
let seq = 0;

export interface MeasuredRun {
  status: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Peak resident set size in MiB (undefined when the process was killed before exiting). */
  peakRssMb: number | undefined;
}

export function runCliMeasured(args: string[], opts: { timeout?: number; env?: Record<string, string> } = {}): MeasuredRun {
  const rssFile = join(dir, `rss-${process.pid}-${seq++}`);
  const r = spawnSync(process.execPath, ['--require', PRELOAD, CLI, ...args], {
    encoding: 'utf8',
    timeout: opts.timeout ?? 120_000,
    env: { ...process.env, ...opts.env, METAVEC_RSS_FILE: rssFile },
  });
  let peak: number | undefined;
  try {
    peak = Number(readFileSync(rssFile, 'utf8')) / 1024;
  } catch {
    peak = undefined;
  }
  return { status: r.status ?? -1, signal: r.signal, stdout: r.stdout, stderr: r.stderr, peakRssMb: peak };
}

/** Starts the CLI asynchronously (for tests that kill it); resolves with its exit status or signal. */
export function startCli(args: string[], env: Record<string, string> = {}): { pid: number; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { pid: child.pid!, done };
}
