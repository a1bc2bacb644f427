"""Checkpoint and resume through the real CLI: ``kill -9`` and Ctrl-C in the middle of a run,
then ``evoengine resume``, must end with the result of a run never interrupted."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import faulty_plugin as faulty

RUN = ["-q", "--seed", "5", "--set", "generations=30", "--set", "checkpoint_every=5",
       "--set", "population_size=10"]
# The interrupted run hangs in generation 11, once the checkpoint at 10 is written, until the
# signal comes: the signal lands mid-run however slow the machine (no timing involved).
HANG_AFTER_10 = ["--set", "hang_once_when=runs/*/checkpoint/gen-000010.json",
                 "--set", "hang_once_marker=hung"]


def _evoengine(args, env, cwd, **kwargs):
    return subprocess.run([sys.executable, "-m", "evoengine.cli", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120, **kwargs)


def _only_folder(base: Path) -> Path:
    (folder,) = list(base.iterdir())
    return folder


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    faulty.install(site)
    return faulty.subprocess_env(site)


@pytest.fixture(scope="module")
def uninterrupted(plugin_env, tmp_path_factory):
    cwd = tmp_path_factory.mktemp("uninterrupted")
    done = _evoengine(["run", "faulty", *RUN], plugin_env, cwd)
    assert done.returncode == 0, done.stderr
    return _only_folder(cwd / "runs")


def _default_interrupt() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt_then_resume(plugin_env, cwd: Path, sig: int) -> tuple[Path, int, str]:
    """The run folder, exit code and standard error of a run stopped by ``sig`` mid-run."""
    # A shell starts background jobs with SIGINT ignored, and Python keeps an inherited "ignore"
    # (as a run started with nohup should): the run under test gets the default disposition.
    process = subprocess.Popen([sys.executable, "-m", "evoengine.cli", "run", "faulty", *RUN,
                                *HANG_AFTER_10], env=plugin_env, cwd=cwd,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_default_interrupt)
    deadline = time.monotonic() + 120  # a guard against a run that never hangs, not a timing
    while not (cwd / "hung").exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run never reached generation 11"
        time.sleep(0.02)
    process.send_signal(sig)
    # communicate, not wait: a run that writes more than a pipe holds would block on it
    _, stderr = process.communicate(timeout=120)
    folder = _only_folder(cwd / "runs")
    assert not (folder / "best.json").exists()  # it really stopped in the middle
    return folder, process.returncode, stderr


def _assert_same_end(folder: Path, reference: Path) -> None:
    best, expected = (json.loads((f / "best.json").read_text()) for f in (folder, reference))
    assert best == expected
    assert best["generations"] == 30
    assert (folder / "logbook.csv").read_text() == (reference / "logbook.csv").read_text()


def test_kill_9_in_the_middle_then_resume_ends_as_the_uninterrupted_run(
        plugin_env, uninterrupted, tmp_path):
    folder, returncode, _ = _interrupt_then_resume(plugin_env, tmp_path, signal.SIGKILL)
    assert returncode == -signal.SIGKILL
    done = _evoengine(["resume", str(folder), "-q"], plugin_env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "resuming faulty at generation 10 " in done.stderr  # the last checkpoint
    _assert_same_end(folder, uninterrupted)


@pytest.mark.parametrize("sig, code, said", [(signal.SIGINT, 130, "interrupted"),
                                              (signal.SIGTERM, 143, "terminated (SIGTERM)")],
                         ids=["ctrl_c", "sigterm"])
def test_ctrl_c_or_sigterm_writes_a_checkpoint_says_how_to_resume_and_resume_finishes(
        plugin_env, uninterrupted, tmp_path, sig, code, said):
    folder, returncode, message = _interrupt_then_resume(plugin_env, tmp_path, sig)
    assert returncode == code, message  # 128 + the signal's number, as a shell reports it
    assert message == (f"{said}; checkpoint {folder.relative_to(tmp_path)}/checkpoint/"
                     f"gen-000010.json; continue with: evoengine resume "
                     f"{folder.relative_to(tmp_path)}\n")  # one line, not wrapped
    assert json.loads((folder / "run.json").read_text())["status"] == "interrupted"
    done = _evoengine(["resume", str(folder), "-q"], plugin_env, tmp_path)
    assert done.returncode == 0, done.stderr
    _assert_same_end(folder, uninterrupted)


def test_sigterm_in_a_generation_checkpoints_the_one_before_and_sigterm_is_restored(
        tmp_path, monkeypatch):
    """In process: the signal is sent from inside generation 5's evaluation (no timing), and
    checkpoint_every=0 so that only the stop itself can have written the checkpoint."""
    from click.testing import CliRunner

    import evoengine.cli
    from evoengine.checkpoint import checkpoints
    from evoengine.plugins import load_plugins

    monkeypatch.setattr(evoengine.cli, "load_plugins",
                        lambda: load_plugins(extra={"faulty": faulty}, only=[]))
    settings = ["-q", "--seed", "5", "--set", "generations=8", "--set", "population_size=10"]
    runner = CliRunner()
    whole = runner.invoke(evoengine.cli.main, ["run", "faulty", "--out", str(tmp_path / "a"),
                                               "--set", "checkpoint_every=0", *settings])
    assert whole.exit_code == 0, whole.output
    evaluate, calls = faulty.Faulty.evaluate, []

    def terminated_in_generation_5(self, genomes):
        calls.append(len(genomes))
        if len(calls) == 6:  # generation 0 is the first call
            os.kill(os.getpid(), signal.SIGTERM)
        return evaluate(self, genomes)

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(faulty.Faulty, "evaluate", terminated_in_generation_5)
    stopped = runner.invoke(evoengine.cli.main, ["run", "faulty", "--out", str(tmp_path / "b"),
                                                 "--set", "checkpoint_every=0", *settings])
    assert signal.getsignal(signal.SIGTERM) is before  # the run's handler is gone again
    assert stopped.exit_code == 143, (stopped.output, stopped.exception)
    folder = _only_folder(tmp_path / "b")
    assert [p.name for p in checkpoints(folder)] == ["gen-000004.json"]
    assert stopped.output == (
        f"terminated (SIGTERM); checkpoint {folder}/checkpoint/gen-000004.json; continue "
        f"with: evoengine resume {folder}\n")
    assert json.loads((folder / "run.json").read_text())["status"] == "interrupted"
    monkeypatch.setattr(faulty.Faulty, "evaluate", evaluate)
    resumed = runner.invoke(evoengine.cli.main, ["resume", "-q", str(folder)])
    assert resumed.exit_code == 0, resumed.output
    reference = _only_folder(tmp_path / "a")
    assert json.loads((folder / "best.json").read_text()) == json.loads(
        (reference / "best.json").read_text())
    assert (folder / "logbook.csv").read_text() == (reference / "logbook.csv").read_text()


def test_resume_refuses_a_checkpoint_of_another_plugin_version(uninterrupted, tmp_path):
    folder = tmp_path / uninterrupted.name
    shutil.copytree(uninterrupted, folder)
    site = tmp_path / "site"
    faulty.install(site, "0.2.0")  # the plugin was upgraded since the run
    done = _evoengine(["resume", str(folder)], faulty.subprocess_env(site), tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: checkpoint ")
    assert "plugin 'faulty' 0.1.0, but 0.2.0 is installed" in lines[0]
    assert (folder / "checkpoint" / "gen-000030.json").exists()  # kept


def test_unwritable_run_folder_is_one_error_line(plugin_env, tmp_path):
    (tmp_path / "blocker").write_text("a file where a folder should be")
    done = _evoengine(["run", "faulty", "-q", "--set", "generations=3", "--out", "blocker/runs"],
                      plugin_env, tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    # The run folder is made (exclusively) before the first evaluation, so this is found at once.
    assert len(lines) == 1 and lines[0].startswith("error: cannot make the output folder ")
    assert "Not a directory" in lines[0]


def test_resume_of_a_folder_without_checkpoint_is_one_error_line(plugin_env, tmp_path):
    done = _evoengine(["resume", str(tmp_path)], plugin_env, tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "no checkpoint to resume from" in done.stderr
