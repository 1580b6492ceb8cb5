"""The runner's chunk program: the agents' conds on the shared iteration count stay branches under the vmap over seeds."""

from __future__ import annotations

from typing import Any

import jax
import pytest
from jax.extend.core import Jaxpr, jaxprs_in_params

from gymx.train import agents, runner

# Tiny agents: only traced, never compiled.
TINY: dict[str, tuple[str, dict[str, Any]]] = {
    "dqn": ("CartPole-v1", {"eval_period": 2, "eval_episodes": 2, "target_update_period": 2}),
    "sac": ("Pendulum-v1", {}),
}


def conds_in(jaxpr: Jaxpr, function: str) -> int:
    """The `cond`s of `jaxpr` and its inner jaxprs that a call of `function` (a qualified name) traced."""
    count = 0
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "cond" and eqn.source_info.traceback is not None:
            count += any(frame.function_name == function for frame in eqn.source_info.traceback.frames)
        count += sum(conds_in(inner, function) for inner in jaxprs_in_params(eqn.params))
    return count


@pytest.mark.parametrize(("algo", "expected"), [("dqn", 3), ("sac", 1)])
def test_the_chunk_over_seeds_keeps_every_cond_of_an_iteration(algo: str, expected: int) -> None:
    env_id, overrides = TINY[algo]
    cfg = agents.load_config(
        algo,
        env_id,
        total_steps=64,
        num_envs=2,
        train_frequency=4,
        gradient_steps=1,
        buffer_size=64,
        batch_size=4,
        learning_starts=16,
        hidden_sizes=(4,),
        **overrides,
    )
    agent = agents.make(algo, env_id, cfg, record_episodes=False)
    function = f"{type(agent).__name__}.iteration"
    alone = jax.make_jaxpr(lambda state: agent.train(state, 2))(jax.eval_shape(agent.init, jax.random.PRNGKey(0)))
    states = jax.eval_shape(jax.vmap(agent.init), runner.seed_keys([0, 1]))
    together = jax.make_jaxpr(runner.seeds_chunk(agent, 2))(states)
    assert conds_in(alone.jaxpr, function) == expected
    # A predicate batched over seeds would have turned a cond into a select of both branches.
    assert conds_in(together.jaxpr, function) == expected
