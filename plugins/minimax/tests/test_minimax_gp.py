"""GP-evolved evaluation expressions in the minimax search: the per-leaf stack machine against
evoengine's GP evaluator, against the linear heuristic on equal formulas, and end to end."""

import json
import re
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from evoengine.cli import main
from evoengine.gp import evaluate_trees
from evoengine.gp.deap_io import parse_tree
from evoengine.gp.generate import initial_trees
from evoengine_minimax.expression import (LIMIT, MAX_NODES, expression_rows, expression_value,
                                          heuristic_row, linear_rows, load_expression,
                                          primitive_set)
from evoengine_minimax.games import compiled_game
from evoengine_minimax.match import Limits, play_games, random_opening
from evoengine_minimax.search import new_scratch, search


ISOLATION = compiled_game("isolation", 5)
FEATURES = ISOLATION.features


def leaf_values(rows, points):
    """Each row's tree at each feature vector, through the search's buffers."""
    codes, consts = np.zeros(MAX_NODES, np.int64), np.zeros(MAX_NODES)
    stack = np.zeros((MAX_NODES, 1))
    out = np.empty((len(rows), len(points)))
    for i, row in enumerate(rows):
        n = load_expression(row, len(FEATURES), codes, consts)
        for p, feats in enumerate(points):
            out[i, p] = expression_value(codes, consts, n, np.ascontiguousarray(feats), stack)
    return out


@pytest.mark.parametrize("variables", [FEATURES, ("opp_second_moves", "own_moves",
                                                  "own_centre_distance")])
def test_leaf_evaluation_equals_the_gp_evaluator(variables):
    ps = primitive_set(variables)
    trees = initial_trees(ps, 60, MAX_NODES, 3, min_depth=1, max_depth=5)
    points = np.random.default_rng(4).normal(0.0, 3.0, size=(40, len(FEATURES)))
    points[:5] = np.round(points[:5])  # some whole-number positions, as games give
    columns = [FEATURES.index(v) for v in variables]
    expected = evaluate_trees(trees, points[:, columns])
    expected = np.where(np.isnan(expected), 0.0, np.clip(expected, -LIMIT, LIMIT))
    got = leaf_values(expression_rows(trees, FEATURES), points)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    # Every operator of the language occurs, so each is compared.
    names = {ps.nodes[c].name for c in np.unique(trees.codes[trees.codes >= 0])}
    assert {"add", "sub", "mul", "neg", "max", "min"} <= names


def test_values_are_clipped_and_nan_is_zero():
    ps = primitive_set(("own_moves", "opp_moves"))
    trees = parse_tree(ps, "mul(own_moves, mul(own_moves, own_moves))")
    rows = expression_rows(trees, FEATURES)
    points = np.zeros((3, len(FEATURES)))
    points[:, 0] = [1e3, -1e3, np.nan]
    assert leaf_values(rows, points)[0].tolist() == [LIMIT, -LIMIT, 0.0]
    # The row says which features the tree reads (the game computes only those it must).
    needed = rows[0, len(FEATURES):2 * len(FEATURES)]
    assert needed.tolist() == [1.0] + [0.0] * (len(FEATURES) - 1)


LINEAR = {"own_moves": 0.75, "opp_moves": -0.5, "own_blocked_neighbours": 0.25,
          "own_second_moves": 0.125, "opp_second_moves": -0.375}


def linear_tree_text():
    """The same linear heuristic as a tree, summed in the search's order."""
    text = None
    for name, w in LINEAR.items():
        term = f"mul({w!r}, {name})"
        text = term if text is None else f"add({text}, {term})"
    return text


def test_a_linear_tree_searches_exactly_like_the_weight_vector():
    weights = np.array([LINEAR.get(f, 0.0) for f in FEATURES])
    tree_row = heuristic_row(FEATURES, np.zeros(len(FEATURES)), linear_tree_text())
    assert not tree_row[:len(FEATURES)].any()  # the formula is all in the tree
    buf = np.empty(ISOLATION.max_moves + 1, np.int64)
    for opening in range(6):
        s = ISOLATION.new_state()
        random_opening(s, np.uint64(5), opening, 2 + opening % 3, buf)
        results = [search(s, h, 4, 0, 0, *new_scratch(ISOLATION.state_size, len(FEATURES), 4,
                                                       ISOLATION.max_moves, 12))
                   for h in (weights, linear_rows(weights)[0], tree_row)]
        assert results[0] == results[1] == results[2]
    # Whole games: same results and node counts, the tree against the vector and itself.
    everyone = np.vstack([linear_rows(weights), tree_row, linear_rows(-weights)])
    first, second = np.array([0, 1, 2, 2]), np.array([2, 2, 0, 1])
    games = play_games(ISOLATION, everyone, first, second, np.array([0, 0, 1, 1]), 9,
                       Limits(depth=3), parallel=False)
    assert games.results[0] == games.results[1] and games.nodes[0] == games.nodes[1]
    assert games.results[2] == games.results[3] and games.nodes[2] == games.nodes[3]


TINY = ["game=isolation", "size=5", "heuristic=expression", "depth=2", "population_size=6",
        "generations=2", "pairs=1", "report_pairs=2", "sprt_max_pairs=4", "null_pairs=2"]


def sets(*items):
    return [a for item in items for a in ("--set", item)]


def test_expression_run_reports_elo_and_a_playable_formula(evoengine_cmd, cli_env, tmp_path):
    done = subprocess.run([*evoengine_cmd, "run", "minimax", "--seed", "2", "--out",
                           str(tmp_path), *sets(*TINY)], capture_output=True, text=True,
                          env=cli_env, timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    assert "Elo against the panel" in done.stdout and "best expression: " in done.stdout \
        or "best heuristic: the start" in done.stdout
    folder = next(tmp_path.iterdir())
    report = json.loads((folder / "report.json").read_text())
    assert report["panel"] == ["start", "w=0.5", "w=0.25"]
    assert [r["candidate"] for r in report["candidates"]][-1] == "start"
    # Rounds of 2 pairs x 3 members: the start plays the first, the race's winner the most.
    played = [r["vs_panel"]["pairs"] for r in report["candidates"]]
    assert played[-1] == 6 and all(p % 6 == 0 for p in played) and played[0] == max(played)
    best = json.loads((folder / "best.json").read_text())
    assert "infix" in json.dumps(best)
    tuned = json.loads((folder / "tuned_heuristic.json").read_text())
    assert tuned["game"] == "isolation" and tuned["size"] == 5
    for name in ("report.md", "generations.png"):
        assert (folder / name).stat().st_size > 0
    # Whatever won, the file plays; an evolved formula is what the AI then searches with.
    tuned["expression"] = {"tree": "sub(own_moves, mul(2.0, opp_moves))"}
    tuned["weights"] = {}
    path = tmp_path / "formula.json"
    path.write_text(json.dumps(tuned))
    played = subprocess.run([*evoengine_cmd, "play", "--heuristic", str(path), "--depth", "1",
                             "--first", "ai"], capture_output=True, text=True, env=cli_env,
                            input="", timeout=120, check=False)
    assert played.returncode == 0, played.stderr
    # Depth 1 from the empty 5x5 board: the AI's value is own - 2 * opp mobility of its
    # best first cell: the centre, 8 knight moves; the unplaced opponent may take any of the
    # 24 blank cells. (Weights alone, all zero here, would value every cell 0 and play a1.)
    assert re.search(r"AI plays c3 \(depth 1, \d+ nodes, value -40\.00\)", played.stdout)


@pytest.mark.parametrize("settings, message", [
    (["heuristic=expression", "scheme=article"],
     "setting 'heuristic': expression heuristics are tuned by the rated scheme"),
    (["heuristic=expression", 'features=["own_moves","nope"]'],
     "setting 'features': unknown feature 'nope'"),
    (["heuristic=expression", "start=[1.0]"],
     "setting 'start': applies to heuristic=article or weights"),
    (["heuristic=expression", "size=5", "depth=1", "max_size=100", "generations=1",
      "population_size=2", "pairs=1"], "setting 'max_size': at most 64"),
])
def test_bad_expression_settings_are_one_line_and_exit_2(settings, message):
    done = CliRunner().invoke(main, ["run", "minimax", "-q", *sets(*settings)])
    assert done.exit_code == 2, done.output
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
