"""Keeping genes inside the genome's bounds after variation."""

import numpy as np

BOUND_STRATEGIES = ("clip",)


def apply_bounds(genomes: np.ndarray, low: np.ndarray, high: np.ndarray,
                 strategy: str = "clip") -> None:
    """Bring every gene back into ``[low, high]`` in place (infinite bounds leave genes alone)."""
    if strategy != "clip":
        raise ValueError(f"bounds strategy {strategy!r} is not one of {BOUND_STRATEGIES}")
    np.clip(genomes, low, high, out=genomes)
