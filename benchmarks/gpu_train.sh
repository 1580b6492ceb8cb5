#!/usr/bin/env bash
# 2,048 PPO agents on CartPole-v1, 500k env steps each, vmapped over seeds in one compiled
# program on one GPU: prints the device, compile and run wall times and the agents' greedy mean
# return. Run from the repository root; aimed at well under 3 minutes on an H100. Writes
# $OUT/gpu_train.md when $OUT is set. Overrides: PYTHON, AGENTS, STEPS (for a CPU dry run:
# AGENTS=4 STEPS=20000 bash benchmarks/gpu_train.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
AGENTS=${AGENTS:-2048}
STEPS=${STEPS:-500000}

# gymx from this working tree (offline, no dependencies: the GPU machine has JAX+CUDA, chex,
# optax and matplotlib; gymnasium is not needed for training).
site=${GYMX_SITE:-/tmp/gymx_site}
"$PYTHON" -m pip install -q --no-deps --no-build-isolation --no-index --no-compile --upgrade --target "$site" . >&2
export PYTHONPATH=$site${PYTHONPATH:+:$PYTHONPATH}

report=$(mktemp)
AGENTS=$AGENTS STEPS=$STEPS "$PYTHON" - >"$report" <<'PY'
import os, time

import jax

from gymx import bench
from gymx.train import agents, runner

bench.cold_compiles()
num_agents, steps = int(os.environ["AGENTS"]), int(os.environ["STEPS"])
config = agents.load_config("ppo", "CartPole-v1", total_steps=steps)
# No per-episode records: 2,048 x 500k steps of them would not fit; the per-iteration summaries stay.
agent = agents.make("ppo", "CartPole-v1", config, record_episodes=False)
keys = runner.seed_keys(list(range(num_agents)))
start = time.perf_counter()
compiled = jax.jit(jax.vmap(agent.run)).lower(keys).compile()
compile_s = time.perf_counter() - start
start = time.perf_counter()
states, logs = jax.block_until_ready(compiled(keys))
run_s = time.perf_counter() - start
env_steps = num_agents * agent.num_iterations * config.batch_size
returns = runner.evaluate(agent, states, 20, jax.random.PRNGKey(1))
last = logs.return_sum[:, -10:].sum() / max(int(logs.episodes[:, -10:].sum()), 1)
print("# gymx PPO, many agents in one program")
print()
print(f"- device: `{bench.device_description()}`")
print(f"- {num_agents} agents x {agent.num_iterations * config.batch_size:,} env steps = {env_steps:,} env steps")
print(f"- compile {compile_s:.1f} s, run {run_s:.1f} s, total {compile_s + run_s:.1f} s; {env_steps / run_s:,.0f} env steps/s while training")
print(f"- training return over the last 10 iterations {float(last):.1f}; greedy mean over 20 episodes per agent {returns.mean():.1f}"
      f" ({(returns.mean(1) >= 475).mean():.1%} of agents >= 475)")
PY
if [[ -n "${OUT:-}" ]]; then
  cp "$report" "$OUT/gpu_train.md"
fi
cat "$report"
