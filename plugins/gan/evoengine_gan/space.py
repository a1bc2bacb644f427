"""The search space: every gene of a GAN configuration, declared once.

The genome is a real vector in ``[0, 1]^D``, so the engine's real-valued operators work on it
unchanged; each gene decodes its coordinate on its own scale:

- ``float``: linear between ``low`` and ``high``;
- ``log``: log-uniform between ``low`` and ``high`` (learning rates);
- ``int``: integers ``low .. high``, each an equal share of ``[0, 1]``;
- ``choice``: one of ``choices``, each an equal share of ``[0, 1]``.

A user narrows or fixes genes with a ``space`` table, in TOML (``[space]`` then
``lr_g = [1e-4, 1e-3]``) or on the command line (``--set 'space={lr_g=[1e-4,1e-3]}'``):
a ``[low, high]`` pair narrows a numeric gene, a single value fixes it, a list of choices
restricts a choice gene. The genome keeps its length; a fixed gene simply decodes to its value.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from evoengine.errors import ConfigError

GeneKind = Literal["float", "log", "int", "choice"]


@dataclass(frozen=True)
class Gene:
    """One hyperparameter: its name, how ``[0, 1]`` maps onto it, and what it means."""

    name: str
    kind: GeneKind
    low: float = 0.0
    high: float = 1.0
    choices: tuple[Any, ...] = ()
    help: str = ""
    limits: tuple[float, float] = (-math.inf, math.inf)  # what an override may not leave

    def decode(self, u: float) -> Any:
        """The value at coordinate ``u`` in ``[0, 1]`` (clipped)."""
        u = min(max(float(u), 0.0), 1.0)
        if self.kind == "float":
            return self.low + u * (self.high - self.low)
        if self.kind == "log":
            low, high = math.log(self.low), math.log(self.high)
            return float(math.exp(low + u * (high - low)))
        if self.kind == "int":
            span = int(self.high) - int(self.low) + 1
            return int(self.low) + min(int(u * span), span - 1)
        return self.choices[min(int(u * len(self.choices)), len(self.choices) - 1)]

    def encode(self, value: Any) -> float:
        """A coordinate that decodes to ``value`` (the middle of its share for discrete genes)."""
        if self.kind == "float":
            return 0.5 if self.high == self.low else (value - self.low) / (self.high - self.low)
        if self.kind == "log":
            if self.high == self.low:
                return 0.5
            return math.log(value / self.low) / math.log(self.high / self.low)
        if self.kind == "int":
            span = int(self.high) - int(self.low) + 1
            return (int(value) - int(self.low) + 0.5) / span
        return (self.choices.index(value) + 0.5) / len(self.choices)

    def describe(self) -> str:
        if self.kind == "choice":
            return f"{self.name}: one of {list(self.choices)}"
        scale = {"float": "", "log": " (log scale)", "int": " (integer)"}[self.kind]
        return f"{self.name}: [{self.low:g}, {self.high:g}]{scale}"


ACTIVATIONS = ("relu", "leaky_relu")
LOSSES = ("non_saturating", "hinge", "least_squares")
ARCHITECTURES = ("mlp", "dcgan")

# The articles' families (dense GAN, DCGAN) and the settings they chose by hand, as ranges.
GENES: tuple[Gene, ...] = (
    Gene("architecture", "choice", choices=ARCHITECTURES,
         help="dense MLP or DCGAN-style convolutional networks"),
    Gene("lr_g", "log", 1e-5, 1e-2, help="generator Adam learning rate"),
    Gene("lr_d", "log", 1e-5, 1e-2, help="discriminator Adam learning rate"),
    Gene("beta1", "float", 0.0, 0.9, help="Adam beta1 (the articles use 0.5)",
         limits=(0.0, 0.9999)),
    Gene("beta2", "float", 0.9, 0.999, help="Adam beta2", limits=(0.0, 0.9999)),
    Gene("latent", "choice", choices=(16, 32, 64, 100), help="size of the noise vector z"),
    Gene("g_width", "choice", choices=(32, 64, 128, 256),
         help="generator hidden units (MLP); a DCGAN uses a quarter as base channels"),
    Gene("d_width", "choice", choices=(32, 64, 128, 256),
         help="discriminator hidden units (MLP); a DCGAN uses a quarter as base channels"),
    Gene("g_depth", "int", 1, 3, help="generator hidden layers (MLP)"),
    Gene("d_depth", "int", 1, 3, help="discriminator hidden layers (MLP)"),
    Gene("g_activation", "choice", choices=ACTIVATIONS,
         help="generator activation; the discriminator uses LeakyReLU(0.2)"),
    Gene("batch_norm", "choice", choices=(False, True), help="batch norm in hidden layers"),
    Gene("loss", "choice", choices=LOSSES, help="adversarial loss"),
    Gene("label_smoothing", "float", 0.0, 0.3, limits=(0.0, 1.0),
         help="real targets are 1 - smoothing (non-saturating and least-squares losses)"),
    Gene("label_noise", "float", 0.0, 0.2, limits=(0.0, 1.0),
         help="real targets lowered by U(0, noise) per sample, as the TensorFlow article does"),
    Gene("d_steps", "int", 1, 3, help="discriminator updates per round", limits=(1, 100)),
    Gene("g_steps", "int", 1, 2, help="generator updates per round (DCGAN part II uses 2)",
         limits=(1, 100)),
    Gene("batch_size", "choice", choices=(16, 32, 64, 128), help="examples per update"),
)

# The hand-chosen configuration of the articles: Adam lr 2e-4, beta1 0.5, z = 100, batch 64.
ARTICLE_DEFAULT: dict[str, Any] = {
    "architecture": "mlp", "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.999,
    "latent": 100, "g_width": 128, "d_width": 128, "g_depth": 2, "d_depth": 2,
    "g_activation": "relu", "batch_norm": True, "loss": "non_saturating",
    "label_smoothing": 0.0, "label_noise": 0.0, "d_steps": 1, "g_steps": 1, "batch_size": 64,
}


class SearchSpace:
    """The genes in force: ``genes`` (the GAN's, :data:`GENES`, by default) with the user's
    overrides applied."""

    def __init__(self, overrides: Mapping[str, Any] | None = None,
                 genes: Sequence[Gene] = GENES) -> None:
        by_name = {g.name: g for g in genes}
        for name, value in (overrides or {}).items():
            if name not in by_name:
                close = difflib.get_close_matches(name, by_name, n=2)
                hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
                raise ConfigError(f"setting 'space.{name}': unknown gene; {hint}"
                                  f"genes: {', '.join(by_name)}")
            by_name[name] = _override(by_name[name], value)
        self.genes: tuple[Gene, ...] = tuple(by_name[g.name] for g in genes)

    def __len__(self) -> int:
        return len(self.genes)

    def decode(self, genome: Sequence[float]) -> dict[str, Any]:
        """The configuration a genome stands for, gene name to value."""
        genome = np.asarray(genome, dtype=float)
        if genome.shape != (len(self.genes),):
            raise ValueError(f"a genome has {len(self.genes)} genes, got shape {genome.shape}")
        return {g.name: g.decode(u) for g, u in zip(self.genes, genome, strict=True)}

    def encode(self, values: Mapping[str, Any]) -> np.ndarray:
        """A genome that decodes to ``values`` (genes left out take their middle)."""
        return np.array([g.encode(values[g.name]) if g.name in values else 0.5
                         for g in self.genes])

    def fixed(self) -> dict[str, Any]:
        """Genes the overrides pinned to one value."""
        return {g.name: g.decode(0.5) for g in self.genes if _is_fixed(g)}


def _is_fixed(g: Gene) -> bool:
    return len(g.choices) == 1 if g.kind == "choice" else g.low == g.high


def _override(gene: Gene, value: Any) -> Gene:
    """``gene`` narrowed by the user's value; errors name the gene and what is allowed."""
    key = f"space.{gene.name}"
    if gene.kind == "choice":
        wanted = list(value) if isinstance(value, list) else [value]
        bad = [v for v in wanted if v not in gene.choices]
        if bad or not wanted:
            raise ConfigError(f"setting {key!r}: {bad[0] if bad else '[]'!r} is not a valid "
                              f"choice; choose from {list(gene.choices)}")
        return replace(gene, choices=tuple(wanted))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low = high = value
    elif (isinstance(value, list) and len(value) == 2
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        low, high = value
    else:
        raise ConfigError(f"setting {key!r}: give a number or [low, high], got {value!r}")
    if gene.kind == "int" and (int(low) != low or int(high) != high):
        raise ConfigError(f"setting {key!r}: {gene.name} takes whole numbers, got {value!r}")
    if low > high:
        raise ConfigError(f"setting {key!r}: low {low} is greater than high {high}")
    if gene.kind == "log" and low <= 0:
        raise ConfigError(f"setting {key!r}: a log-scale gene needs low > 0, got {low}")
    if low < gene.limits[0] or high > gene.limits[1]:
        raise ConfigError(f"setting {key!r}: {gene.name} must lie in "
                          f"[{gene.limits[0]:g}, {gene.limits[1]:g}], got {value!r}")
    return replace(gene, low=float(low), high=float(high))
