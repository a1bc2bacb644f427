"""A throwaway plugin whose problem fails on purpose; used by the backend, checkpoint and fault
tests (this module holds no tests of its own).

In process it is registered with ``load_plugins(extra={"faulty": module})``; for the CLI in a
subprocess, :func:`install` writes a ``dist-info`` folder with its entry point, exactly what pip
would install, so ``evoengine`` finds it like any third-party plugin.

The problem is the sphere in three genes on [-1, 1], minimized. Each fault fires when the first
gene is above a threshold (settings; for runs), or on a code value outside the bounds (for
calling a backend directly with chosen genomes): 10 raises, 11 returns NaN, 12 returns -inf,
13 exits the worker (``os._exit``), 14 segfaults, 15 hangs.

``hang_once_when``/``hang_once_marker`` make a run stop at a known point without any timing:
the first evaluation that finds a file matching the glob claims the marker (created atomically,
holding the process id) and hangs until it is killed or interrupted; later evaluations, and a
resumed run, find the marker taken and go on.
"""

from __future__ import annotations

import ctypes
import glob
import os
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

import evoengine
from evoengine import Genome, Objective, Problem

__version__ = "0.1.0"
RAISE, NAN, INF, EXIT, SEGFAULT, HANG = 10.0, 11.0, 12.0, 13.0, 14.0, 15.0


class FaultySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sleep: float = 0.0  # seconds per evaluation
    sleep_per_batch: float = 0.0  # seconds per call of evaluate
    raise_above: float = 2.0
    nan_above: float = 2.0
    inf_above: float = 2.0  # returns -inf, which would be the best of a minimization
    exit_above: float = 2.0
    crash_once_file: str | None = None  # exit the first time only (the file marks it)
    hang_once_when: str | None = None  # a glob: hang once a file matches it
    hang_once_marker: str = "hung"  # claimed by the evaluation that hangs


class Faulty(Problem):
    def __init__(self, settings: FaultySettings) -> None:
        self.settings = settings
        super().__init__(genome=Genome("real", 3, -1.0, 1.0),
                         objectives=(Objective("f", "minimize"),),
                         defaults={"population_size": 12, "generations": 6})

    def evaluate(self, genomes: np.ndarray) -> np.ndarray:
        time.sleep(self.settings.sleep_per_batch)
        if self.settings.hang_once_when and glob.glob(self.settings.hang_once_when):
            _hang_once(self.settings.hang_once_marker)
        return super().evaluate(genomes)

    def evaluate_one(self, genome: np.ndarray) -> float:
        s, x = self.settings, float(genome[0])
        if s.sleep:
            time.sleep(s.sleep)
        if x == RAISE or s.raise_above < x <= 1.0:
            raise ValueError(f"x1 = {x:.4g} is outside the model's range")
        if x == NAN or s.nan_above < x <= 1.0:
            return float("nan")
        if x == INF or s.inf_above < x <= 1.0:
            return float("-inf")
        if x == EXIT or s.exit_above < x <= 1.0:
            os._exit(3)
        if x == SEGFAULT:
            ctypes.string_at(0)  # reads address 0: SIGSEGV
        if x == HANG:
            time.sleep(3600)
        if s.crash_once_file and not os.path.exists(s.crash_once_file):
            Path(s.crash_once_file).touch()
            os._exit(3)
        return float(np.sum(genome ** 2))


def _hang_once(marker: str) -> None:
    try:
        claimed = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return  # another evaluation, or the run before a resume, took the hang
    os.write(claimed, str(os.getpid()).encode())
    os.close(claimed)
    time.sleep(3600)


@evoengine.hookimpl
def evoengine_register_problems(registry):
    registry.add("faulty", Faulty, settings=FaultySettings,
                 summary="sphere that fails on purpose (tests)")


def install(site: Path, version: str = __version__) -> Path:
    """Make this module an installed plugin ``faulty`` of ``version`` for a subprocess whose
    PYTHONPATH holds ``site`` and this folder; returns the dist-info folder."""
    info = site / "evoengine_faulty-0.1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: evoengine-faulty\nVersion: {version}\n")
    (info / "entry_points.txt").write_text("[evoengine]\nfaulty = faulty_plugin\n")
    return info


def subprocess_env(site: Path) -> dict[str, str]:
    """Environment for the CLI in a subprocess: the throwaway plugin, no other plugin."""
    from importlib.metadata import entry_points

    env = dict(os.environ)
    here = str(Path(__file__).resolve().parent)
    env["PYTHONPATH"] = os.pathsep.join([str(site), here, env.get("PYTHONPATH", "")])
    others = {ep.name for ep in entry_points(group="evoengine")} - {"faulty"}
    env["EVOENGINE_DISABLE_PLUGINS"] = ",".join(sorted(others)) or "0"
    env["COLUMNS"] = "200"
    return env
