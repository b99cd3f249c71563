/**
 * The Ray autoscaler cluster config (the YAML `ray up` reads), generated from the same typed config as the
 * stacks. Values only known at deploy time (subnets, security group, instance profile, image URI, AMI) come
 * in as strings: plain values for the checked-in example, CloudFormation tokens inside the Ray stack.
 * Validated against Ray's own python/ray/autoscaler/ray-schema.json by scripts/validate-ray.py.
 */
import { MetavecConfig } from './config';

export interface RayDeployValues {
  region: string;
  subnetIds: string[];
  securityGroupId: string;
  instanceProfileArn: string;
  imageUri: string;
  cudaImageUri: string;
  amiId: string;
  gpuAmiId: string;
  /** s3:// prefix the head writes its logs and the job's outputs under. */
  resultsUri: string;
  /** EC2 key pair Ray uses to SSH into the nodes, and where its private key is on the machine running `ray up`. */
  keyName: string;
  sshPrivateKeyPath: string;
}

export const RAY_CLUSTER_CONFIG_PARAMETER = '/metavec/ray/cluster-config';

/** Ray node type names: one per instance type (Ray's AWS provider takes one InstanceType per node type). */
export function workerNodeTypeName(instanceType: string): string {
  return `ray.worker.${instanceType.replace(/[^a-z0-9]+/gi, '-')}`;
}

export function rayClusterConfig(c: MetavecConfig, v: RayDeployValues): Record<string, unknown> {
  const market = c.ray.capacity === 'spot' ? { InstanceMarketOptions: { MarketType: 'spot' } } : {};
  const common = (instanceType: string, ami: string, volumeGiB: number): Record<string, unknown> => ({
    InstanceType: instanceType,
    ImageId: ami,
    KeyName: v.keyName,
    SubnetIds: v.subnetIds,
    SecurityGroupIds: [v.securityGroupId],
    IamInstanceProfile: { Arn: v.instanceProfileArn },
    MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
    BlockDeviceMappings: [
      { DeviceName: '/dev/xvda', Ebs: { VolumeSize: volumeGiB, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true } },
    ],
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'project', Value: c.project }] }],
  });
  const perType = Math.max(1, Math.ceil(c.ray.maxWorkers / c.ray.workerInstanceTypes.length));
  const nodeTypes: Record<string, unknown> = {
    'ray.head.default': {
      // The head schedules and serves the Jobs API; it runs no tasks.
      resources: { CPU: 0 },
      node_config: common(c.ray.headInstanceType, v.amiId, 100),
    },
  };
  for (const t of c.ray.workerInstanceTypes) {
    nodeTypes[workerNodeTypeName(t)] = {
      min_workers: 0,
      max_workers: perType,
      resources: {},
      node_config: { ...common(t, v.amiId, 200), ...market },
    };
  }
  if (c.ray.minWorkers > 0) {
    const first = nodeTypes[workerNodeTypeName(c.ray.workerInstanceTypes[0]!)] as Record<string, unknown>;
    first.min_workers = Math.min(c.ray.minWorkers, perType);
  }
  if (c.ray.maxGpuWorkers > 0) {
    nodeTypes['ray.worker.gpu'] = {
      min_workers: 0,
      max_workers: c.ray.maxGpuWorkers,
      resources: {},
      docker: { worker_image: v.cudaImageUri, worker_run_options: ['--gpus all'] },
      node_config: { ...common(c.ray.gpuWorkerInstanceType, v.gpuAmiId, 200), ...market },
    };
  }
  const env = `-e METAVEC_RESULTS_URI=${v.resultsUri} -e RAY_kill_child_processes_on_worker_exit_with_raylet_subreaper=true`;
  return {
    cluster_name: c.ray.clusterName,
    max_workers: c.ray.maxWorkers + c.ray.maxGpuWorkers,
    upscaling_speed: 1.0,
    idle_timeout_minutes: c.ray.idleTimeoutMinutes,
    docker: {
      image: v.imageUri,
      container_name: 'ray_container',
      pull_before_run: true,
      run_options: ['--ulimit nofile=65536:65536', '--shm-size=8g', env],
    },
    provider: {
      type: 'aws',
      region: v.region,
      cache_stopped_nodes: false,
      use_internal_ips: true,
    },
    auth: { ssh_user: 'ec2-user', ssh_private_key: v.sshPrivateKeyPath },
    available_node_types: nodeTypes,
    head_node_type: 'ray.head.default',
    file_mounts: {},
    cluster_synced_files: [],
    file_mounts_sync_continuously: false,
    rsync_exclude: ['**/.git', '**/.git/**'],
    rsync_filter: ['.gitignore'],
    initialization_commands: [
      // ECR login on the host so `docker pull` of the worker image works.
      `aws ecr get-login-password --region ${v.region} | docker login --username AWS --password-stdin ${v.imageUri.split('/')[0]}`,
    ],
    setup_commands: [],
    head_setup_commands: [],
    worker_setup_commands: [],
    head_start_ray_commands: [
      'ray stop',
      'ray start --head --port=6379 --object-manager-port=8076 --dashboard-host=0.0.0.0 --autoscaling-config=~/ray_bootstrap_config.yaml',
    ],
    worker_start_ray_commands: ['ray stop', 'ray start --address=$RAY_HEAD_IP:6379 --object-manager-port=8076'],
  };
}
