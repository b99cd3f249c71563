import * as path from 'node:path';
import { Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import { Construct } from 'constructs';
import { MetavecConfig, prefix } from '../config';
import { acknowledge } from '../nag';

export interface MonitoringStackProps extends StackProps {
  config: MetavecConfig;
  key: kms.IKey;
  pcsClusterId: string;
  rayLauncher: codebuild.IProject;
}

/** Custom metrics published by the Ray head and the Slurm login node (docs/deploy.md, "Metrics"). */
export const METRIC_NAMESPACE = 'metavec';

/**
 * Dashboard and alarms: Ray pending tasks, Slurm queue depth per queue, job failures (Phase 1 launcher builds
 * and metavec's own failure metric); alarms notify an encrypted SNS topic and a Lambda scaling action.
 */
export class MonitoringStack extends Stack {
  readonly topic: sns.Topic;
  readonly scaler: lambda.Function;

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);
    const c = props.config;
    this.topic = new sns.Topic(this, 'Alarms', { topicName: prefix(c, 'alarms'), masterKey: props.key, enforceSSL: true });
    if (c.monitoring.alarmEmail) this.topic.addSubscription(new subs.EmailSubscription(c.monitoring.alarmEmail));

    const logGroup = new logs.LogGroup(this, 'ScalerLogs', { retention: logs.RetentionDays.ONE_MONTH });
    const role = new iam.Role(this, 'ScalerRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: 'metavec scaling action' });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn, `${logGroup.logGroupArn}:*`] }));
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['pcs:GetComputeNodeGroup', 'pcs:UpdateComputeNodeGroup'],
        resources: [`arn:${this.partition}:pcs:${this.region}:${this.account}:cluster/${props.pcsClusterId}`, `arn:${this.partition}:pcs:${this.region}:${this.account}:computenodegroup/*`],
      }),
    );
    // UpdateComputeNodeGroup passes the node group's instance profile role again.
    role.addToPolicy(new iam.PolicyStatement({ actions: ['iam:PassRole'], resources: [`arn:${this.partition}:iam::${this.account}:role/aws-pcs/*`], conditions: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } } }));
    this.scaler = new lambda.Function(this, 'Scaler', {
      functionName: prefix(c, 'scaler'),
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'scale.handler',
      code: lambda.Code.fromAsset(path.join(__dirname, '..', '..', '..', 'lambda')),
      role,
      logGroup,
      timeout: Duration.seconds(30),
      environment: { CLUSTER_ID: props.pcsClusterId, SCALE_STEP: '4', SCALE_CEILING: String(c.monitoring.scalingCeiling) },
    });
    this.topic.addSubscription(new subs.LambdaSubscription(this.scaler));

    const metric = (name: string, dims: Record<string, string> = {}, statistic = 'Maximum'): cw.Metric =>
      new cw.Metric({ namespace: METRIC_NAMESPACE, metricName: name, dimensionsMap: dims, statistic, period: Duration.minutes(1) });
    const action = new cwActions.SnsAction(this.topic);

    const rayPending = metric('RayPendingTasks', { Cluster: c.ray.clusterName });
    const rayAlarm = rayPending.createAlarm(this, 'RayPendingAlarm', {
      alarmName: prefix(c, 'ray-pending-tasks'),
      alarmDescription: 'Ray tasks pending for 10 minutes: the autoscaler cannot keep up (quota, spot capacity?)',
      threshold: c.monitoring.rayPendingTasksThreshold,
      evaluationPeriods: 10,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cw.TreatMissingData.NOT_BREACHING,
    });
    rayAlarm.addAlarmAction(action);

    const queueAlarms = c.hpc.nodeGroups.map((g) => {
      const m = metric('PendingJobs', { Queue: g.name });
      const a = m.createAlarm(this, `QueueDepth-${g.name}`, {
        alarmName: prefix(c, `slurm-queue-${g.name}`),
        alarmDescription: `Slurm queue ${g.name}: pending jobs above threshold for 15 minutes (scaling action raises the node group max)`,
        threshold: c.monitoring.slurmQueueDepthThreshold,
        evaluationPeriods: 15,
        comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cw.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(action);
      return { m, a };
    });

    const failed = metric('JobsFailed', {}, 'Sum');
    const failedAlarm = failed.createAlarm(this, 'JobFailuresAlarm', {
      alarmName: prefix(c, 'job-failures'),
      alarmDescription: 'A metavec job (Phase 1 or 2) failed',
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cw.TreatMissingData.NOT_BREACHING,
    });
    failedAlarm.addAlarmAction(action);
    const launcherFailed = props.rayLauncher.metricFailedBuilds({ period: Duration.minutes(5), statistic: 'Sum' });
    const launcherAlarm = launcherFailed.createAlarm(this, 'LauncherFailuresAlarm', {
      alarmName: prefix(c, 'phase1-launcher-failures'),
      alarmDescription: 'The Phase 1 launcher (ray up + metavec prep) failed',
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cw.TreatMissingData.NOT_BREACHING,
    });
    launcherAlarm.addAlarmAction(action);

    const dashboard = new cw.Dashboard(this, 'Dashboard', { dashboardName: prefix(c, 'overview') });
    dashboard.addWidgets(
      new cw.GraphWidget({ title: 'Phase 1: Ray pending tasks', left: [rayPending], width: 12 }),
      new cw.GraphWidget({ title: 'Phase 1: Ray nodes', left: [metric('RayActiveNodes', { Cluster: c.ray.clusterName })], width: 12 }),
    );
    dashboard.addWidgets(
      new cw.GraphWidget({ title: 'Phase 2: Slurm pending jobs per queue', left: queueAlarms.map((q) => q.m), width: 12 }),
      new cw.GraphWidget({ title: 'Failures', left: [failed, launcherFailed], width: 12 }),
    );
    dashboard.addWidgets(
      new cw.AlarmStatusWidget({ title: 'Alarms', alarms: [rayAlarm, failedAlarm, launcherAlarm, ...queueAlarms.map((q) => q.a)], width: 24 }),
    );
  }
}
