#!/usr/bin/env bash
# A held-out community for the pooled clustering (docs/graph.md): strains absent from the dev community and the
# bundled sample, another seed and other log-normal abundances, so tuning on the dev community can be checked
# on data it never saw. Needs art_illumina (Debian art-nextgen-simulation-tools) and the Debian example genome
# packages (ragout-examples, kleborate-examples, abacas-examples, bowtie2-examples).
#   bash bench/heldout-community.sh [OUT (bench/work/heldout)] [SEED (23)] [PAIRS (80000)]
# Then: node bench/cluster-methods.mjs --reads OUT --work bench/work/cluster-heldout --methods graph
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/work/heldout}
seed=${2:-23}
pairs=${3:-80000}
if [[ -f "$out/truth.tsv.gz" ]]; then echo "held-out community already in $out"; exit 0; fi
python3 scripts/make-community.py --out "$out" --seed "$seed" --pairs "$pairs" --gzip-truth --threads 2 \
  --sigma-species 1.2 --sigma-strain 1.0 \
  --strains Ecoli_MG1655,Saureus_JKD6008,Hpylori_ELS37,Hpylori_Puno120,Vcholerae_N16961,Kpneumoniae_1084,Ssuis_SC84,Lambda_NC001416
