"""RAM and screen parity with ale-py: the same actions into ALE and into the JAX 2600, the 128 RAM bytes and the
210x160 frame of colour values (`getScreen`) compared every frame, and with them each frame's reward, game over
and lives as the game's settings (`gymx.envs.atari.games`) read them from the RAM.

Both sides start from `loadROM` + `reset_game` (ALE's reset procedure: system reset, 60 NOOP
frames, RESET, mode selection, RESET, starting actions) with sticky actions off and frameskip 1,
then take the same seeded random actions from the game's minimal set. On the first mismatch the
failure names the frame, every differing RAM byte (address, ALE, JAX), the differing screen's
region and first pixel, and the JAX console's last TIA/RIOT writes, so the run doubles as the debugging tool: `python -m pytest -p no:xdist
tests/kernels/atari/test_ale_parity.py -k pong` (short window) or with `--all` (20,000 frames).

By default Pong, Breakout and Space Invaders run a short window; the other games checked (`games.CHECKED`)
run under `--all`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

ale_py = pytest.importorskip("ale_py", reason="ale-py is not installed (pip install 'ale-py>=0.10')")

import jax  # noqa: E402
from gymx.envs.atari import games as G  # noqa: E402
from gymx.kernels.atari import machine as M  # noqa: E402

SHORT_FRAMES = 300
LONG_FRAMES = 20_000


@dataclasses.dataclass
class Divergence:
    frame: int  # frames after the first reset (0: right after it)
    diffs: list[tuple[int, int, int]]  # (RAM address, ALE byte, JAX byte)
    writes: list[tuple[int, int, int, int]]  # (frame, cycle, address, value), oldest first
    after_reset: bool = False  # found right after a reset (at the start or after a game over)
    screen: str = ""  # the screen's differences, if any
    settings: str = ""  # reward, game over or lives differing, if any

    def __str__(self) -> str:
        when = f"after frame {self.frame}"
        if self.frame == 0:
            when = "after the first reset"
        elif self.after_reset:
            when += " and the reset that followed it"
        lines = []
        if self.diffs:
            ram = ", ".join(f"${a:02X} ale={x:02X} jax={y:02X}" for a, x, y in self.diffs)
            lines.append(f"RAM differs {when}: {ram}")
        if self.screen:
            lines.append(f"screen differs {when}: {self.screen}")
        if self.settings:
            lines.append(f"settings differ {when}: {self.settings}")
        lines.append("last TIA/RIOT writes of the JAX console (frame, cycle, address, value):")
        lines += [f"  {f:6d} {c:6d} ${a:04X} {v:02X}" for f, c, a, v in self.writes]
        return "\n".join(lines)


def _ale(game: str):
    ale = ale_py.ALEInterface()
    ale.setLoggerMode(ale_py.LoggerMode.Error)
    ale.setInt("random_seed", 0)
    ale.setFloat("repeat_action_probability", 0.0)
    ale.setInt("frame_skip", 1)
    ale.loadROM(ale_py.roms.get_rom_path(game))
    ale.reset_game()
    return ale


def _writes(emu: M.Emulator) -> list[tuple[int, int, int, int]]:
    log = np.asarray(emu.console.log)
    pos = int(emu.console.log_pos)
    order = [(pos + i) % M.LOG_SIZE for i in range(M.LOG_SIZE)] if pos >= M.LOG_SIZE else range(pos)
    return [(int(log[i, 0]), int(log[i, 1]), int(log[i, 2]), int(log[i, 3])) for i in order]


def screen_difference(want: np.ndarray, got: np.ndarray) -> str:
    """The differing pixels of two frames of colour values, as a region and the first pixel ("" if none)."""
    bad = np.argwhere(want != got)
    if bad.size == 0:
        return ""
    (r, c), (r0, c0), (r1, c1) = bad[0], bad.min(0), bad.max(0)
    return (
        f"{len(bad)} pixels in rows {r0}-{r1}, columns {c0}-{c1}; "
        f"first at row {r} column {c}: ale={want[r, c]:#04x} jax={got[r, c]:#04x}"
    )


def _compare(frame: int, ale, emu: M.Emulator, after_reset: bool = False) -> Divergence | None:
    want, got = ale.getRAM(), emu.ram()
    diff = np.flatnonzero(want != got)
    screen = screen_difference(ale.getScreen(), emu.screen()) if emu.machine.pixels else ""
    if diff.size == 0 and not screen:
        return None
    return Divergence(
        frame, [(0x80 + int(i), int(want[i]), int(got[i])) for i in diff], _writes(emu), after_reset, screen
    )


_UPDATES: dict[str, object] = {}


def _update(game: str):
    """The game's settings update, jitted once per game (None for a ROM without settings)."""
    if game not in _UPDATES:
        _UPDATES[game] = jax.jit(G.CANDIDATES[game].update) if game in G.CANDIDATES else None
    return _UPDATES[game]


def run_parity(game: str, frames: int, seed: int = 0, emu: M.Emulator | None = None) -> tuple[int, Divergence | None]:
    """Frames matched before the first divergence (and the divergence, or None). The screen is
    compared too when `emu` draws pixels (the default emulator does), and so are each frame's
    reward, game over and lives when gymx has settings for the game. At a game over both sides
    reset (ALE emulates nothing past a terminal frame) and the state after the reset is compared."""
    ale = _ale(game)
    if emu is None:
        emu = M.Emulator(M.Machine.for_rom(ale_py.roms.get_rom_path(game), pixels=True))
    emu.reset()
    update = _update(game)
    start = lambda: update(G.initial_progress(G.CANDIDATES[game].lives), emu.console.ram)
    progress = start() if update else None
    actions = [int(a.value) for a in ale.getMinimalActionSet()]
    rng = np.random.default_rng(seed)
    if (bad := _compare(0, ale, emu, after_reset=True)) is not None:
        return 0, bad
    for frame in range(1, frames + 1):
        action = actions[rng.integers(len(actions))]
        reward = ale.act(ale_py.Action(action))
        emu.act(action)
        if (bad := _compare(frame, ale, emu)) is not None:
            return frame - 1, bad
        if update:
            progress = update(progress, emu.console.ram)
            want = (int(reward), ale.game_over(), ale.lives())
            got = (int(progress.reward), bool(progress.terminal), int(progress.lives))
            if want != got:
                return frame - 1, Divergence(
                    frame, [], _writes(emu), settings=f"(reward, game over, lives) ale={want} jax={got}"
                )
        if ale.game_over():
            ale.reset_game()
            emu.reset()
            progress = start() if update else None
            if (bad := _compare(frame, ale, emu, after_reset=True)) is not None:
                return frame, bad
    return frames, None


# Pong, Breakout and one game of the joystick family by default; the other checked games under --all.
PARITY_GAMES = [
    rom if rom in ("pong", "breakout", "space_invaders") else pytest.param(rom, marks=pytest.mark.full)
    for rom in G.CHECKED
]


@pytest.fixture(scope="module", params=PARITY_GAMES)
def emulator(request):
    return request.param, M.Emulator(M.Machine.for_rom(ale_py.roms.get_rom_path(request.param), pixels=True))


def test_ram_and_screen_match_ale_short(emulator):
    game, emu = emulator
    matched, bad = run_parity(game, SHORT_FRAMES, seed=1, emu=emu)
    assert bad is None, f"{game}: {matched} frames matched\n{bad}"


@pytest.mark.full
@pytest.mark.timeout(7200)  # about 0.1 s per frame for one console on a CPU
def test_ram_and_screen_match_ale_long(emulator):
    game, emu = emulator
    matched, bad = run_parity(game, LONG_FRAMES, seed=2, emu=emu)
    assert bad is None, f"{game}: {matched} frames matched\n{bad}"


def test_screen_difference_names_the_region_and_first_pixel():
    want = np.zeros((210, 160), np.uint8)
    got = want.copy()
    assert screen_difference(want, got) == ""
    got[5, 7] = 0x1E
    got[9, 3] = 0x44
    assert screen_difference(want, got) == (
        "2 pixels in rows 5-9, columns 3-7; first at row 5 column 7: ale=0x00 jax=0x1e"
    )
