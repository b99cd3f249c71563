/** What the CLI hands the Ray engine (`metavec prep --engine ray`, docs/ray.md); plain data. */
export interface RayJobOptions {
  /** The dashboard / Jobs API, e.g. http://HEAD:8265. */
  address: string;
  /** metavec prep options for the driver (paths absolute: the job runs in the unpacked package). */
  prepArgs: string[];
  /** Environment of every process of the job (runtime_env env_vars): non-secret settings only, shown by Ray. */
  env?: Record<string, string>;
  actors?: number;
  numGpus: number;
  sliceFragments?: number;
  /** Print the job's log lines on stderr. */
  streamLogs: boolean;
  pollMs?: number;
}
