"""DEAP's ``eaSimple``, on arrays."""

from evoengine.algorithms.base import Evolution, Offspring


class EaSimple(Evolution):
    """The simple generational algorithm (Back, Fogel & Michalewicz), as DEAP's ``eaSimple``::

        evaluate(population)
        for g in 1..generations:
            offspring = select(population, len(population))
            offspring = varAnd(offspring, crossover_probability, mutation_probability)
            evaluate(offspring whose genes changed)
            population = offspring

    Settings used: population_size, selection, crossover, mutation and their probabilities.
    """

    name = "ea_simple"

    def _offspring(self) -> Offspring:
        rows = self.variation.select(self.scores(), len(self.genomes))
        return self.vary(self.genomes[rows], self.fitness[rows])  # fancy indexing copies

    def _replace(self, offspring: Offspring):
        return offspring.genomes, offspring.fitness
