"""The compiled game state: one ``int64`` array per position, the same layout for every game.

A header of :data:`BODY` slots, then the game's own cells. Search copies the array one ply
down its stack and plays the move on the copy (copy-make), so no game needs an undo.
The Zobrist hash is kept up to date by every move, for the transposition table.
"""

import numpy as np

GAME, SIDE, PLY, HASH, ROWS, COLS, AUX0, AUX1 = range(8)
BODY = 8

TICTACTOE, CONNECT_FOUR, ISOLATION, OTHELLO = 0, 1, 2, 3

# Results of a finished game.
ONGOING, DRAW = -1, 2  # otherwise the winning player, 0 or 1

MAX_CELLS = 256
# Zobrist keys: [kind, cell]; kinds are player 0's piece, player 1's piece, player 0's
# marker (Isolation's pawn), player 1's marker. A fixed seed, so hashes never change.
_keys = np.random.default_rng(20_181_123).integers(1, 2**62, size=(4, MAX_CELLS + 1))
ZOBRIST = _keys.astype(np.int64)
SIDE_KEY = np.int64(0x5BD1E9955BD1E995 & (2**62 - 1))
