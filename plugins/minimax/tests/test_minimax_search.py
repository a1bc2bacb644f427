"""The compiled alpha-beta search: exact against full minimax, equal to its Python twin, and
reproducible under node budgets."""

from functools import lru_cache

import numpy as np
import pytest

from evoengine_minimax import rules
from evoengine_minimax.games import compiled_game
from evoengine_minimax.match import Limits, play_games
from evoengine_minimax.pygames import PyConnectFour, PyIsolation
from evoengine_minimax.reference import PySearcher
from evoengine_minimax.search import WIN, new_scratch, search


def scratch_for(game, depth, tt_bits=14):
    return new_scratch(game.state_size, len(game.features), depth, game.max_moves, tt_bits)


def moves_of(state, game):
    buf = np.empty(game.max_moves + 1, np.int64)
    n, result = rules.moves_or_result(state, buf)
    return [int(m) for m in buf[:n]], int(result)


def full_minimax(state, game, ply=0):
    """Plain negamax without pruning: the game-theoretic value, wins scored by distance.
    Memoized on the exact position (and ply), which changes no value."""
    return _minimax(state.tobytes(), game, ply)


@lru_cache(maxsize=None)
def _minimax(key, game, ply):
    state = np.frombuffer(key, dtype=np.int64).copy()
    moves, result = moves_of(state, game)
    if not moves:
        if result == 2:
            return 0.0
        return WIN - ply if result == state[1] else -(WIN - ply)
    best = -np.inf
    for m in moves:
        child = state.copy()
        rules.play(child, m)
        best = max(best, -_minimax(child.tobytes(), game, ply + 1))
    return best


def random_position(game, plies, rng):
    s = game.new_state()
    for _ in range(plies):
        moves, _ = moves_of(s, game)
        if not moves:
            break
        rules.play(s, int(rng.choice(moves)))
    return s


def test_tictactoe_exact_search_equals_full_minimax():
    game = compiled_game("tictactoe")
    rng = np.random.default_rng(0)
    weights = np.zeros(len(game.features))
    sc = scratch_for(game, 9)
    positions = [game.new_state()] + [random_position(game, k, rng) for k in (1, 2, 3, 4, 5)
                                      for _ in range(4)]
    for s in positions:
        moves, _ = moves_of(s, game)
        if len(moves) < 2:
            continue
        move, value, depth, _ = search(s, weights, 9, 0, 0, *sc)
        assert value == full_minimax(s, game)
        child = s.copy()
        rules.play(child, move)
        assert -full_minimax(child, game, 1) == value  # the chosen move achieves it


@lru_cache(maxsize=None)
def _ttt_value(cells: tuple, side: int) -> int:
    """Outcome for the side to move with perfect play: 1 win, 0 draw, -1 loss."""
    lines = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8),
             (2, 4, 6)]
    for a, b, c in lines:
        if cells[a] and cells[a] == cells[b] == cells[c]:
            return 1 if cells[a] == side + 1 else -1
    free = [i for i in range(9) if not cells[i]]
    if not free:
        return 0
    return max(-_ttt_value(cells[:i] + (side + 1,) + cells[i + 1:], 1 - side) for i in free)


@pytest.mark.parametrize("perfect_side", [0, 1])
def test_tictactoe_perfect_player_never_loses(perfect_side):
    """Against every possible sequence of opponent moves."""
    game = compiled_game("tictactoe")
    weights = np.zeros(len(game.features))
    sc = scratch_for(game, 9)
    games = 0

    def explore(s):
        nonlocal games
        moves, result = moves_of(s, game)
        if not moves:
            games += 1
            assert result in (perfect_side, 2)
            return
        if s[1] == perfect_side:
            move, *_ = search(s, weights, 9, 0, 0, *sc)
            child = s.copy()
            rules.play(child, int(move))
            explore(child)
        else:
            for m in moves:
                child = s.copy()
                rules.play(child, m)
                explore(child)

    explore(game.new_state())
    assert games > 50
    assert _ttt_value((0,) * 9, 0) == 0


@pytest.mark.parametrize("size", [4, 5])
def test_small_isolation_boards_solved_exactly(size):
    game = compiled_game("isolation", size)
    rng = np.random.default_rng(size)
    weights = np.zeros(len(game.features))
    weights[0] = 1.0
    sc = scratch_for(game, 40)
    checked = 0
    for _ in range(6):
        # 4x4 from the first placement; 5x5 part-played, so plain minimax stays quick.
        s = random_position(game, 8 if size == 5 else 1, rng)
        moves, _ = moves_of(s, game)
        if len(moves) < 2:
            continue
        _, value, _, _ = search(s, weights, 40, 0, 0, *sc)
        assert value == full_minimax(s, game)
        assert abs(value) > WIN - 100  # solved: a proven win or loss, no heuristic value
        checked += 1
    assert checked >= 3


def assert_same_tree(game, py, opening, depth):
    """The compiled search and the Python reference, after the same opening, with and without
    a node budget: the same move, value and node counts."""
    s = game.new_state()
    for m in opening:
        rules.play(s, m)
        py = py.play(m)
    w = np.linspace(1.0, -1.0, len(game.features))
    for budget in (0, 700):
        compiled = search(s, w, depth, budget, 0, *scratch_for(game, depth))
        python = PySearcher(list(w), tt_bits=14).search(py, depth, budget)
        assert (int(compiled[0]), compiled[1], int(compiled[2]), int(compiled[3])) == \
            (python[0], pytest.approx(python[1], abs=1e-9), python[2], python[3])


@pytest.mark.parametrize("name, cls, opening, depth", [
    ("isolation", PyIsolation, [24, 10], 5), ("isolation", PyIsolation, [3, 30, 16], 6),
    ("connect_four", PyConnectFour, [3, 3], 6), ("connect_four", PyConnectFour, [0, 6, 2], 5)])
def test_compiled_and_python_search_visit_the_same_tree(name, cls, opening, depth):
    assert_same_tree(compiled_game(name), cls(), opening, depth)


@pytest.mark.parametrize("size, opening, depth", [(8, [63, 0], 5), (8, [27, 46, 10], 5),
                                                 (9, [40, 12], 4), (5, [12, 0], 7)])
def test_isolation_boards_searched_on_bitboard_and_cells_visit_the_reference_tree(
        size, opening, depth):
    """8 x 8 runs on the bitboard with the knight's cells in the sign bit (63), 9 x 9 on the
    cells: the same values, moves and node counts as the Python reference."""
    assert_same_tree(compiled_game("isolation", size), PyIsolation(size), opening, depth)


def test_node_budget_is_reproducible_and_bounds_the_work():
    game = compiled_game("isolation")
    s = random_position(game, 2, np.random.default_rng(5))
    w = np.zeros(len(game.features))
    w[:2] = 1.0, -1.0
    runs = [search(s, w, 30, 2_000, 0, *scratch_for(game, 30)) for _ in range(2)]
    assert runs[0] == runs[1]
    move, value, depth, nodes = runs[0]
    assert 1 <= depth < 30 and nodes <= 2_000 + 1
    deeper = search(s, w, 30, 20_000, 0, *scratch_for(game, 30))
    assert deeper[2] >= depth


def test_time_limit_returns_a_legal_move():
    game = compiled_game("connect_four")
    s = game.new_state()
    w = np.ones(len(game.features))
    move, _, depth, _ = search(s, w, 40, 0, 20_000_000, *scratch_for(game, 40))
    assert move in moves_of(s, game)[0] and depth >= 1


def test_games_do_not_depend_on_threads():
    game = compiled_game("isolation", 5)
    w = np.array([[1, 0, 0, 0, 0, 0, 0, 0], [1, -1, 0, 0, 0, 0, 0.2, -0.2]], float)
    first = np.tile([0, 1], 40)
    openings = np.repeat(np.arange(40), 2)
    args = (game, w, first, 1 - first, openings, 11, Limits(depth=3))
    serial = play_games(*args, parallel=False)
    parallel = play_games(*args, parallel=True)
    assert np.array_equal(serial.results, parallel.results)
    assert np.array_equal(serial.nodes, parallel.nodes)
    assert set(serial.results.tolist()) <= {0, 1}  # Isolation has no draws


@pytest.mark.parametrize("name, size", [("othello", 6), ("othello", 8), ("tictactoe", None),
                                        ("isolation", 9), ("connect_four", None)])
def test_every_game_searches_with_every_feature(name, size):
    """Each game has its own compiled search: each must compile (nothing in the node loop may
    allocate) and give a legal move, the same on a second run with fresh buffers."""
    game = compiled_game(name, size)
    s = random_position(game, 4, np.random.default_rng(2))
    w = np.linspace(1.0, -1.0, len(game.features))
    first = search(s, w, 3, 0, 0, *scratch_for(game, 3))
    assert int(first[0]) in moves_of(s, game)[0] and first[3] > 0
    assert search(s, w, 3, 0, 0, *scratch_for(game, 3)) == first


def test_table_keeps_the_deepest_result_beside_the_latest():
    """Buckets of two slots: the first keeps the deepest result, the second the latest other
    one; the compiled table and the Python reference's replace the same entries."""
    from evoengine_minimax.search import _probe, _store

    tt = np.zeros((8, 3), np.int64)
    tt_val = tt.view(np.float64)
    py = PySearcher([0.0], tt_bits=3)
    # keys 2, 3 and 10 share bucket 2; each stores its key as its best move, so a look-up
    # that finds it returns the key as the hint
    steps = [(2, 5, {2}), (3, 2, {2, 3}), (10, 1, {2, 10}), (3, 6, {3, 10}), (10, 4, {3, 10}),
             (2, 6, {2, 10}), (2, 1, {2, 10})]
    for key, depth, present in steps:
        bucket = _probe(key, depth, 0, -1.0, 1.0, tt, tt_val)[0]
        assert bucket == 2
        _store(key, bucket, depth, 0, 0.5, -1.0, 1.0, key, tt, tt_val)
        py._put(py._slot(_Keyed(key))[0], (key, depth, 0, 0.5, key))
        for k in (2, 3, 10):
            found = _probe(k, 0, 0, -1.0, 1.0, tt, tt_val)[1] == k
            assert found == (k in present)
            assert (py._entry(2, k) is not None) == found
    # the deepest survives: 2 was stored at depth 6 into the first slot, the shallow 2 after
    # it (same position) replaced it there
    assert tt[2, 0] == 2 and (tt[2, 2] & 255) == 1


class _Keyed:
    def __init__(self, key):
        self._key = key

    def key(self):
        return self._key
