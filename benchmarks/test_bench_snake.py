"""Snake (plugins/snake): evoengine's defaults against DEAP's eaSimple at equal evaluations.

Run: .venv/bin/python -m pytest benchmarks/test_bench_snake.py -s
     .venv/bin/python benchmarks/test_bench_snake.py --seeds 1 2 3 4 5

10 x 10 board, 200 moves; the food layout comes from the run's seed. Each seed runs:

- evoengine, the snake problem's defaults: eaSimple, population 200, 200 generations, elitism 2,
  the categorical kind's operators (two-point crossover p 0.8; every child mutated, a move reset
  to another on 1/200 of the genes; tournament of 3);
- evoengine as before issue 16: the moves as an integer genome with the old default operators
  (one-point crossover, gaussian sigma = width / 10 = 0.2, rounded), no elitism;
- DEAP's eaSimple with the operators a DEAP user would pick for this genome: cxTwoPoint,
  mutUniformInt(0, 2, indpb=1/200), selTournament(3), the same population, cxpb 0.8 and
  mutpb 0.2 (DEAP's examples) or 1.0 (evoengine's setting; DEAP has no elitism).

DEAP (mutpb 0.2) runs 200 generations; DEAP with mutpb 1.0 and both evoengine runs stop at
its evaluation count, so every method gets the same number of games played. Reported: the best
score per seed (100 per food + 1 per step survived).
"""

from __future__ import annotations

import argparse
import random

import numpy as np
from deap import algorithms, base, tools

from evoengine import EvaluationContext, Genome
from evoengine.config import AlgorithmSettings
from evoengine.deap_bridge import Fitness, Individual
from evoengine.run import optimize
from evoengine_snake.problem import SNAKE_DEFAULTS, Snake

WIDTH = HEIGHT = 10
MOVES = 200
POPULATION, GENERATIONS = SNAKE_DEFAULTS["population_size"], SNAKE_DEFAULTS["generations"]
CXPB = 0.8


class IntegerSnake(Snake):
    """The same game with the moves as an ordered integer genome in {0, 1, 2}."""

    def __init__(self):
        super().__init__(WIDTH, HEIGHT, MOVES)
        self.genome = Genome("integer", MOVES, 0, 2)
        self.defaults = {}


def run_deap(seed: int, mutpb: float, evaluations: int | None = None) -> tuple[float, int]:
    """Best score and evaluations of eaSimple: 200 generations, or as many as fit in
    ``evaluations`` (then the last generation may go over by less than one population)."""
    problem = Snake(WIDTH, HEIGHT, MOVES)
    context = EvaluationContext.standalone(1, seed=seed)  # the run's seed: its food layout
    random.seed(seed)
    toolbox = base.Toolbox()
    toolbox.register("individual", lambda: Individual(
        [random.randint(0, 2) for _ in range(MOVES)], Fitness((1.0,))))
    toolbox.register("population", tools.initRepeat, list, toolbox.individual)
    toolbox.register("evaluate", lambda ind: (
        float(problem.evaluate(np.array([ind]), context).fitness[0, 0]),))
    toolbox.register("mate", tools.cxTwoPoint)
    toolbox.register("mutate", tools.mutUniformInt, low=0, up=2, indpb=1 / MOVES)
    toolbox.register("select", tools.selTournament, tournsize=3)
    hall = tools.HallOfFame(1)
    population = toolbox.population(POPULATION)
    if evaluations is None:
        _, logbook = algorithms.eaSimple(population, toolbox, CXPB, mutpb, GENERATIONS,
                                         halloffame=hall, verbose=False)
        return hall[0].fitness.values[0], sum(logbook.select("nevals"))
    spent = 0
    while spent < evaluations:  # eaSimple one generation at a time, until the budget is spent
        population, logbook = algorithms.eaSimple(population, toolbox, CXPB, mutpb, 1,
                                                  halloffame=hall, verbose=False)
        spent += sum(logbook.select("nevals"))  # the first call evaluates generation 0 too
    return hall[0].fitness.values[0], spent


def run_evoengine(problem, evaluations: int, seed: int, **settings) -> float:
    values = {**problem.defaults, "generations": 10**6, "max_evaluations": evaluations,
              "seed": seed, **settings}
    return float(optimize(problem, AlgorithmSettings(**values)).best_fitness[0])


def compare(seeds) -> list[dict]:
    rows = []
    for seed in seeds:
        deap_best, evaluations = run_deap(seed, 0.2)
        rows.append({
            "seed": seed, "evaluations": evaluations, "deap": deap_best,
            "deap_mutpb_1": run_deap(seed, 1.0, evaluations)[0],
            "evoengine": run_evoengine(Snake(WIDTH, HEIGHT, MOVES), evaluations, seed),
            "old_integer_defaults": run_evoengine(
                IntegerSnake(), evaluations, seed, population_size=POPULATION,
                crossover="one_point", mutation="gaussian", mutation_sigma=0.2),
        })
    return rows


def show(rows) -> None:
    keys = ("evoengine", "deap", "deap_mutpb_1", "old_integer_defaults")
    print("\n| seed | evaluations | evoengine (defaults) | DEAP eaSimple, mutpb 0.2 | DEAP "
          "eaSimple, mutpb 1.0 | evoengine, integer genome, old defaults |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['seed']} | {r['evaluations']} | "
              + " | ".join(f"{r[k]:.0f}" for k in keys) + " |")
    print("| mean | | " + " | ".join(f"{np.mean([r[k] for r in rows]):.0f}" for k in keys)
          + " |")


def test_defaults_beat_deaps_example_settings_and_the_old_integer_defaults():
    rows = compare((1, 2, 3, 4, 5))
    show(rows)
    mean = {k: np.mean([r[k] for r in rows]) for k in rows[0]}
    assert mean["evoengine"] > mean["deap"] and mean["evoengine"] > 2 * mean[
        "old_integer_defaults"]
    # With DEAP set as evoengine is, the two are the same algorithm: equal within the seeds'
    # noise (the best score's spread between seeds is about 200).
    assert mean["evoengine"] > mean["deap_mutpb_1"] - 150


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    show(compare(parser.parse_args().seeds))
