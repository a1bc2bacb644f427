"""Heuristics to tune, as genomes: the article's single weight, or a weight vector.

Every heuristic is linear in the game's named features, so the compiled search takes one weight
per feature. The article's ``V(w) = w * own - (1 - w) * opp`` is the vector with ``w`` on the
``own`` feature and ``-(1 - w)`` on the ``opp`` one.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evoengine.errors import ConfigError
from evoengine.io import read_input_text

KINDS = ("article", "weights")


@dataclass(frozen=True)
class HeuristicSpace:
    """How a genome maps to one weight per game feature."""

    kind: str
    game_features: tuple[str, ...]
    chosen: tuple[str, ...]  # article: (own, opp); weights: the tuned features

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"setting 'heuristic': {self.kind!r} is not one of "
                              f"{', '.join(KINDS)}")
        unknown = [f for f in self.chosen if f not in self.game_features]
        if unknown:
            raise ConfigError(f"setting 'features': unknown feature {unknown[0]!r}; this game's "
                              f"features: {', '.join(self.game_features)}")
        if self.kind == "article" and len(self.chosen) != 2:
            raise ConfigError("setting 'features': the article heuristic takes two features, "
                              "[own, opp]")
        if len(set(self.chosen)) != len(self.chosen):
            raise ConfigError("setting 'features': a feature is listed twice")

    @property
    def length(self) -> int:
        return 1 if self.kind == "article" else len(self.chosen)

    @property
    def bounds(self) -> tuple[float, float]:
        return (0.0, 1.0) if self.kind == "article" else (-1.0, 1.0)

    def gene_names(self) -> list[str]:
        return ["w"] if self.kind == "article" else list(self.chosen)

    def full(self, genomes: np.ndarray) -> np.ndarray:
        """One row of weights over all the game's features per genome row."""
        genomes = np.atleast_2d(np.asarray(genomes, dtype=float))
        out = np.zeros((len(genomes), len(self.game_features)))
        index = [self.game_features.index(f) for f in self.chosen]
        if self.kind == "article":
            out[:, index[0]] = genomes[:, 0]
            out[:, index[1]] = -(1.0 - genomes[:, 0])
        else:
            out[:, index] = genomes
        return out

    def describe(self, genome: np.ndarray) -> dict[str, Any]:
        weights = self.full(genome)[0]
        out: dict[str, Any] = {"heuristic": self.kind}
        if self.kind == "article":
            out["w"] = round(float(genome[0]), 6)
            own, opp = self.chosen
            out["formula"] = f"{genome[0]:.4f} * {own} - {1 - genome[0]:.4f} * {opp}"
        out["weights"] = {f: round(float(w), 6) for f, w in zip(self.game_features, weights,
                                                                 strict=True) if w != 0.0}
        return out


def save_heuristic(game: str, size: int | None, weights: dict[str, float],
                   extra: dict[str, Any] | None = None) -> bytes:
    """The JSON a tuned heuristic is kept in (``evoengine play --heuristic`` reads it)."""
    data = {"game": game, "size": size, "weights": weights, **(extra or {})}
    return (json.dumps(data, indent=2) + "\n").encode()


HEURISTIC_LIMIT = 1 << 20  # bytes of a tuned_heuristic.json


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number a weight can be")


def load_heuristic(path: str | Path) -> dict[str, Any]:
    """Read and check a tuned-heuristic JSON file: ``game`` (text), ``size`` (a whole number
    or null), ``weights`` (feature name to finite number) and optionally ``expression``
    (``tree`` text and ``variables``, a list of feature names)."""
    name = f"heuristic file {str(path)!r}"
    text = read_input_text(path, "heuristic file", HEURISTIC_LIMIT)
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name} is not valid JSON: {exc}") from None
    except ValueError as exc:  # NaN, Infinity
        raise ConfigError(f"{name}: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{name} nests too deeply to be a heuristic") from None
    if not isinstance(data, dict) or not isinstance(data.get("weights"), dict) \
            or "game" not in data:
        raise ConfigError(f"{name} needs 'game' and a 'weights' table")
    if not isinstance(data["game"], str):
        raise ConfigError(f"{name}: 'game' must be a game's name, got {_shown(data['game'])}")
    size = data.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int)):
        raise ConfigError(f"{name}: 'size' must be a whole number or null, got {_shown(size)}")
    for feature, weight in data["weights"].items():
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) \
                or not math.isfinite(weight):
            raise ConfigError(f"{name}: the weight of {_shown(feature)} must be a finite "
                              f"number, got {_shown(weight)}")
    expression = data.get("expression")
    if expression is not None:
        variables = expression.get("variables") if isinstance(expression, dict) else None
        if not isinstance(expression, dict) or not isinstance(expression.get("tree"), str) or \
                not (variables is None or (isinstance(variables, list)
                                           and all(isinstance(v, str) for v in variables))):
            raise ConfigError(f"{name}: 'expression' needs a 'tree' string and, optionally, "
                              "'variables', a list of feature names")
    return data


def _shown(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def weights_vector(features: tuple[str, ...], weights: dict[str, float]) -> np.ndarray:
    """A weights table by feature name as a vector over ``features``."""
    unknown = [k for k in weights if k not in features]
    if unknown:
        raise ConfigError(f"unknown feature {unknown[0]!r} in the heuristic; this game's "
                          f"features: {', '.join(features)}")
    return np.array([float(weights.get(f, 0.0)) for f in features])
