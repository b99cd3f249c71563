/**
 * Expected squared distance of a group's pooled square-root profile from its genome's, from sampling alone:
 * (d / 4) / effective k-mers. Overlapping reads re-sample the same bases, so the effective count is the
 * pooled k-mers over the group's redundancy: its mean minimizer occurrence (the local coverage), but at most
 * its number of fragments. A singleton is one independent sample whatever the coverage. Without that cap,
 * the reads of a 1000x phage whose minimizers are all skipped as repeats (singletons with a mean occurrence
 * in the hundreds) made the noise 40x the whole inertia on a 1M-pair community, and K auto stopped at 2.
 */
export function pooledNoise(d: number, mass: number, members: number, occurrenceSum?: number): number {
  const redundancy = occurrenceSum === undefined ? 1 : Math.max(1, Math.min(occurrenceSum / Math.max(1, members), members));
  return ((d / 4) * redundancy) / Math.max(1, mass);
}

