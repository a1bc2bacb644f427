"""The gan plugin's data loaders, on small files the tests write."""

import gzip
import struct

import numpy as np
import pytest

pytest.importorskip("torch")

from evoengine.errors import ConfigError  # noqa: E402
from evoengine_gan.data import load_images, prepare_data, read_idx  # noqa: E402


def write_idx(path, array, compress=False):
    """The IDX layout, written independently of the reader: magic, big-endian sizes, data."""
    codes = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D}
    header = bytes([0, 0, codes[array.dtype], array.ndim])
    header += b"".join(struct.pack(">I", n) for n in array.shape)
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(10, 4, 4), dtype=np.uint8)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, images, compress):
    path = tmp_path / ("imgs-idx3-ubyte" + (".gz" if compress else ""))
    write_idx(path, images, compress)
    np.testing.assert_array_equal(read_idx(path), images)
    ints = np.arange(12, dtype=np.int32).reshape(3, 4) - 5
    write_idx(tmp_path / "ints", ints)
    np.testing.assert_array_equal(read_idx(tmp_path / "ints"), ints)


def test_idx_images_with_idx_labels_scale_to_minus_one_one(tmp_path, images):
    write_idx(tmp_path / "x", images)
    labels = (np.arange(10) % 3).astype(np.uint8)
    write_idx(tmp_path / "y", labels)
    data = prepare_data(str(tmp_path / "x"), labels_path=str(tmp_path / "y"),
                        held_out_fraction=0.3)
    assert data.train.shape == (7, 1, 4, 4) and data.held_out.shape == (3, 1, 4, 4)
    everything = np.concatenate([data.train, data.held_out])
    expected = np.sort(images.ravel() / 255.0 * 2 - 1)
    np.testing.assert_allclose(np.sort(everything.ravel()), expected, atol=1e-6)
    # Each image keeps its own label through the shuffle.
    for x, y in zip(data.train, data.train_labels, strict=True):
        row = np.flatnonzero([(np.abs(img / 255.0 * 2 - 1 - x[0]) < 1e-6).all()
                              for img in images])
        assert labels[row[0]] == y


def test_bad_idx_and_mismatched_labels(tmp_path, images):
    (tmp_path / "junk").write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ConfigError, match="not an IDX file"):
        read_idx(tmp_path / "junk")
    write_idx(tmp_path / "x", images)
    write_idx(tmp_path / "y", np.zeros(4, dtype=np.uint8))
    with pytest.raises(ConfigError, match="data_labels.*4 labels for 10 images"):
        load_images(str(tmp_path / "x"), str(tmp_path / "y"))


def test_npz_with_and_without_known_keys(tmp_path, images):
    np.savez(tmp_path / "d.npz", x_train=images, y_train=np.arange(10))
    x, y = load_images(str(tmp_path / "d.npz"))
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, np.arange(10))
    np.savez(tmp_path / "bad.npz", pictures=images)
    with pytest.raises(ConfigError, match="has arrays \\['pictures'\\]"):
        load_images(str(tmp_path / "bad.npz"))


def test_png_folder_labels_from_class_folders(tmp_path, images):
    import matplotlib.image as mpimg

    for i, img in enumerate(images[:6]):
        folder = tmp_path / ("cats" if i % 2 else "dogs")
        folder.mkdir(exist_ok=True)
        mpimg.imsave(folder / f"{i}.png", img, cmap="gray", vmin=0, vmax=255)
    x, y = load_images(str(tmp_path))
    assert x.shape == (6, 4, 4)
    # sorted paths: cats/1, cats/3, cats/5, dogs/0, dogs/2, dogs/4
    np.testing.assert_allclose(x[0] * 255, images[1], atol=1.0)
    np.testing.assert_array_equal(y, [0, 0, 0, 1, 1, 1])


def test_missing_path_and_digits_default():
    with pytest.raises(ConfigError, match="setting 'data': '/no/such' does not exist"):
        load_images("/no/such")
    data = prepare_data("digits", limit=100, seed=3)
    assert data.shape == (1, 8, 8) and len(data.train) == 70 and len(data.held_out) == 30
    assert data.train.min() >= -1 and data.train.max() <= 1
    again = prepare_data("digits", limit=100, seed=3)
    np.testing.assert_array_equal(again.train, data.train)
