"""The gan problem on several devices, and shipped to the processes and ray backends.

There is no GPU here, so several devices are faked by handing the problem the CPU more than
once (``problem.devices = ["cpu", "cpu"]``): the scheduling is the same, and each slot is told
apart by the name of the thread that serves it.
"""

import importlib.util
import os
import pickle
import sys
import threading
from collections import Counter, defaultdict

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from evoengine import EvaluationContext  # noqa: E402
from evoengine.backends import open_backend  # noqa: E402
from evoengine.config import AlgorithmSettings  # noqa: E402
from evoengine.errors import ConfigError  # noqa: E402
from evoengine_gan.devices import choose_devices  # noqa: E402
from evoengine_gan.problem import GanProblem  # noqa: E402
from evoengine_gan.scheduling import run_on_devices, spread  # noqa: E402
from evoengine_gan.space import ARTICLE_DEFAULT  # noqa: E402
from tiny_gan import TINY_SPACE  # noqa: E402
from tiny_gan import tiny_problem as shared_tiny_problem  # noqa: E402

CPU = torch.device("cpu")


def tiny_problem(**changes) -> GanProblem:
    """The shared tiny run on the CPU, with two generator widths and a shorter budget."""
    return shared_tiny_problem(**{"budget": 64, "classifier_steps": 40, "device": "cpu",
                                  "space": {**TINY_SPACE, "g_width": [32, 64]}, **changes})


def population(problem: GanProblem, widths) -> np.ndarray:
    """One genome per width, each with its own learning rate (so each trains differently)."""
    return np.array([problem.space.encode({**ARTICLE_DEFAULT, **TINY_SPACE, "g_width": w,
                                           "lr_g": 1e-4 * (i + 1)})
                     for i, w in enumerate(widths)])


# --- choosing devices ---------------------------------------------------------------------
def test_device_settings_name_the_devices_or_fail_with_the_choices(monkeypatch):
    assert choose_devices("cpu") == [CPU]
    if not torch.cuda.is_available():
        assert choose_devices("auto") == [CPU]
        with pytest.raises(ConfigError, match="'cuda' is not available"):
            choose_devices("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a machine with 2 GPUs
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    two = [torch.device("cuda", 0), torch.device("cuda", 1)]
    assert choose_devices("auto") == choose_devices("cuda") == two
    assert choose_devices("cuda:1, cuda:0") == two[::-1]
    assert choose_devices("cuda:1,cpu") == [two[1], CPU]
    with pytest.raises(ConfigError, match=r"'cuda:0,cuda:0' names a device twice"):
        choose_devices("cuda:0,cuda:0")
    with pytest.raises(ConfigError, match=r"'cuda:2' is not available \(2 CUDA"):
        choose_devices("cuda:0,cuda:2")
    with pytest.raises(ConfigError, match="is not a device list; use auto, cpu, cuda"):
        choose_devices("cuda:0,")
    with pytest.raises(ConfigError, match="setting 'device': 'gpu' is not a device"):
        choose_devices("cpu,gpu")


def test_a_cli_pbt_run_trains_where_the_device_setting_says(monkeypatch, tmp_path):
    """The engine's EvaluationContext.device is "cpu" in a CLI run (the engine has no device
    setting); the gan problem trains where its own ``device`` setting says, ``auto`` being
    every CUDA device there is, and PBT's batched model on the first. Here a machine with two
    GPUs is faked and every training setup asked for is recorded (and made on the CPU, the
    only device this test has; ``evolve``'s device threads are tested above and below)."""
    import tomli_w
    from click.testing import CliRunner

    from evoengine.cli import main
    from tiny_gan import TINY

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    asked = []
    setup = GanProblem.setup
    monkeypatch.setattr(GanProblem, "setup", lambda self, device=None: (
        asked.append(self.device if device is None else device), setup(self, CPU))[1])
    config = tmp_path / "tiny.toml"
    config.write_text(tomli_w.dumps({**TINY, "device": "auto", "scheme": "pbt",
                                     "interval": 32, "population_size": 4, "generations": 1}))
    run = CliRunner().invoke(main, ["run", "gan", "-c", str(config), "--seed", "1", "-q",
                                    "--out", str(tmp_path / "runs")])
    assert run.exit_code == 0, run.output
    assert "training on cuda:0" in run.output
    assert asked and set(asked) == {torch.device("cuda", 0)}


# --- scheduling ---------------------------------------------------------------------------
def test_spread_halves_the_largest_group_until_every_device_has_one():
    assert spread([[0, 1, 2, 3, 4, 5, 6, 7]], 1) == [[0, 1, 2, 3, 4, 5, 6, 7]]
    assert spread([[0, 1, 2, 3, 4, 5, 6, 7]], 2) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert spread([[0, 1, 2, 3, 4, 5], [6]], 3) == [[0, 1, 2], [3, 4, 5], [6]]
    assert spread([[0, 1, 2, 3, 4, 5, 6, 7], [8]], 4) == [[0, 1], [2, 3], [4, 5, 6, 7], [8]]
    # Never below 2 members: a configuration trains alone only where it would on one device.
    assert spread([[0, 1, 2], [3]], 4) == [[0, 1, 2], [3]]
    assert spread([], 2) == []


def test_groups_run_one_per_device_at_a_time_and_come_back_in_order():
    devices = [CPU, CPU, CPU]
    groups = [[0, 1], [2], [3, 4, 5], [6], [7, 8], [9]]
    # Generous: the barrier only proves the groups overlap; a loaded machine may start the
    # threads late, and a broken scheduler fails here within two minutes instead of hanging.
    everyone_started = threading.Barrier(len(devices), timeout=120)
    lock = threading.Lock()
    running: Counter = Counter()
    most: Counter = Counter()
    served = defaultdict(list)

    def work(rows, slot):
        name = threading.current_thread().name
        with lock:
            running[slot] += 1
            most[slot] = max(most[slot], running[slot])
            first = not served[slot]
            served[slot].append(rows)
        assert name.endswith(f"#{slot}")
        if first:  # every device holds a group at the same moment: they really run at once
            everyone_started.wait()
        with lock:
            running[slot] -= 1
        return [r * 10 for r in rows]

    results = run_on_devices(devices, groups, work)
    assert results == [[r * 10 for r in g] for g in groups]
    assert set(most) == {0, 1, 2} and max(most.values()) == 1
    assert sorted(r for rows in served.values() for g in rows for r in g) == list(range(10))


def test_an_error_on_one_device_stops_the_others_and_is_raised():
    calls = []

    def work(rows, slot):
        calls.append(rows)
        if rows == [0]:
            raise ValueError("broken group")
        return rows

    with pytest.raises(ValueError, match="broken group"):
        run_on_devices([CPU, CPU], [[0]] + [[i] for i in range(1, 40)], work)
    assert len(calls) < 40  # no new groups once a device failed


# --- the problem on several devices -------------------------------------------------------
def test_several_devices_give_bitwise_the_single_device_fitness():
    problem = tiny_problem()
    genomes = population(problem, [32, 64, 32, 32, 32])  # groups: rows 0,2,3,4 and row 1
    assert problem.devices == [CPU]
    alone = problem.evaluate(genomes).fitness

    problem.devices = [CPU, CPU, CPU]
    everyone_started = threading.Barrier(3, timeout=120)  # generous, as above
    lock = threading.Lock()
    running: Counter = Counter()
    trained = []
    batched, single = problem.train_population, problem.train_one

    def traced(train, members, setup):
        name = threading.current_thread().name
        with lock:
            running[name] += 1
            assert running[name] == 1, "two evaluations at once on one device"
            trained.append((name, str(setup.device), sorted(m.config["lr_g"] for m in members)))
        everyone_started.wait()  # three groups, three devices: all train at the same time
        try:
            return train(members, setup)
        finally:
            with lock:
                running[name] -= 1

    problem.train_population = lambda ms, s: traced(batched, ms, s)
    problem.train_one = lambda m, s: traced(lambda ms, s: [single(ms[0], s)], [m], s)[0]
    spread_out = problem.evaluate(genomes).fitness
    np.testing.assert_array_equal(spread_out, alone)  # bitwise, in the rows' order
    assert sorted(name[-2:] for name, _, _ in trained) == ["#0", "#1", "#2"]
    assert all(device == "cpu" for _, device, _ in trained)
    groups = sorted(lrs for _, _, lrs in trained)
    lr = [c["lr_g"] for c in map(problem.space.decode, genomes)]
    assert groups == sorted([sorted(lr[i] for i in rows) for rows in [[0, 2], [3, 4], [1]]])
    assert problem.notes[0].startswith("training on cpu (")


# --- shipping the problem to other processes ----------------------------------------------
def test_the_problem_pickles_without_tensors_and_scores_the_same(tmp_path):
    problem = tiny_problem()
    problem.use_cache_folder(tmp_path)
    problem.devices = [CPU, CPU]
    genomes = population(problem, [32, 64, 32])
    expected = problem.evaluate(genomes).fitness

    copy = pickle.loads(pickle.dumps(problem))
    tensors = [k for k, v in vars(copy).items()
               if isinstance(v, (torch.Tensor, torch.nn.Module)) or (
                   isinstance(v, dict) and v and isinstance(next(iter(v.values())),
                                                            torch.Tensor))]
    assert tensors == []
    assert copy.devices == [CPU]  # chosen again from the settings where it is unpickled
    np.testing.assert_array_equal(copy.features.reference, problem.features.reference)
    evaluation = copy.evaluate(genomes)
    np.testing.assert_array_equal(evaluation.fitness, expected)
    assert evaluation.info[1]["frechet_distance"] == expected[1, 0]


def test_the_processes_backend_gives_the_same_fitness():
    problem = tiny_problem()
    # Tasks of 2 rows keep the shape groups whole ([0, 1] and [2, 3]), so bitwise equal; a
    # task that splits a group trains its rows in other batches: equal to ~1e-8 (rounding).
    genomes = population(problem, [32, 32, 64, 64])
    expected = problem.evaluate(genomes)
    settings = AlgorithmSettings(backend="processes", workers=2, batch_size=2)
    with open_backend(problem, settings) as backend:
        outcome = backend(genomes, EvaluationContext.standalone(len(genomes)))
    assert not outcome.failures
    np.testing.assert_array_equal(outcome.fitness, expected.fitness)
    for mine, theirs in zip(outcome.info, expected.info, strict=True):  # the info travels too
        np.testing.assert_array_equal(mine["samples"], theirs["samples"])
        assert mine["kid"] == theirs["kid"]


@pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                    reason="ray is not installed (pip install 'evoengine[ray]')")
def test_the_ray_backend_with_a_gpu_per_task_gives_the_same_fitness(monkeypatch):
    from evoengine.backends.ray import import_ray

    ray = import_ray(local=True)  # bound to loopback only
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in sys.path if p))
    # One GPU declared: Ray places the tasks as on a real one (this torch has no CUDA, so
    # device=auto falls back to the CPU inside each task).
    ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False)
    try:
        problem = tiny_problem(device="auto")
        genomes = population(problem, [32, 32, 64])  # tasks [0, 1], [2]: whole groups
        expected = problem.evaluate(genomes)
        settings = AlgorithmSettings(backend="ray", batch_size=2, eval_gpus=1)
        with open_backend(problem, settings) as backend:
            outcome = backend(genomes, EvaluationContext.standalone(len(genomes)))
        assert not outcome.failures
        np.testing.assert_array_equal(outcome.fitness, expected.fitness)
        for mine, theirs in zip(outcome.info, expected.info, strict=True):  # the pictures' data
            np.testing.assert_array_equal(mine["samples"], theirs["samples"])
            assert mine["kid"] == theirs["kid"]
    finally:
        ray.shutdown()
