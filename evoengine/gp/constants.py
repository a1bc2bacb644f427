"""Fitting a tree's numeric constants by least squares: a few Levenberg-Marquardt steps.

For each tree with ephemeral constants (up to ``MAX_CONSTANTS`` of them, the first ones in
prefix order), the Jacobian of its outputs with respect to the constants is taken by forward
differences, and the damped normal equations ``(JᵀJ + λ diag(JᵀJ)) δ = Jᵀr`` give a step; a
step that does not lower the squared error is undone and λ grows tenfold, one that does is kept
and λ shrinks. Constants are changed in place (the tree keeps the fitted values), so a tree
never gets worse. Runs in one compiled kernel per block of trees, like the evaluator.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from evoengine.gp import evaluator
from evoengine.gp.evaluator import CHUNK, _in_blocks, _rebound, kernels_for, stack_need
from evoengine.gp.primitives import EPHEMERAL

MAX_CONSTANTS = 8
run_tree = evaluator.run_tree  # rebound for primitive sets with user functions


@njit(cache=True, nogil=True)
def _squared_error(y, f):
    total = 0.0
    for p in range(y.shape[0]):
        total += (y[p] - f[p]) ** 2
    return total


@njit(cache=True, nogil=True)
def _finite(a):
    for v in a.ravel():
        if not np.isfinite(v):
            return False
    return True


def _values(codes, consts, n, optab, argtab, arity, xt, stack, out):
    points = xt.shape[1]
    for start in range(0, points, CHUNK):
        m = min(CHUNK, points - start)
        run_tree(codes, consts, n, optab, argtab, arity, xt, start, m, stack)
        out[start:start + m] = stack[0, :m]


@njit(cache=True, nogil=True)
def _solve(a, b):
    """``a x = b`` by Gaussian elimination with partial pivoting (a is tiny: at most
    MAX_CONSTANTS square); a singular system gives a zero step."""
    n = b.shape[0]
    for col in range(n):
        pivot = col
        for r in range(col + 1, n):
            if abs(a[r, col]) > abs(a[pivot, col]):
                pivot = r
        if a[pivot, col] == 0.0:
            return np.zeros(n)
        for c in range(n):
            a[col, c], a[pivot, c] = a[pivot, c], a[col, c]
        b[col], b[pivot] = b[pivot], b[col]
        for r in range(col + 1, n):
            factor = a[r, col] / a[col, col]
            for c in range(col, n):
                a[r, c] -= factor * a[col, c]
            b[r] -= factor * b[col]
    x = np.zeros(n)
    for r in range(n - 1, -1, -1):
        total = b[r]
        for c in range(r + 1, n):
            total -= a[r, c] * x[c]
        x[r] = total / a[r, r]
    return x


@njit(cache=True, nogil=True)
def _line(f, y):
    """``(a, b)`` minimizing the squared error of ``a + b*f`` against ``y`` (b = 1 when ``f``
    is constant, so that the tree's constants can still move it)."""
    n = y.shape[0]
    mf = my = 0.0
    for p in range(n):
        mf += f[p]
        my += y[p]
    mf /= n
    my /= n
    sff = sfy = 0.0
    for p in range(n):
        sff += (f[p] - mf) ** 2
        sfy += (f[p] - mf) * (y[p] - my)
    b = sfy / sff if sff > 1e-300 else 1.0
    return my - b * mf, b


@njit(cache=True, nogil=True)
def _model(f, y, scale, out):
    """``out = a + b*f`` with the best ``a, b`` (linear scaling), or ``out = f``."""
    if scale:
        a, b = _line(f, y)
        for p in range(f.shape[0]):
            out[p] = a + b * f[p]
    else:
        out[:] = f


def _fit(codes, consts, lengths, optab, argtab, arity, xt, y, steps, scale, lo, hi):
    points = xt.shape[1]
    for i in range(lo, hi):
        n = lengths[i]
        where = np.empty(MAX_CONSTANTS, dtype=np.int64)
        count = 0
        for k in range(n):
            if optab[codes[i, k]] == EPHEMERAL and count < MAX_CONSTANTS:
                where[count] = k
                count += 1
        if count == 0:
            continue
        stack = np.empty((max(stack_need(codes[i], n, arity), 1), CHUNK))
        f = np.empty(points)
        g0 = np.empty(points)   # the model's values at the current constants
        trial = np.empty(points)
        _values(codes[i], consts[i], n, optab, argtab, arity, xt, stack, f)
        _model(f, y, scale, g0)
        error = _squared_error(y, g0)
        if not np.isfinite(error):
            continue
        jac = np.empty((points, count))
        damping = 1e-2
        for _ in range(steps):
            for j in range(count):
                c = consts[i, where[j]]
                h = 1e-7 * max(1.0, abs(c))
                consts[i, where[j]] = c + h
                _values(codes[i], consts[i], n, optab, argtab, arity, xt, stack, f)
                consts[i, where[j]] = c
                _model(f, y, scale, trial)
                for p in range(points):
                    jac[p, j] = (trial[p] - g0[p]) / h
            if not _finite(jac):
                break
            normal = np.zeros((count, count))
            gradient = np.zeros(count)
            for p in range(points):
                r = y[p] - g0[p]
                for u in range(count):
                    gradient[u] += jac[p, u] * r
                    for v in range(count):
                        normal[u, v] += jac[p, u] * jac[p, v]
            improved = False
            for _attempt in range(10):
                system = normal.copy()
                for j in range(count):
                    system[j, j] += damping * normal[j, j] + 1e-12
                step = _solve(system, gradient.copy())
                for j in range(count):
                    consts[i, where[j]] += step[j]
                _values(codes[i], consts[i], n, optab, argtab, arity, xt, stack, f)
                _model(f, y, scale, trial)
                new_error = _squared_error(y, trial)
                if np.isfinite(new_error) and new_error < error:
                    error = new_error
                    g0[:] = trial
                    damping = max(damping / 10.0, 1e-9)
                    improved = True
                    break
                for j in range(count):
                    consts[i, where[j]] -= step[j]
                damping *= 10.0
            if not improved:
                break


_FLAGS = dict(nogil=True, error_model="numpy")
_values_builtin = njit(cache=True, **_FLAGS)(_values)
_fit_builtin = njit(cache=True, **_FLAGS)(_rebound(_fit, dict(globals(),
                                                               _values=_values_builtin)))
_KERNELS: dict = {}


def _kernel_for(ps):
    if not ps.functions:
        return _fit_builtin
    key = tuple(id(f) for f in ps.functions)
    if key not in _KERNELS:
        names = dict(globals(), run_tree=kernels_for(ps)[0])
        names["_values"] = njit(**_FLAGS)(_rebound(_values, names))
        _KERNELS[key] = njit(**_FLAGS)(_rebound(_fit, names))
    return _KERNELS[key]


def fit_constants(trees, data: np.ndarray, target: np.ndarray, steps: int = 3, *,
                  scale: bool = False) -> None:
    """Fit every tree's ephemeral constants to ``target`` (see the module docstring), in
    place. ``steps`` Levenberg-Marquardt iterations at most per tree. With ``scale``, they are
    fitted for the best ``a + b*tree`` (linear scaling): ``a`` and ``b`` are solved in closed
    form at every trial (variable projection), so only the tree's constants are iterated."""
    if steps <= 0:
        return
    xt = evaluator._prepare(trees, data)
    target = np.ascontiguousarray(target, dtype=np.float64)
    t = trees.primitives.tables
    work = int(trees.lengths.sum()) * xt.shape[1] * steps * 4
    _in_blocks(_kernel_for(trees.primitives), len(trees), work,
               (trees.codes, trees.consts, trees.lengths, t.optab, t.argtab, t.arity, xt, target,
                steps, bool(scale)))


def linear_fit(outputs: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linear scaling (Keijzer 2003): for each row of ``outputs`` (trees x points), the ``a``
    and ``b`` minimizing the squared error of ``a + b*output`` against ``target``, in closed
    form. A constant row gets ``b = 0`` (its best fit is the target's mean); rows that are
    not finite get NaN."""
    outputs = np.asarray(outputs, dtype=float)
    target = np.asarray(target, dtype=float)
    with np.errstate(all="ignore"):
        mean_f = outputs.mean(axis=1)
        centred = outputs - mean_f[:, None]
        # Row sums, not BLAS (@, einsum): a row's value must not depend on how many rows a
        # backend's task holds or on the BLAS thread count, or backends would disagree.
        var_f = (centred * centred).sum(axis=1)
        cov = (centred * (target - target.mean())).sum(axis=1)
        flat = ~(var_f > 1e-300 * outputs.shape[1])
        b = np.where(flat, 0.0, cov / np.where(flat, 1.0, var_f))
        a = target.mean() - b * mean_f
    bad = ~np.isfinite(outputs).all(axis=1)
    a[bad], b[bad] = np.nan, np.nan
    return a, b
