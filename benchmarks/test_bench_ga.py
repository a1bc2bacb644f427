"""GA speed side by side: evoengine against DEAP, PyGAD and a hand-written Numba loop.

Run: .venv/bin/python -m pytest benchmarks/test_bench_ga.py --benchmark-enable -s

1. Rastrigin, 100 genes in [-5.12, 5.12]: tournament of 3, SBX (eta 20, p 0.9), Gaussian
   mutation (sigma 0.5, p 0.2 per row, 0.05 per gene), clipped to the bounds; populations 1,000
   and 10,000. DEAP's eaSimple and PyGAD are slow, so they run fewer generations
   (DEAP_GENERATIONS, PYGAD_GENERATIONS) and are compared per evaluation; their best fitness is
   compared with evoengine's at the same generation. DEAP evaluates with its own
   ``benchmarks.rastrigin``; PyGAD gets the compiled batch evaluation evoengine uses. PyGAD has
   no Gaussian mutation: its "random" mutation adds U(-a, a) with the same variance.
2. Gad's tutorial (8 solutions, 5 and 1,000 generations): evoengine against a NumPy
   transcription of the tutorial and PyGAD, time per generation.

Each implementation is timed once (pedantic, one round: these are whole runs, seconds long);
the table with ratios is printed at the end of the module.
"""

from __future__ import annotations

import random
import time

import numpy as np
import pytest
from numba import njit, prange

from evoengine import Genome, Objective, Problem
from evoengine.config import AlgorithmSettings
from evoengine.operators.compile import FASTMATH, PARALLEL_MIN_ROWS
from evoengine.operators.streams import below, normal, stream, uniform
from evoengine.run import optimize

D, LOW, HIGH = 100, -5.12, 5.12
GENERATIONS = 100
DEAP_GENERATIONS = {1_000: 20, 10_000: 3}
PYGAD_GENERATIONS = {1_000: 2, 10_000: 1}  # PyGAD's SBX took ~14 s a generation at 1,000
CXPB, ETA, MUTPB, INDPB, SIGMA, TOURNAMENT = 0.9, 20.0, 0.2, 0.05, 0.5, 3
RESULTS: dict[tuple, dict] = {}


@njit(parallel=True, fastmath=FASTMATH, cache=False)
def rastrigin(x):
    out = np.empty(x.shape[0])
    for i in prange(x.shape[0]):
        s = 10.0 * x.shape[1]
        for j in range(x.shape[1]):
            s += x[i, j] * x[i, j] - 10.0 * np.cos(2.0 * np.pi * x[i, j])
        out[i] = s
    return out


class Rastrigin(Problem):
    def __init__(self):
        super().__init__(Genome("real", D, LOW, HIGH), (Objective("f", "minimize"),))

    def evaluate(self, genomes):
        return rastrigin(genomes)[:, None]


def record(key, seconds, evaluations, best, generations, **extra):
    RESULTS[key] = dict(seconds=seconds, evaluations=evaluations, best=best,
                        generations=generations, rate=evaluations / seconds, **extra)


# --- evoengine --------------------------------------------------------------------------
def run_evoengine(n, generations=GENERATIONS):
    settings = AlgorithmSettings(
        population_size=n, generations=generations, selection="tournament",
        tournament_size=TOURNAMENT, crossover="sbx", crossover_eta=ETA,
        crossover_probability=CXPB, mutation="gaussian", mutation_sigma=SIGMA,
        mutation_probability=MUTPB, gene_probability=INDPB, seed=1)
    return optimize(Rastrigin(), settings)


# --- the hand-written Numba loop: the same algorithm, fused into one compiled function -------
@njit(inline="always")
def _tournament(s, fit, n):
    s, best = below(s, n)
    for _ in range(TOURNAMENT - 1):
        s, c = below(s, n)
        if fit[c] < fit[best]:
            best = c
    return s, best


@njit(parallel=True, fastmath=FASTMATH)
def hand_written_ga(pop, fit, generations, seed):
    n, d = pop.shape
    power = 1.0 / (ETA + 1.0)
    evaluations = 0
    for g in range(generations):
        new = np.empty_like(pop)
        new_fit = np.empty(n)
        counts = np.zeros(n // 2, dtype=np.int64)
        gen_seed = stream(seed, g)
        for p in prange(n // 2):
            s = stream(gen_seed, p)
            s, a = _tournament(s, fit, n)
            s, b = _tournament(s, fit, n)
            x, y = 2 * p, 2 * p + 1
            new[x], new[y] = pop[a], pop[b]
            changed_x = changed_y = False
            s, u = uniform(s)
            if u < CXPB:
                changed_x = changed_y = True
                for j in range(d):
                    s, u = uniform(s)
                    if u > 0.5 or abs(new[x, j] - new[y, j]) <= 1e-14:
                        continue
                    x1, x2 = min(new[x, j], new[y, j]), max(new[x, j], new[y, j])
                    s, r = uniform(s)
                    alpha = 2.0 - (1.0 + 2.0 * (x1 - LOW) / (x2 - x1)) ** -(ETA + 1.0)
                    bq = (r * alpha) ** power if r <= 1.0 / alpha else (
                        1.0 / (2.0 - r * alpha)) ** power
                    c1 = min(max(0.5 * (x1 + x2 - bq * (x2 - x1)), LOW), HIGH)
                    alpha = 2.0 - (1.0 + 2.0 * (HIGH - x2) / (x2 - x1)) ** -(ETA + 1.0)
                    bq = (r * alpha) ** power if r <= 1.0 / alpha else (
                        1.0 / (2.0 - r * alpha)) ** power
                    c2 = min(max(0.5 * (x1 + x2 + bq * (x2 - x1)), LOW), HIGH)
                    s, u = uniform(s)
                    new[x, j], new[y, j] = (c2, c1) if u <= 0.5 else (c1, c2)
            for row in (x, y):
                s, u = uniform(s)
                if u < MUTPB:
                    if row == x:
                        changed_x = True
                    else:
                        changed_y = True
                    for j in range(d):
                        s, u = uniform(s)
                        if u < INDPB:
                            s, z = normal(s)
                            new[row, j] = min(max(new[row, j] + SIGMA * z, LOW), HIGH)
            for row, parent, changed in ((x, a, changed_x), (y, b, changed_y)):
                if changed:
                    v = 10.0 * d
                    for j in range(d):
                        v += new[row, j] * new[row, j] - 10.0 * np.cos(2.0 * np.pi * new[row, j])
                    new_fit[row] = v
                    counts[p] += 1
                else:
                    new_fit[row] = fit[parent]
        pop, fit = new, new_fit
        evaluations += counts.sum()
    return pop, fit, evaluations


def run_hand_written(n):
    rng = np.random.default_rng(1)
    pop = rng.uniform(LOW, HIGH, size=(n, D))
    fit = rastrigin(pop)
    _, fit, evaluations = hand_written_ga(pop, fit, GENERATIONS, 12345)
    return fit.min(), evaluations + n


# --- DEAP eaSimple with its standard tools --------------------------------------------------
def run_deap(n, generations):
    from deap import algorithms, base, benchmarks, tools

    from evoengine.deap_bridge import Fitness, Individual

    random.seed(1)

    def clip(func):
        def wrapper(*args, **kwargs):
            children = func(*args, **kwargs)
            for child in children:
                for j, v in enumerate(child):
                    child[j] = min(max(v, LOW), HIGH)
            return children
        return wrapper

    toolbox = base.Toolbox()
    toolbox.register("evaluate", benchmarks.rastrigin)
    toolbox.register("mate", tools.cxSimulatedBinaryBounded, eta=ETA, low=LOW, up=HIGH)
    toolbox.register("mutate", tools.mutGaussian, mu=0.0, sigma=SIGMA, indpb=INDPB)
    toolbox.decorate("mutate", clip)
    toolbox.register("select", tools.selTournament, tournsize=TOURNAMENT)
    pop = [Individual([random.uniform(LOW, HIGH) for _ in range(D)], Fitness((-1.0,)))
           for _ in range(n)]
    hof = tools.HallOfFame(1)
    start = time.perf_counter()
    _, logbook = algorithms.eaSimple(pop, toolbox, CXPB, MUTPB, generations, halloffame=hof,
                                     verbose=False)
    seconds = time.perf_counter() - start
    return seconds, sum(logbook.select("nevals")), hof[0].fitness.values[0]


# --- PyGAD ------------------------------------------------------------------------------------
def run_pygad(n, generations):
    import pygad

    ga = pygad.GA(num_generations=generations, num_parents_mating=n, sol_per_pop=n,
                  num_genes=D, fitness_func=lambda ga, x, idx: -rastrigin(np.asarray(x)),
                  fitness_batch_size=n, init_range_low=LOW, init_range_high=HIGH,
                  gene_space={"low": LOW, "high": HIGH}, parent_selection_type="tournament",
                  K_tournament=TOURNAMENT, keep_parents=0, keep_elitism=0,
                  crossover_type="sbx", sbx_crossover_eta=ETA, crossover_probability=CXPB,
                  mutation_type="random", mutation_probability=INDPB,
                  random_mutation_min_val=-SIGMA * np.sqrt(3),
                  random_mutation_max_val=SIGMA * np.sqrt(3),
                  random_seed=1, suppress_warnings=True)
    start = time.perf_counter()
    ga.run()
    seconds = time.perf_counter() - start
    best = -ga.best_solution(ga.last_generation_fitness)[1]
    return seconds, n * (generations + 1), best


@pytest.fixture(scope="module", autouse=True)
def warm_up_and_report():
    # Compile every kernel once, outside the timings: the serial builds (small populations)
    # and the parallel ones, which are not cached on disk.
    run_evoengine(64, 2)
    run_evoengine(4 * PARALLEL_MIN_ROWS, 2)
    hand_written_ga(np.zeros((4, D)), np.zeros(4), 1, 1)
    yield
    print_tables()


@pytest.mark.parametrize("n", [1_000, 10_000])
def test_evoengine(benchmark, n):
    start = time.perf_counter()
    result = benchmark.pedantic(run_evoengine, args=(n,), rounds=1, iterations=1)
    seconds = time.perf_counter() - start
    best_at = {g: min(result.logbook.select("min")[: g + 1]) for g in
               (DEAP_GENERATIONS[n], PYGAD_GENERATIONS[n])}
    record(("rastrigin", n, "evoengine"), seconds, result.evaluations,
           float(result.best_fitness[0]), GENERATIONS, best_at=best_at)


@pytest.mark.parametrize("n", [1_000, 10_000])
def test_hand_written_numba(benchmark, n):
    start = time.perf_counter()
    best, evaluations = benchmark.pedantic(run_hand_written, args=(n,), rounds=1, iterations=1)
    record(("rastrigin", n, "hand-written Numba"), time.perf_counter() - start, evaluations,
           best, GENERATIONS)


@pytest.mark.parametrize("n", [1_000, 10_000])
def test_deap(benchmark, n):
    seconds, evaluations, best = benchmark.pedantic(run_deap, args=(n, DEAP_GENERATIONS[n]),
                                                    rounds=1, iterations=1)
    record(("rastrigin", n, "DEAP eaSimple"), seconds, evaluations, best, DEAP_GENERATIONS[n])


@pytest.mark.parametrize("n", [1_000, 10_000])
def test_pygad(benchmark, n):
    seconds, evaluations, best = benchmark.pedantic(run_pygad, args=(n, PYGAD_GENERATIONS[n]),
                                                    rounds=1, iterations=1)
    record(("rastrigin", n, "PyGAD"), seconds, evaluations, best, PYGAD_GENERATIONS[n])


# --- Gad's tutorial: 8 solutions, 4 parents, midpoint crossover, U(-1, 1) on gene 5 -----------
INPUTS = np.array([4.0, -2.0, 3.5, 5.0, -11.0, -4.7])


def tutorial_numpy(generations, seed=1):
    """The tutorial's algorithm transcribed with NumPy, as the article writes it."""
    rng = np.random.default_rng(seed)
    pop = rng.uniform(-4.0, 4.0, size=(8, 6))
    for _ in range(generations):
        fitness = pop @ INPUTS
        parents = pop[np.argsort(-fitness, kind="stable")[:4]]
        k = np.arange(4)
        children = np.empty((4, 6))
        children[:, :3] = parents[k % 4, :3]
        children[:, 3:] = parents[(k + 1) % 4, 3:]
        children[:, 4] += rng.uniform(-1.0, 1.0, size=4)
        pop = np.concatenate([parents, children])
    return float((pop @ INPUTS).max())


def tutorial_evoengine(generations, numpy_evaluate=False):
    from evoengine_equation.tutorial import TUTORIAL_DEFAULTS, WeightedSum

    class NumPyWeightedSum(WeightedSum):
        """The same problem, evaluated as the NumPy transcription evaluates it."""

        def evaluate(self, genomes):
            return (genomes @ self.inputs)[:, None]

    problem = NumPyWeightedSum() if numpy_evaluate else WeightedSum()
    settings = AlgorithmSettings(**{**TUTORIAL_DEFAULTS, "generations": generations, "seed": 1})
    return float(optimize(problem, settings).best_fitness[0])


def tutorial_pygad(generations):
    import pygad

    ga = pygad.GA(num_generations=generations, num_parents_mating=4, sol_per_pop=8, num_genes=6,
                  fitness_func=lambda ga, x, idx: float(np.dot(x, INPUTS)),
                  init_range_low=-4.0, init_range_high=4.0, parent_selection_type="sss",
                  keep_parents=-1, crossover_type="single_point", mutation_type="random",
                  mutation_num_genes=1, random_mutation_min_val=-1.0,
                  random_mutation_max_val=1.0, random_seed=1, suppress_warnings=True)
    ga.run()
    return float(ga.best_solution(ga.last_generation_fitness)[1])


TUTORIAL = {"evoengine": tutorial_evoengine,
            "evoengine, NumPy evaluate": lambda g: tutorial_evoengine(g, numpy_evaluate=True),
            "NumPy transcription": tutorial_numpy, "PyGAD": tutorial_pygad}


@pytest.mark.parametrize("generations", [5, 1_000])
@pytest.mark.parametrize("name", list(TUTORIAL))
def test_tutorial(benchmark, name, generations):
    TUTORIAL[name](2)  # warm
    rounds = 20 if generations == 5 else 3
    best = benchmark.pedantic(TUTORIAL[name], args=(generations,), rounds=rounds, iterations=1)
    seconds = benchmark.stats.stats.min
    RESULTS[("tutorial", generations, name)] = dict(seconds=seconds, best=best,
                                                    per_generation=seconds / generations)


def print_tables():
    print("\n\nRastrigin, 100 genes (evaluations per second; ratio = evoengine's rate / theirs)")
    print("| population | implementation | generations | evaluations | seconds | evals/s "
          "| evoengine's rate / this | best | evoengine's best at those generations |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in (1_000, 10_000):
        ours = RESULTS.get(("rastrigin", n, "evoengine"))
        for name in ("evoengine", "hand-written Numba", "DEAP eaSimple", "PyGAD"):
            r = RESULTS.get(("rastrigin", n, name))
            if r is None:
                continue
            ratio = f"{ours['rate'] / r['rate']:.2f}x" if ours else "-"
            at = ours["best_at"].get(r["generations"], ours["best"]) if ours else float("nan")
            print(f"| {n:,} | {name} | {r['generations']} | {r['evaluations']:,} | "
                  f"{r['seconds']:.2f} | {r['rate']:,.0f} | {ratio} | {r['best']:.1f} | "
                  f"{at:.1f} |")
    print("\nTutorial (8 solutions): time per generation (best of the rounds)")
    print("| generations | implementation | run (ms) | per generation (us) | "
          "this / evoengine | best y |")
    print("|---|---|---|---|---|---|")
    for g in (5, 1_000):
        ours = RESULTS.get(("tutorial", g, "evoengine"))
        for name in TUTORIAL:
            r = RESULTS.get(("tutorial", g, name))
            if r is None:
                continue
            ratio = f"{r['seconds'] / ours['seconds']:.2f}" if ours else "-"
            print(f"| {g:,} | {name} | {1e3 * r['seconds']:.2f} | "
                  f"{1e6 * r['per_generation']:.1f} | {ratio} | {r['best']:.1f} |")
