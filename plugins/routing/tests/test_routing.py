"""The routing plugin: TSPLIB reading, tour lengths, and a GA run on berlin52."""

import numpy as np
import pytest
from click.testing import CliRunner

from evoengine.cli import main
from evoengine.errors import ConfigError
from evoengine.plugins import load_plugins
from evoengine.run import optimize, prepare
from evoengine.testing import one_error_line
from evoengine_routing.problem import tour_lengths
from evoengine_routing.tsplib import load, parse

# TSPLIB's berlin52.opt.tour, cities numbered from 1.
BERLIN52_OPTIMAL_TOUR = [
    1, 49, 32, 45, 19, 41, 8, 9, 10, 43, 33, 51, 11, 52, 14, 13, 47, 26, 27, 28, 12, 25, 4, 6,
    15, 5, 24, 48, 38, 37, 40, 39, 36, 35, 34, 44, 46, 16, 29, 50, 20, 23, 30, 2, 7, 42, 21,
    17, 3, 18, 31, 22,
]

SQUARE = """NAME: square
TYPE: TSP
DIMENSION: 4
EDGE_WEIGHT_TYPE: EUC_2D
NODE_COORD_SECTION
1 0 0
2 3 0
3 3 4.4
4 0 4.4
EOF
"""


def test_berlin52_ships_and_its_optimal_tour_measures_7542():
    instance = load("berlin52")
    assert instance.coordinates.shape == (52, 2) and instance.known_optimum == 7542
    tour = np.array([BERLIN52_OPTIMAL_TOUR]) - 1
    assert tour_lengths(tour, instance.distances)[0] == 7542


def test_distances_are_tsplib_nint(tmp_path):
    path = tmp_path / "square.tsp"
    path.write_text(SQUARE)
    instance = load(str(path))
    assert instance.name == "square"
    # 3, 4.4 -> 4, diagonal sqrt(9 + 19.36) = 5.33 -> 5
    assert instance.distances[0].tolist() == [0.0, 3.0, 5.0, 4.0]
    tours = np.array([[0, 1, 2, 3], [0, 2, 1, 3]])
    np.testing.assert_array_equal(tour_lengths(tours, instance.distances), [14.0, 18.0])


@pytest.mark.parametrize("text, message", [
    (SQUARE.replace("EUC_2D", "GEO"), "EDGE_WEIGHT_TYPE 'GEO' is not supported; supported: EUC_2D"),
    (SQUARE.replace("DIMENSION: 4", "DIMENSION: 5"), "DIMENSION is 5 but 4 cities"),
    (SQUARE.replace("2 3 0", "2 3 zero"), "line 7: expected 'index x y'"),
    (SQUARE.replace("2 3 0", "7 3 0"), "city indices must run 1..4"),
])
def test_bad_files_are_one_clear_error(text, message):
    with pytest.raises(ConfigError, match=message):
        parse(text, "bad.tsp")


def test_an_unknown_instance_names_the_bundled_ones():
    with pytest.raises(ConfigError, match="'instance'.*berlin52"):
        load("no-such-file.tsp")


def test_plugin_registers_tsp_through_its_entry_point():
    loaded = load_plugins(only=["routing"])
    assert "tsp" in loaded.registry and loaded.plugins["routing"].problems == ["tsp"]


def test_ga_reaches_within_5_percent_of_the_berlin52_optimum():
    entry = load_plugins(only=["routing"]).registry.get("tsp")
    run = prepare(entry, {"seed": 1})  # the plugin's default settings
    result = optimize(run.problem, run.settings)
    assert sorted(result.best_genome.tolist()) == list(range(52))
    assert result.best_fitness[0] <= 1.05 * 7542
    assert run.problem.describe(result.best_genome)["gap_to_optimum"] <= 0.05


@pytest.mark.parametrize("args, message", [
    (["--set", "instance=no-such-file.tsp"],
     r"setting 'instance': 'no-such-file.tsp' is neither a bundled instance \(berlin52\)"),
    (["--set", "mutation=gaussian"], r"setting 'mutation': 'gaussian' does not suit permutation"),
    (["--set", "cities=5"], r"unknown setting 'cities'.* valid settings: .*instance"),
])
def test_bad_settings_through_the_command_line_are_one_error_line(args, message, tmp_path):
    result = CliRunner().invoke(main, ["run", "tsp", *args, "-q", "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    one_error_line(result.output, message)
    assert not list(tmp_path.iterdir()), "nothing is written for a run that never started"


def test_a_broken_tsplib_file_through_the_command_line_is_one_error_line(tmp_path):
    path = tmp_path / "bad.tsp"
    path.write_text(SQUARE.replace("EUC_2D", "GEO"))
    result = CliRunner().invoke(main, ["run", "tsp", "--set", f"instance={path}", "-q",
                                       "--out", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    one_error_line(result.output, "EDGE_WEIGHT_TYPE 'GEO' is not supported; supported: EUC_2D")
