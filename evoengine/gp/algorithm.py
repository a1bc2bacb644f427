"""Genetic programming as an ask/tell algorithm over a population of prefix-array trees.

One generation (DEAP's ``eaSimple`` with bloat control)::

    parents   = select(population, N - elitism)    # lexicographic or double tournament
    offspring = copy(parents)
    crossover pairs (2i, 2i+1) with crossover_probability    # subtree, typed
    mutate each row with mutation_probability, by one kind drawn from settings.mutation
    problem.refine(changed rows), if the problem has it (e.g. constant fitting)
    evaluate the changed rows; population = offspring + the elitism best of the last one
    problem.front.update(population), if the problem keeps a size-versus-fitness front

``ask()`` returns a :class:`~evoengine.gp.trees.Trees` of the rows to evaluate and ``tell``
takes their ``K x M`` fitness, as every engine algorithm. Stop criteria, statistics, logbook
and hall of fame are the base class's. Settings: :class:`evoengine.config.GPSettings`.
"""

from __future__ import annotations

import operator
import time

import numpy as np
from deap import tools

from evoengine.algorithms.base import Evolution
from evoengine.config import GPSettings
from evoengine.deap_bridge import Fitness, Individual
from evoengine.errors import ConfigError
from evoengine.gp import variation
from evoengine.gp.generate import initial_trees
from evoengine.gp.selection import select
from evoengine.gp.trees import NODE_DTYPE, Trees
from evoengine.operators.streams import new_seed


class GeneticProgramming(Evolution):
    """Tree-based GP (see the module docstring) for a :class:`~evoengine.gp.problem.TreeProblem`."""

    name = "gp"

    def __init__(self, problem, settings: GPSettings, *, toolbox=None) -> None:
        if not isinstance(settings, GPSettings):
            settings = GPSettings.model_validate(settings.model_dump(exclude_unset=True))
        if not hasattr(problem, "primitives"):
            raise ConfigError("genome kind 'tree' needs a problem with a primitive set "
                              "(evoengine.gp.TreeProblem)")
        super().__init__(problem, settings)
        self.primitives = problem.primitives
        self.max_size = settings.max_size or problem.genome.length
        self.mutation_kinds = np.array([variation.MUTATIONS[m] for m in settings.mutation])
        self.hall_of_fame = tools.HallOfFame(settings.hall_of_fame_size, similar=operator.eq)
        self.genomes: Trees | None = None
        self.logbook.header = [*self.logbook.header, "size"]

    def _make_variation(self, toolbox):
        return None  # trees bring their own operators (evoengine.gp.variation)

    # --- ask/tell ---------------------------------------------------------------------------
    def ask(self) -> Trees:
        if self._pending is not None:
            raise RuntimeError("ask() called twice without tell()")
        if self._started is None:  # the base class's max_seconds counts from here
            self._started = time.perf_counter()
        if self.genomes is None:
            s = self.settings
            trees = initial_trees(self.primitives, s.population_size, self.max_size,
                                  new_seed(self.rng), method=s.init_method,
                                  min_depth=s.init_min_depth, max_depth=s.init_max_depth)
            fitness = np.full((len(trees), len(self.weights)), np.nan)
            self._pending = (trees, fitness, np.ones(len(trees), dtype=bool))
        else:
            self._pending = self._offspring()
        trees, _, changed = self._pending
        asked = trees[changed]
        refine = getattr(self.problem, "refine", None)
        if refine is not None:  # e.g. constant fitting; the population keeps what it did
            refine(asked)
            trees.codes[changed], trees.consts[changed] = asked.codes, asked.consts
            trees.lengths[changed] = asked.lengths
        return asked  # already a copy: the caller may keep or change it

    def tell(self, fitness: np.ndarray) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            raise RuntimeError("tell() called without ask()")
        trees, all_fitness, changed = pending
        fitness = np.asarray(fitness, dtype=float).reshape(-1, len(self.weights))
        if len(fitness) != int(changed.sum()):
            raise ValueError(f"tell() got {len(fitness)} fitness rows for {int(changed.sum())} "
                             "trees")
        all_fitness[changed] = fitness
        failed = int((~np.isfinite(fitness)).any(axis=1).sum())
        self.genomes, self.fitness = trees, all_fitness
        self.generation += 1
        self.evaluations += len(fitness)
        self.failures += failed
        self._record(len(fitness), failed)
        self.logbook[-1]["size"] = float(trees.lengths.mean())
        front = getattr(self.problem, "front", None)
        if front is not None:
            front.update(trees, self.scores(), all_fitness)

    def _offspring(self):
        s, n = self.settings, len(self.genomes)
        elite = np.argsort(-self.scores(), kind="stable")[:s.elitism]
        rows = select(self.scores(), self.genomes.lengths, n - len(elite), s.tournament_size,
                      new_seed(self.rng), method=s.bloat_control,
                      parsimony_size=s.parsimony_size)
        # the elite go last, unchanged, and are not evaluated again
        rows = np.concatenate([rows, elite])
        offspring = self.genomes[rows]
        varied = n - len(elite)
        changed = np.zeros(len(offspring), dtype=bool)
        pairs = np.arange(varied // 2 * 2).reshape(-1, 2)
        pairs = pairs[self.rng.random(len(pairs)) < s.crossover_probability]
        variation.crossover(offspring, pairs, new_seed(self.rng), s.max_depth)
        changed[pairs.ravel()] = True
        mutated = np.flatnonzero(self.rng.random(varied) < s.mutation_probability)
        kinds = self.mutation_kinds[self.rng.integers(0, len(self.mutation_kinds),
                                                      len(mutated))]
        variation.mutate(offspring, mutated, kinds, new_seed(self.rng), s.max_depth,
                         s.mutation_depth)
        changed[mutated] = True
        fitness = self.fitness[rows]
        fitness[changed] = np.nan
        return offspring, fitness, changed

    # --- bookkeeping ------------------------------------------------------------------------
    def _individuals(self, rows: np.ndarray) -> list:
        return [_individual(self.genomes, row, self.fitness[row], self.weights) for row in rows
                if np.isfinite(self.fitness[row]).all()]

    @property
    def best(self) -> tuple[np.ndarray, np.ndarray]:
        """The best tree of the run (a ``(code, const)`` node array) and its fitness."""
        if not len(self.hall_of_fame):
            raise RuntimeError("no valid individual has been evaluated yet")
        top = self.hall_of_fame[0]
        return np.array(list(top), dtype=NODE_DTYPE), np.array(top.fitness.values)

    # --- checkpoints ------------------------------------------------------------------------
    def export_state(self):
        if self._pending is not None or self.genomes is None:
            raise RuntimeError("export_state() needs an evaluated population and no pending ask()")
        hof = list(self.hall_of_fame)
        values = {"algorithm": self.name, "generation": self.generation,
                  "evaluations": self.evaluations, "failures": self.failures,
                  "rng": self.rng.bit_generator.state, "logbook": [dict(r) for r in self.logbook],
                  "hall_of_fame_lengths": [len(ind) for ind in hof]}
        nodes = np.concatenate([np.array(list(ind), dtype=NODE_DTYPE) for ind in hof]) \
            if hof else np.empty(0, dtype=NODE_DTYPE)
        arrays = {"codes": self.genomes.codes, "consts": self.genomes.consts,
                  "lengths": self.genomes.lengths, "fitness": self.fitness,
                  "hall_of_fame_codes": nodes["code"], "hall_of_fame_consts": nodes["const"],
                  "hall_of_fame_fitness": np.array([ind.fitness.values for ind in hof],
                                                   dtype=float).reshape(len(hof), -1)}
        return values, arrays

    def restore_state(self, values, arrays) -> None:
        if values["algorithm"] != self.name:
            raise ValueError(f"state of algorithm {values['algorithm']!r}, not {self.name!r}")
        self.genomes = Trees(self.primitives, np.array(arrays["codes"], dtype=np.int64),
                             np.array(arrays["consts"], dtype=float),
                             np.array(arrays["lengths"], dtype=np.int64))
        self.fitness = np.array(arrays["fitness"], dtype=float)
        self.generation = int(values["generation"])
        self.evaluations = int(values["evaluations"])
        self.failures = int(values["failures"])
        self.rng.bit_generator.state = values["rng"]
        self.logbook = tools.Logbook()
        self.logbook.header = ["gen", "nevals", "failed", "avg", "std", "min", "max", "best",
                               "size"]
        self.logbook.extend(dict(r) for r in values["logbook"])
        self.hall_of_fame.clear()
        start = 0
        for length, fit in zip(values["hall_of_fame_lengths"], arrays["hall_of_fame_fitness"],
                               strict=True):
            nodes = list(zip(arrays["hall_of_fame_codes"][start:start + length].tolist(),
                             arrays["hall_of_fame_consts"][start:start + length].tolist(),
                             strict=True))
            start += length
            self.hall_of_fame.update([Individual(nodes, Fitness(self.weights, tuple(fit)))])
        self._pending = None


def _individual(trees: Trees, row: int, fitness: np.ndarray, weights) -> Individual:
    nodes = trees.tree(row)
    genes = list(zip(nodes["code"].tolist(), nodes["const"].tolist(), strict=True))
    return Individual(genes, Fitness(weights, tuple(float(v) for v in fitness)), row=row)
