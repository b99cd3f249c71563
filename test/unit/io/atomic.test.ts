import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetavecError } from '../../../src/errors.js';
import { makeDirectory, outputError, produceAtomic, tempPathFor, writeFileAtomic } from '../../../src/io/atomic.js';
import { TempDir } from '../../helpers/fixtures.js';

void test('writeFileAtomic creates parents, replaces the file whole and leaves no temporary file', async () => {
  const dir = new TempDir('metavec-atomic-');
  try {
    const path = join(dir.path, 'a', 'b', 'summary.json');
    await writeFileAtomic(path, '{"v":1}\n');
    await writeFileAtomic(path, new TextEncoder().encode('{"v":2}\n'));
    assert.equal(readFileSync(path, 'utf8'), '{"v":2}\n');
    assert.deepEqual(readdirSync(join(dir.path, 'a', 'b')), ['summary.json']);
    assert.match(tempPathFor(path), /\/a\/b\/\.summary\.json\.[0-9a-f]{8}\.tmp$/);
  } finally {
    dir.remove();
  }
});

void test('produceAtomic: a failing producer leaves neither the final name nor its temporary file', async () => {
  const dir = new TempDir('metavec-atomic-');
  try {
    const path = join(dir.path, 'labels.parquet');
    await assert.rejects(
      produceAtomic(path, (tmp) => {
        writeFileSync(tmp, 'half');
        return Promise.reject(Object.assign(new Error('write failed'), { code: 'ENOSPC' }));
      }),
      (e: unknown) => e instanceof MetavecError && e.code === 'OUTPUT' && /^output: \S+labels\.parquet: no space left on device \(ENOSPC\); outputs under their final names are complete/.test(e.message),
    );
    assert.deepEqual(readdirSync(dir.path), []);
    assert.equal(await produceAtomic(path, (tmp) => (writeFileSync(tmp, 'whole'), Promise.resolve(7))), 7);
    assert.equal(readFileSync(path, 'utf8'), 'whole');
  } finally {
    dir.remove();
  }
});

void test('makeDirectory: a file in the way is a usage error naming it; errors from DuckDB/HDF5 text are classified', async () => {
  const dir = new TempDir('metavec-atomic-');
  try {
    const file = dir.file('out', 'x');
    await assert.rejects(makeDirectory(file), (e: unknown) => e instanceof MetavecError && e.code === 'USAGE' && e.message === `output: ${file} is a file, not a directory`);
    await assert.rejects(makeDirectory(join(file, 'sub'), ' (--output)'), (e: unknown) => e instanceof MetavecError && /a part of \S+ is a file, not a directory \(--output\)$/.test(e.message));
    assert.equal(outputError('/x/y.nc', new Error('HDF5 error: Read-only file system\nmore')).message, 'output: /x/y.nc: read-only filesystem (EROFS)');
    assert.equal(outputError('/x/y.nc', new Error('something else\ndetail')).message, 'output: /x/y.nc: something else');
    const own = new MetavecError('INPUT', 'kept');
    assert.equal(outputError('/x', own), own);
    if (process.getuid?.() !== 0) {
      const ro = join(dir.path, 'ro');
      await makeDirectory(ro);
      chmodSync(ro, 0o500);
      await assert.rejects(writeFileAtomic(join(ro, 'f'), 'x'), (e: unknown) => e instanceof MetavecError && /permission denied \(EACCES\)/.test(e.message));
    }
  } finally {
    dir.remove();
  }
});
