"""The engine's promise, checked across problems and backends (issue 10).

For each problem below, the same seed must give byte-identical run folders (every file but the
settings, which name the backend, the status file and the checkpoints, which hold wall-clock
fields) on:

- ``serial``; ``processes`` with 2 workers; a local Ray (one session for the module, on
  loopback, started before the first Ray case);
- a run killed with SIGKILL at a generation drawn for the case (by an observer plugin this
  test writes, from ``evoengine_generation_end``), then ``evoengine resume``.

The problems: the tutorial, an expression, a test function, symbolic regression, the
travelling salesman, the GAN tuner (tiny), and two problems of a plugin this test writes against the contract: one
whose evaluation draws from ``context.row_rng``, returns per-row info and summarises each
generation (scalars, a picture, a table), and one whose scores depend on the whole population
(a tournament split into tasks by ``Problem.tasks``).
Minimax: a weights run, the article's scheme (its games split into tasks) and GP expressions.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from evoengine.cli import main

SEED = 5

PLUGIN = '''
"""A plugin written against the contract (tests/test_contract_matrix.py)."""

import os
import signal

import numpy as np
from pydantic import BaseModel, ConfigDict

import evoengine
from evoengine import Evaluation, Genome, Objective, Problem, Summary


class Nothing(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Noisy(Problem):
    """A sphere with noise drawn from each row's generator; info and summaries per row."""

    def __init__(self, settings=None):
        super().__init__(Genome("real", 4, -2.0, 2.0), (Objective("score", "maximize"),),
                         defaults={"population_size": 12, "generations": 7,
                                   "algorithm": "mu_plus_lambda"})

    def evaluate(self, genomes, context):
        noise = np.array([context.row_rng(i).normal(0.0, 0.1) for i in range(len(genomes))])
        fitness = -(genomes ** 2).sum(axis=1) + noise
        info = [{"noise": float(n), "row_id": int(r)} for n, r in zip(noise, context.row_ids)]
        return Evaluation(fitness[:, None], info)

    def summarize(self, genomes, evaluation, context):
        noise = [row["noise"] for row in evaluation.info]
        picture = np.clip((genomes + 2.0) / 4.0, 0.0, 1.0)
        best = int(np.argmax(evaluation.fitness[:, 0]))
        return Summary(scalars={"mean_noise": float(np.mean(noise))},
                       images={"population": picture},
                       tables={"best": [{"row_id": int(context.row_ids[best]),
                                         "score": float(evaluation.fitness[best, 0])}]})

    def describe(self, genome, info=None):
        return {"genes": genome.tolist(), "evaluated_as": info}


class Tourney(Problem):
    """Each member plays two games against members drawn for the generation; a win is
    strength plus noise. The games are tasks of three, reduced by combine."""

    def __init__(self, settings=None):
        super().__init__(Genome("real", 3, -1.0, 1.0), (Objective("wins", "maximize"),),
                         defaults={"population_size": 10, "generations": 6})

    def tasks(self, genomes, context):
        rng, n = context.rng("pairs"), len(genomes)
        games = [(k, i, int((i + rng.integers(1, n)) % n)) for k, i in
                 enumerate(i for i in range(n) for _ in range(2))]
        return [[(k, i, j, genomes[i], genomes[j]) for k, i, j in games[s:s + 3]]
                for s in range(0, len(games), 3)]

    def run_task(self, task, context):
        out = []
        for k, i, j, a, b in task:
            noise = context.rng("game", k).normal(0.0, 0.3)
            out.append((i, j, float(a.sum() - b.sum() + noise > 0)))
        return out

    def combine(self, genomes, context, results):
        wins = np.zeros(len(genomes))
        games = np.zeros(len(genomes))
        for i, j, won in (game for task in results for game in task):
            wins[i] += won
            wins[j] += 1.0 - won
            games[i] += 1
            games[j] += 1
        return Evaluation(wins[:, None], [{"games": int(g)} for g in games])


@evoengine.hookimpl
def evoengine_register_problems(registry):
    registry.add("matrix_noisy", Noisy, settings=Nothing, summary="contract matrix: noisy")
    registry.add("matrix_tourney", Tourney, settings=Nothing, summary="contract matrix: tasks")


@evoengine.hookimpl
def evoengine_generation_end(run, record):
    """kill -9 of the run at the generation the test names (after it was recorded, before
    its checkpoint), as a crash would."""
    if os.environ.get("MATRIX_KILL_AT") == str(record.generation):
        os.kill(os.getpid(), signal.SIGKILL)
'''

CASES = {
    "tutorial": ["equation", "generations=8"],
    "expression": ["equation", "expression=4*x1 - 2*x2 + sin(x3) * x1", "bounds=[-4, 4]",
                   "population_size=16", "generations=8"],
    "test_function": ["rastrigin", "dimension=5", "population_size=20", "generations=8"],
    "symbolic": ["symbolic", "data={data}", "population_size=40", "generations=6",
                 "target_fitness=-1.0"],
    "tsp": ["tsp", "population_size=20", "generations=6"],
    # tiny networks; groups of two and tasks of two rows, so every group trains whole in one
    # worker (a batched group's rounding depends on its size)
    "gan": ["gan", "-c {gan}", "batch_size=2"],
    # minimax, tiny: 5x5 Isolation at depth 2, closing reports of a few pairs
    "minimax_weights": ["minimax", "game=isolation", "size=5", "depth=2", "pairs=2",
                        "population_size=6", "generations=3", "report_pairs=4",
                        "sprt_max_pairs=4", "null_pairs=4"],
    # 200 games a generation: two tasks of the article's tally
    "minimax_article": ["minimax", "scheme=article", "game=isolation", "size=5", "depth=2",
                        "population_size=20", "generations=3", "games_factor=10",
                        "report_pairs=4", "sprt_max_pairs=4", "null_pairs=4"],
    "minimax_expression": ["minimax", "heuristic=expression", "game=isolation", "size=5",
                           "depth=2", "pairs=2", "population_size=8", "generations=3",
                           "report_pairs=4", "sprt_max_pairs=4", "null_pairs=4"],
    "context_plugin": ["matrix_noisy"],
    "tasks_plugin": ["matrix_tourney"],
}
# Cases that take more than a few seconds a run (torch in every worker): `-m "not slow"`.
SLOW = {"gan"}
PARAMS = [pytest.param(case, marks=pytest.mark.slow) if case in SLOW else case for case in CASES]
SKIPPED = {"checkpoint", "config.toml", "run.json"}  # backend named, wall clock, elapsed time
WALL_CLOCK = {"seconds", "started", "ended", "elapsed_s", "train_seconds"}
GAN = {"data_limit": 120, "held_out_fraction": 0.5, "budget": 96, "samples": 40,
       "classifier_steps": 60, "device": "cpu", "population_size": 4, "generations": 3,
       "max_group": 2,
       "space": {"architecture": "mlp", "latent": 16, "g_width": 32, "d_width": 32,
                 "g_depth": 1, "d_depth": 1, "batch_size": 16, "d_steps": 1, "g_steps": 1,
                 "batch_norm": False}}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The test's plugin, installed for this process and its children (an entry point in a
    dist-info folder on sys.path, as pip would leave it), and the symbolic data."""
    root = tmp_path_factory.mktemp("matrix")
    (root / "matrix_plugin.py").write_text(PLUGIN)
    info = root / "evoengine_matrix-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: evoengine-matrix\n"
                                   "Version: 1.0\n")
    (info / "entry_points.txt").write_text("[evoengine]\nmatrix = matrix_plugin\n")
    x = np.linspace(-2.0, 2.0, 40)
    rows = "".join(f"{a:.17g},{b:.17g}\n" for a, b in zip(x, x ** 3 - x + np.sin(2 * x),
                                                           strict=True))
    (root / "data.csv").write_text("x,y\n" + rows)
    import tomli_w

    (root / "gan.toml").write_text(tomli_w.dumps(GAN))
    sys.path.insert(0, str(root))
    yield root
    sys.path.remove(str(root))
    sys.modules.pop("matrix_plugin", None)


@pytest.fixture(scope="module")
def local_ray(site):
    """One local Ray for the module, on loopback, whose workers import the test's plugin."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed (pip install 'evoengine[ray]')")
    from evoengine.backends.ray import import_ray

    ray = import_ray(local=True)
    path = os.pathsep.join(p for p in sys.path if p)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": path}})
    assert ray.util.get_node_ip_address() == "127.0.0.1"
    yield ray
    ray.shutdown()


def settings(case: str, site: Path) -> tuple[str, list[str]]:
    problem, *values = CASES[case]
    sets = []
    for value in [*values, "checkpoint_every=1"]:
        value = value.format(data=site / "data.csv", gan=site / "gan.toml")
        sets += value.split(" ", 1) if value.startswith("-c ") else ["--set", value]
    return problem, sets


def run_folder(out: Path) -> Path:
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    return folder


def run_in_process(case: str, site: Path, out: Path, *backend: str) -> Path:
    problem, sets = settings(case, site)
    extra = [s for value in backend for s in ("--set", value)]
    done = CliRunner().invoke(main, ["run", problem, "-q", "--seed", str(SEED), "--out",
                                     str(out), *sets, *extra])
    assert done.exit_code == 0, (done.output, done.exception)
    return run_folder(out)


def contents(folder: Path) -> dict[str, object]:
    """Every compared file: JSON without wall-clock fields, other files as bytes."""
    out = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_dir() or relative.parts[0] in SKIPPED:
            continue
        data = path.read_bytes()
        if path.suffix == ".json":
            data = _without_wall_clock(json.loads(data))
        out[str(relative)] = data
    return out


def _without_wall_clock(value):
    if isinstance(value, dict):
        return {k: _without_wall_clock(v) for k, v in value.items() if k not in WALL_CLOCK}
    if isinstance(value, list):
        return [_without_wall_clock(v) for v in value]
    return value


def assert_same_run(expected: Path, got: Path, how: str) -> None:
    want, have = contents(expected), contents(got)
    assert set(have) == set(want), f"{how}: files differ: {sorted(set(have) ^ set(want))}"
    for name in want:
        assert have[name] == want[name], f"{how}: {name} differs from the serial run's"
    assert {"best.json", "logbook.csv", "records.jsonl"} <= set(want)


@pytest.fixture(scope="module")
def serial_runs(site, tmp_path_factory):
    """The reference: each case run serially once."""
    base = tmp_path_factory.mktemp("serial")
    return {case: run_in_process(case, site, base / case) for case in CASES}


@pytest.mark.parametrize("case", PARAMS)
def test_processes_backend_gives_the_serial_run(case, site, serial_runs, tmp_path):
    folder = run_in_process(case, site, tmp_path, "backend=processes", "workers=2")
    assert_same_run(serial_runs[case], folder, "processes")


@pytest.mark.parametrize("case", PARAMS)
def test_ray_backend_gives_the_serial_run(case, site, serial_runs, local_ray, tmp_path):
    split = [] if any(v.startswith("batch_size=") for v in CASES[case]) else ["batch_size=3"]
    folder = run_in_process(case, site, tmp_path, "backend=ray", *split)
    assert_same_run(serial_runs[case], folder, "ray")


@pytest.mark.parametrize("case", PARAMS)
def test_kill_9_then_resume_gives_the_serial_run(case, site, serial_runs, tmp_path):
    total = len((serial_runs[case] / "records.jsonl").read_text().splitlines())
    kill_at = random.Random(case).randrange(1, total)  # a generation drawn for the case
    problem, sets = settings(case, site)
    env = {**os.environ, "MATRIX_KILL_AT": str(kill_at), "COLUMNS": "200",
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    killed = subprocess.run([sys.executable, "-m", "evoengine.cli", "run", problem, "-q",
                             "--seed", str(SEED), "--out", str(tmp_path), *sets],
                            env=env, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, (killed.stdout, killed.stderr)
    folder = run_folder(tmp_path)
    assert not (folder / "best.json").exists()
    done = CliRunner().invoke(main, ["resume", str(folder), "-q"])
    assert done.exit_code == 0, (done.output, done.exception)
    assert f"at generation {kill_at - 1}" in done.output  # the checkpoint before the kill
    assert_same_run(serial_runs[case], folder, f"killed at generation {kill_at}, resumed")


def test_the_plugin_cases_use_what_they_claim(site, serial_runs):
    """The written plugin's runs carry row-keyed info, summaries and pictures."""
    folder = serial_runs["context_plugin"]
    best = json.loads((folder / "best.json").read_text())
    assert set(best["solution"]["evaluated_as"]) == {"noise", "row_id"}
    entries = [json.loads(line) for line in (folder / "records.jsonl").read_text().splitlines()]
    assert [e["generation"] for e in entries] == list(range(len(entries)))
    assert all("mean_noise" in e["scalars"] and e["images"]["population"] for e in entries)
    assert (folder / entries[-1]["images"]["population"]).read_bytes()[:4] == b"\x89PNG"
    tourney = json.loads((serial_runs["tasks_plugin"] / "best.json").read_text())
    assert tourney["fitness"]["wins"] > 0

