"""Reading TSPLIB ``.tsp`` files (Reinelt 1991): node coordinates with EUC_2D distances.

Only what a symmetric EUC_2D instance needs is read: the specification lines (``KEY: value``)
and ``NODE_COORD_SECTION``. Distances follow TSPLIB's rule: Euclidean, rounded to the nearest
integer (``nint``), so tour lengths compare with published optima.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from evoengine.config import check_memory
from evoengine.errors import ConfigError
from evoengine.io import MiB, InputFileError, read_input_text

TSP_LIMIT = 64 * MiB
BUNDLED = ("berlin52",)
# Published optimal tour lengths (TSPLIB's list of solutions).
KNOWN_OPTIMA = {"berlin52": 7542}


@dataclass(frozen=True)
class Instance:
    """A TSPLIB instance: its name and one ``(x, y)`` row per city, in file order."""

    name: str
    coordinates: np.ndarray

    @property
    def distances(self) -> np.ndarray:
        """TSPLIB EUC_2D distances: ``nint(sqrt(dx^2 + dy^2))``, as a ``D x D`` matrix."""
        delta = self.coordinates[:, None, :] - self.coordinates[None, :, :]
        return np.floor(np.sqrt((delta ** 2).sum(axis=2)) + 0.5)

    @property
    def known_optimum(self) -> int | None:
        return KNOWN_OPTIMA.get(self.name)


def parse(text: str, source: str = "<text>") -> Instance:
    """An :class:`Instance` from the text of a ``.tsp`` file; errors name the file and line."""
    spec: dict[str, str] = {}
    rows: list[tuple[int, float, float]] = []
    lines = text.splitlines()
    in_coords = False
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line == "EOF":
            continue
        if in_coords:
            parts = line.split()
            if len(parts) != 3:
                if ":" in line or line.endswith("SECTION"):
                    break  # the next section
                raise ConfigError(f"{source}, line {number}: expected 'index x y', got "
                                  f"{_shown(line)}")
            try:
                row = (int(parts[0]), float(parts[1]), float(parts[2]))
            except ValueError:
                raise ConfigError(f"{source}, line {number}: expected 'index x y', "
                                  f"got {_shown(line)}") from None
            if not (math.isfinite(row[1]) and math.isfinite(row[2])):
                raise ConfigError(f"{source}, line {number}: coordinates must be finite "
                                  f"numbers, got {_shown(line)}")
            rows.append(row)
        elif line.startswith("NODE_COORD_SECTION"):
            in_coords = True
        elif ":" in line:
            key, _, value = line.partition(":")
            spec[key.strip().upper()] = value.strip()
    kind = spec.get("EDGE_WEIGHT_TYPE")
    if kind != "EUC_2D":
        raise ConfigError(f"{source}: EDGE_WEIGHT_TYPE {_shown(kind)} is not supported; "
                          "supported: EUC_2D")
    if spec.get("TYPE", "TSP") != "TSP":
        raise ConfigError(f"{source}: TYPE {_shown(spec['TYPE'])} is not supported; "
                          "supported: TSP")
    if len(rows) < 3:
        raise ConfigError(f"{source}: NODE_COORD_SECTION needs at least 3 cities, "
                          f"found {len(rows)}")
    raw_dimension = spec.get("DIMENSION", str(len(rows)))
    if not (raw_dimension.isascii() and raw_dimension.isdigit() and len(raw_dimension) < 10):
        raise ConfigError(f"{source}: DIMENSION {_shown(raw_dimension)} is not a number of "
                          "cities")
    dimension = int(raw_dimension)
    if dimension != len(rows):
        raise ConfigError(f"{source}: DIMENSION is {dimension} but {len(rows)} cities are listed")
    rows.sort()
    if [r[0] for r in rows] != list(range(1, len(rows) + 1)):
        raise ConfigError(f"{source}: city indices must run 1..{len(rows)} once each")
    # The distance matrix and its intermediate differences: D x D x 3 doubles.
    check_memory(f"{source}: {len(rows)} cities", 24 * len(rows) ** 2)
    name = spec.get("NAME", Path(source).stem)
    return Instance(name, np.array([(x, y) for _, x, y in rows], dtype=float))


def _shown(value, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def load(instance: str) -> Instance:
    """A bundled instance by name (``berlin52``) or a ``.tsp`` file the user points to."""
    if instance in BUNDLED:
        text = resources.files("evoengine_routing").joinpath(f"data/{instance}.tsp")
        return parse(text.read_text(encoding="utf-8"), f"{instance}.tsp")
    try:
        text = read_input_text(instance, "file", TSP_LIMIT)
    except InputFileError as exc:
        raise ConfigError(f"setting 'instance': {instance!r} is neither a bundled instance "
                          f"({', '.join(BUNDLED)}) nor a readable .tsp file: {exc}") from None
    return parse(text, instance)
