"""DEAP's ``eaMuPlusLambda`` and ``eaMuCommaLambda``, on arrays."""

import numpy as np

from evoengine.algorithms.base import Evolution, Offspring


class MuPlusLambda(Evolution):
    """``(mu + lambda)``: lambda offspring by ``varOr``, then mu survivors selected from parents
    and offspring together::

        for g in 1..generations:
            offspring = varOr(population, lambda, crossover_probability, mutation_probability)
            evaluate(offspring whose genes changed)
            population = select(population + offspring, mu)

    ``varOr`` makes each child by exactly one of: crossover of two distinct random parents
    (keeping the first child), mutation of a random parent, or a copy of a random parent.
    Settings used: population_size (mu), offspring_size (lambda), selection, crossover, mutation.
    """

    name = "mu_plus_lambda"

    def _offspring(self) -> Offspring:
        s, rng, n = self.settings, self.rng, len(self.genomes)
        lam = s.lambda_
        draw = rng.random(lam)
        by_crossover = draw < s.crossover_probability
        by_mutation = ~by_crossover & (draw < s.crossover_probability + s.mutation_probability)
        first = rng.integers(0, n, size=lam)
        genomes = self.genomes[first]  # fancy indexing copies
        fitness = self.fitness[first]
        changed = np.zeros(lam, dtype=bool)

        cx = np.flatnonzero(by_crossover)
        if cx.size:
            if n < 2:
                second = first[cx]
            else:  # a second parent distinct from the first, as random.sample(population, 2)
                second = (first[cx] + 1 + rng.integers(0, n - 1, size=cx.size)) % n
            pairs = np.empty((2 * cx.size, genomes.shape[1]), dtype=genomes.dtype)
            pairs[0::2], pairs[1::2] = self.genomes[first[cx]], self.genomes[second]
            self.variation.mate(pairs, np.zeros(len(pairs), dtype=bool), 1.0)
            genomes[cx] = pairs[0::2]
            changed[cx] = True
        mu = np.flatnonzero(by_mutation)
        if mu.size:
            mutants = genomes[mu]
            self.variation.mutate(mutants, np.zeros(mu.size, dtype=bool), 1.0)
            genomes[mu] = mutants
            changed[mu] = True
        genomes = self.variation.bound(genomes)
        fitness[changed] = np.nan
        return Offspring(genomes, fitness, changed)

    def _pool(self, offspring: Offspring):
        return (np.concatenate([self.genomes, offspring.genomes]),
                np.concatenate([self.fitness, offspring.fitness]))

    def _replace(self, offspring: Offspring):
        genomes, fitness = self._pool(offspring)
        rows = self.variation.select(self.scores(fitness), self.settings.population_size)
        return genomes[rows], fitness[rows]


class MuCommaLambda(MuPlusLambda):
    """``(mu, lambda)``: as ``(mu + lambda)``, but survivors come from the offspring only
    (lambda must be at least mu)."""

    name = "mu_comma_lambda"

    def _pool(self, offspring: Offspring):
        return offspring.genomes, offspring.fitness
