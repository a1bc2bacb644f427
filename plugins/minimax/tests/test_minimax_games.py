"""The compiled games against slow, obviously-correct references written on 2-D grids."""

import numpy as np
import pytest

from evoengine_minimax import rules
from evoengine_minimax.games import compiled_game
from evoengine_minimax.pygames import PyConnectFour, PyIsolation
from evoengine_minimax.state import AUX0, AUX1, BODY, HASH, SIDE


ALL = np.ones(16)  # weights: every feature is needed


def legal(state, game):
    buf = np.empty(game.max_moves + 1, np.int64)
    n, result = rules.moves_or_result(state, buf)
    return sorted(int(m) for m in buf[:n]), int(result)


# --- tic-tac-toe ---------------------------------------------------------------------------
def ttt_winner(cells):
    lines = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8),
             (2, 4, 6)]
    for a, b, c in lines:
        if cells[a] and cells[a] == cells[b] == cells[c]:
            return cells[a] - 1
    return None


def ttt_features(cells, player):
    """The eight features as their names say, counted on the 3x3 board."""
    me, them = player + 1, 2 - player
    lines = [[cells[i] for i in line] for line in TTT_LINES]
    corners = [cells[i] for i in (0, 2, 6, 8)]
    return [sum(them not in line for line in lines),                         # own_open_lines
            sum(me not in line for line in lines),                           # opp_open_lines
            sum(line.count(me) == 2 and them not in line for line in lines),  # own_twos
            sum(line.count(them) == 2 and me not in line for line in lines),  # opp_twos
            cells[4] == me, cells[4] == them,                                # centre
            corners.count(me), corners.count(them)]                          # corners


TTT_LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8),
             (2, 4, 6)]


def test_tictactoe_matches_reference_on_random_games():
    game = compiled_game("tictactoe")
    assert game.features == ("own_open_lines", "opp_open_lines", "own_twos", "opp_twos",
                             "own_centre", "opp_centre", "own_corners", "opp_corners")
    rng = np.random.default_rng(0)
    feats = np.zeros(len(game.features))
    for _ in range(200):
        s, cells = game.new_state(), [0] * 9
        while True:
            moves, result = legal(s, game)
            w = ttt_winner(cells)
            expected = [] if w is not None else [c for c in range(9) if cells[c] == 0]
            assert moves == expected
            for player in (0, 1):
                rules.features(s, player, feats, ALL)
                assert feats.tolist() == ttt_features(cells, player), (cells, player)
            if not moves:
                assert result == (w if w is not None else 2)
                break
            m = int(rng.choice(moves))
            cells[m] = int(s[SIDE]) + 1
            rules.play(s, m)
            assert list(s[BODY:BODY + 9]) == cells


# --- Connect Four --------------------------------------------------------------------------
def grid_four(grid, player):
    rows, cols = len(grid), len(grid[0])
    for r in range(rows):
        for c in range(cols):
            for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                cells = [(r + k * dr, c + k * dc) for k in range(4)]
                if all(0 <= rr < rows and 0 <= cc < cols and grid[rr][cc] == player + 1
                       for rr, cc in cells):
                    return True
    return False


def grid_lines(grid, player, discs):
    """Lines of four with exactly ``discs`` of ``player``'s discs and no opponent disc."""
    rows, cols, count = len(grid), len(grid[0]), 0
    for r in range(rows):
        for c in range(cols):
            for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                cells = [(r + k * dr, c + k * dc) for k in range(4)]
                if all(0 <= rr < rows and 0 <= cc < cols for rr, cc in cells):
                    vals = [grid[rr][cc] for rr, cc in cells]
                    if vals.count(player + 1) == discs and vals.count(2 - player) == 0:
                        count += 1
    return count


def connect_four_features(grid, player):
    """own/opp threes, own/opp twos, own/opp discs in the centre column."""
    centre = [grid[r][3] for r in range(6)]
    return [grid_lines(grid, player, 3), grid_lines(grid, 1 - player, 3),
            grid_lines(grid, player, 2), grid_lines(grid, 1 - player, 2),
            centre.count(player + 1), centre.count(2 - player)]


def test_connect_four_matches_grid_reference():
    game = compiled_game("connect_four")
    assert game.features == ("own_threes", "opp_threes", "own_twos", "opp_twos", "own_centre",
                             "opp_centre")
    rng = np.random.default_rng(1)
    feats = np.zeros(len(game.features))
    for _ in range(20):
        s = game.new_state()
        grid = [[0] * 7 for _ in range(6)]
        last = None
        while True:
            moves, result = legal(s, game)
            won = last is not None and grid_four(grid, last)
            full = all(grid[5][c] for c in range(7))
            if won:
                assert moves == [] and result == last
                break
            if full:
                assert moves == [] and result == 2
                break
            assert moves == [c for c in range(7) if grid[5][c] == 0]
            for player in (0, 1):
                rules.features(s, player, feats, ALL)
                assert feats.tolist() == connect_four_features(grid, player)
            m = int(rng.choice(moves))
            row = next(r for r in range(6) if grid[r][m] == 0)
            grid[row][m] = int(s[SIDE]) + 1
            last = int(s[SIDE])
            rules.play(s, m)


# --- Isolation -----------------------------------------------------------------------------
KNIGHT = [(-2, -1), (-2, 1), (-1, -2), (-1, 2), (1, -2), (1, 2), (2, -1), (2, 1)]


def isolation_features(size, blocked, pos, player):
    """own/opp: open knight moves; Manhattan distance to the board's centre; knight targets on
    the board but blocked; the open moves after each open move. A player not yet placed may go
    to any blank cell and has no position (0 for the rest)."""
    def targets(cell):
        r, c = divmod(cell, size)
        return [(r + dr) * size + c + dc for dr, dc in KNIGHT
                if 0 <= r + dr < size and 0 <= c + dc < size]

    def one_side(p):
        if pos[p] is None:
            return [size * size - len(blocked), 0, 0, 0]
        r, c = divmod(pos[p], size)
        open_ = [t for t in targets(pos[p]) if t not in blocked]
        centre = (size - 1) / 2
        return [len(open_), abs(r - centre) + abs(c - centre), len(targets(pos[p])) - len(open_),
                sum(len([u for u in targets(t) if u not in blocked]) for t in open_)]

    own, opp = one_side(player), one_side(1 - player)
    return [value for pair in zip(own, opp, strict=True) for value in pair]


@pytest.mark.parametrize("size", [3, 4, 5, 7, 8, 9])
def test_isolation_matches_grid_reference(size):
    """Boards of up to 8 x 8 run on the bitboard (8 x 8 uses the sign bit), 9 x 9 on the
    cells: both must give the grid's moves, in the same order, and features."""
    game = compiled_game("isolation", size)
    assert game.features == ("own_moves", "opp_moves", "own_centre_distance",
                             "opp_centre_distance", "own_blocked_neighbours",
                             "opp_blocked_neighbours", "own_second_moves", "opp_second_moves")
    rng = np.random.default_rng(size)
    feats = np.zeros(len(game.features))
    for _ in range(40):
        s = game.new_state()
        blocked, pos = set(), [None, None]
        while True:
            side = int(s[SIDE])

            def moves_of(p):
                if pos[p] is None:
                    return [c for c in range(size * size) if c not in blocked]
                r, c = divmod(pos[p], size)
                return [(r + dr) * size + c + dc for dr, dc in KNIGHT
                        if 0 <= r + dr < size and 0 <= c + dc < size
                        and (r + dr) * size + c + dc not in blocked]

            moves, result = legal(s, game)
            assert moves == sorted(moves_of(side))
            if not moves:
                assert result == 1 - side  # no legal move loses
                break
            for p in (0, 1):
                rules.features(s, p, feats, ALL)
                assert feats[0] == len(moves_of(p)) and feats[1] == len(moves_of(1 - p))
                assert feats.tolist() == isolation_features(size, blocked, pos, p)
            m = int(rng.choice(moves))
            blocked.add(m)  # the cell stays blocked for the rest of the game
            pos[side] = m
            rules.play(s, m)
            assert s[AUX0] == (pos[0] if pos[0] is not None else -1)
            assert s[AUX1] == (pos[1] if pos[1] is not None else -1)


def test_python_isolation_and_connect_four_follow_the_compiled_rules():
    """The Python peers of the benchmarks: same moves, features and hashes, move by move."""
    rng = np.random.default_rng(3)
    for name, cls in (("isolation", PyIsolation), ("connect_four", PyConnectFour)):
        game = compiled_game(name)
        feats = np.zeros(len(game.features))
        for _ in range(20):
            s, py = game.new_state(), cls()
            while True:
                buf = np.empty(game.max_moves + 1, np.int64)
                n, _ = rules.moves_or_result(s, buf)
                assert [int(m) for m in buf[:n]] == py.legal_moves()
                assert s[HASH] == py.key()
                if n == 0:
                    break
                rules.features(s, 0, feats, ALL)
                assert list(feats) == py.features(0)
                m = int(buf[rng.integers(n)])
                rules.play(s, m)
                py = py.play(m)


# --- Othello -------------------------------------------------------------------------------
def othello_flips(grid, r, c, player):
    n, flips = len(grid), []
    if grid[r][c]:
        return flips
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr == dc == 0:
                continue
            run, rr, cc = [], r + dr, c + dc
            while 0 <= rr < n and 0 <= cc < n and grid[rr][cc] == 2 - player:
                run.append((rr, cc))
                rr, cc = rr + dr, cc + dc
            if run and 0 <= rr < n and 0 <= cc < n and grid[rr][cc] == player + 1:
                flips += run
    return flips


def othello_edge_stable(grid, player):
    """Discs in a run of ``player``'s discs along an edge from a corner they hold: the feature's
    rule (a lower bound on the discs that can never flip)."""
    n, stable = len(grid), set()
    for r, c in ((0, 0), (0, n - 1), (n - 1, 0), (n - 1, n - 1)):
        for dr, dc in ((0, 1 if c == 0 else -1), (1 if r == 0 else -1, 0)):
            rr, cc = r, c
            while 0 <= rr < n and 0 <= cc < n and grid[rr][cc] == player + 1:
                stable.add((rr, cc))
                rr, cc = rr + dr, cc + dc
    return stable


def othello_features(grid, side, player):
    """Mobility, corners, edge-anchored stable discs, parity and disc difference for
    ``player`` when ``side`` is to move."""
    n = len(grid)
    me, them = player + 1, 2 - player

    def mobility(p):
        return sum(bool(othello_flips(grid, r, c, p)) for r in range(n) for c in range(n))

    corners = [grid[r][c] for r in (0, n - 1) for c in (0, n - 1)]
    empty = sum(v == 0 for row in grid for v in row)
    # With no passes, the side to move makes moves 1, 3, 5...: the last one if empty is odd.
    last_mover = side if empty % 2 == 1 else 1 - side
    return [mobility(player), mobility(1 - player), corners.count(me), corners.count(them),
            len(othello_edge_stable(grid, player)), len(othello_edge_stable(grid, 1 - player)),
            1.0 if last_mover == player else -1.0,
            sum((v == me) - (v == them) for row in grid for v in row)]


@pytest.mark.parametrize("size", [6, 8])
def test_othello_matches_grid_reference(size):
    game = compiled_game("othello", size)
    assert game.features == ("own_mobility", "opp_mobility", "own_corners", "opp_corners",
                             "own_stable", "opp_stable", "parity", "disc_difference")
    rng = np.random.default_rng(size)
    corner_games = 0
    feats = np.zeros(len(game.features))
    for _ in range(15):
        s = game.new_state()
        grid = [[int(s[BODY + r * size + c]) for c in range(size)] for r in range(size)]
        h = size // 2
        assert sorted((r, c) for r in range(size) for c in range(size) if grid[r][c]) == \
            [(h - 1, h - 1), (h - 1, h), (h, h - 1), (h, h)]
        stable_seen = {}  # cell -> the player it was counted stable for
        while True:
            side = int(s[SIDE])
            # a disc counted stable never flips afterwards
            for (r, c), p in stable_seen.items():
                assert grid[r][c] == p + 1, ("a stable disc flipped", r, c)
            for p in (0, 1):
                stable_seen.update(dict.fromkeys(othello_edge_stable(grid, p), p))
            mine = [r * size + c for r in range(size) for c in range(size)
                    if othello_flips(grid, r, c, side)]
            theirs = [1 for r in range(size) for c in range(size)
                      if othello_flips(grid, r, c, 1 - side)]
            moves, result = legal(s, game)
            if mine:
                assert moves == mine
            elif theirs:
                assert moves == [size * size]  # pass
            else:
                assert moves == []
                black = sum(v == 1 for row in grid for v in row)
                white = sum(v == 2 for row in grid for v in row)
                assert result == (2 if black == white else (0 if black > white else 1))
                break
            for player in (0, 1):
                rules.features(s, player, feats, ALL)
                assert feats.tolist() == othello_features(grid, side, player)
            assert feats[0 if side == 1 else 1] == len(mine)
            m = int(rng.choice(moves))
            if m < size * size:
                r, c = divmod(m, size)
                for rr, cc in othello_flips(grid, r, c, side):
                    grid[rr][cc] = side + 1
                grid[r][c] = side + 1
            rules.play(s, m)
            assert [[int(s[BODY + r * size + c]) for c in range(size)]
                    for r in range(size)] == grid
        corner_games += bool(stable_seen)
    assert corner_games >= 5  # the stable-disc feature was exercised, not only zero


def test_every_game_names_its_features():
    for name in ("isolation", "connect_four", "tictactoe", "othello"):
        game = compiled_game(name)
        out = np.full(len(game.features), np.nan)
        rules.features(game.new_state(), 0, out, ALL)
        assert np.isfinite(out).all() and len(set(game.features)) == len(game.features)


def test_isolation_skips_only_the_features_whose_weight_is_zero():
    game = compiled_game("isolation")
    s = game.new_state()
    for m in (24, 10, 41):
        rules.play(s, m)
    full, partial = np.zeros(8), np.zeros(8)
    rules.features(s, 0, full, ALL)
    needed = np.ones(8)
    needed[6:] = 0.0
    rules.features(s, 0, partial, needed)
    assert partial[:6].tolist() == full[:6].tolist() and partial[6:].tolist() == [0.0, 0.0]
    assert full[6] > 0


# --- perft and the search's make/unmake ---------------------------------------------------
def slow_perft(state, game, depth):
    """Sequences of ``depth`` moves over copies of the state (a finished game counts once)."""
    moves, _ = legal(state, game)
    if depth == 0 or not moves:
        return 1
    total = 0
    for m in moves:
        child = state.copy()
        rules.play(child, m)
        total += slow_perft(child, game, depth - 1)
    return total


@pytest.mark.parametrize("name, size, depth, published", [
    ("tictactoe", None, 9, 255_168),        # every complete game of tic-tac-toe
    ("connect_four", None, 7, 823_536),     # 7**7 less the seven one-column sequences
    ("othello", 8, 6, 8_200),
    ("isolation", 5, 3, None)])
def test_perft_counts(name, size, depth, published):
    from evoengine_minimax.perft import perft

    game = compiled_game(name, size)
    start = game.new_state()
    if published is not None:
        assert perft(game, start, depth) == published
    # part-played positions (wins and passes on the way) against the count over copies
    rng = np.random.default_rng(7)
    for plies in (2, 5):
        s = start.copy()
        for _ in range(plies):
            moves, _ = legal(s, game)
            if moves:
                rules.play(s, int(rng.choice(moves)))
        d = 4 if name != "othello" else 3
        before = s.copy()
        assert perft(game, s, d) == slow_perft(s, game, d)
        assert np.array_equal(s, before)


@pytest.mark.parametrize("name, size", [("tictactoe", None), ("connect_four", None),
                                        ("othello", 6), ("isolation", 5), ("isolation", 7)])
def test_make_then_unmake_restores_the_state_exactly(name, size):
    """The search plays and takes back moves in place: every field, the hash included, must
    come back, and a made move must equal the copying ``play``."""
    from evoengine_minimax.rules import make_in, unmake_in

    game = compiled_game(name, size)
    rng = np.random.default_rng(11)
    saved = np.zeros((2, game.state_size), np.int64)
    for _ in range(10):
        s = game.new_state()
        while True:
            moves, _ = legal(s, game)
            if not moves:
                break
            for m in moves:
                before, played = s.copy(), s.copy()
                rules.play(played, m)
                undo = make_in(game.game_id, s, m, saved, 1)
                assert np.array_equal(s, played)
                unmake_in(game.game_id, s, m, undo, saved, 1)
                assert np.array_equal(s, before)
            rules.play(s, int(rng.choice(moves)))


def test_connect_four_bit_parallel_lines_equal_the_window_count():
    """The features count all 69 lines at once with bit tricks; the reference tests each
    line's mask on its own."""
    from evoengine_minimax.connect_four import WINDOWS_7X6

    game = compiled_game("connect_four")
    rng = np.random.default_rng(5)
    out = np.zeros(6)
    for _ in range(40):
        s = game.new_state()
        while True:
            moves, _ = legal(s, game)
            if not moves:
                break
            rules.play(s, int(rng.choice(moves)))
            for player in (0, 1):
                rules.features(s, player, out, ALL)
                mine, theirs = int(s[BODY + player]), int(s[BODY + 1 - player])
                counts = [0] * 4
                for m in WINDOWS_7X6.tolist():
                    a, b = bin(mine & m).count("1"), bin(theirs & m).count("1")
                    counts[0] += b == 0 and a == 3
                    counts[1] += a == 0 and b == 3
                    counts[2] += b == 0 and a == 2
                    counts[3] += a == 0 and b == 2
                assert out[:4].tolist() == counts


@pytest.mark.parametrize("size", [3, 7, 8, 9])
def test_isolation_bitboard_follows_the_cells(size):
    """Boards of up to 8 x 8 keep their blocked cells as a bitboard too (for popcount)."""
    game = compiled_game("isolation", size)
    rng = np.random.default_rng(size)
    for _ in range(10):
        s = game.new_state()
        while True:
            moves, _ = legal(s, game)
            if size <= 8:
                cells = [c for c in range(size * size) if s[BODY + c]]
                assert int(s[BODY + size * size]) & (2**64 - 1) == sum(1 << c for c in cells)
            else:
                assert s[BODY + size * size] == 0
            if not moves:
                break
            rules.play(s, int(rng.choice(moves)))
