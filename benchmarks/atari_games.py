"""The table of Atari games for the README: every ROM bundled with the installed ale-py, its size, its
cartridge format as ALE's Stella detects it, whether gymx runs that format, and whether the game is
registered as `ALE/<Game>-v5` in gymx (registered means its parity test against ale-py passes: RAM,
screen, reward, game over and lives identical frame by frame, `tests/kernels/atari/test_ale_parity.py`).
Reads only the ROMs' bytes; emulates nothing. Prints markdown.

    python benchmarks/atari_games.py            # the summary and the games gymx registers
    python benchmarks/atari_games.py --all      # one row per bundled ROM
"""

from __future__ import annotations

import argparse
import collections
import hashlib
from pathlib import Path

import ale_py
from gymx.envs.atari import games as G
from gymx.kernels.atari import cartridge

import gymx


def roms() -> list[dict]:
    folder = Path(ale_py.roms.get_rom_path("pong")).parent
    rows = []
    for path in sorted(folder.glob("*.bin")):
        data = path.read_bytes()
        kind = cartridge.stella_type(data)
        game = G.CANDIDATES.get(path.stem)
        registered = game is not None and f"ALE/{game.name}-v5" in gymx.registry
        rows.append(
            {
                "rom": path.stem,
                "size": len(data),
                "format": kind,
                "supported": kind in ("2K", "4K") or kind.removesuffix("SC") in cartridge.SCHEMES,
                "settings": game is not None,
                "registered": registered,
                "md5": hashlib.md5(data).hexdigest(),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="one row per bundled ROM")
    args = parser.parse_args()
    rows = roms()
    formats = collections.Counter(r["format"] for r in rows)
    supported = sum(r["supported"] for r in rows)
    print(
        f"ale-py {ale_py.__version__} bundles {len(rows)} ROMs; gymx's emulator runs the cartridge format of "
        f"{supported} of them.\n"
    )
    print("| cartridge format | ROMs | gymx runs it |")
    print("|---|---:|---|")
    for kind, count in formats.most_common():
        runs = kind in ("2K", "4K") or kind.removesuffix("SC") in cartridge.SCHEMES
        print(f"| {kind} | {count} | {'yes' if runs else 'no'} |")
    print()
    shown = rows if args.all else [r for r in rows if r["settings"]]
    print("| ROM | size | format | settings in gymx | `ALE/<Game>-v5` registered (parity passes) |")
    print("|---|---:|---|---|---|")
    for r in shown:
        game = G.CANDIDATES.get(r["rom"])
        ident = f"`ALE/{game.name}-v5`" if r["registered"] else ""
        print(f"| {r['rom']} | {r['size']} | {r['format']} | {'yes' if r['settings'] else ''} | {ident or 'no'} |")


if __name__ == "__main__":
    main()
