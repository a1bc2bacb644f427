"""What every evaluation backend shares: the interface, guarded evaluation and the fault policy.

A backend is a callable that evaluates a batch, like pymoo's runner: ``backend(genomes)``
returns an :class:`Outcome`, the ``N x M`` fitness (failed rows NaN) and why each failed row
failed. Backends never touch the run's random generator, so the same seed gives the same run on
every backend. A failure is one of three kinds:

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
from typing import Literal

import numpy as np

from evoengine.errors import EvoengineError
from evoengine.problem import Problem, evaluate_population

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
    """Fitness of a batch (``N x M``, NaN where failed) and the failures by row."""

    fitness: np.ndarray
    failures: dict[int, Failure] = field(default_factory=dict)


class Backend:
    """Evaluates batches of genomes; use as a context manager so workers are released."""

    name = "base"

    def __call__(self, genomes: np.ndarray) -> Outcome:
        raise NotImplementedError

    def close(self) -> None:
        """Release workers; the backend cannot be called afterwards."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def evaluate_guarded(problem: Problem, genomes: np.ndarray) -> Outcome:
    """Evaluate the batch; if it raises, evaluate row by row to find the individuals at fault.

    A batched fitness that raises does not say which individual caused it, so the batch is
    retried one row at a time: valid rows keep their fitness, the others are ``raised``.
    """
    try:
        return Outcome(evaluate_population(problem, genomes))
    except Exception:
        pass
    fitness = np.full((len(genomes), len(problem.objectives)), np.nan)
    failures: dict[int, Failure] = {}
    for i in range(len(genomes)):
        try:
            fitness[i] = evaluate_population(problem, genomes[i:i + 1])[0]
        except Exception as exc:  # the fitness function's own error, reported by the policy
            failures[i] = Failure("raised", f"{type(exc).__name__}: {exc}")
    return Outcome(fitness, failures)


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
    """Apply the fault policy and return the fitness to tell the algorithm.

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
