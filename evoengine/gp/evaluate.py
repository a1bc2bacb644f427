"""Compiled evaluation of programs over many data points.

A program is evaluated right to left as a stack machine: a terminal pushes its column of
values, an operator pops its arguments (the first argument on top) and pushes the result. Each
step works on all data points at once, so the inner loop is a plain loop over a column.
Division by zero, log of a negative number and so on give inf or NaN, which the engine treats
as a failed evaluation; the protected operators (``pdiv``, ``plog``, ``psqrt``) never do.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from evoengine.gp.program import OPCODE, Program

_ADD, _SUB, _MUL, _DIV, _PDIV = (OPCODE[n] for n in ("add", "sub", "mul", "div", "pdiv"))
_NEG, _POW, _SIN, _COS, _TAN = (OPCODE[n] for n in ("neg", "pow", "sin", "cos", "tan"))
_EXP, _LOG, _PLOG, _SQRT, _PSQRT = (OPCODE[n] for n in ("exp", "log", "plog", "sqrt", "psqrt"))
_ABS, _TANH, _MIN, _MAX = (OPCODE[n] for n in ("abs", "tanh", "min", "max"))
_SQUARE, _CUBE, _ASIN = (OPCODE[n] for n in ("square", "cube", "asin"))
_VAR, _CONST = OPCODE["var"], OPCODE["const"]
PROTECT = 1e-12


@njit(cache=True, nogil=True, error_model="numpy")
def _unary(op, a, out):
    for i in range(a.shape[0]):
        x = a[i]
        if op == _NEG:
            out[i] = -x
        elif op == _SIN:
            out[i] = np.sin(x)
        elif op == _COS:
            out[i] = np.cos(x)
        elif op == _TAN:
            out[i] = np.tan(x)
        elif op == _EXP:
            out[i] = np.exp(x)
        elif op == _LOG:
            out[i] = np.log(x) if x > 0 else (-np.inf if x == 0 else np.nan)
        elif op == _PLOG:
            out[i] = np.log(abs(x)) if abs(x) > PROTECT else 0.0
        elif op == _SQRT:
            out[i] = np.sqrt(x) if x >= 0 else np.nan
        elif op == _PSQRT:
            out[i] = np.sqrt(abs(x))
        elif op == _ABS:
            out[i] = abs(x)
        elif op == _SQUARE:
            out[i] = x * x
        elif op == _CUBE:
            out[i] = x * x * x
        elif op == _ASIN:
            out[i] = np.arcsin(x) if abs(x) <= 1 else np.nan
        else:  # tanh
            out[i] = np.tanh(x)


@njit(cache=True, nogil=True, error_model="numpy")
def _binary(op, a, b, out):
    for i in range(a.shape[0]):
        x, y = a[i], b[i]
        if op == _ADD:
            out[i] = x + y
        elif op == _SUB:
            out[i] = x - y
        elif op == _MUL:
            out[i] = x * y
        elif op == _DIV:
            out[i] = x / y if y != 0 else (np.nan if x == 0 else np.inf * np.sign(x))
        elif op == _PDIV:
            out[i] = x / y if abs(y) > PROTECT else 1.0
        elif op == _POW:
            out[i] = x**y
        elif op == _MIN:
            out[i] = min(x, y)
        else:  # max
            out[i] = max(x, y)


@njit(cache=True, nogil=True, error_model="numpy")
def run_program(ops, args, consts, data, depth):
    """Values of one prefix program at every row of ``data`` (``points x variables``)."""
    n = data.shape[0]
    stack = np.empty((depth, n))
    top = 0
    for k in range(ops.shape[0] - 1, -1, -1):
        op = ops[k]
        if op == _VAR:
            stack[top, :] = data[:, args[k]]
            top += 1
        elif op == _CONST:
            stack[top, :] = consts[k]
            top += 1
        elif op == _NEG or op >= _SIN and op <= _TANH or op >= _SQUARE:
            _unary(op, stack[top - 1], stack[top - 1])
        else:
            # first argument on top; the result replaces the second
            _binary(op, stack[top - 1], stack[top - 2], stack[top - 2])
            top -= 1
    return stack[0].copy()


def evaluate_program(program: Program, data: np.ndarray) -> np.ndarray:
    """The program's value at each row of ``data`` (one column per variable, in order)."""
    data = np.ascontiguousarray(data, dtype=np.float64)
    if data.ndim != 2 or data.shape[1] < len(program.variables):
        raise ValueError(
            f"data must have a column per variable ({len(program.variables)}), "
            f"got shape {data.shape}")
    return run_program(program.ops, program.args, program.consts, data, program.stack_depth())
