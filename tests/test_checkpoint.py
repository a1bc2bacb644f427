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
    FORMAT_VERSION,
    Checkpointer,
    CheckpointError,
    RunInfo,
    _document_checksum,
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
    with pytest.raises(CheckpointError) as err:
        optimize(prepared.problem, prepared.settings, checkpoint=saver)
    assert str(err.value) == (f"cannot write checkpoint {blocker}/checkpoint/gen-000000.json: "
                              "Not a directory; the last good checkpoint none was written before")


# --- the checkpoint files themselves, with a stand-in optimizer ------------------------------
class _State:
    """The two methods a Checkpointer uses of an optimizer."""

    def __init__(self, generation, **values):
        self.generation, self.values = generation, values

    def export_state(self):
        return ({"generation": self.generation, **self.values},
                {"genomes": np.arange(6.0).reshape(2, 3) + self.generation})


INFO = RunInfo("sphere", "equation", "1.2", {"seed": 1})


def test_checkpoints_are_written_every_n_generations_and_once_each(tmp_path):
    saver = Checkpointer(tmp_path, INFO, 3)
    for generation in range(8):
        saver.maybe_save(_State(generation))
    assert [p.name for p in checkpoints(tmp_path)] == ["gen-000006.json", "gen-000003.json"]
    path = checkpoints(tmp_path)[0]
    written = path.read_bytes()
    assert saver.save(_State(6, other=1)) == path and path.read_bytes() == written  # once
    never = Checkpointer(tmp_path / "never", INFO, 0)
    for generation in range(4):
        never.maybe_save(_State(generation))
    assert checkpoints(tmp_path / "never") == []


def test_the_two_newest_checkpoints_are_kept_and_numbers_sort_as_numbers(tmp_path):
    saver = Checkpointer(tmp_path, INFO, 1)
    for generation in (98, 99, 100, 101):
        saver.save(_State(generation))
    names = sorted(p.name for p in (tmp_path / "checkpoint").iterdir())
    assert names == ["gen-000100.json", "gen-000100.npz", "gen-000101.json", "gen-000101.npz"]
    (tmp_path / "checkpoint" / "notes.json").write_text("{}")  # not a checkpoint's name
    (tmp_path / "checkpoint" / "gen-1000000.json").write_text("{}")
    (tmp_path / "checkpoint" / "gen-999999.json").write_text("{}")  # a later name as text
    assert [p.name for p in checkpoints(tmp_path)] == ["gen-1000000.json", "gen-999999.json",
                                                       "gen-000101.json", "gen-000100.json"]


def test_a_resumed_run_keeps_the_checkpoint_it_started_from_until_two_newer_exist(tmp_path):
    Checkpointer(tmp_path, INFO, 1).save(_State(5))
    saved, _ = load_latest(tmp_path)
    saver = Checkpointer(tmp_path, INFO, 1)
    saver.resumed_from(saved)
    assert saver.save(_State(5)) == saved.path  # not written again
    saver.save(_State(6))
    assert [p.name for p in checkpoints(tmp_path)] == ["gen-000006.json", "gen-000005.json"]
    saver.save(_State(7))
    assert [p.name for p in checkpoints(tmp_path)] == ["gen-000007.json", "gen-000006.json"]


def test_a_checkpoint_reads_back_what_was_written(tmp_path):
    path = Checkpointer(tmp_path, INFO, 1).save(_State(4, rng={"state": 7}, best=np.float64(2)))
    document = json.loads(path.read_text())
    assert {k: document[k] for k in ("format", "format_version", "problem", "plugin",
                                     "plugin_version", "settings", "arrays")} == {
        "format": "evoengine-checkpoint", "format_version": FORMAT_VERSION, "problem": "sphere",
        "plugin": "equation", "plugin_version": "1.2", "settings": {"seed": 1},
        "arrays": "gen-000004.npz"}
    saved = read_checkpoint(path)
    assert saved.info == INFO and saved.evoengine_version == __version__
    assert saved.values == {"generation": 4, "rng": {"state": 7}, "best": 2.0}
    assert saved.generation == 4 and saved.path == path
    np.testing.assert_array_equal(saved.arrays["genomes"], np.arange(6.0).reshape(2, 3) + 4)


def test_state_that_json_cannot_hold_is_refused_by_name(tmp_path):
    with pytest.raises(TypeError, match="^set cannot be written to a checkpoint$"):
        Checkpointer(tmp_path, INFO, 1).save(_State(1, bad={1, 2}))
    path = Checkpointer(tmp_path, INFO, 1).save(_State(2, array=np.array([1, 2])))
    assert read_checkpoint(path).values["array"] == [1, 2]


def _damage(tmp_path, change, *, resign=True):
    """The checkpoint of generation 3 changed by ``change``; with ``resign``, its checksum is
    recomputed, so the reader's later checks are reached."""
    path = Checkpointer(tmp_path, INFO, 1).save(_State(3))
    document = json.loads(path.read_text())
    change(document)
    if resign:
        document["checksum"] = _document_checksum(document)
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize("change, why", [
    (lambda d: d.update(format="other"), "it is not an evoengine checkpoint"),
    (lambda d: d.pop("arrays"), "it does not name its arrays file (gen-N.npz)"),
    (lambda d: d.update(arrays="../elsewhere.npz"),
     "it does not name its arrays file (gen-N.npz)"),
    (lambda d: d.update(arrays="gen-000009.npz"), "its arrays file cannot be read: arrays file "
                                                  "'{folder}/gen-000009.npz' does not exist"),
    (lambda d: d.pop("problem"), "a field is missing or wrong (KeyError: 'problem')"),
    (lambda d: d["state"].pop("generation"),
     "a field is missing or wrong (KeyError: 'generation')"),
    (lambda d: d.update(settings=3),
     "a field is missing or wrong (ValueError: field 'settings or state' has the wrong type)"),
    (lambda d: d.update(plugin_version=1),
     "a field is missing or wrong (ValueError: field 'plugin_version' has the wrong type)"),
    (lambda d: d.update(records=[{"generation": 1}, 2]),
     "a field is missing or wrong (ValueError: 'records' is not a list of generation entries)"),
    (lambda d: d.update(records={"generation": 1}),
     "a field is missing or wrong (ValueError: 'records' is not a list of generation entries)"),
    (lambda d: d["state"].update(generation="9" * 150 + "x" * 150),  # the reason cut at 200
     "a field is missing or wrong (ValueError: invalid literal for int() with base 10: '"
     + ("9" * 150 + "x" * 150)[:200 - 41] + ")"),
])
def test_each_damage_is_named(tmp_path, change, why):
    path = _damage(tmp_path, change)
    with pytest.raises(CheckpointError) as err:
        read_checkpoint(path)
    assert str(err.value) == f"checkpoint {path} is damaged: {why.format(folder=path.parent)}"


def test_an_edited_checkpoint_is_refused_by_its_own_checksum(tmp_path):
    path = _damage(tmp_path, lambda d: d["state"].update(generation=2), resign=False)
    with pytest.raises(CheckpointError) as err:
        read_checkpoint(path)
    assert str(err.value) == (f"checkpoint {path} is damaged: it does not match its checksum "
                              "(edited, or written by hand)")


def test_a_checkpoint_that_is_a_list_or_a_folder_is_damaged(tmp_path):
    listed = tmp_path / "gen-000001.json"
    listed.write_text("[1, 2]")
    with pytest.raises(CheckpointError, match="is damaged: it is not an evoengine checkpoint$"):
        read_checkpoint(listed)
    folder = tmp_path / "gen-000002.json"
    folder.mkdir()
    with pytest.raises(CheckpointError, match=r"is damaged: checkpoint file '.*' is a directory, "
                                              r"not a regular file$"):
        read_checkpoint(folder)


def test_another_format_version_is_refused_outright_not_skipped(tmp_path):
    Checkpointer(tmp_path, INFO, 1).save(_State(1))
    path = _damage(tmp_path, lambda d: d.update(format_version=99))
    with pytest.raises(CheckpointError) as err:
        load_latest(tmp_path)  # not "damaged": the older checkpoint is not tried instead
    assert str(err.value) == (f"checkpoint {path} has format version 99; this evoengine "
                              f"({__version__}) reads version {FORMAT_VERSION}")


def test_when_every_checkpoint_is_damaged_each_reason_is_given(tmp_path):
    saver = Checkpointer(tmp_path, INFO, 1)
    first, second = saver.save(_State(1)), saver.save(_State(2))
    for path in (first, second):
        path.write_text("{")
    with pytest.raises(CheckpointError) as err:
        load_latest(tmp_path)
    assert str(err.value) == (
        f"no checkpoint to resume from: checkpoint {second} is damaged: it is not valid JSON "
        f"(truncated?); checkpoint {first} is damaged: it is not valid JSON (truncated?)")
    with pytest.raises(CheckpointError) as err:
        load_latest(tmp_path / "elsewhere")
    assert str(err.value) == (f"{tmp_path / 'elsewhere'} has no checkpoint to resume from "
                              f"(looked in {tmp_path / 'elsewhere' / 'checkpoint'}); is it a "
                              "run folder?")


def test_compatibility_messages_say_what_to_install(tmp_path):
    saved = read_checkpoint(Checkpointer(tmp_path, INFO, 1).save(_State(1)))
    check_compatible(saved, "equation", "1.2")
    path = saved.path
    cases = [
        (("other", "1.2"), f"checkpoint {path} was written for problem 'sphere' of plugin "
                           "'equation', but that problem now comes from plugin 'other'"),
        (("equation", "1.3"), f"checkpoint {path} was written by plugin 'equation' 1.2, but "
                              "1.3 is installed; the run would not continue as it began: "
                              "install equation 1.2 to resume it, or start a new run"),
    ]
    for (plugin, version), message in cases:
        with pytest.raises(CheckpointError) as err:
            check_compatible(saved, plugin, version)
        assert str(err.value) == message
    saved.evoengine_version = "0.0.1"
    with pytest.raises(CheckpointError) as err:
        check_compatible(saved, "equation", "1.2")
    assert str(err.value) == (f"checkpoint {path} was written by evoengine 0.0.1, but "
                              f"{__version__} is installed; install evoengine 0.0.1 to resume "
                              "it, or start a new run")


def test_json_half_is_read_up_to_its_limit_and_to_a_sane_depth(tmp_path, monkeypatch):
    import evoengine.checkpoint

    path = Checkpointer(tmp_path, INFO, 1).save(_State(1))
    size = path.stat().st_size
    monkeypatch.setattr(evoengine.checkpoint, "JSON_LIMIT", size)
    assert read_checkpoint(path).generation == 1  # exactly the limit: read
    monkeypatch.setattr(evoengine.checkpoint, "JSON_LIMIT", size - 1)
    with pytest.raises(CheckpointError) as err:
        read_checkpoint(path)
    assert str(err.value) == (f"checkpoint {path} is damaged: checkpoint file {str(path)!r} is "
                              f"{size} bytes; the limit is {size - 1} bytes")
    monkeypatch.undo()
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CheckpointError) as err:
        read_checkpoint(path)
    assert str(err.value) == (f"checkpoint {path} is damaged: its JSON nests too deeply to be a "
                              "checkpoint")


def test_the_recorders_entries_come_back_and_an_unreadable_checksum_is_a_mismatch(
        tmp_path, monkeypatch):
    import evoengine.checkpoint

    path = _damage(tmp_path, lambda d: d.update(records=[{"generation": 1}, {"generation": 2}]))
    assert read_checkpoint(path).records == [{"generation": 1}, {"generation": 2}]

    def cannot(document):  # json.dumps fails on what json.loads read (deep enough nesting)
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(evoengine.checkpoint, "_document_checksum", cannot)
    with pytest.raises(CheckpointError) as err:
        read_checkpoint(path)
    assert str(err.value) == (f"checkpoint {path} is damaged: it does not match its checksum "
                              "(edited, or written by hand)")


def test_a_periodic_checkpoint_holds_the_recorders_entries(tmp_path):
    """The last generation's checkpoint is the periodic one (12 is a multiple of 3): the final
    save finds it written, so the entries must have come with it."""
    _run_with_checkpoints(tmp_path)
    saved, _ = load_latest(tmp_path)
    assert saved.generation == 12
    assert [entry["generation"] for entry in saved.records] == list(range(13))
    assert saved.records[-1]["logbook"]["best"] == saved.values["logbook"]["records"][-1]["best"]


def test_the_checksum_is_over_the_documented_canonical_form(tmp_path):
    """SHA-256 of the JSON without ``checksum``, keys sorted, no spaces (the module's format
    note), so that another reader can check it: key order and layout of the file do not
    matter, the canonical form does."""
    import hashlib

    path = Checkpointer(tmp_path, INFO, 1).save(_State(1, logbook={"b": 1, "a": [1, 2]}))
    document = json.loads(path.read_text())
    body = {key: value for key, value in document.items() if key != "checksum"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    assert document["checksum"] == hashlib.sha256(canonical.encode()).hexdigest()
    reordered = dict(reversed(list(document.items())))  # another writer's key order
    path.write_text(json.dumps(reordered, indent=4))
    assert read_checkpoint(path).generation == 1
