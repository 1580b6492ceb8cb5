"""What every MuJoCo env shares: an MJX model built once, traced physical parameters, frame-skipped
stepping, divergence handling and MuJoCo-rendered frames.

An env subclass names its model file and implements only its task: the start distribution, the
observation, the reward terms and the health rule. The physics, the `params` plumbing and the
rendering live here.

Solver settings are part of what an id means. By default an env integrates with the model file's
own options (Gymnasium's files: RK4, up to 100 solver iterations and 50 line-search iterations;
Newton where a file asks for PGS, which MJX lacks),
so `Hopper-v5` steps as Gymnasium's `Hopper-v5` does; `integrator`, `iterations`,
`ls_iterations` and `eulerdamp` (Euler's implicit joint damping, on in MuJoCo by default) are static
constructor options, and `collisions="feet"` prunes the model's contacts to the feet against the
floor; the ids' tiers (`gymx.envs.mujoco`) are sets of these options.

`impl` picks MJX's implementation: "jax" (MJX-JAX) or "warp" (MuJoCo Warp through MJX, see
`gymx.envs.mujoco.warp`); by default Warp on an NVIDIA GPU where warp-lang is installed, MJX-JAX
elsewhere. Warp sizes its contact and constraint buffers (`max_contacts`, `max_constraints` per
env, defaults in each robot's `capacity`); a step that overflows them sets `info["physics_overflow"]`.

MJX runs its line search as a fixed-length `scan` whose finished rounds are no-ops (so that
reverse-mode autodiff can pass through it); under `vmap` such a no-op costs as much as a real
round, so every Newton iteration paid all 50 of the faithful files' line-search rounds. The envs
trace MJX with `early_exit_line_search`, which stops once every env of the batch has finished its
line search: the same arithmetic, so the same result, bit for bit. `ls_early_exit=False` keeps
MJX's own loop, which `jax.grad` through a step needs. The swap applies only while an env traces
MJX-JAX (MuJoCo Warp runs its own solver), and `test_mujoco.py` fails if MJX's loop moves.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.resources
import os
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

try:
    import mujoco
    from mujoco import mjx
except ImportError as error:  # pragma: no cover - depends on the install
    raise ImportError(f"gymx's MuJoCo envs need the mjx extra: pip install 'gymx[mjx]' ({error})") from error
try:
    from mujoco.mjx._src import solver as mjx_solver
except ImportError:  # pragma: no cover - an MJX laid out otherwise keeps its own line search
    mjx_solver = None

from gymx.envs.mujoco.warp import WARP_INSTALL, WarpBatch, on_nvidia_gpu, warp_installed

from gymx import spaces, struct
from gymx.core import Env, tree_select
from gymx.cpu import inline_lapack_batches

INTEGRATORS = {
    "euler": mujoco.mjtIntegrator.mjINT_EULER,
    "rk4": mujoco.mjtIntegrator.mjINT_RK4,
    "implicitfast": mujoco.mjtIntegrator.mjINT_IMPLICITFAST,
}
IMPLS = ("jax", "warp")
COLLISIONS = ("model", "feet")


def resolve_impl(impl: str | None) -> str:
    """`impl`, checked; None means Warp on an NVIDIA GPU with warp-lang installed, else MJX-JAX."""
    if impl is None:
        if not on_nvidia_gpu():
            return "jax"
        if warp_installed():
            return "warp"
        warnings.warn(
            f"MuJoCo envs run MJX-JAX on this NVIDIA GPU: MuJoCo Warp, the faster default, needs {WARP_INSTALL}",
            stacklevel=3,
        )
        return "jax"
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {list(IMPLS)}, got {impl!r}")
    if impl == "warp" and not warp_installed():
        raise ImportError(f"impl='warp' runs MuJoCo Warp, which needs warp-lang: {WARP_INSTALL}")
    return impl


def bounded_while_loop(
    cond_fun: Callable[[Any], jax.Array], body_fun: Callable[[Any], Any], init_val: Any, max_iter: int
) -> Any:
    """`body_fun` applied while `cond_fun` holds, `max_iter` times at most: what MJX's scan-based
    loop of the same signature computes, with no rounds run after the last one that counts."""

    def keep_going(carry: tuple[Any, jax.Array]) -> jax.Array:
        value, rounds = carry
        return (rounds < max_iter) & cond_fun(value)

    def one_round(carry: tuple[Any, jax.Array]) -> tuple[Any, jax.Array]:
        value, rounds = carry
        return body_fun(value), rounds + 1

    return jax.lax.while_loop(keep_going, one_round, (init_val, jnp.int32(0)))[0]


# MJX looks its line-search loop up as a module global when a step is traced; the lock keeps two
# threads tracing at once from restoring each other's loop.
_LINE_SEARCH_LOCK = threading.RLock()


@contextlib.contextmanager
def early_exit_line_search(enabled: bool = True) -> Iterator[None]:
    """While tracing MJX inside this block, its line search stops once every env has converged
    (see the module docstring). A no-op when not `enabled`, or on an MJX without that loop."""
    if not enabled or not hasattr(mjx_solver, "_while_loop_scan"):
        yield
        return
    with _LINE_SEARCH_LOCK:
        mjx_loop = mjx_solver._while_loop_scan
        mjx_solver._while_loop_scan = bounded_while_loop
        try:
            yield
        finally:
            mjx_solver._while_loop_scan = mjx_loop


class PhysicsScales(struct.PyTree):
    """Physical parameters users randomise, as factors on the model file's values (1.0 = as the file).

    Each is traced, so a batch can carry one value per env.
    """

    friction: float = 1.0  # every geom's sliding, torsional and rolling friction
    mass: float = 1.0  # every body's mass and inertia (uniformly, so the model stays consistent)
    actuator_gain: float = 1.0  # every actuator's gain (and the matching bias of position/velocity servos)
    damping: float = 1.0  # every joint's damping


class MujocoState(struct.PyTree):
    data: mjx.Data  # the whole physics state after the last step (derived quantities included)
    diverged: jax.Array  # bool (): the physics went non-finite; the episode ended and `data` is the last finite state


class HasPhysics(Protocol):
    """What every MuJoCo env's params have: the physics scales (see `MujocoEnv`)."""

    @property
    def physics(self) -> PhysicsScales: ...


P = TypeVar("P", bound=HasPhysics)


# Reward terms several envs share, on params with the named weights (Gymnasium's keyword names).


def forward_reward(x_velocity: jax.Array, params: Any) -> jax.Array:
    return jnp.float32(params.forward_reward_weight) * x_velocity


def control_cost(action: jax.Array, params: Any) -> jax.Array:
    return jnp.float32(params.ctrl_cost_weight) * jnp.sum(jnp.square(action))


def healthy_reward(healthy: jax.Array, params: Any) -> jax.Array:
    return jnp.where(healthy, params.healthy_reward, 0.0).astype(jnp.float32)


def task_params(params_type: type[P], names: Sequence[str], options: dict[str, Any]) -> tuple[P, dict[str, Any]]:
    """Gymnasium's keyword arguments of a task, `names`, taken from `options` onto `params_type`.

    A name sets the field of that name; a `<field>_range` pair sets `<field>_min` and `<field>_max`.
    What is not passed keeps its field's default, so each default is written once, in the params
    dataclass. Returns (the params, the other options: the model's, for `MujocoEnv.__init__`).
    """
    values: dict[str, Any] = {}
    rest = dict(options)
    for name in names:
        if name not in rest:
            continue
        value = rest.pop(name)
        if name.endswith("_range"):
            field = name.removesuffix("_range")
            values[f"{field}_min"], values[f"{field}_max"] = value[0], value[1]
        else:
            values[name] = value
    return params_type(**values), rest


def gymnasium_asset(name: str) -> str:
    """The path of a model file that the installed `gymnasium` package ships (Gymnasium's own models)."""
    return str(importlib.resources.files("gymnasium.envs.mujoco") / "assets" / name)


def model_path(xml_file: str) -> str:
    """Gymnasium's rule for `xml_file`: a path when it starts with '/', '.' or '~', else a file of its assets."""
    if xml_file.startswith(("/", ".")):
        return xml_file
    if xml_file.startswith("~"):
        return os.path.expanduser(xml_file)
    return gymnasium_asset(xml_file)


def deprecated_id(old_id: str, use_instead: str, entry_point: str, **options: Any) -> Env:
    """The env of a deprecated id (its `entry_point` with `options`), made with a warning."""
    warnings.warn(
        f"{old_id} is deprecated (Euler and a capped solver on the full contact model): use {use_instead}",
        DeprecationWarning,
        stacklevel=3,
    )
    module_name, _, attr = entry_point.partition(":")
    return getattr(importlib.import_module(module_name), attr)(**options)


def prune_to_feet(model: mujoco.MjModel, feet: Sequence[str], robot: str) -> None:
    """Leaves `model` with one kind of contact, each of `feet` against the floor (as Brax's and
    MuJoCo Playground's locomotion models do): every geom's contype and conaffinity cleared, the
    floor's contype and the feet's conaffinity set."""
    if not feet:
        raise ValueError(f"{robot} has no feet-only contact model: collisions must be 'model'")
    geom_ids = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, name) for name in ("floor", *feet)]
    missing = [name for name, i in zip(("floor", *feet), geom_ids) if i < 0]
    if missing:
        raise ValueError(f"{robot}: the model file has no geoms named {missing} (collisions='feet' needs them)")
    model.geom_contype[:] = 0
    model.geom_conaffinity[:] = 0
    model.geom_contype[geom_ids[0]] = 1
    model.geom_conaffinity[geom_ids[1:]] = 1


class MujocoEnv(Env[MujocoState, P], Generic[P]):
    """Base of the MuJoCo envs (see the module docstring).

    Subclasses set `model_file` (a Gymnasium asset name), `default_frame_skip` and `camera`
    (Gymnasium's default camera config of the env), pass their params to `__init__` (built from
    Gymnasium's keyword arguments by `task_params`), and
    implement `observe_data`, `task_outcome` (reward and its terms), `task_terminated` if the task can end
    the episode, and, unless the default noisy start fits (see `qvel_noise`), `initial_qpos_qvel`. Params
    classes have a `physics: PhysicsScales` field.
    """

    model_file: ClassVar[str]
    default_frame_skip: ClassVar[int]
    camera: dict[str, Any] = {}
    # Whether observations or rewards read contact forces (`cfrc_ext`), which need an extra pass.
    uses_contact_forces: ClassVar[bool] = False
    # The start's velocity noise: "uniform" or "normal", as Gymnasium's env of the id draws it.
    qvel_noise: ClassVar[str] = "uniform"
    # The geoms that touch the floor with `collisions="feet"` (none: the robot has no such tier).
    feet: ClassVar[tuple[str, ...]] = ()
    # MuJoCo Warp's buffers per env, (contacts, constraint rows): the most C MuJoCo showed in 10
    # random-action episodes (`python benchmarks/mujoco_tiers.py capacity`; the humanoids: lying
    # down, as HumanoidStandup starts), times 4 for contacts (Warp's broadphase pairs share that
    # buffer) and 2 for rows, at least 8.
    capacity: ClassVar[tuple[int, int]] = (8, 8)
    metadata = {"render_modes": ["rgb_array", "depth_array"]}
    render_on_host = True

    def __init__(
        self,
        params: P,
        xml_file: str | None = None,
        frame_skip: int | None = None,
        integrator: str | None = None,
        iterations: int | None = None,
        ls_iterations: int | None = None,
        eulerdamp: bool | None = None,
        ls_early_exit: bool = True,
        collisions: str = "model",
        impl: str | None = None,
        max_contacts: int | None = None,
        max_constraints: int | None = None,
        width: int = 480,
        height: int = 480,
        default_camera_config: dict[str, Any] | None = None,
        camera_id: int | None = None,
        camera_name: str | None = None,
    ):
        model = mujoco.MjModel.from_xml_path(model_path(xml_file or self.model_file))
        if integrator is not None:
            if integrator not in INTEGRATORS:
                raise ValueError(f"integrator must be one of {sorted(INTEGRATORS)}, got {integrator!r}")
            model.opt.integrator = INTEGRATORS[integrator]
        if iterations is not None:
            model.opt.iterations = iterations
        if ls_iterations is not None:
            model.opt.ls_iterations = ls_iterations
        if eulerdamp is not None:
            if eulerdamp:
                model.opt.disableflags &= ~int(mujoco.mjtDisableBit.mjDSBL_EULERDAMP)
            else:
                model.opt.disableflags |= int(mujoco.mjtDisableBit.mjDSBL_EULERDAMP)
        if model.opt.solver == mujoco.mjtSolver.mjSOL_PGS:
            # MJX has no PGS solver, the one Gymnasium's humanoid files ask for; Newton solves the
            # same constrained problem to convergence: over 20 steps of C MuJoCo from Gymnasium's
            # starts the two differ by at most 4e-5 in qpos/qvel and 0.02 in contact forces (of up to 2e3).
            model.opt.solver = mujoco.mjtSolver.mjSOL_NEWTON
        if collisions not in COLLISIONS:
            raise ValueError(f"collisions must be one of {list(COLLISIONS)}, got {collisions!r}")
        if collisions == "feet":
            prune_to_feet(model, self.feet, type(self).__name__)
        self.collisions = collisions
        self.ls_early_exit = ls_early_exit
        self.frame_skip = self.default_frame_skip if frame_skip is None else frame_skip
        if self.frame_skip < 1:
            raise ValueError(f"frame_skip must be at least 1, got {self.frame_skip}")
        self.mj_model = model
        # Without it a batched step on XLA:CPU can deadlock in jaxlib 0.10's LAPACK (see gymx.cpu).
        inline_lapack_batches()
        self.impl = resolve_impl(impl)
        self.warp: WarpBatch | None = None
        if self.impl == "warp":
            contacts, constraints = self.capacity
            self.warp = WarpBatch(model, max_contacts or contacts, max_constraints or constraints)
            mjx_model = mjx.put_model(model, impl="warp")
            if self.uses_contact_forces:
                # MuJoCo Warp computes cfrc_ext in its step only when asked (MJX-JAX: rne_postconstraint).
                mjx_model = mjx_model.replace(
                    opt=mjx_model.opt.replace(_impl=mjx_model.opt._impl.replace(run_rne_postconstraint=True))
                )
            self.mjx_model = mjx_model
            self._warp_forward = self.warp.batched(self._forward_world)
            self._warp_step = self.warp.batched(self._step_world)
        else:
            self.mjx_model = mjx.put_model(model, impl="jax")
        self.init_qpos = np.array(model.qpos0, np.float32)
        self.init_qvel = np.zeros(model.nv, np.float32)
        self.dt = float(model.opt.timestep) * self.frame_skip
        self.width, self.height = width, height
        if default_camera_config is not None:
            self.camera = default_camera_config
        if camera_id is not None and camera_name is not None:
            raise ValueError("pass camera_id or camera_name, not both")
        # Gymnasium's choice: the named camera, else the model's "track" camera, else (id -1) a free one.
        self.camera_id = (
            camera_id
            if camera_id is not None
            else mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, camera_name or "track")
        )
        if camera_name is not None and self.camera_id < 0:
            raise ValueError(f"the model has no camera named {camera_name!r}")
        self._params = params
        self._renderer: mujoco.Renderer | None = None
        self._camera: mujoco.MjvCamera | None = None
        self.metadata = {**type(self).metadata, "render_fps": int(np.round(1.0 / self.dt))}

    @property
    def default_params(self) -> P:
        return self._params

    @property
    def solver(self) -> dict[str, Any]:
        """The solver settings this env integrates with (the model file's unless overridden)."""
        opt = self.mj_model.opt
        integrator = next(name for name, value in INTEGRATORS.items() if value == opt.integrator)
        return {
            "integrator": integrator,
            "iterations": int(opt.iterations),
            "ls_iterations": int(opt.ls_iterations),
            "eulerdamp": not opt.disableflags & mujoco.mjtDisableBit.mjDSBL_EULERDAMP,
            "ls_early_exit": self.ls_early_exit,
            "timestep": float(opt.timestep),
            "collisions": self.collisions,
            "impl": self.impl,
        }

    # The task: implemented by each env.

    def initial_qpos_qvel(self, key: jax.Array, params: P) -> tuple[jax.Array, jax.Array]:
        """Gymnasium's usual start: the model's qpos0 and zero velocity plus noise of scale
        `params.reset_noise_scale`, uniform on the positions and, per `qvel_noise`, uniform or
        normal on the velocities. Envs with another start distribution override this."""
        qpos_key, qvel_key = jax.random.split(key)
        noise = params.reset_noise_scale  # type: ignore[attr-defined]
        # Each qpos entry ~ U(-noise, noise) around the model's start.
        qpos = jax.random.uniform(qpos_key, self.init_qpos.shape, jnp.float32, -noise, noise) + self.init_qpos
        if self.qvel_noise == "normal":
            # Each qvel entry ~ noise * N(0, 1).
            return qpos, jnp.float32(noise) * jax.random.normal(
                qvel_key, self.init_qvel.shape, jnp.float32
            ) + self.init_qvel
        # Each qvel entry ~ U(-noise, noise).
        return qpos, jax.random.uniform(qvel_key, self.init_qvel.shape, jnp.float32, -noise, noise) + self.init_qvel

    def observe_data(self, data: mjx.Data, params: P) -> jax.Array:
        raise NotImplementedError

    def task_outcome(self, before: mjx.Data, after: mjx.Data, action: jax.Array, params: P) -> tuple[jax.Array, dict]:
        """(reward, info) of the step from `before` to `after`; info holds each reward term."""
        raise NotImplementedError

    def position_info(self, data: mjx.Data, params: P) -> dict:
        """The info entries that say where the robot is, which Gymnasium also reports at reset."""
        return {}

    def task_terminated(self, data: mjx.Data, params: P) -> jax.Array:
        """Whether the task ends the episode in `data` (an env that never ends keeps this default).

        Robots with a healthy range end only when `terminate_when_unhealthy` is set; `is_healthy`
        says whether they are in it."""
        return jnp.zeros((), jnp.bool_)

    # The physics.

    def physics_model(self, physics: PhysicsScales) -> mjx.Model:
        """The MJX model with `physics`' factors applied (traced: one compiled step serves every value)."""
        m = self.mjx_model
        gain = m.actuator_gainprm.at[:, 0].multiply(physics.actuator_gain)
        # A servo's bias holds -kp (and -kv) in slots 1 and 2; scaling it with the gain keeps it a servo.
        bias = m.actuator_biasprm.at[:, 1:3].multiply(physics.actuator_gain)
        return m.replace(
            geom_friction=m.geom_friction * physics.friction,
            body_mass=m.body_mass * physics.mass,
            body_subtreemass=m.body_subtreemass * physics.mass,
            body_inertia=m.body_inertia * physics.mass,
            actuator_gainprm=gain,
            actuator_biasprm=bias,
            dof_damping=m.dof_damping * physics.damping,
        )

    def state_from(self, qpos: ArrayLike, qvel: ArrayLike, params: P, contact_forces: bool = True) -> MujocoState:
        """The state with these joint positions and velocities and everything derived from them;
        with `contact_forces=False`, cfrc_ext is left zero (as after C MuJoCo's reset)."""
        qpos, qvel = jnp.asarray(qpos, jnp.float32), jnp.asarray(qvel, jnp.float32)
        if self.warp is not None:
            data = self.warp.template.replace(qpos=qpos, qvel=qvel)
            data, _ = self._warp_forward(params.physics, data, jnp.zeros(self.mj_model.nu, jnp.float32))
        else:
            model = self.physics_model(params.physics)
            data = mjx.make_data(model).replace(qpos=qpos, qvel=qvel)
            with early_exit_line_search(self.ls_early_exit):
                data = mjx.forward(model, data)
            if self.uses_contact_forces and contact_forces:
                data = mjx.rne_postconstraint(model, data)
        if self.uses_contact_forces and not contact_forces:
            data = data.replace(_impl=data._impl.replace(cfrc_ext=jnp.zeros_like(data._impl.cfrc_ext)))
        return MujocoState(data=data, diverged=jnp.zeros((), jnp.bool_))

    def simulate(self, data: mjx.Data, action: jax.Array, params: P) -> tuple[mjx.Data, jax.Array]:
        """`frame_skip` physics steps with `action` as the controls (MuJoCo clamps them to the ctrl
        ranges), and whether MuJoCo Warp's buffers overflowed (always False on MJX-JAX, whose
        contacts are static)."""
        if self.warp is not None:
            return self._warp_step(params.physics, data, action)
        model = self.physics_model(params.physics)
        data = data.replace(ctrl=action)
        with early_exit_line_search(self.ls_early_exit):
            data = jax.lax.fori_loop(0, self.frame_skip, lambda _, d: mjx.step(model, d), data)
        data = mjx.rne_postconstraint(model, data) if self.uses_contact_forces else data
        return data, jnp.zeros((), jnp.bool_)

    # One world of MuJoCo Warp (`WarpBatch.batched` runs them over the batch).

    def _forward_world(self, physics: PhysicsScales, data: mjx.Data, action: jax.Array) -> mjx.Data:
        return mjx.forward(self.physics_model(physics), data)

    def _step_world(self, physics: PhysicsScales, data: mjx.Data, action: jax.Array) -> mjx.Data:
        model = self.physics_model(physics)
        data = data.replace(ctrl=action)
        return jax.lax.fori_loop(0, self.frame_skip, lambda _, d: mjx.step(model, d), data)

    # The Env hooks.

    def action_space(self, params: P | None = None) -> spaces.Box:
        low, high = np.asarray(self.mj_model.actuator_ctrlrange, np.float32).T
        return spaces.Box(low, high, low.shape, jnp.float32)

    def observation_space(self, params: P | None = None) -> spaces.Box:
        params = self.default_params if params is None else params
        state = jax.eval_shape(lambda: self.state_from(self.init_qpos, self.init_qvel, params))
        shape = jax.eval_shape(self.observe_data, state.data, params).shape
        return spaces.Box(-np.inf, np.inf, shape, jnp.float32)

    def reset_env(self, key: jax.Array, params: P) -> MujocoState:
        qpos, qvel = self.initial_qpos_qvel(key, params)
        # Gymnasium's reset ends with mj_forward, which leaves cfrc_ext as mj_resetData zeroed it
        # (only a step runs mj_rnePostConstraint): its first observation has zero contact forces.
        return self.state_from(qpos, qvel, params, contact_forces=False)

    def step_env(self, state: MujocoState, action: jax.Array, params: P) -> tuple[MujocoState, jax.Array, dict]:
        action = jnp.asarray(action, jnp.float32)
        if action.shape != (self.mj_model.nu,):
            raise ValueError(f"{self.name}: action shape must be ({self.mj_model.nu},), got {action.shape}")
        before = state.data
        after, overflow = self.simulate(before, action, params)
        finite = jnp.all(jnp.isfinite(after.qpos)) & jnp.all(jnp.isfinite(after.qvel))
        # A blown-up env ends on its last finite state, so nothing non-finite leaves it.
        after = tree_select(finite, after, before)
        reward, info = self.task_outcome(before, after, action, params)
        info = {key: jnp.where(finite, value, jnp.zeros_like(value)) for key, value in info.items()}
        info["physics_diverged"] = ~finite
        info["physics_overflow"] = overflow
        return MujocoState(data=after, diverged=~finite), jnp.where(finite, reward, 0.0), info

    def reset_info(self, state: MujocoState, params: P) -> dict:
        return {**super().reset_info(state, params), **self.position_info(state.data, params)}

    def observe(self, state: MujocoState, params: P) -> jax.Array:
        return self.observe_data(state.data, params).astype(jnp.float32)

    def is_terminal(self, state: MujocoState, params: P) -> jax.Array:
        return state.diverged | self.task_terminated(state.data, params)

    # Rendering, on the host through MuJoCo's renderer.

    def render(self, state: MujocoState, params: P | None = None, mode: str = "rgb_array") -> np.ndarray:
        """One env's frame (uint8 (height, width, 3), or float32 (height, width) depth in metres)
        from Gymnasium's default camera of this env; `state` must not be batched."""
        if mode not in ("rgb_array", "depth_array"):
            return super().render(state, params, mode)
        if np.ndim(state.data.qpos) != 1:
            raise ValueError(
                f"{self.name}.render draws one env: got a batch of qpos shaped {np.shape(state.data.qpos)}"
            )
        data = mujoco.MjData(self.mj_model)
        data.qpos[:] = np.asarray(state.data.qpos)
        data.qvel[:] = np.asarray(state.data.qvel)
        mujoco.mj_forward(self.mj_model, data)
        if self._renderer is None:
            try:
                self._renderer = mujoco.Renderer(self.mj_model, self.height, self.width)
            except mujoco.FatalError as error:
                raise RuntimeError(
                    f"{self.name} could not open an OpenGL context ({error}); with no display, set MUJOCO_GL=egl "
                    "(or osmesa) before anything imports mujoco"
                ) from error
            # The camera is fixed for the env's life (as Gymnasium's viewer sets it up once).
            self._camera = self._render_camera()
        if mode == "depth_array":
            self._renderer.enable_depth_rendering()
        self._renderer.update_scene(data, self._camera)
        frame = self._renderer.render()
        self._renderer.disable_depth_rendering()
        return frame.copy()

    def _render_camera(self) -> mujoco.MjvCamera:
        """The camera as Gymnasium's renderer sets it up: free, looking at the median geom position
        (of the start pose here; Gymnasium takes the pose of its first render) from the model's
        extent, then the env's camera config; a fixed camera instead when `camera_id` names one."""
        camera = mujoco.MjvCamera()
        camera.type = mujoco.mjtCamera.mjCAMERA_FREE
        camera.fixedcamid = -1
        start = mujoco.MjData(self.mj_model)
        mujoco.mj_forward(self.mj_model, start)
        camera.lookat[:] = np.median(start.geom_xpos, axis=0)
        camera.distance = self.mj_model.stat.extent
        for name, value in self.camera.items():
            if isinstance(value, np.ndarray):
                getattr(camera, name)[:] = value
            else:
                setattr(camera, name, value)
        if self.camera_id >= 0:
            camera.type = mujoco.mjtCamera.mjCAMERA_FIXED
            camera.fixedcamid = self.camera_id
        return camera

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
