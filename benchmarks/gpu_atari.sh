#!/usr/bin/env bash
# gymx's Atari 2600 emulator on one GPU, as one job within a time budget: ALE/Pong-v5 and ALE/Breakout-v5 at
# 1,024 ... 65,536 consoles, rgb and ram observations (benchmarks/atari.py --impls gymx: ALE v5 settings,
# random actions, auto-reset, the observations summed so none is optimised away), and JAXAtari's Pong and
# Breakout at the same sizes where jaxtari is installed. The issue's goal: 430,000 emulated frames/s on one H100.
#
# Each case is its own process, PARALLEL at a time, taking turns as gpu_all.sh's jobs do: compiles overlap
# (`compile_turn()`), timed calls run alone (`device_turn()`, benchmarks/common.py), so no timed call
# shares the device or the host's cores with a compile. Compile times are therefore measured PARALLEL
# processes at a time. Cases start in the order rgb before ram, Pong before Breakout, each over SIZES
# (PARALLEL=8: Pong rgb's whole sweep and Breakout rgb's in the first wave); a case stops at JOB_LIMIT
# seconds or at the BUDGET (seconds from the start), whichever comes first, and the table is rewritten
# as each case ends. Writes $OUT/gpu_atari.md and
# $OUT/gpu_atari_logs.tar.gz when $OUT is set (else a temporary folder, printed).
#
# ale-py (gymx reads the ROMs from the installed package), gymnasium (ale-py imports it) and, for the
# JAXAtari rows, jaxtari and platformdirs are not on the GPU machine: carry their wheels for its Python in
# .whl/ (the same folder as gpu_all.sh's; about 5.6 MB):
#   python -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 --platform any -d .whl \
#       ale-py==0.12.1 gymnasium==1.3.0 farama-notifications==0.0.4 jaxtari==0.2.0 platformdirs
# JAXAtari's sprite pack is a download from Google Drive, which the GPU machine cannot reach: atari.py
# draws with placeholder sprites then (its rows say so).
#
# A dry run on CPU (every code path at tiny sizes, a few minutes; synchronous CPU dispatch avoids
# XLA:CPU's deadlock on 2 cores, jax-ml/jax#25861):
#   JAX_CPU_ENABLE_ASYNC_DISPATCH=false WHEELS=none PYTHON=python PARALLEL=2 SIZES="2" STEPS=1 \
#   GAMES=pong bash benchmarks/gpu_atari.sh
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

if [[ "${1:-}" == "--job" ]]; then
  # One case: run it with the time that is left, then rewrite the report.
  file=$2
  name=$(basename "$file" .sh)
  left=$((GPU_ATARI_DEADLINE - $(date +%s)))
  ((left > GPU_ATARI_JOB_LIMIT)) && left=$GPU_ATARI_JOB_LIMIT
  if ((left < 15)); then
    echo "$name: not started, ${left} s left" >>"$GPU_ATARI_WORK/status.txt"
  else
    start=$(date +%s)
    timeout --kill-after=5 "$left" bash "$file" >"$GPU_ATARI_WORK/$name.md" 2>"$GPU_ATARI_WORK/$name.log"
    echo "$name: exit $? after $(($(date +%s) - start)) s" >>"$GPU_ATARI_WORK/status.txt"
  fi
  exec 9>"$GPU_ATARI_WORK/report.lock"
  flock 9
  {
    cat "$GPU_ATARI_WORK/preamble.md"
    jsons=$(compgen -G "$GPU_ATARI_WORK/[0-9]*.json" | sort)
    if [[ -n $jsons ]]; then
      # shellcheck disable=SC2086  # one file name per word
      "$PYTHON" benchmarks/atari.py --from-json $jsons
    fi
    echo
    echo '## Cases'
    echo
    sort "$GPU_ATARI_WORK/status.txt" | sed 's/^/- /'
  } >"$GPU_ATARI_OUT/gpu_atari.md.tmp" 2>>"$GPU_ATARI_WORK/report.log"
  mv "$GPU_ATARI_OUT/gpu_atari.md.tmp" "$GPU_ATARI_OUT/gpu_atari.md"
  tar -czf "$GPU_ATARI_OUT/gpu_atari_logs.tar.gz.tmp" -C "$GPU_ATARI_WORK" --exclude='*.lock' . 2>/dev/null
  mv "$GPU_ATARI_OUT/gpu_atari_logs.tar.gz.tmp" "$GPU_ATARI_OUT/gpu_atari_logs.tar.gz"
  exit 0
fi

PYTHON=${PYTHON:-python3}
BUDGET=${BUDGET:-540}
JOB_LIMIT=${JOB_LIMIT:-360}  # one case's most seconds, compile included
PARALLEL=${PARALLEL:-8}
GAMES=${GAMES:-"pong breakout"}
OBS_TYPES=${OBS_TYPES:-"rgb ram"}
SIZES=${SIZES:-"1024 4096 16384 65536"}
STEPS=${STEPS:-4}  # agent steps (4 emulated frames each) per console per timed call
REPEATS=${REPEATS:-2}
JAXATARI=${JAXATARI:-1}  # 0: no JAXAtari rows
WHEELS=${WHEELS:-.whl}

deadline=$(($(date +%s) + BUDGET))
out=${OUT:-$(mktemp -d)}
work=$(mktemp -d)
mkdir -p "$work/jobs"
: >"$work/status.txt"

if compgen -G "$WHEELS/*.whl" >/dev/null; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHEELS"/*.whl
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
site=${GYMX_SITE:-/tmp/gymx_site}
"$PYTHON" -m pip install -q --no-deps --no-build-isolation --no-index --no-compile --upgrade --target "$site" . >&2
export PYTHONPATH=$site${PYTHONPATH:+:$PYTHONPATH}

export GYMX_BENCH_LOCK=$work/device.lock XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
export GPU_ATARI_DEADLINE=$deadline GPU_ATARI_JOB_LIMIT=$JOB_LIMIT GPU_ATARI_WORK=$work GPU_ATARI_OUT=$out PYTHON

{
  echo "# Atari 2600 on GPU: \`bash benchmarks/gpu_atari.sh\`"
  echo
  if command -v nvidia-smi >/dev/null; then
    echo "- nvidia-smi: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
  fi
  echo "- settings: BUDGET=$BUDGET s, JOB_LIMIT=$JOB_LIMIT s, PARALLEL=$PARALLEL, GAMES='$GAMES', OBS_TYPES='$OBS_TYPES'," \
    "SIZES='$SIZES', STEPS=$STEPS, REPEATS=$REPEATS, JAXATARI=$JAXATARI"
  echo "- compile times below were measured with up to $PARALLEL processes compiling at once; the per-core columns" \
    "count the host's CPU time, not the GPU's"
  echo "- goal (issue 13): at least 430,000 emulated frames/s on one H100"
  echo
} >"$work/preamble.md"

jaxatari=
[[ $JAXATARI == 1 ]] && "$PYTHON" -c "import jaxtari" 2>/dev/null && jaxatari=1

# Cases are named by their start order; atari.py writes each one's rows as JSON for the table.
count=0
add() {
  local name
  name=$(printf %02d $count)-$1
  shift
  printf '%q ' "$@" --json "$work/$name.json" >"$work/jobs/$name.sh"
  count=$((count + 1))
}
for obs in $OBS_TYPES; do
  for game in $GAMES; do
    for n in $SIZES; do
      add "gymx-$game-$obs-$n" "$PYTHON" benchmarks/atari.py --impls gymx --games "$game" --obs-types "$obs" \
        --num-envs "$n" --steps "$STEPS" --repeats "$REPEATS"
    done
  done
done
if [[ -n $jaxatari ]]; then
  for n in $SIZES; do
    for game in $GAMES; do
      add "jaxtari-$game-$n" "$PYTHON" benchmarks/atari.py --impls jaxtari --games "$game" --num-envs "$n" \
        --jaxtari-steps "$STEPS" --repeats "$REPEATS"
    done
  done
fi

echo "$count cases, $PARALLEL at a time, ${BUDGET} s budget; report: $out/gpu_atari.md" >&2
printf "%s\n" "$work"/jobs/*.sh | xargs -P "$PARALLEL" -n 1 bash "$PWD/benchmarks/gpu_atari.sh" --job
cat "$out/gpu_atari.md"
