import { readFileSync } from 'node:fs';

/** Tool version, read once from package.json (works from src/ via tsc output in dist/src/). */
function readVersion(): string {
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'metavec' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0';
}

export const TOOL_VERSION = readVersion();
export const TOOL_NAME = 'metavec';
