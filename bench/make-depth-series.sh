#!/usr/bin/env bash
# Depth series for issue 17: the same simulated communities at several depths, built from the 40 public genomes
# (29 species) in ../shared/data/genomes (genomes.tsv: genome, species, ...). Cached: a community whose
# composition.tsv exists is skipped; a half-built one (NAME.partial) is rebuilt.
#   bash bench/make-depth-series.sh [--genomes DIR] [--work DIR] [--only NAME[,NAME...]] [--list]
#   env: METAVEC_GENOMES (= --genomes), DEPTH_WORK (= --work, default bench/work)
# Communities (all 2 x 150 unless said; shares log-normal from the seed, independent of the depth):
#   art29-200k, art29-1m, art29-5m   all 40 genomes / 29 species, ART HiSeq 2500, seed 2917 (same shares)
#   art7-200k, art7-1m               8 genomes / 7 species (see ART7 below), ART, seed 717 (same shares)
#   iss29-novaseq-200k, -1m          the art29 genomes and target shares, InSilicoSeq NovaSeq model, seed 2918
#   iss10-miseq-100k                 11 genomes / 10 species (art7 + 3), art29 shares renormalised, ISS MiSeq 2x300
# Order: art29-200k, art7-200k, iss29-novaseq-200k (background, beside the ART jobs), art29-1m, art7-1m, art29-5m,
# iss10-miseq-100k (small, so before the long one), iss29-novaseq-1m. One generator at a time (--threads 1), ISS beside at most one ART job.
# Logs: WORK/logs/NAME.log. Then: node bench/depth-series.mjs (docs/benchmarks.md, "Depth series").
set -euo pipefail
cd "$(dirname "$0")/.."
genomes=${METAVEC_GENOMES:-../shared/data/genomes}
work=${DEPTH_WORK:-bench/work}
only=""
list=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --genomes) genomes=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --list) list=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "make-depth-series: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
tsv="$genomes/genomes.tsv"
[[ -f "$tsv" ]] || { echo "make-depth-series: $tsv not found (--genomes DIR or METAVEC_GENOMES)" >&2; exit 1; }
mkdir -p "$work/logs"

ART29_SEED=2917
ART7_SEED=717
ISS29_SEED=2918
ISS10_SEED=1017
# 7 species, 8 genomes: three GC groups with two or three species of similar GC in each, and one strain pair
#   ~0.51: Escherichia_coli (MG1655 + W, the strain pair), Salmonella_enterica LT2, Pectobacterium_atrosepticum
#   ~0.33: Staphylococcus_aureus N315, Methanobrevibacter_ruminantium M1 (archaeon)
#   ~0.66: Mycobacterium_tuberculosis H37Rv, Caulobacter_crescentus CB15
ART7="Ecoli_MG1655 Ecoli_W Senterica_LT2 Patrosepticum_SCRI1043 Saureus_N315 Mruminantium_M1 Mtuberculosis_H37Rv Ccrescentus_CB15"
# 11 genomes / 10 species: ART7 + H. pylori (GC 0.39), B. subtilis (0.44), K. pneumoniae (0.57)
ISS10="$ART7 Hpylori_G27 Bsubtilis_168 Kpneumoniae_HS11286"
ALL=$(awk -F'\t' 'NR > 1 { print $1 }' "$tsv" | tr '\n' ' ')

want() { [[ -z "$only" || ",$only," == *",$1,"* ]]; }
done_() { [[ -f "$work/$1/composition.tsv" && ( -f "$work/$1/truth.tsv.gz" || -f "$work/$1/truth.tsv" ) ]]; }

# --genome SPECIES:STRAIN:FASTA arguments of make-community.py for genome keys (genomes.tsv order is kept)
genome_args() {
  local g sp
  for g in "$@"; do
    sp=$(awk -F'\t' -v g="$g" '$1 == g { print $2 }' "$tsv")
    [[ -n "$sp" ]] || { echo "make-depth-series: genome $g not in $tsv" >&2; exit 1; }
    printf -- '--genome\n%s:%s:%s\n' "$sp" "$g" "$genomes/$g.fa.gz"
  done
}

art() { # NAME PAIRS SEED GENOME...
  local name=$1 pairs=$2 seed=$3; shift 3
  want "$name" || return 0
  if done_ "$name"; then echo "[depth-series] $name: cached in $work/$name"; return 0; fi
  if [[ $list == 1 ]]; then echo "[depth-series] $name: to build (ART, $pairs pairs, seed $seed)"; return 0; fi
  rm -rf "$work/$name.partial"
  mkdir -p "$work/tmp"
  echo "[depth-series] $name: ART, $pairs pairs, seed $seed, $# genomes (log $work/logs/$name.log)"
  local -a gargs  # --species none empties the built-in preset, so only the --genome files are used
  mapfile -t gargs < <(genome_args "$@")
  python3 scripts/make-community.py --out "$work/$name.partial" --pairs "$pairs" --seed "$seed" --threads 1 \
    --gzip-truth --tmpdir "$(realpath "$work/tmp")" --species none "${gargs[@]}" > "$work/logs/$name.log" 2>&1
  printf 'generator\tmake-community.py (ART HiSeq 2500 2x150)\nseed\t%s\npairs\t%s\ngenomes\t%s\n' \
    "$seed" "$pairs" "$*" > "$work/$name.partial/generator.tsv"
  rm -rf "${work:?}/$name"
  mv "$work/$name.partial" "$work/$name"
}

iss() { # NAME MODEL PAIRS SEED SHARES_FROM(composition.tsv of an ART community) GENOME...
  local name=$1 model=$2 pairs=$3 seed=$4 from=$5; shift 5
  want "$name" || return 0
  if done_ "$name"; then echo "[depth-series] $name: cached in $work/$name"; return 0; fi
  if [[ $list == 1 ]]; then echo "[depth-series] $name: to build (ISS $model, $pairs pairs, seed $seed)"; return 0; fi
  command -v iss > /dev/null || { echo "make-depth-series: iss not found (pip install InSilicoSeq)" >&2; exit 1; }
  [[ -f "$from" ]] || { echo "make-depth-series: $name takes its shares from $from, which is missing" >&2; exit 1; }
  rm -rf "$work/$name.partial"
  echo "[depth-series] $name: InSilicoSeq $model, $pairs pairs, seed $seed, $# genomes (log $work/logs/$name.log)"
  python3 bench/iss-community.py --out "$work/$name.partial" --genomes-dir "$genomes" --model "$model" \
    --pairs "$pairs" --seed "$seed" --shares-from "$from" --genome-keys "$*" > "$work/logs/$name.log" 2>&1
  rm -rf "${work:?}/$name"
  mv "$work/$name.partial" "$work/$name"
}

check_same_shares() { # NAME... : target shares equal across depths
  local first=$1 n; shift
  for n in "$@"; do
    [[ -f "$work/$first/composition.tsv" && -f "$work/$n/composition.tsv" ]] || continue
    if cmp -s <(cut -f1,2,6-8 "$work/$first/composition.tsv") <(cut -f1,2,6-8 "$work/$n/composition.tsv"); then
      echo "[depth-series] $first and $n: same species/strain/target shares"
    else
      echo "[depth-series] $first and $n: target shares DIFFER" >&2; exit 1
    fi
  done
}

# shellcheck disable=SC2086
{
  art art29-200k 200000 $ART29_SEED $ALL
  art art7-200k 200000 $ART7_SEED $ART7
  # ISS is slow (~1,000 reads/s): in the background, beside the ART jobs
  iss_pid=""
  if want iss29-novaseq-200k && ! done_ iss29-novaseq-200k && [[ $list == 0 ]]; then
    iss iss29-novaseq-200k novaseq 200000 $ISS29_SEED "$work/art29-200k/composition.tsv" $ALL &
    iss_pid=$!
  else
    iss iss29-novaseq-200k novaseq 200000 $ISS29_SEED "$work/art29-200k/composition.tsv" $ALL
  fi
  art art29-1m 1000000 $ART29_SEED $ALL
  art art7-1m 1000000 $ART7_SEED $ART7
  art art29-5m 5000000 $ART29_SEED $ALL
  [[ -n "$iss_pid" ]] && wait "$iss_pid"
  iss iss10-miseq-100k miseq 100000 $ISS10_SEED "$work/art29-200k/composition.tsv" $ISS10
  iss iss29-novaseq-1m novaseq 1000000 $ISS29_SEED "$work/art29-200k/composition.tsv" $ALL
}
check_same_shares art29-200k art29-1m art29-5m
check_same_shares art7-200k art7-1m
check_same_shares iss29-novaseq-200k iss29-novaseq-1m
echo "[depth-series] done: communities in $work"
