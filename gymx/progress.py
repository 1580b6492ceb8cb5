"""A status line on stderr, rewritten in place on a terminal, and the k/M/G numbers it shows."""

from __future__ import annotations

import sys
from typing import IO


def si_number(value: float, precision: str = ".3g", separator: str = "") -> str:
    """`value` scaled by k, M or G: `si_number(260_000) == "260k"`, `si_number(1.5e6, ".2f", " ") == "1.50 M"`."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:{precision}}{separator}{suffix}"
    return f"{value:.0f}"


class StatusLine:
    """One line on `stream` (stderr by default): rewritten in place on a terminal, never elsewhere.

    `update` shows a transient status (only on a terminal), `print` writes a line that stays
    (clearing the status first), `keep` ends the status line so it stays. Disabled, it writes nothing.
    """

    def __init__(self, enabled: bool = True, stream: IO[str] | None = None):
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.live = enabled and self.stream.isatty()
        self._width = 0

    def update(self, text: str) -> None:
        if self.live:
            self.stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
            self.stream.flush()

    def clear(self) -> None:
        if self.live:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0
            self.stream.flush()

    def print(self, text: str) -> None:
        if self.enabled:
            self.clear()
            self.stream.write(text + "\n")
            self.stream.flush()

    def keep(self) -> None:
        if self.live:
            self.stream.write("\n")
            self._width = 0
            self.stream.flush()
