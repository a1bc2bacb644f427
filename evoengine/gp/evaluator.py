"""The GP stack machine: compiled evaluation of a whole population of trees over many data
points, in one kernel, and of a parsed :class:`~evoengine.gp.program.Program` on the same
kernel (:func:`evaluate_program`), so every expression in evoengine has one set of semantics.

Each tree runs as a stack machine, right to left over its prefix array; every step works on a
chunk of data points at once, so the operator's branch is taken once per chunk and the inner
loop over points is a plain, vectorizable loop. Blocks of trees run on threads (the kernels
release the GIL, and being serial they are cached on disk, which Numba's parallel kernels
cannot safely be); a tree's values never depend on the thread that ran it. Parallel over
trees rather than points: a population has many more trees than threads, and each tree then
keeps its stack in cache. The stack is as deep as the tree needs, so depth is limited only by
memory (DEAP's ``eval`` of a string fails past about 90 levels, DEAP#560).

Semantics: IEEE arithmetic. ``div`` by zero gives an infinity of the dividend's sign (0/0
NaN), ``log`` of 0 gives -inf and of a negative number NaN, ``sqrt`` of a negative number NaN;
NaN and infinities stay apart. The protected operators never fail: ``pdiv`` gives 1 where
``|divisor| <= 1e-12``, ``plog`` gives ``log|x|`` (0 near 0), ``psqrt`` gives ``sqrt|x|``. NaN
or inf anywhere in a tree's output marks its evaluation as failed, which the engine ranks
worst.

User primitives are composed into the kernel without generating source: each compiled user
function is wrapped to a common ``(k, a, b, c)`` signature and chained by closures
(``k == 0 ? f0 : next(k - 1)``); the kernels' code is then compiled again with that chain
bound to their ``dispatch`` global, and Numba inlines it as a constant.
"""

from __future__ import annotations

import os
import types
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba import njit

from evoengine.gp.primitives import EPHEMERAL, USER, PrimitiveSet
from evoengine.gp.program import ARITY, CONST, OPCODE, VAR, Program
from evoengine.operators.compile import FASTMATH

CHUNK = 512
PARALLEL_MIN_WORK = 200_000  # node x point operations below which threads cost more
PROTECT = 1e-12
_ADD, _SUB, _MUL, _DIV, _PDIV = (OPCODE[n] for n in ("add", "sub", "mul", "div", "pdiv"))
_NEG, _POW, _SIN, _COS, _TAN = (OPCODE[n] for n in ("neg", "pow", "sin", "cos", "tan"))
_EXP, _LOG, _PLOG, _SQRT, _PSQRT = (OPCODE[n] for n in ("exp", "log", "plog", "sqrt", "psqrt"))
_ABS, _TANH, _MIN, _MAX = (OPCODE[n] for n in ("abs", "tanh", "min", "max"))
_SQUARE, _CUBE, _ASIN = (OPCODE[n] for n in ("square", "cube", "asin"))
_FLAGS = dict(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)


# sin and cos dominate the cost of typical GP trees, and libm's are scalar calls; Cephes'
# polynomials (Moshier, sin.c: Cody-Waite reduction by pi/4, relative error about 2e-16)
# vectorize. Outside |x| < 2**30, and for NaN/inf, a second pass puts libm's value.
_DP1, _DP2, _DP3 = 7.85398125648498535156e-1, 3.77489470793079817668e-8, \
    2.69515142907905952645e-15
_S0, _S1, _S2 = 1.58962301576546568060e-10, -2.50507477628578072866e-8, \
    2.75573136213857245213e-6
_S3, _S4, _S5 = -1.98412698295895385996e-4, 8.33333333332211858878e-3, \
    -1.66666666666666307295e-1
_C0, _C1, _C2 = -1.13585365213876817300e-11, 2.08757008419747316778e-9, \
    -2.75573141792967388112e-7
_C3, _C4, _C5 = 2.48015872888517045348e-5, -1.38888888888730564116e-3, \
    4.16666666666665929218e-2
_FOUR_OVER_PI = 1.27323954473516268615
_LOSSTH = 1.073741824e9


@njit(inline="always", **{k: v for k, v in _FLAGS.items() if k != "cache"})
def _sin_cos(x, shift):
    """sin(x) for shift 0, cos(x) for shift 2 (octants), as Cephes computes them, in float
    arithmetic only (no integer conversion), so that loops over it vectorize."""
    sign = -1.0 if (x < 0 and shift == 0) else 1.0
    x = abs(x)
    y = np.floor(x * _FOUR_OVER_PI)
    y += y - 2.0 * np.floor(0.5 * y)  # to the next even octant
    j = (y + shift) - 8.0 * np.floor((y + shift) * 0.125)
    if j >= 4.0:
        sign = -sign
        j -= 4.0
    z = ((x - y * _DP1) - y * _DP2) - y * _DP3
    zz = z * z
    cosine = 1.0 - 0.5 * zz + zz * zz * (((((_C0 * zz + _C1) * zz + _C2) * zz + _C3) * zz
                                           + _C4) * zz + _C5)
    sine = z + z * zz * (((((_S0 * zz + _S1) * zz + _S2) * zz + _S3) * zz + _S4) * zz + _S5)
    return sign * (cosine if j == 2.0 else sine)


@njit(**_FLAGS)
def _unary_chunk(op, a, m):
    """``a[:m] = op(a[:m])`` in place."""
    if op == _NEG:
        for p in range(m):
            a[p] = -a[p]
    elif op == _SIN or op == _COS:
        shift = 0 if op == _SIN else 2
        wild = 0
        for p in range(m):
            wild += not abs(a[p]) < _LOSSTH
        if wild == 0:  # the usual case: one vectorized loop
            for p in range(m):
                a[p] = _sin_cos(a[p], shift)
        else:
            for p in range(m):
                if abs(a[p]) < _LOSSTH:
                    a[p] = _sin_cos(a[p], shift)
                else:
                    a[p] = np.sin(a[p]) if shift == 0 else np.cos(a[p])
    elif op == _TAN:
        for p in range(m):
            a[p] = np.tan(a[p])
    elif op == _EXP:
        for p in range(m):
            a[p] = np.exp(a[p])
    elif op == _LOG:
        for p in range(m):
            a[p] = np.log(a[p])  # IEEE: -inf at 0, NaN below
    elif op == _PLOG:
        for p in range(m):
            x = abs(a[p])
            a[p] = np.log(x) if x > PROTECT else 0.0
    elif op == _SQRT:
        for p in range(m):
            a[p] = np.sqrt(a[p]) if a[p] >= 0 else np.nan
    elif op == _PSQRT:
        for p in range(m):
            a[p] = np.sqrt(abs(a[p]))
    elif op == _ABS:
        for p in range(m):
            a[p] = abs(a[p])
    elif op == _SQUARE:
        for p in range(m):
            a[p] = a[p] * a[p]
    elif op == _CUBE:
        for p in range(m):
            a[p] = a[p] * a[p] * a[p]
    elif op == _ASIN:
        for p in range(m):
            a[p] = np.arcsin(a[p]) if abs(a[p]) <= 1 else np.nan
    else:  # tanh
        for p in range(m):
            a[p] = np.tanh(a[p])


@njit(**_FLAGS)
def _binary_chunk(op, a, b, m):
    """``b[:m] = op(a[:m], b[:m])`` in place (``a`` is the first argument)."""
    if op == _ADD:
        for p in range(m):
            b[p] = a[p] + b[p]
    elif op == _SUB:
        for p in range(m):
            b[p] = a[p] - b[p]
    elif op == _MUL:
        for p in range(m):
            b[p] = a[p] * b[p]
    elif op == _PDIV:
        for p in range(m):
            b[p] = a[p] / b[p] if abs(b[p]) > PROTECT else 1.0
    elif op == _DIV:
        for p in range(m):
            b[p] = a[p] / b[p]  # IEEE: x/0 is an infinity of x's sign, 0/0 NaN
    elif op == _POW:
        for p in range(m):
            b[p] = a[p] ** b[p]
    elif op == _MIN:
        for p in range(m):
            b[p] = min(a[p], b[p])
    else:  # max
        for p in range(m):
            b[p] = max(a[p], b[p])


@njit(**_FLAGS)
def stack_need(codes, n, arity):
    """Stack slots a prefix tree of ``n`` nodes needs, evaluated right to left."""
    depth = peak = 0
    for k in range(n - 1, -1, -1):
        depth += 1 - arity[codes[k]]
        peak = max(peak, depth)
    return peak


@njit(nogil=True)
def _no_user(k, a, b, c):
    return np.nan


def _wrap(func, arity):
    """A user function as ``(a, b, c) -> float64`` whatever its arity."""
    if arity == 1:
        @njit(nogil=True, inline="always")
        def wrapped(a, b, c):
            return np.float64(func(a))
    elif arity == 2:
        @njit(nogil=True, inline="always")
        def wrapped(a, b, c):
            return np.float64(func(a, b))
    else:
        @njit(nogil=True, inline="always")
        def wrapped(a, b, c):
            return np.float64(func(a, b, c))
    return wrapped


def _link(index, func, rest):
    @njit(nogil=True)
    def dispatch(k, a, b, c):
        if k == index:
            return func(a, b, c)
        return rest(k, a, b, c)

    return dispatch


def make_dispatch(functions, arities):
    """One compiled function calling user function ``k`` (no source is generated)."""
    dispatch = _no_user
    for k in range(len(functions) - 1, -1, -1):
        dispatch = _link(k, _wrap(functions[k], arities[k]), dispatch)
    return dispatch


# The kernels below call the globals ``dispatch`` (user functions) and ``run_tree``. Compiled
# as they are, they serve primitive sets of built-ins only and are cached on disk; for a set
# with user functions, copies of the same code objects are compiled with those two globals
# rebound (no source is generated or exec-ed).
dispatch = _no_user


def _run_tree(codes, consts, n, optab, argtab, arity, xt, start, m, stack):
    """Values of one tree at points ``start .. start+m`` into ``stack[0, :m]``."""
    top = 0
    for k in range(n - 1, -1, -1):
        c = codes[k]
        op = optab[c]
        if op == VAR:
            col = argtab[c]
            for p in range(m):
                stack[top, p] = xt[col, start + p]
            top += 1
        elif op == CONST or op == EPHEMERAL:
            v = consts[k]
            for p in range(m):
                stack[top, p] = v
            top += 1
        elif op == USER:
            a, f = arity[c], argtab[c]
            if a == 1:
                for p in range(m):
                    stack[top - 1, p] = dispatch(f, stack[top - 1, p], 0.0, 0.0)
            elif a == 2:
                for p in range(m):
                    stack[top - 2, p] = dispatch(f, stack[top - 1, p], stack[top - 2, p],
                                                 0.0)
            else:
                for p in range(m):
                    stack[top - 3, p] = dispatch(f, stack[top - 1, p], stack[top - 2, p],
                                                 stack[top - 3, p])
            top -= a - 1
        elif arity[c] == 1:
            _unary_chunk(op, stack[top - 1], m)
        else:
            _binary_chunk(op, stack[top - 1], stack[top - 2], m)
            top -= 1


def _outputs(codes, consts, lengths, optab, argtab, arity, xt, lo, hi, out):
    """Trees ``lo .. hi`` at every point into ``out`` (trees x points)."""
    n_points = xt.shape[1]
    for i in range(lo, hi):
        stack = np.empty((max(stack_need(codes[i], lengths[i], arity), 1), CHUNK))
        for start in range(0, n_points, CHUNK):
            m = min(CHUNK, n_points - start)
            run_tree(codes[i], consts[i], lengths[i], optab, argtab, arity, xt, start, m,
                     stack)
            out[i, start:start + m] = stack[0, :m]


def _mse(codes, consts, lengths, optab, argtab, arity, xt, y, lo, hi, out):
    """Mean squared error of trees ``lo .. hi`` into ``out`` (NaN where not finite)."""
    n_points = xt.shape[1]
    for i in range(lo, hi):
        stack = np.empty((max(stack_need(codes[i], lengths[i], arity), 1), CHUNK))
        total = 0.0
        for start in range(0, n_points, CHUNK):
            m = min(CHUNK, n_points - start)
            run_tree(codes[i], consts[i], lengths[i], optab, argtab, arity, xt, start, m,
                     stack)
            for p in range(m):
                d = stack[0, p] - y[start + p]
                total += d * d
        out[i] = total / n_points if np.isfinite(total) else np.nan


_TREE_FLAGS = dict(nogil=True, error_model="numpy", fastmath=FASTMATH)
_LOOP_FLAGS = dict(nogil=True, error_model="numpy")
run_tree = njit(cache=True, **_TREE_FLAGS)(_run_tree)
_BUILTIN_KERNELS = (run_tree, njit(cache=True, **_LOOP_FLAGS)(_outputs),
                    njit(cache=True, **_LOOP_FLAGS)(_mse))
_KERNELS: dict = {}


def _rebound(func, names: dict):
    return types.FunctionType(func.__code__, names, func.__name__, func.__defaults__)


def _make_kernels(user_dispatch):
    names = dict(globals(), dispatch=user_dispatch)
    names["run_tree"] = njit(**_TREE_FLAGS)(_rebound(_run_tree, names))
    return (names["run_tree"], njit(**_LOOP_FLAGS)(_rebound(_outputs, names)),
            njit(**_LOOP_FLAGS)(_rebound(_mse, names)))


def kernels_for(ps: PrimitiveSet):
    """The compiled kernels of a primitive set (built once per set of user functions)."""
    if not ps.functions:
        return _BUILTIN_KERNELS
    key = tuple(id(f) for f in ps.functions)
    if key not in _KERNELS:
        arities = [next(n.arity for n in ps.nodes if n.op == USER and n.index == k)
                   for k in range(len(ps.functions))]
        dispatch_chain = make_dispatch(ps.functions, arities)
        _KERNELS[key] = (_make_kernels(dispatch_chain), list(ps.functions))  # keep alive
    return _KERNELS[key][0]


def _threads() -> int:
    return max(1, min(numba.get_num_threads(), os.cpu_count() or 1))


def _in_blocks(kernel, count: int, work: int, args: tuple, tail: tuple = ()) -> None:
    """Run ``kernel(*args, lo, hi, *tail)`` over blocks of trees on threads (the kernels
    release the GIL); each tree's result is the same whatever the number of threads."""
    threads = _threads() if work >= PARALLEL_MIN_WORK else 1
    if threads == 1 or count < 2:
        kernel(*args, 0, count, *tail)
        return
    bounds = np.linspace(0, count, min(threads * 4, count) + 1).astype(int)
    pool = _pool(threads)
    jobs = [pool.submit(kernel, *args, int(lo), int(hi), *tail)
            for lo, hi in zip(bounds[:-1], bounds[1:], strict=True) if hi > lo]
    for job in jobs:
        job.result()


_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool(threads: int) -> ThreadPoolExecutor:
    """One pool per thread count, kept: starting threads every generation costs more than
    evaluating a small population."""
    if threads not in _POOLS:
        _POOLS[threads] = ThreadPoolExecutor(threads, thread_name_prefix="evoengine-gp")
    return _POOLS[threads]


def _prepare(trees, data):
    data = np.asarray(data, dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None]
    nvars = len(trees.primitives.variables)
    if data.ndim != 2 or data.shape[1] != nvars:
        raise ValueError(f"data must be points x {nvars} variables "
                         f"({', '.join(trees.primitives.variables)}), got shape {data.shape}")
    return np.ascontiguousarray(data.T)


def evaluate_trees(trees, data: np.ndarray) -> np.ndarray:
    """Every tree's value at every point: ``trees`` (N) over ``data`` (points x variables)
    gives N x points. NaN or inf where a tree's evaluation failed."""
    xt = _prepare(trees, data)
    t = trees.primitives.tables
    _, outputs, _ = kernels_for(trees.primitives)
    out = np.empty((len(trees), xt.shape[1]))
    _in_blocks(outputs, len(trees), int(trees.lengths.sum()) * xt.shape[1],
               (trees.codes, trees.consts, trees.lengths, t.optab, t.argtab, t.arity, xt),
               (out,))
    return out


def mean_squared_error(trees, data: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Each tree's mean squared error against ``target``, computed without storing the outputs
    (N values; NaN where the evaluation failed)."""
    xt = _prepare(trees, data)
    target = np.ascontiguousarray(target, dtype=np.float64)
    if target.shape != (xt.shape[1],):
        raise ValueError(f"target must have {xt.shape[1]} values, got shape {target.shape}")
    t = trees.primitives.tables
    _, _, mse = kernels_for(trees.primitives)
    out = np.empty(len(trees))
    _in_blocks(mse, len(trees), int(trees.lengths.sum()) * xt.shape[1],
               (trees.codes, trees.consts, trees.lengths, t.optab, t.argtab, t.arity, xt,
                target), (out,))
    return out


def evaluate_program(program: Program, data: np.ndarray) -> np.ndarray:
    """The program's value at each row of ``data`` (one column per variable, in order), on the
    trees' machine: each node is its own entry of the node tables (its opcode, its variable
    column), so the program runs as a one-tree population."""
    data = np.ascontiguousarray(data, dtype=np.float64)
    if data.ndim != 2 or data.shape[1] < len(program.variables):
        raise ValueError(
            f"data must have a column per variable ({len(program.variables)}), "
            f"got shape {data.shape}")
    n = len(program.ops)
    codes = np.arange(n, dtype=np.int64)[None, :]
    consts = np.ascontiguousarray(program.consts, dtype=np.float64)[None, :]
    optab = np.ascontiguousarray(program.ops, dtype=np.int64)
    argtab = np.ascontiguousarray(program.args, dtype=np.int64)
    out = np.empty((1, data.shape[0]))
    _, outputs, _ = _BUILTIN_KERNELS
    outputs(codes, consts, np.array([n], dtype=np.int64), optab, argtab, ARITY[optab],
            np.ascontiguousarray(data.T), 0, 1, out)
    return out[0]
