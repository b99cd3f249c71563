import { Fn, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as fsx from 'aws-cdk-lib/aws-fsx';
import * as pcs from 'aws-cdk-lib/aws-pcs';
import { Construct } from 'constructs';
import { MetavecConfig, NodeGroupConfig, prefix } from '../config';
import { pclusterConfig } from '../pcluster-config';
import { acknowledge } from '../nag';

export interface HpcStackProps extends StackProps {
  config: MetavecConfig;
  vpc: ec2.IVpc;
  hpcSubnet: ec2.ISubnet;
  efaSecurityGroup: ec2.ISecurityGroup;
  placementGroup: ec2.IPlacementGroup;
  key: kms.IKey;
  embeddingsBucket: s3.IBucket;
  resultsBucket: s3.IBucket;
}

export const PCLUSTER_CONFIG_PARAMETER = '/metavec/hpc/pcluster-config';

/** The user data PCS needs (MIME multipart): mount FSx for Lustre at the configured path before slurmd starts. */
export function nodeUserData(fsxDns: string, fsxMountName: string, mountPath: string): string {
  return [
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="==METAVEC=="',
    '',
    '--==METAVEC==',
    'Content-Type: text/x-shellscript; charset="us-ascii"',
    '',
    '#!/bin/bash',
    'set -euo pipefail',
    `mkdir -p ${mountPath}`,
    'command -v mount.lustre >/dev/null || dnf install -y lustre-client || amazon-linux-extras install -y lustre',
    `mount -t lustre -o relatime,flock ${fsxDns}@tcp:/${fsxMountName} ${mountPath}`,
    `echo "${fsxDns}@tcp:/${fsxMountName} ${mountPath} lustre defaults,relatime,flock,_netdev,x-systemd.automount,x-systemd.requires=network.service 0 0" >> /etc/fstab`,
    '',
    '--==METAVEC==--',
    '',
  ].join('\n');
}

/**
 * Phase 2: FSx for Lustre (PERSISTENT_2) linked to the embeddings and results buckets, and an AWS PCS Slurm
 * cluster with a login group and one compute node group + queue per configured group (EFA and the cluster
 * placement group where the group asks for them). Also renders the equivalent ParallelCluster config.
 */
export class HpcStack extends Stack {
  readonly fileSystem: fsx.CfnFileSystem;
  readonly cluster: pcs.CfnCluster;
  readonly nodeGroups = new Map<string, pcs.CfnComputeNodeGroup>();

  constructor(scope: Construct, id: string, props: HpcStackProps) {
    super(scope, id, props);
    const c = props.config;

    this.fileSystem = new fsx.CfnFileSystem(this, 'Lustre', {
      fileSystemType: 'LUSTRE',
      fileSystemTypeVersion: '2.15',
      storageCapacity: c.fsx.storageCapacityGiB,
      storageType: 'SSD',
      subnetIds: [props.hpcSubnet.subnetId],
      securityGroupIds: [props.efaSecurityGroup.securityGroupId],
      kmsKeyId: props.key.keyId,
      lustreConfiguration: {
        deploymentType: 'PERSISTENT_2',
        perUnitStorageThroughput: c.fsx.throughputPerTiB,
        dataCompressionType: 'LZ4',
        automaticBackupRetentionDays: 0,
        weeklyMaintenanceStartTime: '7:03:00',
      },
      tags: [{ key: 'Name', value: prefix(c, 'fsx') }],
    });
    const lakePath = c.fsx.fileSystemPath.replace(/\/$/, '');
    // Shards appear under /fsx/lake/embeddings (imported lazily), results written under /fsx/lake/results
    // are exported to S3 automatically.
    new fsx.CfnDataRepositoryAssociation(this, 'EmbeddingsAssociation', {
      fileSystemId: this.fileSystem.ref,
      fileSystemPath: `${lakePath}/embeddings`,
      dataRepositoryPath: `s3://${props.embeddingsBucket.bucketName}/runs/`,
      batchImportMetaDataOnCreate: true,
      s3: { autoImportPolicy: { events: ['NEW', 'CHANGED', 'DELETED'] } },
    });
    new fsx.CfnDataRepositoryAssociation(this, 'ResultsAssociation', {
      fileSystemId: this.fileSystem.ref,
      fileSystemPath: `${lakePath}/results`,
      dataRepositoryPath: `s3://${props.resultsBucket.bucketName}/runs/`,
      batchImportMetaDataOnCreate: false,
      s3: { autoExportPolicy: { events: ['NEW', 'CHANGED', 'DELETED'] }, autoImportPolicy: { events: ['NEW', 'CHANGED', 'DELETED'] } },
    });

    // PCS requires the instance profile's role under /aws-pcs/ (or named AWSPCS*).
    const role = new iam.Role(this, 'NodeRole', {
      path: '/aws-pcs/',
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'PCS login and compute nodes',
    });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['pcs:RegisterComputeNodeGroupInstance'], resources: ['*'] }));
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['ssm:UpdateInstanceInformation', 'ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel', 'cloudwatch:PutMetricData'],
        resources: ['*'],
      }),
    );
    props.embeddingsBucket.grantRead(role);
    props.resultsBucket.grantReadWrite(role);
    props.key.grantEncryptDecrypt(role);
    const profile = new iam.InstanceProfile(this, 'NodeProfile', { role, path: '/aws-pcs/' });

    this.cluster = new pcs.CfnCluster(this, 'Cluster', {
      name: prefix(c, 'slurm'),
      scheduler: { type: 'SLURM', version: c.hpc.slurmVersion },
      size: c.hpc.controllerSize,
      networking: { subnetIds: [props.hpcSubnet.subnetId], securityGroupIds: [props.efaSecurityGroup.securityGroupId] },
      slurmConfiguration: { scaleDownIdleTimeInSeconds: 600 },
    });

    const userData = Fn.base64(
      nodeUserData(`${this.fileSystem.ref}.fsx.${this.region}.amazonaws.com`, this.fileSystem.attrLustreMountName, c.fsx.mountPath),
    );
    const launchTemplate = (name: string, efa: boolean): ec2.CfnLaunchTemplate =>
      new ec2.CfnLaunchTemplate(this, `Template-${name}`, {
        launchTemplateName: prefix(c, `pcs-${name}`),
        launchTemplateData: {
          metadataOptions: { httpTokens: 'required', httpEndpoint: 'enabled', httpPutResponseHopLimit: 2 },
          userData,
          blockDeviceMappings: [{ deviceName: '/dev/xvda', ebs: { volumeSize: 100, volumeType: 'gp3', encrypted: true, deleteOnTermination: true } }],
          ...(efa
            ? {
                placement: { groupName: props.placementGroup.placementGroupName },
                networkInterfaces: [{ deviceIndex: 0, networkCardIndex: 0, interfaceType: 'efa', groups: [props.efaSecurityGroup.securityGroupId] }],
              }
            : { securityGroupIds: [props.efaSecurityGroup.securityGroupId] }),
        },
      });

    const group = (g: NodeGroupConfig): pcs.CfnComputeNodeGroup => {
      const lt = launchTemplate(g.name, g.efa);
      return new pcs.CfnComputeNodeGroup(this, `NodeGroup-${g.name}`, {
        clusterId: this.cluster.attrId,
        name: g.name,
        amiId: c.hpc.amiId,
        iamInstanceProfileArn: profile.instanceProfileArn,
        customLaunchTemplate: { templateId: lt.ref, version: lt.attrLatestVersionNumber },
        instanceConfigs: g.instanceTypes.map((instanceType) => ({ instanceType })),
        scalingConfiguration: { minInstanceCount: g.minInstances, maxInstanceCount: g.maxInstances },
        subnetIds: [props.hpcSubnet.subnetId],
        purchaseOption: g.capacity === 'spot' ? 'SPOT' : 'ONDEMAND',
        ...(g.capacity === 'spot' ? { spotOptions: { allocationStrategy: 'capacity-optimized' } } : {}),
      });
    };
    group({ name: 'login', instanceTypes: [c.hpc.loginInstanceType], minInstances: 1, maxInstances: 1, capacity: 'on-demand', efa: false, gpu: false });
    for (const g of c.hpc.nodeGroups) {
      const ng = group(g);
      this.nodeGroups.set(g.name, ng);
      new pcs.CfnQueue(this, `Queue-${g.name}`, {
        clusterId: this.cluster.attrId,
        name: g.name,
        computeNodeGroupConfigurations: [{ computeNodeGroupId: ng.attrId }],
      });
    }

    // The secondary option, generated from the same config against these resources.
    const pc = pclusterConfig(c, {
      region: this.region,
      headSubnetId: props.hpcSubnet.subnetId,
      computeSubnetId: props.hpcSubnet.subnetId,
      securityGroupId: props.efaSecurityGroup.securityGroupId,
      fsxFileSystemId: this.fileSystem.ref,
      keyName: prefix(c, 'hpc'),
      dataBucket: props.resultsBucket.bucketName,
    });
    new ssm.StringParameter(this, 'PclusterConfig', {
      parameterName: PCLUSTER_CONFIG_PARAMETER,
      description: 'AWS ParallelCluster 3 config (JSON, valid YAML) equivalent to the PCS cluster',
      stringValue: this.toJsonString(pc),
      tier: ssm.ParameterTier.ADVANCED,
    });
  }
}
