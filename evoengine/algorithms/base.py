"""The ask/tell core every algorithm shares.

``ask()`` returns the genomes that need a fitness; ``tell(fitness)`` takes it back. The public
methods are final (a subclass that overrides one is refused when it is defined): they do the
bookkeeping (generation count, evaluations, failed evaluations, DEAP statistics, logbook, hall
of fame, stop criteria, the best rows' evaluation info) and hold the whole state. An algorithm
fills in private steps:

- ``_offspring()`` (required) and ``_replace(offspring)`` (required): one generation;
- ``_initial()``: the first population (default: the problem's ``initial_population``);
- ``_refine(pending)``: change the rows about to be asked for (GP's constant fitting);
- ``_told()`` and ``_logbook_extra()``: after each generation, more bookkeeping and columns;
- ``_export()`` / ``_restore(values, arrays)``: the algorithm's own extra state;
- ``_pack``/``_unpack``/``_stack``/``_rows_as_individuals``/``_genome_of``: for genomes that
  are not one array row each (GP's trees).

The population is two arrays: ``genomes`` (``N x D``) and ``fitness`` (``N x M``, raw objective
values). Selection works on ``scores``: the fitness times the objective's weight (+1 maximize,
-1 minimize), with failed rows (NaN or inf) at ``-inf``, so they are never chosen as best.
"""

from __future__ import annotations

import operator
import secrets
import time
from dataclasses import dataclass
from typing import Any, final

import numpy as np
from deap import tools

from evoengine.algorithms.variation import Variation, resolve_operators
from evoengine.config import AlgorithmSettings
from evoengine.context import Evaluation
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


_FINAL = ("ask", "tell", "stop", "export_state", "restore_state", "cancel_ask")


class Evolution:
    """Base of the ask/tell algorithms. Use through a subclass, or :func:`evoengine.optimize`."""

    name = "base"
    multi_objective = False  # True where the algorithm handles several objectives
    elitism_in_offspring = False  # True where _offspring keeps settings.elitism rows itself

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        overridden = [m for m in _FINAL if m in cls.__dict__]
        if overridden:
            raise TypeError(f"{cls.__name__} overrides {', '.join(overridden)}: the public "
                            "ask/tell methods are final; fill in the private steps "
                            "(_initial, _offspring, _replace, _export, _restore) instead")

    def __init__(self, problem: Problem, settings: AlgorithmSettings, *, toolbox=None) -> None:
        if len(problem.objectives) != 1 and not self.multi_objective:
            raise ConfigError(
                f"algorithm {settings.algorithm!r} optimizes one objective; this problem has "
                f"{len(problem.objectives)}"
            )
        self.problem = problem
        # The operators in force for this genome kind and the values derived from them.
        self.settings = settings = resolve_operators(settings, problem.genome)
        # The run's seed: the settings', or one drawn now and kept in the state, since every
        # evaluation context derives its generators from it.
        self.seed = settings.seed if settings.seed is not None else secrets.randbits(32)
        self.rng = np.random.default_rng(self.seed)
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
        self._info: dict[bytes, dict] = {}  # evaluation info of the hall of fame's members

    # --- public ask/tell (final) -----------------------------------------------------------
    @final
    def ask(self) -> np.ndarray:
        """The genomes whose fitness :meth:`tell` expects next (a copy the caller may keep)."""
        if self._pending is not None:
            raise RuntimeError("ask() called twice without tell()")
        if self._started is None:
            self._started = time.perf_counter()
        self._pending = self._initial() if self.genomes is None else self._offspring()
        self._refine(self._pending)
        # Boolean indexing already copies: the caller may keep or change what it gets.
        return self._pending.genomes[self._pending.changed]

    @final
    def tell(self, fitness: np.ndarray | Evaluation,
             info: list[dict[str, Any]] | None = None) -> None:
        """Fitness of the genomes the last :meth:`ask` returned, ``K x M`` (or an
        :class:`~evoengine.context.Evaluation`), and optionally their evaluation info."""
        if isinstance(fitness, Evaluation):
            fitness, info = fitness.fitness, fitness.info if info is None else info
        pending, self._pending = self._pending, None
        if pending is None:
            raise RuntimeError("tell() called without ask()")
        fitness = np.asarray(fitness, dtype=float).reshape(-1, len(self.weights))
        count = int(pending.changed.sum())
        if len(fitness) != count:
            raise ValueError(f"tell() got {len(fitness)} fitness rows for {count} genomes")
        pending.fitness[pending.changed] = fitness
        failed = int((~np.isfinite(fitness)).any(axis=1).sum())
        if info is not None:
            asked = pending.genomes[pending.changed]
            for k, row_info in enumerate(info):
                if row_info and np.isfinite(fitness[k]).all():
                    self._info[self._genome_bytes(asked, k)] = row_info
        if self.genomes is None:
            self.genomes, self.fitness = pending.genomes, pending.fitness
        else:
            previous = self.genomes, self.fitness
            self.genomes, self.fitness = self._replace(pending)
            if self.settings.elitism and not self.elitism_in_offspring:
                self._keep_elite(*previous)
        self.generation += 1
        self.evaluations += count
        self.failures += failed
        self._record(count, failed)
        if self._info:  # keep the info of the hall of fame's members only
            keep = {self._genome_of(ind).tobytes() for ind in self.hall_of_fame}
            self._info = {k: v for k, v in self._info.items() if k in keep}
        self._told()

    @final
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
        """The first population, every row to be evaluated."""
        size = self.settings.population_size
        genomes = np.asarray(self.problem.initial_population(size, self.rng))
        genomes = genomes.astype(self.problem.genome.dtype, copy=False)
        nan = np.full((size, len(self.weights)), np.nan)
        return Offspring(genomes, nan, np.ones(size, dtype=bool))

    def _offspring(self) -> Offspring:
        raise NotImplementedError

    def _replace(self, offspring: Offspring) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _refine(self, pending: Offspring) -> None:
        """Change the rows about to be asked for, in place (default: nothing)."""

    def _told(self) -> None:
        """More bookkeeping after a generation is recorded (default: nothing)."""

    def _logbook_extra(self) -> dict[str, Any]:
        """More logbook columns for the generation just told (default: none)."""
        return {}

    def _export(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The algorithm's own state beyond the base class's: JSON-ready values, arrays."""
        return {}, {}

    def _restore(self, values: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Put back what :meth:`_export` returned."""

    # --- genomes that are not plain array rows (GP overrides these) ----------------------
    def _pack(self, genomes: Any, name: str) -> dict[str, np.ndarray]:
        """A population as named arrays for a checkpoint."""
        return {name: genomes}

    def _unpack(self, arrays: dict[str, np.ndarray], name: str) -> Any:
        return np.array(arrays[name], dtype=self.problem.genome.dtype)

    def _stack(self, individuals: list) -> Any:
        """Hall-of-fame members as one population (for :meth:`_pack`)."""
        return np.asarray(individuals, dtype=self.genomes.dtype).reshape(
            len(individuals), *self.genomes.shape[1:])

    def _rows_as_individuals(self, genomes: Any, fitness: np.ndarray) -> list:
        return to_individuals(genomes, fitness, self.weights)

    def _genome_of(self, individual) -> np.ndarray:
        """A hall-of-fame member as the genome :attr:`best` returns."""
        return np.asarray(individual, dtype=self.problem.genome.dtype)

    def _genome_bytes(self, genomes: Any, row: int) -> bytes:
        """Bytes identifying row ``row`` of ``genomes`` (as ``_genome_of(...).tobytes()``)."""
        return np.ascontiguousarray(genomes[row]).tobytes()

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
        return self._genome_of(top), np.array(top.fitness.values)

    @property
    def best_info(self) -> dict[str, Any] | None:
        """What the evaluation of :attr:`best` returned as info (None if nothing)."""
        if not len(self.hall_of_fame):
            return None
        return self._info.get(self._genome_of(self.hall_of_fame[0]).tobytes())

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
                            best=best[0] if len(best) == 1 else best, **record,
                            **self._logbook_extra())

    # --- checkpoint state (evoengine.checkpoint writes it as JSON and .npz) ---------------
    @final
    def export_state(self) -> tuple[dict[str, object], dict[str, np.ndarray]]:
        """The full state between two generations: JSON-ready values and named arrays.

        Everything later generations depend on is here, the random generator's and the stop
        criteria's state included, so a restored run goes on exactly as the original would
        have. An algorithm adds its own through :meth:`_export`.
        """
        if self._pending is not None or self.genomes is None:
            raise RuntimeError("export_state() needs an evaluated population and no pending ask()")
        hof = list(self.hall_of_fame)
        values = {
            "algorithm": self.name,
            "seed": self.seed,
            "generation": self.generation,
            "evaluations": self.evaluations,
            "failures": self.failures,
            "rng": self.rng.bit_generator.state,
            "logbook": _logbook_state(self.logbook),
            # Stop criteria: max_seconds counts the time run before the checkpoint too.
            "best_score": float(self._best_score),
            "stalled": self._stalled,
            "elapsed_s": 0.0 if self._started is None else time.perf_counter() - self._started,
            "hall_of_fame_size": len(hof),
        }
        if self._info:
            values["hall_of_fame_info"] = [self._info.get(self._genome_of(ind).tobytes())
                                           for ind in hof]
        arrays = {
            **self._pack(self.genomes, "genomes"),
            "fitness": self.fitness,
            "hall_of_fame_fitness": np.array([ind.fitness.values for ind in hof],
                                             dtype=float).reshape(len(hof), len(self.weights)),
        }
        if hof:
            arrays.update(self._pack(self._stack(hof), "hall_of_fame_genomes"))
        extra_values, extra_arrays = self._export()
        clash = (set(extra_values) & set(values)) | (set(extra_arrays) & set(arrays))
        if clash:
            raise RuntimeError(f"{type(self).__name__}._export reuses the names {sorted(clash)}")
        values.update(extra_values)
        arrays.update(extra_arrays)
        return values, arrays

    @final
    def restore_state(self, values: dict[str, object], arrays: dict[str, np.ndarray]) -> None:
        """Put back a state :meth:`export_state` returned (on an optimizer built from the same
        problem and settings)."""
        if values["algorithm"] != self.name:
            raise ValueError(f"state of algorithm {values['algorithm']!r}, not {self.name!r}")
        self.seed = int(values.get("seed", self.seed))
        self.genomes = self._unpack(arrays, "genomes")
        self.fitness = np.array(arrays["fitness"], dtype=float)
        self.generation = int(values["generation"])
        self.evaluations = int(values["evaluations"])
        self.failures = int(values["failures"])
        self.rng.bit_generator.state = values["rng"]  # in place: Variation shares this generator
        self.logbook = _restored_logbook(values["logbook"])
        self._best_score = float(values["best_score"])
        self._stalled = int(values["stalled"])
        self._started = time.perf_counter() - float(values["elapsed_s"])
        hof_fitness = np.asarray(arrays["hall_of_fame_fitness"], dtype=float)
        items = (self._rows_as_individuals(self._unpack(arrays, "hall_of_fame_genomes"),
                                           hof_fitness) if len(hof_fitness) else [])
        self.hall_of_fame.clear()
        # DEAP keeps items best first and their fitness keys in ascending order.
        self.hall_of_fame.items = items
        self.hall_of_fame.keys = [ind.fitness for ind in reversed(items)]
        self._info = {}
        for ind, info in zip(items, values.get("hall_of_fame_info") or [None] * len(items),
                             strict=True):
            if info:
                self._info[self._genome_of(ind).tobytes()] = info
        self._pending = None
        self._restore(values, arrays)

    @final
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
