"""The batched JAX tasks against a pure-Python reference of the original Gym's rules.

`Reference` restates `AlgorithmicEnv.step` and each task's `target_from_input_data` from
openai/gym (before PR #2344) with lists and ints. Every env of a `VecEnv` runs in lockstep with
its own `Reference`, fed the input that the JAX reset drew, over several episodes: observations,
rewards, termination, final observations, episode returns and the target-length info must agree
on every step. Half the envs play random policies (some writing rarely, to reach the time limit;
some often, to write wrongly); the others play a scripted policy that solves the task from its
observations alone (the oracle for ReversedAddition3, whose time limit leaves no time to read
all three rows), and every one of their episodes must earn the whole target.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gymx

LEFT, RIGHT, UP, DOWN = 0, 1, 2, 3


class Reference:
    """One original algorithmic env, on an input given to `reset` (a list, or a list of columns)."""

    def __init__(self, task: str, base: int, rows: int = 1, duplication: int = 2):
        self.task, self.base, self.rows, self.duplication = task, base, rows, duplication

    def target_of(self, data: list) -> list[int]:
        if self.task == "Copy":
            return list(data)
        if self.task == "Reverse":
            return list(reversed(data))
        if self.task == "RepeatCopy":
            return data + list(reversed(data)) + data
        if self.task == "DuplicatedInput":
            return [data[i] for i in range(0, len(data), self.duplication)]
        carry, target = 0, []
        for digits in data:
            total = sum(digits) + carry
            target.append(total % self.base)
            carry = total // self.base
        if carry > 0:
            target.append(carry)
        return target

    def reset(self, data: list) -> int:
        self.data, self.target = data, self.target_of(data)
        self.column, self.row, self.write_head, self.time, self.total = 0, 0, 0, 0, 0.0
        return self.obs()

    def time_limit(self) -> int:
        if self.task == "ReversedAddition":
            return 2 * len(self.data) + 4
        return len(self.data) + len(self.target) + 4

    def obs(self) -> int:
        if self.column < 0 or self.row < 0 or self.column >= len(self.data):
            return self.base
        if self.rows == 1:
            return self.data[self.column]
        return self.data[self.column][self.row] if self.row < self.rows else self.base

    def step(self, move: int, write: int, symbol: int) -> tuple[int, float, bool]:
        done, reward = False, 0.0
        self.time += 1
        if write == 1:
            if symbol == self.target[self.write_head]:
                reward = 1.0
            else:
                reward, done = -0.5, True
            self.write_head += 1
            if self.write_head >= len(self.target):
                done = True
        self.column += {LEFT: -1, RIGHT: 1}.get(move, 0)
        self.row += {UP: -1, DOWN: 1}.get(move, 0)
        if self.time > self.time_limit():
            reward, done = -1.0, True
        self.total += reward
        return self.obs(), reward, done


class RandomPolicy:
    """Uniform moves; writes with probability `write`, the right symbol with probability `right`."""

    def __init__(self, rng: np.random.Generator, moves: int, base: int, write: float, right: float):
        self.rng, self.moves, self.base, self.write, self.right = rng, moves, base, write, right
        self.solves = False

    def begin(self) -> None:
        pass

    def act(self, obs: int, ref: Reference) -> tuple[int, int, int]:
        symbol = ref.target[ref.write_head] if self.rng.random() < self.right else int(self.rng.integers(self.base))
        return int(self.rng.integers(self.moves)), int(self.rng.random() < self.write), symbol


class Solver:
    """Solves its task from observations alone (`ref` is only read by the oracle)."""

    solves = True

    def __init__(self, task: str, base: int, rows: int):
        self.task, self.base, self.rows = task, base, rows

    def begin(self) -> None:
        self.phase, self.count, self.carry, self.first, self.row = 0, 0, 0, 0, 0

    def act(self, obs: int, ref: Reference) -> tuple[int, int, int]:
        blank = self.base
        if self.task == "Copy":
            return RIGHT, 1, obs
        if self.task == "DuplicatedInput":
            self.count += 1
            return (RIGHT, 1, obs) if self.count % 2 == 1 else (RIGHT, 0, 0)
        if self.task in ("Reverse", "RepeatCopy"):
            # Reverse: right to the end, then write leftwards. RepeatCopy: write rightwards,
            # then leftwards, then rightwards again, turning at each blank.
            directions = (RIGHT, LEFT) if self.task == "Reverse" else (RIGHT, LEFT, RIGHT)
            writes = (0, 1) if self.task == "Reverse" else (1, 1, 1)
            if obs == blank:
                self.phase += 1
                return directions[self.phase], 0, 0
            return directions[self.phase], writes[self.phase], obs
        if self.rows == 3:  # the oracle: the time limit is too short to read three rows
            return RIGHT, 1, ref.target[ref.write_head]
        # Two rows: zig-zag, reading one digit of a column, stepping to the other row, then
        # reading the other digit, writing the sum's digit and stepping right.
        if self.phase == 0:
            if obs == blank:  # past the last column: only the final carry is left
                return RIGHT, 1, self.carry
            self.first, self.phase = obs, 1
            self.row = 1 - self.row
            return (DOWN if self.row == 1 else UP), 0, 0
        total = self.first + obs + self.carry
        self.carry, self.phase = total // self.base, 0
        return RIGHT, 1, total % self.base


IDS = ["Copy-v0", "DuplicatedInput-v0", "RepeatCopy-v0", "Reverse-v0", "ReversedAddition-v0", "ReversedAddition3-v0"]


def _input(env, tape: np.ndarray, length: int) -> list:
    if env.rows == 1:
        return [int(s) for s in tape[0, :length]]
    return [[int(tape[r, c]) for r in range(env.rows)] for c in range(length)]


@pytest.mark.parametrize("env_id", IDS)
def test_lockstep_with_the_reference(env_id: str) -> None:
    num_envs, num_steps = 64, 300
    env = gymx.make(env_id).unwrapped
    task = type(env).__name__
    rng = np.random.default_rng(IDS.index(env_id))
    moves = len(env.movements)
    policies = [
        Solver(task, env.base, env.rows)
        if i % 2 == 0
        else RandomPolicy(rng, moves, env.base, write=(0.03, 0.3, 0.9)[i % 3], right=0.9)
        for i in range(num_envs)
    ]
    refs = [Reference(task, env.base, env.rows) for _ in range(num_envs)]
    # Every curriculum length, the cap included, across the batch.
    params = env.default_params.replace(min_length=jnp.asarray(np.arange(num_envs) % 30 + 1, jnp.int32))
    venv = gymx.VecEnv(env, num_envs, gymx.AutoresetMode.SAME_STEP)
    state, ts = jax.jit(venv.reset)(jax.random.key(0), params)
    step = jax.jit(venv.step)

    def begin(i: int, env_state, obs: int, target_length: int) -> None:
        assert refs[i].reset(_input(env, env_state.tape[i], int(env_state.input_length[i]))) == obs
        assert len(refs[i].target) == target_length == int(env_state.target_length[i])
        assert [int(s) for s in env_state.target[i, :target_length]] == refs[i].target
        # Blank padding past both lengths, symbols within the base before them.
        length = int(env_state.input_length[i])
        assert np.all(env_state.tape[i, :, length:] == env.base) and np.all(env_state.tape[i, :, :length] < env.base)
        assert np.all(env_state.target[i, target_length:] == env.base)
        policies[i].begin()

    host_state, host_ts = jax.device_get((state.env_state, ts))
    for i in range(num_envs):
        begin(i, host_state, int(host_ts.obs[i]), int(host_ts.info["target_length"][i]))
    episodes = {"solved": 0, "failed": 0, "timed_out": 0}
    for _ in range(num_steps):
        obs = host_ts.obs.tolist()
        actions = [policies[i].act(obs[i], refs[i]) for i in range(num_envs)]
        batch = tuple(jnp.asarray([a[k] for a in actions], jnp.int32) for k in range(3))
        state, ts = step(state, batch, params)
        host_state, host_ts = jax.device_get((state.env_state, ts))
        info = host_ts.info
        for i in range(num_envs):
            target_length = len(refs[i].target)
            ref_obs, ref_reward, ref_done = refs[i].step(*actions[i])
            assert float(host_ts.reward[i]) == ref_reward, (env_id, i, actions[i])
            assert bool(host_ts.terminated[i]) == ref_done and not bool(host_ts.truncated[i])
            assert int(info["target_length"][i]) == target_length
            if not ref_done:
                assert int(host_ts.obs[i]) == ref_obs
                continue
            assert int(info["final_obs"][i]) == ref_obs and float(info["episode_return"][i]) == refs[i].total
            if policies[i].solves:
                assert refs[i].total == target_length, (env_id, i, refs[i].data)
            kind = "solved" if refs[i].total == target_length else "timed_out" if ref_reward == -1.0 else "failed"
            episodes[kind] += 1
            begin(i, host_state, int(host_ts.obs[i]), int(host_state.target_length[i]))
    assert min(episodes.values()) > 0, episodes
