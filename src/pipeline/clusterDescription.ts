import type { KMeansResult } from '../cluster/index.js';
import { embeddingDimensionNames, embeddingMeaning, portableEmbedding, PARQUET_METADATA_VERSION } from '../embed/describe.js';
import type { PrepManifest } from '../io/manifest.js';
import { isFreqProfile } from './phase2Pooled.js';

/**
 * What a Phase 2 method did, in words, per method: the attributes of clusters.nc, the long names of its
 * variables and the definition of labels.parquet's `distance` (docs/formats-phase2.md). kmeans clusters the
 * fragments' embeddings; graph and lsh cluster pooled read groups (docs/graph.md), whose distance, inertia and
 * centroids mean other things.
 */
export interface MethodDescription {
  /** global attributes of clusters.nc (algorithm, init, and for graph/lsh grouping and features) */
  attrs: Record<string, string>;
  centroids: string;
  /** labels.parquet column distance */
  distance: string;
  inertia: string;
  /** long_name of the per-iteration objective; undefined: the method records none (no objective variable) */
  objective?: string;
}

export function describeClusterMethod(method: string, result: Pick<KMeansResult, 'algorithm' | 'init'>, manifest: PrepManifest, details?: Record<string, unknown>): MethodDescription {
  if (method === 'kmeans') {
    return {
      attrs: { algorithm: result.algorithm === 'minibatch' ? 'mini-batch k-means' : 'k-means (Lloyd)', init: result.init },
      centroids: 'cluster centroids in embedding space (k-means centres)',
      distance: "Euclidean distance from the fragment's embedding to its cluster's centroid (clusters.nc centroids), in embedding units",
      inertia: 'sum over fragments of the squared Euclidean distance to their centroid',
      objective:
        result.algorithm === 'minibatch'
          ? 'mini-batch inertia scaled to all fragments after each step of the restart kept'
          : 'inertia (sum of squared distances of the fragments to their centroids) after each assignment step of the restart kept',
    };
  }
  const freq = isFreqProfile(manifest);
  const pooled = (details?.pooled ?? {}) as Record<string, unknown>;
  const abundance = pooled.abundance === 'log mean minimizer occurrence';
  const composition = freq ? 'square root of the pooled k-mer frequency profile (Hellinger coordinates)' : 'mean embedding of the group';
  const features = `per read group: ${composition}${abundance ? ' + log mean minimizer occurrence x coverage_scale (abundance)' : ''}`;
  const normalization = details?.normalization as { parameters?: { targetCoverage?: number } } | undefined;
  if (method === 'graph' && normalization) {
    // the coverage-normalised graph (phase2Normalized.ts): groups of a subset, every other fragment assigned
    const target = normalization.parameters?.targetCoverage;
    return {
      attrs: {
        algorithm: 'weighted k-means (Lloyd) over pooled read groups of a coverage-normalised subset, weight = fragments; the other fragments by minimizer votes or to the nearest centre',
        init: 'k-means++ (weighted)',
        grouping: `subset of fragments down to ~${target ?? '?'}x coverage: overlap graph of fragments sharing minimizers, label propagation, composition-checked merge; then a minimizer -> cluster index (docs/graph.md)`,
        features: `${features}; a fragment outside the subset: its own square-root profile + scaled log coverage`,
      },
      centroids: freq
        ? "pooled k-mer frequency profile of the cluster's fragments (fragments weighted by k-mers counted), in embedding space"
        : "mean embedding of the cluster's fragments",
      distance:
        "Euclidean distance, in the group feature space (clusters.nc attribute features), to the cluster's centre: from the fragment's read group for fragments of the clustered subset, from the fragment's own features for the others; not a distance to clusters.nc centroids",
      inertia: 'weighted inertia of the clustered groups of the subset in the group feature space (sum of fragments x squared distance to the centre)',
    };
  }
  return {
    attrs: {
      algorithm: 'weighted k-means (Lloyd) over pooled read groups, weight = fragments; groups below min_group go to the nearest centre',
      init: 'k-means++ (weighted)',
      grouping:
        method === 'graph'
          ? 'overlap graph of fragments sharing minimizers, label propagation, composition-checked merge (docs/graph.md)'
          : 'LSH buckets of the embeddings (random hyperplanes; docs/graph.md)',
      features,
    },
    centroids: freq
      ? "pooled k-mer frequency profile of the cluster's fragments (fragments weighted by k-mers counted), in embedding space"
      : "mean embedding of the cluster's fragments",
    distance:
      "Euclidean distance, in the group feature space (clusters.nc attribute features), from the fragment's read group to its cluster's centre: the same for every fragment of a group; not a distance to clusters.nc centroids",
    inertia: 'weighted inertia of the clustered groups in the group feature space (sum of fragments x squared distance to the centre)',
  };
}

/** labels.parquet key-value metadata: what each column and the run's embedding mean. */
export function labelsKeyValueMetadata(method: string, k: number, d: MethodDescription, manifest: PrepManifest, prepManifestSha256?: string): Record<string, string> {
  return {
    'metavec.metadata': PARQUET_METADATA_VERSION,
    'metavec.content': 'Phase 2 labels: one row per fragment (read pair)',
    'metavec.method': method,
    'metavec.k': String(k),
    'metavec.column.read_id': 'fragment (read pair) id, as in the input FASTQ without /1 /2 and comment',
    'metavec.column.cluster': `cluster id, 0..${k - 1} (clusters.nc coordinate cluster)`,
    'metavec.column.distance': d.distance,
    'metavec.embedding': JSON.stringify(portableEmbedding(manifest.embedding)),
    'metavec.embedding.meaning': embeddingMeaning(manifest.embedding),
    ...(prepManifestSha256 ? { 'metavec.prep_manifest_sha256': prepManifestSha256 } : {}),
    'metavec.docs': 'docs/formats-phase2.md (metavec)',
  };
}

/** clusters.nc `dim` coordinate: names (k-mer profiles) and its long_name. */
export function dimCoordinate(manifest: PrepManifest): { names?: string[]; longName: string } {
  const names = embeddingDimensionNames(manifest.embedding);
  const e = manifest.embedding;
  if (names) return { names, longName: `canonical ${e.k ?? ''}-mer of the dimension and its reverse complement (counted together)` };
  return { longName: `index of the ${e.method} embedding dimension (the dimensions have no names)` };
}
