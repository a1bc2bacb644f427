"""Checkpoints in process: the state round trip, atomic writes, and damaged checkpoints."""

from __future__ import annotations

import json
import resource
import signal

import numpy as np
import pytest
from helpers import prepare_faulty, same_run

from evoengine import __version__
from evoengine.checkpoint import (
    Checkpointer,
    CheckpointError,
    RunInfo,
    check_compatible,
    checkpoints,
    load_latest,
    read_checkpoint,
)
from evoengine.run import make_optimizer, optimize


def _prepared(**values):
    base = {"seed": 11, "population_size": 10, "generations": 12, "checkpoint_every": 3,
            "hall_of_fame_size": 4}
    return prepare_faulty(**{**base, **values})


def _info(prepared, version="0.1.0"):
    return RunInfo("faulty", "faulty", version, prepared.as_dict())


def _run_with_checkpoints(folder, **values):
    prepared = _prepared(**values)
    saver = Checkpointer(folder, _info(prepared), prepared.settings.checkpoint_every)
    return optimize(prepared.problem, prepared.settings, checkpoint=saver), saver


def _resume(folder):
    saved, refused = load_latest(folder)
    prepared = _prepared(**{k: v for k, v in saved.info.settings.items() if k != "problem"})
    opt = make_optimizer(prepared.problem, prepared.settings)
    opt.restore_state(saved.values, saved.arrays)
    return opt, prepared, saved, refused


@pytest.mark.parametrize("algorithm", ["ea_simple", "mu_plus_lambda", "steady_state"])
def test_resuming_from_a_middle_checkpoint_ends_as_the_uninterrupted_run(tmp_path, algorithm):
    extra = {"algorithm": algorithm, "nan_above": 0.8}  # failures are state too
    full, _ = _run_with_checkpoints(tmp_path, **extra)
    assert [p.name for p in checkpoints(tmp_path)] == ["gen-000012.json", "gen-000009.json"]
    (tmp_path / "checkpoint" / "gen-000012.json").unlink()  # as if killed after generation 9
    opt, prepared, saved, _ = _resume(tmp_path)
    assert saved.generation == 9
    resumed = optimize(prepared.problem, prepared.settings, optimizer=opt)
    same_run(full, resumed)


def test_checkpoint_is_json_and_npz_without_pickle(tmp_path):
    _run_with_checkpoints(tmp_path)
    path = checkpoints(tmp_path)[0]
    document = json.loads(path.read_text())
    assert document["plugin"] == "faulty" and document["plugin_version"] == "0.1.0"
    assert document["evoengine_version"] == __version__
    assert document["settings"]["seed"] == 11
    assert document["state"]["rng"]["bit_generator"] == "PCG64"
    assert len(document["state"]["logbook"]["records"]) == 13
    with np.load(path.with_suffix(".npz"), allow_pickle=False) as arrays:  # no object arrays
        assert arrays["genomes"].shape == (10, 3) and arrays["fitness"].shape == (10, 1)
        assert arrays["hall_of_fame_genomes"].shape == (4, 3)
    assert not list((tmp_path / "checkpoint").glob(".*.tmp"))


def test_ctrl_c_during_an_evaluation_saves_the_last_whole_generation(tmp_path, monkeypatch):
    full, _ = _run_with_checkpoints(tmp_path / "full")
    prepared = _prepared(checkpoint_every=0)
    calls = {"n": 0}
    evaluate = type(prepared.problem).evaluate

    def interrupted(self, genomes):  # Ctrl-C arrives while generation 5 is evaluated
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt
        return evaluate(self, genomes)

    monkeypatch.setattr(type(prepared.problem), "evaluate", interrupted)
    saver = Checkpointer(tmp_path / "cut", _info(prepared), 0)
    with pytest.raises(KeyboardInterrupt):
        optimize(prepared.problem, prepared.settings, checkpoint=saver)
    monkeypatch.undo()
    opt, prepared, saved, _ = _resume(tmp_path / "cut")
    assert saved.generation == 4
    same_run(full, optimize(prepared.problem, prepared.settings, optimizer=opt))


def test_truncated_checkpoint_is_refused_and_the_previous_one_used(tmp_path):
    _run_with_checkpoints(tmp_path)
    newest, previous = checkpoints(tmp_path)
    keep = previous.read_bytes(), previous.with_suffix(".npz").read_bytes()
    newest.write_bytes(newest.read_bytes()[:200])
    _, _, saved, refused = _resume(tmp_path)
    assert saved.path == previous and saved.generation == 9
    assert len(refused) == 1 and "gen-000012.json is damaged" in refused[0]
    assert "not valid JSON (truncated?)" in refused[0]
    assert (previous.read_bytes(), previous.with_suffix(".npz").read_bytes()) == keep


def test_truncated_arrays_file_is_refused_by_its_checksum(tmp_path):
    _run_with_checkpoints(tmp_path)
    newest, previous = checkpoints(tmp_path)
    npz = newest.with_suffix(".npz")
    npz.write_bytes(npz.read_bytes()[:-50])
    with pytest.raises(CheckpointError, match="gen-000012.npz does not match its checksum"):
        read_checkpoint(newest)
    previous.with_suffix(".npz").unlink()
    with pytest.raises(CheckpointError, match="no checkpoint to resume from.*checksum.*"
                                              "arrays file cannot be read"):
        load_latest(tmp_path)


def test_no_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="has no checkpoint to resume from"):
        load_latest(tmp_path)


def test_checkpoint_of_another_plugin_or_engine_version_is_refused(tmp_path):
    _run_with_checkpoints(tmp_path)
    saved, _ = load_latest(tmp_path)
    check_compatible(saved, "faulty", "0.1.0")
    with pytest.raises(CheckpointError, match=r"plugin 'faulty' 0\.1\.0, but 0\.2\.0 is "
                                              r"installed.*install faulty 0\.1\.0"):
        check_compatible(saved, "faulty", "0.2.0")
    with pytest.raises(CheckpointError, match="now comes from plugin 'other'"):
        check_compatible(saved, "other", "0.1.0")
    saved.evoengine_version = "0.0.1"
    with pytest.raises(CheckpointError, match=r"written by evoengine 0\.0\.1, but"):
        check_compatible(saved, "faulty", "0.1.0")
    assert checkpoints(tmp_path)  # refusing deletes nothing


def test_disk_full_is_a_clear_error_and_the_last_checkpoint_stays(tmp_path):
    prepared = _prepared()
    saver = Checkpointer(tmp_path, _info(prepared), 3)
    opt = make_optimizer(prepared.problem, prepared.settings)
    for _ in range(4):
        opt.tell(prepared.problem.evaluate(opt.ask()))
    good = saver.save(opt)
    opt.tell(prepared.problem.evaluate(opt.ask()))
    # A file-size limit below the checkpoint's size: the kernel fails the write half-way (EFBIG),
    # as a full disk does (ENOSPC). SIGXFSZ is ignored so the write returns the error.
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, hard))
    try:
        with pytest.raises(CheckpointError, match=r"cannot write checkpoint .*gen-000004.json: "
                                                  r"File too large; the last good checkpoint "
                                                  r".*gen-000003.json is intact"):
            saver.save(opt)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert [p.name for p in checkpoints(tmp_path)] == ["gen-000003.json"]
    assert load_latest(tmp_path)[0].path == good
    assert not list((tmp_path / "checkpoint").glob(".*"))  # no temporary file left behind


def test_unwritable_run_folder_is_a_clear_error(tmp_path):
    prepared = _prepared()
    blocker = tmp_path / "run"
    blocker.write_text("a file where the run folder should be")
    saver = Checkpointer(blocker, _info(prepared), 3)
    with pytest.raises(CheckpointError, match="cannot write checkpoint .*none was written"):
        optimize(prepared.problem, prepared.settings, checkpoint=saver)
