import { Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import { Construct } from 'constructs';
import { MetavecConfig, prefix } from '../config';
import { RAY_CLUSTER_CONFIG_PARAMETER, rayClusterConfig } from '../ray-config';
import { acknowledge } from '../nag';

export interface RayStackProps extends StackProps {
  config: MetavecConfig;
  vpc: ec2.IVpc;
  key: kms.IKey;
  rawBucket: s3.IBucket;
  embeddingsBucket: s3.IBucket;
  repository: ecr.IRepository;
}

export const RAY_AMI_PARAMETER = '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id';
export const RAY_GPU_AMI_PARAMETER = '/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id';

/**
 * Phase 1 on Ray: one IAM role + instance profile for head and workers, a security group, the autoscaler
 * config (rendered from the typed config into an SSM parameter) and a CodeBuild project that runs `ray up`
 * and submits `metavec prep --engine ray`.
 */
export class RayStack extends Stack {
  readonly role: iam.Role;
  readonly securityGroup: ec2.SecurityGroup;
  readonly launcher: codebuild.Project;
  readonly clusterConfigParameter: ssm.StringParameter;

  constructor(scope: Construct, id: string, props: RayStackProps) {
    super(scope, id, props);
    const c = props.config;

    this.role = new iam.Role(this, 'NodeRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'Ray head and worker nodes: S3 data lake, ECR pull, autoscaler EC2 calls, SSM',
    });
    const profile = new iam.InstanceProfile(this, 'NodeProfile', { role: this.role });
    props.rawBucket.grantRead(this.role);
    props.embeddingsBucket.grantReadWrite(this.role);
    props.key.grantEncryptDecrypt(this.role);
    props.repository.grantPull(this.role);
    this.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }),
    );
    // The autoscaler on the head launches and terminates the workers.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:RunInstances', 'ec2:TerminateInstances', 'ec2:StartInstances', 'ec2:StopInstances', 'ec2:CreateTags', 'ec2:Describe*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:RequestedRegion': this.region } },
      }),
    );
    this.role.addToPolicy(new iam.PolicyStatement({ actions: ['iam:PassRole', 'iam:GetInstanceProfile'], resources: [this.role.roleArn, profile.instanceProfileArn] }));
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['ssm:UpdateInstanceInformation', 'ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel', 'cloudwatch:PutMetricData'],
        resources: ['*'],
      }),
    );

    this.securityGroup = new ec2.SecurityGroup(this, 'RaySecurityGroup', {
      vpc: props.vpc,
      description: 'Ray head and workers: all traffic inside the cluster',
      allowAllOutbound: true,
    });
    this.securityGroup.addIngressRule(this.securityGroup, ec2.Port.allTraffic(), 'Ray GCS, object manager, raylets, dashboard within the cluster');

    const keyPair = new ec2.KeyPair(this, 'RayKeyPair', { keyPairName: prefix(c, 'ray') });
    const subnets = props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnetIds;
    const registry = `${this.account}.dkr.ecr.${this.region}.amazonaws.com`;
    const rayConfig = rayClusterConfig(c, {
      region: this.region,
      subnetIds: subnets,
      securityGroupId: this.securityGroup.securityGroupId,
      instanceProfileArn: profile.instanceProfileArn,
      imageUri: `${registry}/${props.repository.repositoryName}:${c.ray.imageTag}`,
      cudaImageUri: `${registry}/${props.repository.repositoryName}:${c.ray.cudaImageTag}`,
      amiId: ssm.StringParameter.valueForStringParameter(this, RAY_AMI_PARAMETER),
      gpuAmiId: ssm.StringParameter.valueForStringParameter(this, RAY_GPU_AMI_PARAMETER),
      resultsUri: `s3://${props.embeddingsBucket.bucketName}/runs/`,
      keyName: keyPair.keyPairName,
      sshPrivateKeyPath: '~/.ssh/metavec-ray.pem',
    });
    this.clusterConfigParameter = new ssm.StringParameter(this, 'ClusterConfig', {
      parameterName: RAY_CLUSTER_CONFIG_PARAMETER,
      description: 'Ray autoscaler cluster config (JSON, valid YAML) for `ray up`',
      stringValue: this.toJsonString(rayConfig),
      tier: ssm.ParameterTier.ADVANCED,
    });

    const logGroup = new logs.LogGroup(this, 'LauncherLogs', { retention: logs.RetentionDays.ONE_MONTH });
    const launcherSg = new ec2.SecurityGroup(this, 'LauncherSecurityGroup', {
      vpc: props.vpc,
      description: 'CodeBuild Ray launcher: SSH and the Jobs API on the Ray head',
      allowAllOutbound: true,
    });
    this.securityGroup.addIngressRule(launcherSg, ec2.Port.tcp(22), 'ray up / ray exec over SSH from the launcher');
    this.securityGroup.addIngressRule(launcherSg, ec2.Port.tcp(8265), 'Ray Jobs API from the launcher');
    this.launcher = new codebuild.Project(this, 'Launcher', {
      projectName: prefix(c, 'ray-launcher'),
      description: 'ray up + metavec prep --engine ray (Phase 1)',
      vpc: props.vpc,
      subnetSelection: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [launcherSg],
      encryptionKey: props.key,
      timeout: Duration.hours(8),
      logging: { cloudWatch: { logGroup } },
      environment: { buildImage: codebuild.LinuxBuildImage.STANDARD_7_0, computeType: codebuild.ComputeType.SMALL },
      environmentVariables: {
        INPUT_URI: { value: `s3://${props.rawBucket.bucketName}/incoming/` },
        OUTPUT_URI: { value: `s3://${props.embeddingsBucket.bucketName}/runs/latest/prep` },
        RAY_CONFIG_PARAMETER: { value: RAY_CLUSTER_CONFIG_PARAMETER },
        RAY_KEY_PARAMETER: { value: `/ec2/keypair/${keyPair.keyPairId}` },
        RAY_VERSION: { value: c.ray.rayVersion },
        TEARDOWN: { value: 'true' },
      },
      buildSpec: codebuild.BuildSpec.fromObject({
        version: '0.2',
        phases: {
          install: { commands: ['pip install --quiet "ray[default]==${RAY_VERSION}" boto3'] },
          pre_build: {
            commands: [
              'mkdir -p ~/.ssh',
              'aws ssm get-parameter --name "$RAY_KEY_PARAMETER" --with-decryption --query Parameter.Value --output text > ~/.ssh/metavec-ray.pem',
              'chmod 600 ~/.ssh/metavec-ray.pem',
              'aws ssm get-parameter --name "$RAY_CONFIG_PARAMETER" --query Parameter.Value --output text > cluster.yaml',
            ],
          },
          build: {
            commands: [
              'ray up -y --no-config-cache cluster.yaml',
              // Target command (depends on the Ray engine and S3 I/O issues, see docs/deploy.md).
              'ray exec cluster.yaml "metavec prep --engine ray --ray-address http://127.0.0.1:8265 --input $INPUT_URI --output $OUTPUT_URI --json"',
            ],
          },
          post_build: { commands: ['if [ "$TEARDOWN" = "true" ]; then ray down -y cluster.yaml; fi'] },
        },
      }),
    });
    const p = this.launcher;
    this.clusterConfigParameter.grantRead(p);
    p.addToRolePolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: [`arn:${this.partition}:ssm:${this.region}:${this.account}:parameter/ec2/keypair/${keyPair.keyPairId}`] }));
    p.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ec2:RunInstances', 'ec2:TerminateInstances', 'ec2:StartInstances', 'ec2:StopInstances', 'ec2:CreateTags', 'ec2:Describe*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:RequestedRegion': this.region } },
      }),
    );
    p.addToRolePolicy(new iam.PolicyStatement({ actions: ['iam:PassRole', 'iam:GetInstanceProfile'], resources: [this.role.roleArn, profile.instanceProfileArn] }));
  }
}
