#!/usr/bin/env bash
# Offline checks of the AWS CDK app (no AWS account needed): build, `cdk synth` of every stack with the
# cdk-nag AwsSolutions checks (synth fails on any unacknowledged finding), assertion tests, cfn-lint over the
# synthesised templates, and the generated Ray autoscaler YAML against Ray's own ray-schema.json.
# Installs infra's npm dependencies and, when missing, cfn-lint and ray from PyPI. Under CI=true a tool that
# cannot be installed fails the run; locally that check is skipped with the reason.
set -euo pipefail
cd "$(dirname "$0")"
export ONNXRUNTIME_NODE_INSTALL_CUDA=skip
start=$SECONDS
log() { echo "infra: $*" >&2; }
missing() {
  if [ "${CI:-}" = "true" ]; then log "FAIL: $1 (required under CI=true)"; exit 1; fi
  log "SKIP: $1"
}

log "npm install (infra/package-lock.json)"
npm install --no-audit --no-fund --loglevel=error 2>&1 | grep -v 'Unknown user config' >&2 || true
[ -d node_modules/aws-cdk-lib ] || { log "FAIL: npm install did not install aws-cdk-lib"; exit 1; }

PY=${PYTHON:-python3}
cfnlint() { "$PY" -c 'import sys; sys.argv[0] = "cfn-lint"; from cfnlint.runner import main; sys.exit(main())' "$@"; }
have_cfnlint() { cfnlint --version >/dev/null 2>&1; }
have_ray() { "$PY" -c 'import ray, jsonschema, yaml' >/dev/null 2>&1; }
if ! have_cfnlint; then log "pip install cfn-lint"; "$PY" -m pip install --quiet cfn-lint >&2 || true; fi
if ! have_ray; then log "pip install -r ../ray/requirements.txt (the project's one Ray pin)"; timeout 300 "$PY" -m pip install --quiet -r ../ray/requirements.txt jsonschema pyyaml >&2 || true; fi

log "syntax: scaling Lambda, batch and metrics scripts"
node --check lambda/scale.mjs
bash -n scripts/phase2.sbatch scripts/publish-metrics.sh

log "build"
rm -rf dist test-out cdk.out
npx tsc -p tsconfig.json

log "cdk synth (with cdk-nag AwsSolutions checks)"
npx cdk synth --quiet >&2
for s in Storage Network CiCd Ray Hpc Monitoring; do
  [ -s "cdk.out/$s.template.json" ] || { log "FAIL: cdk.out/$s.template.json missing"; exit 1; }
done
node -e '
  const a = require("./cdk.out/nag-acknowledgements.json");
  const bad = a.filter((x) => !x.reason || x.reason.length < 20);
  if (bad.length) { console.error("acknowledgements without a reason:", bad); process.exit(1); }
  console.error(`infra: cdk-nag: 0 unacknowledged findings, ${a.length} acknowledged with reasons`);'

log "assertion tests"
INFRA_TEST_OUT=test-out node --test dist/test/ >&2

log "generated configs are current (infra/generated/)"
node dist/bin/generate.js test-out/generated >&2
diff -r generated test-out/generated >&2 || { log "FAIL: infra/generated/ is stale: run 'node dist/bin/generate.js generated' in infra/"; exit 1; }

if have_cfnlint; then
  log "cfn-lint"
  cfnlint --version >&2
  cfnlint
  log "cfn-lint: clean ($(ls cdk.out/*.template.json | wc -l) templates)"
else
  missing "cfn-lint not available (pip install cfn-lint)"
fi

if have_ray; then
  log "Ray autoscaler YAML against ray-schema.json"
  "$PY" scripts/validate-ray.py generated/ray-cluster.yaml test-out/ray-cluster-deployed.yaml
else
  missing "ray (for ray-schema.json) not available (pip install ray)"
fi

log "ok in $((SECONDS - start)) s"
