"""Fréchet distance, KID and the cached feature classifier."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # tiny networks; more threads only contend on a shared machine

from evoengine.errors import ConfigError  # noqa: E402
from evoengine_gan import features  # noqa: E402
from evoengine_gan.data import ImageData, prepare_data  # noqa: E402
from evoengine_gan.features import (CACHE_FILE, feature_space,  # noqa: E402
                                    frechet_distance, kernel_inception_distance)


def naive_kid(a, b, subsets, size, seed):
    """KID by loops over pairs, drawing the same subsets as the vectorized version."""
    rng = np.random.default_rng(seed)
    d = a.shape[1]

    def k(x, y):
        return (sum(xi * yi for xi, yi in zip(x, y, strict=True)) / d + 1) ** 3

    total = 0.0
    for _ in range(subsets):
        x = a[rng.choice(len(a), size, replace=False)]
        y = b[rng.choice(len(b), size, replace=False)]
        xx = sum(k(x[i], x[j]) for i in range(size) for j in range(size) if i != j)
        yy = sum(k(y[i], y[j]) for i in range(size) for j in range(size) if i != j)
        xy = sum(k(x[i], y[j]) for i in range(size) for j in range(size))
        total += xx / (size * (size - 1)) + yy / (size * (size - 1)) - 2 * xy / size ** 2
    return total / subsets


def test_frechet_distance_closed_forms():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    # Same covariance, shifted mean: the distance is the squared shift.
    assert frechet_distance(a, a + [1.0, 2.0, 0.0]) == pytest.approx(5.0, rel=1e-6)
    # Diagonal covariances: sum of (sigma_a - sigma_b)^2 plus the mean term.
    x = rng.normal(size=(200_000, 2)) * [1.0, 2.0]
    y = rng.normal(size=(200_000, 2)) * [3.0, 0.5] + [1.0, 0.0]
    expected = 1.0 + (1 - 3) ** 2 + (2 - 0.5) ** 2
    assert frechet_distance(x, y) == pytest.approx(expected, rel=0.02)
    assert np.isnan(frechet_distance(a, np.full_like(a, np.nan)))


def test_kid_matches_loops_and_is_near_zero_for_one_distribution():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(30, 4)), rng.normal(size=(25, 4)) + 0.5
    assert kernel_inception_distance(a, b, subsets=2, subset_size=10, seed=3) == pytest.approx(
        naive_kid(a, b, 2, 10, 3), rel=1e-9)
    same = kernel_inception_distance(rng.normal(size=(500, 4)), rng.normal(size=(500, 4)))
    shifted = kernel_inception_distance(rng.normal(size=(500, 4)), rng.normal(size=(500, 4)) + 1)
    assert abs(same) < 0.05 < shifted


def test_classifier_is_deterministic_cached_and_retrained_for_other_data(tmp_path,
                                                                          monkeypatch):
    data = prepare_data("digits", limit=400)
    first = feature_space(data, seed=0, steps=200, cache=tmp_path)
    assert (tmp_path / CACHE_FILE).exists() and first.accuracy > 0.6
    info = json.loads((tmp_path / "feature_net.json").read_text())
    assert info["description"]["train"] == len(data.train)
    fresh = feature_space(data, seed=0, steps=200)  # retrained in memory: the same network
    for p, q in zip(first.net.parameters(), fresh.net.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    saved = (tmp_path / CACHE_FILE).read_bytes()
    trainings = []
    train = features._train_classifier
    monkeypatch.setattr(features, "_train_classifier",
                        lambda *args: trainings.append(args) or train(*args))
    loaded = feature_space(data, seed=0, steps=200, cache=tmp_path)  # read back, not retrained
    assert trainings == [] and (tmp_path / CACHE_FILE).read_bytes() == saved
    np.testing.assert_array_equal(loaded.reference, first.reference)
    other = prepare_data("digits", limit=300)
    retrained = feature_space(other, seed=0, steps=200, cache=tmp_path)
    assert len(trainings) == 1 and (tmp_path / CACHE_FILE).read_bytes() != saved
    assert retrained.reference.shape[0] == len(other.held_out)


def test_unlabelled_images_are_refused_with_a_hint():
    x = np.zeros((10, 1, 4, 4), dtype=np.float32)
    data = ImageData(x, None, x, None, "folder")
    with pytest.raises(ConfigError, match="needs labelled images.*data_labels"):
        feature_space(data)
