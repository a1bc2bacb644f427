"""A population of trees as flat prefix arrays, and one tree's readable forms.

``codes`` (N x L) holds each node's code in the primitive set's node table, in prefix order;
``consts`` (N x L) the value of constant nodes; ``lengths`` (N) how many slots each tree uses
(the rest is padding). L is the size limit. One tree on its own (``Trees.tree(i)``) is a
structured array of ``(code, const)`` nodes: what ``best.json`` stores and ``describe`` reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evoengine.gp.primitives import EPHEMERAL, USER, PrimitiveSet
from evoengine.gp.program import CONST, OPS, VAR, Program

NODE_DTYPE = np.dtype([("code", np.int64), ("const", np.float64)])
_INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pdiv": "/", "pow": "**"}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "**": 3}


@dataclass
class Trees:
    """N trees over one primitive set (see the module docstring)."""

    primitives: PrimitiveSet
    codes: np.ndarray
    consts: np.ndarray
    lengths: np.ndarray

    @classmethod
    def empty(cls, primitives: PrimitiveSet, count: int, max_size: int) -> Trees:
        return cls(primitives, np.zeros((count, max_size), dtype=np.int64),
                   np.zeros((count, max_size)), np.zeros(count, dtype=np.int64))

    @classmethod
    def from_nodes(cls, primitives: PrimitiveSet, trees, max_size: int | None = None) -> Trees:
        """From a list of one-tree structured arrays (see :meth:`tree`)."""
        trees = [np.asarray(t, dtype=NODE_DTYPE) for t in trees]
        size = max_size or max(len(t) for t in trees)
        out = cls.empty(primitives, len(trees), size)
        for i, t in enumerate(trees):
            if len(t) > size:
                raise ValueError(f"tree {i} has {len(t)} nodes, more than max_size {size}")
            out.codes[i, :len(t)] = t["code"]
            out.consts[i, :len(t)] = t["const"]
            out.lengths[i] = len(t)
        return out

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def max_size(self) -> int:
        return self.codes.shape[1]

    def __getitem__(self, index) -> Trees:
        """A sub-population (``index``: a mask, an index array or a slice), as a copy."""
        if isinstance(index, (int, np.integer)):
            index = [index]
        if isinstance(index, slice):  # a view: copy it; fancy indexing copies already
            return Trees(self.primitives, self.codes[index].copy(), self.consts[index].copy(),
                         self.lengths[index].copy())
        return Trees(self.primitives, self.codes[index], self.consts[index],
                     self.lengths[index])

    def tree(self, i: int) -> np.ndarray:
        """Tree ``i`` alone, as a structured array of ``(code, const)`` nodes."""
        n = int(self.lengths[i])
        out = np.empty(n, dtype=NODE_DTYPE)
        out["code"], out["const"] = self.codes[i, :n], self.consts[i, :n]
        return out

    def sizes(self) -> np.ndarray:
        return self.lengths.copy()

    def depths(self) -> np.ndarray:
        """Each tree's depth (a lone terminal has depth 0, as in DEAP)."""
        from evoengine.gp.generate import tree_depth

        arity = self.primitives.tables.arity
        return np.array([tree_depth(self.codes[i], self.lengths[i], arity)
                         for i in range(len(self))], dtype=np.int64)

    def to_string(self, i: int) -> str:
        """DEAP's string form of tree ``i``, e.g. ``add(mul(x, x), 0.5)``."""
        return node_string(self.primitives, self.tree(i))

    def to_infix(self, i: int, digits: int = 6) -> str:
        return infix(self.primitives, self.tree(i), digits)


def _walk(ps: PrimitiveSet, nodes: np.ndarray, leaf, combine):
    """Fold a prefix tree bottom-up without recursion (trees may be thousands deep)."""
    stack: list = []
    for k in range(len(nodes) - 1, -1, -1):
        node = ps.nodes[int(nodes["code"][k])]
        if node.arity == 0:
            stack.append(leaf(node, float(nodes["const"][k])))
        else:
            args = [stack.pop() for _ in range(node.arity)]
            stack.append(combine(node, args))
    if len(stack) != 1:
        raise ValueError("not a complete prefix tree")
    return stack[0]


def _const_text(node, value, digits=17):
    """A terminal as text: its name, or an ephemeral's value (whole numbers without ".0")."""
    if node.op != EPHEMERAL:
        return node.name
    if node.integer:
        return str(int(value))
    return repr(value) if digits >= 17 else f"{value:.{digits}g}"


def node_string(ps: PrimitiveSet, nodes: np.ndarray) -> str:
    """The DEAP string form (prefix calls) of one tree."""
    return _walk(ps, nodes, lambda n, v: _const_text(n, v),
                 lambda n, args: f"{n.name}({', '.join(args)})")


def infix(ps: PrimitiveSet, nodes: np.ndarray, digits: int = 6) -> str:
    """Readable infix (``x**2 + 0.5``) without simplification; protected division is shown as
    ``/``, other functions as calls."""

    def leaf(node, value):
        text = _const_text(node, value, digits)
        return (text, 9 if not text.startswith("-") else 0)

    def combine(node, args):
        builtin = OPS[node.op][0] if node.op >= 0 else None
        symbol = _INFIX.get(builtin) if node.arity == 2 else None
        if builtin == "neg":
            text, prec = args[0]
            return (f"-{text}" if prec >= 2 else f"-({text})", 2)
        if symbol is None:
            return (f"{node.name}({', '.join(a[0] for a in args)})", 9)
        prec = _PRECEDENCE[symbol]
        (lt, lp), (rt, rp) = args
        left = lt if lp >= prec and not (symbol == "**" and lp == prec) else f"({lt})"
        right = rt if rp > prec or (rp == prec and symbol in ("+", "*")) else f"({rt})"
        sep = f" {symbol} " if prec == 1 else symbol
        return (f"{left}{sep}{right}", prec)

    return _walk(ps, nodes, leaf, combine)[0]


def to_program(ps: PrimitiveSet, nodes: np.ndarray) -> Program:
    """One tree as a :class:`Program` (built-in operators only)."""
    ops, args = [], []
    for code in nodes["code"]:
        node = ps.nodes[int(code)]
        if node.op == USER:
            raise ValueError(f"{node.name!r} is a user function; a Program holds built-ins only")
        ops.append(CONST if node.op == EPHEMERAL else node.op)
        args.append(node.index if node.op == VAR else 0)
    return Program(np.array(ops, dtype=np.int64), np.array(args, dtype=np.int64),
                   np.asarray(nodes["const"], dtype=np.float64), tuple(ps.variables))


def check_trees(trees: Trees, rows: int) -> str | None:
    """What is wrong with ``trees`` read back from a file, or None: ``rows`` trees, codes in
    the primitive set's node table, each tree one whole prefix expression within its length
    (the compiled evaluator trusts all three and does not check them again)."""
    codes, lengths = trees.codes, trees.lengths
    if codes.ndim != 2 or trees.consts.shape != codes.shape or lengths.shape != (rows,):
        return (f"codes {codes.shape}, constants {trees.consts.shape} and lengths "
                f"{lengths.shape} do not describe {rows} trees")
    if ((lengths < 1) | (lengths > codes.shape[1])).any():
        return f"a tree length is outside 1..{codes.shape[1]}"
    arity = trees.primitives.tables.arity
    if ((codes < 0) | (codes >= len(arity))).any():
        return f"a node code is outside the primitive set's {len(arity)} nodes"
    slots = np.arange(codes.shape[1])
    used = slots[None, :] < lengths[:, None]
    # A prefix expression is whole when its open argument slots first reach 0 at its end.
    need = np.cumsum(np.where(used, arity[codes] - 1, 0), axis=1)
    open_slots = np.where(used, need, -1)
    ends = np.take_along_axis(open_slots, (lengths - 1)[:, None], axis=1)[:, 0]
    early = (open_slots[:, :-1] == -1) & used[:, 1:]
    if (ends != -1).any() or early.any():
        return "a tree is not one whole expression in prefix order"
    return None
