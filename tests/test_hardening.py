"""Hostile and broken inputs done for real (issue 11): each gets one clear answer, exit code 2
through the CLI, and nothing is lost or written where it should not be."""

from __future__ import annotations

import numpy as np
import pytest
import faulty_plugin as faulty
from click.testing import CliRunner

from evoengine.algorithms.base import NO_VALID_PATIENCE
from evoengine.cli import main
from evoengine.config import AlgorithmSettings
from evoengine.errors import NoValidSolutionError
from evoengine.plugins import load_plugins
from evoengine.run import make_optimizer, optimize, prepare


def cli(*args: str):
    """Run the ``evoengine`` command in this process; returns click's result."""
    return CliRunner().invoke(main, list(args), catch_exceptions=True)


def one_error_line(result) -> str:
    """The single ``error:`` line of a refused command (exit code 2, no traceback)."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def _faulty_run(backend="serial", **values):
    loaded = load_plugins(extra={"faulty": faulty}, only=[])
    base = {"seed": 3, "population_size": 12, "generations": 6, "backend": backend}
    prepared = prepare(loaded.registry.get("faulty"), {**base, **values})
    return optimize(prepared.problem, prepared.settings, problem_name="faulty")


# --- 1. a generation in which every evaluation fails -----------------------------------------

@pytest.mark.parametrize("expression, bounds", [
    ("sqrt(x1)", "[-4,-1]"), ("x1/0", "[-4,4]"), ("0/0+x1", "[-4,4]"), ("log(0)*x1", "[-4,4]"),
])
def test_expression_that_is_never_valid_stops_with_one_clear_line(expression, bounds, tmp_path):
    result = cli("run", "equation", "-q", "--out", str(tmp_path), "--set",
                 f"expression={expression}", "--set", f"bounds={bounds}", "--seed", "1")
    line = one_error_line(result)
    assert "no valid individual" in line and "evaluations failed" in line


@pytest.mark.parametrize("backend", ["serial", "processes"])
def test_problem_whose_every_row_fails_stops_after_the_patience(backend):
    # nan_above=-2: every row NaN; raise_above with mark_failed: every row raises.
    for fault in ({"nan_above": -2.0}, {"raise_above": -2.0, "on_error": "mark_failed"}):
        with pytest.raises(NoValidSolutionError, match="no valid individual"):
            _faulty_run(backend, generations=50, workers=2, **fault)


def test_all_failed_generation_in_the_middle_is_recorded_and_the_run_goes_on():
    problem = faulty.Faulty(faulty.FaultySettings())
    for selection in ("tournament", "roulette", "sus", "rank", "best", "random"):
        settings = AlgorithmSettings(population_size=10, generations=6, seed=2,
                                     selection=selection)
        opt = make_optimizer(problem, settings)
        while not opt.stop():
            genomes = opt.ask()
            fitness = (genomes ** 2).sum(axis=1, keepdims=True)
            if opt.generation + 1 in (2, 3):  # generations 2 and 3: every evaluation fails
                fitness[:] = np.nan
            opt.tell(fitness)
        failed = opt.logbook.select("failed")
        nevals = opt.logbook.select("nevals")
        assert failed[2] == nevals[2] and failed[3] == nevals[3]
        assert opt.generation == 6 and np.isfinite(opt.best[1]).all()


def test_resume_from_an_all_failed_generation_continues_as_the_run():
    problem = faulty.Faulty(faulty.FaultySettings(nan_above=-2.0))
    settings = AlgorithmSettings(population_size=8, generations=30, seed=5)
    straight = make_optimizer(problem, settings)
    with pytest.raises(NoValidSolutionError):
        optimize(problem, settings, optimizer=straight)
    first = make_optimizer(problem, settings)
    for _ in range(3):
        first.tell(problem.evaluate(first.ask()))
    values, arrays = first.export_state()
    resumed = make_optimizer(problem, settings)
    resumed.restore_state(values, arrays)
    with pytest.raises(NoValidSolutionError):
        optimize(problem, settings, optimizer=resumed)
    assert resumed.generation == straight.generation == NO_VALID_PATIENCE - 1
    assert resumed.evaluations == straight.evaluations
