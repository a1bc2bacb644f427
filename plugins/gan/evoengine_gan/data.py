"""Images to train on: scikit-learn's digits by default, or files the user points to.

``data = "digits"`` (embedded, 8x8, with labels) or a path:

- a folder of PNG files; a file's parent folder name is its label when the files sit in
  one sub-folder per class (the usual image-folder layout);
- a ``.npz`` file (arrays ``images``/``x``/``x_train``, labels ``labels``/``y``/``y_train``);
- an IDX file as MNIST and Fashion-MNIST ship them (``train-images-idx3-ubyte``, gzipped or not);
  labels from ``data_labels = PATH`` (``train-labels-idx1-ubyte``).

Nothing is downloaded. Images become ``float32`` in ``[-1, 1]``, shape ``N x 1 x H x W``.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evoengine.errors import ConfigError

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
NPZ_IMAGE_KEYS = ("images", "x", "x_train")
NPZ_LABEL_KEYS = ("labels", "y", "y_train")


@dataclass(frozen=True)
class ImageData:
    """Train and held-out images (``N x 1 x H x W`` in ``[-1, 1]``) with their labels."""

    train: np.ndarray
    train_labels: np.ndarray | None
    held_out: np.ndarray
    held_out_labels: np.ndarray | None
    source: str

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.train.shape[1:])  # type: ignore[return-value]


def load_images(source: str, labels_path: str | None = None
                ) -> tuple[np.ndarray, np.ndarray | None]:
    """Images ``N x H x W`` (any numeric type) and labels (or None) from ``source``."""
    if source == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        return digits.images / 16.0, digits.target.astype(np.int64)
    path = Path(source).expanduser()
    if not path.exists():
        raise ConfigError(f"setting 'data': {source!r} does not exist; give 'digits', a folder "
                          "of PNG files, a .npz file or an IDX file")
    if path.is_dir():
        images, labels = read_png_folder(path)
    elif path.suffix == ".npz":
        images, labels = read_npz(path)
    else:
        images, labels = read_idx(path), None
    if labels_path is not None:
        labels = read_idx(Path(labels_path).expanduser()).astype(np.int64)
        if labels.shape != (len(images),):
            raise ConfigError(f"setting 'data_labels': {labels.shape[0]} labels for "
                              f"{len(images)} images")
    return images, labels


def read_idx(path: Path) -> np.ndarray:
    """An IDX array (the MNIST format): zero bytes, type byte, rank, big-endian sizes, data."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise ConfigError(f"{str(path)!r} is not an IDX file (bad magic number)")
    dtype, rank = np.dtype(IDX_TYPES[raw[2]]), raw[3]
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", count=rank, offset=4))
    offset = 4 + 4 * rank
    if len(raw) - offset != dtype.itemsize * int(np.prod(shape)):
        raise ConfigError(f"{str(path)!r}: IDX header says {shape}, the data size differs")
    return np.frombuffer(raw, dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


def read_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    with np.load(path, allow_pickle=False) as npz:
        image_key = next((k for k in NPZ_IMAGE_KEYS if k in npz.files), None)
        if image_key is None:
            raise ConfigError(f"{str(path)!r} has arrays {npz.files}; name the images one of "
                              f"{list(NPZ_IMAGE_KEYS)}")
        label_key = next((k for k in NPZ_LABEL_KEYS if k in npz.files), None)
        images = npz[image_key]
        labels = npz[label_key].astype(np.int64) if label_key else None
    return images, labels


def read_png_folder(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    import matplotlib.image as mpimg

    files = sorted(path.rglob("*.png"))
    if not files:
        raise ConfigError(f"setting 'data': folder {str(path)!r} holds no .png files")
    images = []
    for f in files:
        img = mpimg.imread(f)  # PNG reads as float in [0, 1]
        if img.ndim == 3:  # colour or grey+alpha: average the colour channels
            img = img[..., :3].mean(axis=2) if img.shape[2] >= 3 else img[..., 0]
        images.append(img)
    shapes = {img.shape for img in images}
    if len(shapes) != 1:
        raise ConfigError(f"setting 'data': images in {str(path)!r} differ in size: "
                          f"{sorted(shapes)}")
    classes = sorted({f.parent.relative_to(path).as_posix() for f in files})
    labels = None
    if len(classes) > 1 or classes[0] != ".":
        index = {c: i for i, c in enumerate(classes)}
        labels = np.array([index[f.parent.relative_to(path).as_posix()] for f in files])
    return np.stack(images), labels


def to_unit_range(images: np.ndarray) -> np.ndarray:
    """Integers are read as 0..255 (0..16 is digits' own scale, handled by the loader)."""
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3:
        raise ConfigError(f"images must be N x H x W (grey), got shape {images.shape}")
    if np.issubdtype(images.dtype, np.integer):
        return images.astype(np.float32) / 255.0
    images = images.astype(np.float32)
    if images.min() < 0.0 or images.max() > 1.0:
        raise ConfigError("floating-point images must lie in [0, 1]")
    return images


def prepare_data(source: str = "digits", *, labels_path: str | None = None,
                 held_out_fraction: float = 0.3, limit: int | None = None,
                 seed: int = 0) -> ImageData:
    """Load, scale to ``[-1, 1]`` and split into train and held-out parts (seeded shuffle)."""
    images, labels = load_images(source, labels_path)
    images = to_unit_range(images) * 2.0 - 1.0
    order = np.random.default_rng(seed).permutation(len(images))
    if limit is not None:
        order = order[:limit]
    n_held = int(round(len(order) * held_out_fraction))
    if n_held < 2 or len(order) - n_held < 2:
        raise ConfigError(f"setting 'data': {len(order)} images are too few to split "
                          f"{held_out_fraction:g} of them off for evaluation")
    held, train = order[:n_held], order[n_held:]
    x = images[:, None, :, :]
    pick = (lambda rows: labels[rows]) if labels is not None else (lambda rows: None)
    return ImageData(x[train], pick(train), x[held], pick(held), source)
