"""The ``ray`` backend: evaluate on a Ray cluster, or on a local Ray started for the run.

Ray is an optional extra (``pip install 'evoengine[ray]'``) imported only when this backend is
chosen. With ``ray_address`` unset a local Ray is started (and stopped at the end); ``"auto"``
or ``"ray://host:port"`` connects to a running cluster. A Ray that is already initialized in
this process is used as it is. The problem is put in the object store once; each task
evaluates ``batch_size`` rows, so Ray's per-task overhead is shared by the rows, and asks for
``eval_cpus`` and ``eval_gpus`` (``eval_gpus = 1`` places one task per GPU). Ray retries a task
whose worker died ``max_retries`` times; a task that still fails, or runs past its deadline
(``eval_timeout`` per row, counted from submission; at most one task per slot is in flight),
is retried one row at a time, and a row that fails alone is marked failed. A problem's own
tasks (:meth:`~evoengine.Problem.tasks`) run whole, one Ray task each.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from evoengine.backends.base import (
    Backend,
    BackendError,
    Failure,
    Outcome,
    TaskResult,
    evaluate_guarded,
    merged_info,
    run_task_guarded,
    split_rows,
)
from evoengine.context import EvaluationContext
from evoengine.problem import Problem

INSTALL_HINT = "backend 'ray' needs Ray, which is not installed: pip install 'evoengine[ray]'"


# A local Ray started by evoengine is a single-node cluster: keep it on loopback. Without this,
# Ray turns 127.0.0.1 into the host's network address and listens on every interface. Read by
# Ray when it is imported, so it is set before the first import (a user's value wins).
LOCAL_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def import_ray(*, local: bool = False):
    """The ``ray`` module, or a :class:`BackendError` with the install hint. ``local``: Ray
    will be started here, for this run only, so it binds to loopback."""
    if local and "ray" not in sys.modules:
        os.environ.setdefault(LOCAL_ONLY_ENV, "0")
    try:
        import ray
    except ImportError:
        raise BackendError(INSTALL_HINT) from None
    return ray


def _evaluate_task(problem: Problem, genomes: np.ndarray, context: EvaluationContext):
    outcome = evaluate_guarded(problem, genomes, context)
    return outcome.fitness, outcome.failures, outcome.info


def _problem_task(problem: Problem, task: Any, context: EvaluationContext) -> TaskResult:
    return run_task_guarded(problem, task, context)


class RayBackend(Backend):
    """Evaluates tasks of rows as Ray tasks with the given resources."""

    name = "ray"

    def __init__(self, problem: Problem, *, address: str | None = None,
                 workers: int | None = None, batch_size: int | None = None,
                 eval_cpus: float = 1.0, eval_gpus: float = 0.0,
                 eval_timeout: float | None = None, max_retries: int = 2) -> None:
        ray = self.ray = import_ray(local=not address)
        self._started_ray = False
        if not ray.is_initialized():
            options = {"include_dashboard": False, "log_to_driver": False}
            if address:
                ray.init(address=address, **options)
            else:
                # A local Ray's workers import the problem's module the way this process does.
                path = os.pathsep.join(p for p in sys.path if p)
                ray.init(num_cpus=workers, runtime_env={"env_vars": {"PYTHONPATH": path}},
                         **options)
            self._started_ray = True
        self.problem = problem  # the driver's copy: tasks() and combine() run here
        self.n_objectives = len(problem.objectives)
        self.batch_size = batch_size
        self.eval_timeout = eval_timeout
        # The cluster's size, not what is free right now: tasks of other runs come and go.
        total = ray.cluster_resources()
        slots = int(total.get("CPU", 1.0) // eval_cpus)
        if eval_gpus:
            slots = min(slots, int(total.get("GPU", 0) // eval_gpus))
        if slots < 1:
            raise BackendError(f"backend 'ray': the cluster has no room for one task of "
                               f"eval_cpus={eval_cpus:g}, eval_gpus={eval_gpus:g} "
                               f"(it has {total.get('CPU', 0):g} CPUs, "
                               f"{total.get('GPU', 0):g} GPUs)")
        self.slots = min(slots, workers) if workers else slots
        self._problem = ray.put(problem)
        self._task = ray.remote(_evaluate_task).options(
            num_cpus=eval_cpus, num_gpus=eval_gpus, max_retries=max_retries)
        self._problem_task = ray.remote(_problem_task).options(
            num_cpus=eval_cpus, num_gpus=eval_gpus, max_retries=max_retries)

    def close(self) -> None:
        if self._started_ray and self.ray.is_initialized():
            self.ray.shutdown()
        self._started_ray = False

    def _evaluate_rows(self, genomes: np.ndarray, context: EvaluationContext) -> Outcome:
        if isinstance(genomes, np.ndarray):  # GP trees (evoengine.gp.Trees) go as they are
            genomes = np.ascontiguousarray(genomes)
        fitness = np.full((len(genomes), self.n_objectives), np.nan)
        failures: dict[int, Failure] = {}
        info: list[dict | None] = [None] * len(genomes)

        def submit(rows: np.ndarray):
            return self._task.remote(self._problem, genomes[rows], context.take(rows))

        def done(rows: np.ndarray, result) -> None:
            values, task_failures, task_info = result
            fitness[rows] = values
            for k, failure in task_failures.items():
                failures[int(rows[k])] = failure
            if task_info is not None:
                for k, row in enumerate(rows):
                    info[int(row)] = task_info[k]

        def failed(rows: np.ndarray, failure: Failure, queue: list) -> None:
            if len(rows) > 1:
                queue.extend(rows[k:k + 1] for k in reversed(range(len(rows))))
            else:
                failures[int(rows[0])] = failure

        queue = list(reversed(split_rows(len(genomes), self.batch_size, self.slots)))
        self._schedule(queue, submit, len, done, failed)
        return Outcome(fitness, failures, merged_info(info))

    def _run_tasks(self, tasks: list, context: EvaluationContext) -> list[TaskResult]:
        results = [TaskResult() for _ in tasks]

        def submit(k: int):
            return self._problem_task.remote(self._problem, tasks[k], context)

        def done(k: int, result: TaskResult) -> None:
            results[k] = result

        def failed(k: int, failure: Failure, queue: list) -> None:
            results[k] = TaskResult(failure=Failure(failure.kind,
                                                    f"task {k}: {failure.message}"))

        self._schedule(list(reversed(range(len(tasks)))), submit, lambda k: 1, done, failed)
        return results

    def _schedule(self, queue: list, submit: Callable, size: Callable[[Any], int],
                  done: Callable, failed: Callable) -> None:
        """Run the queued work (taken from the end) with at most ``slots`` Ray tasks in
        flight; Ray retries a task whose worker died, a deadline cancels one that runs late."""
        ray = self.ray
        running: dict = {}  # ObjectRef -> (work, deadline)
        while queue or running:
            while queue and len(running) < self.slots:
                work = queue.pop()
                deadline = (None if self.eval_timeout is None
                            else time.monotonic() + self.eval_timeout * size(work))
                running[submit(work)] = (work, deadline)
            deadlines = [d for _, d in running.values() if d is not None]
            timeout = None if not deadlines else max(0.0, min(deadlines) - time.monotonic())
            ready, _ = ray.wait(list(running), num_returns=1, timeout=timeout)
            for ref in ready:
                work, _ = running.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayError as exc:  # the worker died on every try
                    failed(work, Failure("crashed", f"Ray task failed: {type(exc).__name__}: "
                                                    f"{str(exc).splitlines()[0]}"), queue)
                    continue
                done(work, result)
            now = time.monotonic()
            for ref, (work, deadline) in list(running.items()):
                if deadline is not None and now >= deadline:
                    ray.cancel(ref, force=True)
                    del running[ref]
                    failed(work, Failure("timeout", f"evaluation took longer than "
                                                    f"eval_timeout={self.eval_timeout:g} s"),
                           queue)
