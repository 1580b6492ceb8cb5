"""Episode statistics, logs, videos and learning curves of batched runs.

- `RecordEpisodeStatistics`: Gymnasium's `info["episode"]` ("r", "l"; "batch_step" in place of the
  wall-clock "t", which `jit` cannot read) / `info["_episode"]`, computed on device for a `VecEnv`.
- `Monitor`: an episode log (or per-flush summaries, `SummaryConfig`), manifest and videos
  written between jitted chunks (`flush`).
- `RunLog`: a Monitor run written from episodes a loop found itself (a trainer with its own envs).
- `load_results`, `export_gym_files`: read a Monitor directory back (checksums checked, damaged
  regions reported and skipped); write the original Gym monitor's files from it.
- `capped_cubic_schedule`: the default video schedule (Gymnasium's).

Nothing here imports matplotlib or imageio until a plot or a video is made.
"""

from __future__ import annotations

from gymx.monitor.log import Damage, DamagedLogWarning, Results, export_gym_files, load_results
from gymx.monitor.monitor import Monitor, MonitorState, SummaryConfig, VideoConfig
from gymx.monitor.runlog import RunLog
from gymx.monitor.scoring import Score, score, score_summaries, summary_table
from gymx.monitor.stats import EpisodeStatsState, RecordEpisodeStatistics
from gymx.monitor.video import capped_cubic_schedule

__all__ = [
    "Damage",
    "DamagedLogWarning",
    "EpisodeStatsState",
    "Monitor",
    "MonitorState",
    "RecordEpisodeStatistics",
    "Results",
    "RunLog",
    "Score",
    "SummaryConfig",
    "VideoConfig",
    "capped_cubic_schedule",
    "export_gym_files",
    "load_results",
    "score",
    "score_summaries",
    "summary_table",
]
