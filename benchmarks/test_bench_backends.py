"""Evaluation backends: throughput of ``processes`` against ``serial``, and Ray's overhead.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_backends.py --benchmark-enable -s``.
The expensive problem burns about 50 ms of CPU per evaluation (a fixed amount of work,
calibrated once, so it is CPU-bound like a real fitness, not a sleep); the cheap one is the
sphere. Pools and Ray are started before timing: a run keeps them for all its generations.
The ratios are printed at the end (``-s``) and stored in each benchmark's ``extra_info``.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pytest

from evoengine.backends.processes import ProcessesBackend
from evoengine.backends.serial import SerialBackend
from evoengine.problem import Genome, Problem

EVALUATION_S = 0.05
EXPENSIVE_ROWS = 16
CHEAP_ROWS = 2000
RESULTS: dict[str, float] = {}


def _burn(iterations: int) -> float:
    total = 0.0
    for k in range(iterations):
        total += (k % 7) * 0.5
    return total


def _calibrate(seconds: float) -> int:
    iterations = 100_000
    while True:
        start = time.perf_counter()
        _burn(iterations)
        took = time.perf_counter() - start
        if took > 0.02:
            return int(iterations * seconds / took)
        iterations *= 2


class Expensive(Problem):
    """About 50 ms of pure-Python work per evaluation."""

    def __init__(self, iterations: int) -> None:
        super().__init__(genome=Genome("real", 4, -1.0, 1.0))
        self.iterations = iterations

    def evaluate_one(self, genome):
        return _burn(self.iterations) * 0.0 + float(genome.sum())


class Cheap(Problem):
    """The sphere, batched in NumPy: microseconds per evaluation."""

    def __init__(self) -> None:
        super().__init__(genome=Genome("real", 4, -1.0, 1.0))

    def evaluate(self, genomes):
        return (genomes ** 2).sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def expensive():
    return Expensive(_calibrate(EVALUATION_S))


@pytest.fixture(scope="module")
def genomes():
    rng = np.random.default_rng(0)
    return {"expensive": rng.uniform(-1, 1, (EXPENSIVE_ROWS, 4)),
            "cheap": rng.uniform(-1, 1, (CHEAP_ROWS, 4))}


def _measure(benchmark, key, backend, batch, rounds=3):
    backend(batch[:2])  # workers up and warm
    outcome = benchmark.pedantic(backend, args=(batch,), rounds=rounds, iterations=1)
    assert not outcome.failures and np.isfinite(outcome.fitness).all()
    RESULTS[key] = benchmark.stats.stats.mean
    benchmark.extra_info["seconds_per_row"] = RESULTS[key] / len(batch)


@pytest.mark.benchmark(group="expensive: 16 evaluations of 50 ms")
def test_serial_expensive(benchmark, expensive, genomes):
    _measure(benchmark, "serial_expensive", SerialBackend(expensive), genomes["expensive"])


@pytest.mark.benchmark(group="expensive: 16 evaluations of 50 ms")
def test_processes_expensive(benchmark, expensive, genomes):
    with ProcessesBackend(expensive, workers=2) as pool:
        _measure(benchmark, "processes_expensive", pool, genomes["expensive"])
    benchmark.extra_info["speedup_vs_serial"] = (RESULTS["serial_expensive"]
                                                 / RESULTS["processes_expensive"])


@pytest.mark.benchmark(group="cheap: 2000 sphere evaluations")
def test_serial_cheap(benchmark, genomes):
    _measure(benchmark, "serial_cheap", SerialBackend(Cheap()), genomes["cheap"], rounds=20)


@pytest.mark.benchmark(group="cheap: 2000 sphere evaluations")
def test_processes_cheap(benchmark, genomes):
    with ProcessesBackend(Cheap(), workers=2) as pool:
        _measure(benchmark, "processes_cheap", pool, genomes["cheap"], rounds=20)


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'evoengine[ray]')")
    here = os.path.dirname(os.path.abspath(__file__))
    os.environ["PYTHONPATH"] = os.pathsep.join([here, *filter(None, sys.path)])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             _node_ip_address="127.0.0.1")
    yield ray
    ray.shutdown()


@pytest.mark.benchmark(group="expensive: 16 evaluations of 50 ms")
@pytest.mark.parametrize("batch_size", [1, 8])
def test_ray_expensive(benchmark, local_ray, expensive, genomes, batch_size):
    from evoengine.backends.ray import RayBackend

    backend = RayBackend(expensive, batch_size=batch_size)
    _measure(benchmark, f"ray_expensive_batch{batch_size}", backend, genomes["expensive"])
    benchmark.extra_info["batch_size"] = batch_size


def test_report(capsys):
    """Print the ratios the README's table quotes."""
    if "processes_expensive" not in RESULTS:
        pytest.skip("run with --benchmark-enable")
    ideal = RESULTS["serial_expensive"] / 2  # two cores, no overhead
    lines = [
        f"processes vs serial, 50 ms evaluations: "
        f"{RESULTS['serial_expensive'] / RESULTS['processes_expensive']:.2f}x faster",
        f"processes overhead per cheap evaluation: "
        f"{(RESULTS['processes_cheap'] - RESULTS['serial_cheap']) / CHEAP_ROWS * 1e6:.1f} us "
        f"(serial: {RESULTS['serial_cheap'] / CHEAP_ROWS * 1e6:.2f} us per evaluation)",
        f"processes overhead against the 2-core ideal: "
        f"{RESULTS['processes_expensive'] / ideal - 1:+.1%}",
    ]
    for size in (1, 8):
        key = f"ray_expensive_batch{size}"
        if key in RESULTS:
            tasks = -(-EXPENSIVE_ROWS // size)
            extra = RESULTS[key] - RESULTS["processes_expensive"]
            lines.append(f"ray, batch_size={size}: {RESULTS[key] / ideal - 1:+.1%} against the "
                         f"2-core ideal; {extra / tasks * 1e3:+.1f} ms per task against "
                         f"processes")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
