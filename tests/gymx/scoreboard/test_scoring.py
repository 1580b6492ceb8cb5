"""The board's statistics: the IQM, its stratified bootstrap interval (against rliable when installed), normalised scores, signatures."""

from __future__ import annotations

import numpy as np
import pytest

from gymx.scoreboard import scoring, verify


def test_iqm_is_the_mean_of_the_middle_half():
    assert scoring.iqm([1, 2, 3, 4, 100]) == pytest.approx(3.0)  # floor(5 / 4) = 1 cut at each end
    assert scoring.iqm([5, 1, 2, 3, 4, 6, 7, 100]) == pytest.approx(np.mean([3, 4, 5, 6]))


def test_iqm_matches_scipy_trim_mean():
    scipy_stats = pytest.importorskip("scipy.stats")
    scores = np.random.default_rng(1).normal(size=(7, 3))
    assert scoring.iqm(scores) == pytest.approx(scipy_stats.trim_mean(scores, 0.25, axis=None))


def test_ci_brackets_the_iqm_and_narrows_with_more_runs():
    rng = np.random.default_rng(2)
    few, many = rng.normal(10, 2, 5), rng.normal(10, 2, 50)
    low, high = scoring.iqm_ci(few)
    assert low <= scoring.iqm(few) <= high
    many_low, many_high = scoring.iqm_ci(many)
    assert many_high - many_low < high - low
    assert scoring.iqm_ci([3.0] * 5) == (3.0, 3.0)


def test_stratified_bootstrap_resamples_within_each_task():
    # Task 0 always scores 0 and task 1 always 10: a stratified resample keeps half of each, so every IQM is 5.
    scores = np.stack([np.zeros(6), np.full(6, 10.0)], axis=1)
    assert scoring.iqm_ci(scores) == pytest.approx((5.0, 5.0))


# rliable 1.2.0's (IQM, 95% CI low, CI high) of rliable_reference.MATRICES: produced by
# `/tmp/rl/bin/python tests/gymx/scoreboard/rliable_reference.py` (rliable 1.2.0, arch 7.2.0,
# numpy 2.4.6, scipy 1.17.1, pandas 2.2.3), i.e. `np.random.seed(0)` and then
# `rly.get_interval_estimates({"m": scores}, lambda s: np.array([metrics.aggregate_iqm(s)]), reps=2000)`.
RLIABLE_REFERENCE = {
    "5x3": (3.888888888888889, 2.2222222222222223, 5.722222222222222),
    "10x3": (10.03125, -1.5, 26.6875),
    "5x1": (321.5, 9.0, 493.5),
}


@pytest.mark.parametrize("name", sorted(RLIABLE_REFERENCE))
def test_iqm_and_ci_equal_rliables(name):
    # iqm_ci draws rliable's resampling indices (same legacy Mersenne Twister stream, seed 0), so the
    # intervals agree exactly, not just within bootstrap noise; only summation order may differ.
    from .rliable_reference import MATRICES, REPS, SEED

    scores = np.asarray(MATRICES[name])
    expected_iqm, expected_low, expected_high = RLIABLE_REFERENCE[name]
    assert scoring.iqm(scores) == pytest.approx(expected_iqm, rel=1e-12, abs=1e-12)
    assert scoring.iqm_ci(scores, reps=REPS, seed=SEED) == pytest.approx(
        (expected_low, expected_high), rel=1e-12, abs=1e-12
    )


def test_reference_table_is_what_rliable_gives():
    try:
        from .rliable_reference import reference

        values = reference()
    except Exception as error:  # not installed, or its arch dependency fails against the installed pandas
        pytest.skip(f"rliable does not run here: {error!r}")
    assert sorted(values) == sorted(RLIABLE_REFERENCE)
    for name, expected in RLIABLE_REFERENCE.items():
        assert values[name] == pytest.approx(expected, rel=1e-12)


def test_seed_score_uses_the_last_100_episodes():
    assert scoring.seed_score(np.r_[np.zeros(50), np.full(100, 7.0)]) == 7.0
    assert scoring.seed_score([1.0, 3.0]) == 2.0
    with pytest.raises(ValueError, match="no training episodes"):
        scoring.seed_score([])


def test_normalised_scores_reach_1_at_gymnasiums_reward_thresholds():
    from gymx import registration

    for env_id, (_, high) in scoring.SUITES["classic_control"].items():
        threshold = registration.spec(env_id).reward_threshold
        assert high == (0.0 if env_id == "Pendulum-v1" else threshold)  # Pendulum has none: its best possible return
        assert scoring.normalised(env_id, high, "classic_control") == pytest.approx(1.0)
    assert scoring.normalised("CartPole-v1", 475.0, "classic_control") == pytest.approx(1.0)
    assert scoring.normalised("Pong-v5", 1.0, "classic_control") is None


@pytest.mark.parametrize(
    "env_id",
    [
        "CartPole-v1",
        *(
            pytest.param(e, marks=pytest.mark.full)
            for e in ["Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1"]
        ),
    ],
)
def test_a_random_policy_normalises_to_0(env_id):
    from .random_scores import random_returns

    # Other episodes than the table's (seed 1, not 0): the bound is a measured mean, not a fit to these.
    returns = random_returns(env_id, 1000, seed=1)
    low, high = scoring.SUITES["classic_control"][env_id]
    standard_error = returns.std(ddof=1) / np.sqrt(len(returns))
    # Two means of 1,000 episodes each differ by at most about 4 standard errors of either (their difference has sqrt(2) of one).
    assert scoring.normalised(env_id, float(returns.mean()), "classic_control") == pytest.approx(
        0.0, abs=4 * standard_error / (high - low) + 1e-9
    )


def test_signed_records_check_offline():
    private = verify.new_private_key()
    record = {"entry_id": 3, "verified_iqm": 498.5, "status": "verified"}
    signature = verify.sign(private, record)
    public = verify.public_key(private)
    assert verify.check_signature(dict(reversed(list(record.items()))), signature, public)  # key order does not matter
    assert not verify.check_signature({**record, "verified_iqm": 500.0}, signature, public)
    assert not verify.check_signature(record, signature, verify.public_key(verify.new_private_key()))
    assert not verify.check_signature(record, "00", public)


def test_verdict_tolerance():
    assert verify.verdict(100.0, 95.0)[0] == "verified"
    assert verify.verdict(100.0, 89.0)[0] == "disputed"
    assert verify.verdict(100.0, 400.0)[0] == "verified"  # greedy beats the training logs' exploration: no dispute
