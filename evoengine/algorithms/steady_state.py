"""The "keep the parents" scheme of Gad's tutorial, on arrays."""

import numpy as np

from evoengine.algorithms.base import Evolution, Offspring


class SteadyState(Evolution):
    """Parents survive; children fill the rest of the population::

        for g in 1..generations:
            parents = select(population, parents)           # the tutorial: the best ones
            for k in 0..population_size - parents - 1:      # parents paired around a ring
                child[k] = crossover(parents[k % P], parents[(k + 1) % P]), first child
            mutate(children)
            population = parents + children

    With selection "best", crossover "midpoint" and mutation "uniform_one_gene" this is the
    tutorial exactly. Settings used: population_size, parents, selection, crossover, mutation.
    """

    name = "steady_state"

    def _offspring(self) -> Offspring:
        p = self.settings.parents
        children = self.settings.population_size - p
        parents = self.variation.select(self.scores(), p)
        k = np.arange(children)
        pairs = np.empty((2 * children, self.genomes.shape[1]), dtype=self.genomes.dtype)
        pairs[0::2] = self.genomes[parents[k % p]]
        pairs[1::2] = self.genomes[parents[(k + 1) % p]]
        paired = np.zeros(len(pairs), dtype=bool)
        self.variation.mate(pairs, paired, self.settings.crossover_probability)
        genomes = np.concatenate([self.genomes[parents], pairs[0::2]])
        fitness = np.concatenate([self.fitness[parents], self.fitness[parents[k % p]]])
        changed = np.concatenate([np.zeros(p, dtype=bool), paired[0::2]])
        # Views: mutation and bounds act on the children in place; parents stay as they are.
        self.variation.mutate(genomes[p:], changed[p:], self.settings.mutation_probability)
        self.variation.bound(genomes[p:])
        fitness[changed] = np.nan
        return Offspring(genomes, fitness, changed)

    def _replace(self, offspring: Offspring):
        return offspring.genomes, offspring.fitness
