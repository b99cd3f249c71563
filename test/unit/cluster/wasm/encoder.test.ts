import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F64, Fn, I32, moduleBytes, OP, SIMD, sleb, str, uleb, v128zero, V128 } from '../../../../src/cluster/wasm/encoder.js';

// The project's TS lib has no WebAssembly declarations (as in src/cluster/wasm/select.ts).
interface Wasm {
  validate(b: Uint8Array): boolean;
  Module: new (b: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, (...a: number[]) => void> };
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => { buffer: SharedArrayBuffer };
}
const WA = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;

void test('LEB128: the specification examples, edges of each byte length, strings with their length', () => {
  assert.deepEqual(uleb(0), [0]);
  assert.deepEqual(uleb(127), [0x7f]);
  assert.deepEqual(uleb(128), [0x80, 0x01]);
  assert.deepEqual(uleb(624485), [0xe5, 0x8e, 0x26]);
  assert.deepEqual(uleb(65536), [0x80, 0x80, 0x04]);
  assert.deepEqual(sleb(0), [0]);
  assert.deepEqual(sleb(-1), [0x7f]);
  assert.deepEqual(sleb(63), [0x3f]);
  assert.deepEqual(sleb(64), [0xc0, 0x00]);
  assert.deepEqual(sleb(-64), [0x40]);
  assert.deepEqual(sleb(-65), [0xbf, 0x7f]);
  assert.deepEqual(sleb(-123456), [0xc0, 0xbb, 0x78]);
  assert.deepEqual(str('mem'), [3, 0x6d, 0x65, 0x6d]);
  assert.deepEqual(str('é'), [2, 0xc3, 0xa9]);
});

/** fill(p, n): for i < n: mem32[p/4 + i] = i * i when i is even, else -1; also writes 0.5 + i as f64 after them. */
function fill(): Fn {
  const f = new Fn('fill', 2);
  const [p, n] = [0, 1] as const;
  const i = f.local(I32);
  const x = f.local(F64);
  f.f64(0.5).set(x);
  f.while(
    () => f.get(i).get(n).op(OP.i32ltS),
    () => {
      f.get(p).get(i).i32(4).op(OP.i32mul).op(OP.i32add).i32(-1).mem(OP.i32store, 2);
      f.if(
        () => f.get(i).i32(1).op(0x71).op(0x45), // i32.and 1, i32.eqz: i even
        () => f.get(p).get(i).i32(4).op(OP.i32mul).op(OP.i32add).get(i).get(i).op(OP.i32mul).mem(OP.i32store, 2),
      );
      f.inc(i, 1);
    },
  );
  // f64 at p + 4n: x + f64.convert_i32_s(n)
  f.get(p).get(n).i32(4).op(OP.i32mul).op(OP.i32add).get(x).get(n).op(0xb7).op(OP.f64add).mem(OP.f64store, 3);
  return f;
}

/** zero(p): a v128 of zeros stored at p (the SIMD prefix and the v128 const). */
function zero(): Fn {
  const f = new Fn('zero', 1);
  const v = f.local(V128);
  v128zero(f).set(v);
  f.get(0).get(v).simdMem(SIMD.store, 4);
  return f;
}

void test('moduleBytes + Fn: a module with loops, branches, f64 and SIMD validates and runs on a shared memory', () => {
  const bytes = moduleBytes([fill(), zero()]);
  assert.deepEqual(Array.from(bytes.subarray(0, 8)), [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  assert.equal(WA.validate(bytes), true);
  const mem = new WA.Memory({ initial: 1, maximum: 65536, shared: true });
  const inst = new WA.Instance(new WA.Module(bytes), { env: { mem } });
  const i32 = new Int32Array(mem.buffer);
  i32.fill(7, 0, 64);
  inst.exports.fill!(16, 6); // from byte 16: 6 ints, then one f64 at byte 40
  assert.deepEqual(Array.from(i32.subarray(4, 10)), [0, -1, 4, -1, 16, -1]);
  assert.equal(new Float64Array(mem.buffer, 40, 1)[0], 6.5);
  assert.equal(i32[3], 7, 'nothing written before p');
  inst.exports.zero!(128);
  assert.deepEqual(Array.from(i32.subarray(32, 36)), [0, 0, 0, 0]);
  assert.equal(i32[36], 7);
  // the same functions give the same bytes
  assert.deepEqual(moduleBytes([fill(), zero()]), bytes);
});
