/**
 * WebAssembly SIMD k-means kernels, bit-identical to the JS kernels (../kernels.ts): a binary encoder
 * (encoder.ts), the kernel emitters (emitters.ts), kernel selection (select.ts), shared memories (memory.ts)
 * and the per-thread kernel object (kernels.ts).
 */
export { kmeansWasmBytes } from './emitters.js';
export { kmeansWasmModule, selectedKernel, type KernelKind, type WasmMemory } from './select.js';
export {
  allocateKMeansMatrix, CHUNK_ROWS, ensureMemory, matrixMemory, newKMeansMemory, scratchBytes, WASM_IN_PLACE_MAX_BYTES, WASM_MAX_BYTES,
} from './memory.js';
export { PRUNE_EPS, pruneStats, WasmKernels } from './kernels.js';
