"""CMA-ES against its references: evaluations to reach f <= 1e-8, evoengine's ``cma_es``
against pycma (Hansen's reference implementation, ``cma.fmin``) and DEAP's ``deap.cma.Strategy``.

Run: .venv/bin/python -m pytest benchmarks/test_bench_cma.py -s
     .venv/bin/python benchmarks/test_bench_cma.py --seeds 15 --dimensions 2 5 10
     .venv/bin/python benchmarks/test_bench_cma.py --restarts rastrigin --seeds 30 --dimensions 5

Sphere and Rosenbrock in [-5, 5]^n, Rastrigin in [-5.12, 5.12]^n; every implementation starts
at a uniform random point in the bounds (its own draw) with the same step size (0.3 of the
width) and the same lambda (4 + floor(3 ln n)); samples are evaluated mapped into the bounds
by pycma's default transformation (DEAP's Strategy has none: the harness applies evoengine's
copy of it, ``into_bounds``). A run stops at the target or at its budget (sphere and Rosenbrock
10^4 n evaluations, Rastrigin 10^5). pycma restarts with doubled population as evoengine does
(``cma.fmin(restarts=9, incpopsize=2)``); DEAP's Strategy has no restarts (its IPOP is an
example script, not library code), so on Rastrigin it is one run, ended as a miss after 100
generations without progress. Reported per function and
dimension: the median evaluations to the target over the seeds (a run that misses counts as
infinite) and how many runs reached it.

``--restarts FUNCTION`` takes the IPOP runs of evoengine and pycma apart, restart by restart:
for each population size, how many runs got to it, how many of those reached the target in it,
and the mean evaluations it cost, so a difference in the totals can be traced to the chance of
success per restart or to the cost of a restart (how late a converged run is stopped).
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from evoengine import Genome, Objective, Problem
from evoengine.algorithms.cma_es import default_lambda, into_bounds
from evoengine.config import AlgorithmSettings
from evoengine.run import make_optimizer, optimize

TARGET = 1e-8
BOUNDS = {"sphere": 5.0, "rosenbrock": 5.0, "rastrigin": 5.12}


def evaluate(name: str, x: np.ndarray) -> np.ndarray:
    x = np.atleast_2d(x)
    if name == "sphere":
        return (x ** 2).sum(axis=1)
    if name == "rosenbrock":
        return (100 * (x[:, 1:] - x[:, :-1] ** 2) ** 2 + (1 - x[:, :-1]) ** 2).sum(axis=1)
    return 10 * x.shape[1] + (x ** 2 - 10 * np.cos(2 * np.pi * x)).sum(axis=1)


def budget(name: str, n: int) -> int:
    return 100_000 if name == "rastrigin" else 10_000 * n


def start(name: str, n: int, seed: int) -> tuple[np.ndarray, float]:
    bound = BOUNDS[name]
    return np.random.default_rng(seed).uniform(-bound, bound, n), 0.3 * 2 * bound


class TestFunction(Problem):
    def __init__(self, name: str, n: int):
        bound = BOUNDS[name]
        super().__init__(Genome("real", n, -bound, bound), (Objective("f", "minimize"),))
        self.name = name

    def evaluate(self, genomes):
        return evaluate(self.name, genomes)[:, None]


def evoengine_evaluations(name: str, n: int, seed: int) -> float:
    sigma = start(name, n, seed)[1]
    settings = AlgorithmSettings(algorithm="cma_es", cma_sigma=sigma, generations=10**9,
                                 max_evaluations=budget(name, n), target_fitness=TARGET,
                                 seed=seed)
    result = optimize(TestFunction(name, n), settings)
    return result.evaluations if result.best_fitness[0] <= TARGET else math.inf


def pycma_evaluations(name: str, n: int, seed: int) -> float:
    import cma

    x0, sigma = start(name, n, seed)
    bound = BOUNDS[name]
    options = {"seed": seed, "verbose": -9, "ftarget": TARGET, "maxfevals": budget(name, n),
               "bounds": [-bound, bound]}
    result = cma.fmin(lambda x: float(evaluate(name, x)[0]), x0, sigma, options, restarts=9,
                      incpopsize=2)
    return result[3] if result[1] <= TARGET else math.inf


def deap_evaluations(name: str, n: int, seed: int) -> float:
    from deap import cma as deap_cma

    from evoengine.deap_bridge import Fitness

    class Point(np.ndarray):
        fitness: Fitness

    x0, sigma = start(name, n, seed)
    np.random.seed(seed)  # DEAP's Strategy draws from NumPy's global generator
    strategy = deap_cma.Strategy(centroid=x0.tolist(), sigma=sigma, lambda_=default_lambda(n))
    bound, evaluations, best, stalled = BOUNDS[name], 0, math.inf, 0
    while evaluations < budget(name, n) and stalled < 100:
        population = strategy.generate(lambda a: a.view(Point))
        values = evaluate(name, into_bounds(np.array(population), -bound, bound))
        for point, value in zip(population, values, strict=True):
            point.fitness = Fitness((-1.0,), (float(value),))
        evaluations += len(population)
        if values.min() <= TARGET:
            return evaluations
        # No restarts: 100 generations without progress end the run (a miss).
        stalled = 0 if values.min() < best - 1e-12 * abs(best) else stalled + 1
        best = min(best, values.min())
        try:
            strategy.update(population)
        except np.linalg.LinAlgError:  # converged to a point: C degenerates
            break
    return math.inf


def evoengine_restarts(name: str, n: int, seed: int) -> list[tuple[int, int, float]]:
    """``(lambda, evaluations, best f)`` of each restart of one evoengine run."""
    sigma = start(name, n, seed)[1]
    settings = AlgorithmSettings(algorithm="cma_es", cma_sigma=sigma, generations=10**9,
                                 max_evaluations=budget(name, n), target_fitness=TARGET,
                                 seed=seed)
    problem = TestFunction(name, n)
    opt = make_optimizer(problem, settings)
    runs: list[list] = []
    while not opt.stop():
        genomes = opt.ask()
        values = evaluate(name, genomes)
        opt.tell(values[:, None])
        if not runs or runs[-1][0] != opt.lambda_:
            runs.append([opt.lambda_, 0, math.inf])
        runs[-1][1] += len(genomes)
        runs[-1][2] = min(runs[-1][2], float(values.min()))
    return [tuple(r) for r in runs]


def pycma_restarts(name: str, n: int, seed: int) -> list[tuple[int, int, float]]:
    """``(lambda, evaluations, best f)`` of each restart of one ``cma.fmin`` run (read by its
    callback, once an iteration; the final mean's evaluation counted in its restart)."""
    import cma

    x0, sigma = start(name, n, seed)
    bound = BOUNDS[name]
    options = {"seed": seed, "verbose": -9, "ftarget": TARGET, "maxfevals": budget(name, n),
               "bounds": [-bound, bound]}
    seen: list[list] = []

    def callback(es):
        if not seen or seen[-1][0] != es.popsize:
            seen.append([es.popsize, es.countevals, math.inf])
        seen[-1][2] = min(seen[-1][2], float(es.best.f))
        seen[-1].append(es.countevals)

    result = cma.fmin(lambda x: float(evaluate(name, x)[0]), x0, sigma, options, restarts=9,
                      incpopsize=2, callback=callback)
    total = result[3]
    runs = []
    for k, run in enumerate(seen):
        begin = 0 if k == 0 else seen[k - 1][-1]
        end = total if k == len(seen) - 1 else run[-1]
        runs.append((run[0], end - begin, run[2]))
    return runs


def restart_table(name: str, n: int, seeds) -> None:
    print(f"\n{name} {n}-D, IPOP restarts over {len(seeds)} seeds: per population size, the "
          "runs that got to it, how many reached the target in it, mean evaluations it cost")
    print("| lambda | evoengine: runs | hits | mean evaluations | pycma: runs | hits | "
          "mean evaluations |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    tables = {}
    for peer, restarts in (("evoengine", evoengine_restarts), ("pycma", pycma_restarts)):
        per_lambda: dict[int, list] = {}
        totals = []
        for seed in seeds:
            runs = restarts(name, n, seed)
            totals.append(sum(r[1] for r in runs))
            for lam, evaluations, best in runs:
                per_lambda.setdefault(lam, []).append((evaluations, best <= TARGET))
        tables[peer] = (per_lambda, totals)
    lambdas = sorted(set(tables["evoengine"][0]) | set(tables["pycma"][0]))
    for lam in lambdas:
        cells = []
        for peer in ("evoengine", "pycma"):
            runs = tables[peer][0].get(lam, [])
            mean = f"{np.mean([e for e, _ in runs]):.0f}" if runs else "-"
            cells += [str(len(runs)), str(sum(h for _, h in runs)), mean]
        print(f"| {lam} | " + " | ".join(cells) + " |")
    for peer in ("evoengine", "pycma"):
        totals = np.array(tables[peer][1], float)
        print(f"{peer}: evaluations mean {totals.mean():.0f} (standard error "
              f"{totals.std(ddof=1) / math.sqrt(len(totals)):.0f}), median "
              f"{np.median(totals):.0f}")


PEERS = {"evoengine": evoengine_evaluations, "pycma": pycma_evaluations,
         "deap": deap_evaluations}


def table(dimensions, seeds) -> list[dict]:
    rows = []
    for name in ("sphere", "rosenbrock", "rastrigin"):
        for n in dimensions:
            row = {"function": name, "n": n}
            for peer, run in PEERS.items():
                counts = [run(name, n, seed) for seed in seeds]
                row[peer] = float(np.median(counts))
                row[f"{peer}_hits"] = sum(math.isfinite(c) for c in counts)
            rows.append(row)
    return rows


def show(rows, seeds) -> None:
    print(f"\nevaluations to f <= {TARGET:g} over {len(seeds)} seeds: median (runs that reached "
          "it); a miss counts as infinite")
    print("| function | n | evoengine | pycma | DEAP | evoengine / pycma | evoengine / DEAP |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        cells = [f"{r[p]:.0f} ({r[p + '_hits']})" for p in PEERS]
        ratios = [r["evoengine"] / r[p] if math.isfinite(r[p]) else 0.0 for p in ("pycma", "deap")]
        print(f"| {r['function']} | {r['n']} | " + " | ".join(cells) + " | "
              + " | ".join(f"{q:.2f}" for q in ratios) + " |")


def test_cma_es_reaches_targets_in_no_more_evaluations_than_pycma_and_deap():
    seeds = range(1, 16)
    rows = table((2, 5), seeds)
    show(rows, seeds)
    for r in rows:
        assert r["evoengine_hits"] == len(seeds), r
        if r["function"] == "rastrigin":
            # Counts jump with the number of IPOP restarts; on 5-D evoengine's mean over 30
            # seeds is 24% above pycma's (benchmarks/README.md: 1.6 standard errors, not
            # explained), so only a bound on the median is asserted.
            assert r["evoengine"] <= 2 * r["pycma"], r
            continue
        # The same algorithm on other draws: medians of 15 seeds differ by the seeds' noise.
        assert r["evoengine"] <= 1.15 * r["pycma"], r
        assert r["evoengine"] <= 1.15 * r["deap"], r


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=15)
    parser.add_argument("--dimensions", type=int, nargs="+", default=[2, 5, 10])
    parser.add_argument("--restarts", choices=sorted(BOUNDS),
                        help="the per-restart table of this function instead")
    args = parser.parse_args()
    seeds = range(1, args.seeds + 1)
    if args.restarts:
        for n in args.dimensions:
            restart_table(args.restarts, n, seeds)
        raise SystemExit(0)
    show(table(args.dimensions, seeds), seeds)
