"""Faults done for real: fitness that raises, NaN and -inf, workers that exit, segfault, are
killed or hang. The run survives each as the policy says."""

from __future__ import annotations

import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import faulty_plugin as faulty
from faulty_plugin import Faulty, FaultySettings
from helpers import prepare_faulty

from evoengine import Genome
from evoengine.backends import BackendError, EvaluationError
from evoengine.backends.processes import ProcessesBackend
from evoengine.config import AlgorithmSettings
from evoengine.errors import ConfigError
from evoengine.run import optimize


def _run(backend="serial", **values):
    """A run of the plugin's problem, built the way the CLI builds it."""
    prepared = prepare_faulty(seed=3, population_size=12, generations=6, backend=backend,
                              **values)
    return optimize(prepared.problem, prepared.settings, problem_name="faulty")


@pytest.fixture(scope="module")
def pool():
    """One pool for the direct tests: two workers, one retry, half a second per evaluation."""
    with ProcessesBackend(Faulty(FaultySettings()), workers=2, batch_size=4,
                          eval_timeout=0.5, max_retries=1) as backend:
        yield backend


def _batch(*first_genes):
    genomes = np.zeros((len(first_genes), 3))
    genomes[:, 0] = first_genes
    return genomes


def test_fitness_that_raises_stops_the_run_naming_problem_individual_and_error():
    with pytest.raises(EvaluationError) as caught:
        _run(raise_above=0.6)
    message = str(caught.value)
    assert "problem 'faulty'" in message
    assert "individual " in message and "genome [" in message
    assert "raised ValueError: x1 = " in message and "outside the model's range" in message
    assert "on_error=\"mark_failed\"" in message


def test_fitness_that_raises_is_marked_failed_and_counted_when_asked():
    result = _run(raise_above=0.6, on_error="mark_failed")
    failed = result.logbook.select("failed")
    assert sum(failed) > 0 and sum(failed) == result.failures
    assert result.generations == 6  # the run went on
    assert np.isfinite(result.best_fitness).all() and result.best_genome[0] <= 0.6


@pytest.mark.parametrize("setting", ["nan_above", "inf_above"])
def test_nan_and_minus_inf_are_failed_and_never_best(setting):
    # -inf would be the best value of a minimization if it were taken as a number.
    result = _run(**{setting: 0.6})
    assert result.failures > 0
    assert sum(result.logbook.select("failed")) == result.failures
    assert np.isfinite(result.best_fitness).all() and result.best_genome[0] <= 0.6
    assert all(np.isfinite(ind.fitness.values).all() for ind in result.hall_of_fame)
    assert all(np.isfinite(v) for v in result.logbook.select("min"))


def test_worker_that_exits_is_replaced_and_its_individual_marked_failed(pool):
    replaced = pool.replaced
    outcome = pool(_batch(0.5, faulty.EXIT, 0.25, faulty.RAISE, 0.1))
    assert outcome.fitness[[0, 2, 4], 0].tolist() == [0.25, 0.0625, 0.010000000000000002]
    assert sorted(outcome.failures) == [1, 3]
    crash = outcome.failures[1]
    assert crash.kind == "crashed" and "exit code 3" in crash.message
    assert "tried 2 times" in crash.message  # max_retries=1: the first try and one retry
    assert outcome.failures[3].kind == "raised"
    assert pool.replaced - replaced == 3  # the batch's try, the row alone, its retry
    assert pool(_batch(0.5)).fitness.tolist() == [[0.25]]  # the pool goes on


def test_segfault_in_a_worker_is_survived(pool):
    outcome = pool(_batch(faulty.SEGFAULT, 0.5))
    assert outcome.fitness[1, 0] == 0.25
    assert outcome.failures[0].kind == "crashed"
    assert "SIGSEGV" in outcome.failures[0].message


def test_evaluation_that_hangs_is_stopped_by_the_timeout(pool):
    start = time.monotonic()
    outcome = pool(_batch(0.5, faulty.HANG, 0.1))
    assert time.monotonic() - start < 30  # the 0.5 s timeout, with room for a loaded machine
    assert outcome.fitness[0, 0] == 0.25 and outcome.fitness[2, 0] == pytest.approx(0.01)
    assert outcome.failures[1].kind == "timeout"
    assert "eval_timeout=0.5 s" in outcome.failures[1].message
    assert pool(_batch(0.5)).fitness.tolist() == [[0.25]]


def test_worker_that_dies_once_is_retried_and_the_run_matches_serial(tmp_path):
    marker = tmp_path / "crashed-once"
    serial = _run()
    survived = _run("processes", workers=2, crash_once_file=str(marker))
    assert marker.exists()  # a worker really died
    assert survived.failures == 0
    assert survived.best_fitness.tolist() == serial.best_fitness.tolist()
    assert [dict(r) for r in survived.logbook] == [dict(r) for r in serial.logbook]


def test_worker_killed_from_outside_is_retried_on_a_fresh_one(tmp_path):
    # The first evaluation hangs until killed, so the kill lands mid-batch on any machine.
    marker = tmp_path / "hung"
    problem = Faulty(FaultySettings(hang_once_when=str(tmp_path), hang_once_marker=str(marker)))
    with ProcessesBackend(problem, workers=2, batch_size=2) as backend:
        workers = {w.process.pid for w in backend.workers}
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(backend, _batch(0.5, 0.25, 0.1, 0.2))
            victim = wait_for_pid(marker, running)
            assert victim in workers
            os.kill(victim, signal.SIGKILL)  # as the OOM killer would
            outcome = running.result(timeout=120)
        assert backend.replaced >= 1
    assert outcome.failures == {}
    assert outcome.fitness[:, 0].tolist() == pytest.approx([0.25, 0.0625, 0.01, 0.04])


def wait_for_pid(marker, running, deadline_s=60.0):
    """The process id the hanging evaluation wrote into ``marker``. The deadline is only a
    guard against a broken backend; nothing is timed."""
    deadline = time.monotonic() + deadline_s
    while not (marker.exists() and marker.read_text()):
        assert not running.done(), running.result()
        assert time.monotonic() < deadline, "no evaluation started"
        time.sleep(0.01)
    return int(marker.read_text())


def test_timeout_needs_a_backend_that_can_stop_an_evaluation():
    with pytest.raises(ConfigError, match="eval_timeout' needs backend 'processes' or 'ray'"):
        from evoengine.config import validate

        validate(AlgorithmSettings, {"eval_timeout": 5})


def test_worker_that_cannot_rebuild_the_problem_is_one_clear_error(tmp_path, monkeypatch):
    # A problem whose module the workers cannot import (here: its folder leaves sys.path).
    (tmp_path / "vanishing_problem.py").write_text(
        "from evoengine import Genome, Problem\n"
        "class Vanishing(Problem):\n"
        "    def evaluate_one(self, genome):\n"
        "        return 0.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from vanishing_problem import Vanishing

    problem = Vanishing(genome=Genome("real", 2, -1.0, 1.0))
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(tmp_path)])
    with pytest.raises(BackendError, match="a worker could not rebuild the problem: "
                                           "ModuleNotFoundError: No module named "
                                           "'vanishing_problem'"):
        with ProcessesBackend(problem, workers=1) as backend:
            backend(np.zeros((2, 2)))


def test_a_tree_problem_that_raises_is_reported_with_its_own_message():
    """GP genomes are (code, const) nodes, not numbers: the message must still name the error."""
    from evoengine import Objective
    from evoengine.config import GPSettings
    from evoengine.gp import PrimitiveSet, TreeProblem

    primitives = PrimitiveSet(["x"])
    primitives.add_builtin("add", "mul")

    def broken(trees):
        raise ZeroDivisionError("the user's fitness divided by zero")

    problem = TreeProblem(primitives, fitness=broken, objectives=(Objective("f", "minimize"),))
    with pytest.raises(EvaluationError, match="ZeroDivisionError.*divided by zero"):
        optimize(problem, GPSettings(population_size=8, generations=2, seed=1))
