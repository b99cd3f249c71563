#!/usr/bin/env python3
"""Generate a simulated (mock) metagenomic community of Illumina read pairs.

Python 3 standard library only; reads are simulated with ART (`art_illumina`, Debian package
`art-nextgen-simulation-tools`) from real complete genomes shipped in Debian example packages
(`ragout-examples`, `kleborate-examples`, `abacas-examples`, `bowtie2-examples`).

Pipeline (all randomness derives from --seed, so the output is byte-for-byte reproducible for the
same seed, options, genome files and ART version):

 1. pick genomes (a preset, --species / --strains filters, or --genome SPECIES:STRAIN:FASTA);
 2. draw log-normal abundances: species shares ~ LogNormal(0, sigma_species), shares of the
    strains within a species ~ LogNormal(0, sigma_strain); target share = product;
 3. split the --pairs budget: round(adapter_frac * N) short-insert pairs, round(dup_frac * N)
    duplicate pairs, the rest ART pairs; ART and short-insert pairs are divided among strains by
    target share (largest remainder), ART pairs of a strain among its contigs by length;
 4. run `art_illumina -ss HS25 -p -l L -m M -s S -rs SEED -na -c COUNT` once per contig (in a
    temporary directory that is removed at the end);
 5. make short-insert pairs (insert < read length): a random fragment of a random contig
    (length-weighted), R1 = fragment + TruSeq R1 adapter + random bases, R2 = reverse complement
    + TruSeq R2 adapter + random bases, qualities copied from an ART pair of the same strain and
    substitution errors drawn from those qualities;
 6. add exact duplicate pairs (both mates, qualities included) of randomly chosen pairs;
 7. shuffle deterministically and rename to r%07d/1, r%07d/2. The shuffle is external (records
    are spread over bucket files by final index), so memory stays bounded for 1M+ pairs;
 8. write R1.fastq.gz, R2.fastq.gz, truth.tsv (or truth.tsv.gz with --gzip-truth) and
    composition.tsv.

Run with --list-genomes to see the known genomes and whether they are installed.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import lzma
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

# Illumina TruSeq adapters as read through on short inserts: the standard 33-nt trimming prefixes
# (R1 AGATCGGAAGAGCACACGTCTGAACTCCAGTCA, R2 AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT) followed by the rest
# of the adapter molecule (R1: index adapter with TruSeq index 1 ATCACG; R2: universal adapter), then
# random bases (the read runs off the adapter into the flow cell oligo / noise).
ADAPTER_R1 = "AGATCGGAAGAGCACACGTCTGAACTCCAGTCACATCACGATCTCGTATGCCGTCTTCTGCTTG"
ADAPTER_R2 = "AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGTAGATCTCGGTGGTCGCCGTATCATT"

RAGOUT = "/usr/share/doc/ragout/examples"
KLEB = "/usr/share/doc/kleborate/examples/data"

# key -> (species, strain label, Debian package, path, description from FASTA header / package docs)
CATALOG: dict[str, tuple[str, str, str, str, str]] = {
    "Ecoli_MG1655": ("Escherichia_coli", "Ecoli_MG1655", "ragout-examples",
                     f"{RAGOUT}/E.Coli/references/MG1655-K12.fasta.gz", "E. coli K-12 MG1655 (header '>K-12-MG1655')"),
    "Ecoli_DH1": ("Escherichia_coli", "Ecoli_DH1", "ragout-examples",
                  f"{RAGOUT}/E.Coli/references/DH1.fasta.gz", "E. coli DH1 chromosome NC_017625.1"),
    "Saureus_N315": ("Staphylococcus_aureus", "Saureus_N315", "ragout-examples",
                     f"{RAGOUT}/S.Aureus/references/N315.fasta.gz", "S. aureus subsp. aureus N315 NC_002745.2"),
    "Saureus_RF122": ("Staphylococcus_aureus", "Saureus_RF122", "ragout-examples",
                      f"{RAGOUT}/S.Aureus/references/RF122.fasta.gz", "S. aureus RF122 NC_007622.1"),
    "Saureus_COL": ("Staphylococcus_aureus", "Saureus_COL", "ragout-examples",
                    f"{RAGOUT}/S.Aureus/references/COL.fasta.gz", "S. aureus subsp. aureus COL NC_002951.2"),
    "Saureus_JKD6008": ("Staphylococcus_aureus", "Saureus_JKD6008", "ragout-examples",
                        f"{RAGOUT}/S.Aureus/references/JKD6008.fasta.gz", "S. aureus subsp. aureus JKD6008 NC_017341.1"),
    "Saureus_USA300": ("Staphylococcus_aureus", "Saureus_USA300", "ragout-examples",
                       f"{RAGOUT}/S.Aureus/references/USA300_FPR3757.fasta.gz",
                       "S. aureus subsp. aureus USA300_FPR3757 NC_007793.1"),
    "Hpylori_SJM180": ("Helicobacter_pylori", "Hpylori_SJM180", "ragout-examples",
                       f"{RAGOUT}/H.Pylori/references/SJM180.fasta.gz", "H. pylori SJM180 NC_014560.1"),
    "Hpylori_ELS37": ("Helicobacter_pylori", "Hpylori_ELS37", "ragout-examples",
                      f"{RAGOUT}/H.Pylori/references/ELS37.fasta.gz", "H. pylori ELS37 NC_017063.1"),
    "Hpylori_G27": ("Helicobacter_pylori", "Hpylori_G27", "ragout-examples",
                    f"{RAGOUT}/H.Pylori/references/G27.fasta.gz", "H. pylori G27 NC_011333.1"),
    "Hpylori_Gambia94_24": ("Helicobacter_pylori", "Hpylori_Gambia94_24", "ragout-examples",
                            f"{RAGOUT}/H.Pylori/references/Gambia94_24.fasta.gz", "H. pylori Gambia94/24 NC_017371.1"),
    "Hpylori_Puno120": ("Helicobacter_pylori", "Hpylori_Puno120", "ragout-examples",
                        f"{RAGOUT}/H.Pylori/references/Puno120.fasta.gz", "H. pylori Puno120 NC_017378.1"),
    "Vcholerae_H1": ("Vibrio_cholerae", "Vcholerae_H1", "ragout-examples",
                     f"{RAGOUT}/V.Cholerae/references/H1.fasta.gz",
                     "V. cholerae H1 chromosomes 1+2 (WGS AKGH01000001.1, AKGH01000002.1)"),
    "Vcholerae_O395": ("Vibrio_cholerae", "Vcholerae_O395", "ragout-examples",
                       f"{RAGOUT}/V.Cholerae/references/O395.fasta.gz", "V. cholerae O395 chr I+II CP001235.1, CP001236.1"),
    "Vcholerae_N16961": ("Vibrio_cholerae", "Vcholerae_N16961", "ragout-examples",
                         f"{RAGOUT}/V.Cholerae/references/O1_biovar.fasta.gz",
                         "V. cholerae O1 biovar eltor N16961 chr I+II AE003852.1, AE003853.1"),
    "Vcholerae_InabaG4222": ("Vibrio_cholerae", "Vcholerae_InabaG4222", "ragout-examples",
                             f"{RAGOUT}/V.Cholerae/references/O1_Inaba.fasta.gz",
                             "V. cholerae O1 Inaba G4222 chr I+II CM001785.1, CM001786.1 (WGS)"),
    "Kpneumoniae_HS11286": ("Klebsiella_pneumoniae", "Kpneumoniae_HS11286", "kleborate-examples",
                            f"{KLEB}/Klebs_HS11286.fna.xz", "K. pneumoniae HS11286 chromosome CP003200.1 + 6 plasmids"),
    "Kpneumoniae_MGH78578": ("Klebsiella_pneumoniae", "Kpneumoniae_MGH78578", "kleborate-examples",
                             f"{KLEB}/MGH78578.fna.xz", "K. pneumoniae MGH 78578 chromosome CP000647.1 + 5 plasmids"),
    "Kpneumoniae_NTUH_K2044": ("Klebsiella_pneumoniae", "Kpneumoniae_NTUH_K2044", "kleborate-examples",
                               f"{KLEB}/NTUH-K2044.fna.xz", "K. pneumoniae NTUH-K2044 chromosome AP006725.1 + plasmid pK2044"),
    "Kpneumoniae_1084": ("Klebsiella_pneumoniae", "Kpneumoniae_1084", "kleborate-examples",
                         f"{KLEB}/Klebs_Kp1084.fna.xz", "K. pneumoniae 1084 chromosome CP003785.1"),
    "Ssuis_SC84": ("Streptococcus_suis", "Ssuis_SC84", "abacas-examples",
                   "/usr/share/doc/abacas-examples/SS_SC84.dna.gz",
                   "S. suis SC84 (header '>all_bases'; abacas example reference)"),
    "Lambda_NC001416": ("Lambda_phage", "Lambda_NC001416", "bowtie2-examples",
                        "/usr/share/doc/bowtie2/examples/reference/lambda_virus.fa.gz",
                        "Enterobacteria phage lambda NC_001416.1"),
}

PRESETS = {
    # 10 strains of 7 species; three species with two strains. Mostly different strains from
    # the development community, so it can be used as an independent test set.
    "default": ["Ecoli_MG1655", "Ecoli_DH1", "Saureus_COL", "Saureus_USA300", "Hpylori_G27",
                "Vcholerae_O395", "Kpneumoniae_MGH78578", "Kpneumoniae_NTUH_K2044", "Ssuis_SC84",
                "Lambda_NC001416"],
    # the strain list of /work/shared/data/dev-community (9 strains of 7 species)
    "dev": ["Ecoli_MG1655", "Ecoli_DH1", "Saureus_N315", "Saureus_RF122", "Vcholerae_H1",
            "Hpylori_SJM180", "Kpneumoniae_HS11286", "Ssuis_SC84", "Lambda_NC001416"],
    "all": list(CATALOG),
}

COMP = str.maketrans("ACGTNacgtn", "TGCANtgcan")


def revcomp(s: str) -> str:
    return s.translate(COMP)[::-1]


def log(msg: str) -> None:
    print(f"[make-community {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass
class Strain:
    species: str
    strain: str
    package: str
    path: str
    description: str
    contigs: list[tuple[str, str]] = field(default_factory=list)  # (contig id, sequence)
    sha: str = ""
    species_share: float = 0.0
    within_share: float = 0.0
    target_share: float = 0.0
    n_art: int = 0
    n_short: int = 0
    n_dup: int = 0
    contig_art: list[int] = field(default_factory=list)

    @property
    def length(self) -> int:
        return sum(len(s) for _, s in self.contigs)


def open_text(path: str):
    if path.endswith(".gz"):
        return gzip.open(path, "rt")
    if path.endswith(".xz"):
        return lzma.open(path, "rt")
    return open(path)


def read_fasta(path: str) -> list[tuple[str, str]]:
    out: list[tuple[str, list[str]]] = []
    with open_text(path) as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            if line.startswith(">"):
                out.append((line[1:], []))
            else:
                out[-1][1].append(line.upper())
    return [(h, "".join(parts)) for h, parts in out]


def largest_remainder(total: int, weights: list[float]) -> list[int]:
    s = sum(weights)
    raw = [total * w / s for w in weights]
    base = [math.floor(x) for x in raw]
    rest = total - sum(base)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - base[i]), i))
    for i in order[:rest]:
        base[i] += 1
    return base


def sub_seed(seed: int, *parts: object) -> int:
    h = hashlib.sha256(":".join(str(p) for p in (seed, *parts)).encode()).digest()
    return int.from_bytes(h[:4], "big") % 2_000_000_000 + 1


def add_errors(rng: random.Random, seq: str, qual: str) -> str:
    """Substitution errors with probability 10^(-Q/10) (Phred+33)."""
    out = list(seq)
    for i, q in enumerate(qual):
        if rng.random() < 10 ** (-(ord(q) - 33) / 10):
            out[i] = rng.choice([b for b in "ACGT" if b != out[i]])
    return "".join(out)


def read_fastq_pairs(p1: str, p2: str):
    with open(p1) as f1, open(p2) as f2:
        while True:
            h1 = f1.readline()
            if not h1:
                return
            s1 = f1.readline().rstrip("\n"); f1.readline(); q1 = f1.readline().rstrip("\n")
            h2 = f2.readline()
            s2 = f2.readline().rstrip("\n"); f2.readline(); q2 = f2.readline().rstrip("\n")
            if h1[:-3] != h2[:-3]:
                raise RuntimeError(f"ART mate names differ: {h1!r} {h2!r}")
            yield s1, q1, s2, q2


def select_strains(args) -> list[Strain]:
    keys = list(PRESETS[args.preset])
    if args.strains:
        keys = [k.strip() for k in args.strains.split(",") if k.strip()]
        for k in keys:
            if k not in CATALOG:
                sys.exit(f"unknown strain {k!r}; see --list-genomes")
    if args.species:
        wanted = {s.strip() for s in args.species.split(",") if s.strip()}
        keys = [k for k in keys if CATALOG[k][0] in wanted]
    strains = [Strain(*CATALOG[k]) for k in keys]
    for spec in args.genome or []:
        try:
            sp, st, path = spec.split(":", 2)
        except ValueError:
            sys.exit(f"--genome wants SPECIES:STRAIN:FASTA, got {spec!r}")
        strains.append(Strain(sp, st, "-", path, os.path.basename(path)))
    if not strains:
        sys.exit("no genomes selected")
    if len({s.strain for s in strains}) != len(strains):
        sys.exit("duplicate strain names")
    missing = [s.path for s in strains if not os.path.exists(s.path)]
    if missing:
        sys.exit("missing genome files (install the Debian *-examples packages?):\n  " + "\n  ".join(missing))
    return strains


def verify(d: str) -> int:
    """Check an output directory: pair count, names, adapters, duplicates, truth consistency."""
    def fq(path):
        with gzip.open(path, "rt") as fh:
            while True:
                h = fh.readline()
                if not h:
                    return
                sq = fh.readline().rstrip("\n"); plus = fh.readline(); q = fh.readline().rstrip("\n")
                if not h.startswith("@") or not plus.startswith("+") or len(sq) != len(q):
                    raise ValueError(f"bad FASTQ record {h!r} in {path}")
                yield h[1:].rstrip("\n"), sq, q
    tpath = os.path.join(d, "truth.tsv.gz") if os.path.exists(os.path.join(d, "truth.tsv.gz")) else os.path.join(d, "truth.tsv")
    pairs: dict[str, tuple[str, str, str, str]] = {}
    truth = {}
    problems: list[str] = []
    with open_text(tpath) as fh:
        header = fh.readline().rstrip("\n").split("\t")
        for line in fh:
            r = dict(zip(header, line.rstrip("\n").split("\t")))
            truth[r["read_id"]] = r
    n = 0
    for (h1, s1, q1), (h2, s2, q2) in zip(fq(os.path.join(d, "R1.fastq.gz")), fq(os.path.join(d, "R2.fastq.gz"))):
        n += 1
        rid = f"r{n:07d}"
        if h1 != rid + "/1" or h2 != rid + "/2":
            problems.append(f"name mismatch at pair {n}: {h1} {h2}")
            break
        pairs[rid] = (s1, q1, s2, q2)
    if len(pairs) != len(truth):
        problems.append(f"{len(pairs)} pairs in FASTQ but {len(truth)} truth rows")
    n_ad = n_ad_exact = n_dup = n_dup_bad = n_ad_art = 0
    mism_hist: dict[int, int] = {}
    for rid, r in truth.items():
        s1, q1, s2, q2 = pairs[rid]
        if r["has_adapter"] == "1":
            n_ad += 1
            L = int(r["insert_len"])
            exp1 = ADAPTER_R1[:len(s1) - L]
            exp2 = ADAPTER_R2[:len(s2) - L]
            mm = sum(a != b for a, b in zip(s1[L:L + len(exp1)], exp1)) + sum(a != b for a, b in zip(s2[L:L + len(exp2)], exp2))
            mism_hist[mm] = mism_hist.get(mm, 0) + 1
            n_ad_exact += mm == 0
            if mm > max(4, 0.1 * (len(exp1) + len(exp2))):  # more than sequencing errors explain
                problems.append(f"{rid}: adapter at {L} has {mm} mismatches")
        elif ADAPTER_R1[:20] in s1 or ADAPTER_R2[:20] in s2:
            n_ad_art += 1
        if r["is_duplicate"] == "1":
            n_dup += 1
            o = truth.get(r["dup_of"])
            if pairs.get(r["dup_of"]) != pairs[rid] or o is None or o["is_duplicate"] != "0" or \
                    any(o[c] != r[c] for c in ("species", "strain", "has_adapter", "insert_len", "contig")):
                n_dup_bad += 1
                problems.append(f"{rid}: not an exact copy of {r['dup_of']}")
        elif r["dup_of"] != "-":
            problems.append(f"{rid}: dup_of set on a non-duplicate")
    print(f"pairs {len(pairs)}; truth rows {len(truth)}")
    print(f"short-insert/adapter pairs {n_ad} ({n_ad / max(1, len(pairs)):.4f}); adapter exact at expected position "
          f"in both mates: {n_ad_exact}; mismatch histogram {dict(sorted(mism_hist.items()))}")
    print(f"non-adapter pairs containing a 20-nt adapter prefix: {n_ad_art}")
    print(f"duplicate pairs {n_dup} ({n_dup / max(1, len(pairs)):.4f}); not exact copies: {n_dup_bad}")
    for p in problems[:20]:
        print("PROBLEM:", p)
    print("OK" if not problems else f"{len(problems)} PROBLEM(S)")
    return 0 if not problems else 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=100_000, help="total number of read pairs (default 100000)")
    ap.add_argument("--out", help="output directory (created)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="default", help="genome set (default: default)")
    ap.add_argument("--strains", help="comma-separated strain keys (overrides --preset); see --list-genomes")
    ap.add_argument("--species", help="comma-separated species names; keep only these species of the selection")
    ap.add_argument("--genome", action="append", metavar="SPECIES:STRAIN:FASTA",
                    help="add a genome from any FASTA(.gz/.xz) file (repeatable)")
    ap.add_argument("--read-len", type=int, default=150)
    ap.add_argument("--insert-mean", type=int, default=300)
    ap.add_argument("--insert-sd", type=int, default=30)
    ap.add_argument("--adapter-frac", type=float, default=0.05, help="fraction of pairs with short inserts (adapter read-through)")
    ap.add_argument("--short-min", type=int, default=60, help="minimum short-insert length (default 60)")
    ap.add_argument("--short-max", type=int, default=None, help="maximum short-insert length (default read-len - 10)")
    ap.add_argument("--dup-frac", type=float, default=0.03, help="fraction of pairs that are exact duplicates")
    ap.add_argument("--sigma-species", type=float, default=1.0, help="log-normal sigma of species abundances")
    ap.add_argument("--sigma-strain", type=float, default=1.0, help="log-normal sigma of strain abundances within a species")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="concurrent art_illumina processes")
    ap.add_argument("--bucket-pairs", type=int, default=100_000, help="pairs per shuffle bucket (memory bound)")
    ap.add_argument("--gzip-truth", action="store_true", help="write truth.tsv.gz instead of truth.tsv")
    ap.add_argument("--gzip-level", type=int, default=6)
    ap.add_argument("--tmpdir", default=None, help="parent directory of the temporary work directory")
    ap.add_argument("--art", default="art_illumina", help="art_illumina binary")
    ap.add_argument("--list-genomes", action="store_true")
    ap.add_argument("--verify", metavar="DIR", help="only check an existing output directory and exit")
    args = ap.parse_args()

    if args.verify:
        sys.exit(verify(args.verify))

    if args.list_genomes:
        for k, (sp, st, pkg, path, desc) in CATALOG.items():
            presets = ",".join(p for p, ks in PRESETS.items() if k in ks and p != "all")
            print(f"{k}\t{sp}\t{pkg}\t{'ok' if os.path.exists(path) else 'MISSING'}\t{presets or '-'}\t{path}\t{desc}")
        return
    if not args.out:
        ap.error("--out is required")
    short_max = args.short_max if args.short_max is not None else args.read_len - 10
    if not (0 < args.short_min <= short_max < args.read_len):
        ap.error("need 0 < short-min <= short-max < read-len")
    if shutil.which(args.art) is None:
        sys.exit(f"{args.art} not found (apt-get install art-nextgen-simulation-tools)")

    t0 = time.time()
    N = args.pairs
    rng = random.Random(f"make-community:{args.seed}")
    strains = select_strains(args)
    for s in strains:
        fasta = read_fasta(s.path)
        s.contigs = [(f"{s.strain}.c{i}", seq) for i, (_h, seq) in enumerate(fasta)]
        s.sha = hashlib.sha256("".join(seq for _, seq in s.contigs).encode()).hexdigest()[:16]
        log(f"{s.strain}: {len(s.contigs)} contig(s), {s.length} bp, {s.path}")

    # abundances: log-normal per species, log-normal per strain within species
    species = list(dict.fromkeys(s.species for s in strains))
    sp_w = {sp: rng.lognormvariate(0.0, args.sigma_species) for sp in species}
    tot = sum(sp_w.values())
    for sp in species:
        members = [s for s in strains if s.species == sp]
        w = [rng.lognormvariate(0.0, args.sigma_strain) for _ in members]
        for s, wi in zip(members, w):
            s.species_share = sp_w[sp] / tot
            s.within_share = wi / sum(w)
            s.target_share = s.species_share * s.within_share

    n_short = round(args.adapter_frac * N)
    n_dup = round(args.dup_frac * N)
    n_art = N - n_short - n_dup
    if n_art < 0:
        sys.exit("adapter-frac + dup-frac > 1")
    shares = [s.target_share for s in strains]
    for s, a, b in zip(strains, largest_remainder(n_art, shares), largest_remainder(n_short, shares)):
        s.n_art, s.n_short = a, b
        s.contig_art = largest_remainder(a, [len(seq) for _, seq in s.contigs]) if a else [0] * len(s.contigs)
        if s.n_short and not s.n_art:
            # qualities of short-insert pairs are borrowed from ART pairs of the same strain
            s.n_art, s.n_short = s.n_short, 0
            s.contig_art = largest_remainder(s.n_art, [len(seq) for _, seq in s.contigs])
    n_base = n_art + n_short

    # final positions (deterministic shuffle) and duplicate sources, decided up front
    perm = list(range(1, N + 1))
    rng.shuffle(perm)
    dup_src = rng.sample(range(n_base), n_dup) if n_dup else []
    dup_target = {src: perm[n_base + j] for j, src in enumerate(dup_src)}  # src gen index -> final id of copy

    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="make-community.", dir=args.tmpdir)
    try:
        # ---- ART, one run per contig -----------------------------------------------------------
        jobs = []
        for s in strains:
            for ci, ((cid, seq), cnt) in enumerate(zip(s.contigs, s.contig_art)):
                if cnt == 0:
                    continue
                if len(seq) < args.insert_mean + 4 * args.insert_sd:
                    sys.exit(f"contig {cid} ({len(seq)} bp) is shorter than the fragment length")
                jobs.append((s, ci, cid, seq, cnt))

        def run_art(job):
            s, ci, cid, seq, cnt = job
            fa = os.path.join(work, f"{cid}.fa")
            with open(fa, "w") as fh:
                fh.write(f">{cid}\n")
                for i in range(0, len(seq), 80):
                    fh.write(seq[i:i + 80] + "\n")
            prefix = os.path.join(work, f"{cid}.art")
            cmd = [args.art, "-ss", "HS25", "-p", "-l", str(args.read_len), "-m", str(args.insert_mean),
                   "-s", str(args.insert_sd), "-rs", str(sub_seed(args.seed, "art", s.strain, ci)), "-na", "-q",
                   "-c", str(cnt), "-i", fa, "-o", prefix]
            r = subprocess.run(cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"art_illumina failed on {cid}:\n{r.stdout}")
            os.remove(fa)
            return prefix + "1.fq", prefix + "2.fq"

        log(f"{len(strains)} strains, {len(species)} species; {N} pairs = {n_art} ART + {n_short} short-insert "
            f"+ {n_dup} duplicates; running {len(jobs)} art_illumina jobs on {args.threads} threads")
        with ThreadPoolExecutor(max_workers=max(1, args.threads)) as pool:
            art_out = list(pool.map(run_art, jobs))
        log(f"ART done ({time.time() - t0:.0f}s)")

        # ---- stream all pairs into shuffle buckets -----------------------------------------------
        n_buckets = max(1, math.ceil(N / args.bucket_pairs))
        bsize = math.ceil(N / n_buckets)
        buckets = [open(os.path.join(work, f"bucket{i:04d}.tsv"), "w") for i in range(n_buckets)]
        counts = {s.strain: [0, 0, 0] for s in strains}  # art, short, dup

        def emit(k: int, s: Strain, cid: str, s1: str, q1: str, s2: str, q2: str, src: str, has_ad: int, ins: str):
            fid = perm[k]
            rec = f"{s1}\t{q1}\t{s2}\t{q2}\t{s.species}\t{s.strain}"
            buckets[(fid - 1) // bsize].write(f"{fid}\t{rec}\t0\t{has_ad}\t{src}\t-\t{ins}\t{cid}\n")
            if k in dup_target:
                did = dup_target[k]
                buckets[(did - 1) // bsize].write(
                    f"{did}\t{rec}\t1\t{has_ad}\tduplicate:{src}\tr{fid:07d}\t{ins}\t{cid}\n")
                counts[s.strain][2] += 1

        k = 0
        ji = 0
        for s in strains:
            qual_pool: list[tuple[str, str]] = []
            for ci, (cid, _seq) in enumerate(s.contigs):
                if s.contig_art[ci] == 0:
                    continue
                p1, p2 = art_out[ji]
                ji += 1
                n = 0
                for s1, q1, s2, q2 in read_fastq_pairs(p1, p2):
                    if len(qual_pool) < 2000:
                        qual_pool.append((q1, q2))
                    emit(k, s, cid, s1, q1, s2, q2, "art", 0, "NA")
                    k += 1
                    n += 1
                os.remove(p1); os.remove(p2)
                if n != s.contig_art[ci]:
                    raise RuntimeError(f"ART produced {n} pairs for {cid}, expected {s.contig_art[ci]}")
                counts[s.strain][0] += n
            # short inserts with adapter read-through
            srng = random.Random(f"short:{args.seed}:{s.strain}")
            lens = [len(seq) for _, seq in s.contigs]
            made = 0
            while made < s.n_short:
                cid, seq = srng.choices(s.contigs, weights=lens)[0]
                L = srng.randint(args.short_min, short_max)
                pos = srng.randrange(0, len(seq) - L + 1)
                frag = seq[pos:pos + L]
                if set(frag) - set("ACGT"):
                    continue
                if srng.random() < 0.5:
                    frag = revcomp(frag)
                q1, q2 = srng.choice(qual_pool)
                fill = args.read_len - L
                r1 = (frag + ADAPTER_R1 + "".join(srng.choice("ACGT") for _ in range(fill)))[:args.read_len]
                r2 = (revcomp(frag) + ADAPTER_R2 + "".join(srng.choice("ACGT") for _ in range(fill)))[:args.read_len]
                r1 = add_errors(srng, r1, q1)
                r2 = add_errors(srng, r2, q2)
                emit(k, s, cid, r1, q1, r2, q2, "short_insert", 1, str(L))
                k += 1
                made += 1
            counts[s.strain][1] += made
        assert k == n_base, (k, n_base)
        for b in buckets:
            b.close()
        log(f"bucketed {N} pairs into {n_buckets} bucket(s) ({time.time() - t0:.0f}s)")

        # ---- write outputs in final order -----------------------------------------------------------
        truth_name = "truth.tsv.gz" if args.gzip_truth else "truth.tsv"
        tmp_names = {n: os.path.join(args.out, n + ".tmp") for n in ("R1.fastq.gz", "R2.fastq.gz", truth_name)}
        # mtime=0 and no file name in the gzip header -> byte-identical output for identical input
        raw1, raw2 = open(tmp_names["R1.fastq.gz"], "wb"), open(tmp_names["R2.fastq.gz"], "wb")
        f1 = gzip.GzipFile(filename="", mode="wb", compresslevel=args.gzip_level, mtime=0, fileobj=raw1)
        f2 = gzip.GzipFile(filename="", mode="wb", compresslevel=args.gzip_level, mtime=0, fileobj=raw2)
        raw_truth = open(tmp_names[truth_name], "wb")
        ft = gzip.GzipFile(filename="", mode="wb", compresslevel=9, mtime=0, fileobj=raw_truth) if args.gzip_truth else raw_truth
        ft.write(b"read_id\tspecies\tstrain\tis_duplicate\thas_adapter\tsource\tdup_of\tinsert_len\tcontig\n")
        expect = 1
        for i in range(n_buckets):
            path = os.path.join(work, f"bucket{i:04d}.tsv")
            with open(path) as fh:
                rows = [line.rstrip("\n").split("\t") for line in fh]
            os.remove(path)
            rows.sort(key=lambda r: int(r[0]))
            o1, o2, ot = [], [], []
            for r in rows:
                fid = int(r[0])
                if fid != expect:
                    raise RuntimeError(f"bucket order broken at {fid}, expected {expect}")
                expect += 1
                name = f"r{fid:07d}"
                o1.append(f"@{name}/1\n{r[1]}\n+\n{r[2]}\n")
                o2.append(f"@{name}/2\n{r[3]}\n+\n{r[4]}\n")
                ot.append(name + "\t" + "\t".join(r[5:]) + "\n")
            f1.write("".join(o1).encode()); f2.write("".join(o2).encode()); ft.write("".join(ot).encode())
            del rows, o1, o2, ot
        if expect != N + 1:
            raise RuntimeError(f"wrote {expect - 1} pairs, expected {N}")
        for f in (f1, f2, raw1, raw2):
            f.close()
        ft.close()
        if ft is not raw_truth:
            raw_truth.close()
        for name, tmp in tmp_names.items():
            os.replace(tmp, os.path.join(args.out, name))

        # ---- composition.tsv --------------------------------------------------------------------
        copies = {s.strain: sum(counts[s.strain]) / s.length for s in strains}
        ctot = sum(copies.values())
        with open(os.path.join(args.out, "composition.tsv"), "w") as fh:
            fh.write("species\tstrain\tgenome_length\tn_contigs\tgenome_sha256\tspecies_share\twithin_species_share\t"
                     "target_share\tfold_coverage_art\tpairs_art\tpairs_short_insert\tpairs_duplicate\tpairs_total\t"
                     "observed_share\tgenome_copy_share\tpackage\tgenome_file\n")
            for s in strains:
                a, b, d = counts[s.strain]
                fh.write(f"{s.species}\t{s.strain}\t{s.length}\t{len(s.contigs)}\t{s.sha}\t{s.species_share:.6f}\t"
                         f"{s.within_share:.6f}\t{s.target_share:.6f}\t{a * 2 * args.read_len / s.length:.4f}\t"
                         f"{a}\t{b}\t{d}\t{a + b + d}\t{(a + b + d) / N:.6f}\t{copies[s.strain] / ctot:.6f}\t"
                         f"{s.package}\t{s.path}\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log(f"done: {N} pairs in {args.out} ({time.time() - t0:.0f}s)")


if __name__ == "__main__":
    main()
