"""Property-based fuzzing of everything that reads a user's input (issue 11).

For any input, each reader gives a result that holds its promises, or one ConfigError (one
line, of bounded length): never another exception, a hang or unbounded memory. A few
properties go through the real command (click's CliRunner): exit code 0, or 2 with one
``error:`` line and nothing written.

The default profile is small enough for every test run; ``make fuzz`` runs the large one
(``EVOENGINE_FUZZ=large``), with Hypothesis's example database, so a failure it finds is
replayed first next time.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import json
import os
import string
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from evoengine import config
from evoengine.checkpoint import (
    CheckpointError,
    _document_checksum,
    checkpoints,
    read_checkpoint,
    restore,
)
from evoengine.cli import main
from evoengine.errors import ConfigError, EvoengineError
from evoengine.gp import evaluate_program, parse_expression
from evoengine.gp.parse import MAX_VARIABLE

LARGE = os.environ.get("EVOENGINE_FUZZ") == "large"
_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                     HealthCheck.data_too_large,
                                                     HealthCheck.function_scoped_fixture])
if LARGE:
    fuzz = settings(max_examples=1000, **_COMMON)
    fuzz_cli = settings(max_examples=100, **_COMMON)
else:  # every test run: deterministic, no example database written
    fuzz = settings(max_examples=40, derandomize=True, database=None, **_COMMON)
    fuzz_cli = settings(max_examples=6, derandomize=True, database=None, **_COMMON)


def clean_refusal(exc: BaseException) -> None:
    """A refusal the CLI prints as one readable ``error:`` line."""
    assert isinstance(exc, EvoengineError), repr(exc)
    message = str(exc)
    assert message and "\n" not in message and len(message) < 2000, message


def one_line_or_success(result, out: Path) -> None:
    """Through the CLI: success, or exit code 2, one ``error:`` line and nothing written."""
    assert "Traceback" not in result.output
    if result.exit_code == 0:
        return
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert len([line for line in result.output.splitlines() if line.startswith("error:")]) == 1
    assert not out.exists() or not any(out.iterdir())


# --- the expression parser ---------------------------------------------------------------

EXPRESSION_ALPHABET = "x0123456789.+-*/^() ,eEpisnqrtaboglmxcdh_\u0661\uff11\u00b2\n\t\0"
expression_text = st.one_of(
    st.text(alphabet=EXPRESSION_ALPHABET, max_size=60),
    st.text(max_size=30),
    st.builds(lambda n, op, tail: op * n + tail, st.integers(0, 3000),
              st.sampled_from(["-", "(", "sin(", "x1**", "+x1", "x1+"]),
              st.sampled_from(["x1", "1", ")", ""])),
)


@fuzz
@given(expression_text)
def test_expression_parser_binds_or_refuses(text):
    try:
        program = parse_expression(text)
    except ConfigError as exc:
        clean_refusal(exc)
        return
    n = len(program.variables)
    assert program.variables == tuple(f"x{i}" for i in range(1, n + 1)) and n <= MAX_VARIABLE
    assert len(program.ops) == len(program.args) == len(program.consts) >= 1
    assert np.isfinite(program.consts).all()
    with np.errstate(all="ignore"):
        values = evaluate_program(program, np.ones((2, n)))
    assert values.shape == (2,)


@fuzz
@given(st.lists(st.tuples(st.integers(1, 40), st.integers(-5, 5)), min_size=1, max_size=12))
def test_expression_variables_read_the_columns_they_name(terms):
    text = " + ".join(f"{c}*x{k}" for k, c in terms)
    program = parse_expression(text)
    data = np.arange(1.0, 41.0)[None, :]
    expected = sum(c * data[0, k - 1] for k, c in terms)
    assert evaluate_program(program, data[:, :len(program.variables)])[0] == expected


# --- settings: --set and TOML files --------------------------------------------------------

setting_names = st.sampled_from(sorted(set(config.GPSettings.model_fields)
                                       | {"expression", "bounds", "inputs", "sense", "dimension",
                                          "nonsense"}))
toml_scalars = st.one_of(st.integers(-2**63, 2**63 - 1), st.floats(), st.booleans(),
                         st.text(max_size=20))
toml_values = st.recursive(toml_scalars, lambda inner: st.lists(inner, max_size=4), max_leaves=12)
raw_values = st.one_of(st.text(max_size=40),
                       st.sampled_from(["true", "inf", "nan", "-1", "[1,", "[-4, 4]", "1e400",
                                        "9" * 5000, "[" * 400 + "]" * 400, "'a'", "0x10"]))


@functools.cache
def _registry():
    from evoengine.plugins import load_plugins

    return load_plugins().registry


def _prepare_equation(values):
    from evoengine.run import prepare

    return prepare(_registry().get("equation"), values)


@fuzz
@given(st.lists(st.tuples(setting_names, raw_values), max_size=4))
def test_set_assignments_give_settings_or_one_refusal(pairs):
    try:
        values = config.parse_assignments(f"{key}={raw}" for key, raw in pairs)
        prepared = _prepare_equation(values)
    except EvoengineError as exc:
        clean_refusal(exc)
        return
    assert prepared.settings.population_size >= 2


@fuzz
@given(st.one_of(
    st.binary(max_size=200),
    st.dictionaries(setting_names, toml_values, max_size=4).map(
        lambda d: tomli_w.dumps(d).encode()),
    st.dictionaries(st.sampled_from(["algorithm", "problem"]),
                    st.dictionaries(setting_names, toml_values, max_size=3),
                    max_size=2).map(lambda d: tomli_w.dumps(d).encode()),
))
def test_toml_settings_file_gives_settings_or_one_refusal(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "settings.toml"
        path.write_bytes(data)
        try:
            _prepare_equation(config.read_toml(path))
        except EvoengineError as exc:
            clean_refusal(exc)


@fuzz_cli
@given(expression_text, raw_values)
def test_cli_run_with_any_expression_and_bounds(expression, bounds):
    assume("\0" not in expression and "\0" not in bounds)  # argv cannot hold NUL
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "runs"
        result = CliRunner().invoke(main, [
            "run", "equation", "-q", "--out", str(out), "--seed", "1",
            "--set", "generations=1", "--set", "population_size=4",
            "--set", f"expression={expression}", "--set", f"bounds={bounds}"])
        one_line_or_success(result, out)


@fuzz_cli
@given(st.dictionaries(setting_names, toml_values, max_size=4))
def test_cli_run_with_any_settings_file(table):
    with tempfile.TemporaryDirectory() as folder:
        out, path = Path(folder) / "runs", Path(folder) / "settings.toml"
        path.write_text(tomli_w.dumps(table))
        result = CliRunner().invoke(main, [
            "run", "equation", "-q", "--out", str(out), "-c", str(path),
            "--set", "generations=1", "--set", "population_size=4", "--set", "workers=1"])
        one_line_or_success(result, out)


# --- the symbolic plugin's CSV reader ------------------------------------------------------

csv_cells = st.one_of(st.floats(width=64).map(repr), st.integers().map(str),
                      st.text(alphabet=string.printable, max_size=6))
csv_text = st.integers(1, 5).flatmap(lambda cols: st.lists(
    st.lists(csv_cells, min_size=cols, max_size=cols + (1 if cols < 3 else 0)),
    min_size=1, max_size=8)).map(lambda rows: "\n".join(",".join(r) for r in rows))


@fuzz
@given(st.one_of(st.binary(max_size=300),
                 st.builds(lambda head, body, bom: (bom + head + "\n" + body).encode(),
                           st.sampled_from(["x,y", "a,b,c", "x,x", "x1,lambda", "é,y"]),
                           csv_text, st.sampled_from(["", "\ufeff"]))),
       st.sampled_from([None, "y", "c", "missing"]))
def test_csv_reader_gives_finite_columns_or_one_refusal(data, target):
    from evoengine_equation.symbolic import MAX_MAGNITUDE, read_table

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.csv"
        path.write_bytes(data)
        try:
            x, y, inputs, name = read_table(str(path), target)
        except ConfigError as exc:
            clean_refusal(exc)
            return
    assert x.shape == (len(y), len(inputs)) and name not in inputs
    assert np.isfinite(x).all() and np.isfinite(y).all()
    assert np.abs(x).max(initial=0) <= MAX_MAGNITUDE and all(n.isidentifier() for n in inputs)


# --- the routing plugin's TSPLIB reader ----------------------------------------------------

tsp_lines = st.one_of(
    st.sampled_from(["NAME: t", "TYPE: TSP", "TYPE: ATSP", "EDGE_WEIGHT_TYPE: EUC_2D",
                     "EDGE_WEIGHT_TYPE: GEO", "NODE_COORD_SECTION", "EOF", "DIMENSION: 3",
                     "DIMENSION: x", "DIMENSION: " + "9" * 40, "COMMENT: : :"]),
    st.builds(lambda i, x, y: f"{i} {x} {y}", st.integers(-2, 6),
              st.one_of(st.floats(), st.integers()), st.one_of(st.floats(), st.integers())),
    st.text(max_size=20),
)


@fuzz
@given(st.lists(tsp_lines, max_size=14))
def test_tsplib_reader_gives_a_finite_instance_or_one_refusal(lines):
    from evoengine_routing.tsplib import parse

    try:
        instance = parse("\n".join(lines), "fuzz.tsp")
    except ConfigError as exc:
        clean_refusal(exc)
        return
    assert instance.coordinates.shape[1] == 2 and len(instance.coordinates) >= 3
    assert np.isfinite(instance.coordinates).all()


# --- play's heuristic files ----------------------------------------------------------------

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=10)
features = st.sampled_from(["own_moves", "opp_moves", "own_centre_distance", "nope"])
heuristic_documents = st.one_of(
    json_values.map(json.dumps),
    st.fixed_dictionaries(
        {"game": st.one_of(st.sampled_from(["isolation", "tictactoe", "connect_four", "othello",
                                            "python:.foo:Bar", "openspiel:"]), json_values),
         "weights": st.one_of(st.dictionaries(features, st.one_of(st.floats(), json_values),
                                              max_size=3), json_values)},
        optional={"size": st.one_of(st.integers(-3, 40), json_values),
                  "expression": st.one_of(
                      st.fixed_dictionaries({"tree": st.one_of(
                          st.sampled_from(["add(own_moves, 1.5)", "mul(own_moves, opp_moves)",
                                           "add(own_moves)", "1e400", "-" * 3000 + "1"]),
                          st.text(max_size=20))}), json_values)},
    ).map(json.dumps),
    st.binary(max_size=100).map(lambda b: b.decode("latin-1")),
)


@fuzz
@given(heuristic_documents)
def test_heuristic_file_gives_a_player_or_one_refusal(document):
    from evoengine_minimax.terminal import load_player

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tuned_heuristic.json"
        path.write_text(document, encoding="utf-8", errors="surrogateescape")
        try:
            _, game, weights = load_player("isolation", str(path), None)
        except ConfigError as exc:
            clean_refusal(exc)
            return
    assert np.isfinite(weights).all() and len(weights) >= len(game.features)


@fuzz_cli
@given(heuristic_documents, st.integers(-2, 100))
def test_cli_play_with_any_heuristic_file_and_depth(document, depth):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tuned_heuristic.json"
        path.write_text(document, encoding="utf-8", errors="surrogateescape")
        result = CliRunner().invoke(main, ["play", "--heuristic", str(path), "--depth",
                                           str(depth)], input="")
        one_line_or_success(result, Path(folder) / "nothing")


# --- the gan plugin's data loaders ---------------------------------------------------------

def _idx(type_byte: int, dims: list[int], payload: bytes) -> bytes:
    return bytes([0, 0, type_byte, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) \
        + payload


idx_files = st.builds(_idx, st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x07]),
                      st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 6), max_size=4),
                      st.binary(max_size=200))


def _npz(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


npz_files = st.dictionaries(
    st.sampled_from(["images", "x", "labels", "y", "other"]),
    st.one_of(
        st.builds(lambda shape, fill: np.full(shape, fill),
                  st.lists(st.integers(0, 5), max_size=4).map(tuple),
                  st.one_of(st.floats(), st.integers(-300, 300))),
        st.just(np.array(["text"]))),
    max_size=3).map(_npz)


@fuzz
@given(st.one_of(idx_files, idx_files.map(gzip.compress), npz_files, st.binary(max_size=200)),
       st.sampled_from(["data.idx", "data.npz", "images/a.png"]))
def test_gan_data_loader_gives_images_or_one_refusal(data, name):
    from evoengine_gan.data import load_images, to_unit_range

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        source = str(path.parent if name.endswith(".png") else path)
        try:
            images, labels = load_images(source)
            images = to_unit_range(images)
        except ConfigError as exc:
            clean_refusal(exc)
            return
    assert images.ndim == 3 and np.isfinite(images).all()
    assert images.min(initial=0) >= 0 and images.max(initial=0) <= 1
    assert labels is None or labels.shape == (len(images),)


# --- the checkpoint loader -----------------------------------------------------------------

@pytest.fixture(scope="module")
def checkpoint_run(tmp_path_factory):
    """A real checkpoint of a sphere run and an optimizer to restore it into."""
    out = tmp_path_factory.mktemp("runs")
    result = CliRunner().invoke(main, [
        "run", "sphere", "-q", "--out", str(out), "--seed", "2", "--set", "dimension=3",
        "--set", "population_size=6", "--set", "generations=2", "--set", "checkpoint_every=2"])
    assert result.exit_code == 0, result.output
    (folder,) = out.iterdir()
    json_path = checkpoints(folder)[0]
    return json_path.read_bytes(), json_path.with_suffix(".npz").read_bytes(), json_path.name


def _optimizer_for(checkpoint):
    from evoengine.run import make_optimizer, prepare

    prepared = prepare(_registry().get(checkpoint.info.problem), checkpoint.info.settings)
    return make_optimizer(prepared.problem, prepared.settings)


def _leaf_paths(value, path=()):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaf_paths(inner, (*path, key))
    elif isinstance(value, list) and value:
        for i, inner in enumerate(value[:3]):
            yield from _leaf_paths(inner, (*path, i))
    else:
        yield path


def _load_and_restore(folder: Path, name: str) -> None:
    """What ``evoengine resume`` does with a checkpoint, up to the first generation."""
    from evoengine.checkpoint import check_compatible
    from evoengine.records import Recorder

    try:
        checkpoint = read_checkpoint(folder / name)
        entry = _registry().get(checkpoint.info.problem)
        check_compatible(checkpoint, entry.plugin, "0.1.0")
        restore(_optimizer_for(checkpoint), checkpoint)
        Recorder(folder).restore_state(checkpoint.records)
    except EvoengineError as exc:  # CheckpointError, or settings the checkpoint holds
        clean_refusal(exc)


@fuzz
@given(st.data())
def test_damaged_checkpoint_is_refused_in_one_line(checkpoint_run, data):
    document, arrays, name = checkpoint_run
    which = data.draw(st.sampled_from(["json", "npz"]))
    original = document if which == "json" else arrays
    cut = data.draw(st.integers(0, len(original)))
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(original) - 1),
                                         st.integers(1, 255)), max_size=3))
    damaged = bytearray(original[:cut] if data.draw(st.booleans()) else original)
    for at, mask in flips:
        if at < len(damaged):
            damaged[at] ^= mask
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / name).write_bytes(bytes(damaged) if which == "json" else document)
        (folder / name).with_suffix(".npz").write_bytes(bytes(damaged) if which == "npz"
                                                         else arrays)
        try:
            read_checkpoint(folder / name)
        except CheckpointError as exc:
            clean_refusal(exc)
            return
    assert bytes(damaged) == original  # only an unchanged checkpoint is accepted


@fuzz
@given(st.data())
def test_forged_checkpoint_is_restored_or_refused_in_one_line(checkpoint_run, data):
    """A forger who recomputes both checksums: only the field checks stand in the way."""
    document, arrays, name = checkpoint_run
    doc = json.loads(document)
    paths = sorted(_leaf_paths(doc), key=str)
    paths += [p[:-1] for p in paths if len(p) > 1]  # whole tables and lists too
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        if not path or path[0] in ("checksum", "arrays_sha256"):
            continue
        try:  # an earlier change may have replaced a table on the way
            target = doc
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = data.draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue
    with np.load(io.BytesIO(arrays)) as npz:
        forged = dict(npz)
    key = data.draw(st.sampled_from(sorted(forged)))
    forged[key] = data.draw(st.one_of(
        st.just(forged[key]),
        st.builds(lambda shape, fill: np.full(shape, fill),
                  st.lists(st.integers(0, 7), max_size=3).map(tuple),
                  st.one_of(st.floats(), st.integers(-10, 10)))))
    npz_bytes = _npz(forged)
    doc["arrays_sha256"] = hashlib.sha256(npz_bytes).hexdigest()
    doc["checksum"] = _document_checksum(doc)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / name).write_text(json.dumps(doc))
        (folder / name).with_suffix(".npz").write_bytes(npz_bytes)
        _load_and_restore(folder, name)


# --- run folders seen by `evoengine runs`: run.json and best.json --------------------------

status_keys = st.sampled_from(["problem", "status", "started", "ended", "host", "error", "pid",
                               "resumes", "seconds", "segment_started", "fitness",
                               "generations"])
status_documents = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(status_keys, st.one_of(
        json_values, st.sampled_from(["running", "finished", "interrupted", "failed"]),
        st.dictionaries(st.text(max_size=4), st.one_of(st.floats(), st.integers(),
                                                       st.booleans()), max_size=2)),
        max_size=5).map(lambda d: json.dumps(d).encode()))


@fuzz
@given(status_documents, st.one_of(st.none(), status_documents))
def test_runs_lists_any_run_json_and_best_json_in_one_row(checkpoint_run, run_json, best_json):
    """Whatever the two files hold, ``evoengine runs`` lists the run (as damaged, with a
    one-line reason, when a file cannot be used) and the JSON listing parses."""
    from evoengine.runs import STATUSES, list_runs

    document, arrays, name = checkpoint_run
    with tempfile.TemporaryDirectory() as base:
        folder = Path(base) / "sphere-20260101-000000"
        (folder / "checkpoint").mkdir(parents=True)
        (folder / "checkpoint" / name).write_bytes(document)
        (folder / "checkpoint" / name).with_suffix(".npz").write_bytes(arrays)
        (folder / "run.json").write_bytes(run_json)
        if best_json is not None:
            (folder / "best.json").write_bytes(best_json)
        (run,) = list_runs(base)
        assert run.status in (*STATUSES, "damaged")
        assert run.error is None or (isinstance(run.error, str) and "\n" not in run.error)
        for args in (["runs", base], ["runs", "--json", base]):
            result = CliRunner().invoke(main, args)
            assert result.exit_code == 0 and "Traceback" not in result.output, (
                result.output, result.exception)
        assert json.loads(result.output)[0]["status"] == run.status


argv_tokens = st.sampled_from([
    "run", "show", "runs", "resume", "plugins", "play", "rastrigin", "tsp", "symbolic",
    "minimax", "nosuch", "--set", "-s", "dimension=3", "dimension=0", "x", "--seed", "7",
    "-c", "missing.toml", "--config", "--json", "-q", "--out", "--version", "--", "=", ""])


@fuzz
@given(argv_tokens, st.lists(argv_tokens, max_size=5),
       st.sampled_from([["--no-such-option-here"], ["--help"],
                        ["--no-such-option-here", "--help"]]))
def test_any_command_line_gives_help_or_one_error_line(command, middle, tail):
    """Every command line ends in its help (exit 0) or one ``error:`` line (exit 2), click's
    own usage errors included; the tail makes sure no run starts (an unknown option is refused
    while parsing, before anything runs)."""
    from evoengine.testing import one_error_line

    result = CliRunner().invoke(main, [command, *middle, *tail])
    assert isinstance(result.exception, (SystemExit, type(None))), repr(result.exception)
    if result.exit_code == 0:
        assert result.output.startswith(("Usage:", "evoengine, version")), result.output
    else:
        assert result.exit_code == 2, (result.exit_code, result.output)
        one_error_line(result.output)
