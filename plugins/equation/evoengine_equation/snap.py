"""Snapping a formula's constants to the numbers a physicist would write.

A fitted formula carries floats (``0.500003*k*x**2``, ``0.159155*h*omega``). Each float in
turn is replaced by the simplest nearby number of the form ``p/q * pi**(i/2) * 2**(j/2)``
(``|p|`` up to ``MAX_NUMERATOR``, ``q`` up to ``MAX_DENOMINATOR``, ``i`` in -4..4, ``j`` in
-1..1: ``1/2``, ``1/(2*pi)``, ``4*pi``, ``1/sqrt(2*pi)``), or by 0, when the formula's error on
the data does not grow (beyond floating-point rounding: ``TOLERANCE`` of the target's root mean
square). Simpler means a smaller denominator, then fewer factors of pi and 2. Only a formula
that fits the data closely (``CLOSE_FIT``) is snapped: on an approximation, fractions of pi
would only dress up floats. The formula is evaluated by walking its SymPy tree with NumPy (no
code is generated or ``eval``-ed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

MAX_DENOMINATOR = 12
MAX_NUMERATOR = 100
NEARBY = 1e-3   # candidates within this relative distance of the float are tried
TOLERANCE = 1e-9
CLOSE_FIT = 1e-4  # only a formula this close to the data (RMSE / the target's spread) is snapped


def _bases():
    """``(value, sympy factor, complexity)`` of ``pi**(i/2) * 2**(j/2)``, simplest first."""
    import sympy

    out = []
    for i in range(-4, 5):
        for j in (-1, 0, 1):
            value = math.pi ** (i / 2) * 2 ** (j / 2)
            factor = sympy.pi ** sympy.Rational(i, 2) * sympy.sqrt(2) ** j
            out.append((value, factor, abs(i) + abs(j)))
    return sorted(out, key=lambda item: item[2])


def candidates(value: float) -> list:
    """Simple numbers within ``NEARBY`` of ``value`` (SymPy), simplest first; 0 first of all."""
    import sympy

    found = [(0, 0, sympy.Integer(0))]
    for base, factor, complexity in _bases():
        ratio = value / base
        for q in range(1, MAX_DENOMINATOR + 1):
            p = round(ratio * q)
            if p == 0 or abs(p) > MAX_NUMERATOR or math.gcd(p, q) != 1 or \
                    abs(p / q * base - value) > NEARBY * abs(value):
                continue
            found.append((q, complexity, sympy.Rational(p, q) * factor))
    found.sort(key=lambda item: (item[0] > 0, item[0], item[1]))
    seen, out = set(), []
    for *_, number in found:
        if number not in seen:
            seen.add(number)
            out.append(number)
    return out


def evaluate(expression, columns: dict) -> np.ndarray:
    """A SymPy expression's values, each symbol read from ``columns`` (name -> array)."""
    import sympy

    size = len(next(iter(columns.values())))
    functions = {sympy.sin: np.sin, sympy.cos: np.cos, sympy.tan: np.tan, sympy.exp: np.exp,
                 sympy.log: np.log, sympy.Abs: np.abs, sympy.tanh: np.tanh,
                 sympy.asin: np.arcsin}

    def walk(e):
        if e.is_Symbol:
            return np.asarray(columns[e.name], dtype=float)
        if e.is_Number or e.is_NumberSymbol:
            return np.full(size, float(e))
        if e.is_Add:
            return sum((walk(a) for a in e.args[1:]), walk(e.args[0]))
        if e.is_Mul:
            out = walk(e.args[0])
            for a in e.args[1:]:
                out = out * walk(a)
            return out
        if e.is_Pow:
            return np.power(walk(e.args[0]), walk(e.args[1]))
        if isinstance(e, (sympy.Min, sympy.Max)):
            combine = np.minimum if isinstance(e, sympy.Min) else np.maximum
            out = walk(e.args[0])
            for a in e.args[1:]:
                out = combine(out, walk(a))
            return out
        if e.func in functions:
            return functions[e.func](walk(e.args[0]))
        raise ValueError(f"cannot evaluate {e.func}")

    with np.errstate(all="ignore"):
        return walk(expression)


def snap_constants(expression, x: np.ndarray, y: np.ndarray, variables: Sequence[str]):
    """``expression`` with each float replaced by its simplest candidate (see the module
    docstring) that keeps the RMSE on ``(x, y)`` from growing; the others stay as they are."""
    import sympy

    columns = {name: x[:, k] for k, name in enumerate(variables)}
    y = np.asarray(y, dtype=float)
    allowed = TOLERANCE * math.sqrt(float(np.mean(y**2)))

    def error(e):
        try:
            value = np.sqrt(np.mean((evaluate(e, columns) - y) ** 2))
        except (ValueError, TypeError, KeyError, OverflowError):
            return math.inf
        return float(value) if np.isfinite(value) else math.inf

    current = error(expression)
    if not current <= CLOSE_FIT * float(np.std(y)):
        return expression
    # largest first: the leading coefficient matters most to the reader
    for number in sorted(expression.atoms(sympy.Float), key=lambda f: -abs(float(f))):
        if number not in expression.atoms(sympy.Float):  # gone with an earlier snap
            continue
        for candidate in candidates(float(number)):
            trial = expression.xreplace({number: candidate})
            trial_error = error(trial)
            if trial_error <= current + allowed:
                expression, current = trial, min(current, trial_error)
                break
    return expression


def one_signed_abs(expression, x: np.ndarray, variables: Sequence[str]):
    """``expression`` with each ``Abs(a)`` (from protected ``sqrt`` and ``log``) written as
    ``a``, or ``-a``, where ``a`` keeps that sign on every row of ``x``: the same values on the
    data, the physicist's form (``sqrt(1 - v**2/c**2)``). Innermost first; others stay."""
    import sympy

    columns = {name: x[:, k] for k, name in enumerate(variables)}
    if not columns:
        return expression

    def plain(e):
        try:
            values = evaluate(e.args[0], columns)
        except (ValueError, TypeError, KeyError, OverflowError):
            return e
        if not np.isfinite(values).all():
            return e
        if (values >= 0).all():
            return e.args[0]
        if (values <= 0).all():
            return -e.args[0]
        return e

    return expression.replace(lambda e: isinstance(e, sympy.Abs), plain)
