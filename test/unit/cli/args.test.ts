import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetavecError } from '../../../src/errors.js';
import { choiceOption, floatOption, intOption, parseCommand, sizeOption } from '../../../src/cli/args.js';

const usage = (re: RegExp) => (e: unknown): boolean => e instanceof MetavecError && e.code === 'USAGE' && re.test(e.message);

const OPTIONS = {
  input: { type: 'string', multiple: true },
  references: { type: 'string', multiple: true },
  threads: { type: 'string' },
  quiet: { type: 'boolean' },
} as const;

void test('parseCommand: --references takes every following value; other options one each', () => {
  const { values } = parseCommand('cluster', ['--references', 'a.fa', 'b.fa', '--threads', '2', '--input', 'x', '--quiet'], OPTIONS);
  assert.deepEqual(values.references, ['a.fa', 'b.fa']);
  assert.equal(values.threads, '2');
  assert.deepEqual(values.input, ['x']);
  assert.equal(values.quiet, true);
});

void test('parseCommand: unknown options and stray values are usage errors naming the command, with a suggestion', () => {
  assert.throws(() => parseCommand('prep', ['--thread', '2'], OPTIONS), usage(/^prep: Unknown option '--thread'.*did you mean --threads\?.*\(see 'metavec prep --help'\)$/));
  assert.throws(() => parseCommand('prep', ['stray'], OPTIONS), usage(/^prep: /));
  assert.throws(() => parseCommand('prep', ['--threads'], OPTIONS), usage(/--threads/));
});

void test('numeric and choice options: defaults, bounds, messages naming the option and value', () => {
  assert.equal(intOption('prep', 'threads', undefined, 4, 1, 256), 4);
  assert.equal(intOption('prep', 'threads', '8', 4, 1, 256), 8);
  assert.throws(() => intOption('prep', 'threads', '0', 4, 1, 256), usage(/^prep: --threads must be an integer in \[1, 256\], got '0'$/));
  assert.throws(() => intOption('prep', 'threads', '2.5', 4, 1, 256), usage(/got '2\.5'/));
  assert.equal(floatOption('cluster', 'tol', '1e-3', 1e-4, 0, 1), 1e-3);
  assert.throws(() => floatOption('cluster', 'tol', 'NaN', 1e-4, 0, 1), usage(/--tol must be a number in \[0, 1\], got 'NaN'/));
  assert.equal(choiceOption('prep', 'phred', undefined, 'auto', ['auto', '33'] as const), 'auto');
  assert.throws(() => choiceOption('prep', 'phred', '65', 'auto', ['auto', '33'] as const), usage(/--phred must be one of auto, 33, got '65'/));
});

void test('sizeOption: k/M/G (binary), optional i and B, fractions; anything else refused', () => {
  assert.equal(sizeOption('prep', 'dedup-mem', undefined, 7), 7);
  assert.equal(sizeOption('prep', 'dedup-mem', '512', 0), 512);
  assert.equal(sizeOption('prep', 'dedup-mem', '64M', 0), 64 << 20);
  assert.equal(sizeOption('prep', 'dedup-mem', '1GiB', 0), 1 << 30);
  assert.equal(sizeOption('prep', 'dedup-mem', '1.5k', 0), 1536);
  assert.throws(() => sizeOption('prep', 'dedup-mem', '64 MB', 0), usage(/--dedup-mem must be a size like 64M or 1G, got '64 MB'/));
  assert.throws(() => sizeOption('prep', 'dedup-mem', '1T', 0), usage(/got '1T'/));
});
