"""Evaluation backends: where a batch of genomes gets its fitness.

Each backend is a small module behind one interface (:class:`Backend`, a callable that
evaluates a batch): ``serial`` in this process, ``processes`` on a local pool, ``ray`` on a Ray
cluster. :func:`open_backend` builds the one the settings name; Ray is imported only then.
"""

from __future__ import annotations

from evoengine.backends.base import (
    Backend,
    BackendError,
    EvaluationError,
    Failure,
    Outcome,
    evaluate_guarded,
    settle,
)
from evoengine.problem import Problem

BACKENDS = ("serial", "processes", "ray")


def open_backend(problem: Problem, settings) -> Backend:
    """The backend ``settings.backend`` names, configured from the settings."""
    if settings.backend == "serial":
        from evoengine.backends.serial import SerialBackend

        return SerialBackend(problem)
    if settings.backend == "processes":
        from evoengine.backends.processes import ProcessesBackend

        return ProcessesBackend(problem, workers=settings.workers,
                                batch_size=settings.batch_size,
                                eval_timeout=settings.eval_timeout,
                                max_retries=settings.max_retries)
    if settings.backend == "ray":
        from evoengine.backends.ray import RayBackend

        return RayBackend(problem, address=settings.ray_address, workers=settings.workers,
                          batch_size=settings.batch_size, eval_cpus=settings.eval_cpus,
                          eval_gpus=settings.eval_gpus, eval_timeout=settings.eval_timeout,
                          max_retries=settings.max_retries)
    raise BackendError(f"setting 'backend': {settings.backend!r} is not one of "
                       f"{', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Backend", "BackendError", "EvaluationError", "Failure", "Outcome",
           "evaluate_guarded", "open_backend", "settle"]
