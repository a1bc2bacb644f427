"""The run files a program reads follow their published JSON Schemas; fronts, reports and
measures are lists of records, never prose to parse."""

import importlib
import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from click.testing import CliRunner

from evoengine.cli import main
from evoengine.run import run_problem

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILES = sorted([*ROOT.glob("evoengine/schemas/*.schema.json"),
                       *ROOT.glob("plugins/*/evoengine_*/schemas/*.schema.json")])


def schema(package: str, name: str) -> dict:
    """A schema as the installed package ships it (in its ``schemas`` folder)."""
    module = importlib.import_module(package)
    # A plugin without __init__.py is a namespace package: look in each of its folders.
    folders = [Path(p) for p in module.__path__]
    (path,) = [f / "schemas" / name for f in folders if (f / "schemas" / name).is_file()][:1]
    return json.loads(path.read_text(encoding="utf-8"))


def check(document, package: str, name: str) -> None:
    validator = jsonschema.Draft202012Validator(schema(package, name))
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_every_schema_is_a_valid_draft_2020_12_schema_with_a_description(path):
    document = json.loads(path.read_text())
    jsonschema.Draft202012Validator.check_schema(document)
    assert document["$schema"].endswith("2020-12/schema") and document["description"]


def test_the_schemas_reject_what_they_should():
    """A schema that accepts anything would pass every test below."""
    best = {"problem": "p", "fitness": {"f": "1.0"}, "senses": {"f": "up"}, "solution": {},
            "genome": [], "hall_of_fame": [], "generations": -1, "evaluations": 0,
            "failed_evaluations": 0, "stopped_because": [], "notes": []}
    validator = jsonschema.Draft202012Validator(schema("evoengine", "best.schema.json"))
    bad = {tuple(e.path) for e in validator.iter_errors(best)}
    assert bad == {("fitness", "f"), ("senses", "f"), ("generations",)}
    front = {"formula": "y = x", "size": 3, "train_rmse": 0.0, "test_rmse": 0.0, "tree": "x",
             "front size 3": "y = x   (train 0, held-out 0)", "front": [{"size": 3}]}
    with pytest.raises(jsonschema.ValidationError, match="'formula' is a required property"):
        jsonschema.validate(front, schema("evoengine_equation",
                                          "symbolic-solution.schema.json"))


def test_best_json_run_json_and_the_listing(tmp_path):
    single = run_problem("sphere", dimension=3, generations=3, population_size=10, seed=2,
                         out=tmp_path)
    best = json.loads((single.folder / "best.json").read_text())
    check(best, "evoengine", "best.schema.json")
    assert best["hall_of_fame"][0]["fitness"] == best["fitness"]
    assert best["hall_of_fame"][0]["genome"] == best["genome"]
    check(json.loads((single.folder / "run.json").read_text()), "evoengine", "run.schema.json")
    listing = CliRunner().invoke(main, ["runs", str(tmp_path), "--json"])
    check(json.loads(listing.output), "evoengine", "runs.schema.json")


def test_a_pareto_front_is_a_list_of_records(tmp_path):
    from evoengine import Genome, Objective, Problem
    from evoengine.config import AlgorithmSettings
    from evoengine.report import best_json
    from evoengine.run import optimize

    class TwoGoals(Problem):
        def __init__(self):
            super().__init__(Genome("real", 2, 0.0, 1.0),
                             (Objective("a", "minimize"), Objective("b", "minimize")))

        def evaluate(self, genomes):
            return np.stack([genomes[:, 0], 1.0 - genomes[:, 0] + genomes[:, 1]], axis=1)

    problem = TwoGoals()
    result = optimize(problem, AlgorithmSettings(algorithm="nsga2", population_size=20,
                                                 generations=5, seed=1))
    best = json.loads(json.dumps(best_json("two", problem, result)))
    check(best, "evoengine", "best.schema.json")
    front = best["hall_of_fame"]
    assert len(front) > 1 and all(set(r["fitness"]) == {"a", "b"} for r in front)
    points = [(r["fitness"]["a"], r["fitness"]["b"]) for r in front]
    for p in points:  # no member of the front dominates another
        assert not any(q != p and q[0] <= p[0] and q[1] <= p[1] for q in points)


@pytest.mark.parametrize("problem", ["rastrigin", "tsp", "minimax"])
def test_show_json_follows_its_schema(problem):
    shown = CliRunner().invoke(main, ["show", problem, "--json"])
    check(json.loads(shown.output), "evoengine", "show.schema.json")


def test_symbolic_front_is_a_list_of_records(tmp_path):
    x = np.linspace(-1, 1, 40).tolist()
    data = tmp_path / "d.csv"
    data.write_text("x,y\n" + "".join(f"{a!r},{a * a + a!r}\n" for a in x))
    run = run_problem("symbolic", data=str(data), population_size=200, generations=10, seed=1,
                      out=tmp_path / "runs")
    solution = json.loads((run.folder / "best.json").read_text())["solution"]
    check(solution, "evoengine_equation", "symbolic-solution.schema.json")
    front = solution["front"]
    assert front and [r["size"] for r in front] == sorted(r["size"] for r in front)
    assert not any(key.startswith("front size") for key in solution)


def test_minimax_report_follows_its_schema(tmp_path):
    tiny = ["game=tictactoe", "depth=2", "population_size=4", "generations=1", "pairs=1",
            "report_pairs=2", "sprt_max_pairs=4", "null_pairs=2"]
    done = CliRunner().invoke(main, ["run", "minimax", "--seed", "1", "-q", "--out",
                                     str(tmp_path), *[a for s in tiny for a in ("--set", s)]])
    assert done.exit_code == 0, done.output
    (folder,) = tmp_path.iterdir()
    report = json.loads((folder / "report.json").read_text())
    check(report, "evoengine_minimax", "report.schema.json")
    check(json.loads((folder / "best.json").read_text()), "evoengine", "best.schema.json")
    assert [m["opponent"] for m in report["candidates"][0]["vs_each"]] == report["panel"]
