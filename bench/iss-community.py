#!/usr/bin/env python3
"""A simulated community from InSilicoSeq (`pip install InSilicoSeq`), in the layout of scripts/make-community.py.

Used by bench/make-depth-series.sh. The strains' target shares are taken from the composition.tsv of another
community (--shares-from, e.g. the ART community of the same genomes) and renormalised over --genome-keys, so
the ART and ISS communities have the same composition. Pairs per strain = largest remainder of --pairs by
target share, per contig by length; ISS gets them as exact read counts (`--readcount_file`, reads = 2 x
pairs), which is what `--abundance_file` + `--n_reads` approximates. ISS writes its reads record by record;
they are shuffled deterministically (--seed) and renamed r%07d/1, r%07d/2 like make-community.py, so read
names carry no truth and the input order is mixed as in a real run.

Outputs in --out: R1.fastq.gz, R2.fastq.gz, truth.tsv.gz (read_id species strain is_duplicate has_adapter
source dup_of insert_len contig; no duplicates or adapters are simulated: 0 0 iss-MODEL - NA CONTIG),
composition.tsv (make-community.py's columns; pairs_art holds the ISS pairs), generator.tsv.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time


def log(msg: str) -> None:
    print(f"[iss-community {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def read_fasta(path: str) -> list[tuple[str, str]]:
    out: list[tuple[str, list[str]]] = []
    with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            if line.startswith(">"):
                out.append((line[1:], []))
            else:
                out[-1][1].append(line.upper())
    return [(h, "".join(p)) for h, p in out]


def largest_remainder(total: int, weights: list[float]) -> list[int]:
    s = sum(weights)
    raw = [total * w / s for w in weights]
    base = [math.floor(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - base[i]), i))
    for i in order[:total - sum(base)]:
        base[i] += 1
    return base


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--genomes-dir", required=True, help="directory with genomes.tsv and GENOME.fa.gz")
    ap.add_argument("--genome-keys", required=True, help="space- or comma-separated genome keys (genomes.tsv)")
    ap.add_argument("--shares-from", required=True, help="composition.tsv whose target_share column is used")
    ap.add_argument("--model", required=True, help="ISS error model: novaseq, miseq, hiseq, nextseq")
    ap.add_argument("--pairs", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--bucket-pairs", type=int, default=100_000)
    ap.add_argument("--iss", default="iss")
    args = ap.parse_args()
    t0 = time.time()

    species_of = {}
    with open(os.path.join(args.genomes_dir, "genomes.tsv")) as fh:
        hdr = fh.readline().rstrip("\n").split("\t")
        for line in fh:
            r = dict(zip(hdr, line.rstrip("\n").split("\t")))
            species_of[r["genome"]] = r["species"]
    keys = [k for k in args.genome_keys.replace(",", " ").split() if k]
    share_of = {}
    with open(args.shares_from) as fh:
        hdr = fh.readline().rstrip("\n").split("\t")
        for line in fh:
            r = dict(zip(hdr, line.rstrip("\n").split("\t")))
            share_of[r["strain"]] = float(r["target_share"])
    missing = [k for k in keys if k not in species_of or k not in share_of]
    if missing:
        sys.exit(f"iss-community: genome(s) {missing} missing from genomes.tsv or {args.shares_from}")

    # species shares renormalised over the species present; within-species shares as in the source
    sp_tot: dict[str, float] = {}
    for k in keys:
        sp_tot[species_of[k]] = sp_tot.get(species_of[k], 0.0) + share_of[k]
    all_tot = sum(sp_tot.values())
    strains = []
    for k in keys:
        contigs = [(f"{k}.c{i}", seq) for i, (_h, seq) in enumerate(read_fasta(os.path.join(args.genomes_dir, k + ".fa.gz")))]
        sp = species_of[k]
        strains.append({"key": k, "species": sp, "contigs": contigs, "length": sum(len(s) for _, s in contigs),
                        "sha": hashlib.sha256("".join(s for _, s in contigs).encode()).hexdigest()[:16],
                        "species_share": sp_tot[sp] / all_tot, "within_share": share_of[k] / sp_tot[sp],
                        "target_share": share_of[k] / all_tot})
    for s, n in zip(strains, largest_remainder(args.pairs, [s["target_share"] for s in strains])):
        s["pairs"] = n
        s["contig_pairs"] = largest_remainder(n, [len(q) for _, q in s["contigs"]]) if n else [0] * len(s["contigs"])
    contig_strain = {cid: s for s in strains for cid, _ in s["contigs"]}

    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="iss-community.", dir=os.path.abspath(args.out))
    try:
        fa = os.path.join(work, "genomes.fa")
        rc = os.path.join(work, "readcount.txt")
        with open(fa, "w") as f, open(rc, "w") as g:
            for s in strains:
                for (cid, seq), n in zip(s["contigs"], s["contig_pairs"]):
                    if n == 0:
                        continue
                    f.write(f">{cid}\n")
                    for i in range(0, len(seq), 80):
                        f.write(seq[i:i + 80] + "\n")
                    g.write(f"{cid}\t{2 * n}\n")
        prefix = os.path.join(work, "iss")
        cmd = [args.iss, "generate", "--genomes", fa, "--readcount_file", rc, "--model", args.model,
               "--cpus", "1", "--seed", str(args.seed), "--output", prefix]
        log(f"{len(strains)} genomes, {len({s['species'] for s in strains})} species, {args.pairs} pairs: {' '.join(cmd)}")
        subprocess.run(cmd, check=True)
        log(f"ISS done ({time.time() - t0:.0f}s)")

        # shuffle: final id of the k-th ISS pair = perm[k]; records spread over bucket files by final id
        N = args.pairs
        perm = list(range(1, N + 1))
        random.Random(f"iss-community:{args.seed}").shuffle(perm)
        n_buckets = max(1, math.ceil(N / args.bucket_pairs))
        bsize = math.ceil(N / n_buckets)
        buckets = [open(os.path.join(work, f"bucket{i:04d}.tsv"), "w") for i in range(n_buckets)]
        counts = {s["key"]: 0 for s in strains}
        read_len = 0
        k = 0
        with open(prefix + "_R1.fastq") as f1, open(prefix + "_R2.fastq") as f2:
            while True:
                h1 = f1.readline()
                if not h1:
                    break
                s1 = f1.readline().rstrip("\n"); f1.readline(); q1 = f1.readline().rstrip("\n")
                h2 = f2.readline()
                s2 = f2.readline().rstrip("\n"); f2.readline(); q2 = f2.readline().rstrip("\n")
                n1, n2 = h1[1:].split()[0], h2[1:].split()[0]
                if n1[:-2] != n2[:-2] or not n1.endswith("/1") or not n2.endswith("/2"):
                    raise RuntimeError(f"ISS pair {k + 1}: mate names differ: {n1!r} {n2!r}")
                cid = n1[:-2].rsplit("_", 2)[0]
                s = contig_strain.get(cid)
                if s is None:
                    raise RuntimeError(f"ISS pair {k + 1}: read {n1!r} names no known contig ({cid!r})")
                if k >= N:
                    raise RuntimeError(f"ISS wrote more than {N} pairs")
                counts[s["key"]] += 1
                read_len = max(read_len, len(s1), len(s2))
                fid = perm[k]
                buckets[(fid - 1) // bsize].write(f"{fid}\t{s1}\t{q1}\t{s2}\t{q2}\t{s['species']}\t{s['key']}\t{cid}\n")
                k += 1
        for b in buckets:
            b.close()
        if k != N:
            raise RuntimeError(f"ISS wrote {k} pairs, expected {N}")
        src = f"iss-{args.model}"
        raws = [open(os.path.join(args.out, n), "wb") for n in ("R1.fastq.gz", "R2.fastq.gz", "truth.tsv.gz")]
        gz = [gzip.GzipFile(filename="", mode="wb", compresslevel=6, mtime=0, fileobj=r) for r in raws]
        gz[2].write(b"read_id\tspecies\tstrain\tis_duplicate\thas_adapter\tsource\tdup_of\tinsert_len\tcontig\n")
        expect = 1
        for i in range(n_buckets):
            path = os.path.join(work, f"bucket{i:04d}.tsv")
            with open(path) as fh:
                rows = sorted((line.rstrip("\n").split("\t") for line in fh), key=lambda r: int(r[0]))
            os.remove(path)
            o1, o2, ot = [], [], []
            for r in rows:
                if int(r[0]) != expect:
                    raise RuntimeError(f"bucket order broken at {r[0]}, expected {expect}")
                name = f"r{expect:07d}"
                expect += 1
                o1.append(f"@{name}/1\n{r[1]}\n+\n{r[2]}\n")
                o2.append(f"@{name}/2\n{r[3]}\n+\n{r[4]}\n")
                ot.append(f"{name}\t{r[5]}\t{r[6]}\t0\t0\t{src}\t-\tNA\t{r[7]}\n")
            gz[0].write("".join(o1).encode()); gz[1].write("".join(o2).encode()); gz[2].write("".join(ot).encode())
        for f in gz + raws:
            f.close()

        copies = {s["key"]: counts[s["key"]] / s["length"] for s in strains}
        ctot = sum(copies.values())
        with open(os.path.join(args.out, "composition.tsv"), "w") as fh:
            fh.write("species\tstrain\tgenome_length\tn_contigs\tgenome_sha256\tspecies_share\twithin_species_share\t"
                     "target_share\tfold_coverage_art\tpairs_art\tpairs_short_insert\tpairs_duplicate\tpairs_total\t"
                     "observed_share\tgenome_copy_share\tpackage\tgenome_file\n")
            for s in strains:
                a = counts[s["key"]]
                fh.write(f"{s['species']}\t{s['key']}\t{s['length']}\t{len(s['contigs'])}\t{s['sha']}\t"
                         f"{s['species_share']:.6f}\t{s['within_share']:.6f}\t{s['target_share']:.6f}\t"
                         f"{a * 2 * read_len / s['length']:.4f}\t{a}\t0\t0\t{a}\t{a / N:.6f}\t{copies[s['key']] / ctot:.6f}\t"
                         f"-\t{os.path.join(args.genomes_dir, s['key'] + '.fa.gz')}\n")
        ver = subprocess.run([args.iss, "--version"], capture_output=True, text=True).stdout.strip()
        with open(os.path.join(args.out, "generator.tsv"), "w") as fh:
            fh.write(f"generator\tInSilicoSeq {ver} (iss generate --model {args.model} --cpus 1 --readcount_file)\n"
                     f"seed\t{args.seed}\npairs\t{N}\nread_length\t{read_len}\nshares_from\t{args.shares_from}\n"
                     f"genomes\t{' '.join(keys)}\n"
                     f"note\tcomposition.tsv columns as make-community.py; pairs_art and fold_coverage_art are the ISS pairs\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log(f"done: {args.pairs} pairs in {args.out} ({time.time() - t0:.0f}s)")


if __name__ == "__main__":
    main()
