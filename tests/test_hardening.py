"""Hostile and broken inputs done for real (issue 11): each gets one clear answer, exit code 2
through the CLI, and nothing is lost or written where it should not be."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import faulty_plugin as faulty
from click.testing import CliRunner

from evoengine.algorithms.base import NO_VALID_PATIENCE
from evoengine.cli import main
from evoengine.config import AlgorithmSettings
from evoengine.errors import NoValidSolutionError
from evoengine.plugins import load_plugins
from evoengine.run import make_optimizer, optimize, prepare


def cli(*args: str):
    """Run the ``evoengine`` command in this process; returns click's result."""
    return CliRunner().invoke(main, list(args), catch_exceptions=True)


def flat(result) -> str:
    """The output with rich's wrapping undone (it breaks long lines at the terminal width)."""
    return result.output.replace("\n", "")


def one_error_line(result) -> str:
    """The single ``error:`` line of a refused command (exit code 2, no traceback)."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def _faulty_run(backend="serial", **values):
    loaded = load_plugins(extra={"faulty": faulty}, only=[])
    base = {"seed": 3, "population_size": 12, "generations": 6, "backend": backend}
    prepared = prepare(loaded.registry.get("faulty"), {**base, **values})
    return optimize(prepared.problem, prepared.settings, problem_name="faulty")


# --- 1. a generation in which every evaluation fails -----------------------------------------

@pytest.mark.parametrize("expression, bounds", [
    ("sqrt(x1)", "[-4,-1]"), ("x1/0", "[-4,4]"), ("0/0+x1", "[-4,4]"), ("log(0)*x1", "[-4,4]"),
])
def test_expression_that_is_never_valid_stops_with_one_clear_line(expression, bounds, tmp_path):
    result = cli("run", "equation", "-q", "--out", str(tmp_path), "--set",
                 f"expression={expression}", "--set", f"bounds={bounds}", "--seed", "1")
    line = one_error_line(result)
    assert "no valid individual" in line and "evaluations failed" in line


@pytest.mark.parametrize("backend", ["serial", "processes"])
def test_problem_whose_every_row_fails_stops_after_the_patience(backend):
    # nan_above=-2: every row NaN; raise_above with mark_failed: every row raises.
    for fault in ({"nan_above": -2.0}, {"raise_above": -2.0, "on_error": "mark_failed"}):
        with pytest.raises(NoValidSolutionError, match="no valid individual"):
            _faulty_run(backend, generations=50, workers=2, **fault)


def test_all_failed_generation_in_the_middle_is_recorded_and_the_run_goes_on():
    problem = faulty.Faulty(faulty.FaultySettings())
    for selection in ("tournament", "roulette", "sus", "rank", "best", "random"):
        settings = AlgorithmSettings(population_size=10, generations=6, seed=2,
                                     selection=selection)
        opt = make_optimizer(problem, settings)
        while not opt.stop():
            genomes = opt.ask()
            fitness = (genomes ** 2).sum(axis=1, keepdims=True)
            if opt.generation + 1 in (2, 3):  # generations 2 and 3: every evaluation fails
                fitness[:] = np.nan
            opt.tell(fitness)
        failed = opt.logbook.select("failed")
        nevals = opt.logbook.select("nevals")
        assert failed[2] == nevals[2] and failed[3] == nevals[3]
        assert opt.generation == 6 and np.isfinite(opt.best[1]).all()


def test_resume_from_an_all_failed_generation_continues_as_the_run():
    problem = faulty.Faulty(faulty.FaultySettings(nan_above=-2.0))
    settings = AlgorithmSettings(population_size=8, generations=30, seed=5)
    straight = make_optimizer(problem, settings)
    with pytest.raises(NoValidSolutionError):
        optimize(problem, settings, optimizer=straight)
    first = make_optimizer(problem, settings)
    for _ in range(3):
        first.tell(problem.evaluate(first.ask()))
    values, arrays = first.export_state()
    resumed = make_optimizer(problem, settings)
    resumed.restore_state(values, arrays)
    with pytest.raises(NoValidSolutionError):
        optimize(problem, settings, optimizer=resumed)
    assert resumed.generation == straight.generation == NO_VALID_PATIENCE - 1
    assert resumed.evaluations == straight.evaluations


# --- 2 and 5. the expression grammar takes exactly what it can bind, within bounds ----------

@pytest.mark.parametrize("expression, message", [
    ("x01 - x2", "write it without leading zeros, x1"),
    ("x\u0661 - x2", "is not ASCII"),            # ARABIC-INDIC DIGIT ONE, a \\d digit
    ("x100000000", "the highest allowed is x100000"),
    ("1" * 400 + "*x1", "too large for a double"),
    ("1e309*x1", "too large for a double"),
    ("-" * 990 + "(" * 300 + "x1" + ")" * 300, "nested"),
    ("-" * 5000 + "x1", "nested too deeply"),
    ("x1+" * 5000 + "x1", "characters long; the limit is 10000"),
    ("9" * 5000, "digits"),
])
def test_expression_outside_the_grammar_is_one_error_line(expression, message, tmp_path):
    result = cli("run", "equation", "-q", "--out", str(tmp_path), "--set",
                 f"expression={expression}", "--set", "bounds=[-4,4]")
    assert message in one_error_line(result)
    assert not any(tmp_path.iterdir())  # nothing written


def test_long_flat_and_deeply_negated_expressions_are_read_correctly():
    from evoengine.gp import evaluate_program, parse_expression

    data = np.array([[2.0, 3.0]])
    assert evaluate_program(parse_expression("+".join(["x1"] * 900)), data)[0] == 1800.0
    assert evaluate_program(parse_expression("-" * 990 + "x2"), data)[0] == 3.0
    assert evaluate_program(parse_expression("-" * 991 + "x2"), data)[0] == -3.0
    program = parse_expression("x1 - x2")
    assert program.variables == ("x1", "x2")
    assert evaluate_program(program, data)[0] == -1.0


# --- 3. two runs started in the same second never share a run folder -----------------------

def test_runs_started_together_each_get_their_own_run_folder(tmp_path):
    from evoengine.report import new_run_folder

    start = threading.Barrier(16)
    folders = []

    def claim():
        start.wait()
        folders.append(new_run_folder(tmp_path, "job"))

    threads = [threading.Thread(target=claim) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(folders)) == 16 and all(folder.is_dir() for folder in folders)


# --- 4. write_atomic: a fresh temporary name, never a planted link --------------------------

def test_write_atomic_does_not_follow_a_link_planted_at_its_temporary_name(tmp_path,
                                                                          monkeypatch):
    from evoengine import io

    victim = tmp_path / "victim"
    victim.write_text("keep me")
    target = tmp_path / "best.json"
    os.symlink(victim, tmp_path / ".best.json.tmp")  # the old fixed temporary name
    io.write_atomic(target, b"new")
    assert target.read_bytes() == b"new" and victim.read_text() == "keep me"
    # Even a link at the exact random name is refused rather than followed.
    monkeypatch.setattr(io.secrets, "token_hex", lambda n: "planted")
    os.symlink(victim, tmp_path / ".best.json.planted.tmp")
    with pytest.raises(FileExistsError):
        io.write_atomic(target, b"newer")
    assert target.read_bytes() == b"new" and victim.read_text() == "keep me"


# --- 5 and 7. settings: values, files and sizes ---------------------------------------------

@pytest.mark.parametrize("assignment, message", [
    ("generations=true", "setting 'generations': expected a whole number, got true"),
    ("blend_alpha=inf", "setting 'blend_alpha'"),
    ("mutation_sigma=nan", "setting 'mutation_sigma'"),
    ("population_size=1000000000", "needs about"),
    ("bounds=" + "[" * 500 + "]" * 500, "nests lists or tables more than 8 deep"),
    ("bounds=" + "[" * 9 + "]" * 9, "nests lists or tables more than 8 deep"),
    ("bounds=[nan, 1]", "setting 'bounds'"),
    ("workers=100000", "setting 'workers'"),
    ("tournament_size=1000000000", "tournament_size (1000000000) must be at most 64"),
    ("inputs=" + "9" * 5000, "digits"),
])
def test_bad_setting_values_are_one_error_line(assignment, message, tmp_path):
    result = cli("run", "equation", "-q", "--out", str(tmp_path), "--set", assignment)
    assert message in one_error_line(result)
    assert not any(tmp_path.iterdir())


def test_negative_seed_is_one_error_line(tmp_path):
    result = cli("run", "equation", "-q", "--out", str(tmp_path), "--seed", "-1")
    assert "setting 'seed'" in one_error_line(result)


def test_huge_genome_is_refused_before_it_is_allocated(tmp_path):
    result = cli("run", "sphere", "-q", "--out", str(tmp_path), "--set", "dimension=1000000000")
    assert "a genome of 1000000000 genes needs about" in one_error_line(result)


@pytest.fixture
def odd_files(tmp_path):
    """A FIFO, a directory, a link to /dev/zero, a Latin-1 file and a 2 MiB file."""
    files = tmp_path / "files"
    files.mkdir()
    os.mkfifo(files / "fifo")
    (files / "folder").mkdir()
    os.symlink("/dev/zero", files / "zero")
    (files / "latin1").write_bytes(b"population_size = 3\n# caf\xe9\n")
    (files / "huge").write_bytes(b"#" * (2 << 20))
    return files


@pytest.mark.parametrize("name, message", [
    ("fifo", "is a FIFO (named pipe), not a regular file"),
    ("folder", "is a directory, not a regular file"),
    ("zero", "is a device, not a regular file"),
    ("latin1", "is not UTF-8 text: byte 0xe9 on line 2"),
    ("huge", "is 2.0 MiB; the limit is 1.0 MiB"),
    ("missing", "does not exist"),
])
def test_config_file_that_is_not_a_small_regular_utf8_file_is_one_error_line(
        name, message, odd_files, tmp_path):
    out = tmp_path / "runs"
    result = cli("run", "equation", "-q", "--out", str(out), "-c", str(odd_files / name))
    line = one_error_line(result)
    assert line.startswith("error: config file ") and message in line
    assert not out.exists()


def test_config_file_with_a_byte_order_mark_is_read(tmp_path):
    from evoengine import config

    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbfpopulation_size = 3\n")
    assert config.read_toml(path) == {"population_size": 3}


# --- 4. checkpoints: a checksum over both halves, every field checked, bounded reading ------

@pytest.fixture
def run_folder(tmp_path):
    """A finished sphere run with checkpoints at generations 2 and 4."""
    result = cli("run", "sphere", "-q", "--out", str(tmp_path), "--seed", "4", "--set",
                 "dimension=3", "--set", "population_size=10", "--set", "generations=4",
                 "--set", "checkpoint_every=2")
    assert result.exit_code == 0, result.output
    (folder,) = tmp_path.iterdir()
    return folder


def _newest(folder):
    from evoengine.checkpoint import checkpoints

    return checkpoints(folder)[0]


def _rewrite(path, change_document=None, change_arrays=None, *, checksums=True):
    """Change a checkpoint as a careful forger would: edit it, then (``checksums``) recompute
    both checksums so that only the field checks stand in the way."""
    import hashlib
    import io as bytes_io
    import json

    from evoengine.checkpoint import _document_checksum

    document = json.loads(path.read_text())
    npz = path.with_suffix(".npz")
    if change_arrays is not None:
        with np.load(npz) as data:
            arrays = dict(data)
        change_arrays(arrays)
        buffer = bytes_io.BytesIO()
        np.savez(buffer, **arrays)
        npz.write_bytes(buffer.getvalue())
    if change_document is not None:
        change_document(document)
    if checksums:
        document["arrays_sha256"] = hashlib.sha256(npz.read_bytes()).hexdigest()
        document["checksum"] = _document_checksum(document)
    path.write_text(json.dumps(document))


def test_edited_generation_is_refused_by_the_checksum_and_the_older_one_used(run_folder):
    newest = _newest(run_folder)

    def later(document):
        document["state"]["generation"] = 3

    _rewrite(newest, later, checksums=False)
    result = cli("resume", "-q", str(run_folder))
    assert result.exit_code == 0, result.output
    assert "does not match its checksum (edited, or written by hand)" in flat(result)
    assert "resuming sphere at generation 2" in flat(result)


def _set_state(key, value):
    def change(document):
        document["state"][key] = value
    return change


def _set_array(key, make):
    def change(arrays):
        arrays[key] = make(arrays[key])
    return change


@pytest.mark.parametrize("document, arrays, message", [
    (_set_state("rng", {"bit_generator": "PCG64", "state": "oops"}), None, "cannot be resumed"),
    (_set_state("rng", {"bit_generator": "MT19937", "state": {}}), None, "cannot be resumed"),
    (_set_state("algorithm", "nsga2"), None, "field 'algorithm' is 'nsga2'"),
    (_set_state("generation", -5), None, "field 'generation' is -5, not a count"),
    (_set_state("failures", 10**9), None, "exceeds 'evaluations'"),
    (lambda d: d["state"].pop("evaluations"), None, "field 'evaluations' is missing"),
    (None, _set_array("genomes", lambda a: a[:, :2]), "array 'genomes' has shape (10, 2)"),
    (None, _set_array("genomes", lambda a: np.full_like(a, np.nan)), "NaN or infinite genes"),
    (None, _set_array("fitness", lambda a: a[:3]), "array 'genomes' has shape (10, 3), not (3,"),
    (None, _set_array("hall_of_fame_fitness", lambda a: a[:, :0]), "cannot be resumed"),
])
def test_forged_state_is_one_refusal_line(run_folder, document, arrays, message):
    _rewrite(_newest(run_folder), document, arrays)
    line = one_error_line(cli("resume", "-q", str(run_folder)))
    assert message in line


def test_array_header_claiming_1e10_rows_is_refused_before_allocating(run_folder):
    newest = _newest(run_folder)
    npz = newest.with_suffix(".npz")
    import zipfile

    with zipfile.ZipFile(npz) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    header = np.lib.format.header_data_from_array_1_0(np.zeros((10, 3)))
    header["shape"] = (10**10, 3)
    buffer = __import__("io").BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    members["genomes.npy"] = buffer.getvalue() + b"\0" * 240
    with zipfile.ZipFile(npz, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    _rewrite(newest)  # the checksums of the forged file
    result = cli("resume", "-q", str(run_folder))
    assert "claims shape (10000000000, 3)" in flat(result)
    assert "resuming sphere at generation 2" in flat(result) and result.exit_code == 0


def test_arrays_that_are_not_numbers_are_refused(run_folder):
    _rewrite(_newest(run_folder), None, _set_array("fitness", lambda a: a.astype("U8")))
    result = cli("resume", "-q", str(run_folder))
    assert "array 'fitness' has dtype <U8, not numbers" in flat(result)
    assert "resuming sphere at generation 2" in flat(result) and result.exit_code == 0


def test_deeply_nested_checkpoint_json_is_refused(run_folder):
    newest = _newest(run_folder)
    newest.write_text("[" * 100_000 + "]" * 100_000)
    older = cli("resume", "-q", str(run_folder))
    assert "nests too deeply" in flat(older) and older.exit_code == 0


@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "folder"])
def test_checkpoint_that_is_not_a_regular_file_is_refused_without_hanging(run_folder, kind):
    newest = _newest(run_folder)
    target = newest if kind != "dev_zero" else newest.with_suffix(".npz")
    target.unlink()
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "dev_zero":
        os.symlink("/dev/zero", target)
    else:
        target.mkdir()
    result = cli("resume", "-q", str(run_folder))
    assert "not a regular file" in flat(result)
    assert "resuming sphere at generation 2" in flat(result)
    if kind == "folder":  # it stands where the run's generation 4 checkpoint must go
        assert "Is a directory; the last good checkpoint" in one_error_line(result)
    else:
        assert result.exit_code == 0, result.output


# --- 6. worker processes die with their run -------------------------------------------------

_ORPHAN_SCRIPT = """
import sys
import numpy as np
from faulty_plugin import Faulty, FaultySettings
from evoengine.backends.processes import ProcessesBackend

if __name__ == "__main__":
    settings = FaultySettings(hang_once_when=sys.argv[0], hang_once_marker=sys.argv[1])
    backend = ProcessesBackend(Faulty(settings), workers=2, batch_size=1)
    print(" ".join(str(w.process.pid) for w in backend.workers), flush=True)
    backend(np.zeros((2, 3)))  # one worker hangs in its evaluation for an hour
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return not any(line.startswith("State:") and "Z" in line for line in fh)
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process states from /proc")
def test_kill_9_of_the_run_ends_its_workers_even_mid_evaluation(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    script, marker = tmp_path / "run.py", tmp_path / "hanging"
    script.write_text(_ORPHAN_SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    parent = subprocess.Popen([sys.executable, str(script), str(marker)], env=env,
                              stdout=subprocess.PIPE, text=True)
    workers = [int(pid) for pid in parent.stdout.readline().split()]
    try:
        deadline = time.monotonic() + 60
        while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.read_text(), "no worker started its evaluation"
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(pid) for pid in workers)
    finally:
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_more_workers_than_four_per_core_is_one_clear_error():
    from evoengine.backends import BackendError
    from evoengine.backends.processes import ProcessesBackend

    cores = len(os.sched_getaffinity(0))
    with pytest.raises(BackendError, match=f"setting 'workers': {4 * cores + 1} worker "
                                           f"processes for {cores} cores; .* at most "
                                           f"{4 * cores}"):
        ProcessesBackend(faulty.Faulty(faulty.FaultySettings()), workers=4 * cores + 1)


@pytest.mark.parametrize("forge, message", [
    (lambda a: a["genomes_codes"].__setitem__((0, 0), 10**6), "a node code is outside"),
    (lambda a: a["genomes_lengths"].__setitem__(0, 10**6), "a tree length is outside"),
    (lambda a: a["genomes_lengths"].__setitem__(0, 1 if a["genomes_lengths"][0] > 1 else 2),
     "not one whole expression"),
    (lambda a: a["hall_of_fame_genomes_codes"].__setitem__((0, 0), -1),
     "a node code is outside"),
])
def test_forged_gp_trees_are_refused_before_the_compiled_evaluator_sees_them(
        tmp_path, forge, message):
    from evoengine import Objective
    from evoengine.checkpoint import CheckpointError, Checkpointer, RunInfo, load_latest, restore
    from evoengine.config import GPSettings
    from evoengine.gp import PrimitiveSet, TreeProblem, mean_squared_error

    x = np.linspace(-1, 1, 20)[:, None]
    ps = PrimitiveSet(["x"])
    ps.add_builtin("add", "mul", "sub")
    problem = TreeProblem(ps, fitness=lambda trees: mean_squared_error(trees, x, x[:, 0] ** 2),
                          objectives=(Objective("mse", "minimize"),))
    settings = GPSettings(population_size=12, generations=2, seed=3)
    saver = Checkpointer(tmp_path, RunInfo("gp", "test", "0", {}), 1)
    optimize(problem, settings, checkpoint=saver)
    saved, _ = load_latest(tmp_path)
    restore(make_optimizer(problem, settings), saved)  # the true one is restored
    arrays = {k: v.copy() for k, v in saved.arrays.items()}
    forge(arrays)
    saved.arrays = arrays
    with pytest.raises(CheckpointError, match=f"cannot be resumed: arrays of the trees"
                                              f".*: .*{message}"):
        restore(make_optimizer(problem, settings), saved)


# --- 5. play: bounded depth, checked heuristic files, importable game names ----------------

@pytest.mark.parametrize("document, message", [
    ('{"game": "isolation", "weights": {"own_moves": NaN}}', "NaN is not a number"),
    ('{"game": "isolation", "weights": {"own_moves": "a"}}',
     "the weight of 'own_moves' must be a finite number, got 'a'"),
    ('{"game": ["isolation"], "weights": {}}', "'game' must be a game's name"),
    ('{"game": "isolation", "size": "7", "weights": {}}', "'size' must be a whole number"),
    ('{"game": "isolation", "weights": {}, "expression": {"tree": "add(own_moves, 1e400)"}}',
     "a number is too large for a double"),
    ('{"game": "isolation", "weights": {}, "expression": {"tree": 3}}', "needs a 'tree'"),
    ("[" * 100_000 + "]" * 100_000, "nests too deeply"),
])
def test_bad_heuristic_file_is_one_error_line(document, message, tmp_path):
    path = tmp_path / "tuned_heuristic.json"
    path.write_text(document)
    result = CliRunner().invoke(main, ["play", "--heuristic", str(path)], input="")
    assert message in one_error_line(result)


@pytest.mark.parametrize("args, message", [
    (["--depth", "100000000"], "--depth must be between 1 and 60"),
    (["--depth", "0"], "--depth must be between 1 and 60"),
    (["--nodes", "-1"], "--nodes must be 0"),
])
def test_play_limits_are_one_error_line(args, message):
    result = CliRunner().invoke(main, ["play", *args], input="")
    assert message in one_error_line(result)


def test_relative_game_module_is_one_error_line(tmp_path):
    result = cli("run", "minimax", "-q", "--out", str(tmp_path), "--set",
                 "game=python:.foo:Bar")
    assert "expected python:package.module:Class" in one_error_line(result)


# --- 7. data files: a byte-order mark is read, a directory or FIFO is named as such --------

def test_symbolic_csv_with_a_byte_order_mark_is_read(tmp_path):
    from evoengine_equation.symbolic import read_table

    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfx,y\n" + b"".join(b"%d,%d\n" % (i, 2 * i) for i in range(6)))
    x, y, inputs, target = read_table(str(path), None)
    assert inputs == ["x"] and target == "y" and y.tolist() == [0, 2, 4, 6, 8, 10]


@pytest.mark.parametrize("kind, message", [
    ("folder", "is a directory, not a regular file"),
    ("fifo", "is a FIFO (named pipe), not a regular file"),
    ("latin1", "is not UTF-8 text"),
    ("huge_values", "is so large that every squared error overflows"),
])
def test_symbolic_data_that_cannot_be_read_is_named_for_what_it_is(kind, message, tmp_path):
    path = tmp_path / "data.csv"
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "latin1":
        path.write_bytes(b"x,y\n1,2\n\xe9,3\n")
    else:
        path.write_text("x,y\n" + "".join(f"{i},1e308\n" for i in range(6)))
    out = tmp_path / "runs"
    result = cli("run", "symbolic", "-q", "--out", str(out), "--set", f"data={path}")
    assert message in one_error_line(result)
    assert not out.exists()


def test_tsplib_file_that_is_a_fifo_is_refused_without_hanging(tmp_path):
    path = tmp_path / "cities.tsp"
    os.mkfifo(path)
    result = cli("run", "tsp", "-q", "--out", str(tmp_path / "runs"), "--set",
                 f"instance={path}")
    assert "is a FIFO (named pipe), not a regular file" in one_error_line(result)


# --- 8. run folders seen from outside: `evoengine runs` reads run.json and best.json ---------

@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """A finished sphere run, and one stopped after its generation 2 checkpoint (resumable)."""
    import shutil

    base = tmp_path_factory.mktemp("runs")
    result = cli("run", "sphere", "-q", "--out", str(base), "--seed", "4", "--set",
                 "dimension=3", "--set", "population_size=10", "--set", "generations=4",
                 "--set", "checkpoint_every=2")
    assert result.exit_code == 0, result.output
    (finished,) = base.iterdir()
    stopped = base / "sphere-stopped"
    shutil.copytree(finished, stopped)
    (stopped / "best.json").unlink()
    _newest(stopped).with_suffix(".npz").unlink()
    _newest(stopped).unlink()
    status = json.loads((stopped / "run.json").read_text())
    (stopped / "run.json").write_text(json.dumps({**status, "status": "interrupted"}))
    return base


def _copy_runs(two_runs, tmp_path):
    import shutil

    shutil.copytree(two_runs, tmp_path / "runs")
    base = tmp_path / "runs"
    (finished,) = [p for p in base.iterdir() if p.name != "sphere-stopped"]
    return base, finished, base / "sphere-stopped"


def _damage(path, kind):
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "dev_zero":
        os.symlink("/dev/zero", path)
    elif kind == "huge":
        path.write_bytes(b"{}" + b" " * (2 << 20))
    else:
        path.write_bytes(kind)


def _listed(base, monkeypatch):
    """``evoengine runs --json`` and the table, both without a traceback, by folder name."""
    from rich.console import Console

    import evoengine.cli

    monkeypatch.setattr(evoengine.cli, "out", Console(width=1000))  # one row a run
    table = CliRunner().invoke(main, ["runs", str(base)])
    assert table.exit_code == 0 and "Traceback" not in table.output, (table.output,
                                                                        table.exception)
    listed = CliRunner().invoke(main, ["runs", "--json", str(base)])
    assert listed.exit_code == 0, (listed.output, listed.exception)
    schema = json.loads((Path(evoengine.cli.__file__).parent / "schemas" / "runs.schema.json")
                        .read_text())
    jsonschema.validate(json.loads(listed.output), schema)  # as published
    return {Path(r["folder"]).name: r for r in json.loads(listed.output)}, table.output


RUN_JSON_DAMAGE = [
    (b"{not json", "is not valid JSON"),
    (b'\xff\xfe{"status": "finished"}', "is not UTF-8 text: byte 0xff on line 1"),
    (b"[" * 100_000, "nests too deeply"),
    (b"[1, 2]", "is not a table of fields"),
    (b'{"status": "finished", "seconds": "abc"}', "field 'seconds' is 'abc', not"),
    (b'{"status": "interrupted", "seconds": NaN}', "field 'seconds' is nan, not"),
    (b'{"status": "interrupted", "seconds": 1e999}', "field 'seconds' is inf, not"),
    (b'{"status": "finished", "problem": 5}', "field 'problem' is 5, not text"),
    (b'{"status": "failed", "error": 7}', "field 'error' is 7, not text"),
    (b'{"status": "exploded"}', "field 'status' is 'exploded', not one of running, finished"),
    (b'{"status": "running", "pid": true}', "field 'pid' is True, not a process id"),
    (b'{"resumes": -1}', "field 'resumes' is -1, not a count"),
    ("huge", "is 2.0 MiB; the limit is 1.0 MiB"),
    ("fifo", "is a FIFO (named pipe), not a regular file"),
    ("folder", "is a directory, not a regular file"),
    ("dev_zero", "is a device, not a regular file"),
]


@pytest.mark.parametrize("kind, why", RUN_JSON_DAMAGE,
                         ids=["not_json", "not_utf8", "deep", "list", "seconds_text",
                              "seconds_nan", "seconds_inf", "problem_number", "error_number",
                              "status_unknown", "pid_bool", "resumes_negative", "huge", "fifo",
                              "folder", "dev_zero"])
def test_damaged_run_json_is_listed_as_damaged_and_the_run_still_resumes(
        two_runs, tmp_path, monkeypatch, kind, why):
    base, finished, stopped = _copy_runs(two_runs, tmp_path)
    _damage(stopped / "run.json", kind)
    runs, table = _listed(base, monkeypatch)
    assert runs[finished.name]["status"] == "finished"  # the other run is listed as before
    damaged = runs["sphere-stopped"]
    assert damaged["status"] == "damaged" and damaged["resumable"]
    assert damaged["error"].startswith(f"run.json {str(stopped / 'run.json')!r}")
    assert why in damaged["error"] and "\n" not in damaged["error"]
    assert damaged["generations"] == 2 and damaged["problem"] == "sphere"  # from the checkpoint
    row = next(line for line in table.splitlines() if "sphere-stopped" in line)
    assert f"damaged (resumable): {damaged['error']}" in row
    if isinstance(kind, bytes) or kind in ("fifo", "huge"):  # resume rewrites run.json
        done = cli("resume", "-q", str(stopped))
        assert done.exit_code == 0, done.output
        assert json.loads((stopped / "run.json").read_text())["status"] == "finished"
        assert _listed(base, monkeypatch)[0]["sphere-stopped"]["status"] == "finished"


BEST_JSON_DAMAGE = [
    (b"{not json", "is not valid JSON"),
    (b"[]", "is not a table of fields"),
    (b'{"fitness": [1, 2]}', "field 'fitness' is [1, 2], not a table of objective values"),
    (b'{"fitness": {"f": "low"}}', "field 'fitness' is {'f': 'low'}, not a table of"),
    (b'{"fitness": {"f": 1}, "generations": "4"}', "field 'generations' is '4', not a count"),
    (b'{"fitness": {"f": 1}, "problem": ["sphere"]}', "field 'problem' is ['sphere'], not text"),
    ("fifo", "is a FIFO (named pipe), not a regular file"),
    ("dev_zero", "is a device, not a regular file"),
]


@pytest.mark.parametrize("kind, why", BEST_JSON_DAMAGE,
                         ids=["not_json", "list", "fitness_list", "fitness_text",
                              "generations_text", "problem_list", "fifo", "dev_zero"])
def test_damaged_best_json_is_listed_as_damaged(two_runs, tmp_path, monkeypatch, kind, why):
    base, finished, _ = _copy_runs(two_runs, tmp_path)
    _damage(finished / "best.json", kind)
    damaged = _listed(base, monkeypatch)[0][finished.name]
    assert damaged["status"] == "damaged" and not damaged["resumable"]
    assert damaged["error"].startswith(f"best.json {str(finished / 'best.json')!r}")
    assert why in damaged["error"]


def test_forged_checkpoint_logbook_and_folder_stamp_do_not_break_the_list(two_runs, tmp_path,
                                                                          monkeypatch):
    base, _, stopped = _copy_runs(two_runs, tmp_path)

    def forged(document):  # checksums recomputed: read_checkpoint accepts it
        document["state"]["logbook"] = {"records": [7, "x"]}
        document["state"]["elapsed_s"] = "long"

    _rewrite(_newest(stopped), forged)
    (stopped / "run.json").unlink()  # the start then comes from the folder's stamp
    stopped.rename(base / "sphere-20261399-999999")  # month 13: not a date
    run = _listed(base, monkeypatch)[0]["sphere-20261399-999999"]
    assert (run["status"], run["resumable"], run["generations"]) == ("interrupted", True, 2)
    assert run["best"] is None and run["seconds"] is None and run["started"] is None

