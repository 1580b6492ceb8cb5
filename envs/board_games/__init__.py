"""Board games: two-player games under `gymx.two_player`'s convention, and their single-agent ids.

Each game class (`TicTacToe`, `ConnectFour`, `Othello`, `Hex`, `Go`) is the two-player env itself; the registered ids are
single-agent `VsOpponent` envs built by `gymx.two_player.make_vs_opponent`: `<Game>-v0` plays the
agent against `uniform_random_legal`, `<Game>OnePly-v0` against the greedy `one_ply` opponent;
`Go9x9-v0`, `Go13x13-v0` and `Go19x19-v0` play against the random opponent and `Go9x9Greedy-v0`
against Go's greedy capturer, as the original Gym's Go9x9-v0 and Go19x19-v0 played against theirs.
The agent is player 0 (moves first) unless made with `agent_player=1` or "random"; an illegal
agent move loses unless made with `illegal_action="mask"`.
"""

from gymx.registration import register

_MODULE = "gymx.envs.board_games"
_VS_OPPONENT = "gymx.two_player:make_vs_opponent"


def register_envs() -> None:
    games = (
        ("TicTacToe", f"{_MODULE}.tic_tac_toe:TicTacToe"),
        ("ConnectFour", f"{_MODULE}.connect_four:ConnectFour"),
        ("Othello", f"{_MODULE}.othello:Othello"),
        ("Hex11x11", f"{_MODULE}.hex:Hex"),
    )
    for name, game in games:
        register(f"{name}-v0", _VS_OPPONENT, kwargs={"game": game, "opponent": "random"})
        register(f"{name}OnePly-v0", _VS_OPPONENT, kwargs={"game": game, "opponent": "one_ply"})
    for size in (9, 13, 19):
        register(
            f"Go{size}x{size}-v0", _VS_OPPONENT, kwargs={"game": f"{_MODULE}.go:Go", "opponent": "random", "size": size}
        )
    register("Go9x9Greedy-v0", f"{_MODULE}.go:make_vs_greedy", kwargs={"size": 9})
