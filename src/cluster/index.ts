export type {
  KMeansOptions, KMeansResult, KMeansExecutor, ChooseKResult, ChooseKOptions, ChooseKScore, DataSummary,
  AssignStats, LabelsAndDistances, FarthestRows,
} from './types.js';
export { BLOCK_ROWS } from './types.js';
export {
  kmeans, DEFAULT_KMEANS_OPTIONS, AUTO_PARALLEL_INIT_ROWS, AUTO_MINIBATCH_ROWS, DEFAULT_BATCH_SIZE, PARALLEL_INIT_ROUNDS,
} from './kmeans.js';
export { chooseK } from './chooseK.js';
export { createInProcessExecutor, InProcessExecutor } from './blockExecutor.js';
export { Rng } from './rng.js';
export { allocateKMeansMatrix, selectedKernel } from './wasm/index.js';
