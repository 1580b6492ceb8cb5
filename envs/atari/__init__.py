"""Atari 2600 games from their ROMs (read from the installed ale-py package), with ALE v5's semantics."""

from gymx.registration import register

_MODULE = "gymx.envs.atari"


def register_envs() -> None:
    from gymx.envs.atari.games import GAMES

    for game in GAMES.values():
        # ale-py's v5 kwargs. No max_episode_steps: the env truncates at 108,000 emulated frames
        # itself, as ALE does (see gymx.envs.atari.ale).
        register(
            f"ALE/{game.name}-v5",
            f"{_MODULE}.ale:AtariEnv",
            kwargs=dict(
                game=game.rom,
                repeat_action_probability=0.25,
                full_action_space=False,
                frameskip=4,
                max_num_frames_per_episode=108_000,
            ),
        )
