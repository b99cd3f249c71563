/** Public surface of clustering evaluation: truth loading, metrics, report formatting. */
export { loadTruth } from './truth.js';
export { contingencyTable, denseContingency, type Contingency } from './contingency.js';
export { linearSumAssignment, type Assignment } from './hungarian.js';
export {
  evaluateClustering,
  metricsFromContingency,
  type ClusteringMetrics,
  type EvaluateOptions,
  type F1Matching,
} from './metrics.js';
export { evaluateLabels, type ClusterLabels, type ConfusionMatrix, type EvalReport } from './report.js';
export { formatEvalReport } from './format.js';
