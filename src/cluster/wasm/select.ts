/**
 * Which k-means kernel runs: env METAVEC_KMEANS_KERNEL = 'wasm' (default when this runtime has WebAssembly
 * SIMD), 'js' or 'auto'. Holds the runtime's WebAssembly API and the module compiled once per thread.
 */
import { MetavecError } from '../../errors.js';
import { kmeansWasmBytes } from './emitters.js';

export type KernelKind = 'js' | 'wasm';

/** The few WebAssembly JS-API members used (the project's TS lib has no WebAssembly declarations). */
export interface WasmMemory { readonly buffer: SharedArrayBuffer; grow(pages: number): number }
export type WasmModule = object;
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { readonly exports: unknown };
  Memory: new (desc: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}
export const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

let compiled: WasmModule | null | undefined;

/** The compiled module (once per thread), or null when this runtime lacks WebAssembly SIMD. */
export function kmeansWasmModule(): WasmModule | null {
  if (compiled === undefined) {
    const bytes = kmeansWasmBytes();
    compiled = WA?.validate(bytes) ? new WA.Module(bytes) : null;
  }
  return compiled;
}

/** Kernel selected by METAVEC_KMEANS_KERNEL (default 'wasm' when available). */
export function selectedKernel(): KernelKind {
  const v = process.env.METAVEC_KMEANS_KERNEL;
  if (v === undefined || v === '' || v === 'auto') return kmeansWasmModule() ? 'wasm' : 'js';
  if (v === 'js') return 'js';
  if (v === 'wasm') {
    if (!kmeansWasmModule()) throw new MetavecError('USAGE', 'METAVEC_KMEANS_KERNEL=wasm but this runtime has no WebAssembly SIMD');
    return 'wasm';
  }
  throw new MetavecError('USAGE', `METAVEC_KMEANS_KERNEL must be 'js', 'wasm' or 'auto' (got '${v}')`);
}
