"""Programs as flat arrays: the representation shared by parsed expressions and GP trees.

A program is a tree in prefix order, stored as three parallel arrays:

- ``ops``: the opcode of each node (see ``OPS``);
- ``args``: for ``VAR`` nodes, the column of the input they read;
- ``consts``: for ``CONST`` nodes, their value.

Arrays instead of Python objects let compiled kernels evaluate and vary whole populations of
programs, and let depth be limited only by memory (DEAP's string-and-``eval`` evaluation fails
past about 90 levels, DEAP#560).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# name, arity, infix symbol (None: written as a call)
OPS: tuple[tuple[str, int, str | None], ...] = (
    ("var", 0, None),
    ("const", 0, None),
    ("add", 2, "+"),
    ("sub", 2, "-"),
    ("mul", 2, "*"),
    ("div", 2, "/"),
    ("pdiv", 2, None),   # protected division: 1 where the divisor is ~0 (DEAP's protectedDiv)
    ("neg", 1, None),
    ("pow", 2, "**"),
    ("sin", 1, None),
    ("cos", 1, None),
    ("tan", 1, None),
    ("exp", 1, None),
    ("log", 1, None),
    ("plog", 1, None),   # protected log: log|x|, 0 near 0
    ("sqrt", 1, None),
    ("psqrt", 1, None),  # protected square root: sqrt|x|
    ("abs", 1, None),
    ("tanh", 1, None),
    ("min", 2, None),
    ("max", 2, None),
    ("square", 1, None),
    ("cube", 1, None),
    ("asin", 1, None),   # arcsin, NaN outside [-1, 1]
)
OPCODE = {name: code for code, (name, _, _) in enumerate(OPS)}
ARITY = np.array([arity for _, arity, _ in OPS], dtype=np.int64)
VAR, CONST = OPCODE["var"], OPCODE["const"]


@dataclass(frozen=True)
class Program:
    """One program (see the module docstring) and the names of its input variables."""

    ops: np.ndarray
    args: np.ndarray
    consts: np.ndarray
    variables: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.ops)

    def stack_depth(self) -> int:
        """Stack slots needed to evaluate the program right to left."""
        return max_stack_depth(self.ops)


def max_stack_depth(ops: np.ndarray) -> int:
    depth = peak = 0
    for op in ops[::-1]:
        depth += 1 - ARITY[op]
        peak = max(peak, depth)
    return peak
