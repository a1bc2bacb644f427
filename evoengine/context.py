"""What an evaluation may depend on, and what it gives back.

A problem's ``evaluate(genomes, context)`` is a pure function of its two arguments: the same
genome in the same generation of the same run scores the same wherever it is evaluated, since
everything random it needs comes from the :class:`EvaluationContext`, never from call counts,
worker identity or state kept on the problem.

- :class:`EvaluationContext`: the run's seed, the generation, a stable id per row, generators
  derived from those, the device and a folder for files.
- :class:`Evaluation`: the ``N x M`` fitness and, per row, extra JSON-ready information that
  travels back with it from any backend (pymoo's ``out`` dictionary).
- :class:`Summary`: what a problem summarises of one generation (scalars, images, tables), for
  the run's :class:`~evoengine.records.Recorder` and observers such as TensorBoard.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_MASK = (1 << 64) - 1


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer on uint64 arrays (wrapping arithmetic, as in the kernels)."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def _spread(values: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return _mix(values.astype(np.uint64) * _GOLDEN + _GOLDEN)


def _key_int(key: int | str) -> int:
    """A key as a non-negative integer: strings by SHA-256 (Python's ``hash`` varies by run)."""
    if isinstance(key, str):
        return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
    return int(key) & _MASK


@dataclass(frozen=True, eq=False)
class EvaluationContext:
    """Everything an evaluation may legitimately depend on besides the genomes.

    :param seed: the run's seed (``settings.seed``; drawn and recorded when not given).
    :param generation: the generation being evaluated, 0 for the initial population.
    :param row_ids: one stable id per row of the batch (int64): the number of evaluations the
        run made before this batch plus the row's position in it. It never depends on how a
        backend splits the batch.
    :param device: where the caller of :func:`~evoengine.run.optimize` asks evaluations to
        compute (``"cpu"``, ``"cuda"``, ``"cuda:1"``): a hint; the CLI always passes
        ``"cpu"``. A problem with a device setting of its own (the gan plugin's ``device``)
        follows that setting.
    :param artifacts: a folder the problem may write files to; None: write nothing.
    """

    seed: int
    generation: int
    row_ids: np.ndarray
    device: str = "cpu"
    artifacts: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "row_ids", np.asarray(self.row_ids, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.row_ids)

    def row_seeds(self) -> np.ndarray:
        """One uint64 seed per row, from (seed, generation, row id) only."""
        base = _mix(np.uint64(self.seed & _MASK) ^ _spread(np.array([self.generation]))[0])
        return _mix(base ^ _spread(self.row_ids))

    def row_rng(self, i: int) -> np.random.Generator:
        """The random generator of row ``i`` (the same wherever that row is evaluated)."""
        return np.random.default_rng(int(self.row_seeds()[i]))

    def rng(self, *key: int | str) -> np.random.Generator:
        """A batch-level generator keyed by (seed, generation, *key): the same whatever the
        split, for work that concerns the whole population (pairings, openings)."""
        entropy = [_key_int(self.seed), _key_int(self.generation), *map(_key_int, key)]
        return np.random.default_rng(np.random.SeedSequence(entropy))

    def take(self, rows: np.ndarray | slice) -> EvaluationContext:
        """The context of a subset of the batch's rows (what a backend hands each task)."""
        return replace(self, row_ids=self.row_ids[rows])

    @classmethod
    def standalone(cls, count: int, *, seed: int = 0, generation: int = 0,
                   device: str = "cpu") -> EvaluationContext:
        """A context for evaluating ``count`` rows outside a run (tests, a closing report)."""
        return cls(seed, generation, np.arange(count, dtype=np.int64), device)


@dataclass
class Evaluation:
    """What an evaluation returns: fitness and, optionally, information per row.

    :param fitness: ``N x M``; NaN or inf marks a failed evaluation.
    :param info: one dict per row of JSON-ready values and small numpy arrays, or None.
    """

    fitness: np.ndarray
    info: list[dict[str, Any]] | None = None


@dataclass
class Summary:
    """What a problem summarises of one generation (:meth:`evoengine.Problem.summarize`).

    :param scalars: named numbers (a curve each across generations).
    :param images: named pictures, ``H x W`` or ``H x W x C`` (C = 3 or 4), floats in [0, 1].
    :param tables: named lists of rows (dicts of JSON-ready values).
    """

    scalars: dict[str, float] = field(default_factory=dict)
    images: dict[str, np.ndarray] = field(default_factory=dict)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.scalars or self.images or self.tables)
