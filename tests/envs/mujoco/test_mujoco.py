"""What every MuJoCo env shares (on InvertedPendulum, the quickest to compile): physical params
against C MuJoCo with the same changes, per-env params in a batch, a diverged env ending alone,
solver options and the tiers, the backend option, bad actions, and MuJoCo-rendered frames
headless; with --all, MuJoCo Warp batched on Hopper and through check_env and the renderer on
InvertedPendulum (its parity: test_parity.py)."""

from __future__ import annotations

import functools

import gymnasium
import jax
import jax.numpy as jnp
import mujoco
import numpy as np
import pytest
from gymx.envs.mujoco import DEPRECATED_FAST, FAST_SOLVER, LITE, WALKERS
from gymx.envs.mujoco import base as mujoco_base
from gymx.envs.mujoco.base import PhysicsScales, bounded_while_loop, early_exit_line_search, mjx_solver
from gymx.envs.mujoco.hopper import Hopper
from gymx.envs.mujoco.inverted_pendulum import InvertedPendulum
from gymx.envs.mujoco.warp import warp_installed
from mujoco import mjx

import gymx
from gymx.testing import check_env
from gymx.vector import AutoresetMode, VecEnv

ENV = InvertedPendulum()
STEP = jax.jit(ENV.step)
RESET = jax.jit(ENV.reset)
CHANGED = PhysicsScales(friction=0.5, mass=2.0, actuator_gain=0.5, damping=3.0)


@functools.cache
def vec_env(mode: AutoresetMode) -> tuple[VecEnv, callable, callable]:
    vec = VecEnv(ENV, 3, mode)
    return vec, jax.jit(vec.reset), jax.jit(vec.step)


def changed_c_model() -> mujoco.MjModel:
    """Gymnasium's model with `CHANGED` applied as `PhysicsScales` documents it."""
    twin = gymnasium.make("InvertedPendulum-v5").unwrapped
    m = twin.model
    m.geom_friction[:] *= CHANGED.friction
    for field in (m.body_mass, m.body_subtreemass, m.body_inertia):
        field[:] *= CHANGED.mass
    m.actuator_gainprm[:, 0] *= CHANGED.actuator_gain
    m.actuator_biasprm[:, 1:3] *= CHANGED.actuator_gain
    m.dof_damping[:] *= CHANGED.damping
    return twin


def test_physics_params_match_c_mujoco_with_the_same_changes() -> None:
    params = ENV.default_params.replace(physics=CHANGED)
    state, ts = RESET(jax.random.key(3), params)
    twin = changed_c_model()
    twin.reset(seed=0)
    twin.set_state(np.asarray(state.data.qpos, np.float64), np.asarray(state.data.qvel, np.float64))
    default_state, _ = RESET(jax.random.key(3))
    rng = np.random.default_rng(0)
    for t in range(15):
        action = rng.uniform(-3, 3, 1).astype(np.float32)
        obs, *_ = twin.step(action)
        state, ts = STEP(state, action, params)
        default_state, default_ts = STEP(default_state, action)
        np.testing.assert_allclose(ts.obs, obs, rtol=1e-4, atol=1e-5, err_msg=f"step {t}")
    assert np.abs(np.asarray(ts.obs) - np.asarray(default_ts.obs)).max() > 1e-2  # the changes matter


def test_each_env_of_a_batch_can_have_its_own_physics() -> None:
    _, reset, step = vec_env(AutoresetMode.DISABLED)
    params = ENV.default_params.replace(physics=PhysicsScales(mass=jnp.array([1.0, 2.0, 1.0])))
    state, _ = reset(jax.random.key(0), params)
    default_state, _ = reset(jax.random.key(0))
    push = jnp.full((3, 1), 2.0)
    for _ in range(5):
        state, ts = step(state, push, params)
        default_state, default_ts = step(default_state, push)
    np.testing.assert_array_equal(np.asarray(ts.obs)[[0, 2]], np.asarray(default_ts.obs)[[0, 2]])
    assert np.abs(ts.obs[1] - default_ts.obs[1]).max() > 1e-3  # the heavier cart moved less


def test_a_diverged_env_ends_alone_and_resets() -> None:
    _, reset, step = vec_env(AutoresetMode.SAME_STEP)
    state, _ = reset(jax.random.key(1))
    data = state.env_state.data
    # Finite, but squaring it in the dynamics overflows float32: the step blows up.
    poisoned = state.replace(env_state=state.env_state.replace(data=data.replace(qvel=data.qvel.at[1, 1].set(1e30))))
    actions = jnp.zeros((3, 1))
    _, clean_ts = step(state, actions)
    state, ts = step(poisoned, actions)
    np.testing.assert_array_equal(ts.info["physics_diverged"], [False, True, False])
    np.testing.assert_array_equal(ts.terminated, [False, True, False])
    assert float(ts.reward[1]) == 0.0
    assert np.isfinite(ts.obs).all() and np.isfinite(ts.info["final_obs"]).all()
    np.testing.assert_array_equal(np.asarray(ts.obs)[[0, 2]], np.asarray(clean_ts.obs)[[0, 2]])
    assert int(state.episode[1]) == 1  # env 1 was reset; the others go on
    assert np.isfinite(state.env_state.data.qvel).all()


def test_solver_options() -> None:
    faithful = gymx.make("InvertedPendulum-v5").unwrapped
    c_opt = gymnasium.make("InvertedPendulum-v5").unwrapped.model.opt
    assert faithful.solver["integrator"] == "rk4" and faithful.solver["iterations"] == c_opt.iterations
    assert faithful.solver["ls_iterations"] == c_opt.ls_iterations and faithful.solver["timestep"] == c_opt.timestep
    assert faithful.solver["collisions"] == "model" and faithful.solver["impl"] == "jax"  # the default on a CPU
    assert faithful.solver["eulerdamp"]  # MuJoCo's default, which Gymnasium's files keep
    undamped = InvertedPendulum(eulerdamp=False)
    assert (
        not undamped.solver["eulerdamp"] and undamped.mj_model.opt.disableflags & mujoco.mjtDisableBit.mjDSBL_EULERDAMP
    )
    with pytest.raises(ValueError, match="integrator must be one of"):
        InvertedPendulum(integrator="verlet")
    with pytest.raises(ValueError, match="frame_skip must be at least 1"):
        InvertedPendulum(frame_skip=0)


def test_tiers_keep_the_faithful_model_or_say_what_they_change() -> None:
    faithful = gymx.make("Hopper-v5").unwrapped.solver
    fast = gymx.make("HopperFastSolver-v5").unwrapped.solver
    # The fast-solver tier: the file's integrator and timestep, the solver capped.
    assert {k: fast[k] for k in FAST_SOLVER} == FAST_SOLVER
    assert fast["integrator"] == faithful["integrator"] == "rk4" and fast["timestep"] == faithful["timestep"]
    lite = gymx.make("HopperLite-v5").unwrapped.solver
    assert {k: lite[k] for k in LITE} == LITE
    assert set(WALKERS) == {n for n in WALKERS if f"{n}Lite-v5" in gymx.registry}
    assert "InvertedPendulumLite-v5" not in gymx.registry and "InvertedPendulumFastSolver-v5" in gymx.registry


def test_the_old_fast_ids_still_make_their_env_with_a_deprecation_warning() -> None:
    with pytest.warns(DeprecationWarning, match=r"HopperFast-v5 is deprecated.*HopperFastSolver-v5.*HopperLite-v5"):
        env = gymx.make("HopperFast-v5")
    assert isinstance(env.unwrapped, Hopper)
    assert {k: env.unwrapped.solver[k] for k in DEPRECATED_FAST} == DEPRECATED_FAST
    assert env.unwrapped.solver["collisions"] == "model"


def test_feet_only_contacts_leave_one_pair_per_foot() -> None:
    full, feet = Hopper(), Hopper(collisions="feet")
    # MJX-JAX allocates a contact slot for every pair the model lets collide.
    assert mjx.make_data(full.mjx_model)._impl.contact.dist.shape[0] > 2
    assert mjx.make_data(feet.mjx_model)._impl.contact.dist.shape[0] == 2  # foot capsule on the plane
    model = feet.mj_model
    colliding = [
        (mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_GEOM, a), mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_GEOM, b))
        for a in range(model.ngeom)
        for b in range(model.ngeom)
        if model.geom_contype[a] & model.geom_conaffinity[b]
    ]
    assert colliding == [("floor", "foot_geom")]
    with pytest.raises(ValueError, match="InvertedPendulum has no feet-only contact model"):
        InvertedPendulum(collisions="feet")
    with pytest.raises(ValueError, match="collisions must be one of"):
        InvertedPendulum(collisions="none")


def test_impl_option_is_checked_and_names_what_warp_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match=r"impl must be one of \['jax', 'warp'\], got 'cuda'"):
        InvertedPendulum(impl="cuda")
    assert mujoco_base.resolve_impl(None) == "jax"  # no NVIDIA GPU here
    monkeypatch.setattr(mujoco_base, "warp_installed", lambda: False)
    with pytest.raises(ImportError, match=r"needs warp-lang: pip install \"gymx\[mjx-warp\]\""):
        InvertedPendulum(impl="warp")
    # On an NVIDIA GPU without warp-lang the default falls back to MJX-JAX, saying what to install.
    monkeypatch.setattr(mujoco_base, "on_nvidia_gpu", lambda: True)
    with pytest.warns(UserWarning, match="gymx\\[mjx-warp\\]"):
        assert mujoco_base.resolve_impl(None) == "jax"


def test_mjx_still_has_the_line_search_loop_the_envs_replace() -> None:
    # If MJX renames or drops it, the early exit silently stops applying: fail here instead.
    assert mjx_solver is not None and callable(getattr(mjx_solver, "_while_loop_scan", None)), (
        "mujoco.mjx._src.solver._while_loop_scan moved: update gymx.envs.mujoco.base.early_exit_line_search"
    )


@functools.cache
def warp_hopper_batch(mode: AutoresetMode, **options) -> tuple[VecEnv, callable, callable]:
    vec = VecEnv(Hopper(impl="warp", **options), 3, mode)
    return vec, jax.jit(vec.reset), jax.jit(vec.step)


@pytest.mark.full
@pytest.mark.skipif(not warp_installed(), reason="needs warp-lang")
def test_warp_batches_reset_alone_and_report_overflow() -> None:
    # Hopper on MuJoCo Warp, 3 envs with same-step auto-reset: a blown-up env ends and resets
    # alone (the state holds only per-world leaves, so selecting states leaf by leaf is valid, as
    # Data.where does); a constraint buffer too small for the foot's contacts is reported in info.
    # No health rule, so that only the physics ends an episode.
    _, reset, step = warp_hopper_batch(AutoresetMode.SAME_STEP, terminate_when_unhealthy=False)
    state, _ = reset(jax.random.key(1))
    data = state.env_state.data
    poisoned = state.replace(env_state=state.env_state.replace(data=data.replace(qvel=data.qvel.at[1, 1].set(jnp.nan))))
    state, ts = step(poisoned, jnp.zeros((3, 3)))
    np.testing.assert_array_equal(ts.info["physics_diverged"], [False, True, False])
    np.testing.assert_array_equal(ts.terminated, [False, True, False])
    np.testing.assert_array_equal(state.episode, [0, 1, 0])
    assert not np.asarray(ts.info["physics_overflow"]).any()
    for _ in range(3):
        state, ts = step(state, jnp.ones((3, 3)))
    assert np.isfinite(state.env_state.data.qpos).all()
    _, cramped_reset, cramped_step = warp_hopper_batch(AutoresetMode.SAME_STEP, max_constraints=1)
    cramped_state, _ = cramped_reset(jax.random.key(1))
    overflowed = False
    for _ in range(10):  # the foot lands within a few steps: more than one constraint row
        cramped_state, cramped_ts = cramped_step(cramped_state, jnp.zeros((3, 3)))
        overflowed |= bool(np.asarray(cramped_ts.info["physics_overflow"]).any())
    assert overflowed


@pytest.mark.full
@pytest.mark.skipif(not warp_installed(), reason="needs warp-lang")
def test_warp_env_passes_check_env_and_renders_as_mjx_jax() -> None:
    # MuJoCo Warp compiles its kernels for the CPU on first use (minutes here): the full matrix only.
    warp = InvertedPendulum(impl="warp")
    check_env(warp, num_steps=20)  # renders too (render_modes_render)
    warp_state, warp_ts = jax.jit(warp.reset)(jax.random.key(3))
    jax_state, jax_ts = RESET(jax.random.key(3))
    np.testing.assert_allclose(warp_ts.obs, jax_ts.obs, atol=1e-6)
    np.testing.assert_array_equal(warp.render(warp_state), ENV.render(jax_state))
    assert warp.render(warp_state, mode="depth_array").shape == (480, 480)
    warp.close()


def fixed_length_loop(cond_fun, body_fun, init_val, max_iter):
    """The reference: `max_iter` rounds, each a no-op once `cond_fun` fails (MJX's line-search loop)."""

    def one_round(carry, _):
        value, going = carry
        value = jax.lax.cond(going, body_fun, lambda v: v, value)
        return (value, going & cond_fun(value)), None

    return jax.lax.scan(one_round, (init_val, cond_fun(init_val)), None, length=max_iter)[0][0]


def test_bounded_while_loop_matches_the_fixed_length_loop_per_batch_element() -> None:
    # Halving until below a per-element target: each element needs its own number of rounds,
    # and the 1e-9 target needs more than max_iter.
    def run(loop, start, target):
        return loop(lambda v: v[0] > target, lambda v: (v[0] * 0.5, v[1] + 1), (start, jnp.int32(0)), 12)

    starts = jnp.array([1.0, 100.0, 0.01, 5.0, 1.0], jnp.float32)
    targets = jnp.array([0.1, 0.1, 0.1, 1e-9, 2.0], jnp.float32)
    early = jax.jit(jax.vmap(lambda s, t: run(bounded_while_loop, s, t)))(starts, targets)
    fixed = jax.jit(jax.vmap(lambda s, t: run(fixed_length_loop, s, t)))(starts, targets)
    np.testing.assert_array_equal(early[1], [4, 10, 0, 12, 0])
    np.testing.assert_array_equal(early[1], fixed[1])
    np.testing.assert_array_equal(early[0], fixed[0])


def test_line_search_early_exit_gives_mjx_own_results_bit_for_bit() -> None:
    # Hopper's foot contacts make Newton's line search take several rounds (up to 25 in Hopper-v5); two Newton
    # iterations, so that each line search's result shows in the state (a loop cut to one round
    # moves the observations by ~3e-7), and Euler, which compiles four times faster than RK4.
    mjx_loop = mjx_solver._while_loop_scan
    early = VecEnv(Hopper(integrator="euler", iterations=2), 3, AutoresetMode.DISABLED)
    fixed = VecEnv(Hopper(integrator="euler", iterations=2, ls_early_exit=False), 3, AutoresetMode.DISABLED)
    early_step, fixed_step = jax.jit(early.step), jax.jit(fixed.step)
    state, _ = jax.jit(early.reset)(jax.random.key(2))
    fixed_state = state
    actions = jnp.array([[1.0, -1.0, 0.5], [-1.0, 1.0, 1.0], [0.5, 0.3, -1.0]])
    for t in range(25):
        state, ts = early_step(state, actions)
        fixed_state, fixed_ts = fixed_step(fixed_state, actions)
        np.testing.assert_array_equal(ts.obs, fixed_ts.obs, err_msg=f"step {t}")
    assert mjx_solver._while_loop_scan is mjx_loop  # tracing put MJX's loop back
    with early_exit_line_search():
        assert mjx_solver._while_loop_scan is bounded_while_loop
    assert mjx_solver._while_loop_scan is mjx_loop
    assert early.env.solver["ls_early_exit"] and not fixed.env.solver["ls_early_exit"]


def test_wrong_action_shape_is_named() -> None:
    state, _ = RESET(jax.random.key(0))
    with pytest.raises(ValueError, match=r"expected shape \(1,\), got \(2,\)"):
        ENV.step(state, jnp.zeros(2))


def test_frames_render_headless() -> None:
    state, _ = RESET(jax.random.key(0))
    frame = ENV.render(state)
    assert frame.shape == (480, 480, 3) and frame.dtype == np.uint8 and frame.std() > 5
    depth = ENV.render(state, mode="depth_array")
    assert depth.shape == (480, 480) and depth.dtype == np.float32 and np.isfinite(depth).all()
    vec, reset, _ = vec_env(AutoresetMode.SAME_STEP)
    vec_state, _ = reset(jax.random.key(0))
    with pytest.raises(ValueError, match="draws one env"):
        ENV.render(vec_state.env_state)
    assert vec.render(vec_state, env_indices=[0, 2], columns=2).shape == (480, 962, 3)


def test_gymnasium_vector_adapter_renders_every_env() -> None:
    envs = gymnasium.make_vec("gymx/InvertedPendulum-v5", 2, render_mode="rgb_array")
    envs.reset(seed=0)
    frames = envs.render()
    assert len(frames) == 2 and all(f.shape == (480, 480, 3) and f.dtype == np.uint8 for f in frames)
    envs.close()
