"""Uploaded policies: safetensors weights plus a declarative spec of one of `gymx train`'s networks.

Nothing uploaded is unpickled or imported. The spec (`policy.json`) names the network and its
shape; the weights (`policy.safetensors`, a format that is a JSON header and raw little-endian
arrays) hold, for every seed of the entry (leading axis), the MLP's layers `layer_I.w` (in, out)
and `layer_I.b` (out,) and, when the spec says `normalize_observations`, the running statistics
`obs_mean` and `obs_var` the policy normalises with (as PPO does: clip((x - mean) / sqrt(var + 1e-8), -10, 10)).

The spec, `POLICY_FORMAT`:

    {"format": "gymx-policy-1", "algo": "ppo" | "dqn", "network": "mlp", "activation": "tanh" | "relu",
     "hidden_sizes": [64, 64], "head": "argmax" | "mean", "normalize_observations": false, "seeds": [0, 1, 2, 3, 4]}

`head`: "argmax" takes the argmax of the outputs (PPO's logits, DQN's Q-values; Discrete
actions), "mean" the outputs clipped to the action box (PPO's Gaussian mean; Box actions).
`from_checkpoint` writes both from a `gymx train` checkpoint.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from typing import Any

import numpy as np

POLICY_FORMAT = "gymx-policy-1"
MAX_HIDDEN = 4096
MAX_LAYERS = 8


class PolicyError(ValueError):
    """A policy spec or weights file that cannot be used; the message says what is wrong."""


@dataclasses.dataclass(frozen=True)
class Policy:
    spec: dict[str, Any]
    tensors: dict[str, np.ndarray]

    @property
    def num_seeds(self) -> int:
        return len(self.spec["seeds"])


def parse_spec(text: bytes) -> dict[str, Any]:
    try:
        spec = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PolicyError(f"gymx: policy.json is not valid JSON ({error})") from None
    if not isinstance(spec, dict) or spec.get("format") != POLICY_FORMAT:
        raise PolicyError(f"gymx: policy.json must be an object with format {POLICY_FORMAT!r}")
    expected = {"format", "algo", "network", "activation", "hidden_sizes", "head", "normalize_observations", "seeds"}
    if set(spec) != expected:
        raise PolicyError(f"gymx: policy.json keys {sorted(spec)}, expected {sorted(expected)}")
    if spec["algo"] not in ("ppo", "dqn") or spec["network"] != "mlp" or spec["head"] not in ("argmax", "mean"):
        raise PolicyError("gymx: policy.json: algo must be ppo or dqn, network mlp, head argmax or mean")
    if spec["activation"] not in ("tanh", "relu") or not isinstance(spec["normalize_observations"], bool):
        raise PolicyError("gymx: policy.json: activation must be tanh or relu, normalize_observations a boolean")
    hidden = spec["hidden_sizes"]
    if (
        not isinstance(hidden, list)
        or len(hidden) > MAX_LAYERS
        or not all(isinstance(h, int) and 0 < h <= MAX_HIDDEN for h in hidden)
    ):
        raise PolicyError(f"gymx: policy.json: hidden_sizes must be at most {MAX_LAYERS} sizes in 1..{MAX_HIDDEN}")
    seeds = spec["seeds"]
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
    ):
        raise PolicyError("gymx: policy.json: seeds must be a non-empty list of integers")
    return spec


def parse_weights(data: bytes) -> dict[str, np.ndarray]:
    """The arrays of a safetensors file; `PolicyError` for anything else (a pickle, a truncated file)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load

    if len(data) < 8 or int.from_bytes(data[:8], "little") > len(data) - 8:
        raise PolicyError(
            "gymx: policy.safetensors is not a safetensors file (its header length does not fit the file)"
        )
    try:
        return load(data)
    except (SafetensorError, ValueError, TypeError) as error:
        raise PolicyError(f"gymx: policy.safetensors is not a valid safetensors file ({error})") from None


def check(spec: dict[str, Any], tensors: dict[str, np.ndarray], obs_dim: int, action_dim: int) -> Policy:
    """The policy, once every tensor's name, dtype, shape and values fit the spec and the env's dimensions."""
    seeds = len(spec["seeds"])
    sizes = [obs_dim, *spec["hidden_sizes"], action_dim]
    expected: dict[str, tuple[int, ...]] = {}
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        expected[f"layer_{i}.w"] = (seeds, fan_in, fan_out)
        expected[f"layer_{i}.b"] = (seeds, fan_out)
    if spec["normalize_observations"]:
        expected["obs_mean"] = expected["obs_var"] = (seeds, obs_dim)
    if set(tensors) != set(expected):
        raise PolicyError(f"gymx: policy.safetensors holds {sorted(tensors)}, the spec needs {sorted(expected)}")
    for name, shape in expected.items():
        array = tensors[name]
        if array.dtype != np.float32 or array.shape != shape:
            raise PolicyError(
                f"gymx: policy tensor {name} is {array.dtype}{list(array.shape)}, expected float32{list(shape)}"
            )
        if not np.all(np.isfinite(array)):
            raise PolicyError(f"gymx: policy tensor {name} holds non-finite values")
    if spec["normalize_observations"] and np.any(tensors["obs_var"] < 0):
        raise PolicyError("gymx: policy tensor obs_var holds negative variances")
    return Policy(spec, tensors)


class Network:
    """The declared network as an agent for `gymx.train.runner.evaluate`: `greedy_action(params, obs)` of one seed's params."""

    def __init__(self, env_id: str, spec: dict[str, Any], action_low: Any = None, action_high: Any = None):
        self.env_id = env_id
        self.spec = spec
        self.action_low = action_low
        self.action_high = action_high

    def greedy_action(self, params: dict[str, Any], obs: Any) -> Any:
        import jax
        import jax.numpy as jnp

        x = obs.astype(jnp.float32)
        if self.spec["normalize_observations"]:
            x = jnp.clip((x - params["obs_mean"]) / jnp.sqrt(params["obs_var"] + 1e-8), -10.0, 10.0)
        act = jnp.tanh if self.spec["activation"] == "tanh" else jax.nn.relu
        layers = len(self.spec["hidden_sizes"]) + 1
        for i in range(layers):
            x = x @ params[f"layer_{i}.w"] + params[f"layer_{i}.b"]
            if i < layers - 1:
                x = act(x)
        if self.spec["head"] == "argmax":
            return jnp.argmax(x, axis=-1).astype(jnp.int32)
        return jnp.clip(x, self.action_low, self.action_high)


def env_dims(env_id: str) -> tuple[int, int, str, Any, Any]:
    """(observation size, action size, the head its actions need, action low, action high) of `env_id`'s flat Box observations."""
    from gymx import registration, spaces

    env = registration.make(env_id)
    params = env.default_params
    obs_space, action_space = env.observation_space(params), env.action_space(params)
    if not isinstance(obs_space, spaces.Box) or len(obs_space.shape) != 1:
        raise PolicyError(
            f"gymx: {env_id} has {obs_space!r} observations; uploaded policies take flat Box observations"
        )
    if isinstance(action_space, spaces.Discrete):
        return obs_space.shape[0], int(action_space.n), "argmax", None, None
    if isinstance(action_space, spaces.Box) and len(action_space.shape) == 1:
        return (
            obs_space.shape[0],
            action_space.shape[0],
            "mean",
            np.asarray(action_space.low),
            np.asarray(action_space.high),
        )
    raise PolicyError(
        f"gymx: {env_id} has {action_space!r} actions; uploaded policies take Discrete or flat Box actions"
    )


def from_checkpoint(path: str) -> tuple[str, bytes, bytes]:
    """(env id, policy.json, policy.safetensors) of the greedy policy in a `gymx train` checkpoint (checkpoint.safetensors or best.safetensors)."""
    from safetensors.numpy import save

    from gymx.train import checkpoint
    from gymx.train.dqn import DQN
    from gymx.train.ppo import PPO

    saved = checkpoint.read(path)
    agent, states = saved.agent, saved.states
    cfg = agent.config
    if agent.algo == "ppo":
        assert isinstance(agent, PPO), "a checkpoint of algo 'ppo' holds a PPO agent"
        if cfg.network != "mlp":
            raise PolicyError(
                f"{path}: its PPO agent uses the {cfg.network} network; uploaded policies are MLPs on flat observations "
                f"(the policy spec has no {cfg.network})"
            )
        layers = states.params.actor
        normalize = bool(cfg.normalize_observations)
        head = "argmax" if agent.discrete else "mean"
    elif agent.algo == "dqn":
        assert isinstance(agent, DQN), "a checkpoint of algo 'dqn' holds a DQN agent"
        layers = agent.policy_params(states)
        normalize, head = False, "argmax"
    else:
        raise PolicyError(f"{path}: a {agent.algo} checkpoint; uploaded policies come from ppo and dqn checkpoints")
    tensors = {}
    for i, layer in enumerate(layers):
        tensors[f"layer_{i}.w"] = np.ascontiguousarray(layer.w, np.float32)
        tensors[f"layer_{i}.b"] = np.ascontiguousarray(layer.b, np.float32)
    if normalize:
        tensors["obs_mean"] = np.ascontiguousarray(states.obs_stats.mean, np.float32)
        tensors["obs_var"] = np.ascontiguousarray(states.obs_stats.var, np.float32)
    spec = {
        "format": POLICY_FORMAT,
        "algo": agent.algo,
        "network": "mlp",
        "activation": cfg.activation,
        "hidden_sizes": list(cfg.hidden_sizes),
        "head": head,
        "normalize_observations": normalize,
        "seeds": list(saved.seeds),
    }
    return agent.env_id, json.dumps(spec, indent=1).encode(), save(tensors)
