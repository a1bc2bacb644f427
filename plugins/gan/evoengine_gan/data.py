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
import io
import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evoengine.errors import ConfigError
from evoengine.io import InputFileError, load_npz, memory_share, read_input

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
NPZ_IMAGE_KEYS = ("images", "x", "x_train")
NPZ_LABEL_KEYS = ("labels", "y", "y_train")
MAX_CLASSES = 1 << 16  # labels index per-class tables


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
    if np.ndim(images) == 0:
        raise ConfigError(f"setting 'data': {source!r} holds a single number, not images")
    if labels_path is not None:
        labels = read_idx(Path(labels_path).expanduser())
        if labels.shape != (len(images),):
            count = labels.shape[0] if labels.ndim == 1 else f"shape {labels.shape} of"
            raise ConfigError(f"setting 'data_labels': {count} labels for {len(images)} images")
    if labels is not None:
        labels = _class_labels(labels, len(images), source)
    return images, labels


def _class_labels(labels: np.ndarray, count: int, source: str) -> np.ndarray:
    """Labels as whole class numbers, one per image, or a ConfigError saying why not."""
    if labels.shape != (count,):
        raise ConfigError(f"setting 'data': {source!r} has labels of shape {labels.shape} for "
                          f"{count} images")
    if not np.issubdtype(labels.dtype, np.integer):
        if not (np.isfinite(labels).all() and (labels == np.round(labels)).all()):
            raise ConfigError(f"setting 'data': the labels of {source!r} are not whole numbers")
    if count and (labels.min() < 0 or labels.max() >= MAX_CLASSES):
        raise ConfigError(f"setting 'data': the labels of {source!r} must lie in "
                          f"0..{MAX_CLASSES - 1}")
    return labels.astype(np.int64)


def _read(path: Path) -> bytes:
    """A data file's bytes: only a regular file, at most half the memory available."""
    try:
        return read_input(path, "setting 'data': file")
    except InputFileError as exc:
        raise ConfigError(str(exc)) from None


def read_idx(path: Path) -> np.ndarray:
    """An IDX array (the MNIST format): zero bytes, type byte, rank, big-endian sizes, data."""
    raw = _read(path)
    if raw[:2] == b"\x1f\x8b":
        limit = memory_share()
        try:  # bounded: a small gzip file may inflate to any size
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as fh:
                raw = fh.read(limit + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise ConfigError(f"{str(path)!r} is not a whole gzip file ({exc})") from None
        if len(raw) > limit:
            raise ConfigError(f"{str(path)!r} inflates to more than the {limit >> 20} MiB this "
                              "machine can hold")
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise ConfigError(f"{str(path)!r} is not an IDX file (bad magic number)")
    dtype, rank = np.dtype(IDX_TYPES[raw[2]]), raw[3]
    if len(raw) < 4 + 4 * rank:
        raise ConfigError(f"{str(path)!r} is not an IDX file (its header is cut short)")
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", count=rank, offset=4))
    offset = 4 + 4 * rank
    if len(raw) - offset != dtype.itemsize * math.prod(shape):
        raise ConfigError(f"{str(path)!r}: IDX header says {shape}, the data size differs")
    return np.frombuffer(raw, dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


def read_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        npz = load_npz(_read(path))
    except ValueError as exc:
        raise ConfigError(f"setting 'data': {str(path)!r} cannot be read: {exc}") from None
    image_key = next((k for k in NPZ_IMAGE_KEYS if k in npz), None)
    if image_key is None:
        raise ConfigError(f"{str(path)!r} has arrays {sorted(npz)}; name the images one of "
                          f"{list(NPZ_IMAGE_KEYS)}")
    label_key = next((k for k in NPZ_LABEL_KEYS if k in npz), None)
    return npz[image_key], npz[label_key] if label_key else None


def read_png_folder(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    import matplotlib.image as mpimg

    files = sorted(path.rglob("*.png"))
    if not files:
        raise ConfigError(f"setting 'data': folder {str(path)!r} holds no .png files")
    images = []
    for f in files:
        try:  # PNG reads as float in [0, 1]
            img = mpimg.imread(io.BytesIO(_read(f)), format="png")
        except ConfigError:
            raise
        except Exception as exc:  # Pillow's errors for a damaged or hostile PNG vary
            raise ConfigError(f"setting 'data': {str(f)!r} is not a PNG image Pillow reads "
                              f"({type(exc).__name__}: {exc})") from None
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
    if images.ndim != 3 or 0 in images.shape:
        raise ConfigError(f"images must be N x H x W (grey), got shape {images.shape}")
    if np.issubdtype(images.dtype, np.integer):
        return images.astype(np.float32) / 255.0
    images = images.astype(np.float32)
    if not np.isfinite(images).all() or images.min() < 0.0 or images.max() > 1.0:
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
