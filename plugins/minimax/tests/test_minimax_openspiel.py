"""OpenSpiel games through :mod:`evoengine_minimax.openspiel`, checked against the compiled
tic-tac-toe and exact search; and the Python search on games where a player moves twice."""

import subprocess
import sys
from functools import cache

import numpy as np
import pytest

from evoengine.errors import ConfigError
from evoengine_minimax import rules
from evoengine_minimax.games import compiled_game
from evoengine_minimax.protocol import check_game_class
from evoengine_minimax.reference import PySearcher
from evoengine_minimax.search import WIN, new_scratch, search
from evoengine_minimax.state import BODY, SIDE

pyspiel = pytest.importorskip(
    "pyspiel", reason="OpenSpiel not installed: pip install 'evoengine-minimax[openspiel]'")

from evoengine_minimax.openspiel import openspiel_game_class


@pytest.fixture(scope="module")
def ttt():
    return openspiel_game_class("tic_tac_toe")


def compiled_moves(state, game):
    buf = np.empty(game.max_moves + 1, np.int64)
    n, result = rules.moves_or_result(state, buf)
    return [int(m) for m in buf[:n]], int(result)


def test_adapter_follows_the_protocol_and_names_its_features(ttt):
    check_game_class(ttt)
    assert ttt.FEATURES == ("own_mobility", "opp_mobility", "obs_0", "obs_1", "obs_2")


def test_adapter_agrees_with_compiled_tictactoe_along_random_games(ttt):
    game = compiled_game("tictactoe")
    rng = np.random.default_rng(4)
    finished = {0: 0, 1: 0, 2: 0}
    for _ in range(60):
        state, position = game.new_state(), ttt()
        last_mobility = {0: 9, 1: 9}  # before a player's first turn: the first player's count
        while True:
            moves, result = compiled_moves(state, game)
            assert sorted(position.legal_moves()) == sorted(moves)
            assert position.to_move == int(state[SIDE])
            if not moves:
                assert position.result() == result
                finished[result] += 1
                break
            assert position.result() is None
            side = position.to_move
            last_mobility[side] = len(moves)
            cells = state[BODY:BODY + 9]
            for player in (0, 1):
                own, opp, empty, noughts, crosses = position.features(player)
                assert (own, opp) == (last_mobility[player], last_mobility[1 - player])
                # OpenSpiel's planes: empty, noughts (player 1), crosses (player 0)
                assert (empty, noughts, crosses) == (np.sum(cells == 0), np.sum(cells == 2),
                                                     np.sum(cells == 1))
            move = int(rng.choice(moves))
            child = position.play(move)
            assert child is not position and len(position.legal_moves()) == len(moves)
            rules.play(state, move)
            position = child
    assert all(finished.values())  # wins for each side and draws were all compared


def test_exact_search_through_the_adapter_equals_the_compiled_search(ttt):
    game = compiled_game("tictactoe")
    scratch = new_scratch(game.state_size, len(game.features), 9, game.max_moves, 14)
    rng = np.random.default_rng(1)
    for plies in (0, 1, 2, 3, 4, 5, 5):
        state, position = game.new_state(), ttt()
        for _ in range(plies):
            move = int(rng.choice(compiled_moves(state, game)[0]))
            rules.play(state, move)
            position = position.play(move)
        if len(compiled_moves(state, game)[0]) < 2:
            continue
        _, expected, *_ = search(state, np.zeros(len(game.features)), 9, 0, 0, *scratch)
        move, value, *_ = PySearcher([0.0] * len(ttt.FEATURES)).search(position, 9)
        assert value == expected
        assert abs(value) < WIN - 9 or plies > 0  # the start is a draw


@pytest.mark.parametrize("perfect_side", [0, 1])
def test_perfect_player_through_the_adapter_never_loses(ttt, perfect_side):
    """Against every sequence of opponent moves."""
    searcher = PySearcher([0.0] * len(ttt.FEATURES))
    outcomes = []

    def explore(position):
        if position.result() is not None:
            outcomes.append(position.result())
            return
        if position.to_move == perfect_side:
            move, *_ = searcher.search(position, 9)
            explore(position.play(move))
        else:
            for move in position.legal_moves():
                explore(position.play(move))

    explore(ttt())
    assert len(outcomes) > 50
    assert set(outcomes) <= {perfect_side, 2}


@pytest.mark.parametrize("name, why", [
    ("matrix_pd", "utility GENERAL_SUM (needs ZERO_SUM or CONSTANT_SUM)"),
    ("oshi_zumo", "dynamics SIMULTANEOUS (needs SEQUENTIAL)"),
    ("kuhn_poker", "information IMPERFECT_INFORMATION (needs PERFECT_INFORMATION)"),
    ("backgammon", "chance mode EXPLICIT_STOCHASTIC (needs DETERMINISTIC)"),
    ("checkers(rows=6,columns=6)", "its starting position is already over"),
])
def test_games_alpha_beta_cannot_search_are_refused(name, why):
    with pytest.raises(ConfigError) as err:
        openspiel_game_class(name)
    message = str(err.value)
    assert "\n" not in message and why in message
    assert message.startswith(f"setting 'game': OpenSpiel game '{name}' cannot be searched")


def test_unknown_game_lists_the_searchable_ones():
    with pytest.raises(ConfigError, match=r"unknown OpenSpiel game 'nope'; searchable ones: "
                                          r".*\btic_tac_toe\b") as err:
        openspiel_game_class("nope")
    assert "\n" not in str(err.value) and "kuhn_poker" not in str(err.value)


def test_cli_tunes_an_openspiel_game(evoengine_cmd, cli_env, tmp_path):
    tiny = ["game=openspiel:tic_tac_toe", "depth=2", "population_size=4", "generations=1",
            "pairs=1", "report_pairs=2", "sprt_max_pairs=4", "null_pairs=2"]
    args = [a for item in tiny for a in ("--set", item)]
    done = subprocess.run([*evoengine_cmd, "run", "minimax", "--seed", "1", "-q", "--out",
                           str(tmp_path), *args], capture_output=True, text=True, env=cli_env,
                          timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    assert "best heuristic: own_mobility" in done.stdout
    assert (next(tmp_path.iterdir()) / "tuned_heuristic.json").exists()
    bad = subprocess.run([*evoengine_cmd, "run", "minimax", "--set", "game=openspiel:matrix_pd"],
                         capture_output=True, text=True, env=cli_env, timeout=240, check=False)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0
    assert bad.stderr.startswith("error: setting 'game': OpenSpiel game 'matrix_pd'")


class TwiceNim:
    """Take 1 or 2 stones; taking 2 with stones left gives you another move; whoever takes the
    last stone loses. A game where a player may move twice in a row, as some OpenSpiel games
    (checkers' multi-jumps) do."""

    FEATURES = ("stones",)

    def __init__(self, stones=9, to_move=0):
        self.stones, self.to_move = stones, to_move

    def legal_moves(self):
        return [k for k in (1, 2) if k <= self.stones]

    def play(self, move):
        again = move == 2 and self.stones > 2
        return TwiceNim(self.stones - move, self.to_move if again else 1 - self.to_move)

    def result(self):
        return None if self.stones else self.to_move  # the last mover took the last stone

    def features(self, player):
        return [float(self.stones)]

    def key(self):
        return (self.stones, self.to_move)


@cache
def winner(stones: int, to_move: int) -> int:
    """Brute force, by players rather than signs: who wins with perfect play."""
    position = TwiceNim(stones, to_move)
    if position.result() is not None:
        return position.result()
    outcomes = [winner(child.stones, child.to_move)
                for child in map(position.play, position.legal_moves())]
    return to_move if to_move in outcomes else 1 - to_move


def test_python_search_handles_a_player_moving_twice():
    wins = []
    for stones in range(2, 14):
        _, value, *_ = PySearcher([0.0], tt_bits=8).search(TwiceNim(stones), 30)
        assert abs(value) > WIN - 40  # solved, not a horizon guess
        assert (value > 0) == (winner(stones, 0) == 0)
        wins.append(value > 0)
    assert any(wins) and not all(wins)  # both outcomes occur


def test_missing_openspiel_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspiel", None)  # import now fails
    with pytest.raises(ConfigError, match=r"pip install 'evoengine-minimax\[openspiel\]'"):
        openspiel_game_class("tic_tac_toe")
