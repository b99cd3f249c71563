/** QC parameters, resolved before any batch is processed (adapters detected, cut-offs computed). */
export interface QcParams {
  /** Adapter clipping: PE by mate overlap then by sequence; SE by sequence. */
  adapterTrim: boolean;
  /** Adapter sequences tried on R1 / R2 (known list, user-given or detected). */
  adaptersR1: string[];
  adaptersR2: string[];
  overlapMinLen: number;
  overlapDiffLimit: number;
  overlapDiffPercent: number;
  cutFront: boolean;
  cutTail: boolean;
  cutWindow: number;
  cutMeanQuality: number;
  /** Per-mate read position (0-based) from which every read is cut by the median-quality rule; -1 = off. */
  medianCutR1: number;
  medianCutR2: number;
  polyG: boolean;
  polyGMinLen: number;
  minLength: number;
  /** Reads with more than this fraction of N are dropped. */
  maxNFraction: number;
  /** A base is qualified at Phred >= qualifiedQuality; reads with more than unqualifiedFraction unqualified are dropped. */
  qualifiedQuality: number;
  unqualifiedFraction: number;
  /** Complexity = fraction of bases different from the next one; reads below are dropped (0 = off). */
  minComplexity: number;
}

export const DEFAULT_QC: QcParams = {
  adapterTrim: true,
  adaptersR1: [],
  adaptersR2: [],
  overlapMinLen: 30,
  overlapDiffLimit: 5,
  overlapDiffPercent: 0.2,
  cutFront: true,
  cutTail: true,
  cutWindow: 4,
  cutMeanQuality: 20,
  medianCutR1: -1,
  medianCutR2: -1,
  polyG: false,
  polyGMinLen: 10,
  minLength: 30,
  maxNFraction: 0.05,
  qualifiedQuality: 15,
  unqualifiedFraction: 0.4,
  minComplexity: 0.3,
};

/** Why a fragment was dropped (first failing filter of R1, else of R2). */
export const enum FilterReason {
  Pass = 0,
  TooShort = 1,
  TooManyN = 2,
  LowQuality = 3,
  LowComplexity = 4,
}

export const FILTER_REASON_NAMES = ['pass', 'too_short', 'too_many_n', 'low_quality', 'low_complexity'] as const;
