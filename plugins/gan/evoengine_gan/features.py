"""Measuring generated images: Fréchet distance and KID in a small classifier's feature space.

The classifier (an MLP on the flattened image) is trained on the training split only, on the
CPU, from a fixed seed, so the same data and seed give the same network anywhere. It is cached
in the run folder as a ``state_dict`` (``feature_net.pt``, read back with
``weights_only=True``) next to a JSON description; a cache that describes other data is
retrained rather than trusted.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy import linalg
from torch import nn

from evoengine.errors import ConfigError
from evoengine.io import write_atomic
from evoengine_gan.data import ImageData

FEATURES = 64
CACHE_FILE = "feature_net.pt"


class FeatureNet(nn.Module):
    """Flatten > 256 > ReLU > 64 (the features) > ReLU > classes."""

    def __init__(self, pixels: int, classes: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(pixels, 256), nn.ReLU(),
                                  nn.Linear(256, FEATURES), nn.ReLU())
        self.head = nn.Linear(FEATURES, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


@dataclass
class FeatureSpace:
    """A trained classifier and the held-out images' features (the reference statistics)."""

    net: FeatureNet
    accuracy: float  # on the held-out split: how good the feature space is
    reference: np.ndarray  # held-out features

    @torch.no_grad()
    def features(self, images: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(np.asarray(images, dtype=np.float32))
        return np.concatenate([self.net.body(chunk).double().numpy()
                               for chunk in torch.split(x, 1024)])

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The classifier's weights, accuracy and reference features as plain arrays (what a
        pickled problem carries, so every worker measures with the very same network)."""
        arrays = {f"net.{k}": v.detach().cpu().numpy().copy()
                  for k, v in self.net.state_dict().items()}
        arrays.update(accuracy=np.array(self.accuracy), reference=self.reference)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> FeatureSpace:
        """The feature space :meth:`to_arrays` described."""
        weights = {k[4:]: torch.from_numpy(v.copy()) for k, v in arrays.items()
                   if k.startswith("net.")}
        net = FeatureNet(weights["body.1.weight"].shape[1], weights["head.weight"].shape[0])
        net.load_state_dict(weights)
        return cls(net.eval(), float(arrays["accuracy"]), arrays["reference"])


def _description(data: ImageData, seed: int, steps: int) -> dict:
    digest = hashlib.sha256(data.train.tobytes()).hexdigest()[:16]
    return {"source": data.source, "shape": list(data.shape), "train": len(data.train),
            "train_sha256": digest, "seed": seed, "steps": steps}


def feature_space(data: ImageData, *, seed: int = 0, steps: int = 1500,
                  cache: Path | None = None) -> FeatureSpace:
    """The classifier for ``data``: read from ``cache`` when it was trained on this data, else
    trained (and saved there when ``cache`` is a folder)."""
    if data.train_labels is None:
        raise ConfigError("setting 'data': the Fréchet distance needs labelled images to train "
                          "its feature classifier; give data_labels=PATH (IDX labels), an .npz "
                          "with a 'labels' array, or PNG files in one folder per class")
    classes = int(max(data.train_labels.max(), data.held_out_labels.max())) + 1
    net = FeatureNet(math.prod(data.shape), classes)
    description = _description(data, seed, steps)
    meta = cache / "feature_net.json" if cache else None
    if meta is not None and meta.exists() and (cache / CACHE_FILE).exists():
        stored = json.loads(meta.read_text())
        if stored.get("description") == description:
            net.load_state_dict(torch.load(cache / CACHE_FILE, weights_only=True))
            net.eval()
            return _finish(net, data)
    _train_classifier(net, data, seed, steps)
    space = _finish(net, data)
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()  # written whole or not at all (write_atomic)
        torch.save(net.state_dict(), buffer)
        write_atomic(cache / CACHE_FILE, buffer.getvalue())
        info = {"description": description, "held_out_accuracy": space.accuracy}
        write_atomic(meta, (json.dumps(info, indent=2) + "\n").encode())
    return space


def _train_classifier(net: FeatureNet, data: ImageData, seed: int, steps: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():  # a seeded start, independent of torch's global RNG
            bound = 1.0 / math.sqrt(p.shape[-1])
            p.uniform_(-bound, bound, generator=gen)
    x = torch.as_tensor(data.train, dtype=torch.float32)
    y = torch.as_tensor(data.train_labels)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(steps):
        rows = torch.randint(len(x), (64,), generator=gen)
        loss = nn.functional.cross_entropy(net(x[rows]), y[rows])
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()


def _finish(net: FeatureNet, data: ImageData) -> FeatureSpace:
    x = torch.as_tensor(data.held_out, dtype=torch.float32)
    with torch.no_grad():
        predicted = net(x).argmax(1).numpy()
    accuracy = float((predicted == data.held_out_labels).mean())
    space = FeatureSpace(net, accuracy, np.empty((0, FEATURES)))
    space.reference = space.features(data.held_out)
    return space


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """``|mu_a - mu_b|^2 + tr(C_a + C_b - 2 (C_a C_b)^(1/2))`` between two feature sets."""
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return float("nan")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():  # a collapsed generator gives a singular covariance
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(cov_a @ cov_b)
        if not np.isfinite(root).all():  # nudge the diagonals, as FID code does
            eps = np.eye(len(cov_a)) * 1e-6
            root = linalg.sqrtm((cov_a + eps) @ (cov_b + eps))
    value = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2.0 * root.real))
    return max(value, 0.0)


def kernel_inception_distance(a: np.ndarray, b: np.ndarray, *, subsets: int = 10,
                              subset_size: int = 100, seed: int = 0) -> float:
    """KID: the unbiased squared MMD with kernel ``(x.y / d + 1)^3``, averaged over subsets."""
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return float("nan")
    rng = np.random.default_rng(seed)
    m = min(subset_size, len(a), len(b))
    d = a.shape[1]
    total = 0.0
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = ((x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3)
        off = m * (m - 1)
        total += ((kxx.sum() - np.trace(kxx)) / off + (kyy.sum() - np.trace(kyy)) / off
                  - 2.0 * kxy.mean())
    return float(total / subsets)
