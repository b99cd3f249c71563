import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { REPO_ROOT } from './tools.js';

/** The committed tiny DNABERT-architecture model (scripts/make-tiny-bert.py). */
export const TINY_BERT = join(REPO_ROOT, 'test/fixtures/tiny-bert');

/** Whether the optional ONNX packages are installed (scripts/setup.sh --system installs them). */
export function onnxPackagesInstalled(): boolean {
  const require = createRequire(import.meta.url);
  try {
    require.resolve('onnxruntime-node');
    require.resolve('@huggingface/tokenizers');
    return true;
  } catch {
    return false;
  }
}

/** A python that can build and evaluate the tiny model (numpy, onnx, tokenizers), or undefined. */
export function referencePython(): string | undefined {
  for (const py of [process.env.METAVEC_PYTHON, 'python3', '/usr/bin/python3']) {
    if (py && spawnSync(py, ['-c', 'import numpy, onnx, tokenizers'], { stdio: 'ignore' }).status === 0) return py;
  }
  return undefined;
}
