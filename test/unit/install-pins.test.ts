import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INSTALL_HINT } from '../../src/embed/onnx/runtime.js';
import { REPO_ROOT } from '../helpers/tools.js';

/**
 * Versions pinned in more than one install path must agree: the optional ONNX embedder's packages (setup.sh,
 * the worker image, the hint the CLI prints when they are missing) and Ray (ray/requirements.txt, the worker
 * image, the CDK app's default config).
 */
const read = (p: string): string => readFileSync(join(REPO_ROOT, p), 'utf8');
const one = (text: string, re: RegExp, where: string): string => {
  const m = re.exec(text);
  assert.ok(m?.[1], `${where}: no match for ${re}`);
  return m[1];
};

test('the ONNX embedder packages are pinned alike in setup.sh, the worker image and the CLI hint', () => {
  const setup = one(read('scripts/setup.sh'), /^ONNX_PACKAGES="([^"]+)"/m, 'scripts/setup.sh');
  const docker = one(read('infra/docker/Dockerfile'), /^ARG ONNX_PACKAGES="([^"]+)"/m, 'infra/docker/Dockerfile');
  assert.match(setup, /^onnxruntime-node@\d+\.\d+\.\d+ @huggingface\/tokenizers@\d+\.\d+\.\d+$/);
  assert.equal(docker, setup);
  assert.ok(INSTALL_HINT.includes(`npm install --no-save ${setup}`), INSTALL_HINT);
  // every path that installs onnxruntime-node stops its CUDA download unless it asks for CUDA on purpose
  assert.match(INSTALL_HINT, /^ONNXRUNTIME_NODE_INSTALL_CUDA=skip /);
  assert.match(read('scripts/setup.sh'), /^export ONNXRUNTIME_NODE_INSTALL_CUDA=skip$/m);
  assert.match(read('infra/docker/Dockerfile'), /^ENV ONNXRUNTIME_NODE_INSTALL_CUDA=skip/m);
});

test('Ray is pinned alike in ray/requirements.txt, the worker image and the CDK config', () => {
  const req = one(read('ray/requirements.txt'), /^ray\[[a-z,]+\]==(\S+)$/m, 'ray/requirements.txt');
  assert.equal(one(read('infra/docker/Dockerfile'), /^ARG RAY_VERSION=(\S+)$/m, 'infra/docker/Dockerfile'), req);
  assert.equal(one(read('infra/src/config.ts'), /rayVersion: '([^']+)'/, 'infra/src/config.ts'), req);
});
