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
