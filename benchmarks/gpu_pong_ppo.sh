#!/usr/bin/env bash
# PPO on ALE/Pong-v5 with the Nature-DQN CNN (the packaged config: AtariPreprocessing, FrameStack(4), 8 envs x 128
# steps per agent) on one GPU, for at most BUDGET seconds: the training speed (agent steps and emulated frames per
# second, compile apart) and the returns reached, from the run's own progress output and Monitor logs. The issue's
# goal is a return of at least +18 (about 10M frames per agent); a short budget measures the speed and the start of
# the curve. SEEDS agents train together in one program (SEEDS x 8 consoles).
#
# ale-py (the ROMs) and gymnasium are carried as wheels in .whl/ as for gpu_atari.sh (see its header). Writes
# $OUT/gpu_pong_ppo.md and the run folder $OUT/pong (else a temporary folder, printed).
#
# A dry run on CPU (a few agent steps; compiling the Atari programs takes minutes on 2 cores):
#   WHEELS=none PYTHON=python SEEDS=1 TOTAL_STEPS=64 CHUNKS=2 BUDGET=900 bash benchmarks/gpu_pong_ppo.sh
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

PYTHON=${PYTHON:-python3}
BUDGET=${BUDGET:-480}
SEEDS=${SEEDS:-8}
CHUNKS=${CHUNKS:-400}  # progress, logs and a checkpoint after each chunk; also what a kill at the budget loses
TOTAL_STEPS=${TOTAL_STEPS:-}  # agent steps per agent; default: the config's (2.5M, i.e. 10M frames)
WHEELS=${WHEELS:-.whl}
out=${OUT:-$(mktemp -d)}

if compgen -G "$WHEELS/*.whl" >/dev/null; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHEELS"/*.whl
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
site=${GYMX_SITE:-/tmp/gymx_site}
"$PYTHON" -m pip install -q --no-deps --no-build-isolation --no-index --no-compile --upgrade --target "$site" . >&2
export PYTHONPATH=$site${PYTHONPATH:+:$PYTHONPATH} XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1

steps=()
[[ -n $TOTAL_STEPS ]] && steps=(--total-steps "$TOTAL_STEPS")
start=$(date +%s)
# SIGINT first: what the run wrote (each chunk's episode log blocks, its last checkpoint) stays whole.
timeout --signal=INT --kill-after=60 "$BUDGET" "$PYTHON" -m gymx.cli train ppo ALE/Pong-v5 --seeds "$SEEDS" \
  --chunks "$CHUNKS" "${steps[@]}" --select-episodes 0 --eval-episodes 0 --no-plot --out "$out/pong" \
  >"$out/train.log" 2>&1
status=$?
{
  echo "# PPO on ALE/Pong-v5 on GPU: \`bash benchmarks/gpu_pong_ppo.sh\`"
  echo
  command -v nvidia-smi >/dev/null &&
    echo "- nvidia-smi: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
  echo "- settings: BUDGET=$BUDGET s, SEEDS=$SEEDS, CHUNKS=$CHUNKS, TOTAL_STEPS=${TOTAL_STEPS:-config}; exit $status after $(($(date +%s) - start)) s"
  echo "- goal (issue 13): a return of at least +18"
  echo
  echo '## Progress (the last lines of `gymx train`)'
  echo
  echo '```'
  tr '\r' '\n' <"$out/train.log" | grep -v '^$' | tail -15
  echo '```'
  echo
  echo '## Episodes (`gymx monitor summary`)'
  echo
  "$PYTHON" -m gymx.cli monitor summary "$out/pong" 2>&1 | tail -30
} >"$out/gpu_pong_ppo.md"
cat "$out/gpu_pong_ppo.md"
