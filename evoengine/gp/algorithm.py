"""Genetic programming as an ask/tell algorithm over a population of prefix-array trees.

The first population is random (``init_method``), less the trees the problem's ``seed_trees()``
gives, which take its first rows. One generation (DEAP's ``eaSimple`` with bloat control)::

    parents   = select(population, N - elitism)    # lexicographic or double tournament
    offspring = copy(parents)
    crossover pairs (2i, 2i+1) with crossover_probability    # subtree, typed
    mutate each row with mutation_probability, by one kind drawn from settings.mutation
    problem.refine(changed rows), if the problem has it (e.g. constant fitting)
    evaluate the changed rows; population = offspring + the elitism best of the last one
    front.update(population): the best tree of each size, given to describe as
    info["size_front"] (e.g. symbolic regression's formulas by size)

``ask()`` returns a :class:`~evoengine.gp.trees.Trees` of the rows to evaluate and ``tell``
takes their ``K x M`` fitness, as every engine algorithm: the public methods, stop criteria,
statistics, logbook, hall of fame and checkpoint state are the base class's; this class fills
in the private steps (the first trees, one generation, refining, trees as checkpoint arrays).
Settings: :class:`evoengine.config.GPSettings`.
"""

from __future__ import annotations

import operator

import numpy as np
from deap import tools

from evoengine.algorithms.base import Evolution, Offspring
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
        self.front = SizeFront()
        self.logbook.header = [*self.logbook.header, "size"]

    def _make_variation(self, toolbox):
        return None  # trees bring their own operators (evoengine.gp.variation)

    elitism_in_offspring = True  # the elite go last in _offspring, unchanged

    # --- one generation -----------------------------------------------------------------------
    def _initial(self) -> Offspring:
        s = self.settings
        trees = initial_trees(self.primitives, s.population_size, self.max_size,
                              new_seed(self.rng), method=s.init_method,
                              min_depth=s.init_min_depth, max_depth=s.init_max_depth)
        seeds = getattr(self.problem, "seed_trees", lambda: [])()
        seeds = [t for t in seeds if len(t) <= trees.max_size][:len(trees)]
        if seeds:  # the problem's own starting trees replace the first random ones
            first = Trees.from_nodes(self.primitives, seeds, trees.max_size)
            rows = np.arange(len(seeds))
            trees.codes[rows], trees.consts[rows] = first.codes, first.consts
            trees.lengths[rows] = first.lengths
        fitness = np.full((len(trees), len(self.weights)), np.nan)
        return Offspring(trees, fitness, np.ones(len(trees), dtype=bool))

    def _refine(self, pending: Offspring) -> None:
        refine = getattr(self.problem, "refine", None)
        if refine is None:  # e.g. constant fitting; the population keeps what it did
            return
        trees, changed = pending.genomes, pending.changed
        asked = trees[changed]
        refine(asked)
        trees.codes[changed], trees.consts[changed] = asked.codes, asked.consts
        trees.lengths[changed] = asked.lengths

    def _replace(self, offspring: Offspring):
        return offspring.genomes, offspring.fitness

    def _logbook_extra(self) -> dict:
        return {"size": float(self.genomes.lengths.mean())}

    def _told(self) -> None:
        self.front.update(self.genomes, self.scores(), self.fitness)

    @property
    def best_info(self):
        """The best tree's info, plus ``size_front``: the trees of :meth:`SizeFront.pareto`
        by growing size, for ``problem.describe(genome, info)``."""
        info = super().best_info
        front = self.front.pareto()
        if not front:
            return info
        return {**(info or {}), "size_front": [tree for _, tree, _ in front]}

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
        return Offspring(offspring, fitness, changed)

    # --- trees as rows -----------------------------------------------------------------------
    def _individuals(self, rows: np.ndarray) -> list:
        return [_individual(self.genomes, row, self.fitness[row], self.weights) for row in rows
                if np.isfinite(self.fitness[row]).all()]

    def _genome_of(self, individual) -> np.ndarray:
        """A tree as a ``(code, const)`` node array."""
        return np.array(list(individual), dtype=NODE_DTYPE)

    def _genome_bytes(self, genomes: Trees, row: int) -> bytes:
        return genomes.tree(row).tobytes()

    def _pack(self, genomes: Trees, name: str) -> dict[str, np.ndarray]:
        return {f"{name}_codes": genomes.codes, f"{name}_consts": genomes.consts,
                f"{name}_lengths": genomes.lengths}

    def _unpack(self, arrays, name: str) -> Trees:
        return Trees(self.primitives, np.array(arrays[f"{name}_codes"], dtype=np.int64),
                     np.array(arrays[f"{name}_consts"], dtype=float),
                     np.array(arrays[f"{name}_lengths"], dtype=np.int64))

    def _stack(self, individuals: list) -> Trees:
        return Trees.from_nodes(self.primitives, [self._genome_of(ind) for ind in individuals])

    def _rows_as_individuals(self, genomes: Trees, fitness: np.ndarray) -> list:
        return [_individual(genomes, row, fitness[row], self.weights)
                for row in range(len(genomes))]

    # --- the size front in the checkpoint ----------------------------------------------------
    def _export(self):
        front = self.front
        if not front.best:
            return {}, {}
        sizes = sorted(front.best)
        trees = Trees.from_nodes(self.primitives, [front.best[k][1] for k in sizes])
        return ({"front_scores": [front.best[k][0] for k in sizes]},
                {**self._pack(trees, "front"),
                 "front_fitness": np.array([front.best[k][2] for k in sizes], dtype=float)})

    def _restore(self, values, arrays) -> None:
        front = self.front
        front.best.clear()
        if "front_scores" not in values:
            return
        trees = self._unpack(arrays, "front")
        for row, score in enumerate(values["front_scores"]):
            front.best[int(trees.lengths[row])] = (float(score), trees.tree(row),
                                                   np.array(arrays["front_fitness"][row]))


def _individual(trees: Trees, row: int, fitness: np.ndarray, weights) -> Individual:
    nodes = trees.tree(row)
    genes = list(zip(nodes["code"].tolist(), nodes["const"].tolist(), strict=True))
    return Individual(genes, Fitness(weights, tuple(float(v) for v in fitness)), row=row)


class SizeFront:
    """The best tree of each size seen in a run, kept by the GP algorithm after each
    generation (run state: checkpointed with the run, never kept on the problem);
    :meth:`pareto` gives those that no smaller tree matches or beats."""

    def __init__(self) -> None:
        self.best: dict[int, tuple[float, np.ndarray, np.ndarray]] = {}

    def update(self, trees: Trees, scores: np.ndarray, fitness: np.ndarray) -> None:
        valid = np.flatnonzero(np.isfinite(scores))
        order = valid[np.lexsort((-scores[valid], trees.lengths[valid]))]
        sizes, first = np.unique(trees.lengths[order], return_index=True)
        for size, row in zip(sizes.tolist(), order[first], strict=True):  # best of each size
            if size not in self.best or scores[row] > self.best[size][0]:
                self.best[size] = (float(scores[row]), trees.tree(row), fitness[row].copy())

    def pareto(self) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """``(size, tree, fitness)`` by growing size, each better than every smaller one."""
        out, best = [], -np.inf
        for size in sorted(self.best):
            score, tree, fitness = self.best[size]
            if score > best:
                out.append((size, tree, fitness))
                best = score
        return out
