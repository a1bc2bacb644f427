"""The ``serial`` backend: evaluate in this process (the default, right for cheap problems)."""

from __future__ import annotations

import numpy as np

from evoengine.backends.base import Backend, Outcome, evaluate_guarded
from evoengine.problem import Problem


class SerialBackend(Backend):
    """Calls the problem's batched ``evaluate`` directly; no copies, no workers."""

    name = "serial"

    def __init__(self, problem: Problem) -> None:
        self.problem = problem

    def __call__(self, genomes: np.ndarray) -> Outcome:
        return evaluate_guarded(self.problem, genomes)
