"""Equation discovery: evolve a formula that predicts one column of a CSV file from the others.

    evoengine run symbolic --set data=points.csv --set target=y

The file has a header row and numeric cells. Rows are split once (``split_seed``) into a
training part, whose root mean squared error is the fitness, and a held-out part
(``test_fraction``) reported at the end. The result is the front of best formulas by size (a
formula is on it if no smaller one is as accurate), simplified by SymPy into readable infix,
each with its train and held-out error. Constants can be fitted by a few Levenberg-Marquardt
steps before each evaluation (``constant_fitting``).
"""

from __future__ import annotations

import csv
import io
import keyword
import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from evoengine import ConfigError, Objective
from evoengine.gp import (
    NODE_DTYPE, OPS, USER, VAR, PrimitiveSet, TreeProblem, Trees, evaluate_trees, fit_constants,
    linear_fit, mean_squared_error,
)
from evoengine.io import MiB, InputFileError, read_input_text
from evoengine_equation.monomials import as_prefix, find_monomials
from evoengine_equation.snap import one_signed_abs, snap_constants

CSV_LIMIT = 64 * MiB  # of a data file: read whole, as text and then as rows of cells
# Data values above this make every squared error overflow to inf (1e150 ** 2 ~ 1e300).
MAX_MAGNITUDE = 1e150
# Protected division, square root and log: a formula is never a failed evaluation for
# crossing 0; square and cube because physics is full of them (x*x is two lucky subtrees).
DEFAULT_FUNCTIONS = ["add", "sub", "mul", "pdiv", "neg", "square", "cube", "psqrt", "exp", "plog",
                     "sin", "cos"]
# The budget that normally ends a run (or an exact fit first) counts evaluations, not seconds,
# so that the same seed gives the same formula on a loaded machine too: 400,000 evaluations
# took 50-80 CPU seconds on this project's machine (5,000-8,000 a second; ``max_seconds`` is
# the opt-in wall-clock limit).
SYMBOLIC_DEFAULTS = {"population_size": 500, "generations": 100_000,
                     "max_evaluations": 400_000, "max_depth": 12}
ABOUT_SECONDS = 60  # what the note says the default budget takes here
FIT_ROWS = 64  # constant fitting sees this many training rows (in random order): 5x faster
EXACT = 1e-10  # RMSE relative to the target's spread that counts as an exact fit (stops)
SIMPLIFY_MAX_SIZE = 40  # SymPy's simplify grows slow on big formulas; those are only expanded


class SymbolicSettings(BaseModel):
    """``symbolic``: find a formula for one column of a CSV file."""

    model_config = ConfigDict(extra="forbid")

    data: str = Field(description="CSV file with a header row and numeric cells")
    target: str | None = Field(None, description="column to predict; default: the last one")
    functions: list[str] = Field(list(DEFAULT_FUNCTIONS), min_length=1,
                                 description="primitives (built-in names)")
    constants: tuple[float, float] = Field((-1.0, 1.0), description="range of random constants")
    test_fraction: float = Field(0.25, ge=0.0, lt=1.0, description="rows held out")
    split_seed: int = Field(0, description="seed of the train/held-out split")
    constant_fitting: int = Field(5, ge=0, description="Levenberg-Marquardt steps per "
                                  "evaluation (0: off)")
    linear_scaling: bool = Field(True, description="fit target = a + b*formula (a, b in "
                                 "closed form), so a formula need not find scale and offset")
    monomials: bool = Field(True, description="exact pre-step: formulas that are a short sum "
                            "of monomials of the inputs (after 1/y, y**2, 1/y**2 or log y) are "
                            "searched for first and seed the first population")
    snap_constants: bool = Field(True, description="report constants as simple fractions and "
                                 "multiples of pi where the error does not grow")
    tree_size: int = Field(64, ge=3, description="most nodes in a formula")
    front_size: int = Field(8, ge=1, description="formulas reported along the front")

    @field_validator("constants")
    @classmethod
    def _ordered(cls, value):
        if value[0] > value[1]:
            raise ValueError(f"low {value[0]} is greater than high {value[1]}")
        return value


def read_table(path: str, target: str | None) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    """``(X, y, input names, target name)`` from a CSV file; any problem is one ConfigError."""
    try:  # a regular UTF-8 file of bounded size (a byte-order mark is dropped)
        text = read_input_text(path, "file", CSV_LIMIT)
    except InputFileError as exc:
        raise ConfigError(f"setting 'data': {exc}") from None
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline=""))
                if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise ConfigError(f"setting 'data': {path!r} is not a CSV file the reader takes: "
                          f"{exc}") from None
    if not rows:
        raise ConfigError(f"setting 'data': {path!r} is empty")
    header = [name.strip() for name in rows[0]]
    if len(header) < 2:
        raise ConfigError(f"setting 'data': {path!r} needs at least two columns (inputs and a "
                          "target)")
    target = target or header[-1]
    if target not in header:
        raise ConfigError(f"setting 'target': no column {target!r} in {path!r}; columns: "
                          f"{', '.join(header)}")
    for name in header:
        if not (name.isascii() and name.isidentifier()) or keyword.iskeyword(name):
            raise ConfigError(f"setting 'data': column name {name!r} in {path!r} is not a "
                              "valid variable name (ASCII letters, digits, _; not a Python "
                              "keyword)")
        if header.count(name) > 1:
            raise ConfigError(f"setting 'data': column name {name!r} appears twice in {path!r}")
    values = np.empty((len(rows) - 1, len(header)))
    for r, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ConfigError(f"setting 'data': line {r} of {path!r} has {len(row)} cells, the "
                              f"header has {len(header)}")
        for c, cell in enumerate(row):
            try:
                values[r - 2, c] = float(cell)
            except ValueError:
                raise ConfigError(f"setting 'data': line {r}, column {header[c]!r} of {path!r}: "
                                  f"{cell.strip()!r} is not a number") from None
            if not math.isfinite(values[r - 2, c]):
                raise ConfigError(f"setting 'data': line {r}, column {header[c]!r} of {path!r}: "
                                  f"{cell.strip()!r} is not a finite number")
            if abs(values[r - 2, c]) > MAX_MAGNITUDE:
                raise ConfigError(f"setting 'data': line {r}, column {header[c]!r} of {path!r}: "
                                  f"{cell.strip()!r} is so large that every squared error "
                                  f"overflows; scale the column below {MAX_MAGNITUDE:g}")
    if len(values) < len(header):
        raise ConfigError(f"setting 'data': {path!r} has {len(values)} rows for {len(header)} "
                          "columns; give at least as many rows as columns")
    column = header.index(target)
    inputs = [name for name in header if name != target]
    return np.delete(values, column, axis=1), values[:, column], inputs, target


class SymbolicRegression(TreeProblem):
    """Minimize the training RMSE of a formula (see the module docstring)."""

    def __init__(self, s: SymbolicSettings) -> None:
        x, y, inputs, self.target = read_table(s.data, s.target)
        order = np.random.default_rng(s.split_seed).permutation(len(y))
        held = int(round(len(y) * s.test_fraction))
        if len(y) - held < 2:
            raise ConfigError(f"setting 'test_fraction': {s.test_fraction} leaves fewer than two "
                              "training rows")
        train, test = order[held:], order[:held]
        self.x_train, self.y_train = x[train], y[train]
        self.x_test, self.y_test = x[test], y[test]
        primitives = PrimitiveSet(inputs)
        primitives.add_builtin(*s.functions)
        primitives.add_ephemeral("const", *s.constants)
        self.settings = s
        # an exact fit ends the run early; the target's spread sets what "exact" means
        defaults = {**SYMBOLIC_DEFAULTS, "target_fitness": EXACT * float(np.std(self.y_train))}
        super().__init__(primitives, objectives=(Objective("rmse", "minimize"),),
                         defaults=defaults, max_size=s.tree_size,
                         notes=(f"{len(train)} training rows, {held} held out; predicting "
                                f"{self.target!r} from {', '.join(inputs)}",
                                "budget: max_evaluations (default "
                                f"{SYMBOLIC_DEFAULTS['max_evaluations']:,}, about "
                                f"{ABOUT_SECONDS} s on one core; --set max_evaluations=N; a "
                                "wall-clock limit: --set max_seconds=S), or an exact fit first"))

    def seed_trees(self) -> list[np.ndarray]:
        """The simplest formula the exact pre-step (``evoengine_equation.monomials``) finds on
        the training rows, as a tree of this set (one the set's functions and ``tree_size``
        can write); none when it finds nothing. An exact fit then ends the run at once."""
        if not self.settings.monomials:
            return []
        names = {node.name for node in self.primitives.nodes}
        for candidate in find_monomials(self.x_train, self.y_train):
            prefix = as_prefix(candidate, self.primitives.variables)
            if prefix is not None and {name for name, _ in prefix} <= names and \
                    len(prefix) <= self.settings.tree_size:
                return [np.array([(self.primitives.code(name), value) for name, value in prefix],
                                 dtype=NODE_DTYPE)]
        return []

    def evaluate(self, trees: Trees) -> np.ndarray:
        return self.errors(trees)[0][:, None]

    def refine(self, trees: Trees) -> None:
        fit_constants(trees, self.x_train[:FIT_ROWS], self.y_train[:FIT_ROWS],
                      self.settings.constant_fitting, scale=self.settings.linear_scaling)

    def scaling(self, trees: Trees) -> tuple[np.ndarray, np.ndarray]:
        """``(a, b)`` per tree: the model is ``a + b*tree`` (0 and 1 without linear scaling)."""
        if not self.settings.linear_scaling:
            return np.zeros(len(trees)), np.ones(len(trees))
        return linear_fit(evaluate_trees(trees, self.x_train), self.y_train)

    def errors(self, trees: Trees) -> tuple[np.ndarray, np.ndarray]:
        """Train and held-out RMSE of each tree's model (held-out NaN when nothing is held
        out); NaN where a tree's evaluation failed."""
        if not self.settings.linear_scaling:
            train = np.sqrt(mean_squared_error(trees, self.x_train, self.y_train))
            a, b = np.zeros(len(trees)), np.ones(len(trees))
        else:
            out = evaluate_trees(trees, self.x_train)
            a, b = linear_fit(out, self.y_train)
            with np.errstate(all="ignore"):
                train = np.sqrt(np.mean((a[:, None] + b[:, None] * out - self.y_train) ** 2,
                                        axis=1))
        if not len(self.y_test):
            return train, np.full(len(trees), np.nan)
        out = evaluate_trees(trees, self.x_test)
        with np.errstate(all="ignore"):
            test = np.sqrt(np.mean((a[:, None] + b[:, None] * out - self.y_test) ** 2, axis=1))
        return train, test

    def formula(self, tree: np.ndarray):
        """One tree's model as SymPy: scaled, ``Abs`` of a one-signed argument dropped,
        simplified, constants snapped (when set)."""
        trees = self.trees_of(tree)
        a, b = self.scaling(trees)
        expression = one_signed_abs(model_expression(self.primitives, trees.tree(0), a[0], b[0]),
                                    self.x_train, self.primitives.variables)
        size = int(trees.lengths[0])
        expression = simplify(expression, size)
        if self.settings.snap_constants:
            snapped = snap_constants(normalized(expression, size), self.x_train,
                                     self.y_train, self.primitives.variables)
            if snapped.atoms(sympy_float()) != expression.atoms(sympy_float()):
                expression = simplify(snapped, size)
        return expression

    def describe(self, genome, info=None) -> dict:
        """The best formula, and the best formula of each size up to it (``info["size_front"]``,
        which the GP algorithm keeps during the run)."""
        best = self.trees_of(genome)
        train, test = self.errors(best)
        out = {"formula": f"{self.target} = {formula_text(self.formula(best.tree(0)))}",
               "size": int(best.lengths[0]), "train_rmse": float(train[0]),
               "test_rmse": float(test[0]), "tree": best.to_string(0)}
        front = list((info or {}).get("size_front", []))[-self.settings.front_size:]
        if front:
            trees = Trees.from_nodes(self.primitives, front)
            train, test = self.errors(trees)
            out["front"] = [{"size": int(trees.lengths[k]),
                             "formula": formula_text(self.formula(tree)),
                             "train_rmse": float(train[k]), "test_rmse": float(test[k])}
                            for k, tree in enumerate(front)]
        return out


def model_formula(problem: SymbolicRegression, genome):
    """The best tree of a run (``result.best_genome``) as the SymPy expression it reports."""
    return problem.formula(problem.trees_of(genome).tree(0))


def to_sympy(ps: PrimitiveSet, nodes: np.ndarray):
    """A tree as a SymPy expression, built node by node (no string is parsed)."""
    import sympy

    symbols = {name: sympy.Symbol(name, real=True) for name in ps.variables}
    funcs = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
             "div": lambda a, b: a / b, "pdiv": lambda a, b: a / b, "neg": lambda a: -a,
             "pow": lambda a, b: a**b, "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan,
             "exp": sympy.exp, "log": sympy.log, "plog": lambda a: sympy.log(sympy.Abs(a)),
             "sqrt": sympy.sqrt, "psqrt": lambda a: sympy.sqrt(sympy.Abs(a)),
             "abs": sympy.Abs, "tanh": sympy.tanh, "min": sympy.Min, "max": sympy.Max,
             "square": lambda a: a**2, "cube": lambda a: a**3, "asin": sympy.asin}
    stack = []
    for k in range(len(nodes) - 1, -1, -1):
        node = ps.nodes[int(nodes["code"][k])]
        if node.op == VAR:
            stack.append(symbols[node.name])
        elif node.arity == 0:
            value = float(nodes["const"][k])
            stack.append(sympy.Integer(round(value)) if abs(value - round(value)) < 1e-12
                         else sympy.Float(value))
        else:
            args = [stack.pop() for _ in range(node.arity)]
            if node.op == USER:
                stack.append(sympy.Function(node.name)(*args))
            else:
                stack.append(funcs[OPS[node.op][0]](*args))
    return stack[0]


def model_expression(ps: PrimitiveSet, nodes: np.ndarray, a: float = 0.0, b: float = 1.0):
    """``a + b*tree`` as SymPy (plain ``tree`` for a = 0, b = 1)."""
    import sympy

    tree = to_sympy(ps, nodes)
    if a == 0.0 and b == 1.0:
        return tree
    return sympy.Float(float(a)) + sympy.Float(float(b)) * tree


def simplify(expression, size: int):
    """SymPy's simplification (for formulas up to ``SIMPLIFY_MAX_SIZE`` nodes), or its
    expansion where that is shorter (bloat like ``c*x*z - c*x*(z - y/c)`` cancels); functions
    of numbers folded into floats (``0.47*sin(1)`` -> ``0.4*``, so it can be snapped) and
    whole-number floats written as integers."""
    import sympy

    def fold(e):
        return e.replace(lambda f: f.is_Function and f.is_number,
                         lambda f: sympy.Float(f.evalf()))

    try:
        expression = fold(expression)
        if size <= SIMPLIFY_MAX_SIZE:
            simple = sympy.simplify(expression)
            expanded = sympy.expand(simple)
            expression = min((expanded, simple), key=sympy.count_ops)
        elif expression.is_polynomial():
            expression = sympy.expand(expression)
        expression = fold(expression)
    except (RecursionError, TypeError, ValueError):  # SymPy gives up on some forms
        pass
    # Floats in a sum turn its whole numbers into floats too (1 -> 1.0): put them back.
    return expression.xreplace({f: sympy.Integer(int(f)) for f in
                                expression.atoms(sympy.Float) if float(f).is_integer()})


def sympy_float():
    import sympy

    return sympy.Float


def normalized(expression, size: int):
    """A quotient with its denominator's largest coefficient made 1, so that common float
    factors cancel: ``80520*s/(80520*x + 80520)`` -> ``s/(x + 1)``, and a term that only
    rounding keeps (``1e-18*x*y``) shows as the tiny float it is (snapping then drops it)."""
    import sympy

    if size > SIMPLIFY_MAX_SIZE:
        return expression
    try:
        numerator, denominator = sympy.fraction(sympy.together(expression))
        if not denominator.atoms(sympy.Float):
            return expression
        coefficients = [term.as_coeff_Mul()[0] for term in
                        sympy.Add.make_args(sympy.expand(denominator))]
        largest = max(coefficients, key=lambda c: abs(float(c)))
        if largest == 0:
            return expression
        return sympy.expand(numerator / largest) / sympy.expand(denominator / largest)
    except (RecursionError, TypeError, ValueError, ZeroDivisionError):
        return expression


def formula_text(expression) -> str:
    """A formula as text, its remaining floats to 6 significant digits."""
    import sympy

    expression = expression.xreplace({f: sympy.Float(f, 6) for f in
                                      expression.atoms(sympy.Float)})
    return sympy.sstr(expression, order="grlex")


def simplified(ps: PrimitiveSet, nodes: np.ndarray) -> str:
    """Readable infix of a tree, simplified by SymPy (protected division shown as ``/``)."""
    return formula_text(simplify(to_sympy(ps, nodes), len(nodes)))
