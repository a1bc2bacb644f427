"""Isolation and Connect Four as plain Python classes of the :mod:`~evoengine_minimax.protocol`.

They follow the compiled rules move for move (same move order, same features, same Zobrist
hash), so :mod:`evoengine_minimax.reference` searches the same trees as the compiled search:
the benchmarks' pure-Python peer, and worked examples of the protocol.
"""

from __future__ import annotations

from evoengine_minimax import connect_four, isolation
from evoengine_minimax.state import SIDE_KEY, ZOBRIST

_Z = ZOBRIST.tolist()
_SIDE = int(SIDE_KEY)
_JUMPS = isolation.JUMPS.tolist()


class PyIsolation:
    """Isolation on a ``size`` x ``size`` board (see :mod:`evoengine_minimax.isolation`)."""

    FEATURES = isolation.FEATURES

    def __init__(self, size: int = 7) -> None:
        self.size = size
        self.blocked = [False] * (size * size)
        self.pos = [-1, -1]
        self.to_move = 0
        self.hash = 0

    def key(self) -> int:
        return self.hash

    def _knight(self, cell: int) -> list[int]:
        n, out = self.size, []
        r, c = divmod(cell, n)
        for dr, dc in _JUMPS:
            rr, cc = r + dr, c + dc
            if 0 <= rr < n and 0 <= cc < n and not self.blocked[rr * n + cc]:
                out.append(rr * n + cc)
        return out

    def _moves_of(self, player: int) -> list[int]:
        cell = self.pos[player]
        if cell >= 0:
            return self._knight(cell)
        return [c for c, b in enumerate(self.blocked) if not b]

    def legal_moves(self) -> list[int]:
        return self._moves_of(self.to_move)

    def result(self) -> int | None:
        return None if self.legal_moves() else 1 - self.to_move

    def play(self, move: int) -> PyIsolation:
        side, new = self.to_move, PyIsolation.__new__(PyIsolation)
        new.size, new.blocked, new.pos = self.size, self.blocked.copy(), self.pos.copy()
        new.blocked[move] = True
        h = self.hash ^ _SIDE ^ _Z[2 + side][move] ^ _Z[side][move]
        if self.pos[side] >= 0:
            h ^= _Z[2 + side][self.pos[side]]
        new.hash, new.pos[side], new.to_move = h, move, 1 - side
        return new

    def _side(self, player: int, out: list[float], k: int) -> None:
        cell, n = self.pos[player], self.size
        if cell < 0:
            out[k] = float(self.blocked.count(False))
            return
        r, c = divmod(cell, n)
        out[k + 2] = abs(r - (n - 1) / 2.0) + abs(c - (n - 1) / 2.0)
        on_board = mobility = second = 0
        for dr, dc in _JUMPS:
            rr, cc = r + dr, c + dc
            if 0 <= rr < n and 0 <= cc < n:
                on_board += 1
                if not self.blocked[rr * n + cc]:
                    mobility += 1
                    second += len(self._knight(rr * n + cc))
        out[k], out[k + 4], out[k + 6] = float(mobility), float(on_board - mobility), float(second)

    def features(self, player: int) -> list[float]:
        out = [0.0] * 8
        self._side(player, out, 0)
        self._side(1 - player, out, 1)
        return out


class PyConnectFour:
    """Connect Four, 7 columns by 6 rows, on Python-int bitboards."""

    FEATURES = connect_four.FEATURES
    ROWS, COLS = 6, 7
    WINDOWS = connect_four.WINDOWS_7X6.tolist()
    ORDER = [3, 4, 2, 5, 1, 6, 0]  # centre first, as the compiled game

    def __init__(self) -> None:
        self.boards = [0, 0]
        self.heights = [c * (self.ROWS + 1) for c in range(self.COLS)]
        self.to_move = 0
        self.hash = 0
        self.plies = 0

    def key(self) -> int:
        return self.hash

    @staticmethod
    def _four(board: int) -> bool:
        for shift in (1, 7, 6, 8):
            pairs = board & (board >> shift)
            if pairs & (pairs >> (2 * shift)):
                return True
        return False

    def result(self) -> int | None:
        last = 1 - self.to_move
        if self.plies and self._four(self.boards[last]):
            return last
        return None if self.plies < self.ROWS * self.COLS else 2

    def legal_moves(self) -> list[int]:
        if self.result() is not None:
            return []
        return [c for c in self.ORDER if self.heights[c] < c * (self.ROWS + 1) + self.ROWS]

    def play(self, move: int) -> PyConnectFour:
        side, new = self.to_move, PyConnectFour.__new__(PyConnectFour)
        new.boards, new.heights = self.boards.copy(), self.heights.copy()
        bit = new.heights[move]
        new.boards[side] |= 1 << bit
        new.heights[move] = bit + 1
        new.hash = self.hash ^ _Z[side][bit] ^ _SIDE
        new.to_move, new.plies = 1 - side, self.plies + 1
        return new

    def features(self, player: int) -> list[float]:
        mine, theirs = self.boards[player], self.boards[1 - player]
        out = [0.0] * 6
        for m in self.WINDOWS:
            a, b = (mine & m).bit_count(), (theirs & m).bit_count()
            if b == 0:
                out[0] += a == 3
                out[2] += a == 2
            if a == 0:
                out[1] += b == 3
                out[3] += b == 2
        centre = ((1 << self.ROWS) - 1) << (3 * (self.ROWS + 1))
        out[4], out[5] = float((mine & centre).bit_count()), float((theirs & centre).bit_count())
        return out
