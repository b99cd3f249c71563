#!/usr/bin/env bash
# The whole test suite: installs what it needs (npm, Debian packages when root), then lint, typecheck, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --system
echo "test: npm audit (runtime dependencies, high/critical)" >&2
node scripts/audit.mjs
echo "test: lint" >&2
npx eslint --no-error-on-unmatched-pattern src test bench
echo "test: tests" >&2
node scripts/run-tests.mjs "$@"
bash infra/test.sh
