"""Evaluation backends: throughput of ``processes`` against ``serial``, and Ray's overhead.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_backends.py --benchmark-enable -s``.
The expensive problem burns about 50 ms of CPU per evaluation (a fixed amount of work,
calibrated once, so it is CPU-bound like a real fitness, not a sleep); the cheap one is the
sphere. The backends' own overhead per task (processes against Ray) is measured with
evaluations that wait 50 ms without using the CPU, so a busy machine does not hide it.
Pools and Ray are started before timing: a run keeps them for all its generations. The
ratios are printed at the end (``-s``).
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


class Waiting(Problem):
    """50 ms of waiting per evaluation (an accelerator, a simulator in another process): no CPU
    is used, so the time above the ideal is the backend's own overhead, even on a busy machine."""

    def __init__(self) -> None:
        super().__init__(genome=Genome("real", 4, -1.0, 1.0))

    def evaluate_one(self, genome):
        time.sleep(EVALUATION_S)
        return float(genome.sum())


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


def _measure(benchmark, key, backend, batch, rounds=5):
    for _ in range(2):  # every worker started and warm, as after a run's first generations
        backend(batch)
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


def _evaluate_row(problem, genome):
    return problem.evaluate_one(genome)


@pytest.mark.benchmark(group="expensive: 16 evaluations of 50 ms")
def test_peer_multiprocessing_pool_expensive(benchmark, expensive, genomes):
    """The peer: DEAP's documented recipe, ``toolbox.register("map", pool.map)``."""
    import multiprocessing
    from functools import partial

    batch = genomes["expensive"]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        evaluate = partial(pool.map, partial(_evaluate_row, expensive), chunksize=2)
        for _ in range(2):
            evaluate(batch)
        benchmark.pedantic(evaluate, args=(batch,), rounds=5, iterations=1)
    RESULTS["pool_expensive"] = benchmark.stats.stats.mean


@pytest.mark.benchmark(group="cheap: 2000 sphere evaluations")
def test_serial_cheap(benchmark, genomes):
    _measure(benchmark, "serial_cheap", SerialBackend(Cheap()), genomes["cheap"], rounds=20)


@pytest.mark.benchmark(group="cheap: 2000 sphere evaluations")
def test_processes_cheap(benchmark, genomes):
    with ProcessesBackend(Cheap(), workers=2) as pool:
        _measure(benchmark, "processes_cheap", pool, genomes["cheap"], rounds=20)


@pytest.fixture(scope="module")
def local_ray():
    pytest.importorskip("ray", reason="ray is not installed (pip install 'evoengine[ray]')")
    from evoengine.backends.ray import import_ray

    ray = import_ray(local=True)  # bound to loopback only
    here = os.path.dirname(os.path.abspath(__file__))
    os.environ["PYTHONPATH"] = os.pathsep.join([here, *filter(None, sys.path)])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.benchmark(group="overhead: 16 evaluations waiting 50 ms, 2 workers")
@pytest.mark.parametrize("batch_size", [1, 8])
def test_processes_waiting(benchmark, genomes, batch_size):
    with ProcessesBackend(Waiting(), workers=2, batch_size=batch_size) as pool:
        _measure(benchmark, f"processes_waiting_batch{batch_size}", pool, genomes["expensive"])


@pytest.mark.benchmark(group="overhead: 16 evaluations waiting 50 ms, 2 workers")
@pytest.mark.parametrize("batch_size", [1, 8])
def test_ray_waiting(benchmark, local_ray, genomes, batch_size):
    from evoengine.backends.ray import RayBackend

    backend = RayBackend(Waiting(), batch_size=batch_size)
    _measure(benchmark, f"ray_waiting_batch{batch_size}", backend, genomes["expensive"])


def test_report(capsys):
    """Print the ratios the README's table quotes (from the benchmarks that ran)."""
    if not RESULTS:
        pytest.skip("run with --benchmark-enable")
    r, lines = RESULTS, []
    if {"serial_expensive", "processes_expensive"} <= r.keys():
        ideal = r["serial_expensive"] / 2  # two workers, no overhead
        lines.append(f"processes vs serial, 50 ms CPU-bound evaluations: "
                     f"{r['serial_expensive'] / r['processes_expensive']:.2f}x faster "
                     f"({r['processes_expensive'] / ideal - 1:+.1%} over the 2-core ideal)")
    if {"pool_expensive", "processes_expensive"} <= r.keys():
        lines.append(f"processes vs multiprocessing.Pool.map (DEAP's recipe), same work: "
                     f"{r['pool_expensive'] / r['processes_expensive']:.2f}x")
    if {"serial_cheap", "processes_cheap"} <= r.keys():
        lines.append(f"processes overhead per cheap evaluation: "
                     f"{(r['processes_cheap'] - r['serial_cheap']) / CHEAP_ROWS * 1e6:.2f} us "
                     f"(serial: {r['serial_cheap'] / CHEAP_ROWS * 1e6:.3f} us per evaluation)")
    ideal_wait = EXPENSIVE_ROWS * EVALUATION_S / 2
    for size in (1, 8):
        tasks_per_worker = -(-EXPENSIVE_ROWS // size) / 2
        for name in ("processes", "ray"):
            key = f"{name}_waiting_batch{size}"
            if key in r:
                extra = r[key] - ideal_wait
                lines.append(f"{name}, 50 ms waits, batch_size={size}: {extra / ideal_wait:+.1%} "
                             f"over the ideal, {extra / tasks_per_worker * 1e3:.2f} ms per task")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
