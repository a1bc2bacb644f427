"""GP throughput on the Koza quartic: evoengine against DEAP and gplearn, side by side.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_gp.py --benchmark-enable -s``
(``EVOENGINE_BENCH_GP=full`` for every size of the issue; the default is a reduced matrix that
fits a shared 2-core machine).

GP operations per second = sum over evaluated trees of (tree size x data points) / wall time of
the whole run (initialization, selection, variation and evaluation; kernels compiled before
timing). The target is x^4 + x^3 + x^2 + x on [-1, 1], 20 generations, primitives add, sub,
mul, protected div, sin, cos, neg and an ephemeral constant in [-1, 1]:

- evoengine: ``GeneticProgramming`` (tournament 3, no elitism, crossover 0.8, mutation 0.2);
- DEAP: ``eaSimple``'s loop (tournament 3, ``cxOnePoint``, ``mutUniform``, height limit 17),
  each tree turned into a function by ``gp.compile`` and evaluated on all points at once with
  NumPy (the fastest DEAP set-up);
- gplearn: ``SymbolicRegressor`` with the same function set, one thread.

Ratios (evoengine / peer) are printed at the end (``-s``) and stored in ``extra_info``.
"""

from __future__ import annotations

import operator
import os
import random
import time
from functools import partial

import numpy as np
import pytest

FULL = os.environ.get("EVOENGINE_BENCH_GP") == "full"
GENERATIONS = 20
CASES = ([(pop, pts) for pop in (1000, 5000) for pts in (100, 1000, 10000)] if FULL else
         [(1000, 100), (1000, 1000), (1000, 10000), (5000, 1000)])
GPLEARN_CASES = CASES if FULL else [(1000, 100), (1000, 1000)]
RESULTS: dict[tuple[str, int, int], float] = {}


def quartic(points: int):
    x = np.linspace(-1.0, 1.0, points)
    return x, x**4 + x**3 + x**2 + x


def run_evoengine(pop: int, points: int, seed: int = 1) -> float:
    from evoengine.config import GPSettings
    from evoengine.gp import PrimitiveSet, TreeProblem, mean_squared_error
    from evoengine.run import optimize

    x, y = quartic(points)
    data = x[:, None]
    ps = PrimitiveSet(["x"])
    ps.add_builtin("add", "sub", "mul", "pdiv", "sin", "cos", "neg")
    ps.add_ephemeral("c", -1.0, 1.0)
    ops = [0]

    def fitness(trees):
        ops[0] += int(trees.lengths.sum()) * points
        return mean_squared_error(trees, data, y)

    problem = TreeProblem(ps, fitness=fitness, max_size=256)
    settings = GPSettings(population_size=pop, generations=GENERATIONS, seed=seed,
                          tournament_size=3, elitism=0, crossover_probability=0.8,
                          mutation_probability=0.2, init_min_depth=1, init_max_depth=4)
    start = time.perf_counter()
    optimize(problem, settings)
    return ops[0] / (time.perf_counter() - start)


def _pdiv(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.abs(b) > 1e-12, a / np.where(b == 0, 1.0, b), 1.0)


def run_deap(pop: int, points: int, seed: int = 1) -> float:
    from deap import algorithms, base, gp, tools

    from evoengine.deap_bridge import Fitness

    x, y = quartic(points)
    pset = gp.PrimitiveSet("MAIN", 1)
    for func, arity in [(np.add, 2), (np.subtract, 2), (np.multiply, 2), (_pdiv, 2),
                        (np.sin, 1), (np.cos, 1), (np.negative, 1)]:
        pset.addPrimitive(func, arity, name=func.__name__)
    pset.addEphemeralConstant("bench_erc", partial(random.uniform, -1.0, 1.0))
    pset.renameArguments(ARG0="x")

    class Tree(gp.PrimitiveTree):
        def __init__(self, content):
            super().__init__(content)
            self.fitness = Fitness((-1.0,))

    ops = [0]

    def evaluate(tree):
        ops[0] += len(tree) * points
        func = gp.compile(tree, pset)
        with np.errstate(all="ignore"):
            err = np.mean((func(x) - y) ** 2)
        return (err if np.isfinite(err) else np.inf,)

    tb = base.Toolbox()
    tb.register("expr", gp.genHalfAndHalf, pset=pset, min_=1, max_=4)
    tb.register("individual", lambda: Tree(tb.expr()))
    tb.register("evaluate", evaluate)
    tb.register("select", tools.selTournament, tournsize=3)
    tb.register("mate", gp.cxOnePoint)
    tb.register("expr_mut", gp.genFull, min_=0, max_=2)
    tb.register("mutate", gp.mutUniform, expr=tb.expr_mut, pset=pset)
    limit = gp.staticLimit(key=operator.attrgetter("height"), max_value=17)
    tb.decorate("mate", limit)
    tb.decorate("mutate", limit)
    random.seed(seed)
    start = time.perf_counter()
    population = [tb.individual() for _ in range(pop)]
    algorithms.eaSimple(population, tb, 0.8, 0.2, GENERATIONS, verbose=False)
    return ops[0] / (time.perf_counter() - start)


def run_gplearn(pop: int, points: int, seed: int = 1) -> float:
    from gplearn.genetic import SymbolicRegressor

    x, y = quartic(points)
    model = SymbolicRegressor(population_size=pop, generations=GENERATIONS, tournament_size=3,
                              function_set=("add", "sub", "mul", "div", "sin", "cos", "neg"),
                              const_range=(-1.0, 1.0), init_depth=(1, 4), stopping_criteria=0.0,
                              p_crossover=0.8, p_subtree_mutation=0.1, p_hoist_mutation=0.05,
                              p_point_mutation=0.05, max_samples=1.0, parsimony_coefficient=0.0,
                              n_jobs=1, random_state=seed, verbose=0)
    start = time.perf_counter()
    model.fit(x[:, None], y)
    wall = time.perf_counter() - start
    # every generation evaluates the whole population; average_length is per generation
    sizes = sum(model.run_details_["average_length"]) * pop
    return sizes * points / wall


@pytest.fixture(scope="module", autouse=True)
def warm_kernels():
    run_evoengine(50, 10)  # compile (or load) every kernel before timing
    yield
    print("\nGP operations per second (Koza quartic, 20 generations)")
    print(f"{'pop':>6} {'points':>7} {'evoengine':>12} {'DEAP':>12} {'gplearn':>12} "
          f"{'x DEAP':>8} {'x gplearn':>10}")
    for pop, points in CASES:
        ours = RESULTS.get(("evoengine", pop, points))
        deap = RESULTS.get(("deap", pop, points))
        gpl = RESULTS.get(("gplearn", pop, points))

        def fmt(v):
            return f"{v / 1e6:10.1f} M" if v else f"{'-':>12}"

        print(f"{pop:>6} {points:>7} {fmt(ours)} {fmt(deap)} {fmt(gpl)} "
              f"{ours / deap if ours and deap else float('nan'):8.1f} "
              f"{ours / gpl if ours and gpl else float('nan'):10.1f}")


@pytest.mark.parametrize("pop, points", CASES)
def test_gp_ops_evoengine(benchmark, pop, points):
    rate = benchmark.pedantic(run_evoengine, args=(pop, points), rounds=1, iterations=1)
    RESULTS[("evoengine", pop, points)] = rate
    benchmark.extra_info["ops_per_s"] = rate


@pytest.mark.parametrize("pop, points", CASES)
def test_gp_ops_deap(benchmark, pop, points):
    rate = benchmark.pedantic(run_deap, args=(pop, points), rounds=1, iterations=1)
    RESULTS[("deap", pop, points)] = rate
    benchmark.extra_info["ops_per_s"] = rate
    ours = RESULTS.get(("evoengine", pop, points))
    if ours:
        benchmark.extra_info["evoengine_over_deap"] = ours / rate


@pytest.mark.parametrize("pop, points", GPLEARN_CASES)
def test_gp_ops_gplearn(benchmark, pop, points):
    pytest.importorskip("gplearn")
    rate = benchmark.pedantic(run_gplearn, args=(pop, points), rounds=1, iterations=1)
    RESULTS[("gplearn", pop, points)] = rate
    benchmark.extra_info["ops_per_s"] = rate
    ours = RESULTS.get(("evoengine", pop, points))
    if ours:
        benchmark.extra_info["evoengine_over_gplearn"] = ours / rate
