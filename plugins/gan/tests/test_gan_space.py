"""The gan plugin's search space: decoding, encoding and the user's overrides."""

import math

import numpy as np
import pytest

pytest.importorskip("torch")

from evoengine.config import parse_value, validate  # noqa: E402
from evoengine.errors import ConfigError  # noqa: E402
from evoengine_gan.settings import GanSettings  # noqa: E402
from evoengine_gan.space import ARTICLE_DEFAULT, GENES, Gene, SearchSpace  # noqa: E402


def test_log_gene_is_log_uniform():
    gene = Gene("lr", "log", 1e-5, 1e-1)
    assert gene.decode(0.0) == pytest.approx(1e-5)
    assert gene.decode(0.5) == pytest.approx(1e-3)
    assert gene.decode(1.0) == pytest.approx(1e-1)
    assert gene.decode(-3.0) == pytest.approx(1e-5)  # clipped


def test_int_and_choice_genes_give_each_value_an_equal_share():
    ints = Gene("d", "int", 1, 3)
    us = np.linspace(0, 1, 3001)
    counts = np.bincount([ints.decode(u) for u in us])[1:]
    assert list(counts) == pytest.approx([1000, 1000, 1000], abs=2)
    choice = Gene("loss", "choice", choices=("a", "b", "c", "d"))
    assert [choice.decode(u) for u in (0.0, 0.26, 0.5, 0.74, 1.0)] == ["a", "b", "c", "c", "d"]


def test_encode_inverts_decode_for_every_gene():
    space = SearchSpace()
    genome = space.encode(ARTICLE_DEFAULT)
    decoded = space.decode(genome)
    for name, value in ARTICLE_DEFAULT.items():
        if isinstance(value, float):
            assert decoded[name] == pytest.approx(value), name
        else:
            assert decoded[name] == value, name
    assert len(space) == len(GENES) == len(genome)


def test_overrides_narrow_fix_and_restrict():
    space = SearchSpace({"lr_g": [1e-4, 1e-3], "beta1": 0.5, "loss": ["hinge"],
                         "latent": [16, 32], "d_steps": [2, 2]})
    rng = np.random.default_rng(0)
    for genome in rng.random((200, len(space))):
        c = space.decode(genome)
        assert 1e-4 <= c["lr_g"] <= 1e-3
        assert c["beta1"] == 0.5 and c["loss"] == "hinge" and c["d_steps"] == 2
        assert c["latent"] in (16, 32)
    assert space.fixed() == {"beta1": 0.5, "loss": "hinge", "d_steps": 2}


def test_space_from_the_command_line_and_toml_shapes():
    # --set 'space={lr_g=[1e-4,1e-3],loss="hinge"}' arrives as a TOML inline table
    value = parse_value('{lr_g=[1e-4,1e-3],loss="hinge"}')
    settings = validate(GanSettings, {"space": value})
    space = SearchSpace(settings.space)
    assert space.fixed() == {"loss": "hinge"}
    assert math.isclose(space.decode(np.zeros(len(space)))["lr_g"], 1e-4)


@pytest.mark.parametrize("overrides, message", [
    ({"lr": [1, 2]}, "unknown gene; did you mean 'lr_g', 'lr_d'"),
    ({"loss": "wasserstein"}, "choose from ['non_saturating', 'hinge', 'least_squares']"),
    ({"beta1": [0.9, 0.1]}, "low 0.9 is greater than high 0.1"),
    ({"lr_g": [0, 1e-3]}, "log-scale gene needs low > 0"),
    ({"g_depth": [1.5, 2]}, "whole numbers"),
    ({"beta2": "high"}, "give a number or [low, high]"),
    ({"beta2": [0.9, 1.0]}, "beta2 must lie in [0, 0.9999]"),
    ({"d_steps": 0}, "d_steps must lie in [1, 100]"),
])
def test_bad_overrides_name_the_gene(overrides, message):
    with pytest.raises(ConfigError, match="space.") as info:
        SearchSpace(overrides)
    assert message in str(info.value)
