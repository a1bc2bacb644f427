"""What every evaluation backend shares: the interface, guarded evaluation and the fault policy.

A backend is a callable that evaluates a batch, like pymoo's runner:
``backend(genomes, context)`` returns an :class:`Outcome`, the ``N x M`` fitness (failed rows
NaN), why each failed row failed, and the per-row information the problem returned. Each piece
of work gets its slice of the :class:`~evoengine.context.EvaluationContext` (``context.take``),
so a row's result never depends on how the batch was split. Backends never touch the run's
random generator, so the same seed gives the same run on every backend.

A problem whose :meth:`~evoengine.Problem.tasks` returns a list is not split by rows: the
backend runs each task whole (``run_task``), anywhere, and the driver reduces the results
(``combine``). A task that fails fails the whole batch (its rows cannot be told apart).

A failure is one of three kinds:

- ``raised``: the fitness function raised; the run's ``on_error`` policy decides (stop, or mark
  the individual failed and go on);
- ``crashed``: the worker process died (segfault, ``os._exit``, OOM kill) on every try;
- ``timeout``: the evaluation ran past ``eval_timeout``.

Crashed and timed-out individuals are always marked failed and the run goes on. Failed rows are
NaN, which the algorithms rank below every valid individual and the logbook counts as failed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from evoengine.context import EvaluationContext
from evoengine.errors import EvoengineError
from evoengine.problem import Problem, as_evaluation, evaluate_population

log = logging.getLogger("evoengine")

FailureKind = Literal["raised", "crashed", "timeout"]


class EvaluationError(EvoengineError):
    """A fitness function raised and the policy is ``on_error = "stop"``."""


class BackendError(EvoengineError):
    """A backend could not start (missing package, problem that cannot reach its workers)."""


@dataclass(frozen=True)
class Failure:
    """Why one individual has no fitness."""

    kind: FailureKind
    message: str


@dataclass
class Outcome:
    """Fitness of a batch (``N x M``, NaN where failed), the failures by row, and the
    problem's information per row (None when it returned none)."""

    fitness: np.ndarray
    failures: dict[int, Failure] = field(default_factory=dict)
    info: list[dict[str, Any]] | None = None


@dataclass
class TaskResult:
    """What one problem task gave: its result, or why it failed."""

    value: Any = None
    failure: Failure | None = None


class Backend:
    """Evaluates batches of genomes; use as a context manager so workers are released.

    A backend implements :meth:`_evaluate_rows` (a batch of independent rows) and
    :meth:`_run_tasks` (a problem's tasks, each whole); :meth:`__call__` chooses between them.
    """

    name = "base"
    problem: Problem

    def __call__(self, genomes: np.ndarray,
                 context: EvaluationContext | None = None) -> Outcome:
        if context is None:
            context = EvaluationContext.standalone(len(genomes))
        n = len(genomes)
        try:
            tasks = self.problem.tasks(genomes, context)
        except Exception as exc:
            return _all_failed(self.problem, n, Failure("raised", _message(exc)))
        if tasks is None:
            return self._evaluate_rows(genomes, context)
        results = self._run_tasks(list(tasks), context)
        failed = [r.failure for r in results if r.failure is not None]
        if failed:
            return _all_failed(self.problem, n, failed[0])
        try:
            evaluation = as_evaluation(self.problem, self.problem.combine(
                genomes, context, [r.value for r in results]), n)
        except Exception as exc:
            return _all_failed(self.problem, n, Failure("raised", _message(exc)))
        return Outcome(evaluation.fitness, {}, evaluation.info)

    def _evaluate_rows(self, genomes: np.ndarray, context: EvaluationContext) -> Outcome:
        raise NotImplementedError

    def _run_tasks(self, tasks: list, context: EvaluationContext) -> list[TaskResult]:
        raise NotImplementedError

    def close(self) -> None:
        """Release workers; the backend cannot be called afterwards."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _message(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _all_failed(problem: Problem, n: int, failure: Failure) -> Outcome:
    fitness = np.full((n, len(problem.objectives)), np.nan)
    return Outcome(fitness, dict.fromkeys(range(n), failure))


def evaluate_guarded(problem: Problem, genomes: np.ndarray,
                     context: EvaluationContext | None = None) -> Outcome:
    """Evaluate the batch; if it raises, evaluate row by row to find the individuals at fault.

    A batched fitness that raises does not say which individual caused it, so the batch is
    retried one row at a time (each with its own slice of the context, so a row scores as it
    would have in the batch): valid rows keep their fitness, the others are ``raised``.
    """
    if context is None:
        context = EvaluationContext.standalone(len(genomes))
    try:
        evaluation = evaluate_population(problem, genomes, context)
        return Outcome(evaluation.fitness, {}, evaluation.info)
    except Exception:
        pass
    fitness = np.full((len(genomes), len(problem.objectives)), np.nan)
    failures: dict[int, Failure] = {}
    info: list[dict | None] = [None] * len(genomes)
    for i in range(len(genomes)):
        try:
            evaluation = evaluate_population(problem, genomes[i:i + 1], context.take([i]))
        except Exception as exc:  # the fitness function's own error, reported by the policy
            failures[i] = Failure("raised", _message(exc))
            continue
        fitness[i] = evaluation.fitness[0]
        if evaluation.info is not None:
            info[i] = evaluation.info[0]
    return Outcome(fitness, failures, merged_info(info))


def run_task_guarded(problem: Problem, task: Any, context: EvaluationContext) -> TaskResult:
    """One problem task; an exception becomes a ``raised`` failure."""
    try:
        return TaskResult(problem.run_task(task, context))
    except Exception as exc:
        return TaskResult(failure=Failure("raised", _message(exc)))


def merged_info(info: list[dict | None]) -> list[dict] | None:
    """Per-row info gathered from pieces: None when no piece returned any, else ``{}`` for
    the rows without."""
    if all(row is None for row in info):
        return None
    return [{} if row is None else row for row in info]


def split_rows(n: int, batch_size: int | None, workers: int) -> list[np.ndarray]:
    """Row indices of each task: ``batch_size`` rows, or about four tasks per worker so a slow
    task does not leave the other workers idle."""
    if n == 0:
        return []
    size = batch_size or max(1, -(-n // (4 * workers)))
    return [np.arange(start, min(start + size, n)) for start in range(0, n, size)]


def _genome_text(genome: np.ndarray, limit: int = 8) -> str:
    if not isinstance(genome, np.ndarray) or genome.dtype.names is not None:
        # Not a vector of numbers: GP trees read best as their formula.
        to_infix = getattr(genome, "to_infix", None)
        text = to_infix(0) if to_infix is not None else repr(genome)
        return text if len(text) <= 120 else text[:117] + "..."
    values = ", ".join(f"{v:.6g}" for v in genome.astype(float)[:limit])
    return f"[{values}{', ...' if len(genome) > limit else ''}]"


def settle(outcome: Outcome, genomes: np.ndarray, *, on_error: str, problem_name: str,
           generation: int) -> np.ndarray:
    """Apply the fault policy and return the fitness to tell the algorithm (failed rows NaN).

    :raises EvaluationError: a fitness raised and ``on_error`` is ``"stop"``; the message names
        the problem, the individual and the original error.
    """
    raised = {row: f for row, f in outcome.failures.items() if f.kind == "raised"}
    if raised and on_error == "stop":
        row = min(raised)
        raise EvaluationError(
            f"problem {problem_name!r}: the fitness of individual {row} of generation "
            f"{generation} (genome {_genome_text(genomes[row])}) raised {raised[row].message}; "
            f"{len(raised)} of {len(genomes)} individuals failed. Fix the fitness function, or "
            "set on_error=\"mark_failed\" to record such individuals as failed and go on")
    for row, failure in sorted(outcome.failures.items()):
        if failure.kind != "raised":
            log.warning("problem %r, generation %d: individual %d marked failed: %s",
                        problem_name, generation, row, failure.message)
    return outcome.fitness
