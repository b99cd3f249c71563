#!/bin/bash
# Publishes the custom metrics the alarms watch (run every minute from cron on the Slurm login node and,
# for the Ray metrics, on the Ray head):  * * * * * /opt/metavec/infra/scripts/publish-metrics.sh
set -uo pipefail
TOKEN=$(curl -s -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')
REGION=$(curl -s -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/placement/region)
put() { aws cloudwatch put-metric-data --region "$REGION" --namespace metavec "$@"; }
if command -v squeue >/dev/null; then
  for q in $(sinfo -h -o %R | sort -u); do
    put --metric-name PendingJobs --dimensions "Queue=$q" --value "$(squeue -h -t PENDING -p "$q" | wc -l)"
  done
fi
if command -v ray >/dev/null && [ -n "${RAY_CLUSTER_NAME:-}" ]; then
  pending=$(python3 -c 'import ray; ray.init(address="auto", logging_level="ERROR"); from ray.util.state import list_tasks; print(len(list_tasks(filters=[("state","=","PENDING_NODE_ASSIGNMENT")], limit=100000)))' 2>/dev/null || echo 0)
  nodes=$(python3 -c 'import ray; ray.init(address="auto", logging_level="ERROR"); print(sum(1 for n in ray.nodes() if n["Alive"]))' 2>/dev/null || echo 0)
  put --metric-name RayPendingTasks --dimensions "Cluster=$RAY_CLUSTER_NAME" --value "$pending"
  put --metric-name RayActiveNodes --dimensions "Cluster=$RAY_CLUSTER_NAME" --value "$nodes"
fi
