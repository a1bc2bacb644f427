"""Formula recovery on the 100 equations of the AI Feynman database: evoengine's `symbolic`
problem with its defaults, gplearn and DEAP, the same CPU-time budget per equation.

The set is ``benchmarks/data/feynman_equations.csv``, transcribed from the published table
(Udrescu & Tegmark 2020; SRBench's ``feynman_*`` problems): each formula is read by evoengine's
own expression parser (never ``eval``), its variables drawn uniformly in their published
ranges, noise 0. A run *recovers* an equation by SRBench's criterion of a symbolic solution
(La Cava et al. 2021): with the model's floats rounded to 3 decimals (those under 1e-4 to 0),
the difference between truth and model simplifies to a constant, or their ratio does (SymPy).

Script, the whole set or a part, one equation at a time (``--jobs 2``: two at once)::

    python benchmarks/test_bench_feynman.py --seconds 60 --methods evoengine,gplearn,deap
    python benchmarks/test_bench_feynman.py --seconds 15 --every 3 --out feynman.csv

pytest (``EVOENGINE_BENCH_FEYNMAN_SECONDS``, ``EVOENGINE_BENCH_FEYNMAN_EVERY``, default 10 s on
every 10th equation)::

    .venv/bin/python -m pytest benchmarks/test_bench_feynman.py --benchmark-enable -s
"""

from __future__ import annotations

import argparse
import csv
import functools
import math
import operator
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TABLE = Path(__file__).parent / "data" / "feynman_equations.csv"
POINTS = 400          # rows sampled per equation (the symbolic problem holds 25% out)
SIMPLIFY_SECONDS = 20  # CPU s; SymPy can take very long on a large wrong model: counted a miss
METHODS = ("evoengine", "gplearn", "deap")
OVERRIDES: dict = {}   # --set key=value: evoengine settings other than its defaults (ablations)


@dataclass(frozen=True)
class Equation:
    name: str
    output: str
    formula: str
    variables: tuple[str, ...]
    ranges: tuple[tuple[float, float], ...]

    @property
    def program(self):
        from evoengine.gp import parse_expression

        return parse_expression(self.formula, self.variables, field=self.name)

    def sample(self, points: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """``(X, y)``: inputs uniform in the published ranges, the formula's exact values."""
        from evoengine.gp import evaluate_program

        rng = np.random.default_rng(seed)
        x = np.column_stack([rng.uniform(lo, hi, points) for lo, hi in self.ranges])
        return x, evaluate_program(self.program, x)

    def truth(self):
        return program_to_sympy(self.program)


def load_equations(path: Path = TABLE) -> list[Equation]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    out = []
    for row in rows:
        names, ranges = [], []
        for item in row["variables"].split():
            name, lo, hi = item.split(":")
            names.append(name)
            ranges.append((float(lo), float(hi)))
        out.append(Equation(row["name"], row["output"], row["formula"], tuple(names),
                            tuple(ranges)))
    return out


# --- SymPy forms and SRBench's criterion ----------------------------------------------------
def _symbols(names):
    import sympy

    # Every published range is >= 0, so the variables are declared positive (as truth allows)
    return {name: sympy.Symbol(name, positive=True) for name in names}


def program_to_sympy(program):
    """A parsed :class:`~evoengine.gp.program.Program` as SymPy, node by node (no strings)."""
    import sympy

    from evoengine.gp import CONST, OPS, VAR

    symbols = _symbols(program.variables)
    stack = []
    for k in range(len(program.ops) - 1, -1, -1):
        name, arity, _ = OPS[int(program.ops[k])]
        if program.ops[k] == VAR:
            stack.append(symbols[program.variables[int(program.args[k])]])
        elif program.ops[k] == CONST:
            value = float(program.consts[k])
            stack.append(sympy.pi if value == math.pi else sympy.nsimplify(value))
        else:
            args = [stack.pop() for _ in range(arity)]
            stack.append(_SYMPY_OPS[name](*args))
    return stack[0]


def _sympy_ops():
    import sympy

    return {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
            "div": operator.truediv, "pdiv": operator.truediv, "neg": operator.neg,
            "pow": operator.pow, "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan,
            "exp": sympy.exp, "log": sympy.log, "plog": sympy.log, "sqrt": sympy.sqrt,
            "psqrt": sympy.sqrt, "abs": sympy.Abs, "tanh": sympy.tanh, "min": sympy.Min,
            "max": sympy.Max, "asin": sympy.asin, "square": lambda a: a**2,
            "cube": lambda a: a**3}


class _Ops(dict):
    def __missing__(self, key):
        self.update(_sympy_ops())
        return self[key]


_SYMPY_OPS = _Ops()


def _round_floats(expression):
    """SRBench's ``round_floats``: floats to 3 decimals, those under 1e-4 in size to 0."""
    import sympy

    floats = expression.atoms(sympy.Float)
    return expression.xreplace({f: (sympy.Integer(0) if abs(f) < 1e-4 else
                                    sympy.Float(round(float(f), 3))) for f in floats})


def is_symbolic_solution(model, truth) -> bool:
    """SRBench's criterion: the rounded difference or ratio simplifies to a constant (a model
    that is itself 0 or NaN is not a solution). ``Abs`` in a model (protected ``sqrt`` and
    ``log``) is read as its argument, for every method alike."""
    import sympy

    if model is None:
        return False
    model = model.replace(sympy.Abs, lambda a: a)
    model = _round_floats(model)
    if model == 0 or model.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
        return False
    for combined in (truth - model, model / truth):
        try:
            simple = _round_floats(sympy.simplify(combined))
            if simple.is_constant() and not simple.has(sympy.nan, sympy.zoo) and \
                    (combined is not model / truth or simple != 0):
                return True
        except (TypeError, ValueError, RecursionError, ZeroDivisionError, AttributeError):
            continue
    return False


# --- the methods ------------------------------------------------------------------------------
def run_evoengine(eq: Equation, x, y, seconds: float, seed: int):
    """The `symbolic` problem with its defaults, as the CLI runs it (its exact pre-step
    included: it runs in the first ``ask()``, inside the budget), but stopped after ``seconds``
    of CPU time instead of its default ``max_evaluations`` (see ``cpu_budget``)."""
    from evoengine.config import GPSettings
    from evoengine.run import make_optimizer
    from evoengine_equation.symbolic import SymbolicRegression, SymbolicSettings, model_formula

    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data.csv"
        columns = [*[f"x{i}" for i in range(len(eq.variables))], "y"]
        np.savetxt(data, np.column_stack([x, y]), delimiter=",", header=",".join(columns),
                   comments="", fmt="%.17g")
        problem_keys = set(SymbolicSettings.model_fields)
        problem = SymbolicRegression(SymbolicSettings(
            data=str(data), target="y",
            **{k: v for k, v in OVERRIDES.items() if k in problem_keys}))
    settings = GPSettings(**{**problem.defaults, "max_evaluations": None, "max_seconds": None,
                             "seed": seed,
                             **{k: v for k, v in OVERRIDES.items() if k not in problem_keys}})
    opt = make_optimizer(problem, settings)
    with cpu_budget(seconds) as spent:
        while not opt.stop() and not spent():
            opt.tell(problem.evaluate(opt.ask()))  # optimize()'s loop, serial backend
    return model_formula(problem, opt.best[0]).xreplace(_renaming(eq))


class cpu_budget:  # noqa: N801 - used as a context manager
    """``with cpu_budget(s) as spent:`` ``spent()`` is true once this process (all its threads)
    has used ``s`` seconds of CPU. The machine these figures come from is shared (load 4-10
    on 2 cores), so every method gets CPU time, not wall time, to be comparable."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __enter__(self):
        start = time.process_time()
        return lambda: time.process_time() - start >= self.seconds

    def __exit__(self, *exc) -> None:
        return None


def _renaming(eq: Equation) -> dict:
    import sympy

    named = _symbols(eq.variables)
    out = {}
    for i, name in enumerate(eq.variables):
        for assumptions in ({"real": True}, {"positive": True}, {}):
            out[sympy.Symbol(f"x{i}", **assumptions)] = named[name]
    return out


def _protected_div(a, b):
    with np.errstate(all="ignore"):
        return np.where(np.abs(b) > 0.001, np.divide(a, np.where(b == 0, 1.0, b)), 1.0)


def _protected_log(a):
    a = np.abs(a)
    with np.errstate(all="ignore"):
        return np.where(a > 0.001, np.log(np.where(a > 0, a, 1.0)), 0.0)


def _protected_sqrt(a):
    return np.sqrt(np.abs(a))


def _protected_exp(a):
    with np.errstate(all="ignore"):
        return np.where(a < 100, np.exp(np.minimum(a, 100)), 0.0)


def run_gplearn(eq: Equation, x, y, seconds: float, seed: int):
    """gplearn's ``SymbolicRegressor`` with its defaults (population 1000, tournament 20,
    parsimony 0.001, constants in [-1, 1]) and the same functions (exp added through
    ``make_function``), grown a generation at a time (``warm_start``) until time is up."""
    from gplearn.functions import make_function
    from gplearn.genetic import SymbolicRegressor

    exp = make_function(function=_protected_exp, name="exp", arity=1, wrap=False)
    model = SymbolicRegressor(function_set=("add", "sub", "mul", "div", "sqrt", "log", "sin",
                                            "cos", "neg", exp), generations=1, warm_start=True,
                              stopping_criteria=1e-12, random_state=seed, n_jobs=1)
    generation = 1
    with cpu_budget(seconds) as spent:
        while True:
            model.set_params(generations=generation)
            model.fit(x, y)
            if spent() or model.run_details_["best_fitness"][-1] <= 1e-12:
                break
            generation += 1
    return _gplearn_to_sympy(model._program.program, eq)


def _gplearn_to_sympy(program, eq: Equation):
    import sympy

    symbols = _symbols(eq.variables)
    ops = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
           "div": operator.truediv, "sqrt": sympy.sqrt, "log": sympy.log, "sin": sympy.sin,
           "cos": sympy.cos, "neg": operator.neg, "exp": sympy.exp}
    stack = []
    for node in reversed(program):
        if isinstance(node, (int, np.integer)):
            stack.append(symbols[eq.variables[int(node)]])
        elif isinstance(node, float):
            stack.append(sympy.Float(node))
        else:
            args = [stack.pop() for _ in range(node.arity)]
            stack.append(ops[node.name](*args))
    return stack[0]


def run_deap(eq: Equation, x, y, seconds: float, seed: int):
    """DEAP's symbolic-regression example (``eaSimple`` loop: tournament 3, ``cxOnePoint``
    0.5, ``mutUniform`` 0.1, height limit 17, population 1000, constants in [-1, 1]) with the
    same functions, NumPy-vectorized evaluation, a generation at a time until time is up."""
    from deap import algorithms, base, gp, tools

    from evoengine.deap_bridge import Fitness

    pset = gp.PrimitiveSet("MAIN", len(eq.variables))
    for func, arity, name in [(np.add, 2, "add"), (np.subtract, 2, "sub"),
                              (np.multiply, 2, "mul"), (_protected_div, 2, "div"),
                              (_protected_sqrt, 1, "sqrt"), (_protected_log, 1, "log"),
                              (_protected_exp, 1, "exp"), (np.sin, 1, "sin"),
                              (np.cos, 1, "cos"), (np.negative, 1, "neg")]:
        pset.addPrimitive(func, arity, name=name)
    pset.addEphemeralConstant(f"c{id(pset)}", functools.partial(random.uniform, -1, 1))
    columns = list(x.T)

    class Tree(gp.PrimitiveTree):
        def __init__(self, content):
            super().__init__(content)
            self.fitness = Fitness((-1.0,))

    def evaluate(tree):
        with np.errstate(all="ignore"):
            out = np.broadcast_to(gp.compile(tree, pset)(*columns), y.shape)
            err = float(np.mean((out - y) ** 2))
        return (err if np.isfinite(err) else 1e300,)

    tb = base.Toolbox()
    tb.register("expr", gp.genHalfAndHalf, pset=pset, min_=1, max_=4)
    tb.register("evaluate", evaluate)
    tb.register("select", tools.selTournament, tournsize=3)
    tb.register("mate", gp.cxOnePoint)
    tb.register("expr_mut", gp.genFull, min_=0, max_=2)
    tb.register("mutate", gp.mutUniform, expr=tb.expr_mut, pset=pset)
    limit = gp.staticLimit(key=operator.attrgetter("height"), max_value=17)
    tb.decorate("mate", limit)
    tb.decorate("mutate", limit)
    random.seed(seed)
    with cpu_budget(seconds) as spent:
        population = [Tree(tb.expr()) for _ in range(1000)]
        hof = tools.HallOfFame(1)
        for ind in population:
            ind.fitness.values = tb.evaluate(ind)
        hof.update(population)
        while not spent() and hof[0].fitness.values[0] > 1e-24:
            offspring = algorithms.varAnd(tb.select(population, len(population)), tb, 0.5,
                                          0.1)
            for ind in offspring:
                if not ind.fitness.valid:
                    ind.fitness.values = tb.evaluate(ind)
            hof.update(offspring)
            population = offspring
    return _deap_to_sympy(hof[0], eq)


def _deap_to_sympy(tree, eq: Equation):
    import sympy

    from deap import gp

    symbols = _symbols(eq.variables)
    ops = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
           "div": operator.truediv, "sqrt": sympy.sqrt, "log": sympy.log, "exp": sympy.exp,
           "sin": sympy.sin, "cos": sympy.cos, "neg": operator.neg}
    stack = []
    for node in reversed(tree):
        if isinstance(node, gp.Primitive):
            args = [stack.pop() for _ in range(node.arity)]
            stack.append(ops[node.name](*args))
        elif node.value in ("ARG%d" % i for i in range(len(eq.variables))):
            stack.append(symbols[eq.variables[int(node.value[3:])]])
        else:
            stack.append(sympy.Float(float(node.value)))
    return stack[0]


RUNNERS = {"evoengine": run_evoengine, "gplearn": run_gplearn, "deap": run_deap}


# --- one equation, the whole table ----------------------------------------------------------
def _within(seconds: float, function, *args):
    """``function(*args)``, or None after ``seconds`` of this process's CPU time (SIGPROF;
    SymPy's simplify can hang; CPU, not wall time, so a loaded machine judges the same)."""
    import signal

    def give_up(signum, frame):
        raise TimeoutError

    previous = signal.signal(signal.SIGPROF, give_up)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        return function(*args)
    except TimeoutError:
        return None
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def assess(job) -> dict:
    """Run one method on one equation and judge its model (one row of the results)."""
    method, eq, seconds, seed = job
    x, y = eq.sample(POINTS, seed)
    wall, cpu = time.perf_counter(), time.process_time()
    model = RUNNERS[method](eq, x, y, seconds, seed)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    solved = _within(SIMPLIFY_SECONDS, is_symbolic_solution, model, eq.truth())
    return {"method": method, "equation": eq.name, "truth": eq.formula,
            "solved": bool(solved), "judged": solved is not None, "seconds": round(wall, 1),
            "cpu_seconds": round(cpu, 1), "model": str(model)}


def select(equations, names=None, every=1, offset=0):
    if names:
        wanted = set(names)
        missing = wanted - {eq.name for eq in equations}
        if missing:
            raise SystemExit(f"error: no equation {sorted(missing)}; see {TABLE}")
        return [eq for eq in equations if eq.name in wanted]
    return equations[offset::every]


def run_all(methods, equations, seconds, seed, jobs=1, out=None, log=print) -> list[dict]:
    jobs_list = [(m, eq, seconds, seed) for eq in equations for m in methods]
    rows = []
    writer = None
    fh = open(out, "w", newline="", encoding="utf-8") if out else None
    try:
        if jobs > 1:
            import multiprocessing

            pool = multiprocessing.get_context("fork").Pool(jobs, maxtasksperchild=1)
            results = pool.imap(assess, jobs_list)
        else:
            pool, results = None, map(assess, jobs_list)
        for row in results:
            rows.append(row)
            log(f"{row['method']:>9} {row['equation']:>10} "
                f"{'solved' if row['solved'] else 'missed':>6} {row['seconds']:6.1f} s  "
                f"{row['model'][:90]}")
            if fh:
                if writer is None:
                    writer = csv.DictWriter(fh, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(row)
                fh.flush()
        if pool is not None:
            pool.close()
    finally:
        if fh:
            fh.close()
    return rows


def summary(rows, methods) -> str:
    lines = []
    for m in methods:
        mine = [r for r in rows if r["method"] == m]
        if not mine:
            continue
        solved = sum(r["solved"] for r in mine)
        misses = [r["equation"] for r in mine if not r["solved"]]
        lines.append(f"{m}: {solved}/{len(mine)} solved ({100 * solved / len(mine):.0f}%), "
                     f"mean {np.mean([r['cpu_seconds'] for r in mine]):.1f} CPU s "
                     f"({np.mean([r['seconds'] for r in mine]):.1f} s wall) per equation")
        lines.append(f"  misses: {' '.join(misses) or 'none'}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="CPU seconds per equation and method")
    parser.add_argument("--methods", default="evoengine,gplearn,deap")
    parser.add_argument("--equations", nargs="*", help="names (default: all)")
    parser.add_argument("--every", type=int, default=1, help="every k-th equation")
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1, help="equations at a time")
    parser.add_argument("--out", help="CSV of every result")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="an evoengine setting other than its default (for ablations)")
    args = parser.parse_args(argv)
    from evoengine.config import parse_assignments

    OVERRIDES.update(parse_assignments(args.set))
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in RUNNERS]
    if bad:
        print(f"error: --methods: unknown {bad[0]!r}; valid: {', '.join(RUNNERS)}")
        return 2
    equations = select(load_equations(), args.equations, args.every, args.offset)
    rows = run_all(methods, equations, args.seconds, args.seed, args.jobs, args.out)
    print(f"\n{len(equations)} equations, {args.seconds:g} s each, seed {args.seed}, "
          f"{POINTS} points, noise 0{', evoengine with ' + str(OVERRIDES) if OVERRIDES else ''}")
    print(summary(rows, methods))
    return 0


# --- pytest ------------------------------------------------------------------------------------
def test_feynman_recovery(benchmark):
    seconds = float(os.environ.get("EVOENGINE_BENCH_FEYNMAN_SECONDS", "10"))
    every = int(os.environ.get("EVOENGINE_BENCH_FEYNMAN_EVERY", "10"))
    equations = select(load_equations(), every=every)
    rows = benchmark.pedantic(run_all, args=(METHODS, equations, seconds, 1), rounds=1,
                              iterations=1)
    print(f"\n{len(equations)} equations (every {every}th), {seconds:g} s each")
    print(summary(rows, METHODS))
    for m in METHODS:
        benchmark.extra_info[m] = sum(r["solved"] for r in rows if r["method"] == m)


def test_the_table_parses_and_samples_in_range():
    equations = load_equations()
    assert len(equations) == 100 and len({eq.name for eq in equations}) == 100
    for eq in equations:
        x, y = eq.sample(50, 0)
        assert np.isfinite(y).all(), eq.name
        for column, (lo, hi) in zip(x.T, eq.ranges, strict=True):
            assert lo <= column.min() and column.max() <= hi


def test_the_criterion_accepts_constant_offsets_and_factors_only():
    import sympy

    eq = next(e for e in load_equations() if e.name == "I.34.27")  # h*omega/(2*pi)
    h, omega = _symbols(["h", "omega"]).values()
    assert is_symbolic_solution(sympy.Float(0.159155) * h * omega, eq.truth())
    assert is_symbolic_solution(h * omega / (2 * sympy.pi) + 2, eq.truth())
    assert is_symbolic_solution(3 * h * omega, eq.truth())
    assert not is_symbolic_solution(3 * h * omega + 2, eq.truth())  # neither is constant
    assert not is_symbolic_solution(h * omega**2, eq.truth())
    assert not is_symbolic_solution(sympy.Integer(0), eq.truth())


if __name__ == "__main__":
    sys.exit(main())
