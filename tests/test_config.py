"""Settings: parsing --set values, TOML files, validation messages."""

import pytest

from evoengine import config
from evoengine.errors import ConfigError
from evoengine.registry import NoSettings


@pytest.mark.parametrize("raw, value", [
    ("3", 3), ("0.5", 0.5), ("[-4, 4]", [-4, 4]), ("[-4,4]", [-4, 4]), ("true", True),
    ("4*x1 - 2*x2", "4*x1 - 2*x2"), ('"quoted"', "quoted"), ("tournament", "tournament"),
])
def test_parse_value(raw, value):
    assert config.parse_value(raw) == value


def test_assignments_need_an_equals_sign():
    with pytest.raises(ConfigError, match="key=value"):
        config.parse_assignments(["generations"])


def test_unknown_key_lists_close_matches_and_valid_keys():
    with pytest.raises(ConfigError, match="did you mean 'population_size'.*valid settings:"):
        config.split_settings({"popsize": 3}, NoSettings)


def test_invalid_choice_names_key_and_choices():
    with pytest.raises(ConfigError) as err:
        config.validate(config.AlgorithmSettings, {"selection": "roulete"})
    assert "'selection'" in str(err.value) and "'tournament'" in str(err.value)


def test_out_of_range_names_key():
    with pytest.raises(ConfigError, match="'crossover_probability'.*less than or equal to 1"):
        config.validate(config.AlgorithmSettings, {"crossover_probability": 1.5})


def test_toml_tables_are_flattened(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('generations = 7\n[problem]\nbounds = [-1, 1]\n[algorithm]\nseed = 4\n')
    assert config.read_toml(path) == {"generations": 7, "bounds": [-1, 1], "seed": 4}


def test_bad_toml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("generations = = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.read_toml(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        config.read_toml(tmp_path / "missing.toml")


# --- each function's promise, edge by edge (what mutation testing found unpinned) -----------
def test_a_value_on_several_lines_stays_text_and_cannot_set_other_keys():
    assert config.parse_value("1\ngenerations = 5") == "1\ngenerations = 5"
    assert config.parse_value("1\rx") == "1\rx"


def test_the_value_length_limit_is_inclusive_and_names_the_key():
    limit = config.MAX_VALUE_LENGTH
    assert config.parse_value("1" * 3 + " " * (limit - 3)) == 111
    with pytest.raises(ConfigError) as err:
        config.parse_value("x" * (limit + 1), "expression")
    assert str(err.value) == (f"setting 'expression': the value is {limit + 1} characters "
                              f"long; the limit is {limit}")


def test_nesting_is_counted_without_recursion_and_limited():
    # every list or table is one level, empty or not; a number or text is none
    assert [config._nesting(v) for v in (3, "text", [], {}, [1], [[1]], [[]], {"a": [1]},
                                         {"a": []}, [[], [[1]]], [[], [[]]],
                                         {"a": {"b": 1}})] == [0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3,
                                                               2]
    for inner in ("1", ""):  # the deepest list may hold a value or nothing
        deepest = "[" * config.MAX_NESTING + inner + "]" * config.MAX_NESTING
        assert config._nesting(config.parse_value(deepest, "k")) == config.MAX_NESTING
        with pytest.raises(ConfigError) as err:
            config.parse_value("[" + deepest + "]", "k")
        assert str(err.value) == (f"setting 'k' nests lists or tables more than "
                                  f"{config.MAX_NESTING} deep")
    tables = "{a = " * (config.MAX_NESTING + 1) + "1" + "}" * (config.MAX_NESTING + 1)
    with pytest.raises(ConfigError, match="^setting 'k' nests lists or tables more than 8 deep$"):
        config.parse_value(tables, "k")


def test_a_number_too_long_to_read_is_one_short_error_naming_the_key():
    with pytest.raises(ConfigError) as err:
        config.parse_value("9" * 5000, "seed")
    assert str(err.value).startswith("setting 'seed' cannot be read: ")
    assert ";" not in str(err.value)  # the first clause of Python's message only


def test_assignments_strip_spaces_and_keep_later_equals_signs():
    assert config.parse_assignments(["a=1", " b = [1, 2] ", "c=x=y", "d="]) == {
        "a": 1, "b": [1, 2], "c": "x=y", "d": ""}
    assert config.parse_assignments([]) == {}
    for bad in ("generations", "=3", " =3"):
        with pytest.raises(ConfigError) as err:
            config.parse_assignments([bad])
        assert str(err.value) == f"--set expects key=value, got {bad!r}"
    with pytest.raises(ConfigError, match="^setting 'expression': the value is"):
        config.parse_assignments(["expression = " + "x" * (config.MAX_VALUE_LENGTH + 1)])


def test_toml_files_keep_other_tables_and_refuse_deep_nesting(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('seed = 1\nalgorithm = "nsga2"\n[space]\nlr = [1, 2]\n')
    assert config.read_toml(path) == {"seed": 1, "algorithm": "nsga2", "space": {"lr": [1, 2]}}
    deep = tmp_path / "deep.toml"
    for inner in ("1", ""):  # x is 1 deep already (the file's table)
        deep.write_text("x = " + "[" * 8 + inner + "]" * 8 + "\n")
        with pytest.raises(ConfigError) as err:
            config.read_toml(deep)
        assert str(err.value) == (f"config file {str(deep)!r} nests lists or tables more than "
                                  f"{config.MAX_NESTING} deep")
    bad = tmp_path / "bad.toml"
    bad.write_text("generations = = 3")
    with pytest.raises(ConfigError, match=f"^config file {str(bad)!r} is not valid TOML: "):
        config.read_toml(bad)


def test_settings_split_into_problem_and_algorithm_parts():
    from pydantic import BaseModel

    class Problem(BaseModel):
        bounds: list[float] = [0.0, 1.0]
        seed_text: str = ""

    problem, algorithm = config.split_settings(
        {"bounds": [1, 2], "generations": 3, "max_depth": 9, "seed_text": "a"}, Problem)
    assert problem == {"bounds": [1, 2], "seed_text": "a"}
    assert algorithm == {"generations": 3, "max_depth": 9}  # GP settings count as algorithm's
    with pytest.raises(ConfigError) as err:
        config.split_settings({"zzzz": 1}, Problem)
    assert str(err.value).startswith("unknown setting 'zzzz'; valid settings: algorithm, ")
    assert "bounds" in str(err.value) and "did you mean" not in str(err.value)


@pytest.mark.parametrize("key, kind", [("generations", "whole number"),
                                       ("blend_alpha", "number"), ("selection", "value"),
                                       ("mutation_sigma", "number"),
                                       ("mutation_gene", "whole number")])
def test_true_and_false_are_refused_where_no_bool_is_expected(key, kind):
    for value in (True, False):
        with pytest.raises(ConfigError) as err:
            config.validate(config.AlgorithmSettings, {key: value})
        assert str(err.value) == f"setting {key!r}: expected a {kind}, got {str(value).lower()}"


def test_bools_pass_where_a_bool_is_expected_and_unknown_keys_reach_the_model():
    from pydantic import BaseModel

    class Flags(BaseModel):
        plain: bool = False
        maybe: bool | None = None

    assert config.validate(Flags, {"plain": True, "maybe": False}) == Flags(plain=True,
                                                                           maybe=False)
    with pytest.raises(ConfigError, match="^setting 'other': Extra inputs are not permitted"):
        config.validate(config.AlgorithmSettings, {"other": True})


def test_validation_errors_name_the_key_show_the_input_and_join_with_semicolons():
    with pytest.raises(ConfigError) as err:
        config.validate(config.AlgorithmSettings, {"generations": "abc",
                                                   "crossover_probability": 2})
    assert str(err.value) == (
        "setting 'generations': Input should be a valid integer, unable to parse string as an "
        "integer (got 'abc'); setting 'crossover_probability': Input should be less than or "
        "equal to 1 (got 2)")


def test_a_whole_model_error_has_no_key_and_no_value_error_prefix():
    with pytest.raises(ConfigError) as err:
        config.validate(config.AlgorithmSettings, {"population_size": 4, "elitism": 4})
    assert str(err.value) == "elitism (4) must be less than population_size (4)"


def test_a_missing_setting_is_named_without_an_input():
    from pydantic import BaseModel

    class Needs(BaseModel):
        data: str

    with pytest.raises(ConfigError) as err:
        config.validate(Needs, {})
    assert str(err.value) == "setting 'data': Field required"


def test_long_inputs_are_cut_to_one_readable_line():
    assert config._shown("x" * 78) == repr("x" * 78)  # 80 characters: whole
    assert config._shown("x" * 79) == repr("x" * 79)[:77] + "..."
    assert len(config._shown("x" * 79)) == 80
    with pytest.raises(ConfigError) as err:
        config.validate(config.AlgorithmSettings, {"selection": "y" * 500})
    assert str(err.value).endswith(f"(got {repr('y' * 500)[:77]}...)")


def test_values_nested_past_the_parsers_recursion_get_the_same_line_as_any_too_deep():
    too_deep = f"setting 'value' nests lists or tables more than {config.MAX_NESTING} deep"
    for nested in ("[" * 5000 + "]" * 5000,  # past tomllib's recursion
                   "[" * 9 + "1" + "]" * 9, "[" * 9 + "]" * 9):  # counted
        with pytest.raises(ConfigError) as err:
            config.parse_value(nested)
        assert str(err.value) == too_deep
    with pytest.raises(ConfigError) as err:
        config._toml("x = " + "[" * 5000 + "]" * 5000, "config file 'deep.toml'")
    assert str(err.value) == (f"config file 'deep.toml' nests lists or tables more than "
                              f"{config.MAX_NESTING} deep")


def test_config_files_are_named_in_every_error(tmp_path):
    missing = tmp_path / "missing.toml"
    with pytest.raises(ConfigError) as err:
        config.read_toml(missing)
    assert str(err.value) == f"config file {str(missing)!r} does not exist"
    edge = tmp_path / "edge.toml"
    edge.write_text("x = " + "[" * 7 + "1" + "]" * 7 + "\n")  # exactly the limit: accepted
    assert config._nesting(config.read_toml(edge)) == config.MAX_NESTING


def test_close_matches_are_the_three_closest_joined_by_commas():
    with pytest.raises(ConfigError) as err:
        config.split_settings({"mutation_et": 1}, NoSettings)
    assert str(err.value).startswith("unknown setting 'mutation_et'; did you mean "
                                     "'mutation_eta', 'mutation_depth', 'mutation'? valid "
                                     "settings: ")


def test_an_error_inside_a_list_names_the_item():
    from pydantic import BaseModel

    class Bounds(BaseModel):
        bounds: list[float]

    with pytest.raises(ConfigError) as err:
        config.validate(Bounds, {"bounds": [1, "x"]})
    assert str(err.value).startswith("setting 'bounds.1': Input should be a valid number")
