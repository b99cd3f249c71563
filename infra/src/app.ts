import * as fs from 'node:fs';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MetavecConfig, loadConfig, prefix } from './config';
import { Acknowledged, acknowledgeWildcards, acknowledgements } from './nag';
import { StorageStack } from './stacks/storage';
import { NetworkStack } from './stacks/network';
import { CiCdStack } from './stacks/cicd';
import { RayStack } from './stacks/ray';
import { HpcStack } from './stacks/hpc';
import { MonitoringStack } from './stacks/monitoring';

export interface MetavecStacks {
  storage: StorageStack;
  network: NetworkStack;
  cicd: CiCdStack;
  ray: RayStack;
  hpc: HpcStack;
  monitoring: MonitoringStack;
}

/** All stacks of one deployment, wired together. */
export function addStacks(app: App, c: MetavecConfig): MetavecStacks {
  const env = { account: c.account ?? process.env.CDK_DEFAULT_ACCOUNT, region: c.region };
  const name = (s: string): string => prefix(c, s);
  const storage = new StorageStack(app, 'Storage', { stackName: name('storage'), env, config: c, description: 'metavec: data lake buckets, Glue, Athena' });
  const network = new NetworkStack(app, 'Network', { stackName: name('network'), env, config: c, description: 'metavec: VPC, endpoints, placement group, EFA security group' });
  const cicd = new CiCdStack(app, 'CiCd', { stackName: name('cicd'), env, config: c, key: storage.key, logsBucket: storage.logsBucket, description: 'metavec: ECR, image build, deploy pipeline' });
  const ray = new RayStack(app, 'Ray', {
    stackName: name('ray'), env, config: c, vpc: network.vpc, key: storage.key, rawBucket: storage.rawBucket,
    embeddingsBucket: storage.embeddingsBucket, repository: cicd.repository, description: 'metavec Phase 1: Ray cluster role, security group, autoscaler config, launcher',
  });
  const hpc = new HpcStack(app, 'Hpc', {
    stackName: name('hpc'), env, config: c, vpc: network.vpc, hpcSubnet: network.hpcSubnet, efaSecurityGroup: network.efaSecurityGroup,
    placementGroup: network.placementGroup, key: storage.key, embeddingsBucket: storage.embeddingsBucket, resultsBucket: storage.resultsBucket,
    description: 'metavec Phase 2: FSx for Lustre, AWS PCS Slurm cluster',
  });
  const monitoring = new MonitoringStack(app, 'Monitoring', {
    stackName: name('monitoring'), env, config: c, key: storage.key, pcsClusterId: hpc.cluster.attrId, rayLauncher: ray.launcher,
    description: 'metavec: dashboard, alarms, scaling action',
  });
  for (const s of [storage, network, cicd, ray, hpc, monitoring] as Stack[]) s.tags.setTag('project', c.project);
  return { storage, network, cicd, ray, hpc, monitoring };
}

/** Feature flags set for every app this module builds (also when tests build one without cdk.json). */
export const FEATURE_FLAGS: Record<string, unknown> = {
  '@aws-cdk/core:defaultCrossStackReferences': 'strong',
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
};

/** The app `cdk synth` runs: config from context, cdk-nag AwsSolutions as a policy validation plugin. */
export function buildApp(app: App = new App()): { app: App; config: MetavecConfig; stacks: MetavecStacks; acknowledged: Acknowledged[] } {
  const file = app.node.tryGetContext('metavecConfigFile') as string | undefined;
  const json = app.node.tryGetContext('metavecConfig') as string | undefined;
  const config = loadConfig({ file, json }, (p) => fs.readFileSync(p, 'utf8'));
  for (const [k, v] of Object.entries(FEATURE_FLAGS)) if (app.node.tryGetContext(k) === undefined) app.node.setContext(k, v);
  const before = acknowledgements.length;
  const stacks = addStacks(app, config);
  const ruleLevel = acknowledgements.slice(before);
  // IAM wildcard findings: acknowledged per finding by the rules in src/nag.ts (first, non-failing pass).
  const wildcards = acknowledgeWildcards(app, { ...FEATURE_FLAGS, metavecConfig: JSON.stringify(config) }, (scratch) => {
    addStacks(scratch, config);
    Validations.of(scratch).addPlugins(new AwsSolutionsChecks(scratch));
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, config, stacks, acknowledged: [...ruleLevel, ...wildcards] };
}
