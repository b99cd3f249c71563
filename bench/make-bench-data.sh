#!/usr/bin/env bash
# Create the 1,000,000-pair benchmark community in bench/work/community-1m/ (git-ignored) with the
# same generator as the bundled sample (scripts/make-community.py). Does nothing if it already exists.
# Needs python3, art_illumina and the genome FASTA files from Debian example packages; when run as
# root, missing packages are installed with apt-get.
#
# Environment: PAIRS (default 1000000), SEED (default 1), THREADS (default: nproc), OUT (default
# bench/work/community-1m), FORCE=1 to regenerate.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PAIRS="${PAIRS:-1000000}"
SEED="${SEED:-1}"
THREADS="${THREADS:-$(nproc 2>/dev/null || echo 2)}"
OUT="${OUT:-$ROOT/bench/work/community-1m}"
PKGS=(art-nextgen-simulation-tools ragout-examples kleborate-examples abacas-examples bowtie2-examples)

if [[ -z "${FORCE:-}" && -s "$OUT/R1.fastq.gz" && -s "$OUT/R2.fastq.gz" && -s "$OUT/truth.tsv" && -s "$OUT/composition.tsv" ]]; then
  echo "bench data already present in $OUT (FORCE=1 to regenerate)"
  exit 0
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${PKGS[@]}"
  else
    echo "missing Debian packages: ${missing[*]}" >&2
    echo "run as root or: sudo apt-get install -y ${PKGS[*]}" >&2
    exit 1
  fi
fi

mkdir -p "$(dirname "$OUT")"
rm -rf "$OUT.partial"
start=$(date +%s)
python3 "$ROOT/scripts/make-community.py" --pairs "$PAIRS" --seed "$SEED" --threads "$THREADS" \
  --out "$OUT.partial"
rm -rf "$OUT"
mv "$OUT.partial" "$OUT"
echo "created $OUT ($PAIRS pairs, seed $SEED) in $(( $(date +%s) - start ))s"
