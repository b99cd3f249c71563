/**
 * One typed configuration for every stack, the Ray autoscaler YAML and the ParallelCluster config.
 * Override fields with `cdk synth -c metavecConfig='{"region":"eu-west-1",...}'` or a JSON file
 * (`-c metavecConfigFile=path.json`); see docs/deploy.md.
 */
export type Capacity = 'spot' | 'on-demand';

export interface NodeGroupConfig {
  /** Name used for the PCS node group, the Slurm partition and the ParallelCluster queue. */
  name: string;
  instanceTypes: string[];
  minInstances: number;
  maxInstances: number;
  capacity: Capacity;
  /** Elastic Fabric Adapter on (only for EFA-capable types: hpc6a, p4d, ...). */
  efa: boolean;
  gpu: boolean;
}

export interface MetavecConfig {
  /** Prefix for stack names and resource names. Lower case letters, digits and '-'. */
  project: string;
  account?: string;
  region: string;
  /** Availability zone index of the HPC subnet (placement group, FSx and EFA live in one AZ). */
  maxAzs: number;
  vpcCidr: string;
  storage: {
    /** Days before objects move to S3 Intelligent-Tiering / Glacier Instant Retrieval. */
    infrequentAccessAfterDays: number;
    glacierAfterDays: number;
    noncurrentVersionExpirationDays: number;
  };
  fsx: {
    /** GiB; PERSISTENT_2 accepts 1200 or multiples of 2400. */
    storageCapacityGiB: number;
    /** MB/s/TiB: 125, 250, 500 or 1000. */
    throughputPerTiB: 125 | 250 | 500 | 1000;
    mountPath: string;
    /** Data-lake prefix linked under /fsx/<fileSystemPath>. */
    fileSystemPath: string;
  };
  ray: {
    clusterName: string;
    headInstanceType: string;
    workerInstanceTypes: string[];
    gpuWorkerInstanceType: string;
    minWorkers: number;
    maxWorkers: number;
    maxGpuWorkers: number;
    capacity: Capacity;
    idleTimeoutMinutes: number;
    /** Tag of the worker image in the ECR repository the CI/CD stack creates. */
    imageTag: string;
    cudaImageTag: string;
    rayVersion: string;
  };
  hpc: {
    slurmVersion: string;
    controllerSize: 'SMALL' | 'MEDIUM' | 'LARGE';
    loginInstanceType: string;
    nodeGroups: NodeGroupConfig[];
    /** AMI with the PCS agent and Slurm (build with the PCS sample image recipe). Placeholder when unset. */
    amiId: string;
  };
  monitoring: {
    alarmEmail?: string;
    rayPendingTasksThreshold: number;
    slurmQueueDepthThreshold: number;
    /** Largest max-instance count the scaling Lambda may set on a node group. */
    scalingCeiling: number;
  };
  cicd: {
    /** Object key of the source zip in the source bucket (S3 source action). */
    sourceObjectKey: string;
  };
}

export const defaultConfig: MetavecConfig = {
  project: 'metavec',
  region: 'us-east-1',
  maxAzs: 2,
  vpcCidr: '10.40.0.0/16',
  storage: { infrequentAccessAfterDays: 30, glacierAfterDays: 180, noncurrentVersionExpirationDays: 90 },
  fsx: { storageCapacityGiB: 1200, throughputPerTiB: 250, mountPath: '/fsx', fileSystemPath: '/lake' },
  ray: {
    clusterName: 'metavec-prep',
    headInstanceType: 'm6i.2xlarge',
    workerInstanceTypes: ['c6i.8xlarge', 'c6a.8xlarge', 'c5.9xlarge'],
    gpuWorkerInstanceType: 'g4dn.xlarge',
    minWorkers: 0,
    maxWorkers: 32,
    maxGpuWorkers: 4,
    capacity: 'spot',
    idleTimeoutMinutes: 10,
    imageTag: 'latest',
    cudaImageTag: 'latest-cuda',
    rayVersion: '2.60.0',
  },
  hpc: {
    slurmVersion: '24.11',
    controllerSize: 'SMALL',
    loginInstanceType: 'c6i.xlarge',
    amiId: 'ami-00000000000000000',
    nodeGroups: [
      { name: 'cpu', instanceTypes: ['hpc6a.48xlarge'], minInstances: 0, maxInstances: 16, capacity: 'on-demand', efa: true, gpu: false },
      { name: 'gpu', instanceTypes: ['g4dn.12xlarge'], minInstances: 0, maxInstances: 4, capacity: 'spot', efa: false, gpu: true },
      { name: 'gpu-large', instanceTypes: ['p4d.24xlarge'], minInstances: 0, maxInstances: 2, capacity: 'on-demand', efa: true, gpu: true },
      { name: 'mem', instanceTypes: ['r5.12xlarge'], minInstances: 0, maxInstances: 4, capacity: 'spot', efa: false, gpu: false },
    ],
  },
  monitoring: { rayPendingTasksThreshold: 1000, slurmQueueDepthThreshold: 20, scalingCeiling: 64 },
  cicd: { sourceObjectKey: 'source/metavec.zip' },
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge (arrays replace) of an override onto the defaults. */
export function mergeConfig<T>(base: T, override: unknown): T {
  if (!isObject(override)) return base;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(override)) {
    const b = out[k];
    out[k] = isObject(b) && isObject(v) ? mergeConfig(b, v) : v;
  }
  return out as T;
}

/** Throws with every problem listed; returns the config unchanged when valid. */
export function validateConfig(c: MetavecConfig): MetavecConfig {
  const errors: string[] = [];
  if (!/^[a-z][a-z0-9-]{1,20}$/.test(c.project)) errors.push(`project "${c.project}": 2-21 chars of [a-z0-9-], starting with a letter`);
  if (!/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(c.region)) errors.push(`region "${c.region}" is not an AWS region name`);
  const cap = c.fsx.storageCapacityGiB;
  if (!(cap === 1200 || (cap > 0 && cap % 2400 === 0))) errors.push(`fsx.storageCapacityGiB ${cap}: PERSISTENT_2 needs 1200 or a multiple of 2400`);
  if (![125, 250, 500, 1000].includes(c.fsx.throughputPerTiB)) errors.push(`fsx.throughputPerTiB ${c.fsx.throughputPerTiB}: one of 125, 250, 500, 1000`);
  if (c.ray.minWorkers < 0 || c.ray.maxWorkers < c.ray.minWorkers) errors.push('ray: need 0 <= minWorkers <= maxWorkers');
  if (c.ray.idleTimeoutMinutes < 1) errors.push('ray.idleTimeoutMinutes must be >= 1');
  if (c.ray.workerInstanceTypes.length === 0) errors.push('ray.workerInstanceTypes is empty');
  const names = new Set<string>();
  for (const g of c.hpc.nodeGroups) {
    if (!/^[a-z][a-z0-9-]{0,24}$/.test(g.name)) errors.push(`hpc node group name "${g.name}" invalid`);
    if (names.has(g.name)) errors.push(`hpc node group "${g.name}" defined twice`);
    names.add(g.name);
    if (g.instanceTypes.length === 0) errors.push(`hpc node group "${g.name}" has no instance types`);
    if (g.minInstances < 0 || g.maxInstances < g.minInstances || g.maxInstances < 1) errors.push(`hpc node group "${g.name}": need 0 <= min <= max, max >= 1`);
  }
  if (c.hpc.nodeGroups.length === 0) errors.push('hpc.nodeGroups is empty');
  if (errors.length > 0) throw new Error(`metavec infra config:\n  ${errors.join('\n  ')}`);
  return c;
}

/** The config for one app: defaults, then a JSON file, then inline JSON (both from CDK context). */
export function loadConfig(context: { file?: string; json?: string }, readFile: (p: string) => string): MetavecConfig {
  let c = defaultConfig;
  if (context.file) c = mergeConfig(c, JSON.parse(readFile(context.file)));
  if (context.json) c = mergeConfig(c, JSON.parse(context.json));
  return validateConfig(c);
}

export const prefix = (c: MetavecConfig, s: string): string => `${c.project}-${s}`;
