"""The ``processes`` backend: a persistent pool of local worker processes.

Workers are started once per run with the ``spawn`` method (safe with threads, Numba and Ray),
receive the pickled problem once, and then evaluate tasks of a few rows each, so Numba compiles
(or loads its cache) once per worker, not once per batch. Each worker has its own pipe, so the
pool always knows which task a worker holds: when a worker dies (segfault, ``os._exit``, OOM
kill) or runs past its deadline, it is killed and replaced by a fresh one and exactly its task
is retried. A failed task of several rows is retried one row at a time, to find the culprit;
a row that crashes its worker more than ``max_retries`` times, or times out, is marked failed.
A problem's own tasks (:meth:`~evoengine.Problem.tasks`) are scheduled the same way, whole:
one that crashes is retried ``max_retries`` times, one that times out (``eval_timeout`` per
task) fails.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import wait
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
from evoengine.backends.orphans import check_worker_count, die_with_parent
from evoengine.context import EvaluationContext
from evoengine.problem import Problem

_SPAWN = mp.get_context("spawn")
_STOP_GRACE_S = 2.0


def _serve(conn, payload: bytes, threads: int) -> None:
    """A worker's life: rebuild the problem, say ready, evaluate tasks until told to stop."""
    die_with_parent()  # kill -9 of the run ends its workers too, even mid-evaluation
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent to handle
    # Workers share the cores: a parallel Numba fitness gets its share, not every core.
    os.environ["NUMBA_NUM_THREADS"] = str(threads)
    try:
        problem = pickle.loads(payload)
    except BaseException as exc:  # reported to the parent, which raises a clear error
        conn.send(("broken", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if message is None:
            return
        task_id, kind, work, context = message
        if kind == "rows":
            outcome = evaluate_guarded(problem, work, context)
            reply = (task_id, (outcome.fitness, outcome.failures, outcome.info))
        else:
            reply = (task_id, run_task_guarded(problem, work, context))
        try:
            conn.send(reply)
        except OSError:  # the parent died while this task ran
            return


@dataclass
class _Task:
    """One piece of work: rows of the batch, or the problem's task number ``index``."""

    rows: np.ndarray
    attempts: int = 0
    index: int = -1

    @property
    def size(self) -> int:
        return 1 if self.index >= 0 else len(self.rows)


class _Worker:
    def __init__(self, payload: bytes, threads: int) -> None:
        self.conn, child = _SPAWN.Pipe()
        # daemon: a worker never outlives the run, even if the parent is killed mid-call.
        self.process = _SPAWN.Process(target=_serve, args=(child, payload, threads),
                                      daemon=True, name="evoengine-worker")
        self.process.start()
        child.close()
        self.ready = False
        self.task: _Task | None = None
        self.task_id = -1
        self.deadline: float | None = None

    def give(self, task: _Task, task_id: int, message: tuple,
             timeout: float | None) -> None:
        self.task, self.task_id = task, task_id
        self.deadline = None if timeout is None else time.monotonic() + timeout * task.size
        self.conn.send((task_id, *message))

    def kill(self) -> int | None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()
        return self.process.exitcode


class ProcessesBackend(Backend):
    """Evaluates tasks of ``batch_size`` rows on ``workers`` local processes.

    :param problem: sent to the workers by pickle, so its class must be importable (defined at
        module level, as a plugin's problems are).
    :param eval_timeout: seconds per evaluation; a task's deadline is this times its rows.
    :param max_retries: retries of an individual whose worker died.
    """

    name = "processes"

    def __init__(self, problem: Problem, *, workers: int | None = None,
                 batch_size: int | None = None, eval_timeout: float | None = None,
                 max_retries: int = 2) -> None:
        try:
            self._payload = pickle.dumps(problem)
        except Exception as exc:
            raise BackendError(
                f"backend 'processes' sends the problem to worker processes, but "
                f"{type(problem).__name__} cannot be pickled ({type(exc).__name__}: {exc}); "
                "define its class at module level and keep no open files or lambdas in it, "
                "or use backend=\"serial\"") from None
        self.problem = problem  # the driver's copy: tasks() and combine() run here
        self.n_objectives = len(problem.objectives)
        self.size = workers or len(os.sched_getaffinity(0))
        check_worker_count(self.size, len(os.sched_getaffinity(0)))
        self.batch_size = batch_size
        self.eval_timeout = eval_timeout
        self.max_retries = max_retries
        self._threads = max(1, len(os.sched_getaffinity(0)) // self.size)
        self.workers = [self._start() for _ in range(self.size)]
        self.replaced = 0  # workers started again after one died or timed out

    def _start(self) -> _Worker:
        return _Worker(self._payload, self._threads)

    def close(self) -> None:
        for worker in self.workers:
            try:
                worker.conn.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + _STOP_GRACE_S
        for worker in self.workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            worker.kill()
        self.workers = []

    def _evaluate_rows(self, genomes: np.ndarray, context: EvaluationContext) -> Outcome:
        if isinstance(genomes, np.ndarray):  # GP trees (evoengine.gp.Trees) go as they are
            genomes = np.ascontiguousarray(genomes)
        fitness = np.full((len(genomes), self.n_objectives), np.nan)
        failures: dict[int, Failure] = {}
        info: list[dict | None] = [None] * len(genomes)

        def message(task: _Task) -> tuple:
            return ("rows", genomes[task.rows], context.take(task.rows))

        def done(task: _Task, result) -> None:
            values, task_failures, task_info = result
            fitness[task.rows] = values
            for k, failure in task_failures.items():
                failures[int(task.rows[k])] = failure
            if task_info is not None:
                for k, row in enumerate(task.rows):
                    info[int(row)] = task_info[k]

        def failed(task: _Task, failure: Failure, queue: deque) -> None:
            if len(task.rows) > 1:  # find the culprit: each row alone, on a fresh start
                queue.extend(_Task(task.rows[k:k + 1]) for k in range(len(task.rows)))
            elif failure.kind == "crashed" and task.attempts < self.max_retries:
                queue.append(_Task(task.rows, task.attempts + 1))
            else:
                tries = task.attempts + 1
                suffix = f" (tried {tries} times)" if failure.kind == "crashed" else ""
                failures[int(task.rows[0])] = Failure(failure.kind, failure.message + suffix)

        tasks = [_Task(rows) for rows in split_rows(len(genomes), self.batch_size, self.size)]
        self._schedule(tasks, message, done, failed)
        return Outcome(fitness, failures, merged_info(info))

    def _run_tasks(self, tasks: list, context: EvaluationContext) -> list[TaskResult]:
        results = [TaskResult() for _ in tasks]
        empty = np.empty(0, dtype=np.int64)

        def message(task: _Task) -> tuple:
            return ("task", tasks[task.index], context)

        def done(task: _Task, result: TaskResult) -> None:
            results[task.index] = result

        def failed(task: _Task, failure: Failure, queue: deque) -> None:
            if failure.kind == "crashed" and task.attempts < self.max_retries:
                queue.append(_Task(empty, task.attempts + 1, task.index))
            else:
                suffix = f" (tried {task.attempts + 1} times)" if failure.kind == "crashed" else ""
                results[task.index] = TaskResult(
                    failure=Failure(failure.kind, f"task {task.index}: {failure.message}{suffix}"))

        self._schedule([_Task(empty, 0, k) for k in range(len(tasks))], message, done, failed)
        return results

    def _schedule(self, tasks: list[_Task], message: Callable[[_Task], tuple],
                  done: Callable[[_Task, Any], None],
                  failed: Callable[[_Task, Failure, deque], None]) -> None:
        """Run every task on the workers, replacing a worker that dies or runs late."""
        queue = deque(tasks)
        task_id = 0
        while queue or any(w.task is not None for w in self.workers):
            for worker in self.workers:
                if worker.ready and worker.task is None and queue:
                    task = queue.popleft()
                    worker.give(task, task_id, message(task), self.eval_timeout)
                    task_id += 1
            deadlines = [w.deadline for w in self.workers if w.deadline is not None]
            timeout = None if not deadlines else max(0.0, min(deadlines) - time.monotonic())
            waitables = [w.conn for w in self.workers] + [w.process.sentinel
                                                          for w in self.workers]
            ready = set(wait(waitables, timeout))
            for i, worker in enumerate(self.workers):
                if worker.conn in ready or worker.process.sentinel in ready:
                    self._handle(i, done, lambda task, failure: failed(task, failure, queue))
            now = time.monotonic()
            for i, worker in enumerate(self.workers):
                if worker.deadline is not None and now >= worker.deadline:
                    task = worker.task
                    self._replace(i)
                    failed(task, Failure("timeout", f"evaluation took longer than "
                                                    f"eval_timeout={self.eval_timeout:g} s"),
                           queue)

    def _handle(self, i, done, failed) -> None:
        """A worker's pipe or process signalled: a result, a ready message, or its death."""
        worker = self.workers[i]
        try:
            message = worker.conn.recv() if worker.conn.poll() else None
        except (EOFError, OSError):
            message = None
        if message is None:
            task, code = worker.task, worker.kill()
            if not worker.ready:
                raise BackendError(f"backend 'processes': a worker died while starting "
                                   f"(exit code {code})")
            self._replace(i, killed=True)
            if task is not None:
                failed(task, Failure("crashed", f"worker process died ({_describe_exit(code)})"))
            return
        if message[0] == "ready":
            worker.ready = True
        elif message[0] == "broken":
            raise BackendError(f"backend 'processes': a worker could not rebuild the problem: "
                               f"{message[1]}")
        elif message[0] == worker.task_id and worker.task is not None:
            task = worker.task
            worker.task, worker.deadline = None, None
            done(task, message[1])

    def _replace(self, i: int, killed: bool = False) -> None:
        if not killed:
            self.workers[i].kill()
        self.workers[i] = self._start()
        self.replaced += 1


def _describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
