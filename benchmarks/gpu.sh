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

# gymx from this working tree: an editable install (setup.py maps envs/ to gymx.envs); if pip
# cannot build offline, a shim folder with the same layout and entry points on PYTHONPATH.
if ! "$PYTHON" -c "import gymx, os, sys; sys.exit(os.path.realpath(gymx.__file__) != os.path.realpath('gymx/__init__.py'))" 2>/dev/null; then
  if ! "$PYTHON" -m pip install -q --no-deps --no-build-isolation -e . 2>/tmp/gymx_pip.log; then
    echo "pip install -e . failed (see /tmp/gymx_pip.log); using a PYTHONPATH shim" >&2
    shim=/tmp/gymx_shim
    rm -rf "$shim" && mkdir -p "$shim/gymx" "$shim/gymx-0.1.0.dist-info"
    ln -s "$PWD"/gymx/*.py "$shim/gymx/"
    for sub in gymx/*/; do ln -s "$PWD/$sub" "$shim/gymx/$(basename "$sub")"; done
    ln -s "$PWD/envs" "$shim/gymx/envs"
    ln -s "$PWD/kernels" "$shim/gymx/kernels"
    printf 'Metadata-Version: 2.1\nName: gymx\nVersion: 0.1.0\n' >"$shim/gymx-0.1.0.dist-info/METADATA"
    "$PYTHON" - "$shim/gymx-0.1.0.dist-info/entry_points.txt" <<'EOF'
import sys, tomllib
groups = tomllib.load(open("pyproject.toml", "rb"))["project"]["entry-points"]
with open(sys.argv[1], "w") as out:
    for group, points in groups.items():
        out.write(f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in points.items()))
EOF
    export PYTHONPATH=$shim${PYTHONPATH:+:$PYTHONPATH}
  fi
fi

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
