"""OpenSpiel as a second referee: random games of Tic-tac-toe, Connect Four, Hex, Othello and 9x9
Go played by gymx (batched, uniform over the legal moves) and replayed move by move in OpenSpiel,
comparing the player to move and the legal moves before every move, the boards after it (Go's
captures, Othello's flips), terminal detection, and both players' returns. 200 games per game by
default, 2,000 with --all.

Where the rules match and where they are set to match:

- Tic-tac-toe, Connect Four (6 rows x 7 columns, 4 in a row): the same rules; cells and columns
  are numbered alike.
- Hex: OpenSpiel's 11x11 board without the swap rule (`swap=False` on both sides; gymx's default
  swap move, action N*N, has no OpenSpiel counterpart in this check). Cells are numbered alike
  (row-major, row 0 at the top, each row shifted half a cell right of the one above); player 0
  joins top and bottom in both.
- Othello: the same start (white on d4 and e5), the same numbering (row 0 is rank 1) and pass
  action 64, legal exactly when the mover has no placement. The game ends when neither player
  can place a disc; more discs wins, equal counts draw.
- Go 9x9: both Tromp-Taylor area scoring with komi 7.5 (so no draws), suicide illegal, simple ko
  (neither bans longer cycles: no superko), pass always legal, two passes in a row end the game,
  and a cap of 2 * 9 * 9 = 162 moves (passes included) after which the position is scored
  (OpenSpiel's `max_game_length=162`; gymx's `max_moves` default). No resignation on either
  side. The numbering differs: gymx's point row * 9 + col has row 0 at the top, OpenSpiel's action
  has row 0 at the bottom (A1 is 0); pass is 81 in both.
  One rule differs: a stone move that recreates an earlier board (a longer cycle than a ko:
  triple ko, sending two returning one) ends OpenSpiel's game at once as a draw (its positional
  superko check, scored as a draw for simplicity), while gymx, with no superko, plays on until two
  passes or the move cap. Neither is a bug: both are documented simplifications of a superko
  rule. Such games (about 0.15% of random 9x9 games) are checked up to that move, the
  repetition itself is confirmed on gymx's boards, and they are counted apart.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pyspiel = pytest.importorskip("pyspiel")

from gymx.envs.board_games.connect_four import ConnectFour  # noqa: E402
from gymx.envs.board_games.go import Go  # noqa: E402
from gymx.envs.board_games.hex import Hex  # noqa: E402
from gymx.envs.board_games.othello import Othello  # noqa: E402
from gymx.envs.board_games.tic_tac_toe import TicTacToe  # noqa: E402

from gymx.two_player import TwoPlayerEnv, uniform_random_legal  # noqa: E402

GO_SIZE = 9


def _identity(action: int) -> int:
    return action


def _go_action(action: int) -> int:
    """A gymx Go point (row 0 at the top) as OpenSpiel's action (row 0 at the bottom); pass stays."""
    if action == GO_SIZE * GO_SIZE:
        return action
    row, col = divmod(action, GO_SIZE)
    return (GO_SIZE - 1 - row) * GO_SIZE + col


def _go_board(state) -> np.ndarray:
    """OpenSpiel's 9x9 Go board in gymx's layout: int8 (81,), 1 black, -1 white, 0 empty."""
    planes = np.asarray(state.observation_tensor(0)).reshape(4, GO_SIZE, GO_SIZE)  # black, white, empty, to-play
    return (planes[0] - planes[1])[::-1].astype(np.int8).reshape(-1)


def _othello_board(state) -> np.ndarray:
    """OpenSpiel's Othello board in gymx's layout: int8 (64,), -1 empty, else the player."""
    _, black, white = np.asarray(state.observation_tensor(0)).reshape(3, 64)
    return np.where(black > 0, 0, np.where(white > 0, 1, -1)).astype(np.int8)


@dataclass(frozen=True)
class Case:
    game: Callable[[], TwoPlayerEnv]
    openspiel: str
    params: dict
    max_moves: int
    to_openspiel: Callable[[int], int] = _identity
    openspiel_board: Callable | None = None  # OpenSpiel state -> board as gymx's `game.board`


CASES = {
    "tic_tac_toe": Case(TicTacToe, "tic_tac_toe", {}, 9),
    "connect_four": Case(ConnectFour, "connect_four", {}, 42),
    "hex": Case(functools.partial(Hex, size=11, swap=False), "hex", {"board_size": 11}, 121),
    "othello": Case(Othello, "othello", {}, 64, openspiel_board=_othello_board),
    "go": Case(
        functools.partial(Go, size=GO_SIZE),
        "go",
        {"board_size": GO_SIZE, "komi": 7.5, "max_game_length": 2 * GO_SIZE * GO_SIZE},
        2 * GO_SIZE * GO_SIZE,
        _go_action,
        _go_board,
    ),
}


@functools.cache
def _player(name: str) -> Callable:
    """A jitted batch of random games of case `name`: per move, the mover, its legal mask, the
    move, and after it the terminal flag, both rewards and the board (when compared)."""
    case = CASES[name]
    game = case.game()
    with_board = case.openspiel_board is not None

    def one(key: jax.Array) -> dict:
        reset_key, moves_key = jax.random.split(key)
        state, _ = game.reset(reset_key)

        def move(state, key):
            action = uniform_random_legal(key, state)  # uniform over the mover's legal moves
            after, ts = game.step(state, action)
            record = {
                "player": state.current_player,
                "mask": state.legal_action_mask,
                "action": action,
                "terminated": after.terminated,
                "rewards": ts.info["rewards"],
                "board": after.game.board if with_board else jnp.zeros(0, jnp.int8),
            }
            return after, record

        return jax.lax.scan(move, state, jax.random.split(moves_key, case.max_moves))[1]

    return jax.jit(lambda keys: jax.vmap(one)(keys))


def replay(name: str, num_games: int, seed: int = 0, limit: int = 5) -> tuple[list[str], int]:
    """Replays `num_games` gymx games of case `name` in OpenSpiel: the first `limit`
    disagreements, and how many games OpenSpiel ended on a repeated board (Go's superko)."""
    case = CASES[name]
    games = jax.device_get(_player(name)(jax.random.split(jax.random.key(seed), num_games)))
    referee = pyspiel.load_game(case.openspiel, case.params)
    found: list[str] = []
    superko = 0
    for g in range(num_games):
        state = referee.new_initial_state()
        returns = np.zeros(2)
        for t in range(case.max_moves):
            where = f"{name} game {g} move {t}"
            if state.is_terminal():
                found.append(f"{where}: OpenSpiel's game is over, gymx's is not")
                break
            if state.current_player() != games["player"][g, t]:
                found.append(
                    f"{where}: OpenSpiel has player {state.current_player()} to move, gymx {games['player'][g, t]}"
                )
                break
            ours = sorted(case.to_openspiel(int(a)) for a in np.flatnonzero(games["mask"][g, t]))
            if ours != sorted(state.legal_actions()):
                theirs = set(state.legal_actions())
                found.append(
                    f"{where}: legal moves differ: only gymx {sorted(set(ours) - theirs)}, only OpenSpiel {sorted(theirs - set(ours))}"
                )
                break
            state.apply_action(case.to_openspiel(int(games["action"][g, t])))
            returns += games["rewards"][g, t]
            if case.openspiel_board is not None and not np.array_equal(
                case.openspiel_board(state), games["board"][g, t]
            ):
                found.append(f"{where}: boards differ after the move")
                break
            boards = games["board"][g]
            if (
                name == "go"
                and state.is_terminal()
                and not games["terminated"][g, t]
                and games["action"][g, t] != GO_SIZE * GO_SIZE
                and any(np.array_equal(boards[u], boards[t]) for u in range(t))
            ):
                superko += 1  # OpenSpiel's superko draw; gymx plays on (see the module docstring)
                break
            if state.is_terminal() != bool(games["terminated"][g, t]):
                found.append(
                    f"{where}: terminal: OpenSpiel {state.is_terminal()}, gymx {bool(games['terminated'][g, t])}"
                )
                break
            if state.is_terminal():
                if not np.array_equal(state.returns(), returns):
                    found.append(f"{where}: returns: OpenSpiel {state.returns()}, gymx {returns.tolist()}")
                break
        else:
            if not state.is_terminal():
                found.append(f"{name} game {g}: still running after {case.max_moves} moves")
        if len(found) >= limit:
            break
    return found, superko


@pytest.mark.parametrize("name", sorted(CASES))
def test_random_games_agree_with_openspiel(name: str, request: pytest.FixtureRequest) -> None:
    num_games = 2000 if request.config.getoption("--all") else 200
    found, superko = replay(name, num_games)
    assert found == []
    assert superko <= num_games // 100  # rare, and only in Go
