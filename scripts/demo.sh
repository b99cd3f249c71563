#!/usr/bin/env bash
# The main job on the bundled sample: installs, runs both phases locally, writes results and the report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out=${1:-results/sample}
node dist/src/cli/main.js run \
  --input examples/sample/R1.fastq.gz --input2 examples/sample/R2.fastq.gz \
  --truth examples/sample/truth.tsv.gz --output "$out"
