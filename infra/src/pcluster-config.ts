/**
 * AWS ParallelCluster 3 cluster configuration (the secondary HPC option), generated from the same typed
 * config: Slurm queues per node group, EFA and placement groups where the group asks for them, FSx for
 * Lustre mounted at /fsx (the file system the HPC stack creates). Deploy it with `pcluster create-cluster`
 * or the `Custom::PclusterCluster` resource (docs/deploy.md).
 */
import { MetavecConfig } from './config';

export interface PclusterDeployValues {
  region: string;
  headSubnetId: string;
  computeSubnetId: string;
  securityGroupId: string;
  fsxFileSystemId: string;
  keyName: string;
  dataBucket: string;
}

export function pclusterConfig(c: MetavecConfig, v: PclusterDeployValues): Record<string, unknown> {
  return {
    Region: v.region,
    Image: { Os: 'alinux2023' },
    HeadNode: {
      InstanceType: c.hpc.loginInstanceType,
      Networking: { SubnetId: v.headSubnetId, AdditionalSecurityGroups: [v.securityGroupId] },
      Ssh: { KeyName: v.keyName },
      Iam: { S3Access: [{ BucketName: v.dataBucket, EnableWriteAccess: true }] },
    },
    Scheduling: {
      Scheduler: 'slurm',
      SlurmSettings: { ScaledownIdletime: 10, QueueUpdateStrategy: 'DRAIN' },
      SlurmQueues: c.hpc.nodeGroups.map((g) => ({
        Name: g.name,
        CapacityType: g.capacity === 'spot' ? 'SPOT' : 'ONDEMAND',
        Networking: {
          SubnetIds: [v.computeSubnetId],
          AdditionalSecurityGroups: [v.securityGroupId],
          PlacementGroup: { Enabled: g.efa },
        },
        ComputeResources: g.instanceTypes.map((t) => ({
          Name: `${g.name}-${t.replace(/[^a-z0-9]+/gi, '')}`.slice(0, 25),
          InstanceType: t,
          MinCount: g.minInstances,
          MaxCount: g.maxInstances,
          Efa: { Enabled: g.efa },
          DisableSimultaneousMultithreading: g.efa,
        })),
        Iam: { S3Access: [{ BucketName: v.dataBucket, EnableWriteAccess: true }] },
      })),
    },
    SharedStorage: [
      {
        MountDir: c.fsx.mountPath,
        Name: 'metavec-fsx',
        StorageType: 'FsxLustre',
        FsxLustreSettings: { FileSystemId: v.fsxFileSystemId },
      },
    ],
    Monitoring: { Dashboards: { CloudWatch: { Enabled: true } }, Logs: { CloudWatch: { Enabled: true, RetentionInDays: 30 } } },
    Tags: [{ Key: 'project', Value: c.project }],
  };
}
