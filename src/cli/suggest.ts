/**
 * "Did you mean" for an unknown option: fastp's names (people come from fastp: `--in1`, `--cut_mean_quality`,
 * `-l`), underscores for dashes, British/American spellings, then the closest name by edit distance.
 */

/** fastp option (long or short form) -> the metavec option, or a sentence when there is no one-to-one option. */
const FASTP_ALIASES: Record<string, string> = {
  'in1': 'input',
  'in2': 'input2',
  'out1': 'output',
  'interleaved_in': 'interleaved',
  'thread': 'threads',
  'cut_mean_quality': 'cut-mean-quality',
  'M': 'cut-mean-quality',
  'cut_window_size': 'cut-window',
  'W': 'cut-window',
  'length_required': 'min-length',
  'l': 'min-length',
  'qualified_quality_phred': 'qualified-quality',
  'q': 'qualified-quality',
  'unqualified_percent_limit': 'unqualified-percent',
  'u': 'unqualified-percent',
  'complexity_threshold': 'complexity-threshold',
  'Y': 'complexity-threshold',
  'trim_poly_g': 'trim-poly-g',
  'g': 'trim-poly-g',
  'poly_g_min_len': 'poly-g-min-len',
  'adapter_sequence': 'adapter-r1',
  'a': 'adapter-r1',
  'adapter_sequence_r2': 'adapter-r2',
  'disable_adapter_trimming': 'no-adapter-trim',
  'A': 'no-adapter-trim',
  'overlap_len_require': 'overlap-len',
  'overlap_diff_limit': 'overlap-diff',
  'overlap_diff_percent_limit': 'overlap-diff-percent',
  'normalize': 'normalise',
  'normalization': 'normalise',
  'normalisation': 'normalise',
};

/** fastp switches whose behaviour is metavec's default: the hint says so instead of naming an option. */
const FASTP_DEFAULTS: Record<string, string> = {
  'dedup': 'deduplication is on by default (--no-dedup turns it off)',
  'D': 'deduplication is on by default (--no-dedup turns it off)',
  'correction': "error correction (k-mer spectrum, not fastp's mate-overlap correction) is off by default: --correct turns it on",
  'c': "error correction (k-mer spectrum, not fastp's mate-overlap correction) is off by default: --correct turns it on",
  'detect_adapter_for_pe': 'adapters are detected by default (--no-detect-adapter turns it off)',
  'cut_front': 'front quality trimming is on by default (--no-cut-front turns it off)',
  '5': 'front quality trimming is on by default (--no-cut-front turns it off)',
  'cut_tail': 'tail quality trimming is on by default (--no-cut-tail turns it off)',
  '3': 'tail quality trimming is on by default (--no-cut-tail turns it off)',
  'low_complexity_filter': 'the low-complexity filter is on by default (--complexity-threshold 0 turns it off)',
  'y': 'the low-complexity filter is on by default (--complexity-threshold 0 turns it off)',
  'phred64': "use '--phred 64' (Phred+64 is also detected automatically)",
  '6': "use '--phred 64' (Phred+64 is also detected automatically)",
};

/** fastp's second output file has no counterpart: metavec writes one output directory. */
export const OUT2_HINT =
  "metavec writes one output directory (-o/--output DIR), not one file per mate as fastp's -o/-O; with --write-fastq the cleaned mates go into it as clean_R1.fastq.gz and clean_R2.fastq.gz";

/** Levenshtein distance (small strings: option names). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * A hint for the unknown option `flag` (as typed: `--in1`, `-l`) among the command's option names, or
 * undefined when nothing is close: "did you mean --input?" or a sentence (fastp switches that are defaults here).
 */
export function suggestOption(flag: string, known: readonly string[]): string | undefined {
  const name = flag.replace(/^-+/, '').replace(/=.*$/s, '');
  if (name === 'O' || name === 'out2') return OUT2_HINT;
  const has = (o: string) => known.includes(o);
  const alias = FASTP_ALIASES[name];
  if (alias && has(alias)) return `did you mean --${alias}?`;
  const dflt = FASTP_DEFAULTS[name];
  if (dflt) return dflt;
  if (name.length <= 1) return undefined;
  const dashed = name.toLowerCase().replace(/_/g, '-');
  if (has(dashed)) return `did you mean --${dashed}?`;
  let best: string | undefined;
  let bestD = Infinity;
  for (const o of known) {
    const d = editDistance(dashed, o);
    if (d < bestD) {
      bestD = d;
      best = o;
    }
  }
  // close enough to be a typo: at most 2 edits, and fewer than a third of the name's length
  if (best !== undefined && bestD <= 2 && bestD * 3 < Math.max(dashed.length, 3)) return `did you mean --${best}?`;
  return undefined;
}
