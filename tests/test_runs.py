"""``evoengine runs``: what became of each run; ``evoengine resume`` names the latest one."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from evoengine.checkpoint import Checkpointer, RunInfo
from evoengine.cli import main
from evoengine.plugins import load_plugins
from evoengine.run import optimize, prepare, run_problem
from evoengine.runs import list_runs, mark_started, recorded


def invoke(*args):
    return CliRunner().invoke(main, list(args))


def interrupted_run(folder, at_generation=5):
    """A sphere run stopped by Ctrl-C at ``at_generation``, checkpointed as the CLI does."""
    prepared = prepare(load_plugins().registry.get("sphere"),
                       {"dimension": 2, "generations": 9, "population_size": 10, "seed": 3,
                        "checkpoint_every": 2})
    checkpoint = Checkpointer(folder, RunInfo("sphere", "equation", _version(),
                                              prepared.as_dict()), 2)

    def ctrl_c(opt):
        if opt.generation == at_generation:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), recorded(folder, "sphere"):
        optimize(prepared.problem, prepared.settings, checkpoint=checkpoint,
                 on_generation=ctrl_c)


def _version():
    return load_plugins().plugins["equation"].version


def test_finished_interrupted_killed_and_failed_runs_newest_first(tmp_path, monkeypatch):
    from rich.console import Console

    import evoengine.cli

    monkeypatch.setattr(evoengine.cli, "out", Console(width=250))
    finished = run_problem("sphere", dimension=2, generations=3, population_size=10, seed=1,
                           out=tmp_path)
    newest = tmp_path / "sphere-20990101-000000"
    interrupted_run(newest)
    status = json.loads((newest / "run.json").read_text())
    (newest / "run.json").write_text(json.dumps({**status, "started": "2099-01-01T00:00:00Z"}))
    killed = tmp_path / "sphere-killed"
    mark_started(killed, "sphere")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    status = json.loads((killed / "run.json").read_text())
    (killed / "run.json").write_text(json.dumps({**status, "pid": int(dead),
                                                 "started": "2000-01-01T00:00:00+00:00"}))
    failed = tmp_path / "sphere-failed"
    with pytest.raises(ValueError), recorded(failed, "sphere"):
        raise ValueError("fitness exploded\nsecond line")

    runs = {r.folder.name: r for r in list_runs(tmp_path)}
    assert len(runs) == 4
    done = runs[finished.folder.name]
    assert (done.status, done.resumable, done.generations) == ("finished", False, 3)
    assert done.best == {"sphere": finished.best_value} and done.seconds > 0
    stopped = runs["sphere-20990101-000000"]
    assert (stopped.status, stopped.resumable, stopped.generations) == ("interrupted", True, 4)
    assert runs["sphere-killed"].status == "interrupted"  # says running, its process is gone
    assert not runs["sphere-killed"].resumable  # no checkpoint
    crash = runs["sphere-failed"]
    assert (crash.status, crash.resumable) == ("failed", False)
    assert crash.error == "ValueError: fitness exploded"
    assert [r.folder.name for r in list_runs(tmp_path)][:1] == ["sphere-20990101-000000"]
    assert list_runs(tmp_path)[-1].folder.name == "sphere-killed"  # started in 2000

    table = invoke("runs", str(tmp_path))
    assert table.exit_code == 0
    assert "interrupted (resumable)" in table.output and "finished" in table.output
    assert f"evoengine resume {tmp_path / 'sphere-20990101-000000'}" in table.output
    as_json = json.loads(invoke("runs", str(tmp_path), "--json").output)
    assert as_json[0]["status"] == "interrupted" and as_json[0]["generations"] == 4


def test_resume_without_a_folder_names_the_latest_interrupted_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    nothing = invoke("resume")
    assert nothing.exit_code == 2 and "no interrupted run in runs/" in nothing.output
    interrupted_run(tmp_path / "runs" / "sphere-20990101-000000")
    suggested = invoke("resume")
    assert suggested.exit_code == 2
    assert suggested.output.strip() == (
        "error: give the run folder to resume; the latest interrupted run is "
        "runs/sphere-20990101-000000 (sphere, generation 4): evoengine resume "
        "runs/sphere-20990101-000000")
    resumed = invoke("resume", "runs/sphere-20990101-000000", "-q")
    assert resumed.exit_code == 0, resumed.output
    (after,) = list_runs("runs")
    assert (after.status, after.resumable, after.generations) == ("finished", False, 9)
    assert json.loads((after.folder / "run.json").read_text())["resumes"] == 1


def test_a_single_run_folder_and_an_empty_one(tmp_path):
    run = run_problem("sphere", dimension=2, generations=2, population_size=10, seed=1,
                      out=tmp_path)
    assert [r.folder for r in list_runs(run.folder)] == [run.folder]
    (tmp_path / "empty").mkdir()
    assert invoke("runs", str(tmp_path / "empty")).output.startswith("no run folders")
