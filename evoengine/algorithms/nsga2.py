"""NSGA-II (Deb, Pratap, Agarwal & Meyarivan 2002) for several objectives, on arrays."""

from __future__ import annotations

import operator

import numpy as np
from deap import tools

from evoengine import operators as ops
from evoengine.algorithms.base import Evolution, Offspring
from evoengine.errors import ConfigError


class NSGA2(Evolution):
    """The elitist non-dominated sorting GA, as DEAP's NSGA-II example::

        evaluate(population); population = selNSGA2(population, mu)   # fronts and crowding
        for g in 1..generations:
            offspring = selTournamentDCD(population, mu)
            offspring = varAnd(offspring, crossover_probability, mutation_probability)
            evaluate(offspring whose genes changed)
            population = selNSGA2(population + offspring, mu)

    Deb's settings: crossover "sbx", mutation "polynomial", crossover_probability 0.9,
    mutation_probability 1.0, gene_probability 1/length. The hall of fame is the Pareto front
    of every individual seen; stop criteria on fitness (target, stall) read the first objective.
    """

    name = "nsga2"
    multi_objective = True

    def __init__(self, problem, settings, *, toolbox=None) -> None:
        if settings.elitism:
            raise ConfigError("setting 'elitism': nsga2 already keeps the best fronts; "
                              "leave elitism at 0")
        super().__init__(problem, settings, toolbox=toolbox)
        self.hall_of_fame = tools.ParetoFront(similar=operator.eq)
        self.crowding: np.ndarray | None = None

    def _offspring(self) -> Offspring:
        if self.crowding is None:  # the initial population: fronts and crowding first
            self.genomes, self.fitness, self.crowding = self._survivors(
                self.genomes, self.fitness)
        rows = ops.sel_tournament_dcd(self.fitness, self.weights, self.crowding,
                                      len(self.genomes), self.rng)
        return self.vary(self.genomes[rows], self.fitness[rows])  # fancy indexing copies

    def _replace(self, offspring: Offspring):
        genomes = np.concatenate([self.genomes, offspring.genomes])
        fitness = np.concatenate([self.fitness, offspring.fitness])
        genomes, fitness, self.crowding = self._survivors(genomes, fitness)
        return genomes, fitness

    def _survivors(self, genomes, fitness):
        rows, _, crowding = ops.sel_nsga2(fitness, self.weights, self.settings.population_size)
        return genomes[rows], fitness[rows], crowding

    def _export(self):
        # the next tournament reads the crowding distances
        return {}, ({} if self.crowding is None else {"crowding": self.crowding})

    def _restore(self, values, arrays):
        self.crowding = np.array(arrays["crowding"]) if "crowding" in arrays else None

    def _hall_of_fame_rows(self, scores, valid):
        wfitness = np.where(valid[:, None], self.fitness * self.weights, -np.inf)
        front = ops.non_dominated_fronts(wfitness, 1)
        return np.flatnonzero((front == 0) & valid)
