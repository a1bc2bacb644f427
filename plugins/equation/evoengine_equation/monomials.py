"""An exact pre-step of the ``symbolic`` problem: formulas that are a short sum of monomials of
the inputs, after one of a few simple transforms of the target.

Many physics formulas are a constant times a product of powers (``F = G*m1*m2/r**2``), and
many more become a short sum of such products once the target is squared, inverted or its log
taken (``1/m**2 = 1/m0**2 - v**2/(c**2*m0**2)`` for ``m = m0/sqrt(1 - v**2/c**2)``). On
noise-free data each is a linear least-squares problem once the exponents are known, so:

1. *products of powers*: ``log|t|`` is fitted linearly in ``log|x_i|``, the exponents snapped
   to the nearest of ``PRODUCT_EXPONENTS`` (halves and thirds up to 4), the factor refitted;
2. *sums of monomials*: the terms are drawn from a dictionary of monomials of up to four
   variables with whole exponents in ``EXPONENTS`` (orthogonal least squares with a beam: the
   ``BEAM`` best supports are grown by the ``BEAM`` columns that lower their residual most,
   up to ``MAX_TERMS`` terms, then terms it fits as well without are dropped); where that
   finds nothing, once more after dividing by the whole powers the terms seem to share
   (``m*(v**2 + u**2 + w**2)``: the greedy search is lost among the products with m);

for the target ``t = y, 1/y, log|y|, y**2, 1/y**2`` (for ``log|y|`` the logs of the inputs
are terms too: a power law times an exponential). A candidate is kept only when it
reproduces the transformed target to ``EXACT`` of its spread, and then the formula it stands
for must reproduce ``y`` itself (checked by the caller on the tree it becomes). The search is
deterministic (no random numbers): the same data give the same candidates.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

# exponents of the terms of a sum: whole numbers only, since fractional ones add near-copies of
# every column (x**1.5 is close to x**2 over a range) that lead the greedy search astray
EXPONENTS = tuple(Fraction(p) for p in (-3, -2, -1, 1, 2, 3))
# exponents of a single product of powers may also be thirds (Kepler) and up to 4 in size
PRODUCT_EXPONENTS = tuple(sorted({Fraction(p, q) for q in (1, 2, 3) for p in range(-4 * q, 4 * q + 1)}))
EXACT = 1e-9          # residual RMS / spread of the transformed target that counts as exact
MAX_TERMS = 6         # monomials in a sum (besides the constant)
BEAM = 6              # supports kept and columns tried per support at each step
MAX_COLUMNS = 20_000  # dictionary columns: monomials of as many variables as stay under this
MAX_SUPPORT = 4       # and at most this many
SEARCH_ROWS = 200     # rows the search looks at (the candidate is then checked on all)
COMMON = 0.1         # how near a whole number an exponent of a common factor lies
MIN_ROWS = 20         # fewer rows than this: no claim (too few to tell a formula from a fit)
# in order of preference (a root last: its sign is lost and SymPy cannot take it back)
MAX_POWER = 16        # largest whole power a tree writes (x**16: four squares)
TRANSFORMS = ("y", "1/y", "log", "y**2", "1/y**2")


@dataclass(frozen=True)
class Monomials:
    """``y`` as ``inverse(offset + sum(coefficients[k] * prod(x_i ** exponents[k][i])))``,
    where ``inverse`` undoes ``transform`` (one of ``TRANSFORMS``); the log transform's sum
    may hold terms ``c * log(x_i)`` too (``logs``: ``(c, i)``), so that ``y`` may be a power
    times an exponential (``exp(-theta**2/(2*sigma**2))/sigma``)."""

    transform: str
    offset: float
    coefficients: tuple[float, ...]
    exponents: tuple[tuple[Fraction, ...], ...]
    logs: tuple[tuple[float, int], ...] = ()

    @property
    def terms(self) -> int:
        return len(self.coefficients) + len(self.logs)

    def predict(self, x: np.ndarray) -> np.ndarray:
        t = np.full(len(x), self.offset)
        for c, e in zip(self.coefficients, self.exponents, strict=True):
            t = t + c * _monomial(x, e)
        for c, i in self.logs:
            t = t + c * np.log(np.abs(x[:, i]))
        with np.errstate(all="ignore"):
            return _INVERSE[self.transform](t)


def _monomial(x: np.ndarray, exponents) -> np.ndarray:
    out = np.ones(len(x))
    for i, e in enumerate(exponents):
        if e:
            out = out * (x[:, i] ** int(e) if e.denominator == 1 else
                         np.abs(x[:, i]) ** float(e))
    return out


_INVERSE = {"y": lambda t: t, "1/y": lambda t: 1 / t, "y**2": lambda t: np.sqrt(np.abs(t)),
            "1/y**2": lambda t: 1 / np.sqrt(np.abs(t)), "log": np.exp}


def find_monomials(x: np.ndarray, y: np.ndarray) -> list[Monomials]:
    """Candidates that fit ``y`` exactly (see the module docstring), simplest first: fewer
    terms, then the order of ``TRANSFORMS``. Empty when nothing fits."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(y) < MIN_ROWS or not (np.isfinite(x).all() and np.isfinite(y).all()) or \
            np.ptp(y) == 0:
        return []
    rows = x[:SEARCH_ROWS], y[:SEARCH_ROWS]
    allowed = [_allowed_exponents(column) for column in x.T]
    columns, column_exponents = _dictionary(rows[0], allowed)
    found = []
    for transform in TRANSFORMS:
        target = _transformed(transform, rows[1])
        if target is None:
            continue
        candidates = [_product(rows[0], target, transform, allowed),
                      _sum(rows[0], target, transform, columns, column_exponents)]
        factor = _common_factor(rows[0], target)
        if candidates[1] is None and factor is not None:
            candidates.append(_times(factor, _sum(rows[0], target / _monomial(rows[0], factor),
                                                  transform, columns, column_exponents)))
        for candidate in candidates:
            if candidate is not None and _exact(candidate, x, y):
                found.append(candidate)
    return sorted(found, key=lambda c: (c.terms, TRANSFORMS.index(c.transform)))


def _exact(candidate: Monomials, x, y) -> bool:
    """The candidate's ``y`` on every row, to ``EXACT`` of the spread (scale and offset free,
    as the problem's linear scaling makes them)."""
    prediction = candidate.predict(x)
    if not np.isfinite(prediction).all() or np.ptp(prediction) == 0:
        return False
    design = np.column_stack([np.ones(len(y)), prediction])
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coefficients
    return bool(np.sqrt(np.mean(residual**2)) <= EXACT * np.std(y))


def _allowed_exponents(column: np.ndarray) -> tuple[Fraction, ...]:
    """Fractional powers need positive values, negative ones values away from 0; a variable
    that is 0 somewhere gets whole positive powers only."""
    if (column > 0).all():
        return EXPONENTS
    if (column != 0).all():
        return tuple(e for e in EXPONENTS if e.denominator == 1)
    return tuple(e for e in EXPONENTS if e.denominator == 1 and e > 0)


def _transformed(transform: str, y: np.ndarray) -> np.ndarray | None:
    one_signed = (y > 0).all() or (y < 0).all()
    with np.errstate(all="ignore"):
        if transform == "y":
            return y
        if not one_signed:  # 1/y, squares and logs lose the sign or blow up at 0
            return None
        return {"1/y": 1 / y, "y**2": y**2, "1/y**2": 1 / y**2, "log": np.log(np.abs(y))}[
            transform]


def _dictionary(x: np.ndarray, allowed) -> tuple[np.ndarray, list[tuple[Fraction, ...]]]:
    """Monomials of up to ``MAX_SUPPORT`` variables (as many as keep the dictionary under
    ``MAX_COLUMNS``) with the allowed exponents, as columns over the rows of ``x``."""
    d = x.shape[1]
    powers = [{e: _monomial(x[:, [i]], (e,)) for e in allowed[i]} for i in range(d)]

    def count(k):
        return sum(math.prod(len(allowed[i]) for i in s) for s in itertools.combinations(range(d), k))

    largest = 1
    while largest < min(d, MAX_SUPPORT) and \
            sum(count(k) for k in range(1, largest + 2)) <= MAX_COLUMNS:
        largest += 1
    columns, exponents = [], []
    for k in range(1, min(largest, d) + 1):
        for support in itertools.combinations(range(d), k):
            for chosen in itertools.product(*(allowed[i] for i in support)):
                e = [Fraction(0)] * d
                column = np.ones(len(x))
                for i, p in zip(support, chosen, strict=True):
                    e[i] = p
                    column = column * powers[i][p]
                columns.append(column)
                exponents.append(tuple(e))
    return np.column_stack(columns) if columns else np.empty((len(x), 0)), exponents


def _product(x, target, transform, allowed) -> Monomials | None:
    """``target = c * prod(x_i ** a_i)``: ``log|target|`` linear in ``log|x_i|``, exponents
    snapped to the nearest of ``PRODUCT_EXPONENTS`` (a variable with zeros: none)."""
    if not ((target > 0).all() or (target < 0).all()) or not (x != 0).all():
        return None
    logs = np.column_stack([np.ones(len(x)), np.log(np.abs(x))])
    solution, *_ = np.linalg.lstsq(logs, np.log(np.abs(target)), rcond=None)
    exponents = []
    for i, a in enumerate(solution[1:]):
        snapped = min(PRODUCT_EXPONENTS, key=lambda p: abs(float(p) - a))
        if snapped.denominator > 1 and not (x[:, i] > 0).all():
            return None
        exponents.append(snapped)
    if not any(exponents):
        return None
    column = _monomial(x, exponents)
    factor = float(column @ target / (column @ column))
    return Monomials(transform, 0.0, (factor,), (tuple(exponents),))


def _common_factor(x, target) -> tuple[Fraction, ...] | None:
    """Whole powers of the variables that a sum's terms seem to share: the exponents of the
    fit of ``log|target|`` on ``log|x_i|`` that lie within ``COMMON`` of a whole number other
    than 0 (for ``m*(v**2 + u**2)``, m's is 1 and v's and u's are not whole). None if none."""
    if not ((target > 0).all() or (target < 0).all()) or not (x != 0).all():
        return None
    logs = np.column_stack([np.ones(len(x)), np.log(np.abs(x))])
    solution, *_ = np.linalg.lstsq(logs, np.log(np.abs(target)), rcond=None)
    factor = tuple(Fraction(round(a)) if abs(a - round(a)) <= COMMON else Fraction(0)
                   for a in solution[1:])
    return factor if any(factor) else None


def _times(factor, candidate: Monomials | None) -> Monomials | None:
    """``factor * candidate`` (same transform): the factor joins every term, the offset
    becomes a term of its own."""
    if candidate is None or candidate.logs:  # factor * log(x) is no term here
        return None
    terms = [(c, tuple(a + b for a, b in zip(e, factor, strict=True)))
             for c, e in zip(candidate.coefficients, candidate.exponents, strict=True)]
    if candidate.offset:
        terms.append((candidate.offset, factor))
    return Monomials(candidate.transform, 0.0, tuple(c for c, _ in terms),
                     tuple(e for _, e in terms))


def _sum(x, target, transform, columns, exponents) -> Monomials | None:
    """``target = c0 + sum of at most MAX_TERMS dictionary columns``: the monomials of one
    variable first, then of up to two, ... (a larger dictionary has more near-copies of the
    right terms to go astray on), the first that fits exactly. For the log transform the
    logs of the positive variables join the dictionary (a power law times an exponential)."""
    support_sizes = np.array([sum(1 for e in column if e) for column in exponents])
    log_of = np.full(len(exponents), -1)
    if transform == "log":
        positive = [i for i in range(x.shape[1]) if (x[:, i] > 0).all()]
        columns = np.column_stack([columns, *(np.log(x[:, i]) for i in positive)])
        exponents = [*exponents, *([None] * len(positive))]
        support_sizes = np.concatenate([support_sizes, np.ones(len(positive), dtype=int)])
        log_of = np.concatenate([log_of, np.array(positive, dtype=int)])
    for largest in range(1, int(support_sizes.max(initial=0)) + 1):
        chosen = np.flatnonzero(support_sizes <= largest)
        found = _pursuit(target, transform, columns[:, chosen],
                         [exponents[k] for k in chosen], log_of[chosen])
        if found is not None:
            return found
    return None


def _pursuit(target, transform, columns, exponents, log_of) -> Monomials | None:
    """``target = c0 + sum of at most MAX_TERMS of the columns``, by beam-search orthogonal
    least squares; the first support (fewest terms) that fits exactly. A column with
    ``log_of[k] >= 0`` is the log of that variable."""
    if not columns.shape[1]:
        return None
    spread = np.std(target)
    if not np.isfinite(spread) or spread == 0:
        return None
    with np.errstate(all="ignore"):
        centered = columns - columns.mean(axis=0)
        norms = np.linalg.norm(centered, axis=0)
        usable = np.isfinite(norms) & (norms > 1e-12 * max(1.0, float(np.nanmax(norms))))
        unit = np.where(usable, centered / np.where(usable, norms, 1.0), 0.0)
    beam: list[tuple[int, ...]] = [()]
    residuals = {(): target - target.mean()}
    for _ in range(MAX_TERMS):
        grown = {}
        for support in beam:
            for column in _best_additions(unit, support, residuals[support]):
                new = tuple(sorted((*support, int(column))))
                if new in grown:
                    continue
                fit = _least_squares(columns[:, new], target)
                if fit is None:
                    continue
                coefficients, residual = fit
                grown[new] = (float(np.sqrt(np.mean(residual**2))), coefficients, residual)
        if not grown:
            return None
        ranked = sorted(grown.items(), key=lambda item: (item[1][0], item[0]))
        support, (error, coefficients, _) = ranked[0]
        if error <= EXACT * spread:
            support, coefficients = _pruned(columns, target, support, coefficients, spread)
            terms = list(zip((float(c) for c in coefficients[1:]), support, strict=True))
            return Monomials(transform, float(coefficients[0]),
                             tuple(c for c, k in terms if log_of[k] < 0),
                             tuple(exponents[k] for c, k in terms if log_of[k] < 0),
                             tuple((c, int(log_of[k])) for c, k in terms if log_of[k] >= 0))
        beam = [s for s, _ in ranked[:BEAM]]
        residuals = {s: grown[s][2] for s in beam}
    return None


def _pruned(columns, target, support, coefficients, spread):
    """The exact support less every term it fits as well without (the greedy search can pick
    up a term before the ones that make it redundant), the smallest contribution tried first;
    and without the offset where that is rounding error. Coefficients: offset first."""
    support = list(support)
    without = _least_squares(columns[:, support], target, intercept=False)
    if without is not None and np.sqrt(np.mean(without[1] ** 2)) <= EXACT * spread:
        coefficients = np.concatenate([[0.0], without[0]])  # an offset of rounding error
        intercept = False
    else:
        intercept = True
    while len(support) > 1:
        sizes = [abs(c) * np.std(columns[:, k]) for c, k in zip(coefficients[1:], support,
                                                                 strict=True)]
        for drop in np.argsort(sizes, kind="stable"):
            fewer = support[:drop] + support[drop + 1:]
            fit = _least_squares(columns[:, fewer], target, intercept)
            if fit is not None and np.sqrt(np.mean(fit[1] ** 2)) <= EXACT * spread:
                support = fewer
                coefficients = fit[0] if intercept else np.concatenate([[0.0], fit[0]])
                break
        else:
            break
    return tuple(support), coefficients


def _best_additions(unit: np.ndarray, support: tuple[int, ...], residual: np.ndarray):
    """The ``BEAM`` columns whose addition to ``support`` lowers the squared residual most
    (orthogonal least squares: each column's part outside the support's span counts, so the
    near-copies of a chosen column, common among monomials, do not crowd out the next term)."""
    along = unit.T @ residual  # the residual is orthogonal to the support already
    if support:
        basis, _ = np.linalg.qr(unit[:, list(support)])
        outside = 1.0 - np.sum((basis.T @ unit) ** 2, axis=0)
    else:
        outside = np.ones(unit.shape[1])
    with np.errstate(all="ignore"):
        gain = np.where(outside > 1e-10, along**2 / outside, 0.0)
    gain[list(support)] = -1.0
    return np.argsort(-gain, kind="stable")[:BEAM]


def _least_squares(columns: np.ndarray, target: np.ndarray, intercept: bool = True):
    design = np.column_stack([np.ones(len(target)), columns]) if intercept else columns
    if not np.isfinite(design).all():
        return None
    coefficients, *_ = np.linalg.lstsq(design, target, rcond=None)
    return coefficients, target - design @ coefficients


def as_prefix(candidate: Monomials, variables: list[str]) -> list[tuple[str, float]] | None:
    """The candidate as a tree in prefix order, ``(node name, constant)`` pairs with
    ``"const"`` for a number, over ``mul pdiv add square cube psqrt exp plog``; None where an
    exponent needs a root other than the square root."""
    terms = []
    for c, exponents in zip(candidate.coefficients, candidate.exponents, strict=True):
        up = [_power(variables[i], e) for i, e in enumerate(exponents) if e > 0]
        down = [_power(variables[i], -e) for i, e in enumerate(exponents) if e < 0]
        if any(p is None for p in up + down):
            return None
        monomial = _multiplied(up) if up else [("const", 1.0)]
        if down:
            monomial = [("pdiv", 0.0), *monomial, *_multiplied(down)]
        terms.append([("mul", 0.0), ("const", c), *monomial])
    for c, i in candidate.logs:
        terms.append([("mul", 0.0), ("const", c), ("plog", 0.0), (variables[i], 0.0)])
    if candidate.offset:
        terms.append([("const", candidate.offset)])
    tree = terms[0]
    for term in terms[1:]:
        tree = [("add", 0.0), *tree, *term]
    outer = {"y": [], "1/y": [("pdiv", 0.0), ("const", 1.0)], "y**2": [("psqrt", 0.0)],
             "1/y**2": [("pdiv", 0.0), ("const", 1.0), ("psqrt", 0.0)], "log": [("exp", 0.0)]}
    return [*outer[candidate.transform], *tree]


def _power(name: str, e: Fraction):
    """``name ** e`` in prefix order for a whole or half ``e > 0`` (``psqrt`` of the whole
    power), by squares and cubes (``x**10 = square(square(x)*cube(x))``-like chains); None for
    other roots."""
    if e.denominator == 2:
        whole = _whole_power(name, e.numerator)
        return None if whole is None else [("psqrt", 0.0), *whole]
    return _whole_power(name, e.numerator) if e.denominator == 1 else None


def _whole_power(name: str, n: int):
    if n > MAX_POWER:
        return None
    if n <= 3:
        return [*{1: [], 2: [("square", 0.0)], 3: [("cube", 0.0)]}[n], (name, 0.0)]
    if n % 2 == 0:
        return [("square", 0.0), *_whole_power(name, n // 2)]
    return [("mul", 0.0), (name, 0.0), *_whole_power(name, n - 1)]


def _multiplied(factors):
    tree = factors[0]
    for factor in factors[1:]:
        tree = [("mul", 0.0), *tree, *factor]
    return tree
