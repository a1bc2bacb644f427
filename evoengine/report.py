"""The run folder: what a finished run leaves on disk.

- ``config.toml``: every setting in force, so ``evoengine run PROBLEM -c config.toml`` repeats it;
- ``logbook.csv``: DEAP's logbook, one row per generation;
- ``best.json``: the best solution, its fitness, the hall of fame (the Pareto front with several
  objectives) and how the run ended (schema: ``evoengine/schemas/best.schema.json``);
- ``convergence.png``: best-so-far and population statistics across generations.

Files are written to a temporary name and renamed, so a crash never leaves half a file.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from evoengine.errors import EvoengineError
from evoengine.io import write_atomic
from evoengine.problem import Problem, describe_solution
from evoengine.records import plain as _plain
from evoengine.run import RunResult

__all__ = ["best_json", "logbook_csv", "new_run_folder", "plot_convergence", "write_atomic",
           "write_run_folder"]


def new_run_folder(base: str | Path, problem: str) -> Path:
    """Make and return ``base/<problem>-<timestamp>``, or ``...-2``, ``-3``, ... when runs
    started in the same second (job arrays on a cluster do): the folder is claimed by an
    exclusive ``mkdir``, so two runs never share one, whatever their timing."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(base)
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EvoengineError(f"cannot make the output folder {str(base)!r}: "
                             f"{exc.strerror or exc}") from None
    for n in range(1, 10_000):
        folder = base / (f"{problem}-{stamp}" if n == 1 else f"{problem}-{stamp}-{n}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise EvoengineError(f"cannot make the run folder {str(folder)!r}: "
                                 f"{exc.strerror or exc}") from None
        return folder
    raise EvoengineError(f"{str(base)!r} already holds 10000 run folders of {problem!r} "
                         f"started at {stamp}")


def logbook_csv(logbook) -> str:
    columns: list[str] = []
    for record in logbook:
        for key in record:
            if key not in columns:
                columns.append(key)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for record in logbook:
        writer.writerow([json.dumps(_plain(record.get(c))) if isinstance(record.get(c), list)
                         else record.get(c, "") for c in columns])
    return out.getvalue()


def best_json(problem_name: str, problem: Problem, result: RunResult) -> dict[str, Any]:
    names = [o.name for o in problem.objectives]
    return {
        "problem": problem_name,
        "fitness": dict(zip(names, result.best_fitness.tolist(), strict=True)),
        "senses": {o.name: o.sense for o in problem.objectives},
        "solution": _plain(describe_solution(problem, result.best_genome, result.best_info)),
        "genome": result.best_genome.tolist(),
        # best first; with several objectives (nsga2) the Pareto front
        "hall_of_fame": [{"fitness": dict(zip(names, map(float, ind.fitness.values),
                                              strict=True)),
                          "genome": _plain(list(ind))} for ind in result.hall_of_fame],
        "generations": result.generations,
        "evaluations": result.evaluations,
        "failed_evaluations": result.failures,
        "stopped_because": result.stop_reasons,
        "notes": list(problem.notes),
    }


def plot_convergence(logbook, path: Path, title: str, ylabel: str = "fitness") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gens = logbook.select("gen")
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)

    def column(name):
        return np.array([v if np.isscalar(v) else np.nan for v in logbook.select(name)], float)

    ax.plot(gens, column("best"), lw=2, label="best so far")
    ax.plot(gens, column("max"), lw=1, alpha=0.7, label="generation max")
    ax.plot(gens, column("avg"), lw=1, alpha=0.7, label="generation mean")
    ax.plot(gens, column("min"), lw=1, alpha=0.7, label="generation min")
    ax.set_xlabel("generation")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    write_atomic(path, buf.getvalue())


def write_run_folder(folder: Path, settings: dict[str, Any], problem_name: str,
                     problem: Problem, result: RunResult) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    clean = {k: _plain(v) for k, v in settings.items() if v is not None}
    write_atomic(folder / "config.toml", tomli_w.dumps(clean).encode())
    write_atomic(folder / "logbook.csv", logbook_csv(result.logbook).encode())
    best = best_json(problem_name, problem, result)
    write_atomic(folder / "best.json", (json.dumps(best, indent=2) + "\n").encode())
    first = problem.objectives[0]
    plot_convergence(result.logbook, folder / "convergence.png", f"evoengine: {problem_name}",
                     f"{first.name} ({first.sense})")
