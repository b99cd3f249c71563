// Scaling action for metavec alarms (SNS -> Lambda). When the Slurm queue-depth alarm fires, raise the max
// instance count of the alarm's PCS compute node group by SCALE_STEP, up to SCALE_CEILING. Other alarms
// (Ray pending tasks: the Ray autoscaler scales itself; job failures) are logged for the dashboard.
import { PCSClient, GetComputeNodeGroupCommand, UpdateComputeNodeGroupCommand } from '@aws-sdk/client-pcs';

const pcs = new PCSClient({});
const step = Number(process.env.SCALE_STEP ?? '4');
const ceiling = Number(process.env.SCALE_CEILING ?? '64');

export async function handler(event) {
  const results = [];
  for (const record of event.Records ?? []) {
    const alarm = JSON.parse(record.Sns.Message);
    if (alarm.NewStateValue !== 'ALARM') continue;
    const dims = Object.fromEntries((alarm.Trigger?.Dimensions ?? []).map((d) => [d.name, d.value]));
    if (alarm.Trigger?.MetricName !== 'PendingJobs' || !dims.Queue) {
      console.log(JSON.stringify({ alarm: alarm.AlarmName, action: 'none' }));
      continue;
    }
    const group = await pcs.send(new GetComputeNodeGroupCommand({ clusterIdentifier: process.env.CLUSTER_ID, computeNodeGroupIdentifier: dims.Queue }));
    const current = group.computeNodeGroup.scalingConfiguration;
    const max = Math.min(ceiling, current.maxInstanceCount + step);
    if (max > current.maxInstanceCount) {
      await pcs.send(new UpdateComputeNodeGroupCommand({
        clusterIdentifier: process.env.CLUSTER_ID,
        computeNodeGroupIdentifier: dims.Queue,
        scalingConfiguration: { minInstanceCount: current.minInstanceCount, maxInstanceCount: max },
      }));
    }
    results.push({ queue: dims.Queue, from: current.maxInstanceCount, to: max });
    console.log(JSON.stringify({ alarm: alarm.AlarmName, queue: dims.Queue, from: current.maxInstanceCount, to: max }));
  }
  return results;
}
