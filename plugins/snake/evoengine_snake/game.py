"""The game: a whole population of move sequences played at once by a compiled kernel.

The board is ``width x height`` cells; the snake starts three cells long in the middle, heading
right. Each step it turns left, turns right or goes straight (genes 0, 1, 2) and moves one
cell. It dies on leaving the board or running into its own body (the cell its tail leaves this
step is free). Eating the food grows it by one cell and places the next food.

Food is placed the same way for every genome of a run, so a sequence can learn where it will
appear: food ``k`` goes to the ``floor(u_k * free)``-th free cell (row-major), where ``u_k`` is
the ``k``-th draw of the layout's generator and ``free`` the number of cells the snake leaves
free at that moment.

Score: 100 per food eaten plus 1 per step survived (a sequence that eats nothing but never dies
scores its length).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from evoengine.kernels import population_kernel

MOVES = ("left", "right", "straight")
LEFT, RIGHT, STRAIGHT = 0, 1, 2
FOOD_POINTS = 100
# Headings in clockwise order (row grows downwards): right, down, left, up.
DROW = np.array([0, 1, 0, -1], dtype=np.int64)
DCOL = np.array([1, 0, -1, 0], dtype=np.int64)


def food_draws(seed: int, width: int, height: int) -> np.ndarray:
    """The layout: one uniform draw per possible food (at most one per cell)."""
    return np.random.default_rng(seed).random(width * height)


@njit(cache=True, nogil=True)
def _place(occupied, cells, size, u):
    """The cell of the next food: the ``floor(u * free)``-th free cell, row-major."""
    target = min(int(u * (cells - size)), cells - size - 1)
    seen = 0
    for cell in range(cells):
        if not occupied[cell]:
            if seen == target:
                return cell
            seen += 1
    return -1


@population_kernel
def _play(moves, width, height, draws, drow, dcol, out_food, out_steps):
    n, length = moves.shape
    cells = width * height
    for i in prange(n):
        occupied = np.zeros(cells, dtype=np.bool_)
        body = np.empty(cells, dtype=np.int64)  # ring buffer: tail at `tail`, head at `head`
        row, col = height // 2, width // 2
        size = 3
        for k in range(size):  # tail first: (row, col - 2), (row, col - 1), (row, col)
            body[k] = row * width + col - (size - 1 - k)
            occupied[body[k]] = True
        tail, head = 0, size - 1
        heading = 0
        eaten = 0
        food = _place(occupied, cells, size, draws[0])
        steps = 0
        for t in range(length):
            move = moves[i, t]
            if move == LEFT:
                heading = (heading + 3) % 4
            elif move == RIGHT:
                heading = (heading + 1) % 4
            row += drow[heading]
            col += dcol[heading]
            if row < 0 or row >= height or col < 0 or col >= width:
                break
            cell = row * width + col
            if cell == food:
                eaten += 1
                size += 1
            else:
                occupied[body[tail]] = False  # the tail moves on
                tail = (tail + 1) % cells
            if occupied[cell]:
                break
            head = (head + 1) % cells
            body[head] = cell
            occupied[cell] = True
            steps += 1
            if cell == food:
                if size == cells:  # the board is full: won
                    food = -1
                    break
                food = _place(occupied, cells, size, draws[eaten])
        out_food[i] = eaten
        out_steps[i] = steps


def play(moves: np.ndarray, width: int, height: int, draws: np.ndarray
         ) -> tuple[np.ndarray, np.ndarray]:
    """Food eaten and steps survived by each row of ``moves`` (genes 0 left, 1 right,
    2 straight) on a ``width x height`` board whose food layout is ``draws``."""
    moves = np.ascontiguousarray(moves, dtype=np.int64)
    if width < 4 or height < 2:
        raise ValueError("the board needs at least 4 x 2 cells (a snake of three and food)")
    food = np.zeros(len(moves), dtype=np.int64)
    steps = np.zeros(len(moves), dtype=np.int64)
    _play(len(moves), moves, width, height, np.ascontiguousarray(draws, dtype=np.float64),
          DROW, DCOL, food, steps)
    return food, steps


def score(food: np.ndarray, steps: np.ndarray) -> np.ndarray:
    return FOOD_POINTS * food + steps
