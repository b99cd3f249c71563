import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

/** Repository root (tests run from dist/test/...). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const SHARED_DATA = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));
export const IN_CI = process.env.CI === 'true';

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Skip a test when an external tool is missing, with a visible reason; under CI=true a missing tool is a
 * failure (CI installs everything).
 */
export function requireTool(t: TestContext, ok: boolean, what: string): boolean {
  if (ok) return true;
  if (IN_CI) throw new Error(`required in CI but missing: ${what}`);
  t.skip(`missing: ${what}`);
  return false;
}

export function devCommunity(): string | undefined {
  const dir = `${SHARED_DATA}dev-community/`;
  return existsSync(`${dir}R1.fastq.gz`) ? dir : undefined;
}
