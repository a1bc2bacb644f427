"""Checkpoint and resume through the real CLI: ``kill -9`` and Ctrl-C in the middle of a run,
then ``evoengine resume``, must end with the result of a run never interrupted."""

from __future__ import annotations

import json
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


def _interrupt_then_resume(plugin_env, cwd: Path, sig: int) -> tuple[Path, int, str]:
    """The run folder, exit code and standard error of a run stopped by ``sig`` mid-run."""
    process = subprocess.Popen([sys.executable, "-m", "evoengine.cli", "run", "faulty", *RUN,
                                *HANG_AFTER_10], env=plugin_env, cwd=cwd,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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


def test_ctrl_c_writes_a_checkpoint_says_how_to_resume_and_resume_finishes(
        plugin_env, uninterrupted, tmp_path):
    folder, returncode, message = _interrupt_then_resume(plugin_env, tmp_path, signal.SIGINT)
    assert returncode == 130, message
    assert f"continue with: evoengine resume {folder.relative_to(tmp_path)}" in " ".join(
        message.split())
    done = _evoengine(["resume", str(folder), "-q"], plugin_env, tmp_path)
    assert done.returncode == 0, done.stderr
    _assert_same_end(folder, uninterrupted)


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
