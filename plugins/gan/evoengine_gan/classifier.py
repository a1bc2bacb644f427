"""A second trainable for population-based training, not a GAN: a small classifier of
scikit-learn's digits (64 pixels > hidden ReLU layer > 10 classes), its accuracy on a
validation split the measure. ``evoengine run classifier`` runs PBT on it (``scheme="pbt"``,
the default) or evolves its training settings, each trained from scratch (``scheme="evolve"``).

It is also the worked example of the trainable protocol (:mod:`evoengine_gan.trainable`), in
both forms:

- :class:`BatchedClassifiers`: the population as one model, weights stacked ``P x ...`` and
  applied with ``torch.einsum``; :class:`evoengine_gan.training.BatchedAdam` with per-member
  learning rates and betas; weight decay and label smoothing as per-member vectors;
- :class:`ClassifierMember`: one plain ``nn.Module`` with ``torch.optim.Adam``, trained
  member after member through :class:`evoengine_gan.trainable.OneByOne` (``batched=false``).

Both draw the same batches from the same seeds and compute the same thing, so they give the
same population (tested at float64).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from evoengine import Genome, Objective, Problem
from evoengine_gan.devices import choose_device
from evoengine_gan.pbt import PBTSettings
from evoengine_gan.space import Gene, SearchSpace
from evoengine_gan.classifier_settings import ClassifierSettings
from evoengine_gan.trainable import OneByOne
from evoengine_gan.training import BatchedAdam

CLASSES = 10

GENES: tuple[Gene, ...] = (
    Gene("lr", "log", 1e-4, 1e-1, help="Adam learning rate"),
    Gene("beta1", "float", 0.0, 0.95, help="Adam beta1", limits=(0.0, 0.9999)),
    Gene("beta2", "float", 0.9, 0.999, help="Adam beta2", limits=(0.0, 0.9999)),
    Gene("weight_decay", "log", 1e-6, 1e-2, help="L2 penalty added to the gradient"),
    Gene("label_smoothing", "float", 0.0, 0.2, help="cross-entropy label smoothing",
         limits=(0.0, 0.99)),
)


def digits_split(seed: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Train, validation (PBT's measure) and test (reported only) splits, 60/20/20."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    cut1, cut2 = int(0.6 * len(x)), int(0.8 * len(x))
    parts = (order[:cut1], order[cut1:cut2], order[cut2:])
    return tuple((x[p], y[p]) for p in parts)


def _init_linear(weight: torch.Tensor, bias: torch.Tensor, gen: torch.Generator) -> None:
    bound = 1.0 / math.sqrt(weight.shape[-1])
    with torch.no_grad():
        weight.uniform_(-bound, bound, generator=gen)
        bias.zero_()


def _smoothed_loss(logits: torch.Tensor, labels: torch.Tensor,
                   smoothing: torch.Tensor) -> torch.Tensor:
    """Cross-entropy with label smoothing, one value per member (``logits`` P x B x C)."""
    logp = torch.log_softmax(logits, -1)
    nll = -logp.gather(-1, labels[..., None])[..., 0].mean(-1)
    uniform = -logp.mean(-1).mean(-1)
    return (1 - smoothing) * nll + smoothing * uniform


class _Data:
    """The splits as tensors on one device, and each member's batch stream."""

    def __init__(self, seed: int, device: torch.device, dtype: torch.dtype) -> None:
        (xt, yt), (xv, yv), (xs, ys) = digits_split(seed)
        self.device, self.dtype = device, dtype
        self.x = torch.as_tensor(xt, device=device, dtype=dtype)
        self.y = torch.as_tensor(yt, device=device)
        self.x_val = torch.as_tensor(xv, device=device, dtype=dtype)
        self.y_val = torch.as_tensor(yv, device=device)
        self.x_test = torch.as_tensor(xs, device=device, dtype=dtype)
        self.y_test = torch.as_tensor(ys, device=device)

    def stream(self, seed: int) -> torch.Generator:
        return torch.Generator(device=self.device).manual_seed(int(seed))

    def batch(self, gen: torch.Generator, size: int) -> torch.Tensor:
        return torch.randint(len(self.x), (size,), generator=gen, device=self.device)


class BatchedClassifiers:
    """The population as one model: a :class:`~evoengine_gan.trainable.Trainable`."""

    def __init__(self, configs: Sequence[Mapping[str, Any]], seeds: Sequence[int],
                 data: _Data, hidden: int, batch_size: int) -> None:
        self.data, self.batch_size = data, batch_size
        p, dev, dt = len(configs), data.device, data.dtype
        self.w1 = torch.empty(p, hidden, data.x.shape[1], device=dev, dtype=dt)
        self.b1 = torch.empty(p, hidden, device=dev, dtype=dt)
        self.w2 = torch.empty(p, CLASSES, hidden, device=dev, dtype=dt)
        self.b2 = torch.empty(p, CLASSES, device=dev, dtype=dt)
        for i, seed in enumerate(seeds):  # as ClassifierMember initializes: same weights
            gen = torch.Generator().manual_seed(int(seed))
            for w, b in ((self.w1, self.b1), (self.w2, self.b2)):
                wi, bi = torch.empty(w.shape[1:], dtype=dt), torch.empty(b.shape[1:], dtype=dt)
                _init_linear(wi, bi, gen)
                w[i], b[i] = wi, bi
        self.params = [self.w1, self.b1, self.w2, self.b2]
        for param in self.params:
            param.requires_grad_(True)
        zeros = torch.zeros(p, device=dev, dtype=dt)
        self.opt = BatchedAdam(self.params, zeros.clone(), zeros.clone(), zeros.clone())
        self.decay, self.smoothing = zeros.clone(), zeros.clone()
        self.streams = [data.stream(s) for s in seeds]

    def __len__(self) -> int:
        return len(self.streams)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` is ``P x B x 64`` (each member its own batch) or ``B x 64`` (the same)."""
        pattern = "pbi,poi->pbo" if x.ndim == 3 else "bi,poi->pbo"
        h = torch.relu(torch.einsum(pattern, x, self.w1) + self.b1[:, None])
        return torch.einsum("pbi,poi->pbo", h, self.w2) + self.b2[:, None]

    def configure(self, configs: Sequence[Mapping[str, Any]]) -> None:
        def vec(key):
            return torch.tensor([float(c[key]) for c in configs], device=self.data.device,
                                dtype=self.data.dtype)

        self.opt.set_hyperparameters(*([c[key] for c in configs]
                                       for key in ("lr", "beta1", "beta2")))
        self.decay.copy_(vec("weight_decay")), self.smoothing.copy_(vec("label_smoothing"))

    def reseed(self, seeds: Sequence[int]) -> None:
        self.streams = [self.data.stream(s) for s in seeds]

    def train(self, examples: int) -> None:
        for _ in range(max(1, examples // self.batch_size)):
            rows = torch.stack([self.data.batch(g, self.batch_size) for g in self.streams])
            loss = _smoothed_loss(self.logits(self.data.x[rows]), self.data.y[rows],
                                  self.smoothing).sum()
            grads = torch.autograd.grad(loss, self.params)
            shape = [(-1,) + (1,) * (p.ndim - 1) for p in self.params]
            self.opt.step([g + self.decay.view(s) * p.detach()
                           for g, p, s in zip(grads, self.params, shape, strict=True)])

    @torch.no_grad()
    def accuracy(self, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
        return (self.logits(x).argmax(-1) == y).to(torch.float64).mean(-1).cpu().numpy()

    def measure(self, seed: int) -> np.ndarray:
        """Validation accuracy (no randomness: ``seed`` is not needed)."""
        return self.accuracy(self.data.x_val, self.data.y_val)

    def member_info(self) -> list[dict[str, Any]]:
        """Test accuracy, sent back with each measure for ``best.json``; never selects."""
        return [{"test_accuracy": float(a)}
                for a in self.accuracy(self.data.x_test, self.data.y_test)]

    def copy_member(self, source: int, target: int) -> None:
        with torch.no_grad():
            for param in self.params:
                param[target] = param[source]
        self.opt.copy_member(source, target)

    def state(self) -> dict[str, np.ndarray]:
        names = ("w1", "b1", "w2", "b2")
        out = {n: p.detach().cpu().numpy().copy() for n, p in zip(names, self.params,
                                                                     strict=True)}
        for n, m, v in zip(names, self.opt.exp_avg, self.opt.exp_avg_sq, strict=True):
            out[f"adam.exp_avg.{n}"] = m.cpu().numpy().copy()
            out[f"adam.exp_avg_sq.{n}"] = v.cpu().numpy().copy()
        out["adam.steps"] = self.opt.steps.cpu().numpy().copy()
        return out

    def load_state(self, arrays: Mapping[str, np.ndarray]) -> None:
        names = ("w1", "b1", "w2", "b2")
        targets = dict(zip(names, self.params, strict=True))
        for n, m, v in zip(names, self.opt.exp_avg, self.opt.exp_avg_sq, strict=True):
            targets[f"adam.exp_avg.{n}"], targets[f"adam.exp_avg_sq.{n}"] = m, v
        targets["adam.steps"] = self.opt.steps
        with torch.no_grad():
            for key, tensor in targets.items():
                tensor.copy_(torch.as_tensor(arrays[key], device=tensor.device,
                                             dtype=tensor.dtype))


class ClassifierMember:
    """One classifier, the plain PyTorch way: a :class:`~.trainable.MemberTrainable`."""

    def __init__(self, config: Mapping[str, Any], seed: int, data: _Data, hidden: int,
                 batch_size: int) -> None:
        self.data, self.batch_size = data, batch_size
        self.net = nn.Sequential(nn.Linear(data.x.shape[1], hidden), nn.ReLU(),
                                 nn.Linear(hidden, CLASSES)).to(data.device, data.dtype)
        gen = torch.Generator().manual_seed(int(seed))
        for layer in (self.net[0], self.net[2]):
            weight = torch.empty(layer.weight.shape, dtype=data.dtype)
            bias = torch.empty(layer.bias.shape, dtype=data.dtype)
            _init_linear(weight, bias, gen)
            with torch.no_grad():
                layer.weight.copy_(weight), layer.bias.copy_(bias)
        self.opt = torch.optim.Adam(self.net.parameters())
        self.smoothing = 0.0
        self.stream = data.stream(seed)
        self.configure(config)

    def configure(self, config: Mapping[str, Any]) -> None:
        for group in self.opt.param_groups:
            group.update(lr=config["lr"], betas=(config["beta1"], config["beta2"]),
                         weight_decay=config["weight_decay"])
        self.smoothing = float(config["label_smoothing"])

    def reseed(self, seed: int) -> None:
        self.stream = self.data.stream(seed)

    def train(self, examples: int) -> None:
        for _ in range(max(1, examples // self.batch_size)):
            rows = self.data.batch(self.stream, self.batch_size)
            loss = F.cross_entropy(self.net(self.data.x[rows]), self.data.y[rows],
                                   label_smoothing=self.smoothing)
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()

    @torch.no_grad()
    def measure(self, seed: int) -> float:
        predicted = self.net(self.data.x_val).argmax(-1)
        return float((predicted == self.data.y_val).to(torch.float64).mean())

    @torch.no_grad()
    def member_info(self) -> dict[str, Any]:
        predicted = self.net(self.data.x_test).argmax(-1)
        return {"test_accuracy": float((predicted == self.data.y_test).double().mean())}

    def state(self) -> dict[str, np.ndarray]:
        out = {k: v.detach().cpu().numpy().copy() for k, v in self.net.state_dict().items()}
        for i, p in enumerate(self.net.parameters()):
            st = self.opt.state.get(p)
            if st:
                out[f"adam.{i}.exp_avg"] = st["exp_avg"].cpu().numpy().copy()
                out[f"adam.{i}.exp_avg_sq"] = st["exp_avg_sq"].cpu().numpy().copy()
                out[f"adam.{i}.step"] = np.asarray(float(st["step"]))
        return out

    def load_state(self, arrays: Mapping[str, np.ndarray]) -> None:
        weights = {k: torch.as_tensor(v) for k, v in arrays.items() if not k.startswith("adam.")}
        self.net.load_state_dict(weights)
        for i, p in enumerate(self.net.parameters()):
            if f"adam.{i}.exp_avg" in arrays:
                self.opt.state[p] = {
                    "step": torch.tensor(float(arrays[f"adam.{i}.step"])),
                    "exp_avg": torch.as_tensor(arrays[f"adam.{i}.exp_avg"]).to(p),
                    "exp_avg_sq": torch.as_tensor(arrays[f"adam.{i}.exp_avg_sq"]).to(p)}
            else:
                self.opt.state.pop(p, None)


class ClassifierProblem(Problem):
    """Tune the training of a digits classifier; fitness: validation accuracy (maximized)."""

    def __init__(self, settings: ClassifierSettings) -> None:
        self.settings = settings
        self.space = SearchSpace(settings.space, genes=GENES)
        self.device = choose_device(settings.device)
        self.pbt = PBTSettings(settings.interval, settings.exploit_fraction,
                               settings.resample_probability)
        pbt = settings.scheme == "pbt"
        super().__init__(
            genome=Genome("real", len(self.space), 0.0, 1.0),
            objectives=(Objective("accuracy", "maximize"),),
            defaults=({"population_size": 8, "generations": 20, "elitism": 0,
                       "checkpoint_every": 1} if pbt else
                      {"population_size": 8, "generations": 5, "elitism": 1,
                       "mutation_sigma": 0.15}),
            notes=(f"digits classifier (64 > {settings.hidden} > 10) on {self.device}; "
                   + (f"population-based training, measured every {settings.interval} "
                      "examples" if pbt else f"{settings.budget} examples per evaluation"),),
        )

    @property
    def explored(self) -> tuple[str, ...]:
        fixed = self.space.fixed()
        return tuple(g.name for g in self.space.genes if g.name not in fixed)

    def _data(self, dtype: torch.dtype = torch.float32) -> _Data:
        return _Data(self.settings.training_seed, self.device, dtype)

    def new_trainable(self, configs, seeds, dtype: torch.dtype = torch.float32):
        data, s = self._data(dtype), self.settings
        if s.batched:
            return BatchedClassifiers(configs, seeds, data, s.hidden, s.batch_size)
        return OneByOne([ClassifierMember(c, seed, data, s.hidden, s.batch_size)
                         for c, seed in zip(configs, seeds, strict=True)])

    def own_optimizer(self, settings, toolbox=None):
        if self.settings.scheme != "pbt":
            return None
        from evoengine_gan.pbt import PopulationBasedTraining

        return PopulationBasedTraining(self, settings, toolbox=toolbox)

    def evaluate(self, genomes: np.ndarray) -> np.ndarray:
        """``evolve``: each row trained from scratch for ``budget`` examples (the seed a
        function of the genome, so a genome always scores the same)."""
        genomes = np.asarray(genomes, dtype=float)
        configs = [self.space.decode(g) for g in genomes]
        seeds = [_genome_seed(self.settings.training_seed, g) for g in genomes]
        trainable = self.new_trainable(configs, seeds)
        trainable.configure(configs)
        trainable.train(self.settings.budget)
        return np.asarray(trainable.measure(0), dtype=float).reshape(-1, 1)

    def describe(self, genome: np.ndarray, info: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
        """The settings, and (PBT) the accuracy on the test split, which no choice saw."""
        out: dict[str, Any] = {"config": self.space.decode(np.asarray(genome, dtype=float))}
        if info and "test_accuracy" in info:
            out["test_accuracy"] = info["test_accuracy"]
        return out


def _genome_seed(training_seed: int, genome: np.ndarray) -> int:
    digest = hashlib.sha256(np.asarray(genome, dtype=np.float64).tobytes())
    digest.update(str(training_seed).encode())
    return int.from_bytes(digest.digest()[:7], "little")
