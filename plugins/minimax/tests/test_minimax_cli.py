"""``evoengine run minimax`` and ``evoengine play`` end to end, with tiny settings."""

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from click.testing import CliRunner

from evoengine import config
from evoengine.cli import main
from evoengine.plugins import load_plugins
from evoengine.records import Recorder
from evoengine.run import optimize, prepare
from evoengine_minimax.tuning import history_of

TINY = ["population_size=4", "generations=1", "pairs=1", "report_pairs=2",
        "sprt_max_pairs=4", "null_pairs=2"]


def cli(cmd, env, *args, stdin=None, cwd=None):
    return subprocess.run([*cmd, *args], capture_output=True, text=True, env=env, input=stdin,
                          timeout=240, cwd=cwd)


def sets(*items):
    return [a for item in items for a in ("--set", item)]


def test_run_writes_the_report_and_a_playable_heuristic(evoengine_cmd, cli_env, tmp_path):
    done = cli(evoengine_cmd, cli_env, "run", "minimax", "--seed", "1", "-q",
               "--out", str(tmp_path), *sets("game=tictactoe", "depth=2", *TINY))
    assert done.returncode == 0, done.stderr
    folder = next(tmp_path.iterdir())
    report = json.loads((folder / "report.json").read_text())
    assert report["panel"] == ["start", "w=0.5", "w=0.25"]
    assert report["candidates"][-1]["candidate"] == "start"
    # The validation stops at the SPRT's bounds or at sprt_max_pairs=4 (one batch of 4 pairs).
    validation = report["validation"]
    low, high = validation["bounds"]
    expected = "H1" if validation["llr"] >= high else "H0" if validation["llr"] <= low else None
    assert validation["decision"] == expected and validation["pairs"] == 4
    assert "Elo against the panel" in done.stdout and "Null test" in done.stdout
    for name in ("report.md", "generations.png", "tuned_heuristic.json", "best.json"):
        assert (folder / name).stat().st_size > 0
    # The tuned heuristic plays in the terminal; moves come from standard input.
    moves = "zz\n" + "\n".join(f"{c}{r}" for r in (1, 2, 3) for c in "abc") + "\n"
    played = cli(evoengine_cmd, cli_env, "play", "--heuristic",
                 str(folder / "tuned_heuristic.json"), "--depth", "9", stdin=moves)
    assert played.returncode == 0, played.stderr
    assert "not a move" in played.stdout and "AI plays" in played.stdout
    assert re.search(r"(the AI wins|draw)\.", played.stdout)  # a perfect player never loses


def test_runs_repeat_exactly_with_the_same_seed():
    entry = load_plugins(only=["minimax"]).registry.get("minimax")
    values = {"game": "isolation", "size": 5, "depth": 2, "seed": 7,
              **config.parse_assignments(TINY[:3])}
    first = optimize(prepare(entry, values).problem, prepare(entry, values).settings)
    again = prepare(entry, values)
    second = optimize(again.problem, again.settings)
    assert np.array_equal(first.best_genome, second.best_genome)
    assert first.best_fitness.tolist() == second.best_fitness.tolist()


def test_article_scheme_runs_its_own_cycle():
    entry = load_plugins(only=["minimax"]).registry.get("minimax")
    prepared = prepare(entry, {"scheme": "article", "game": "isolation", "size": 5,
                               "depth": 2, "population_size": 10, "generations": 2,
                               "games_factor": 2, "seed": 1})
    recorder = Recorder()
    result = optimize(prepared.problem, prepared.settings, recorder=recorder)
    history = history_of(recorder)  # the problem keeps none: the run's records do
    assert len(history.genomes) == 3 and all(len(g) == 10 for g in history.genomes)
    # Every game adds +1 and -1: each cycle's tally sums to 0 (Isolation has no draws).
    assert all(f.sum() == 0 for f in history.fitness)
    assert 0.0 <= result.best_genome[0] <= 1.0


@pytest.mark.parametrize("settings, message", [
    (["game=chess"], "setting 'game': unknown game 'chess'; choose one of isolation"),
    (['features=["own_moves","nope"]'], "setting 'features': unknown feature 'nope'; this "
     "game's features: own_moves"),
    (["size=2"], "setting 'size': Isolation boards are 3 to 16 cells wide, got 2"),
    (["scheme=article", "heuristic=weights"], "setting 'heuristic': the article scheme"),
    (["scheme=elo"], "setting 'scheme'"),
])
def test_bad_settings_are_one_line_and_exit_2(settings, message):
    done = CliRunner().invoke(main, ["run", "minimax", *sets(*settings)])
    assert done.exit_code == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]


BROKEN = '''
class NoPlay:
    FEATURES = ("a",)
    to_move = 0
    def legal_moves(self): return [1]
    def result(self): return None
    def features(self, player): return [0.0]
'''


def _readme_example():
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    return re.search(r"```python\n(.*?)```", text, re.S).group(1)


def test_user_games_run_and_broken_ones_are_refused(evoengine_cmd, cli_env, tmp_path):
    (tmp_path / "nim.py").write_text(_readme_example())
    (tmp_path / "broken.py").write_text(BROKEN)
    env = {**cli_env, "PYTHONPATH": str(tmp_path)}
    done = cli(evoengine_cmd, env, "run", "minimax", "-q", "--seed", "2", "--out",
               str(tmp_path / "runs"), *sets("game=python:nim:Nim", "depth=4", *TINY))
    assert done.returncode == 0, done.stderr
    assert "best heuristic" in done.stdout
    bad = cli(evoengine_cmd, env, "run", "minimax", *sets("game=python:broken:NoPlay"))
    assert bad.returncode == 2
    assert bad.stderr.strip() == ("error: game class NoPlay breaks the protocol: missing "
                                  "method(s) play (needs legal_moves, play, result, features)")
