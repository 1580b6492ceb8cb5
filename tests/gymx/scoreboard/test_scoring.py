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


def test_ci_matches_rliable():
    try:
        from rliable import library as rly
        from rliable import metrics
    except Exception as error:  # not installed, or its arch dependency fails against the installed pandas
        pytest.skip(f"rliable does not import here: {error!r}")
    scores = np.random.default_rng(3).gamma(2.0, 50.0, size=(10, 3))
    estimates, intervals = rly.get_interval_estimates({"x": scores}, lambda s: np.array([metrics.aggregate_iqm(s)]), reps=20000)
    assert scoring.iqm(scores) == pytest.approx(float(estimates["x"][0]))
    low, high = scoring.iqm_ci(scores, reps=20000)
    # Two bootstraps with their own draws agree to their Monte Carlo error, well under 2% of the interval's width.
    width = high - low
    assert low == pytest.approx(float(intervals["x"][0, 0]), abs=0.02 * width)
    assert high == pytest.approx(float(intervals["x"][1, 0]), abs=0.02 * width)


def test_seed_score_uses_the_last_100_episodes():
    assert scoring.seed_score(np.r_[np.zeros(50), np.full(100, 7.0)]) == 7.0
    assert scoring.seed_score([1.0, 3.0]) == 2.0
    with pytest.raises(ValueError, match="no training episodes"):
        scoring.seed_score([])


def test_normalised_scores():
    assert scoring.normalised("CartPole-v1", 500.0, "classic_control") == pytest.approx(1.0)
    assert scoring.normalised("CartPole-v1", 22.0, "classic_control") == pytest.approx(0.0)
    assert scoring.normalised("Pong-v5", 1.0, "classic_control") is None


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
