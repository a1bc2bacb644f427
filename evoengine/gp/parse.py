"""Parsing a user's expression into a :class:`Program`, never ``eval``-ing it.

The text is read by Python's own parser (``ast.parse``), and the tree is walked with a
whitelist: numbers, variables, ``+ - * / ** ^`` (``^`` means power), unary minus, the
functions in ``FUNCTIONS`` and the constants ``pi`` and ``e``. Anything else is an error that
says where it is and what is allowed.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Sequence

import numpy as np

from evoengine.errors import ConfigError
from evoengine.gp.program import OPCODE, Program

FUNCTIONS: dict[str, str] = {
    # user's name: opcode name
    "sin": "sin", "cos": "cos", "tan": "tan", "exp": "exp", "log": "log", "sqrt": "sqrt",
    "abs": "abs", "tanh": "tanh", "min": "min", "max": "max", "ln": "log", "asin": "asin",
    "arcsin": "asin", "square": "square", "cube": "cube",
    # DEAP's usual primitive names, so DEAP's string form of a tree parses too
    "add": "add", "sub": "sub", "mul": "mul", "neg": "neg", "protectedDiv": "pdiv",
    "pdiv": "pdiv", "plog": "plog", "psqrt": "psqrt", "pow": "pow", "div": "div",
}
CONSTANTS = {"pi": math.pi, "e": math.e}
_BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}
_DEFAULT_VARIABLE = re.compile(r"^x(\d+)$")


def natural_variables(names: set[str]) -> tuple[str, ...]:
    """``x1 .. xN`` for the highest index used (unused ones still take a column)."""
    highest = max((int(_DEFAULT_VARIABLE.match(n).group(1)) for n in names), default=0)
    return tuple(f"x{i}" for i in range(1, highest + 1))


def parse_expression(text: str, variables: Sequence[str] | None = None,
                     *, field: str = "expression") -> Program:
    """Parse ``text``. With ``variables`` None, variables are ``x1, x2, ...`` (``x0`` is not
    allowed: genes are counted from 1, as in the tutorial's ``w1 .. w6``)."""
    # "^" means power here; Python's parser would read it as xor, with the wrong precedence.
    text = text.strip().replace("^", "**")
    if not text:
        raise ConfigError(f"setting {field!r}: the expression is empty")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        col = (exc.offset or 1)
        raise ConfigError(
            f"setting {field!r}: syntax error at column {col} of {text!r}: {exc.msg}") from None
    except RecursionError:
        raise ConfigError(f"setting {field!r}: the expression is nested too deeply") from None
    builder = _Builder(text, variables, field)
    builder.visit(tree.body)
    if variables is None:
        names = natural_variables(builder.used)
    else:
        names = tuple(variables)
    index = {name: i for i, name in enumerate(names)}
    args = np.array([index.get(v, -1) if v is not None else 0 for v in builder.var_names],
                    dtype=np.int64)
    return Program(np.array(builder.ops, dtype=np.int64), args,
                   np.array(builder.consts, dtype=np.float64), names)


class _Builder:
    """Walks the AST in prefix order, appending one node per array slot."""

    def __init__(self, text: str, variables: Sequence[str] | None, field: str) -> None:
        self.text, self.field = text, field
        self.allowed = None if variables is None else set(variables)
        self.ops: list[int] = []
        self.consts: list[float] = []
        self.var_names: list[str | None] = []
        self.used: set[str] = set()

    def _fail(self, node: ast.AST, message: str) -> None:
        col = getattr(node, "col_offset", 0) + 1
        raise ConfigError(f"setting {self.field!r}: at column {col} of {self.text!r}: {message}")

    def _emit(self, op: str, const: float = 0.0, var: str | None = None) -> None:
        self.ops.append(OPCODE[op])
        self.consts.append(const)
        self.var_names.append(var)

    def visit(self, node: ast.AST) -> None:
        # Iterative for long flat chains would be nicer, but ast.parse itself recurses;
        # a RecursionError here is reported like the parser's.
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                self._fail(node, f"{node.value!r} is not a number")
            self._emit("const", float(node.value))
        elif isinstance(node, ast.Name):
            self._name(node)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            if isinstance(node.op, ast.USub):
                if isinstance(node.operand, ast.Constant) and isinstance(
                        node.operand.value, (int, float)) and not isinstance(
                        node.operand.value, bool):
                    self._emit("const", -float(node.operand.value))
                    return
                self._emit("neg")
            self.visit(node.operand)
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            self._emit(_BINARY[type(node.op)])
            self.visit(node.left)
            self.visit(node.right)
        elif isinstance(node, ast.Call):
            self._call(node)
        else:
            what = type(getattr(node, "op", node)).__name__
            self._fail(node, f"{what} is not allowed; use numbers, variables, + - * / ** "
                             f"and the functions {', '.join(sorted(set(FUNCTIONS)))}")

    def _name(self, node: ast.Name) -> None:
        name = node.id
        if name in CONSTANTS:
            self._emit("const", CONSTANTS[name])
            return
        ok = (name in self.allowed) if self.allowed is not None else bool(
            _DEFAULT_VARIABLE.match(name)) and int(name[1:]) >= 1
        if not ok:
            allowed = ("x1, x2, ... (numbered from 1)" if self.allowed is None
                       else ", ".join(sorted(self.allowed)))
            kind = "function" if name in FUNCTIONS else "name"
            self._fail(node, f"unknown {kind} {name!r}; variables are {allowed}, constants "
                             f"pi and e")
        self.used.add(name)
        self._emit("var", var=name)

    def _call(self, node: ast.Call) -> None:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = getattr(node.func, "id", ast.unparse(node.func))
            self._fail(node, f"unknown function {name!r}; functions are "
                             f"{', '.join(sorted(FUNCTIONS))}")
        if node.keywords:
            self._fail(node, "keyword arguments are not allowed")
        op = FUNCTIONS[node.func.id]
        arity = {"neg": 1}.get(op, 2 if op in ("add", "sub", "mul", "div", "pdiv", "pow",
                                               "min", "max") else 1)
        if len(node.args) != arity:
            self._fail(node, f"{node.func.id}() takes {arity} argument"
                             f"{'s' if arity > 1 else ''}, got {len(node.args)}")
        self._emit(op)
        for arg in node.args:
            self.visit(arg)
