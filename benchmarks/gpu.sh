#!/usr/bin/env bash
# gymx vs gymnax on one GPU: every classic-control id, random actions, auto-reset on, at batch
# sizes 1,024 ... 4,194,304. Writes the markdown to $OUT/gpu_results.md when $OUT is set (and to
# stdout). Run from the repository root on a machine with JAX+CUDA; about 4-6 minutes on an H100.
#
# gymnax and gymnasium are not on the GPU machine: carry them as wheels in .whl/ (see
# benchmarks/README.md for the download command); they are installed to /tmp/site here.
# Overrides for a dry run on CPU: PYTHON, CARTPOLE_SIZES, OTHER_SIZES, REPEATS, MIN_REPEAT_S.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
CARTPOLE_SIZES=${CARTPOLE_SIZES:-"1024 4096 16384 65536 262144 1048576 4194304"}
OTHER_SIZES=${OTHER_SIZES:-"4096 65536 1048576 4194304"}
REPEATS=${REPEATS:-3}
MIN_REPEAT_S=${MIN_REPEAT_S:-0.5}

if compgen -G ".whl/*.whl" >/dev/null; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi

# gymx from this working tree, installed next to the wheels (a plain, non-editable install:
# setup.py maps envs/ and kernels/ to gymx.envs and gymx.kernels).
site=${GYMX_SITE:-/tmp/gymx_site}
"$PYTHON" -m pip install -q --no-deps --no-build-isolation --no-index --no-compile --upgrade --target "$site" . >&2
export PYTHONPATH=$site${PYTHONPATH:+:$PYTHONPATH}
"$PYTHON" -c "import gymx; assert 'CartPole-v1' in gymx.registry, 'gymx ids not registered'"

report=$(mktemp)
{
  echo "# gymx vs gymnax on GPU"
  echo
  if command -v nvidia-smi >/dev/null; then
    echo "- nvidia-smi: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
  fi
  echo "- command: \`bash benchmarks/gpu.sh\` (CARTPOLE_SIZES='$CARTPOLE_SIZES', OTHER_SIZES='$OTHER_SIZES', REPEATS=$REPEATS, MIN_REPEAT_S=$MIN_REPEAT_S)"
  echo
} >"$report"

suite() {
  "$PYTHON" benchmarks/classic_control.py --peers gymnax --repeats "$REPEATS" --min-repeat-s "$MIN_REPEAT_S" "$@" >>"$report"
  echo >>"$report"
}
start=$SECONDS
# shellcheck disable=SC2086  # the size lists are meant to split into words
suite --ids CartPole-v1 --num-envs $CARTPOLE_SIZES
other_ids=$("$PYTHON" -c "import sys; sys.path.insert(0, 'benchmarks'); from classic_control import classic_control_ids; print(' '.join(i for i in classic_control_ids() if i != 'CartPole-v1'))")
# shellcheck disable=SC2086
suite --ids $other_ids --num-envs $OTHER_SIZES
echo "Total wall: $((SECONDS - start)) s" >>"$report"

if [[ -n "${OUT:-}" ]]; then
  cp "$report" "$OUT/gpu_results.md"
fi
cat "$report"
