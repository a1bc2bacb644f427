"""Parsing a user's expression into a :class:`Program`, never ``eval``-ing it.

The text is read by Python's own parser (``ast.parse``), and the tree is walked with a
whitelist: numbers, variables, ``+ - * / ** ^`` (``^`` means power), unary minus, the
functions in ``FUNCTIONS`` and the constants ``pi`` and ``e``. Anything else is an error that
says where it is and what is allowed.

The grammar takes exactly what it can bind: variables are ``x`` and a number from 1 written in
ASCII digits without leading zeros (``x01`` or ``x\u0661`` would otherwise name another column),
numbers are finite doubles, and the text's length and nesting are bounded, so no input ends in
a RecursionError, an overflow or a genome of a hundred million genes.
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
_DEFAULT_VARIABLE = re.compile(r"^x([1-9][0-9]*)$", re.ASCII)
_LEADING_ZERO = re.compile(r"^x0+[0-9]+$")  # x01 would silently read as x1's column
MAX_LENGTH = 10_000  # characters of an expression
MAX_VARIABLE = 100_000  # highest xN: every index up to it is a gene


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
    if len(text) > MAX_LENGTH:
        raise ConfigError(f"setting {field!r}: the expression is {len(text)} characters long; "
                          f"the limit is {MAX_LENGTH}")
    if variables is None and not text.isascii():
        col = next(i for i, ch in enumerate(text) if not ch.isascii()) + 1
        raise ConfigError(f"setting {field!r}: at column {col} of {_excerpt(text, col)}: "
                          f"{text[col - 1]!r} is not ASCII; variables are x1, x2, ... in ASCII "
                          "digits")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        col = (exc.offset or 1)
        why = "a number has too many digits" if "digits" in str(exc.msg) else exc.msg
        raise ConfigError(f"setting {field!r}: syntax error at column {col} of "
                          f"{_excerpt(text, col)}: {why}") from None
    except (RecursionError, MemoryError):  # CPython's parser, on deep nesting
        raise ConfigError(f"setting {field!r}: the expression is nested too deeply for its "
                          "parser (several hundred levels); write it with fewer levels") from None
    except ValueError as exc:  # a NUL byte, an integer of thousands of digits
        why = ("a number has thousands of digits, more than can be read" if "digits" in str(exc)
               else str(exc))
        raise ConfigError(f"setting {field!r}: {why}") from None
    builder = _Builder(text, variables, field)
    builder.build(tree.body)
    if variables is None:
        names = natural_variables(builder.used)
    else:
        names = tuple(variables)
    index = {name: i for i, name in enumerate(names)}
    args = np.array([index.get(v, -1) if v is not None else 0 for v in builder.var_names],
                    dtype=np.int64)
    return Program(np.array(builder.ops, dtype=np.int64), args,
                   np.array(builder.consts, dtype=np.float64), names)


def _excerpt(text: str, col: int, width: int = 60) -> str:
    """``text`` quoted, or the part of a long one around column ``col``, for an error line."""
    if len(text) <= width:
        return repr(text)
    start = max(0, min(col - 1 - width // 2, len(text) - width))
    return (("..." if start else "") + repr(text[start:start + width])
            + ("..." if start + width < len(text) else ""))


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
        raise ConfigError(f"setting {self.field!r}: at column {col} of "
                          f"{_excerpt(self.text, col)}: {message}")

    def _emit(self, op: str, const: float = 0.0, var: str | None = None) -> None:
        self.ops.append(OPCODE[op])
        self.consts.append(const)
        self.var_names.append(var)

    def build(self, root: ast.AST) -> None:
        """Emit the tree in prefix order, with an explicit stack: the tree ``ast.parse`` gave
        may be as deep as its own recursion allowed, deeper than this frame can recurse."""
        pending = [root]
        while pending:
            pending.extend(reversed(self.visit(pending.pop())))

    def visit(self, node: ast.AST) -> list[ast.AST]:
        """Emit ``node``; returns its children, to be emitted next, in order."""
        if isinstance(node, ast.Constant):
            self._emit("const", self._number(node, node.value))
        elif isinstance(node, ast.Name):
            self._name(node)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            if isinstance(node.op, ast.USub):
                if isinstance(node.operand, ast.Constant) and isinstance(
                        node.operand.value, (int, float)) and not isinstance(
                        node.operand.value, bool):
                    self._emit("const", -self._number(node.operand, node.operand.value))
                    return []
                self._emit("neg")
            return [node.operand]
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            self._emit(_BINARY[type(node.op)])
            return [node.left, node.right]
        elif isinstance(node, ast.Call):
            return self._call(node)
        else:
            what = type(getattr(node, "op", node)).__name__
            self._fail(node, f"{what} is not allowed; use numbers, variables, + - * / ** "
                             f"and the functions {', '.join(sorted(set(FUNCTIONS)))}")
        return []

    def _number(self, node: ast.Constant, value: object) -> float:
        """A literal as a finite double, or an error saying why it is not one."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self._fail(node, f"{value!r} is not a number")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            self._fail(node, "the number is too large for a double (at most about 1.8e308)")
        return number

    def _name(self, node: ast.Name) -> None:
        name = node.id
        if name in CONSTANTS:
            self._emit("const", CONSTANTS[name])
            return
        if self.allowed is None:
            if _LEADING_ZERO.match(name):
                self._fail(node, f"variable {name!r}: write it without leading zeros, "
                                 f"x{int(name[1:])}")
            if _DEFAULT_VARIABLE.match(name) and int(name[1:]) > MAX_VARIABLE:
                self._fail(node, f"variable {name!r}: every variable up to it is a gene; the "
                                 f"highest allowed is x{MAX_VARIABLE}")
        ok = (name in self.allowed) if self.allowed is not None else bool(
            _DEFAULT_VARIABLE.match(name))
        if not ok:
            allowed = ("x1, x2, ... (numbered from 1)" if self.allowed is None
                       else ", ".join(sorted(self.allowed)))
            kind = "function" if name in FUNCTIONS else "name"
            self._fail(node, f"unknown {kind} {name!r}; variables are {allowed}, constants "
                             f"pi and e")
        self.used.add(name)
        self._emit("var", var=name)

    def _call(self, node: ast.Call) -> list[ast.AST]:
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
        return list(node.args)
