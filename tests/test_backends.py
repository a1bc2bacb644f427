"""Backends: the same run on every backend, batching, and what happens when one is missing."""

from __future__ import annotations

import importlib.util
import os
import sys
import time

import numpy as np
import pytest
import faulty_plugin as faulty
from faulty_plugin import Faulty, FaultySettings
from helpers import same_run

from evoengine.backends import BackendError, open_backend
from evoengine.backends.base import evaluate_guarded, split_rows
from evoengine.backends.processes import ProcessesBackend
from evoengine.backends.serial import SerialBackend
from evoengine.config import AlgorithmSettings
from evoengine.problem import Genome, Objective, Problem
from evoengine.run import optimize


def _settings(**values) -> AlgorithmSettings:
    base = {"population_size": 12, "generations": 6, "seed": 7, "crossover": "blend",
            "hall_of_fame_size": 3}
    return AlgorithmSettings(**{**base, **values})


def test_split_rows_covers_every_row_once_in_order():
    for n, size, workers in [(0, None, 2), (1, None, 2), (13, None, 2), (13, 5, 2), (8, 1, 3)]:
        parts = split_rows(n, size, workers)
        joined = np.concatenate(parts) if parts else np.array([], int)
        assert joined.tolist() == list(range(n))
        if size:
            assert all(len(p) <= size for p in parts)
    assert len(split_rows(100, None, 2)) == 8  # about four tasks per worker


def test_evaluate_guarded_keeps_valid_rows_when_the_batch_raises():
    problem = Faulty(FaultySettings())
    genomes = np.array([[0.5, 0, 0], [faulty.RAISE, 0, 0], [0.1, 0.2, 0]])
    outcome = evaluate_guarded(problem, genomes)
    assert outcome.fitness[[0, 2], 0].tolist() == [0.25, 0.1 ** 2 + 0.2 ** 2]
    assert np.isnan(outcome.fitness[1, 0])
    assert list(outcome.failures) == [1]
    assert outcome.failures[1].kind == "raised"
    assert "ValueError: x1 = 10" in outcome.failures[1].message


@pytest.mark.parametrize("algorithm", ["ea_simple", "mu_plus_lambda"])
def test_processes_backend_gives_the_run_serial_gives(algorithm):
    problem = Faulty(FaultySettings())
    serial = optimize(problem, _settings(algorithm=algorithm))
    parallel = optimize(problem, _settings(algorithm=algorithm, backend="processes",
                                           workers=2, batch_size=5))
    same_run(serial, parallel)


def test_processes_backend_matches_serial_row_for_row():
    problem = Faulty(FaultySettings())
    genomes = np.random.default_rng(1).uniform(-1, 1, size=(11, 3))
    with ProcessesBackend(problem, workers=2, batch_size=3) as pool:
        outcome = pool(genomes)
        again = pool(genomes[:1])  # the pool lives on between batches
    assert outcome.failures == {} and again.failures == {}
    assert outcome.fitness.tolist() == SerialBackend(problem)(genomes).fitness.tolist()
    assert again.fitness.tolist() == outcome.fitness[:1].tolist()


class _Unpicklable(Problem):
    def __init__(self):
        super().__init__(genome=Genome("real", 2, -1.0, 1.0))
        self.fitness = lambda g: float(g.sum())  # a lambda does not pickle

    def evaluate_one(self, genome):
        return self.fitness(genome)


def test_processes_backend_refuses_a_problem_it_cannot_send():
    with pytest.raises(BackendError, match="_Unpicklable cannot be pickled.*module level"):
        open_backend(_Unpicklable(), _settings(backend="processes", workers=1))


def test_ray_backend_without_ray_gives_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what a missing package looks like
    with pytest.raises(BackendError, match=r"pip install 'evoengine\[ray\]'"):
        open_backend(Faulty(FaultySettings()), _settings(backend="ray"))


def test_ray_is_not_imported_unless_chosen():
    import subprocess

    code = ("import sys; from evoengine.run import optimize; import evoengine.backends; "
            "import evoengine.cli; print('ray' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


class GpuProbe(Problem):
    """Reports which GPU Ray gave it, and whether another task held that GPU at the same time:
    a task holds a lock file per GPU, created atomically, while it runs (no clocks compared)."""

    def __init__(self, folder):
        super().__init__(genome=Genome("real", 1, 0.0, 1.0),
                         objectives=(Objective("gpu"), Objective("shared")))
        self.folder = str(folder)

    def evaluate_one(self, genome):
        import ray

        ids = ray.get_gpu_ids()
        gpu = float(ids[0]) if len(ids) == 1 else -1.0
        lock = os.path.join(self.folder, f"gpu-{gpu:g}")
        try:
            held = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return [gpu, 1.0]
        time.sleep(0.2)  # hold the GPU long enough for the other tasks to be placed meanwhile
        os.close(held)
        os.remove(lock)
        return [gpu, 0.0]


@pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                    reason="ray is not installed (pip install 'evoengine[ray]')")
def test_ray_backend_on_a_local_instance_gives_the_same_run_and_survives_faults(monkeypatch,
                                                                              tmp_path):
    from evoengine.backends.ray import import_ray

    ray = import_ray(local=True)  # bound to loopback only
    # Ray's workers inherit this environment: they import the test plugin as this process does.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in sys.path if p))
    # Two GPUs declared as resources: Ray does the placement exactly as on real GPUs.
    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, log_to_driver=False)
    try:
        assert ray.util.get_node_ip_address() == "127.0.0.1"
        problem = Faulty(FaultySettings())
        serial = optimize(problem, _settings())
        on_ray = optimize(problem, _settings(backend="ray", batch_size=4))
        same_run(serial, on_ray)

        genomes = np.array([[0.5, 0, 0], [faulty.RAISE, 0, 0], [faulty.EXIT, 0, 0],
                            [0.1, 0, 0]])
        with open_backend(problem, _settings(backend="ray", batch_size=4,
                                             max_retries=0)) as backend:
            outcome = backend(genomes)
        assert outcome.fitness[[0, 3], 0].tolist() == [0.25, 0.1 ** 2]
        assert outcome.failures[1].kind == "raised"
        assert outcome.failures[2].kind == "crashed"
        assert sorted(outcome.failures) == [1, 2]
        assert ray.is_initialized()  # the backend leaves a Ray it did not start running

        with open_backend(GpuProbe(tmp_path), _settings(backend="ray", batch_size=1,
                                                        eval_cpus=0.5, eval_gpus=1)) as backend:
            outcome = backend(np.zeros((6, 1)))
        gpu, shared = outcome.fitness.T
        assert not outcome.failures and set(gpu) <= {0.0, 1.0}  # one GPU each
        assert shared.tolist() == [0.0] * 6  # no two tasks held the same GPU at once
    finally:
        ray.shutdown()
