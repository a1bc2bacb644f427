"""The evoengine command, as a user runs it."""

import csv
import json
import re
import subprocess
import sys
import tomllib

import pytest
from click.testing import CliRunner

from evoengine.cli import main
from evoengine.testing import one_error_line

TUTORIAL = "4*x1 - 2*x2 + 3.5*x3 + 5*x4 - 11*x5 - 4.7*x6"


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_expression_run_reaches_120_8_and_writes_the_run_folder(tmp_path, cli_env):
    """The issue's acceptance command, in a real process."""
    proc = subprocess.run(
        [sys.executable, "-m", "evoengine.cli", "run", "equation", "--set",
         f"expression={TUTORIAL}", "--set", "bounds=[-4,4]", "--seed", "1", "--out",
         str(tmp_path)], capture_output=True, text=True, env=cli_env)
    assert proc.returncode == 0, proc.stderr
    assert "best: y = 120.8 (maximize)" in proc.stdout
    assert "generation" in proc.stderr  # the progress bar
    (folder,) = tmp_path.glob("equation-*")
    best = json.loads((folder / "best.json").read_text())
    assert best["fitness"]["y"] == pytest.approx(120.8)
    assert best["solution"]["x5"] == -4.0
    rows = list(csv.DictReader((folder / "logbook.csv").open()))
    assert [int(r["gen"]) for r in rows] == list(range(201))
    assert float(rows[-1]["best"]) == pytest.approx(120.8)
    png = (folder / "convergence.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    used = tomllib.loads((folder / "config.toml").read_text())
    assert used["seed"] == 1 and used["expression"] == TUTORIAL and used["bounds"] == [-4, 4]


def test_config_file_repeats_a_run(tmp_path):
    first = invoke("run", "sphere", "--set", "dimension=3", "--set", "generations=10", "-q",
                   "--out", str(tmp_path / "a"))
    (folder,) = (tmp_path / "a").glob("sphere-*")
    again = invoke("run", "sphere", "-c", str(folder / "config.toml"), "-q", "--out",
                   str(tmp_path / "b"))
    assert first.exit_code == again.exit_code == 0
    (repeat,) = (tmp_path / "b").glob("sphere-*")
    # The drawn seed is in config.toml, so the second run is the first one again, exactly:
    # the same settings, the same best genome and fitness, the same logbook row for row.
    assert (repeat / "config.toml").read_text() == (folder / "config.toml").read_text()
    assert "seed = " in (folder / "config.toml").read_text()
    assert (json.loads((repeat / "best.json").read_text())
            == json.loads((folder / "best.json").read_text()))
    assert (repeat / "logbook.csv").read_text() == (folder / "logbook.csv").read_text()


def test_default_tutorial_run_says_it_is_unbounded(tmp_path):
    result = invoke("run", "equation", "--set", "generations=5", "--out", str(tmp_path))
    assert result.exit_code == 0
    assert "unbounded" in result.output and "w5:" in result.output


@pytest.mark.parametrize("args, message", [
    (["run", "equation", "--set", "bounds=[4,-4]"], "setting 'bounds': low 4.0 is greater"),
    (["run", "equation", "--set", "expression=4*x1 + y", "--set", "bounds=[-1,1]"],
     "unknown name 'y'"),
    (["run", "equation", "--set", "expression=4*x1 +", "--set", "bounds=[-1,1]"],
     "syntax error"),
    (["run", "equation", "--set", "generations=abc"], "setting 'generations'"),
    (["run", "equation", "--set", "popsize=3"], "did you mean 'population_size'"),
    (["run", "equation", "--set", "selection=roulete"], "'rank' or 'random'"),
    (["run", "equatoin"], "did you mean 'equation'"),
    (["run", "equation", "-c", "missing.toml"], "does not exist"),
    (["run", "equation", "--set", "noequals"], "key=value"),
])
def test_bad_input_is_one_error_line_and_exit_code_2(args, message, tmp_path):
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    one_error_line(result.output, re.escape(message))
    assert not list(tmp_path.iterdir()), "nothing is written for a run that never started"


def test_plugins_command_lists_plugins_versions_and_problems():
    result = invoke("plugins")
    assert result.exit_code == 0
    for text in ("equation", "0.1.0", "rastrigin", "schwefel"):
        assert text in result.output
