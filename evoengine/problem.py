"""The problem protocol: what a plugin hands the engine.

A problem declares its genome (kind, length, bounds), its objectives (each maximized or
minimized) and the algorithm settings that suit it, and evaluates a whole population at once:
``evaluate(genomes, context) -> fitness`` with genomes ``N x D`` and fitness ``N x M`` (or an
:class:`~evoengine.context.Evaluation`: fitness and per-row information). ``evaluate`` is a
pure function of the genomes and the :class:`~evoengine.context.EvaluationContext`; a problem
object holds configuration, never run state. A one-argument ``evaluate(genomes)`` still works:
the engine reads the signature once.

A problem that can only score one individual at a time implements ``evaluate_one`` instead; the
default ``evaluate`` calls it row by row, so the engine always sees a batched problem. A problem
whose scores depend on the whole population (a tournament among members) splits its work into
independent tasks (:meth:`Problem.tasks`, :meth:`Problem.run_task`, :meth:`Problem.combine`),
which every backend distributes without splitting one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
import inspect
from functools import cache
from typing import Any, Literal

import numpy as np

from evoengine.context import Evaluation, EvaluationContext, Summary
from evoengine.errors import ConfigError
from evoengine.limits import check_memory

GenomeKind = Literal["real", "integer", "categorical", "binary", "permutation", "tree"]
GENOME_KINDS: tuple[str, ...] = ("real", "integer", "categorical", "binary", "permutation",
                                 "tree")
Sense = Literal["maximize", "minimize"]
SENSES: tuple[str, ...] = ("maximize", "minimize")


@dataclass(frozen=True)
class Genome:
    """Shape and domain of one individual.

    ``low`` and ``high`` are scalars (the same for every gene) or one value per gene; infinite
    bounds mean unbounded. Integer genes are ordered (3 lies between 2 and 4); categorical genes
    are not: each is one of ``symbols`` (the same set for every gene), stored as its index
    ``0 .. len(symbols)-1``, and only ever replaced by another symbol, never stepped. Binary
    genomes are bounded to {0, 1}; a permutation of ``length`` holds each of ``0 .. length-1``
    once.
    """

    kind: GenomeKind
    length: int
    low: float | Sequence[float] = -np.inf
    high: float | Sequence[float] = np.inf
    symbols: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in GENOME_KINDS:
            raise ConfigError(f"genome kind {self.kind!r} is not one of {', '.join(GENOME_KINDS)}")
        if int(self.length) < 1:
            raise ConfigError(f"genome length must be at least 1, got {self.length}")
        # Its bounds and the smallest population (two rows) are allocated from here on.
        check_memory(f"a genome of {self.length} genes", 4 * 8 * int(self.length))
        object.__setattr__(self, "symbols", tuple(str(s) for s in self.symbols))
        if self.kind == "categorical":
            if len(self.symbols) < 2 or len(set(self.symbols)) != len(self.symbols):
                raise ConfigError("a categorical genome needs at least two distinct symbols, "
                                  f"got {list(self.symbols)}")
        elif self.symbols:
            raise ConfigError(f"symbols apply to categorical genomes, not {self.kind} ones")
        low, high = self.lower, self.upper
        bad = np.flatnonzero(low > high)
        if bad.size:
            i = int(bad[0])
            raise ConfigError(f"bounds: low {low[i]} > high {high[i]} for gene {i + 1}")

    @property
    def lower(self) -> np.ndarray:
        """Lower bound per gene, shape ``(length,)``."""
        if self.kind in ("binary", "categorical", "permutation"):
            return np.zeros(self.length)
        return np.broadcast_to(np.asarray(self.low, dtype=float), (self.length,)).copy()

    @property
    def upper(self) -> np.ndarray:
        """Upper bound per gene, shape ``(length,)``."""
        if self.kind == "binary":
            return np.ones(self.length)
        if self.kind == "categorical":
            return np.full(self.length, len(self.symbols) - 1.0)
        if self.kind == "permutation":
            return np.full(self.length, self.length - 1.0)
        return np.broadcast_to(np.asarray(self.high, dtype=float), (self.length,)).copy()

    @property
    def bounded(self) -> bool:
        return bool(np.all(np.isfinite(self.lower)) and np.all(np.isfinite(self.upper)))

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float64) if self.kind == "real" else np.dtype(np.int64)


@dataclass(frozen=True)
class Objective:
    """One objective: its name (a logbook column) and whether bigger is better."""

    name: str = "fitness"
    sense: Sense = "maximize"

    def __post_init__(self) -> None:
        if self.sense not in SENSES:
            raise ConfigError(f"objective sense {self.sense!r} is not one of {', '.join(SENSES)}")

    @property
    def weight(self) -> float:
        """DEAP's convention: +1 to maximize, -1 to minimize."""
        return 1.0 if self.sense == "maximize" else -1.0


@dataclass
class Problem:
    """Base class of every problem. Subclasses set the fields and override one evaluate method.

    ``defaults`` are algorithm settings (see :class:`evoengine.config.AlgorithmSettings`) that
    suit this problem; the user's settings override them. ``notes`` are shown to the user at the
    start of a run (for example, that the objective is unbounded).
    """

    genome: Genome
    objectives: tuple[Objective, ...] = (Objective(),)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def weights(self) -> np.ndarray:
        """+1 or -1 per objective."""
        return np.array([o.weight for o in self.objectives])

    def evaluate(self, genomes: np.ndarray,
                 context: EvaluationContext | None = None) -> np.ndarray | Evaluation:
        """Fitness of every row of ``genomes`` (``N x D``), as an ``N x M`` array or an
        :class:`~evoengine.context.Evaluation` (fitness and one info dict per row).

        NaN or infinite values mark an individual whose evaluation failed: it ranks below every
        valid one and is never reported as the best. Anything random comes from ``context``
        (``context.row_rng(i)``, ``context.rng(key)``), so the result is the same on every
        backend and after a resume.
        """
        rows = [np.atleast_1d(np.asarray(self.evaluate_one(g), dtype=float)) for g in genomes]
        return np.array(rows, dtype=float).reshape(len(genomes), len(self.objectives))

    def evaluate_one(self, genome: np.ndarray) -> float | Sequence[float]:
        """Fitness of one individual; override this or :meth:`evaluate`."""
        raise NotImplementedError(
            f"{type(self).__name__} must override evaluate(genomes, context) or "
            "evaluate_one(genome)"
        )

    # --- population-level evaluation ----------------------------------------------------------
    def tasks(self, genomes: np.ndarray, context: EvaluationContext) -> list | None:
        """Independent pieces of work for a batch whose scores depend on the whole population
        (games between members, pairs). None (the default): rows are independent and the
        backend may split the batch as it likes. A list: the backend runs
        :meth:`run_task` on each (in any process, never splitting one) and the driver calls
        :meth:`combine` with the results in the list's order."""
        return None

    def run_task(self, task: Any, context: EvaluationContext) -> Any:
        """Do one task :meth:`tasks` returned; ``context`` is the whole batch's."""
        raise NotImplementedError(f"{type(self).__name__}.tasks returned tasks, so it must "
                                  "implement run_task and combine")

    def combine(self, genomes: np.ndarray, context: EvaluationContext,
                results: list) -> np.ndarray | Evaluation:
        """The batch's fitness (or :class:`~evoengine.context.Evaluation`) from every task's
        result, in the order :meth:`tasks` gave them."""
        raise NotImplementedError(f"{type(self).__name__}.tasks returned tasks, so it must "
                                  "implement run_task and combine")

    def summarize(self, genomes: np.ndarray, evaluation: Evaluation,
                  context: EvaluationContext) -> Summary:
        """What to record of one generation (curves, pictures, tables), computed in the
        driver from the rows evaluated this generation. A pure function like ``evaluate``:
        the engine's :class:`~evoengine.records.Recorder` keeps the histories, writes them
        to the run folder and into checkpoints. The default records nothing."""
        return Summary()

    def initial_population(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """A random population, uniform in the genome's bounds (override for custom starts)."""
        g = self.genome
        if g.kind == "real":
            if not g.bounded:
                raise ConfigError(
                    "the genome has no finite bounds, so a problem must override "
                    "initial_population or set bounds"
                )
            return rng.uniform(g.lower, g.upper, size=(size, g.length))
        if g.kind == "integer":
            return rng.integers(g.lower.astype(np.int64), g.upper.astype(np.int64) + 1,
                                size=(size, g.length))
        if g.kind == "binary":
            return rng.integers(0, 2, size=(size, g.length))
        if g.kind == "categorical":
            return rng.integers(0, len(g.symbols), size=(size, g.length))
        if g.kind == "permutation":
            return np.argsort(rng.random((size, g.length)), axis=1)
        raise ConfigError(f"genome kind {g.kind!r} needs a problem-specific initial_population")

    def own_optimizer(self, settings: Any, toolbox: Any = None) -> Any:
        """An ask/tell optimizer (an :class:`evoengine.algorithms.Evolution`) for a problem that
        brings its own algorithm, such as a published method reproduced as written. The
        default, ``None``, uses the algorithm that ``settings.algorithm`` names."""
        return None

    def describe(self, genome: np.ndarray, info: dict[str, Any] | None = None) -> dict[str, Any]:
        """A readable form of one solution for ``best.json`` (override to name the genes);
        ``info`` is what its evaluation returned for it, if anything."""
        genes = np.asarray(genome).tolist()
        out: dict[str, Any] = {"genes": genes}
        if self.genome.kind == "categorical":
            out["symbols"] = [self.genome.symbols[g] for g in genes]
        if info:
            out["info"] = info
        return out


@cache
def _takes_context(evaluate) -> bool:
    try:
        parameters = list(inspect.signature(evaluate).parameters.values())
    except (TypeError, ValueError):  # a builtin or a C callable: assume the current form
        return True
    # parameters[0] is self: (self, genomes, context) takes the context
    positional = [p for p in parameters[1:] if p.kind in (p.POSITIONAL_ONLY,
                                                          p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in parameters)


def takes_context(problem: Problem) -> bool:
    """Whether ``problem.evaluate`` takes the context (read once per class)."""
    evaluate = getattr(type(problem), "evaluate", None)
    if evaluate is None:  # an instance attribute, not a method
        return _takes_context_instance(problem.evaluate)
    return _takes_context(evaluate)


def _takes_context_instance(func) -> bool:
    try:
        parameters = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return True
    return len(parameters) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in parameters)


def describe_solution(problem: Problem, genome: Any, info: dict[str, Any] | None) -> dict:
    """``problem.describe(genome, info)``, or ``describe(genome)`` for a problem written
    before evaluations returned information."""
    if _describe_takes_info(type(problem).describe):
        return problem.describe(genome, info)
    return problem.describe(genome)


@cache
def _describe_takes_info(describe) -> bool:
    try:
        return len(inspect.signature(describe).parameters) >= 3
    except (TypeError, ValueError):
        return False


def as_evaluation(problem: Problem, result: Any, n: int) -> Evaluation:
    """What ``evaluate`` or ``combine`` returned, checked: an :class:`Evaluation` with an
    ``N x M`` float fitness and, when given, ``N`` info dicts, so a plugin bug is caught
    here."""
    evaluation = result if isinstance(result, Evaluation) else Evaluation(result)
    fitness = np.asarray(evaluation.fitness, dtype=float)
    m = len(problem.objectives)
    if fitness.ndim == 1 and m == 1:
        fitness = fitness.reshape(-1, 1)
    if fitness.shape != (n, m):
        raise ValueError(
            f"{type(problem).__name__}.evaluate returned shape {fitness.shape}, expected {(n, m)}"
        )
    info = evaluation.info
    if info is not None:
        info = list(info)
        if len(info) != n or not all(isinstance(row, dict) for row in info):
            raise ValueError(f"{type(problem).__name__}.evaluate returned info that is not one "
                             f"dict per row ({n} rows)")
    return Evaluation(fitness, info)


def evaluate_population(problem: Problem, genomes: np.ndarray,
                        context: EvaluationContext | None = None) -> Evaluation:
    """Call ``problem.evaluate`` (with the context when it takes one) and check what comes
    back. Without a context, one for a standalone batch is made."""
    if context is None:
        context = EvaluationContext.standalone(len(genomes))
    if takes_context(problem):
        result = problem.evaluate(genomes, context)
    else:
        result = problem.evaluate(genomes)
    return as_evaluation(problem, result, len(genomes))
