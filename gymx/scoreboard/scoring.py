"""The board's statistics: each seed's final score, the interquartile mean across seeds with a
stratified bootstrap confidence interval (Agarwal et al., 2021, "Deep RL at the edge of the
statistical precipice", the method of the rliable library), and normalised suite scores.

A seed's score is the mean return of its last `FINAL_EPISODES` training episodes (fewer if it
logged fewer). The IQM is the mean of the middle half of the scores: scipy's `trim_mean(x, 0.25)`,
which drops floor(n / 4) scores at each end. The confidence interval is the percentile interval of
the IQM over bootstrap resamples that draw runs with replacement within each task separately
(stratified); a board is one task, a suite several.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FINAL_EPISODES = 100
MIN_SEEDS = 5
BOOTSTRAP_REPS = 2000

# Normalisation of suite scores: per env id (score mapped to 0, score mapped to 1). 0 is the mean
# return of a uniformly random policy, measured with gymx over 1,000 episodes per env (PRNG seed 0;
# standard errors in brackets) by `python tests/gymx/scoreboard/random_scores.py 1000`:
# CartPole-v1 23.00 (0.39), Acrobot-v1 -498.91 (0.33), MountainCar-v0 -200.00 (0.00: it never reaches
# the flag), MountainCarContinuous-v0 -33.25 (0.11), Pendulum-v1 -1223.77 (9.43). 1 is the env's
# `reward_threshold` (Gymnasium's, as registered: 475, -100, -110, 90). Pendulum-v1 has no threshold;
# its 1 is the best return possible, 0 (every step's reward is at most 0, at rest upright), which
# no policy reaches from a random start: good policies score about 0.85 to 0.9 there.
SUITES: dict[str, dict[str, tuple[float, float]]] = {
    "classic_control": {
        "CartPole-v1": (23.00, 475.0),
        "Acrobot-v1": (-498.91, -100.0),
        "MountainCar-v0": (-200.0, -110.0),
        "MountainCarContinuous-v0": (-33.25, 90.0),
        "Pendulum-v1": (-1223.77, 0.0),
    },
}


def seed_score(returns: np.ndarray) -> float:
    """The mean of a seed's last `FINAL_EPISODES` returns (in the order they finished)."""
    returns = np.asarray(returns, np.float64)
    if not len(returns):
        raise ValueError("gymx: a run with no training episodes has no score")
    return float(returns[-FINAL_EPISODES:].mean())


def iqm(scores: npt.ArrayLike) -> float:
    """Interquartile mean of all of `scores` (any shape): the mean of the sorted scores with floor(n / 4) cut at each end."""
    flat = np.sort(np.asarray(scores, np.float64).ravel())
    cut = int(0.25 * len(flat))
    return float(flat[cut : len(flat) - cut].mean())


def iqm_ci(scores: npt.ArrayLike, reps: int = BOOTSTRAP_REPS, size: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """The percentile `size` interval of the IQM of `scores` (runs, tasks) under a stratified bootstrap.

    Each resample draws, for every task (column) on its own, as many runs as it has, uniformly with
    replacement. The draws are rliable's, so its intervals come out the same to rounding: one
    (runs, tasks) array of run indices per resample, in order, from numpy's legacy `RandomState`
    (Mersenne Twister, whose stream numpy keeps fixed across versions) seeded with `seed`, which is
    what `rliable.library.get_interval_estimates` draws from the global numpy RNG after
    `np.random.seed(seed)`; the interval is `np.percentile` (linear) of the resampled IQMs.
    """
    table = np.asarray(scores, np.float64)
    if table.ndim == 1:
        table = table[:, None]
    runs, tasks = table.shape
    index = np.random.RandomState(seed).randint(0, runs, size=(reps, runs, tasks))
    resampled = table[index, np.arange(tasks)].reshape(reps, -1)
    resampled.sort(axis=1)
    cut = int(0.25 * resampled.shape[1])
    values = resampled[:, cut : resampled.shape[1] - cut].mean(axis=1)
    tail = (1.0 - size) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def normalised(env_id: str, score: float, suite: str) -> float | None:
    """`score` on `env_id` mapped so the suite's random policy scores 0 and its reference 1; None for an env outside the suite."""
    bounds = SUITES.get(suite, {}).get(env_id)
    if bounds is None:
        return None
    low, high = bounds
    return (score - low) / (high - low)
