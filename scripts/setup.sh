#!/usr/bin/env bash
# Installs what metavec needs and builds it. Used by the demo and the test command.
#   scripts/setup.sh            npm dependencies + build
#   scripts/setup.sh --system   also the Debian packages the tests compare against (when run as root), the
#                               Python references (pip) and the optional ONNX embedder packages
#   scripts/setup.sh --onnx     npm dependencies + the optional ONNX embedder packages + build
set -euo pipefail
cd "$(dirname "$0")/.."

# onnxruntime-node (optional ONNX embedder) tries to download CUDA binaries in its postinstall unless told not to.
export ONNXRUNTIME_NODE_INSTALL_CUDA=skip
export ONNXRUNTIME_NODE_INSTALL=skip
ONNX_PACKAGES="onnxruntime-node@1.30.0 @huggingface/tokenizers@0.2.0"

if [[ "${1:-}" == "--system" ]]; then
  # Peer tools and readers used by agreement tests: fastp (QC), scikit-learn (k-means/metrics),
  # netcdf-bin + python3-netcdf4 (NetCDF readers), lighter + art-nextgen-simulation-tools (error correction
  # and simulated reads), chromium + fonts-liberation (the browser test of report.html, driven by playwright-core).
  pkgs=(fastp netcdf-bin python3-sklearn python3-netcdf4 python3-numpy lighter art-nextgen-simulation-tools chromium fonts-liberation)
  # The mpi and slurm engines (docs/hpc.md): OpenMPI (+ headers for native/mpi) and a single-node Slurm
  # (scripts/slurm.sh, AuthType=auth/none: no munge needed).
  pkgs+=(openmpi-bin libopenmpi-dev slurm-wlm slurmctld slurmd slurm-client g++ make)
  missing=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]]; then
      echo "setup: installing Debian packages: ${missing[*]}" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >/dev/null
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      echo "setup: not root; missing Debian packages (tests that need them will skip locally): ${missing[*]}" >&2
    fi
  fi
  # S3Proxy, the S3-compatible server of the s3:// integration tests (a jar from Maven Central; cached in .cache/).
  bash scripts/s3-server.sh install >/dev/null || echo "setup: S3Proxy not installed (s3:// integration tests will skip)" >&2
  # pyarrow (not packaged in Debian stable) for the Parquet cross-checks, from PyPI.
  if ! python3 -c 'import pyarrow' 2>/dev/null; then
    echo "setup: pip install pyarrow" >&2
    python3 -m pip install --quiet --disable-pip-version-check pyarrow >&2 || echo "setup: pyarrow not installed (Parquet cross-check will skip)" >&2
  fi
  # AMBER (CAMI's binning evaluator) for the agreement test of `metavec eval` with bins.binning
  # (test/integration/amber.test.ts). 2.0.8 installs on Python 3.11 (it pins pandas 2.2.2, matplotlib, bokeh).
  amber_pin=cami-amber==2.0.8
  if ! python3 -c "import importlib.metadata as m, sys; sys.exit(m.version('cami-amber') != '${amber_pin##*==}')" 2>/dev/null || ! command -v amber.py >/dev/null; then
    echo "setup: pip install $amber_pin" >&2
    python3 -m pip install --quiet --disable-pip-version-check "$amber_pin" >&2 || echo "setup: AMBER not installed (its agreement test will skip locally, fail under CI=true)" >&2
  fi
  # Ray (pinned in ray/requirements.txt) for the Ray engine's tests: a local head via scripts/ray-head.sh.
  ray_pin=$(grep -E '^ray' ray/requirements.txt)
  if ! python3 -c "import sys, ray, ray.data, aiohttp; sys.exit(ray.__version__ != '${ray_pin##*==}')" 2>/dev/null; then
    echo "setup: pip install $ray_pin" >&2
    python3 -m pip install --quiet --disable-pip-version-check -r ray/requirements.txt >&2 || echo "setup: ray not installed (Ray engine tests will skip locally, fail under CI=true)" >&2
  fi
  # numpy + onnx + tokenizers: the reference the ONNX embedder tests compare against (scripts/make-tiny-bert.py).
  if ! python3 -c 'import numpy, onnx, tokenizers' 2>/dev/null; then
    echo "setup: pip install numpy onnx tokenizers" >&2
    python3 -m pip install --quiet --disable-pip-version-check numpy onnx tokenizers >&2 || echo "setup: onnx reference not installed (its test will skip)" >&2
  fi
fi

stamp=node_modules/.metavec-lock
if [[ ! -f "$stamp" ]] || ! cmp -s package-lock.json "$stamp"; then
  # `npm install` honours package-lock.json; `npm ci` is refused by npm 11 here because the lock omits
  # DuckDB's binaries for other platforms (optional dependencies it never downloads).
  echo "setup: npm install (from package-lock.json)" >&2
  npm install --no-audit --no-fund --loglevel=error >&2
  cp package-lock.json "$stamp"
fi
# The optional MPI binding (native/mpi, a separate package: the project installs without MPI). npm runs
# node-gyp itself because of its binding.gyp.
if command -v mpicc >/dev/null 2>&1; then
  if [[ ! -f native/mpi/build/Release/metavec_mpi.node || native/mpi/src/binding.cc -nt native/mpi/build/Release/metavec_mpi.node || native/mpi/binding.gyp -nt native/mpi/build/Release/metavec_mpi.node ]]; then
    echo "setup: building native/mpi (MPI binding)" >&2
    # Node's own headers (no download from nodejs.org) when the installation ships them.
    nodeprefix=$(dirname "$(dirname "$(command -v node)")")
    if [[ -z "${npm_config_nodedir:-}" && -f "$nodeprefix/include/node/node_api.h" ]]; then export npm_config_nodedir="$nodeprefix"; fi
    (cd native/mpi && npm install --no-audit --no-fund --no-package-lock --loglevel=error >&2) || echo "setup: native/mpi did not build (--engine mpi unavailable)" >&2
  fi
else
  echo "setup: no mpicc: the MPI binding (--engine mpi) is not built" >&2
fi
if [[ "${1:-}" == "--system" || "${1:-}" == "--onnx" ]]; then
  # The optional ONNX embedder's packages, kept out of package.json so a plain npm install stays lean
  # (onnxruntime-node is ~290 MB). --no-save leaves package.json and the lock alone; a later lock-triggered
  # install prunes them and this step puts them back. Versions: src/embed/onnx/runtime.ts INSTALL_HINT.
  if ! node -e "require.resolve('onnxruntime-node'); require.resolve('@huggingface/tokenizers')" 2>/dev/null; then
    echo "setup: npm install --no-save $ONNX_PACKAGES" >&2
    # shellcheck disable=SC2086
    npm install --no-save --no-audit --no-fund --loglevel=error $ONNX_PACKAGES >&2
  fi
fi
echo "setup: build" >&2
npx tsc -p tsconfig.json
chmod +x dist/src/cli/main.js
