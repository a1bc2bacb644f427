"""Keeping genes inside the genome's bounds after variation.

Three strategies, chosen by the ``bounds_strategy`` setting:

- ``clip``: an out-of-range gene is set to the bound it crossed;
- ``reflect``: it bounces back off that bound by as much as it overshot (folded again if it
  overshoots the whole range), so genes do not pile up on the bounds;
- ``resample``: it is redrawn uniformly inside the bounds (integers for integer genomes); with
  an infinite bound on that gene it is clipped instead.

Infinite bounds leave genes alone. Row ``i`` draws from ``stream(seed, i)``.
"""

import numpy as np
from numba import prange

from evoengine.operators.compile import population_kernel
from evoengine.operators.streams import below, new_seed, stream, uniform

BOUND_STRATEGIES = ("clip", "reflect", "resample")


@population_kernel
def _reflect(genomes, low, high):
    n, d = genomes.shape
    for i in prange(n):
        for j in range(d):
            x, lo, hi = genomes[i, j], low[j], high[j]
            if lo <= x <= hi:
                continue
            if np.isfinite(lo) and np.isfinite(hi):
                width = hi - lo
                if width == 0:
                    genomes[i, j] = lo
                    continue
                y = (x - lo) % (2 * width)  # fold: the bounds act as two mirrors
                genomes[i, j] = lo + (y if y <= width else 2 * width - y)
            elif x < lo:
                genomes[i, j] = 2 * lo - x
            else:
                genomes[i, j] = 2 * hi - x


@population_kernel
def _resample(genomes, low, high, integral, seed):
    n, d = genomes.shape
    for i in prange(n):
        s = stream(seed, i)
        for j in range(d):
            x, lo, hi = genomes[i, j], low[j], high[j]
            if lo <= x <= hi:
                continue
            if not (np.isfinite(lo) and np.isfinite(hi)):
                genomes[i, j] = min(max(x, lo), hi)
            elif integral:
                s, k = below(s, np.int64(hi - lo) + 1)
                genomes[i, j] = lo + k
            else:
                s, u = uniform(s)
                genomes[i, j] = lo + u * (hi - lo)


def apply_bounds(genomes: np.ndarray, low: np.ndarray, high: np.ndarray,
                 strategy: str = "clip", rng: np.random.Generator | None = None) -> None:
    """Bring every gene back into ``[low, high]`` in place (``rng`` is needed by resample)."""
    if strategy not in BOUND_STRATEGIES:
        raise ValueError(f"bounds strategy {strategy!r} is not one of {BOUND_STRATEGIES}")
    if strategy == "clip":
        # unsafe: integer genomes against float (maybe infinite) bounds, values stay whole
        np.clip(genomes, low, high, out=genomes, casting="unsafe")
        return
    d = genomes.shape[1]
    low = np.broadcast_to(np.asarray(low, dtype=np.float64), (d,)).copy()
    high = np.broadcast_to(np.asarray(high, dtype=np.float64), (d,)).copy()
    if strategy == "reflect":
        _reflect(len(genomes), genomes, low, high)
        return
    if rng is None:
        raise ValueError("the resample bounds strategy needs the run's random generator")
    integral = np.issubdtype(genomes.dtype, np.integer)
    _resample(len(genomes), genomes, low, high, integral, new_seed(rng))
