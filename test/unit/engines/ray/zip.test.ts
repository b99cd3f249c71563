import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { inflateRawSync } from 'node:zlib';
import { buildZip, crc32 } from '../../../../src/engines/ray/zip.js';
import { hasCommand, requireTool } from '../../../helpers/tools.js';

const enc = new TextEncoder();

void test('crc32 matches the standard check value and the empty input', () => {
  assert.equal(crc32(enc.encode('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

/** Reads the central directory back (what Python's zipfile does first). */
function entries(zip: Uint8Array): { name: string; method: number; mode: number; data: Uint8Array }[] {
  const v = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const end = zip.length - 22;
  assert.equal(v.getUint32(end, true), 0x06054b50, 'end of central directory record at the end');
  const count = v.getUint16(end + 10, true);
  let p = v.getUint32(end + 16, true);
  const out = [];
  for (let i = 0; i < count; i++) {
    assert.equal(v.getUint32(p, true), 0x02014b50);
    const method = v.getUint16(p + 10, true);
    const csize = v.getUint32(p + 20, true);
    const usize = v.getUint32(p + 24, true);
    const nlen = v.getUint16(p + 28, true);
    const mode = v.getUint32(p + 38, true) >>> 16;
    const local = v.getUint32(p + 42, true);
    const name = new TextDecoder().decode(zip.subarray(p + 46, p + 46 + nlen));
    const lnlen = v.getUint16(local + 26, true);
    const body = zip.subarray(local + 30 + lnlen, local + 30 + lnlen + csize);
    const data = method === 8 ? new Uint8Array(inflateRawSync(body)) : body;
    assert.equal(data.length, usize);
    assert.equal(crc32(data), v.getUint32(p + 16, true), `${name}: crc`);
    out.push({ name, method, mode, data });
    p += 46 + nlen;
  }
  return out;
}

void test('buildZip: deflates what compresses, stores what does not, keeps modes and UTF-8 names, is deterministic', () => {
  const text = enc.encode('metavec '.repeat(1000));
  const random = Uint8Array.from({ length: 300 }, (_, i) => (i * 2654435761) >>> 24);
  const zip = buildZip([
    { name: 'driver.py', data: text },
    { name: 'bin/run', data: random, mode: 0o755 },
    { name: 'données/é.txt', data: new Uint8Array(0) },
  ]);
  const got = entries(zip);
  assert.deepEqual(got.map((e) => [e.name, e.method, e.mode & 0o777]), [['driver.py', 8, 0o644], ['bin/run', 0, 0o755], ['données/é.txt', 0, 0o644]]);
  assert.deepEqual(got[0]?.data, text);
  assert.deepEqual(got[1]?.data, random);
  assert.deepEqual(buildZip([{ name: 'driver.py', data: text }]), buildZip([{ name: 'driver.py', data: text }]), 'fixed timestamps: same bytes');
});

void test('buildZip: Python zipfile (what Ray unpacks with) reads the archive', (t) => {
  if (!requireTool(t, hasCommand('python3'), 'python3')) return;
  const zip = buildZip([{ name: 'a/b.txt', data: enc.encode('hello\n'.repeat(50)) }, { name: 'x.sh', data: enc.encode('#!/bin/sh\n'), mode: 0o755 }]);
  const code = 'import sys, zipfile, io; z = zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read())); assert z.testzip() is None; print(" ".join(f"{i.filename}:{len(z.read(i))}:{oct(i.external_attr >> 16 & 0o777)}" for i in z.infolist()))';
  const r = spawnSync('python3', ['-c', code], { input: zip, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'a/b.txt:300:0o644 x.sh:10:0o755');
});
