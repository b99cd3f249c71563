#!/usr/bin/env python3
"""scikit-learn side of the k-means comparison (bench/kmeans-vs-sklearn.ts, test/integration/kmeans-sklearn.test.ts).

Reads a row-major float32 matrix (raw .bin with --n/--d, or .npy), runs sklearn KMeans (lloyd) with the given
parameters under a thread limit and prints one JSON object: wall time (fit only), iterations, inertia.
"""
import argparse
import json
import os
import sys
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--n", type=int)
    ap.add_argument("--d", type=int)
    ap.add_argument("--k", type=int, required=True)
    ap.add_argument("--n-init", type=int, default=3)
    ap.add_argument("--max-iter", type=int, default=300)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--labels-out", help="write int32 labels here")
    a = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
    import numpy as np
    import sklearn
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    if a.input.endswith(".npy"):
        X = np.load(a.input).astype(np.float32, copy=False)
    else:
        X = np.fromfile(a.input, dtype=np.float32).reshape(a.n, a.d)
    X = np.ascontiguousarray(X)
    with threadpool_limits(limits=a.threads):
        t0 = time.perf_counter()
        c0 = time.process_time()
        km = KMeans(n_clusters=a.k, n_init=a.n_init, max_iter=a.max_iter, tol=a.tol, algorithm="lloyd",
                    init="k-means++", random_state=a.seed).fit(X)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
    if a.labels_out:
        km.labels_.astype(np.int32).tofile(a.labels_out)
    json.dump({"tool": "sklearn", "version": sklearn.__version__, "n": int(X.shape[0]), "d": int(X.shape[1]),
               "k": a.k, "nInit": a.n_init, "threads": a.threads, "wallSeconds": wall, "cpuSeconds": cpu,
               "iterations": int(km.n_iter_), "inertia": float(km.inertia_)}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
