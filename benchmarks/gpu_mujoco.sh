#!/usr/bin/env bash
# The MuJoCo envs on one GPU: throughput of Hopper, Ant and Humanoid (v5 and Fast-v5) at 1,024 ...
# 32,768 envs (random actions, same-step auto-reset), the env overhead over bare `mjx.step`, and
# Brax's model of the same robot at matched solver settings when Brax is importable (carry brax and
# its dependencies as wheels too). Goal on one H100: faster than Brax at every batch size, and at
# least 1,000,000 env steps/s for Ant-v5. Writes the markdown to $OUT/gpu_mujoco.md when $OUT is
# set (and to stdout). Run from the repository root on a machine with JAX+CUDA.
#
# mujoco, mujoco-mjx and gymnasium (for its model files) are not on the GPU machine: carry their
# wheels for its Python in .whl/, e.g. `pip download mujoco mujoco-mjx gymnasium
# --python-version 3.12 --only-binary=:all: -d .whl` with their dependencies other than scipy, which JAX brings;
# they are installed to /tmp/site here. Overrides for a dry run on CPU: PYTHON, ENVS, SIZES, STEPS, REPEATS.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
ENVS=${ENVS:-"Hopper Ant Humanoid"}
SIZES=${SIZES:-"1024 4096 16384 32768"}
STEPS=${STEPS:-100}
REPEATS=${REPEATS:-3}

if compgen -G ".whl/*.whl" >/dev/null; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
site=${GYMX_SITE:-/tmp/gymx_site}
"$PYTHON" -m pip install -q --no-deps --no-build-isolation --no-index --no-compile --upgrade --target "$site" . >&2
export PYTHONPATH=$site${PYTHONPATH:+:$PYTHONPATH}

brax_flag=--no-brax
if "$PYTHON" -c "import brax" 2>/dev/null; then
  brax_flag=
fi

report=$(mktemp)
{
  echo "# MuJoCo envs on GPU"
  echo
  if command -v nvidia-smi >/dev/null; then
    echo "- nvidia-smi: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
  fi
  echo "- command: \`bash benchmarks/gpu_mujoco.sh\` (ENVS='$ENVS', SIZES='$SIZES', STEPS=$STEPS, REPEATS=$REPEATS, brax: ${brax_flag:-yes})"
  echo
} >"$report"
start=$SECONDS
# shellcheck disable=SC2086  # the lists are meant to split into words
"$PYTHON" benchmarks/mujoco_suite.py speed --envs $ENVS --num-envs $SIZES --steps "$STEPS" --repeats "$REPEATS" $brax_flag >>"$report"
echo "Total wall: $((SECONDS - start)) s" >>"$report"

if [[ -n "${OUT:-}" ]]; then
  cp "$report" "$OUT/gpu_mujoco.md"
fi
cat "$report"
