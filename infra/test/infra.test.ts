import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FEATURE_FLAGS, addStacks, buildApp } from '../src/app';
import { defaultConfig, loadConfig, mergeConfig, validateConfig, MetavecConfig } from '../src/config';
import { rayClusterConfig, workerNodeTypeName } from '../src/ray-config';
import { pclusterConfig } from '../src/pcluster-config';

const outRoot = process.env.INFRA_TEST_OUT ?? fs.mkdtempSync(path.join(os.tmpdir(), 'metavec-infra-test-'));
fs.mkdirSync(outRoot, { recursive: true });

function synthApp(context: Record<string, unknown> = {}): ReturnType<typeof buildApp> & { outdir: string } {
  const outdir = fs.mkdtempSync(path.join(outRoot, 'cdk-'));
  const built = buildApp(new App({ outdir, context }));
  built.app.synth(); // runs the cdk-nag AwsSolutions plugin; throws on any unacknowledged finding
  return { ...built, outdir };
}

const main = synthApp();
const t = {
  storage: Template.fromStack(main.stacks.storage),
  network: Template.fromStack(main.stacks.network),
  cicd: Template.fromStack(main.stacks.cicd),
  ray: Template.fromStack(main.stacks.ray),
  hpc: Template.fromStack(main.stacks.hpc),
  monitoring: Template.fromStack(main.stacks.monitoring),
};

test('every stack synthesises; resource counts', () => {
  let total = 0;
  for (const [name, tpl] of Object.entries(t)) {
    const n = Object.keys((tpl.toJSON() as { Resources: object }).Resources).length;
    assert.ok(n > 0, name);
    total += n;
    console.log(`# ${name}: ${n} resources`);
  }
  console.log(`# total: ${total} resources in ${Object.keys(t).length} stacks`);
  for (const s of ['Storage', 'Network', 'CiCd', 'Ray', 'Hpc', 'Monitoring']) {
    assert.ok(fs.existsSync(path.join(main.outdir, `${s}.template.json`)), s);
  }
});

test('cdk-nag AwsSolutions: zero unacknowledged findings, every acknowledgement has a reason', () => {
  const report = JSON.parse(fs.readFileSync(path.join(main.outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: { pluginName: string; conclusion: string; violations: unknown[] }[];
  };
  // A plugin with no violations is left out of the report (the negative tests below show it runs).
  const failing = report.pluginReports.filter((p) => p.violations.length > 0);
  assert.deepEqual(failing, []);
  assert.ok(main.acknowledged.length > 0);
  for (const a of main.acknowledged) assert.ok(a.reason.length >= 20, `${a.path} ${a.id}`);
  const byRule = new Map<string, number>();
  for (const a of main.acknowledged) byRule.set(a.id.split('[')[0]!, (byRule.get(a.id.split('[')[0]!) ?? 0) + 1);
  console.log(`# nag acknowledgements: ${main.acknowledged.length} (${[...byRule].map(([k, v]) => `${k}: ${v}`).join(', ')})`);
  fs.writeFileSync(path.join(outRoot, 'nag-acknowledgements.json'), JSON.stringify(main.acknowledged, null, 2));
});

test('cdk-nag fails synth on an unacknowledged wildcard', () => {
  const app = new App({ outdir: fs.mkdtempSync(path.join(outRoot, 'neg-')), context: FEATURE_FLAGS });
  const s = new Stack(app, 'Bad');
  const role = new iam.Role(s, 'R', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
  role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] }));
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  assert.throws(() => app.synth(), /Validation failed|ValidationFailed/);
});

test('storage: encrypted, TLS-only, private, versioned buckets with lifecycle; Glue crawler; Athena workgroup', () => {
  t.storage.resourceCountIs('AWS::S3::Bucket', 4);
  t.storage.resourcePropertiesCountIs('AWS::S3::Bucket', {
    BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' }, BucketKeyEnabled: true }] },
    VersioningConfiguration: { Status: 'Enabled' },
    PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    LoggingConfiguration: Match.objectLike({ DestinationBucketName: Match.anyValue() }),
    LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Transitions: Match.arrayWith([Match.objectLike({ StorageClass: 'INTELLIGENT_TIERING', TransitionInDays: 30 })]) })]) },
  }, 3);
  t.storage.hasResourceProperties('AWS::S3::Bucket', {
    LifecycleConfiguration: { Rules: [Match.objectLike({ Transitions: Match.arrayWith([Match.objectLike({ StorageClass: 'GLACIER_IR', TransitionInDays: 180 })]) })] },
  });
  // enforceSSL on all four
  const policies = t.storage.findResources('AWS::S3::BucketPolicy');
  const tlsDeny = Object.values(policies).filter((p) => JSON.stringify(p).includes('"aws:SecureTransport":"false"'));
  assert.equal(tlsDeny.length, 4);
  t.storage.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  t.storage.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'metavec_lake' } });
  t.storage.hasResourceProperties('AWS::Glue::Crawler', {
    DatabaseName: 'metavec_lake',
    CrawlerSecurityConfiguration: Match.anyValue(),
    Targets: { S3Targets: Match.arrayWith([Match.objectLike({ Path: Match.anyValue() })]) },
  });
  const crawler = Object.values(t.storage.findResources('AWS::Glue::Crawler'))[0] as { Properties: { Targets: { S3Targets: unknown[] } } };
  assert.equal(crawler.Properties.Targets.S3Targets.length, 2);
  t.storage.hasResourceProperties('AWS::Athena::WorkGroup', {
    WorkGroupConfiguration: Match.objectLike({ EnforceWorkGroupConfiguration: true, ResultConfiguration: Match.objectLike({ EncryptionConfiguration: Match.objectLike({ EncryptionOption: 'SSE_KMS' }) }) }),
  });
});

test('network: private subnets, S3 gateway endpoint, cluster placement group, EFA security group', () => {
  t.network.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.40.0.0/16' });
  const subnets = t.network.findResources('AWS::EC2::Subnet', { Properties: { Tags: Match.arrayWith([{ Key: 'aws-cdk:subnet-type', Value: 'Private' }]) } });
  assert.equal(Object.keys(subnets).length, 2);
  t.network.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway', ServiceName: Match.objectLike({}) });
  t.network.hasResourceProperties('AWS::EC2::PlacementGroup', { Strategy: 'cluster' });
  t.network.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { IpProtocol: '-1', SourceSecurityGroupId: Match.anyValue() });
  t.network.hasResourceProperties('AWS::EC2::SecurityGroupEgress', { IpProtocol: '-1', DestinationSecurityGroupId: Match.anyValue() });
  t.network.resourceCountIs('AWS::EC2::FlowLog', 1);
});

test('hpc: FSx for Lustre PERSISTENT_2 with data repository associations; PCS cluster, node groups, queues', () => {
  t.hpc.hasResourceProperties('AWS::FSx::FileSystem', {
    FileSystemType: 'LUSTRE',
    StorageCapacity: 1200,
    LustreConfiguration: Match.objectLike({ DeploymentType: 'PERSISTENT_2', PerUnitStorageThroughput: 250 }),
  });
  t.hpc.resourceCountIs('AWS::FSx::DataRepositoryAssociation', 2);
  t.hpc.hasResourceProperties('AWS::FSx::DataRepositoryAssociation', { FileSystemPath: '/lake/embeddings' });
  t.hpc.hasResourceProperties('AWS::FSx::DataRepositoryAssociation', { FileSystemPath: '/lake/results', S3: Match.objectLike({ AutoExportPolicy: Match.anyValue() }) });
  t.hpc.hasResourceProperties('AWS::PCS::Cluster', { Scheduler: { Type: 'SLURM', Version: '24.11' }, Size: 'SMALL' });
  t.hpc.resourceCountIs('AWS::PCS::ComputeNodeGroup', 5); // login + cpu, gpu, gpu-large, mem
  t.hpc.resourceCountIs('AWS::PCS::Queue', 4);
  for (const [name, type, purchase] of [['cpu', 'hpc6a.48xlarge', 'ONDEMAND'], ['gpu', 'g4dn.12xlarge', 'SPOT'], ['gpu-large', 'p4d.24xlarge', 'ONDEMAND'], ['mem', 'r5.12xlarge', 'SPOT']] as const) {
    t.hpc.hasResourceProperties('AWS::PCS::ComputeNodeGroup', { Name: name, InstanceConfigs: [{ InstanceType: type }], PurchaseOption: purchase });
    t.hpc.hasResourceProperties('AWS::PCS::Queue', { Name: name });
  }
  // EFA groups: EFA interface + cluster placement group; the instance profile role lives under /aws-pcs/.
  t.hpc.resourcePropertiesCountIs('AWS::EC2::LaunchTemplate', {
    LaunchTemplateData: Match.objectLike({ NetworkInterfaces: [Match.objectLike({ InterfaceType: 'efa' })], Placement: { GroupName: Match.anyValue() } }),
  }, 2);
  t.hpc.hasResourceProperties('AWS::IAM::Role', { Path: '/aws-pcs/' });
  const lt = JSON.stringify(t.hpc.findResources('AWS::EC2::LaunchTemplate'));
  assert.match(lt, /mount -t lustre/);
  assert.match(lt, /\/fsx/);
  t.hpc.hasResourceProperties('AWS::SSM::Parameter', { Name: '/metavec/hpc/pcluster-config' });
});

test('ray: node role + instance profile, security group, autoscaler config parameter, launcher project', () => {
  t.ray.resourceCountIs('AWS::IAM::InstanceProfile', 1);
  t.ray.hasResourceProperties('AWS::IAM::Role', { AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'ec2.amazonaws.com' } })] }) });
  t.ray.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { IpProtocol: '-1' });
  t.ray.hasResourceProperties('AWS::SSM::Parameter', { Name: '/metavec/ray/cluster-config', Tier: 'Advanced' });
  const project = Object.values(t.ray.findResources('AWS::CodeBuild::Project'))[0] as { Properties: { Source: { BuildSpec: string }; VpcConfig: unknown; EncryptionKey: unknown } };
  assert.match(project.Properties.Source.BuildSpec, /ray up -y/);
  assert.match(project.Properties.Source.BuildSpec, /metavec prep --engine ray --ray-address/);
  assert.ok(project.Properties.VpcConfig);
  assert.ok(project.Properties.EncryptionKey);
});

test('ray: the deployed config parameter (tokens replaced by placeholders) is written for schema validation', () => {
  const params = t.ray.findResources('AWS::SSM::Parameter', { Properties: { Name: '/metavec/ray/cluster-config' } });
  const value = (Object.values(params)[0] as { Properties: { Value: unknown } }).Properties.Value;
  const flatten = (v: unknown): string => {
    if (typeof v === 'string') return v;
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if ('Fn::Join' in o) {
        const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
        return parts.map(flatten).join(sep);
      }
      if ('Ref' in o) return `placeholder-${String(o.Ref).toLowerCase()}`;
      if ('Fn::GetAtt' in o) return `placeholder-${String((o['Fn::GetAtt'] as string[])[0]).toLowerCase()}`;
      if ('Fn::ImportValue' in o) return 'placeholder-import';
    }
    throw new Error(`unexpected intrinsic ${JSON.stringify(v)}`);
  };
  const parsed = JSON.parse(flatten(value)) as Record<string, unknown>;
  assert.equal(parsed.cluster_name, 'metavec-prep');
  assert.equal(parsed.idle_timeout_minutes, 10);
  fs.writeFileSync(path.join(outRoot, 'ray-cluster-deployed.yaml'), JSON.stringify(parsed, null, 2));
});

test('ci/cd: ECR repository, pipeline source -> image build -> deploy', () => {
  t.cicd.hasResourceProperties('AWS::ECR::Repository', { ImageScanningConfiguration: { ScanOnPush: true } });
  t.cicd.hasResourceProperties('AWS::CodePipeline::Pipeline', {
    Stages: [Match.objectLike({ Name: 'Source' }), Match.objectLike({ Name: 'Image' }), Match.objectLike({ Name: 'Deploy' })],
  });
  t.cicd.hasResourceProperties('AWS::CodeBuild::Project', { Environment: Match.objectLike({ PrivilegedMode: true }) });
  const specs = JSON.stringify(t.cicd.findResources('AWS::CodeBuild::Project'));
  assert.match(specs, /infra\/docker\/Dockerfile/);
  assert.match(specs, /cdk deploy --all/);
});

test('monitoring: dashboard, alarms on Ray pending tasks, Slurm queue depth and failures, Lambda scaling action', () => {
  t.monitoring.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  t.monitoring.resourceCountIs('AWS::CloudWatch::Alarm', 1 + defaultConfig.hpc.nodeGroups.length + 2);
  t.monitoring.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'RayPendingTasks', Namespace: 'metavec', Threshold: 1000 });
  t.monitoring.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'PendingJobs', Dimensions: [{ Name: 'Queue', Value: 'cpu' }] });
  t.monitoring.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'JobsFailed' });
  t.monitoring.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'FailedBuilds', Namespace: 'AWS/CodeBuild' });
  t.monitoring.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs24.x', Handler: 'scale.handler' });
  t.monitoring.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'lambda' });
  t.monitoring.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
});

test('config: defaults valid; overrides merge; invalid values are refused with every problem listed', () => {
  assert.doesNotThrow(() => validateConfig(defaultConfig));
  const c = mergeConfig(defaultConfig, { region: 'eu-west-1', ray: { capacity: 'on-demand' } });
  assert.equal(c.region, 'eu-west-1');
  assert.equal(c.ray.capacity, 'on-demand');
  assert.equal(c.ray.maxWorkers, defaultConfig.ray.maxWorkers);
  assert.throws(
    () => loadConfig({ json: JSON.stringify({ region: 'mars', fsx: { storageCapacityGiB: 1000 }, ray: { maxWorkers: -1 } }) }, () => ''),
    (e: Error) => /region "mars"/.test(e.message) && /storageCapacityGiB 1000/.test(e.message) && /maxWorkers/.test(e.message),
  );
});

test('config drives the stacks: on-demand Ray, other region, other node groups', () => {
  const override = {
    region: 'eu-west-1',
    ray: { capacity: 'on-demand', workerInstanceTypes: ['c7i.4xlarge'] },
    hpc: { nodeGroups: [{ name: 'cpu', instanceTypes: ['hpc7a.96xlarge'], minInstances: 0, maxInstances: 8, capacity: 'spot', efa: true, gpu: false }] },
  };
  const app = new App({ outdir: fs.mkdtempSync(path.join(outRoot, 'alt-')), context: { metavecConfig: JSON.stringify(override) } });
  const { stacks } = buildApp(app);
  app.synth();
  const hpc = Template.fromStack(stacks.hpc);
  hpc.resourceCountIs('AWS::PCS::ComputeNodeGroup', 2);
  hpc.hasResourceProperties('AWS::PCS::ComputeNodeGroup', { InstanceConfigs: [{ InstanceType: 'hpc7a.96xlarge' }], PurchaseOption: 'SPOT' });
  assert.equal(stacks.hpc.region, 'eu-west-1');
  const c = mergeConfig(defaultConfig, override) as MetavecConfig;
  const ray = rayClusterConfig(c, placeholders);
  const types = ray.available_node_types as Record<string, { node_config: Record<string, unknown> }>;
  assert.ok(types[workerNodeTypeName('c7i.4xlarge')]);
  assert.equal(types[workerNodeTypeName('c7i.4xlarge')]!.node_config.InstanceMarketOptions, undefined);
});

const placeholders = {
  region: 'us-east-1', subnetIds: ['subnet-1'], securityGroupId: 'sg-1', instanceProfileArn: 'arn:aws:iam::1:instance-profile/x',
  imageUri: '1.dkr.ecr.us-east-1.amazonaws.com/w:latest', cudaImageUri: '1.dkr.ecr.us-east-1.amazonaws.com/w:cuda', amiId: 'ami-1', gpuAmiId: 'ami-2',
  resultsUri: 's3://b/runs/', keyName: 'k', sshPrivateKeyPath: '~/.ssh/k.pem',
};

test('ray yaml: spot workers, one node type per instance type, CPU-less head, GPU node type on the CUDA image', () => {
  const ray = rayClusterConfig(defaultConfig, placeholders);
  const types = ray.available_node_types as Record<string, { node_config: Record<string, unknown>; resources: Record<string, number>; docker?: { worker_image: string } }>;
  assert.equal(ray.head_node_type, 'ray.head.default');
  assert.deepEqual(types['ray.head.default']!.resources, { CPU: 0 });
  for (const it of defaultConfig.ray.workerInstanceTypes) {
    assert.deepEqual(types[workerNodeTypeName(it)]!.node_config.InstanceMarketOptions, { MarketType: 'spot' });
  }
  assert.equal(types['ray.worker.gpu']!.docker!.worker_image, placeholders.cudaImageUri);
  assert.equal((ray.docker as { image: string }).image, placeholders.imageUri);
});

test('parallelcluster config: Slurm queue per node group, EFA where asked, FSx at /fsx', () => {
  const pc = pclusterConfig(defaultConfig, { region: 'us-east-1', headSubnetId: 's', computeSubnetId: 's', securityGroupId: 'sg', fsxFileSystemId: 'fs-1', keyName: 'k', dataBucket: 'b' });
  const queues = (pc.Scheduling as { SlurmQueues: { Name: string; CapacityType: string; ComputeResources: { Efa: { Enabled: boolean }; Name: string }[] }[] }).SlurmQueues;
  assert.deepEqual(queues.map((q) => q.Name), ['cpu', 'gpu', 'gpu-large', 'mem']);
  assert.equal(queues[0]!.ComputeResources[0]!.Efa.Enabled, true);
  assert.equal(queues[1]!.CapacityType, 'SPOT');
  for (const q of queues) for (const r of q.ComputeResources) assert.ok(r.Name.length <= 25 && /^[a-zA-Z0-9-]+$/.test(r.Name), r.Name);
  assert.deepEqual((pc.SharedStorage as { MountDir: string }[])[0]!.MountDir, '/fsx');
});

test('without the acknowledgements the same stacks fail cdk-nag (the plugin really checks them)', () => {
  const app = new App({ outdir: fs.mkdtempSync(path.join(outRoot, 'noack-')), context: FEATURE_FLAGS });
  addStacks(app, defaultConfig);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  // rule-level acknowledgements (S1, CB3) are on the constructs; the IAM5 wildcard ones are missing here
  assert.throws(() => app.synth(), /Validation failed|ValidationFailed/);
});
