#!/usr/bin/env bash
# Every GPU measurement the project records, as one job on one GPU machine within a time budget:
#   - MuJoCo: Humanoid, Ant and Hopper at 1,024 ... 32,768 envs: the v5 id (MuJoCo Warp when
#     warp-lang is installed, the default on an NVIDIA GPU), its FastSolver-v5 and Lite-v5 tiers, gymx
#     at Brax's solver settings and Brax's own env; at the largest size also the v5 id on MJX-JAX
#     (impl="jax") and with MJX's own fixed-length line search (the before of the early exit); the
#     env overhead over bare mjx.step (Hopper, MJX-JAX).
#   - Go: gymx's Go 19x19 at 1,024 ... 65,536 games and 9x9 at 65,536, and Pgx's at the same sizes.
#   - Training: 2,048 PPO agents on CartPole-v1 x 500k env steps in one program; PPO on Hopper-v5
#     and on Ant-v5.
#   - Monitor: its overhead on a 65,536-env CartPole rollout, and the rasterizer's frames/s.
#   - Atari 2600 (optional, none by default: ATARI_CASES="pong:rgb:65536 ..."): gymx's emulator
#     at the given GAME:OBS_TYPE:N, last in the queue (benchmarks/gpu_atari.sh is the full sweep);
#     ale-py's wheel (the ROMs) and gymnasium's go in .whl/ as that script's header says.
#
# Compiling, not running, is what takes the time here (an MJX program compiles for a minute or
# more), so each measurement is its own process, PARALLEL at a time, and they take turns: every
# compile runs inside `compile_turn()` and every timed call inside `device_turn()`
# (benchmarks/common.py), the shared and the exclusive side of one file lock, so compiles
# overlap one another but no timed program shares the device or the host's cores with anything
# (an MJX program waits on the host at each solver iteration: timed beside 15 compiles, Ant-v5 ran
# 42% slower, benchmarks/RESULTS.md). Compile times are therefore measured PARALLEL processes at a time. Every job
# stops at the BUDGET (seconds from the start); the report is rewritten as each job ends, so what
# finished is kept. Writes $OUT/gpu_all.md and $OUT/gpu_all_logs.tar.gz when $OUT is set (else
# a temporary folder, printed).
#
# mujoco, mujoco-mjx (the same release: pyproject's mjx extra), warp-lang (mujoco-mjx[warp]'s
# pin, for impl="warp"), gymnasium (its model files), brax, jaxopt and pgx are not on the GPU
# machine: carry their wheels for its Python in .whl/ (pip download --no-deps ... -d .whl; see
# the device notes in benchmarks/README.md); they are installed to /tmp/site here.
#
# A dry run on CPU (every code path, tiny sizes, about ten minutes; the wheels are for the GPU
# machine; synchronous CPU dispatch avoids XLA:CPU's deadlock, jax-ml/jax#25861, on 2 cores):
#   JAX_CPU_ENABLE_ASYNC_DISPATCH=false WHEELS=none PYTHON=python PARALLEL=2 \
#   MUJOCO_ENVS=Hopper MUJOCO_SIZES=4 ANT_SIZES= MUJOCO_STEPS=2 \
#   GO_CASES="9:8 19:8" GO_STEPS=4 TRAIN_AGENTS=2 TRAIN_STEPS=4096 HOPPER_PPO_STEPS=65536 ANT_PPO_STEPS=131072 \
#   MONITOR_ENVS=64 bash benchmarks/gpu_all.sh
set -uo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--job" ]]; then
  # One job: run its command with the time that is left, then rewrite the report.
  file=$2
  name=$(basename "$file" .sh)
  left=$((GPU_ALL_DEADLINE - $(date +%s)))
  if ((left < 15)); then
    echo "$name: not started, ${left} s left" >>"$GPU_ALL_WORK/status.txt"
  else
    start=$(date +%s)
    timeout --kill-after=5 "$left" bash "$file" >"$GPU_ALL_WORK/$name.md" 2>"$GPU_ALL_WORK/$name.log"
    echo "$name: exit $? after $(($(date +%s) - start)) s" >>"$GPU_ALL_WORK/status.txt"
  fi
  exec 9>"$GPU_ALL_WORK/report.lock"
  flock 9
  {
    cat "$GPU_ALL_WORK/preamble.md"
    echo '## Jobs'
    echo
    sed 's/^/- /' "$GPU_ALL_WORK/status.txt"
    for md in "$GPU_ALL_WORK"/[0-9]*.md; do
      [[ -s "$md" ]] || continue
      echo
      echo "## $(basename "$md" .md)"
      echo
      grep -v '^Failed to import' "$md"
    done
  } >"$GPU_ALL_OUT/gpu_all.md.tmp"
  mv "$GPU_ALL_OUT/gpu_all.md.tmp" "$GPU_ALL_OUT/gpu_all.md"
  tar -czf "$GPU_ALL_OUT/gpu_all_logs.tar.gz.tmp" -C "$GPU_ALL_WORK" --exclude='*.lock' . 2>/dev/null
  mv "$GPU_ALL_OUT/gpu_all_logs.tar.gz.tmp" "$GPU_ALL_OUT/gpu_all_logs.tar.gz"
  exit 0
fi

PYTHON=${PYTHON:-python3}
BUDGET=${BUDGET:-540}
PARALLEL=${PARALLEL:-12}
MUJOCO_ENVS=${MUJOCO_ENVS:-"Humanoid Ant Hopper"}
MUJOCO_SIZES=${MUJOCO_SIZES:-"32768 4096 1024"}
ANT_SIZES=${ANT_SIZES-"16384"}  # Ant's goal is about throughput: one size more
GO_CASES=${GO_CASES:-"19:65536 19:16384 19:4096 19:1024 9:65536"}
GO_STEPS=${GO_STEPS:-512}
TRAIN_AGENTS=${TRAIN_AGENTS:-2048}
TRAIN_STEPS=${TRAIN_STEPS:-500000}
HOPPER_PPO_STEPS=${HOPPER_PPO_STEPS:-5000000}
ANT_PPO_STEPS=${ANT_PPO_STEPS:-3014656}  # 46 iterations of 4,096 envs x 16 steps
MONITOR_ENVS=${MONITOR_ENVS:-65536}
WHEELS=${WHEELS:-.whl}
ONLY=${ONLY:-}  # a regular expression: only the jobs whose names match it
ATARI_CASES=${ATARI_CASES:-}
ATARI_STEPS=${ATARI_STEPS:-4}

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

# Timed calls take turns through this lock; no process grabs most of the GPU's memory up front,
# since PARALLEL processes share it.
export GYMX_BENCH_LOCK=$work/device.lock XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
# Nothing here renders, so MuJoCo need not find a GL library on the machine.
export MUJOCO_GL=${MUJOCO_GL:-disable}
export GPU_ALL_DEADLINE=$deadline GPU_ALL_WORK=$work GPU_ALL_OUT=$out

{
  echo "# GPU benchmarks: \`bash benchmarks/gpu_all.sh\`"
  echo
  if command -v nvidia-smi >/dev/null; then
    echo "- nvidia-smi: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
  fi
  "$PYTHON" - <<'PY'
import importlib.metadata as md
import os

from gymx import bench

versions = []
for name in ("jax", "jaxlib", "mujoco", "mujoco-mjx", "warp-lang", "brax", "pgx", "gymnasium", "ale-py"):
    try:
        versions.append(f"{name} {md.version(name)}")
    except md.PackageNotFoundError:
        versions.append(f"{name} missing")
print(f"- device: `{bench.device_description()}`; host: {os.cpu_count()} CPUs")
print(f"- versions: {', '.join(versions)}")
PY
  echo "- settings: BUDGET=$BUDGET s, PARALLEL=$PARALLEL, MUJOCO_ENVS='$MUJOCO_ENVS', MUJOCO_SIZES='$MUJOCO_SIZES', ANT_SIZES='$ANT_SIZES'," \
    "MUJOCO_STEPS=${MUJOCO_STEPS:-2^19/N in [16, 64]}, GO_CASES='$GO_CASES', GO_STEPS=$GO_STEPS, TRAIN_AGENTS=$TRAIN_AGENTS, TRAIN_STEPS=$TRAIN_STEPS," \
    "HOPPER_PPO_STEPS=$HOPPER_PPO_STEPS, ANT_PPO_STEPS=$ANT_PPO_STEPS, MONITOR_ENVS=$MONITOR_ENVS, ONLY='$ONLY'," \
    "ATARI_CASES='$ATARI_CASES', ATARI_STEPS=$ATARI_STEPS"
  echo "- compile times below were measured with up to $PARALLEL processes compiling at once"
  echo
} >"$work/preamble.md" 2>>"$work/preamble.log"

brax_case=brax
"$PYTHON" -c "import brax" 2>/dev/null || brax_case=
pgx=1
"$PYTHON" -c "import pgx" 2>/dev/null || pgx=
# With warp-lang the `gymx` case runs MuJoCo Warp; the `jax` case keeps MJX-JAX's number beside it.
jax_case=
"$PYTHON" -c "from mujoco.mjx import warp; assert warp.WARP_INSTALLED" 2>/dev/null && jax_case=jax

# Jobs start in this order, the issues' goals first, and are named by it.
count=0
add() {
  local name=$1
  shift
  [[ $name =~ ${ONLY:-.} ]] || return 0
  printf '%q ' "$@" >"$work/jobs/$(printf %02d $count)-$name.sh"
  count=$((count + 1))
}
mujoco() {  # env, batch size[, more cases]: the v5 id, its two tiers and the Brax pair, about 2^19 steps a call
  local steps=${MUJOCO_STEPS:-$((524288 / $2 < 16 ? 16 : (524288 / $2 > 64 ? 64 : 524288 / $2)))}
  for case in gymx lite fast $brax_case "${@:3}"; do
    add "mujoco-$1-$2-$case" "$PYTHON" benchmarks/mujoco_suite.py speed --envs "$1" --num-envs "$2" --steps "$steps" --repeats 2 --cases "$case"
  done
}
go() {  # SIZE:N
  add "go-${1/:/-}-gymx" "$PYTHON" benchmarks/go.py --cases "$1" --steps "$GO_STEPS" --repeats 2 --pgx-python ''
  [[ -z $pgx ]] || add "go-${1/:/-}-pgx" "$PYTHON" benchmarks/go.py --pgx-worker --cases "$1" --steps "$GO_STEPS" --repeats 2
}
read -r -a sizes <<<"$MUJOCO_SIZES"
read -r -a go_cases <<<"$GO_CASES"
add ppo-cartpole "$PYTHON" benchmarks/gpu_train.py --env CartPole-v1 --agents "$TRAIN_AGENTS" --total-steps "$TRAIN_STEPS"
add ppo-hopper "$PYTHON" benchmarks/gpu_train.py --env Hopper-v5 --agents 1 --total-steps "$HOPPER_PPO_STEPS" --eval-episodes 0
add ppo-ant "$PYTHON" benchmarks/gpu_train.py --env Ant-v5 --agents 1 --total-steps "$ANT_PPO_STEPS" --eval-episodes 0
[[ " $MUJOCO_ENVS " == *" Ant "* ]] && mujoco Ant "${sizes[0]}" $jax_case ls-scan
go "${go_cases[0]}"
add monitor "$PYTHON" benchmarks/monitor.py --num-envs "$MONITOR_ENVS" --repeats 5
for env in $MUJOCO_ENVS; do
  [[ $env == Ant ]] || mujoco "$env" "${sizes[0]}" $jax_case ls-scan
done
for env in $MUJOCO_ENVS; do
  extra=
  [[ $env == Ant ]] && extra=$ANT_SIZES
  for n in "${sizes[@]:1}" $extra; do
    mujoco "$env" "$n"
  done
done
for case in "${go_cases[@]:1}"; do
  go "$case"
done
overhead_n=${sizes[1]:-${sizes[0]}}
add "mujoco-Hopper-$overhead_n-overhead" "$PYTHON" benchmarks/mujoco_suite.py speed --envs Hopper --num-envs "$overhead_n" --steps 32 --repeats 3 --cases overhead
for case in $ATARI_CASES; do  # GAME:OBS_TYPE:N
  IFS=: read -r game obs n <<<"$case"
  add "atari-$game-$obs-$n" "$PYTHON" benchmarks/atari.py --impls gymx --games "$game" --obs-types "$obs" --num-envs "$n" --steps "$ATARI_STEPS" --repeats 2
done

echo "$count jobs, $PARALLEL at a time, ${BUDGET} s budget; report: $out/gpu_all.md" >&2
ls "$work"/jobs/*.sh | xargs -P "$PARALLEL" -n 1 bash "$PWD/benchmarks/gpu_all.sh" --job
cat "$out/gpu_all.md"
