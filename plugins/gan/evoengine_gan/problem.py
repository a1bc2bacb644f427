"""The ``gan`` problem: a genome is a GAN configuration; its fitness, the Fréchet distance of
the images it generates after training under a fixed budget (lower is better).

A population is trained in groups: configurations whose networks share one shape train
together as one batched model (:func:`evoengine_gan.training.train_population`). A group that
runs out of memory is split in halves and retried; a single configuration that still does not
fit is marked failed (NaN fitness, which the engine ranks last) and the run goes on.

With several devices (``device=cuda:0,cuda:1``, or ``auto`` on a machine with several GPUs) the
groups are spread over them, one group per device at a time (:mod:`evoengine_gan.scheduling`).
The problem pickles for the ``processes`` and ``ray`` backends: it carries the feature
classifier as arrays and no tensors, and chooses its devices again where it is unpickled (so a
Ray task that asked for ``eval_gpus=1`` trains on the GPU Ray gave it).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from evoengine import Evaluation, EvaluationContext, Genome, Objective, Problem, Summary
from evoengine.errors import ConfigError
from evoengine_gan.data import ImageData, prepare_data
from evoengine_gan.devices import choose_devices, is_out_of_memory, release_memory
from evoengine_gan.features import (FeatureSpace, feature_space, frechet_distance,
                                    kernel_inception_distance)
from evoengine_gan.models import shape_key
from evoengine_gan.pbt import PBTSettings, run_length
from evoengine_gan.pbt_gan import (GanTrainable, explored_genes, population_shape,
                                   starting_genomes)
from evoengine_gan.scheduling import run_on_devices, spread
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
        self._devices: list[torch.device] | None = None
        devices = self.devices  # a device that is not there is a setting error, now
        self._check_architectures()
        if settings.scheme == "pbt" and settings.second_objective != "none":
            raise ConfigError("setting 'second_objective': scheme 'pbt' measures one thing, "
                              "the Fréchet distance; use second_objective='none' or "
                              "scheme='evolve'")
        self.pbt = PBTSettings(settings.interval, settings.exploit_fraction,
                               settings.resample_probability,
                               resample_width=settings.resample_width, ready=settings.ready,
                               exploit_margin=settings.exploit_margin,
                               explore_kept=settings.explore_kept,
                               retire=tuple(settings.retire))
        objectives = [Objective("frechet_distance", "minimize")]
        if settings.second_objective != "none":
            objectives.append(Objective(SECOND_OBJECTIVES[settings.second_objective], "minimize"))
        precision = "bfloat16 mixed precision" if self.mixed_precision else "float32"
        if any(d.type == "cpu" for d in devices):
            precision += f", {settings.cpu_threads} torch thread(s)"
        where = ", ".join(map(str, devices))
        if len(devices) > 1:
            where += " (one group of configurations per device at a time)"
        if settings.scheme == "pbt":
            # The examples of 4 members x 48 intervals: with retire=[16], 4 members for 16
            # intervals, then 2 for 64 (160,000 examples on the winner's line), which ended
            # better than 4 x 48 and 8 x 24 at equal total examples (benchmarks/README.md).
            length = run_length(4, 4 * 48, settings.retire)
            defaults = {"population_size": 4, "generations": length - 1, "elitism": 0,
                        "checkpoint_every": 1}
            shape = ", ".join(f"{k}={v}" for k, v in population_shape(self.space).items())
            budget = (f"population-based training, every {settings.interval} examples the "
                      f"worst {settings.exploit_fraction:g} copy the best; networks {shape}")
        else:
            defaults = {"population_size": 8, "generations": 5, "mutation_sigma": 0.15,
                        "gene_probability": 0.25, "elitism": 1}
            budget = f"{settings.budget} examples per evaluation"
        super().__init__(
            genome=Genome("real", len(self.space), 0.0, 1.0),
            objectives=tuple(objectives),
            defaults=defaults,
            notes=(f"training on {where} ({precision}); data {settings.data}: "
                   f"{len(self.data.train)} training and "
                   f"{len(self.data.held_out)} held-out images of {self.data.shape[1]}x"
                   f"{self.data.shape[2]}; {budget}",),
        )
        self._features: FeatureSpace | None = None
        self._cache: Path | None = None
        self._feature_arrays: dict[str, np.ndarray] | None = None  # set when unpickled
        self._train_tensors: dict[torch.device, torch.Tensor] = {}
        # Replaced in tests to simulate running out of memory.
        self.train_one: Callable[[Member, TrainSetup], Trained] = train_one
        self.train_population: Callable[[Sequence[Member], TrainSetup], list[Trained]] = (
            train_population)

    @property
    def devices(self) -> list[torch.device]:
        """Where groups train, one at a time on each (chosen lazily, where the problem runs)."""
        if self._devices is None:
            self._devices = choose_devices(self.settings.device)
            if any(d.type == "cpu" for d in self._devices):
                torch.set_num_threads(self.settings.cpu_threads)
        return self._devices

    @devices.setter
    def devices(self, devices: Sequence[torch.device]) -> None:
        self._devices = [torch.device(d) for d in devices]

    @property
    def device(self) -> torch.device:
        """The first device (the one ``gan-train`` and single trainings use)."""
        return self.devices[0]

    @property
    def mixed_precision(self) -> bool:
        return bool(self.settings.mixed_precision and self.device.type == "cuda")

    def __getstate__(self) -> dict[str, Any]:
        """What a backend ships to its workers: no tensors. The
        feature classifier goes as arrays (trained here first if need be), so no worker
        retrains it and every worker measures with the same network."""
        state = self.__dict__.copy()
        state.update(_feature_arrays=self.features.to_arrays(), _features=None,
                     _train_tensors={}, _devices=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def _check_architectures(self) -> None:
        arch = next(g for g in self.space.genes if g.name == "architecture")
        _, height, width = self.data.shape
        if "dcgan" in arch.choices and (height % 4 or width % 4):
            raise ConfigError(f"setting 'space.architecture': DCGAN networks need image sides "
                              f"divisible by 4, these are {height}x{width}; use "
                              "space={architecture=\"mlp\"}")

    # --- population-based training (scheme = "pbt") --------------------------------------
    @property
    def explored(self) -> tuple[str, ...]:
        return explored_genes(self.space)

    def initial_population(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """``evolve``: uniform in ``[0, 1]``. ``pbt``: around the articles' configuration, as
        far as ``start_spread`` says, every shape gene at the population's one shape
        (:func:`evoengine_gan.pbt_gan.starting_genomes`)."""
        if self.settings.scheme == "pbt":
            return starting_genomes(self.space, size, self.settings.start_spread, rng)
        return rng.uniform(0.0, 1.0, size=(size, len(self.space)))

    def own_optimizer(self, settings, toolbox=None):
        """``pbt`` brings population-based training; ``evolve`` uses the chosen algorithm."""
        if self.settings.scheme != "pbt":
            return None
        from evoengine_gan.pbt import PopulationBasedTraining

        return PopulationBasedTraining(self, settings, toolbox=toolbox)

    def new_trainable(self, configs, seeds):
        """A batched population of GANs (see :class:`evoengine_gan.pbt_gan.GanTrainable`)."""
        return GanTrainable(configs, seeds, self.setup(), self.features, self.settings.samples)

    def save_member(self, trainable: GanTrainable, member: int, folder: Path) -> None:
        """PBT keeps the best member's generator in ``folder`` (the run's artifacts), as
        ``gan-train`` saves one: ``generator/generator.pt`` and ``generator.json``."""
        from evoengine_gan.pbt_report import save_generator

        save_generator(self, trainable, member, Path(folder) / "generator")

    # --- the feature space --------------------------------------------------------------------
    def use_cache_folder(self, folder: Path) -> None:
        """Keep the feature classifier in ``folder`` (the run folder)."""
        self._cache = Path(folder)

    @property
    def features(self) -> FeatureSpace:
        if self._features is None and self._feature_arrays is not None:
            self._features = FeatureSpace.from_arrays(self._feature_arrays)
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
    def setup(self, device: torch.device | None = None) -> TrainSetup:
        """How to train on ``device`` (the first device by default); its data copy is kept."""
        device = self.device if device is None else device
        if device not in self._train_tensors:
            self._train_tensors[device] = torch.as_tensor(self.data.train, device=device)
        mixed = bool(self.settings.mixed_precision and device.type == "cuda")
        return TrainSetup(self._train_tensors[device], self.settings.budget,
                          self.settings.samples, mixed)

    def evaluate(self, genomes: np.ndarray,
                 context: EvaluationContext | None = None) -> Evaluation:
        """Train every configuration (in shape groups) and measure it. The info of a row: its
        FD, KID, size, training time (wall clock) and ``GRID_SAMPLES`` of its images, what
        the run's pictures and ``best.json`` are made of, from whichever process trained it."""
        genomes = np.asarray(genomes, dtype=float)
        configs = [self.space.decode(g) for g in genomes]
        members = [Member(c, member_seed(self.settings.training_seed, g))
                   for c, g in zip(configs, genomes, strict=True)]
        devices = self.devices
        setups = [self.setup(d) for d in devices]  # data copies made before the threads start
        groups = spread(self.groups(configs), len(devices))
        outcomes = run_on_devices(
            devices, groups,
            lambda rows, slot: self._train_safely([members[r] for r in rows], setups[slot]))
        measures: list[Measures | None] = [None] * len(members)
        for rows, trained in zip(groups, outcomes, strict=True):
            for row, outcome in zip(rows, trained, strict=True):
                measures[row] = self.measure(outcome)
        fitness = np.array([self._fitness(m) for m in measures]).reshape(len(genomes), -1)
        return Evaluation(fitness, [measures_info(m) for m in measures])

    def summarize(self, genomes: np.ndarray, evaluation: Evaluation,
                  context: EvaluationContext) -> Summary:
        """``evolve``: the generation's best configuration (its FD, KID, configuration and
        images); ``pbt``: every member's interval (its FD, the member it copied, its
        hyperparameters) and the best member's images."""
        info = evaluation.info or [{} for _ in range(len(genomes))]
        fds = np.array([row.get("frechet_distance", np.nan) for row in info], dtype=float)
        if self.settings.scheme == "pbt":
            # A retired member keeps the measure it retired with (its fitness; it is not
            # measured again), and is never the interval's best.
            fds = np.asarray(evaluation.fitness, dtype=float)[:, 0].copy()
            candidates = np.where([row.get("retired", False) for row in info], np.nan, fds)
        else:
            candidates = fds
        if not np.isfinite(candidates).any():
            return Summary()
        best = int(np.nanargmin(np.where(np.isfinite(candidates), candidates, np.nan)))
        images = {}
        if info[best].get("samples") is not None:
            images["samples"] = grid_canvas(np.asarray(info[best]["samples"]))
        config = self.space.decode(np.asarray(genomes[best], dtype=float))
        if self.settings.scheme == "pbt":
            members = [{"member": int(row["member"]), "copied_from": row["copied_from"],
                        "examples": int(row["examples"]),
                        "retired": bool(row.get("retired", False)),
                        "frechet_distance": float(fds[i]),
                        "config": self.space.decode(np.asarray(genomes[i], dtype=float))}
                       for i, row in enumerate(info)]
            return Summary({"best_frechet_distance": float(fds[best])}, images,
                           {"members": members})
        best_row = {"config": config, "frechet_distance": float(fds[best]),
                    "kid": float(info[best]["kid"])}
        return Summary({"generation_best_frechet_distance": float(fds[best]),
                        "generation_best_kid": float(info[best]["kid"])}, images,
                       {"best": [best_row]})

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
        release_memory(setup.device)  # after the except block, so the traceback's tensors go
        if len(members) == 1:
            return [f"out of memory on {setup.device}"]
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

    def describe(self, genome: np.ndarray, info: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
        out: dict[str, Any] = {"config": self.space.decode(np.asarray(genome, dtype=float))}
        if info:
            out.update({k: v for k, v in info.items() if k not in ("samples", "member")})
        return out


def measures_info(m: Measures) -> dict[str, Any]:
    """What travels back with a configuration's fitness (see :meth:`GanProblem.evaluate`)."""
    info: dict[str, Any] = {"frechet_distance": m.frechet, "kid": m.kid,
                            "parameters": m.parameters, "train_seconds": round(m.seconds, 3),
                            "samples": m.samples}
    if m.failure:
        info["failure"] = m.failure
    return info


def grid_canvas(images: np.ndarray) -> np.ndarray:
    """A square grid of grey images (``N x 1 x H x W`` in ``[-1, 1]``) as one ``H x W`` picture
    in ``[0, 1]``, one-pixel white gaps."""
    n = len(images)
    side = math.ceil(math.sqrt(n))
    h, w = images.shape[2:]
    canvas = np.ones((side * (h + 1) + 1, side * (w + 1) + 1))
    for i, img in enumerate(images):
        r, c = divmod(i, side)
        canvas[1 + r * (h + 1):1 + r * (h + 1) + h, 1 + c * (w + 1):1 + c * (w + 1) + w] = (
            (img[0] + 1.0) / 2.0)
    return np.clip(canvas, 0.0, 1.0)
