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

FINAL_EPISODES = 100
MIN_SEEDS = 5
BOOTSTRAP_REPS = 2000

# Normalisation of suite scores, (random policy, best possible or solved) per env id: classic control's
# documented bounds and the mean return of a uniform random policy.
SUITES: dict[str, dict[str, tuple[float, float]]] = {
    "classic_control": {
        "CartPole-v1": (22.0, 500.0),
        "Acrobot-v1": (-500.0, -60.0),
        "MountainCar-v0": (-200.0, -110.0),
        "MountainCarContinuous-v0": (-33.0, 90.0),
        "Pendulum-v1": (-1200.0, -150.0),
    },
}


def seed_score(returns: np.ndarray) -> float:
    """The mean of a seed's last `FINAL_EPISODES` returns (in the order they finished)."""
    returns = np.asarray(returns, np.float64)
    if not len(returns):
        raise ValueError("gymx: a run with no training episodes has no score")
    return float(returns[-FINAL_EPISODES:].mean())


def iqm(scores: np.ndarray) -> float:
    """Interquartile mean of all of `scores` (any shape): the mean of the sorted scores with floor(n / 4) cut at each end."""
    flat = np.sort(np.asarray(scores, np.float64).ravel())
    cut = int(0.25 * len(flat))
    return float(flat[cut : len(flat) - cut].mean())


def iqm_ci(scores: np.ndarray, reps: int = BOOTSTRAP_REPS, size: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """The percentile `size` interval of the IQM of `scores` (runs, tasks) under a stratified bootstrap.

    Each resample draws, for every task (column) on its own, as many runs as it has, uniformly with
    replacement (the draw of run indices, `reps` x runs x tasks, is from numpy's PCG64 seeded with `seed`).
    """
    scores = np.asarray(scores, np.float64)
    if scores.ndim == 1:
        scores = scores[:, None]
    runs, tasks = scores.shape
    rng = np.random.default_rng(seed)
    index = rng.integers(0, runs, size=(reps, runs, tasks))
    resampled = np.take_along_axis(np.broadcast_to(scores, (reps, runs, tasks)), index, axis=1).reshape(reps, -1)
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
