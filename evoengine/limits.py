"""Limits on what a setting or an input file may make evoengine allocate.

A number the user gives (a population size, a genome length, a search depth) sizes arrays.
Before they are allocated, :func:`check_memory` compares their size with the memory this
machine has available, so a typo such as ``population_size=1000000000`` is one error line
naming the settings, not a MemoryError after minutes of swapping.
"""

from __future__ import annotations

import os

from evoengine.errors import ConfigError

GiB = 1 << 30
# The share of the available memory one allocation may plan to take: the rest is for the
# kernels' scratch, the problem's own data and the other programs on the machine.
SHARE = 0.5


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux ``MemAvailable``), or None where
    the platform does not say."""
    try:
        with open("/proc/meminfo", "rb") as fh:
            for line in fh:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def memory_share() -> int:
    """The most bytes one input may take: :data:`SHARE` of the memory available (1 TiB where
    the platform does not say)."""
    available = available_memory()
    return int(SHARE * available) if available is not None else 1 << 40


def _gib(n: float) -> str:
    return f"{n / GiB:.1f} GiB" if n >= GiB / 10 else f"{n / (1 << 20):.1f} MiB"


def check_memory(what: str, nbytes: float, available: int | None = None) -> None:
    """Refuse a plan that needs ``nbytes`` when that is more than :data:`SHARE` of the memory
    available.

    :param what: the settings that size it, as the user wrote them, e.g.
        ``"population_size=1000000000 with 6 genes"``.
    :raises ConfigError: one line naming ``what``, the need and what is available.
    """
    available = available_memory() if available is None else available
    if available is None:
        return
    if nbytes > SHARE * available:
        raise ConfigError(f"{what} needs about {_gib(nbytes)} of memory; this machine has "
                          f"{_gib(available)} available (at most {SHARE:.0%} of it is used "
                          "for one run's arrays)")


def check_population(settings, genome) -> None:
    """Refuse settings whose population arrays would not fit: parents and offspring, each
    held about three times over (the population, the selected copy, the varied one)."""
    rows = settings.population_size + (getattr(settings, "offspring_size", None)
                                       or settings.population_size)
    if genome.kind == "tree":  # a node is an opcode and a constant
        length = getattr(settings, "max_size", None) or genome.length
        per_row, genes = 16 * length, f"trees of up to {length} nodes"
    else:
        per_row, genes = genome.dtype.itemsize * genome.length, f"{genome.length} genes"
    check_memory(f"population_size={settings.population_size} with {genes}",
                 3 * rows * per_row)
