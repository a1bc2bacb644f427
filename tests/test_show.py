"""``evoengine show PROBLEM`` and ``evoengine run PROBLEM --help``: what a problem takes."""

import json

from click.testing import CliRunner

from evoengine.cli import main


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def show_json(*args):
    result = invoke("show", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def by_name(rows):
    return {row["name"]: row for row in rows}


def test_problem_settings_have_type_default_range_and_description():
    d = show_json("rastrigin")
    settings = by_name(d["problem_settings"])
    assert settings["dimension"] | {"description": ""} == {
        "name": "dimension", "type": "int", "default": 10, "required": False, "value": 10,
        "choices": [], "range": ">= 1", "description": ""}
    assert settings["bounds"]["type"] == "[float, float] or none"
    assert "function's own" in settings["bounds"]["description"]
    assert d["genome"] == {"kind": "real", "length": 10, "low": -5.12, "high": 5.12}
    assert d["objectives"] == [{"name": "rastrigin", "sense": "minimize"}]


def test_algorithm_settings_say_the_value_in_force_and_where_it_comes_from():
    algo = by_name(show_json("rastrigin", "--set", "dimension=4", "--set",
                             "population_size=30")["algorithm_settings"])
    assert (algo["population_size"]["value"], algo["population_size"]["source"]) == (30, "yours")
    assert (algo["generations"]["value"], algo["generations"]["source"]) == (300, "problem")
    assert (algo["crossover"]["value"], algo["crossover"]["source"]) == ("blend", "problem")
    assert (algo["selection"]["value"], algo["selection"]["source"]) == ("tournament", "engine")
    # derived from the genome: a tenth of the bounds' width, one gene in four
    assert algo["mutation_sigma"]["value"] == 1.024 and algo["mutation_sigma"]["used"]
    assert algo["mutation_sigma"]["source"] == "derived"
    assert algo["gene_probability"]["value"] == 0.25
    assert not algo["mutation_eta"]["used"]  # polynomial mutation is not chosen
    # only the operators that suit real genomes are offered
    assert "pmx" not in algo["crossover"]["choices"] and "sbx" in algo["crossover"]["choices"]
    assert "bit_flip" not in algo["mutation"]["choices"]
    assert algo["crossover_probability"]["range"] == "[0, 1]"
    assert "init_max_depth" not in algo  # genetic programming only


def test_a_permutation_problem_shows_its_own_operators_and_none_that_cannot_apply():
    d = show_json("tsp", "--set", "crossover_probability=0.7")
    algo = by_name(d["algorithm_settings"])
    assert algo["crossover"]["value"] == "ordered"
    assert algo["crossover"]["choices"] == ["pmx", "ordered", "cycle"]
    assert algo["mutation"]["choices"] == ["swap", "inversion", "scramble", "insertion"]
    assert algo["crossover_probability"]["source"] == "yours"
    for real_only in ("blend_alpha", "crossover_eta", "mutation_sigma", "mutation_eta"):
        assert real_only not in algo


def test_a_binary_genome_gets_its_kind_operators_shown_as_derived():
    from evoengine import Genome, Objective, Problem
    from evoengine.describe import describe_problem
    from evoengine.registry import ProblemRegistry

    class Ones(Problem):
        def __init__(self):
            super().__init__(Genome("binary", 8), (Objective("ones"),))

    registry = ProblemRegistry()
    registry.add("ones", lambda s: Ones())
    algo = by_name(describe_problem(registry.get("ones"))["algorithm_settings"])
    assert (algo["crossover"]["value"], algo["crossover"]["source"]) == ("two_point", "derived")
    assert (algo["mutation"]["value"], algo["mutation"]["source"]) == ("bit_flip", "derived")


def test_a_tree_problem_shows_gp_settings(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("x,y\n" + "".join(f"{i},{2 * i}\n" for i in range(10)))
    unbuilt = show_json("symbolic")
    assert "'data'" in unbuilt["unbuilt"] and unbuilt["genome"] is None
    assert by_name(unbuilt["problem_settings"])["data"]["required"]
    d = show_json("symbolic", "--set", f"data={data}")
    assert d["unbuilt"] is None and d["genome"]["kind"] == "tree"
    algo = by_name(d["algorithm_settings"])
    assert algo["algorithm"]["value"] == "gp" and "init_max_depth" in algo
    assert "blend_alpha" not in algo and "gene_probability" not in algo


def test_text_tables_and_run_help_show_the_same_settings():
    text = invoke("show", "tsp").output
    assert "problem settings" in text and "instance" in text and "ordered" in text
    assert "algorithm settings in force" in text
    helped = invoke("run", "rastrigin", "--set", "dimension=3", "--help")
    assert helped.exit_code == 0
    assert "--seed" in helped.output  # the command's own help comes first
    assert "dimension" in helped.output and "problem settings" in helped.output
    assert "genome: real, 3 genes" in helped.output



def test_run_help_without_a_problem_is_the_commands_help():
    # click 8.3 hands the help hook an UNSET marker for the missing PROBLEM, not None
    for args in (["run", "--help"], ["run", "--seed", "3", "--help"]):
        helped = invoke(*args)
        assert helped.exit_code == 0, helped.output
        assert helped.output.startswith("Usage: main run [OPTIONS] PROBLEM")
        assert "--seed" in helped.output and "problem settings" not in helped.output


def test_mistakes_are_one_error_line_exit_2():
    for args, named in ((["show", "rastrigni"], "did you mean 'rastrigin'"),
                        (["show", "rastrigin", "--set", "dimension=0"], "'dimension'"),
                        (["show", "tsp", "--set", "mutation=gaussian"], "swap, inversion"),
                        (["show", "rastrigin", "--set", "populaton_size=3"], "population_size")):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and named in lines[0]


def test_a_problem_that_brings_its_own_algorithm_says_so():
    d = show_json("minimax", "--set", "scheme=article")
    assert d["optimizer"]["name"] == "ArticleEvolution" and d["optimizer"]["about"]
    assert not by_name(d["algorithm_settings"])["algorithm"]["used"]
    assert show_json("rastrigin")["optimizer"] is None
    assert "the problem's own, ArticleEvolution" in invoke("show", "minimax", "--set",
                                                           "scheme=article").output
