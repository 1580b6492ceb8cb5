"""Run by test_sigkill: a monitored rollout that flushes forever, printing after each flush."""

from __future__ import annotations

import sys

import jax

import gymx
from gymx.monitor import Monitor

monitor = Monitor(gymx.make_vec("CartPole-v1", 64), sys.argv[1], algorithm_id="random", seed=0)


@jax.jit
def chunk(state: object, key: jax.Array) -> object:
    def one(state: object, step_key: jax.Array) -> tuple[object, None]:
        return monitor.step(state, monitor.action_space().sample(step_key))[0], None

    return jax.lax.scan(one, state, jax.random.split(key, 20))[0]


state, _ = jax.jit(monitor.reset)(jax.random.key(0))
for i in range(10**9):
    state = monitor.flush(chunk(state, jax.random.key(i)))
    print(monitor.manifest["episodes"], flush=True)
