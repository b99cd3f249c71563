/**
 * Shared WebAssembly memories for k-means: the matrix (in place, allocateKMeansMatrix) and each thread's
 * scratch region (its size: scratchBytes), grown on demand up to 4 GiB.
 */
import { MetavecError } from '../../errors.js';
import { MAX_PAGES, PAGE } from './encoder.js';
import { selectedKernel, WA, type WasmMemory } from './select.js';

/** Largest WebAssembly (wasm32) memory: 4 GiB. */
export const WASM_MAX_BYTES = PAGE * MAX_PAGES;
/**
 * Largest matrix placed in a WASM memory (in place). Pointer loops compare unsigned, so up to 4 GiB should work,
 * but addresses >= 2^31 are untested: larger matrices use the chunk-copy mode.
 */
export const WASM_IN_PLACE_MAX_BYTES = 2 ** 31 - (64 << 20);

/** A shared WebAssembly memory of at least `bytes` bytes (growable to 4 GiB). */
export function newKMeansMemory(bytes: number): WasmMemory {
  if (!WA) throw new MetavecError('INTERNAL', 'WebAssembly is not available');
  return new WA.Memory({ initial: Math.max(1, Math.ceil(bytes / PAGE)), maximum: MAX_PAGES, shared: true });
}

/** Grow `mem` to at least `bytes` bytes. */
export function ensureMemory(mem: WasmMemory, bytes: number): void {
  const have = mem.buffer.byteLength;
  if (bytes > WASM_MAX_BYTES) throw new MetavecError('INTERNAL', `k-means WASM memory: ${bytes} bytes exceed 4 GiB`);
  if (bytes > have) mem.grow(Math.ceil((bytes - have) / PAGE));
}

/** Rows handed to one kernel call (and, when the matrix is not in the WASM memory, copied in; 136 dims: 278 KB). */
export const CHUNK_ROWS = 512;

export const align16 = (v: number): number => (v + 15) & ~15;

/** Bytes of one thread's scratch region for m centers of dimension d (see WasmKernels.setCenters). */
export function scratchBytes(m: number, d: number, inPlace: boolean): number {
  const mPad = m + (m & 1);
  return align16(8 * mPad * d) + align16(8 * mPad) + align16(8 * m * d) + align16(8 * m)
    + (inPlace ? 1 : 2) * align16(4 * CHUNK_ROWS * d) + 7 * align16(8 * CHUNK_ROWS) + 2 * align16(4 * CHUNK_ROWS);
}

/** Matrices allocated by allocateKMeansMatrix: their memory, so executors can use them in place. */
const matrixMemories = new WeakMap<SharedArrayBuffer, WasmMemory>();

/**
 * A zeroed n*d float32 matrix allocated at offset 0 of a shared WebAssembly memory: a local executor created on
 * it uses it in place with the WASM kernel (no copy at all). Falls back to a plain SharedArrayBuffer when the
 * WASM kernel is not selected or the matrix is too large for a 4 GiB memory.
 */
export function allocateKMeansMatrix(n: number, d: number): Float32Array {
  const bytes = 4 * n * d;
  if (selectedKernel() !== 'wasm' || bytes > WASM_IN_PLACE_MAX_BYTES) return new Float32Array(new SharedArrayBuffer(bytes));
  const mem = newKMeansMemory(bytes);
  const x = new Float32Array(mem.buffer, 0, n * d);
  matrixMemories.set(mem.buffer, mem);
  return x;
}

/** The WASM memory holding `x` when it came from allocateKMeansMatrix. */
export function matrixMemory(x: Float32Array): WasmMemory | undefined {
  return x.buffer instanceof SharedArrayBuffer ? matrixMemories.get(x.buffer) : undefined;
}
