"""The GAN as a PBT trainable: one batched model of same-shaped GANs, measured by the Fréchet
distance of its samples to the held-out images in the plugin's feature space.

Which genes do what under ``scheme = "pbt"``:

- *shape* genes (:data:`SHAPE_GENES`) are one value for the whole population: the networks
  of every member have one shape, so the population is one batched model and any member can
  copy any other (a copy inside the stacked tensors). A population of mixed shapes would split
  into groups that can only copy within themselves, each a smaller, weaker PBT, and train as
  several models. The value is the one ``space`` fixes, else the articles' (MLP, 2 x 128,
  z = 100, batch norm, batch 64): fix the shape you want, for example the one an ``evolve``
  run found (``evoengine run gan -c best_gan.toml --set scheme=pbt``);
- *member* genes (:data:`MEMBER_GENES`: loss, generator activation) are drawn for each member
  at the start and kept; a member that copies another takes them with the weights;
- *explored* genes (:data:`EXPLORED_GENES`: learning rates, betas, label smoothing and noise,
  updates per round) are perturbed at every exploit; genes ``space`` fixes are not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from evoengine_gan.features import FeatureSpace, frechet_distance
from evoengine_gan.space import ARTICLE_DEFAULT, SearchSpace
from evoengine_gan.training import GanPopulation, Member, TrainSetup, rounds

SHAPE_GENES = ("architecture", "latent", "g_width", "d_width", "g_depth", "d_depth",
               "batch_norm", "batch_size")
MEMBER_GENES = ("loss", "g_activation")
EXPLORED_GENES = ("lr_g", "lr_d", "beta1", "beta2", "label_smoothing", "label_noise",
                  "d_steps", "g_steps")
GRID_SAMPLES = 64  # images of each member kept from a measure, for the sample grids


def starting_point(space: SearchSpace) -> dict[str, Any]:
    """Every gene at the articles' value where ``space`` allows it, else at its range's middle:
    the configuration PBT's members start around, and its one shape."""
    point = {}
    for gene in space.genes:
        default = ARTICLE_DEFAULT[gene.name]
        allowed = (default in gene.choices if gene.kind == "choice"
                   else gene.low <= default <= gene.high)
        point[gene.name] = default if allowed else gene.decode(0.5)
    return point


def population_shape(space: SearchSpace) -> dict[str, Any]:
    """The shape genes' values for a PBT population (see the module's docstring)."""
    point = starting_point(space)
    return {name: point[name] for name in SHAPE_GENES if name in point}


def starting_genomes(space: SearchSpace, size: int, spread: float,
                     rng: np.random.Generator) -> np.ndarray:
    """PBT's first members: each coordinate ``centre + spread * (u - centre)``, ``u`` uniform
    in ``[0, 1]`` and ``centre`` the :func:`starting_point`'s; shape genes at the centre.

    ``spread = 1`` is uniform over the space, ``0`` every member at the articles'
    configuration. In between, the members start in a band around it (on a gene's own scale:
    log for learning rates) that shrinks towards it, the way PBT is usually started: around a
    configuration known to train, wide enough that exploit has something to choose from.
    """
    centre = space.encode(starting_point(space))
    genomes = centre + spread * (rng.uniform(0.0, 1.0, size=(size, len(space))) - centre)
    for i, gene in enumerate(space.genes):
        if gene.name in SHAPE_GENES:
            genomes[:, i] = centre[i]
    return genomes


def explored_genes(space: SearchSpace) -> tuple[str, ...]:
    """The explored genes the user's ``space`` left free."""
    fixed = space.fixed()
    return tuple(name for name in EXPLORED_GENES if name not in fixed)


class GanTrainable:
    """A :class:`~evoengine_gan.trainable.Trainable` of GANs of one shape."""

    def __init__(self, configs: Sequence[Mapping[str, Any]], seeds: Sequence[int],
                 setup: TrainSetup, features: FeatureSpace, samples: int) -> None:
        members = [Member(c, int(s)) for c, s in zip(configs, seeds, strict=True)]
        self.population = GanPopulation(members, setup)
        self.features, self.samples = features, samples
        self.grids: np.ndarray | None = None  # P x GRID_SAMPLES images of the last measure
        self.measures: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.population)

    def configure(self, configs: Sequence[Mapping[str, Any]]) -> None:
        self.population.configure(configs)

    def reseed(self, seeds: Sequence[int]) -> None:
        self.population.reseed(seeds)

    def train(self, examples: int, active: Sequence[bool] | None = None) -> None:
        """Members where ``active`` is false (retired) sit out, at no cost."""
        active = [True] * len(self) if active is None else active
        self.population.train([rounds(c, examples) if on else 0
                               for c, on in zip(self.population.configs, active, strict=True)])

    def measure(self, seed: int, active: Sequence[bool] | None = None) -> np.ndarray:
        """Each member's Fréchet distance on ``samples`` images, every member drawing the same
        noise (common random numbers: the comparison is between generators, not draws);
        NaN for a member where ``active`` is false."""
        device = self.population.setup.device
        streams = [torch.Generator(device=device).manual_seed(seed) for _ in range(len(self))]
        images = self.population.sample(self.samples, streams)
        self.grids = images[:, :GRID_SAMPLES].astype(np.float32)
        out = np.full(len(self), np.nan)
        active = [True] * len(self) if active is None else active
        for i, member in enumerate(images):
            if active[i] and np.isfinite(member).all():  # a diverged member fails (NaN), and is replaced
                out[i] = frechet_distance(self.features.features(member),
                                          self.features.reference)
        self.measures = out
        return out

    def member_info(self) -> list[dict[str, Any]]:
        """What PBT sends back with each member's measure: its FD and images."""
        return [{"frechet_distance": float(fd), "samples": grid}
                for fd, grid in zip(self.measures, self.grids, strict=True)]

    def copy_member(self, source: int, target: int) -> None:
        self.population.copy_member(source, target)

    def state(self) -> dict[str, np.ndarray]:
        return self.population.state()

    def load_state(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.population.load_state(arrays)
