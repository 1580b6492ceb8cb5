#!/usr/bin/env bash
# Go on one GPU: gymx's two-player Go 19x19 (and 9x9) with random legal moves and auto-reset at
# 1,024 ... 65,536 games, against Pgx's go_19x19 / go_9x9 in the same run when Pgx is there.
# Goal on one H100: at least 20 M plies/s at 19x19 (Pgx published about 8 M on an A100).
# Writes the markdown to $OUT/gpu_go.md when $OUT is set (and to stdout). Run from the repository
# root on a machine with JAX+CUDA; a few minutes on an H100.
#
# Pgx is not on the GPU machine: carry its wheel in .whl/ (`pip download pgx --no-deps -d .whl`);
# it is installed to /tmp/site here. Overrides for a dry run on CPU: PYTHON, CASES, STEPS, REPEATS.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
CASES=${CASES:-"19:1024 19:4096 19:16384 19:65536 9:65536"}
STEPS=${STEPS:-256}
REPEATS=${REPEATS:-3}

if compgen -G ".whl/*.whl" >/dev/null; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
site=${GYMX_SITE:-/tmp/gymx_site}
"$PYTHON" -m pip install -q --no-deps --no-build-isolation --no-index --no-compile --upgrade --target "$site" . >&2
export PYTHONPATH=$site${PYTHONPATH:+:$PYTHONPATH}

pgx_python=""
if "$PYTHON" -c "import pgx" 2>/dev/null; then
  pgx_python=$(command -v "$PYTHON")
fi

report=$(mktemp)
{
  echo "# Go on GPU: gymx vs Pgx"
  echo
  if command -v nvidia-smi >/dev/null; then
    echo "- nvidia-smi: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
  fi
  echo "- command: \`bash benchmarks/gpu_go.sh\` (CASES='$CASES', STEPS=$STEPS, REPEATS=$REPEATS, pgx: ${pgx_python:-not installed})"
  echo
} >"$report"
start=$SECONDS
# shellcheck disable=SC2086  # the case list is meant to split into words
"$PYTHON" benchmarks/go.py --cases $CASES --steps "$STEPS" --repeats "$REPEATS" --pgx-python "$pgx_python" >>"$report"
echo "Total wall: $((SECONDS - start)) s" >>"$report"

if [[ -n "${OUT:-}" ]]; then
  cp "$report" "$OUT/gpu_go.md"
fi
cat "$report"
