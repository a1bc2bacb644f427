"""Reading TSPLIB ``.tsp`` files (Reinelt 1991): node coordinates with EUC_2D distances.

Only what a symmetric EUC_2D instance needs is read: the specification lines (``KEY: value``)
and ``NODE_COORD_SECTION``. Distances follow TSPLIB's rule: Euclidean, rounded to the nearest
integer (``nint``), so tour lengths compare with published optima.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from evoengine.errors import ConfigError

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
                raise ConfigError(f"{source}, line {number}: expected 'index x y', got {line!r}")
            try:
                rows.append((int(parts[0]), float(parts[1]), float(parts[2])))
            except ValueError:
                raise ConfigError(f"{source}, line {number}: expected 'index x y', "
                                  f"got {line!r}") from None
        elif line.startswith("NODE_COORD_SECTION"):
            in_coords = True
        elif ":" in line:
            key, _, value = line.partition(":")
            spec[key.strip().upper()] = value.strip()
    kind = spec.get("EDGE_WEIGHT_TYPE")
    if kind != "EUC_2D":
        raise ConfigError(f"{source}: EDGE_WEIGHT_TYPE {kind!r} is not supported; "
                          "supported: EUC_2D")
    if spec.get("TYPE", "TSP") != "TSP":
        raise ConfigError(f"{source}: TYPE {spec['TYPE']!r} is not supported; supported: TSP")
    if len(rows) < 3:
        raise ConfigError(f"{source}: NODE_COORD_SECTION needs at least 3 cities, "
                          f"found {len(rows)}")
    dimension = int(spec.get("DIMENSION", len(rows)))
    if dimension != len(rows):
        raise ConfigError(f"{source}: DIMENSION is {dimension} but {len(rows)} cities are listed")
    rows.sort()
    if [r[0] for r in rows] != list(range(1, len(rows) + 1)):
        raise ConfigError(f"{source}: city indices must run 1..{len(rows)} once each")
    name = spec.get("NAME", Path(source).stem)
    return Instance(name, np.array([(x, y) for _, x, y in rows], dtype=float))


def load(instance: str) -> Instance:
    """A bundled instance by name (``berlin52``) or a ``.tsp`` file the user points to."""
    if instance in BUNDLED:
        text = resources.files("evoengine_routing").joinpath(f"data/{instance}.tsp")
        return parse(text.read_text(encoding="utf-8"), f"{instance}.tsp")
    path = Path(instance)
    if not path.is_file():
        raise ConfigError(f"setting 'instance': {instance!r} is neither a bundled instance "
                          f"({', '.join(BUNDLED)}) nor a .tsp file")
    return parse(path.read_text(encoding="utf-8"), str(path))
