"""The compiled games by name: how to set up a board, name its features, show it and read a
move a person types."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evoengine.errors import ConfigError
from evoengine_minimax import connect_four, isolation, othello, tictactoe
from evoengine_minimax.state import (AUX0, AUX1, BODY, COLS, CONNECT_FOUR, GAME, HASH, ISOLATION,
                                     MAX_CELLS, OTHELLO, ROWS, SIDE, TICTACTOE, ZOBRIST)


@dataclass(frozen=True)
class CompiledGame:
    """A compiled game at a given board size."""

    name: str
    game_id: int
    rows: int
    cols: int
    features: tuple[str, ...]
    opening_plies: int  # random plies that start a rated pair of games

    @property
    def cells(self) -> int:
        return self.rows * self.cols

    @property
    def max_moves(self) -> int:
        return self.cells + 1  # Othello's pass

    @property
    def state_size(self) -> int:
        if self.game_id == ISOLATION:
            return BODY + self.cells + 1  # the cells, then a bitboard of them (up to 8 x 8)
        return BODY + max(self.cells, 2 + self.cols)

    def new_state(self) -> np.ndarray:
        """The starting position, player 0 to move."""
        s = np.zeros(self.state_size, dtype=np.int64)
        s[GAME], s[ROWS], s[COLS] = self.game_id, self.rows, self.cols
        if self.game_id == ISOLATION:
            s[AUX0] = s[AUX1] = -1
        elif self.game_id == CONNECT_FOUR:
            s[BODY + 2:BODY + 2 + self.cols] = np.arange(self.cols) * (self.rows + 1)
        elif self.game_id == OTHELLO:
            n, h = self.rows, self.rows // 2
            for cell, player in (((h - 1) * n + h - 1, 1), (h * n + h, 1),
                                 ((h - 1) * n + h, 0), (h * n + h - 1, 0)):
                s[BODY + cell] = player + 1
                s[HASH] ^= ZOBRIST[player, cell]
        return s

    # --- for people ------------------------------------------------------------------------
    def cell_name(self, cell: int) -> str:
        return f"{'abcdefghijklmnop'[cell % self.cols]}{cell // self.cols + 1}"

    def move_name(self, move: int) -> str:
        if self.game_id == CONNECT_FOUR:
            return str(move + 1)
        if self.game_id == OTHELLO and move == self.cells:
            return "pass"
        return self.cell_name(move)

    def parse_move(self, text: str) -> int:
        """A move as people write it: a column number (Connect Four), a cell such as ``c3``, or
        ``pass``. Raises ValueError with the expected form."""
        text = text.strip().lower()
        if self.game_id == CONNECT_FOUR:
            if not text.isdigit() or not 1 <= int(text) <= self.cols:
                raise ValueError(f"type a column number from 1 to {self.cols}")
            return int(text) - 1
        if self.game_id == OTHELLO and text == "pass":
            return self.cells
        letters = "abcdefghijklmnop"[:self.cols]
        if len(text) >= 2 and text[0] in letters and text[1:].isdigit():
            row = int(text[1:]) - 1
            if 0 <= row < self.rows:
                return row * self.cols + letters.index(text[0])
        raise ValueError(f"type a cell such as a1 (columns a-{letters[-1]}, rows 1-{self.rows})")

    def render(self, s: np.ndarray) -> str:
        """The board as text, row 1 at the bottom."""
        cols, lines = self.cols, []
        for r in reversed(range(self.rows)):
            cells = [self._glyph(s, r, c) for c in range(cols)]
            lines.append(f"{r + 1:>2} " + " ".join(cells))
        if self.game_id == CONNECT_FOUR:
            lines.append("   " + " ".join(str(c + 1) for c in range(cols)))
        else:
            lines.append("   " + " ".join("abcdefghijklmnop"[:cols]))
        lines.append(f"to move: {'XO'[int(s[SIDE])]}")
        return "\n".join(lines)

    def _glyph(self, s, r, c) -> str:
        if self.game_id == CONNECT_FOUR:
            bit = np.int64(1) << np.int64(c * (self.rows + 1) + r)
            return "X" if s[BODY] & bit else ("O" if s[BODY + 1] & bit else ".")
        cell = r * self.cols + c
        if self.game_id == ISOLATION:
            if s[AUX0] == cell:
                return "X"
            if s[AUX1] == cell:
                return "O"
            return "#" if s[BODY + cell] else "."
        return ".XO"[int(s[BODY + cell])]


GAME_NAMES = ("isolation", "connect_four", "tictactoe", "othello")


def compiled_game(name: str, size: int | None = None) -> CompiledGame:
    """The compiled game ``name``; ``size`` is the board side for Isolation (any, 3 to 16) and
    Othello (6 or 8); the others have one size."""
    if name == "isolation":
        n = 7 if size is None else size
        if not 3 <= n <= 16:
            raise ConfigError(f"setting 'size': Isolation boards are 3 to 16 cells wide, got {n}")
        return CompiledGame(name, ISOLATION, n, n, isolation.FEATURES, 2)
    if name == "othello":
        n = 8 if size is None else size
        if n not in (6, 8):
            raise ConfigError(f"setting 'size': Othello is played on 6 or 8, got {n}")
        return CompiledGame(name, OTHELLO, n, n, othello.FEATURES, 4)
    if name == "connect_four":
        if size not in (None, 7):
            raise ConfigError("setting 'size': Connect Four is 7 columns by 6 rows; leave size "
                              "unset")
        return CompiledGame(name, CONNECT_FOUR, 6, 7, connect_four.FEATURES, 2)
    if name == "tictactoe":
        if size not in (None, 3):
            raise ConfigError("setting 'size': tic-tac-toe is 3x3; leave size unset")
        return CompiledGame(name, TICTACTOE, 3, 3, tictactoe.FEATURES, 1)
    raise ConfigError(f"setting 'game': unknown game {name!r}; choose one of "
                      f"{', '.join(GAME_NAMES)}, 'python:module:Class' for your own, or "
                      "'openspiel:NAME'")


assert MAX_CELLS >= 16 * 16
