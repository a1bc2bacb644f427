"""The ask/tell core every algorithm shares.

``ask()`` returns the genomes that need a fitness; ``tell(fitness)`` takes it back. The public
methods do the bookkeeping (generation count, evaluations, failed evaluations, DEAP statistics,
logbook and hall of fame); an algorithm implements only ``_offspring`` and ``_replace``.

The population is two arrays: ``genomes`` (``N x D``) and ``fitness`` (``N x M``, raw objective
values). Selection works on ``scores``: the fitness times the objective's weight (+1 maximize,
-1 minimize), with failed rows (NaN or inf) at ``-inf``, so they are never chosen as best.
"""

from __future__ import annotations

import operator
import time
from dataclasses import dataclass

import numpy as np
from deap import tools

from evoengine.algorithms.variation import Variation, resolve_operators
from evoengine.config import AlgorithmSettings
from evoengine.deap_bridge import to_individuals
from evoengine.errors import ConfigError
from evoengine.problem import Problem

# A run whose first this-many generations had not one valid evaluation stops, saying so: its
# selection has nothing to go on, so more generations are a random search that rarely helps.
NO_VALID_PATIENCE = 10


def _valid(values):
    # Statistics.compile gets [fitness array] (see _record), so values[0] is N x M.
    return values[0]


def _stat(func):
    def compute(values):
        column = _valid(values)
        if len(column) == 0:
            return float("nan")
        out = func(column, axis=0)
        return float(out[0]) if out.shape == (1,) else out.tolist()

    compute.__name__ = func.__name__
    return compute


def _top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` best rows, best first, earlier rows first among equals (as a stable argsort),
    without sorting the whole population when ``k`` is small."""
    if k <= 0:  # a generation in which every evaluation failed has no row to offer
        return np.empty(0, dtype=np.int64)
    if k >= len(scores) or k > 64:
        return np.argsort(-scores, kind="stable")[:k]
    kth = np.partition(scores, len(scores) - k)[len(scores) - k]
    rows = np.flatnonzero(scores >= kth)
    return rows[np.argsort(-scores[rows], kind="stable")][:k]


def make_statistics() -> tools.Statistics:
    """DEAP statistics over the valid fitness values of a generation."""
    stats = tools.Statistics()
    stats.register("avg", _stat(np.mean))
    stats.register("std", _stat(np.std))
    stats.register("min", _stat(np.min))
    stats.register("max", _stat(np.max))
    return stats


@dataclass
class Offspring:
    """What ``_offspring`` proposes: genomes, the fitness they inherit, rows to evaluate."""

    genomes: np.ndarray
    fitness: np.ndarray
    changed: np.ndarray


class Evolution:
    """Base of the ask/tell algorithms. Use through a subclass, or :func:`evoengine.optimize`."""

    name = "base"
    multi_objective = False  # True where the algorithm handles several objectives

    def __init__(self, problem: Problem, settings: AlgorithmSettings, *, toolbox=None) -> None:
        if len(problem.objectives) != 1 and not self.multi_objective:
            raise ConfigError(
                f"algorithm {settings.algorithm!r} optimizes one objective; this problem has "
                f"{len(problem.objectives)}"
            )
        self.problem = problem
        # The operators in force for this genome kind and the values derived from them.
        self.settings = settings = resolve_operators(settings, problem.genome)
        self.rng = np.random.default_rng(settings.seed)
        self.weights = problem.weights
        self.variation = self._make_variation(toolbox)
        self.genomes: np.ndarray | None = None
        self.fitness: np.ndarray | None = None
        self.generation = -1  # the initial population is generation 0
        self.evaluations = 0
        self.failures = 0
        self.logbook = tools.Logbook()
        self.logbook.header = ["gen", "nevals", "failed", "avg", "std", "min", "max", "best"]
        self.statistics = make_statistics()
        # operator.eq: list equality, what np.array_equal computed on these rows, far cheaper.
        self.hall_of_fame = tools.HallOfFame(settings.hall_of_fame_size, similar=operator.eq)
        self._pending: Offspring | None = None
        self._started: float | None = None  # wall clock of the first ask(), for max_seconds
        self._best_score = -np.inf  # best first-objective score so far, for stall_generations
        self._stalled = 0

    # --- public ask/tell -----------------------------------------------------------------
    def ask(self) -> np.ndarray:
        """The genomes whose fitness :meth:`tell` expects next (a copy the caller may keep)."""
        if self._pending is not None:
            raise RuntimeError("ask() called twice without tell()")
        if self._started is None:
            self._started = time.perf_counter()
        if self.genomes is None:
            self._pending = self._initial()
        else:
            self._pending = self._offspring()
        # Boolean indexing already copies: the caller may keep or change what it gets.
        return self._pending.genomes[self._pending.changed]

    def tell(self, fitness: np.ndarray) -> None:
        """Fitness of the genomes the last :meth:`ask` returned, ``K x M``."""
        pending, self._pending = self._pending, None
        if pending is None:
            raise RuntimeError("tell() called without ask()")
        fitness = np.asarray(fitness, dtype=float).reshape(-1, len(self.weights))
        count = int(pending.changed.sum())
        if len(fitness) != count:
            raise ValueError(f"tell() got {len(fitness)} fitness rows for {count} genomes")
        pending.fitness[pending.changed] = fitness
        failed = int((~np.isfinite(fitness)).any(axis=1).sum())
        if self.genomes is None:
            self.genomes, self.fitness = pending.genomes, pending.fitness
        else:
            previous = self.genomes, self.fitness
            self.genomes, self.fitness = self._replace(pending)
            if self.settings.elitism:
                self._keep_elite(*previous)
        self.generation += 1
        self.evaluations += count
        self.failures += failed
        self._record(count, failed)

    def stop(self) -> list[str]:
        """Names of the stop criteria that fired; empty while the run should go on."""
        s, reasons = self.settings, []
        if self.generation >= s.generations:
            reasons.append(f"generations: reached {s.generations}")
        if s.max_evaluations is not None and self.evaluations >= s.max_evaluations:
            reasons.append(f"max_evaluations: {self.evaluations} >= {s.max_evaluations}")
        if s.target_fitness is not None and np.isfinite(self._best_score):
            target = s.target_fitness * self.weights[0]
            if self._best_score >= target:
                best = self._best_score * self.weights[0]
                reasons.append(f"target_fitness: best {best:g} reached {s.target_fitness:g}")
        if s.stall_generations is not None and self._stalled >= s.stall_generations:
            reasons.append(f"stall_generations: no better best for {self._stalled} generations")
        if s.max_seconds is not None and self._started is not None:
            elapsed = time.perf_counter() - self._started
            if elapsed >= s.max_seconds:
                reasons.append(f"max_seconds: {elapsed:.1f} s >= {s.max_seconds:g}")
        if self.generation + 1 >= NO_VALID_PATIENCE and not len(self.hall_of_fame):
            reasons.append(f"no valid individual: all {self.evaluations} evaluations of "
                           f"generations 0-{self.generation} failed (NaN, inf or an error)")
        return reasons

    # --- what subclasses implement -------------------------------------------------------
    def _make_variation(self, toolbox) -> Variation | None:
        """The vector operators the settings name; an algorithm with its own (GP) returns
        None."""
        return Variation(self.settings, self.problem.genome, self.rng, toolbox)

    def _initial(self) -> Offspring:
        """Generation 0: the problem's initial population of ``population_size`` rows."""
        size = self.settings.population_size
        genomes = np.asarray(self.problem.initial_population(size, self.rng))
        genomes = genomes.astype(self.problem.genome.dtype, copy=False)
        nan = np.full((size, len(self.weights)), np.nan)
        return Offspring(genomes, nan, np.ones(size, dtype=bool))

    def _offspring(self) -> Offspring:
        raise NotImplementedError

    def _replace(self, offspring: Offspring) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _export(self) -> tuple[dict[str, object], dict[str, np.ndarray]]:
        """The algorithm's own state beyond the population (JSON-ready values, named arrays);
        its keys must not clash with :meth:`export_state`'s."""
        return {}, {}

    def _restore(self, values: dict[str, object], arrays: dict[str, np.ndarray]) -> None:
        """Put back what :meth:`_export` returned."""

    # --- helpers -------------------------------------------------------------------------
    def _keep_elite(self, genomes: np.ndarray, fitness: np.ndarray) -> None:
        """The previous generation's best ``elitism`` rows replace the new one's worst."""
        e = self.settings.elitism
        elite = np.argsort(-self.scores(fitness), kind="stable")[:e]
        worst = np.argsort(self.scores(), kind="stable")[:e]
        self.genomes, self.fitness = self.genomes.copy(), self.fitness.copy()
        self.genomes[worst], self.fitness[worst] = genomes[elite], fitness[elite]

    def _hall_of_fame_rows(self, scores: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Rows of this generation that may enter the hall of fame."""
        hof = self.hall_of_fame
        k = min(hof.maxsize, int(valid.sum()))
        # Only the generation's top k can enter a hall of fame of size k.
        top = _top_rows(scores, k)
        if len(hof) >= hof.maxsize:
            # DEAP's rule: a full hall of fame admits only fitness above its last member's.
            top = top[scores[top] > hof[-1].fitness.wvalues[0]]
        return top

    def scores(self, fitness: np.ndarray | None = None) -> np.ndarray:
        """One number per row, higher is better, failed rows at -inf."""
        fitness = self.fitness if fitness is None else fitness
        score = fitness[:, 0] * self.weights[0]
        return np.where(np.isfinite(score), score, -np.inf)

    def vary(self, genomes: np.ndarray, fitness: np.ndarray, *, crossover: bool = True,
             mutation: bool = True) -> Offspring:
        """Crossover on pairs, then mutation, with the settings' probabilities (DEAP varAnd)."""
        changed = np.zeros(len(genomes), dtype=bool)
        if crossover:
            self.variation.mate(genomes, changed, self.settings.crossover_probability)
        if mutation:
            self.variation.mutate(genomes, changed, self.settings.mutation_probability)
        genomes = self.variation.bound(genomes)
        fitness[changed] = np.nan
        return Offspring(genomes, fitness, changed)

    @property
    def best(self) -> tuple[np.ndarray, np.ndarray]:
        """Best genome and its fitness over the whole run (from the hall of fame)."""
        if not len(self.hall_of_fame):
            raise RuntimeError("no valid individual has been evaluated yet")
        top = self.hall_of_fame[0]
        return np.asarray(top, dtype=self.problem.genome.dtype), np.array(top.fitness.values)

    def _individuals(self, rows: np.ndarray) -> list:
        """Rows as DEAP individuals, for the hall of fame (GP overrides: its rows are trees)."""
        return to_individuals(self.genomes[rows], self.fitness[rows], self.weights)

    def _record(self, nevals: int, failed: int) -> None:
        valid = np.isfinite(self.fitness).all(axis=1)
        scores = self.scores()
        top = self._hall_of_fame_rows(scores, valid)
        if len(top):
            self.hall_of_fame.update(self._individuals(top))
        generation_best = scores[valid].max() if valid.any() else -np.inf
        if generation_best > self._best_score:
            self._best_score, self._stalled = generation_best, 0
        else:
            self._stalled += 1
        record = self.statistics.compile([self.fitness[valid]])
        best = self.best[1].tolist() if len(self.hall_of_fame) else [float("nan")]
        self.logbook.record(gen=self.generation, nevals=nevals, failed=failed,
                            best=best[0] if len(best) == 1 else best, **record)

    # --- checkpoint state (evoengine.checkpoint writes it as JSON and .npz) ---------------
    def export_state(self) -> tuple[dict[str, object], dict[str, np.ndarray]]:
        """The full state between two generations: JSON-ready values and named arrays.

        Everything later generations depend on is here, the random generator's state
        included, so a restored run goes on exactly as the original would have. A subclass
        with more state extends both parts (``values, arrays = super().export_state()``) and
        reads them back in :meth:`restore_state`.
        """
        if self._pending is not None or self.genomes is None:
            raise RuntimeError("export_state() needs an evaluated population and no pending ask()")
        hof = list(self.hall_of_fame)
        values = {
            "algorithm": self.name,
            "generation": self.generation,
            "evaluations": self.evaluations,
            "failures": self.failures,
            "rng": self.rng.bit_generator.state,
            "logbook": _logbook_state(self.logbook),
            # Stop criteria: max_seconds counts the time run before the checkpoint too.
            "best_score": float(self._best_score),
            "stalled": self._stalled,
            "elapsed_s": 0.0 if self._started is None else time.perf_counter() - self._started,
        }
        arrays = {
            "genomes": self.genomes,
            "fitness": self.fitness,
            "hall_of_fame_genomes": np.asarray(hof, dtype=self.genomes.dtype).reshape(
                len(hof), *self.genomes.shape[1:]),
            "hall_of_fame_fitness": np.array([ind.fitness.values for ind in hof],
                                             dtype=float).reshape(len(hof), len(self.weights)),
        }
        own_values, own_arrays = self._export()
        values.update(own_values)
        arrays.update(own_arrays)
        return values, arrays

    def restore_state(self, values: dict[str, object], arrays: dict[str, np.ndarray]) -> None:
        """Put back a state :meth:`export_state` returned (on an optimizer built from the same
        problem and settings)."""
        if values["algorithm"] != self.name:
            raise ValueError(f"state of algorithm {values['algorithm']!r}, not {self.name!r}")
        self.genomes = np.array(arrays["genomes"], dtype=self.problem.genome.dtype)
        self.fitness = np.array(arrays["fitness"], dtype=float)
        self.generation = int(values["generation"])
        self.evaluations = int(values["evaluations"])
        self.failures = int(values["failures"])
        self.rng.bit_generator.state = values["rng"]  # in place: Variation shares this generator
        self.logbook = _restored_logbook(values["logbook"])
        self._best_score = float(values["best_score"])
        self._stalled = int(values["stalled"])
        self._started = time.perf_counter() - float(values["elapsed_s"])
        items = to_individuals(arrays["hall_of_fame_genomes"], arrays["hall_of_fame_fitness"],
                               self.weights)
        self.hall_of_fame.clear()
        # DEAP keeps items best first and their fitness keys in ascending order.
        self.hall_of_fame.items = items
        self.hall_of_fame.keys = [ind.fitness for ind in reversed(items)]
        self._restore(values, arrays)
        self._pending = None

    def cancel_ask(self, rng_state: dict[str, object]) -> None:
        """Forget the last :meth:`ask` and put the generator back to ``rng_state`` (taken just
        before it): the state is again the one after the last :meth:`tell`, ready to export."""
        self._pending = None
        self.rng.bit_generator.state = rng_state


def _logbook_state(logbook: tools.Logbook) -> dict[str, object]:
    return {"header": None if logbook.header is None else list(logbook.header),
            "records": [dict(record) for record in logbook],
            "chapters": {name: _logbook_state(ch) for name, ch in logbook.chapters.items()}}


def _restored_logbook(state: dict) -> tools.Logbook:
    logbook = tools.Logbook()
    logbook.header = state["header"]
    logbook.extend(dict(record) for record in state["records"])
    for name, chapter in state.get("chapters", {}).items():
        logbook.chapters[name] = _restored_logbook(chapter)
    return logbook
