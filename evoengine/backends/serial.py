"""The ``serial`` backend: evaluate in this process (the default, right for cheap problems)."""

from __future__ import annotations

import numpy as np

from evoengine.backends.base import (
    Backend,
    Outcome,
    TaskResult,
    evaluate_guarded,
    run_task_guarded,
)
from evoengine.context import EvaluationContext
from evoengine.problem import Problem


class SerialBackend(Backend):
    """Calls the problem's batched ``evaluate`` directly; no copies, no workers."""

    name = "serial"

    def __init__(self, problem: Problem) -> None:
        self.problem = problem

    def _evaluate_rows(self, genomes: np.ndarray, context: EvaluationContext) -> Outcome:
        return evaluate_guarded(self.problem, genomes, context)

    def _run_tasks(self, tasks: list, context: EvaluationContext) -> list[TaskResult]:
        return [run_task_guarded(self.problem, task, context) for task in tasks]
