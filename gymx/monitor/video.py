"""Video of one env of a batch, rendered after the fact from its stored states.

Inside `jit` the Monitor only keeps the recorded env's state after every step of the episodes
the schedule films (a few floats for a classic-control env). At flush, `VideoRecorder` renders the frames of the scheduled episodes
with a jitted `vmap` of the env's pure `render` over those states (an env that renders on the
host, such as a MuJoCo env, draws them one by one), and appends them to one MP4
per episode through imageio's ffmpeg plugin (`pip install gymx[monitor]`). A video is written to
a temporary name and renamed when its episode is over, so every `{prefix}-episode-{i}.mp4` is a
complete file.

Frames per episode follow the auto-reset mode: under SAME_STEP the state after an episode's
last step is already the next episode's first, so an episode of length L gives L frames (its
reset frame and the states after its first L - 1 steps; Gymnasium's vector RecordVideo loses the
last frame too); under NEXT_STEP it gives L + 1, the terminal state included.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

RENDER_BATCH = 16  # frames rendered per jitted call; one fixed shape, so one compile


def capped_cubic_schedule(episode: int) -> bool:
    """Gymnasium's default video trigger: episodes 0, 1, 8, 27, ..., 729, then every 1000th."""
    if episode < 1000:
        return round(episode ** (1.0 / 3)) ** 3 == episode
    return episode % 1000 == 0


def _render_each(render: Callable[[Any], Any], states: Any) -> np.ndarray:
    """A host renderer's frames of a batch of states (leading axis), drawn one by one."""
    count = len(jax.tree_util.tree_leaves(states)[0])
    return np.stack([np.asarray(render(jax.tree_util.tree_map(lambda x, i=i: x[i], states))) for i in range(count)])


class VideoRecorder:
    """Host side of the Monitor's video: renders stored states and writes the episodes' MP4s."""

    def __init__(
        self,
        render: Callable[[Any], jax.Array],
        directory: str,
        prefix: str,
        fps: int,
        schedule: Callable[[int], bool],
        render_on_host: bool = False,
    ):
        self._render = functools.partial(_render_each, render) if render_on_host else jax.jit(jax.vmap(render))
        self.directory = directory
        self.prefix = prefix
        self.fps = fps
        self.schedule = schedule
        self._episode: int | None = None  # the episode whose video is open
        self._writer: Any = None
        self._frames = 0

    def path(self, episode: int) -> str:
        return os.path.join(self.directory, f"{self.prefix}-episode-{episode}.mp4")

    def _tmp_path(self, episode: int) -> str:
        # ffmpeg picks the container from the extension, so the temporary name ends in .mp4 too.
        return os.path.join(self.directory, f".{self.prefix}-episode-{episode}.part.mp4")

    def add(self, states: Any, episodes: np.ndarray | jax.Array, running: int) -> list[dict]:
        """Takes the frames' states (leading axis: frames, in order), the episode each shows, and
        the episode the env is in now (every frame of earlier ones has been given).

        Returns a record for each video this call completed (an episode whose frames ended
        because a later episode's frames began, or because the env is past it).
        """
        done = []
        for episode in np.unique(episodes):
            if self._episode is not None and episode != self._episode:
                done.append(self._close())
            if not self.schedule(int(episode)):
                continue
            chosen = np.flatnonzero(episodes == episode)
            self._append(int(episode), _take(states, chosen), len(chosen))
        if self._episode is not None and self._episode < running:
            done.append(self._close())
        return done

    def _append(self, episode: int, states: Any, count: int) -> None:
        import imageio

        if self._writer is None:
            # macro_block_size=2: H.264 in yuv420p needs even sides; the default 16 would rescale 600x400.
            self._writer = imageio.get_writer(self._tmp_path(episode), fps=self.fps, macro_block_size=2)
            self._episode, self._frames = episode, 0
        for start in range(0, count, RENDER_BATCH):
            # Pad every batch to RENDER_BATCH by repeating the last index: one compiled shape.
            take = np.minimum(np.arange(start, start + RENDER_BATCH), count - 1)
            frames = np.asarray(self._render(_take(states, take)))
            for frame in frames[: min(RENDER_BATCH, count - start)]:
                self._writer.append_data(frame)
                self._frames += 1

    def _close(self) -> dict:
        import imageio_ffmpeg

        episode, frames = self._episode, self._frames
        assert episode is not None, "a video is open"
        self._writer.close()
        os.replace(self._tmp_path(episode), self.path(episode))
        self._writer, self._episode, self._frames = None, None, 0
        encoder = {"backend": "imageio-ffmpeg", "version": imageio_ffmpeg.get_ffmpeg_version()}
        return {"episode": episode, "path": os.path.basename(self.path(episode)), "frames": frames, "encoder": encoder}

    def close(self) -> list[dict]:
        """Finishes the open video, if any (its episode may still be running: it ends here)."""
        return [self._close()] if self._writer is not None else []


def _take(states: Any, indices: np.ndarray) -> Any:
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x[indices]), states)
