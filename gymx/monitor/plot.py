"""Learning curves from Monitor directories, drawn to PNG with matplotlib's Agg canvas.

Each directory is one curve: the mean over its runs (seeds) of the smoothed episode return,
against env steps and against wall time, with a band from the lowest to the highest run. Runs
are put on a common x grid by linear interpolation, over the range every run covers. A run that
logged summaries gives the mean return of each flush's episodes (not smoothed further).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from gymx.monitor.log import Results, load_results

GRID_POINTS = 200


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average over up to `window` episodes (shorter at the start)."""
    cumulative = np.cumsum(np.insert(np.asarray(values, np.float64), 0, 0.0))
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    ends = np.arange(1, len(values) + 1)
    return (cumulative[ends] - cumulative[ends - counts]) / counts


def _curves(runs: list[Results], x_field: str, window: int) -> tuple[np.ndarray, np.ndarray] | None:
    series = []
    for run in runs:
        if run.manifests[0].get("episode_mode") == "summary":
            summaries = run.summaries[0]
            x, y = summaries["steps" if x_field == "steps" else "time"].astype(np.float64), summaries["return_mean"]
        else:
            order = np.argsort(getattr(run, x_field), kind="stable")
            x, y = getattr(run, x_field)[order].astype(np.float64), smooth(run.returns[order], window)
        if len(x):
            series.append((x, y))
    if not series:
        return None
    low, high = max(x[0] for x, _ in series), min(x[-1] for x, _ in series)
    grid = np.linspace(low, high, GRID_POINTS) if high > low else np.asarray([high])
    return grid, np.stack([np.interp(grid, x, y) for x, y in series])


def plot_learning_curves(directories: Sequence[str], out: str, window: int = 100, title: str | None = None) -> str:
    """Writes the curves of `directories` to the PNG `out` and returns its path."""
    # Every directory is read before matplotlib is imported, so a bad one fails fast.
    loaded = [(directory, load_results(directory)) for directory in directories]
    if not any(len(results) or sum(len(s) for s in results.summaries) for _, results in loaded):
        raise ValueError(f"no episodes in {', '.join(directories)}: nothing to plot")
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(f"plotting needs matplotlib (pip install 'gymx[monitor]'): {error}") from error

    # A bare Figure on an Agg canvas: no pyplot, so no global backend state and no display needed.
    figure = Figure(figsize=(12, 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, 2, sharey=True)
    for directory, results in loaded:
        runs = [run for run in results.runs() if len(run) or len(run.summaries[0])]
        env_ids = sorted({str(m.get("env_id")) for m in results.manifests})
        label = f"{os.path.basename(os.path.normpath(directory))} ({', '.join(env_ids)}; {len(runs)} run{'s' * (len(runs) != 1)})"
        for ax, field in zip(axes, ("steps", "times")):
            curves = _curves(runs, field, window)
            if curves is None:
                continue
            grid, values = curves
            (line,) = ax.plot(grid, values.mean(axis=0), label=label)
            if len(values) > 1:
                ax.fill_between(grid, values.min(axis=0), values.max(axis=0), color=line.get_color(), alpha=0.2)
    axes[0].set_xlabel("env steps")
    axes[1].set_xlabel("wall time (s)")
    axes[0].set_ylabel(f"episode return ({window}-episode moving average)")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(loc="best", fontsize="small")
    if title:
        figure.suptitle(title)
    figure.savefig(out, format="png", dpi=100)
    return out
