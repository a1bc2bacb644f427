"""The ``gan`` problem: a genome is a GAN configuration; its fitness, the Fréchet distance of
the images it generates after training under a fixed budget (lower is better).

A population is trained in groups: configurations whose networks share one shape train
together as one batched model (:func:`evoengine_gan.training.train_population`). A group that
runs out of memory is split in halves and retried; a single configuration that still does not
fit is marked failed (NaN fitness, which the engine ranks last) and the run goes on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from evoengine import Genome, Objective, Problem
from evoengine.errors import ConfigError
from evoengine_gan.data import ImageData, prepare_data
from evoengine_gan.devices import choose_device, is_out_of_memory, release_memory
from evoengine_gan.features import (FeatureSpace, feature_space, frechet_distance,
                                    kernel_inception_distance)
from evoengine_gan.models import shape_key
from evoengine_gan.space import SearchSpace
from evoengine_gan.training import Member, Trained, TrainSetup, train_one, train_population

GRID_SAMPLES = 64  # images kept per evaluation for the sample grids

SECOND_OBJECTIVES = {"parameters": "parameters", "time": "train_seconds"}


@dataclass
class Measures:
    """Everything measured about one trained configuration."""

    frechet: float
    kid: float
    seconds: float
    parameters: int
    samples: np.ndarray | None  # GRID_SAMPLES images, or None when training failed
    failure: str = ""


def member_seed(training_seed: int, genome: np.ndarray) -> int:
    """A configuration's training seed: the same genome always trains the same way."""
    digest = hashlib.sha256(np.asarray(genome, dtype=np.float64).tobytes())
    digest.update(str(training_seed).encode())
    return int.from_bytes(digest.digest()[:7], "little")


class GanProblem(Problem):
    """Evolve GAN hyperparameters (see :mod:`evoengine_gan.space`) against held-out images."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.space = SearchSpace(settings.space)
        self.data: ImageData = prepare_data(settings.data, labels_path=settings.data_labels,
                                            held_out_fraction=settings.held_out_fraction,
                                            limit=settings.data_limit,
                                            seed=settings.training_seed)
        self.device = choose_device(settings.device)
        if self.device.type == "cpu":
            torch.set_num_threads(settings.cpu_threads)
        self._check_architectures()
        objectives = [Objective("frechet_distance", "minimize")]
        if settings.second_objective != "none":
            objectives.append(Objective(SECOND_OBJECTIVES[settings.second_objective], "minimize"))
        precision = "bfloat16 mixed precision" if self.mixed_precision else "float32"
        if self.device.type == "cpu":
            precision += f", {settings.cpu_threads} torch thread(s)"
        super().__init__(
            genome=Genome("real", len(self.space), 0.0, 1.0),
            objectives=tuple(objectives),
            defaults={"population_size": 8, "generations": 5, "mutation_sigma": 0.15,
                      "gene_probability": 0.25, "elitism": 1},
            notes=(f"training on {self.device} ({precision}); data {settings.data}: "
                   f"{len(self.data.train)} training and "
                   f"{len(self.data.held_out)} held-out images of {self.data.shape[1]}x"
                   f"{self.data.shape[2]}; {settings.budget} examples per evaluation",),
        )
        self.records: dict[bytes, Measures] = {}
        self._features: FeatureSpace | None = None
        self._cache: Path | None = None
        self._train_tensor: torch.Tensor | None = None
        # Called with (genomes, configs, measures) after each evaluate (the run's pictures).
        self.on_evaluated: list[Callable[[np.ndarray, list[dict], list[Measures]], None]] = []
        # Replaced in tests to simulate running out of memory.
        self.train_one: Callable[[Member, TrainSetup], Trained] = train_one
        self.train_population: Callable[[Sequence[Member], TrainSetup], list[Trained]] = (
            train_population)

    @property
    def mixed_precision(self) -> bool:
        return bool(self.settings.mixed_precision and self.device.type == "cuda")

    def _check_architectures(self) -> None:
        arch = next(g for g in self.space.genes if g.name == "architecture")
        _, height, width = self.data.shape
        if "dcgan" in arch.choices and (height % 4 or width % 4):
            raise ConfigError(f"setting 'space.architecture': DCGAN networks need image sides "
                              f"divisible by 4, these are {height}x{width}; use "
                              "space={architecture=\"mlp\"}")

    def start_run(self, folder: Path) -> None:
        """Write sample grids, curves and the best configuration into the run folder."""
        from evoengine_gan.output import RunPictures

        RunPictures(self, folder)

    # --- the feature space --------------------------------------------------------------------
    def use_cache_folder(self, folder: Path) -> None:
        """Keep the feature classifier in ``folder`` (the run folder)."""
        self._cache = Path(folder)

    @property
    def features(self) -> FeatureSpace:
        if self._features is None:
            self._features = feature_space(self.data, seed=self.settings.training_seed,
                                           steps=self.settings.classifier_steps,
                                           cache=self._cache)
        return self._features

    def reference_distance(self) -> float:
        """FD between training and held-out images: what a perfect generator would score."""
        count = min(len(self.data.train), self.settings.samples)
        return frechet_distance(self.features.features(self.data.train[:count]),
                                self.features.reference)

    # --- evaluation ---------------------------------------------------------------------------
    def setup(self) -> TrainSetup:
        if self._train_tensor is None:
            self._train_tensor = torch.as_tensor(self.data.train, device=self.device)
        return TrainSetup(self._train_tensor, self.settings.budget, self.settings.samples,
                          self.mixed_precision)

    def evaluate(self, genomes: np.ndarray) -> np.ndarray:
        genomes = np.asarray(genomes, dtype=float)
        configs = [self.space.decode(g) for g in genomes]
        members = [Member(c, member_seed(self.settings.training_seed, g))
                   for c, g in zip(configs, genomes, strict=True)]
        setup = self.setup()
        measures: list[Measures | None] = [None] * len(members)
        for rows in self.groups(configs):
            for row, outcome in zip(rows, self._train_safely([members[r] for r in rows], setup),
                                    strict=True):
                measures[row] = self.measure(outcome)
        done = [m for m in measures if m is not None]
        for g, m in zip(genomes, done, strict=True):
            self.records[g.tobytes()] = m
        for callback in self.on_evaluated:
            callback(genomes, configs, done)
        return np.array([self._fitness(m) for m in done]).reshape(len(genomes), -1)

    def groups(self, configs: Sequence[dict]) -> list[list[int]]:
        """Rows that train together: same network shapes, at most ``max_group`` per group."""
        if not self.settings.batched:
            return [[i] for i in range(len(configs))]
        by_key: dict[tuple, list[int]] = {}
        for i, c in enumerate(configs):
            by_key.setdefault(shape_key(c), []).append(i)
        size = self.settings.max_group
        return [rows[i:i + size] for rows in by_key.values() for i in range(0, len(rows), size)]

    def _train_safely(self, members: list[Member], setup: TrainSetup) -> list[Trained | str]:
        """Train a group; on out-of-memory free the memory and retry it in halves."""
        try:
            if len(members) == 1:
                return [self.train_one(members[0], setup)]
            return self.train_population(members, setup)
        except (RuntimeError, MemoryError) as exc:
            if not is_out_of_memory(exc):
                raise
        release_memory(self.device)  # after the except block, so the traceback's tensors go too
        if len(members) == 1:
            return [f"out of memory on {self.device}"]
        half = len(members) // 2
        return (self._train_safely(members[:half], setup)
                + self._train_safely(members[half:], setup))

    def measure(self, outcome: Trained | str) -> Measures:
        """Fréchet distance and KID of what training produced (NaN when it failed)."""
        if isinstance(outcome, str):
            return Measures(float("nan"), float("nan"), float("nan"), 0, None, outcome)
        if not np.isfinite(outcome.samples).all():
            return Measures(float("nan"), float("nan"), outcome.seconds, outcome.parameters,
                            None, "training diverged (non-finite images)")
        feats = self.features.features(outcome.samples)
        ref = self.features.reference
        return Measures(frechet_distance(feats, ref), kernel_inception_distance(feats, ref),
                        outcome.seconds, outcome.parameters,
                        outcome.samples[:GRID_SAMPLES].astype(np.float32))

    def _fitness(self, m: Measures) -> list[float]:
        values = [m.frechet]
        if self.settings.second_objective == "parameters":
            values.append(float(m.parameters) if m.samples is not None else float("nan"))
        elif self.settings.second_objective == "time":
            values.append(m.seconds)
        return values

    def describe(self, genome: np.ndarray) -> dict[str, Any]:
        genome = np.asarray(genome, dtype=float)
        out: dict[str, Any] = {"config": self.space.decode(genome)}
        m = self.records.get(genome.tobytes())
        if m is not None:
            out.update(frechet_distance=m.frechet, kid=m.kid, parameters=m.parameters,
                       train_seconds=round(m.seconds, 3))
            if m.failure:
                out["failure"] = m.failure
        return out

