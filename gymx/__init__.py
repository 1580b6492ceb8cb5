"""gymx: batched reinforcement-learning environments on JAX."""

from __future__ import annotations

import importlib.util
from pathlib import Path

# Installs map the checkout's top-level envs/ and kernels/ to gymx.envs and gymx.kernels. When
# gymx is imported straight from a checkout (`python -m ...` run in its root puts the checkout's
# gymx/ ahead of the installed one), look for those two beside gymx/ as well.
_checkout = Path(__file__).resolve().parent.parent
if not (Path(__file__).resolve().parent / "envs").is_dir() and all(
    (_checkout / folder / "__init__.py").is_file() for folder in ("envs", "kernels")
):
    __path__.append(str(_checkout))

from gymx import compilation_cache as compilation_cache
from gymx import spaces, struct, wrappers
from gymx.compilation_cache import enable_compilation_cache
from gymx.core import EmptyParams, Env, TimeStep, Wrapper
from gymx.cpu import configure_cpu
from gymx.monitor import Monitor  # imports matplotlib and imageio only when plotting or filming
from gymx.registration import EnvSpec, load_plugins, make, namespace, pprint_registry, register, registry, spec
from gymx.rollout import Rollout, rollout
from gymx.vector import AutoresetMode, VecEnv, VecState, make_vec

__version__ = "0.1.0"

__all__ = [
    "AutoresetMode",
    "EmptyParams",
    "Env",
    "EnvSpec",
    "Monitor",
    "Rollout",
    "TimeStep",
    "VecEnv",
    "VecState",
    "Wrapper",
    "configure_cpu",
    "enable_compilation_cache",
    "make",
    "make_vec",
    "namespace",
    "pprint_registry",
    "register",
    "registry",
    "rollout",
    "spaces",
    "spec",
    "struct",
    "wrappers",
]

load_plugins()

if importlib.util.find_spec("gymnasium") is not None:
    from gymx.adapters.gymnasium import register_gymnasium_envs

    register_gymnasium_envs()
