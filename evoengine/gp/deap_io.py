"""Trees to and from DEAP: ``gp.PrimitiveTree`` objects and their string form.

A tree's nodes map one to one: a primitive to the DEAP primitive of the same name, a variable
to the DEAP argument, a constant to its terminal and an ephemeral to an instance of the DEAP
ephemeral class holding the tree's value. The string form (``add(mul(x, x), 0.5)``) is read by
Python's parser with a whitelist, never ``eval``-ed (DEAP's own ``from_string`` evals tokens).
"""

from __future__ import annotations

import ast
import math

import numpy as np
from deap import gp

from evoengine.errors import ConfigError
from evoengine.gp.evaluator import PROTECT
from evoengine.gp.primitives import EPHEMERAL, USER, PrimitiveSet
from evoengine.gp.program import CONST, OPS, VAR
from evoengine.gp.trees import NODE_DTYPE, Trees


def _type_of(ps: PrimitiveSet, type_id: int):
    return _TYPES.get(ps.type_names[type_id], ps.type_names[type_id])


_TYPES = {"float": float, "bool": bool, "int": int, "object": object}


def build_deap_pset(ps: PrimitiveSet) -> gp.PrimitiveSetTyped:
    """A DEAP ``PrimitiveSetTyped`` with the same names, arities and types as ``ps``."""
    var_types = [_type_of(ps, n.ret) for n in ps.nodes if n.op == VAR]
    pset = gp.PrimitiveSetTyped("evoengine", var_types, _type_of(ps, ps.root_type))
    pset.renameArguments(**{f"ARG{i}": name for i, name in enumerate(ps.variables)})
    for node in ps.nodes:
        if node.arity:
            func = (ps.functions[node.index].py_func if node.op == USER
                    else _builtin_callable(OPS[node.op][0]))
            pset.addPrimitive(func, [_type_of(ps, a) for a in node.args],
                              _type_of(ps, node.ret), name=node.name)
        elif node.op == CONST:
            pset.addTerminal(node.value, _type_of(ps, node.ret), name=node.name)
        elif node.op == EPHEMERAL:
            low, high, integer = node.value, node.high, node.integer
            pset.addEphemeralConstant(f"{node.name}_{id(ps)}", _EphemeralDraw(low, high,
                                                                             integer),
                                      _type_of(ps, node.ret))
            ps.__dict__.setdefault("_ephemeral_names", {})[node.name] = f"{node.name}_{id(ps)}"
    return pset


class _EphemeralDraw:
    """A picklable ephemeral function (DEAP warns that lambdas are not)."""

    def __init__(self, low, high, integer):
        self.low, self.high, self.integer = low, high, integer

    def __call__(self):
        import random

        if self.integer:
            return random.randint(int(self.low), int(self.high))
        return random.uniform(self.low, self.high)


def _pdiv(a, b):
    a, b = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
    return np.where(np.abs(b) > PROTECT, a / np.where(b == 0, 1.0, b), 1.0)


def _plog(a):
    a = np.abs(np.asarray(a, float))
    return np.where(a > PROTECT, np.log(np.where(a > 0, a, 1.0)), 0.0)


# The built-ins as NumPy functions, so a DEAP set made from ours compiles and runs in DEAP.
_NUMPY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
          "pdiv": _pdiv, "neg": np.negative, "pow": np.power, "sin": np.sin, "cos": np.cos,
          "tan": np.tan, "exp": np.exp, "log": np.log, "plog": _plog, "sqrt": np.sqrt,
          "psqrt": lambda a: np.sqrt(np.abs(a)), "abs": np.abs, "tanh": np.tanh,
          "min": np.minimum, "max": np.maximum, "square": np.square,
          "cube": lambda a: np.asarray(a, float) ** 3, "asin": np.arcsin}


def _builtin_callable(name: str):
    return _NUMPY[name]


def to_deap(trees: Trees, i: int) -> gp.PrimitiveTree:
    """Tree ``i`` as a DEAP ``PrimitiveTree`` over ``trees.primitives.to_deap()``."""
    ps = trees.primitives
    pset = ps.to_deap()
    nodes = []
    for code, value in trees.tree(i):
        node = ps.nodes[int(code)]
        if node.op == EPHEMERAL:
            name = getattr(ps, "_ephemeral_names", {}).get(node.name, node.name)
            cls = pset.mapping[name]
            term = cls.__new__(cls)
            term.value = float(value) if not node.integer else int(value)
            nodes.append(term)
        else:
            nodes.append(pset.mapping[node.name])  # arguments are mapped by current name
    return gp.PrimitiveTree(nodes)


def from_deap(ps: PrimitiveSet, tree, max_size: int | None = None) -> Trees:
    """One DEAP ``PrimitiveTree`` (or a list of them) as :class:`Trees`."""
    many = tree if isinstance(tree, list) and tree and isinstance(tree[0], list) else [tree]
    out = []
    names = {v: k for k, v in getattr(ps, "_ephemeral_names", {}).items()}
    for t in many:
        nodes = np.empty(len(t), dtype=NODE_DTYPE)
        for k, node in enumerate(t):
            if isinstance(node, gp.Terminal) and type(node) is not gp.Terminal:  # ephemeral
                code = ps.code(names.get(node.name, node.name))
                nodes[k] = (code, float(node.value))
            else:
                symbolic = isinstance(node, gp.Terminal) and node.value in ps.variables
                code = ps.code(node.value if symbolic else node.name)
                nodes[k] = (code, ps.nodes[code].value if ps.nodes[code].op == CONST else 0.0)
        out.append(nodes)
    return Trees.from_nodes(ps, out, max_size)


MAX_TREE_TEXT = 100_000  # characters of one tree's string form


def parse_tree(ps: PrimitiveSet, text: str, max_size: int | None = None) -> Trees:
    """A tree from DEAP's string form, checked against the set's names, arities and types.
    Numbers become the set's (first) ephemeral constant of the expected type."""
    shown = repr(text) if len(text) <= 60 else repr(text[:57]) + "..."
    if len(text) > MAX_TREE_TEXT:
        raise ConfigError(f"tree {shown}: {len(text)} characters; the limit is {MAX_TREE_TEXT}")
    try:
        root = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ConfigError(f"tree {shown}: syntax error at column {exc.offset}") from None
    except (RecursionError, MemoryError):
        raise ConfigError(f"tree {shown}: nested too deeply for the parser") from None
    except ValueError as exc:  # a NUL byte, an integer of thousands of digits
        raise ConfigError(f"tree {shown}: {str(exc).split(';')[0]}") from None
    text = shown  # errors below quote it short
    names = {n.name: c for c, n in enumerate(ps.nodes)}
    ephemeral_of = {}
    for c, n in enumerate(ps.nodes):
        if n.op == EPHEMERAL:
            ephemeral_of.setdefault(n.ret, c)
    nodes: list[tuple[int, float]] = []
    todo = [(root, ps.root_type)]
    while todo:
        node, want = todo.pop()
        try:
            value = _number(node)
        except ValueError as exc:
            raise ConfigError(f"tree {text}: {exc}") from None
        if value is not None:
            if want not in ephemeral_of:
                raise ConfigError(f"tree {text!r}: a number where type "
                                  f"{ps.type_names[want]!r} has no ephemeral constant")
            nodes.append((ephemeral_of[want], value))
            continue
        if isinstance(node, ast.Name):
            name, args = node.id, []
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not \
                node.keywords:
            name, args = node.func.id, node.args
        else:
            raise ConfigError(f"tree {text!r}: {ast.unparse(node)!r} is not a primitive call, "
                              "a name or a number")
        if name not in names:
            raise ConfigError(f"tree {text!r}: unknown name {name!r}; the set has "
                              f"{', '.join(names)}")
        code = names[name]
        spec = ps.nodes[code]
        if spec.arity != len(args):
            raise ConfigError(f"tree {text!r}: {name} takes {spec.arity} arguments, got "
                              f"{len(args)}")
        if spec.ret != want:
            raise ConfigError(f"tree {text!r}: {name} returns {ps.type_names[spec.ret]!r} "
                              f"where {ps.type_names[want]!r} is needed")
        nodes.append((code, spec.value if spec.op == CONST else 0.0))
        todo.extend(reversed(list(zip(args, spec.args, strict=True))))
    return Trees.from_nodes(ps, [np.array(nodes, dtype=NODE_DTYPE)], max_size)


def _number(node) -> float | None:
    """The value of a (negated) numeric literal, or None if ``node`` is not one."""
    sign = 1.0
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        sign, node = -sign, node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not \
            isinstance(node.value, bool):
        try:
            value = float(node.value)
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            raise ValueError("a number is too large for a double (at most about 1.8e308)")
        return sign * value
    return None
