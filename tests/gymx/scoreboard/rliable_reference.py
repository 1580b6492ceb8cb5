"""rliable's IQM and 95% stratified bootstrap interval of fixed score matrices: the reference of test_scoring.

`MATRICES` are (runs, tasks) scores with ties and outliers. `reference()` runs rliable on each:

    np.random.seed(SEED)
    rly.get_interval_estimates({"m": scores}, lambda s: np.array([metrics.aggregate_iqm(s)]),
                               reps=REPS, confidence_interval_size=0.95)  # method="percentile"

(rliable's `StratifiedBootstrap` draws its run indices from numpy's global RNG, so the seed is set
there.) rliable does not import beside this project's pandas (its `arch` dependency fails); in a
separate environment:

    python3 -m venv /tmp/rl && /tmp/rl/bin/pip install rliable==1.2.0 "pandas<2.3"
    /tmp/rl/bin/python tests/gymx/scoreboard/rliable_reference.py

prints the `REFERENCE` table that test_scoring.py holds (made with rliable 1.2.0, arch 7.2.0,
numpy 2.4.6, scipy 1.17.1, pandas 2.2.3).
"""

from __future__ import annotations

import numpy as np

SEED = 0
REPS = 2000

MATRICES: dict[str, list[list[float]]] = {
    # 5 runs x 3 tasks: ties in every task, one outlier run on task 0.
    "5x3": [
        [10.0, 0.5, -5.0],
        [10.0, 0.5, -3.0],
        [10.0, 1.0, -3.0],
        [12.0, 2.0, 0.0],
        [500.0, 3.0, 8.0],
    ],
    # 10 runs x 3 tasks: a 2000 outlier, a 0/1 task, repeated fractional scores.
    "10x3": [
        [100.0, 0.0, -200.0],
        [100.0, 0.0, -199.5],
        [100.0, 0.0, -150.25],
        [101.0, 0.0, -150.25],
        [102.0, 1.0, -120.0],
        [103.0, 1.0, -110.0],
        [104.0, 1.0, -110.0],
        [105.0, 1.0, -95.5],
        [2000.0, 1.0, -90.0],
        [100.0, 1.0, 40.0],
    ],
    # One board: 5 seeds of one env, two of them stuck at the start.
    "5x1": [[9.0], [9.0], [475.0], [480.5], [500.0]],
}


def reference() -> dict[str, tuple[float, float, float]]:
    """{name: (IQM, CI low, CI high)} of each matrix, from rliable (see the module docstring)."""
    from rliable import library as rly
    from rliable import metrics

    out = {}
    for name, scores in MATRICES.items():
        np.random.seed(SEED)
        estimates, intervals = rly.get_interval_estimates(
            {"m": np.asarray(scores)},
            lambda s: np.array([metrics.aggregate_iqm(s)]),
            reps=REPS,
            confidence_interval_size=0.95,
        )
        out[name] = (float(estimates["m"][0]), float(intervals["m"][0, 0]), float(intervals["m"][1, 0]))
    return out


if __name__ == "__main__":
    from importlib.metadata import version

    print(f"# rliable {version('rliable')}, arch {version('arch')}, numpy {np.__version__}")
    print("REFERENCE = {")
    for name, values in reference().items():
        print(f"    {name!r}: ({values[0]!r}, {values[1]!r}, {values[2]!r}),")
    print("}")
