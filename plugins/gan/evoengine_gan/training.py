"""Training GANs under a fixed budget: one network at a time, or a population at once.

Budget: every discriminator or generator update on a batch of ``B`` examples costs ``B``. An
evaluation of ``E`` examples runs ``max(1, E // ((d_steps + g_steps) * batch_size))`` rounds of
``d_steps`` discriminator updates then ``g_steps`` generator updates, so extra generator steps
or bigger batches buy fewer rounds.

:func:`train_one` is the plain PyTorch loop (``nn.Module`` and ``torch.optim.Adam``).
:func:`train_population` trains members of one shape together: their parameters are stacked
along a leading member dimension, the forward pass runs through ``torch.func.vmap``, and Adam is
applied to the stacked tensors with each member's own learning rates and betas. Each member
draws its data and noise from its own seeded generator in the same order in both functions, so
the two give the same result (tested at float64).
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.func import functional_call, stack_module_state, vmap

from evoengine_gan.losses import (discriminator_loss, generator_loss, loss_one_hot,
                                  real_targets)
from evoengine_gan.models import build_networks, generator_slope, initialize, parameter_count


@dataclass(frozen=True)
class Member:
    """One configuration to train, with the seed of its weights, data order and noise."""

    config: Mapping[str, Any]
    seed: int


@dataclass(frozen=True)
class TrainSetup:
    """Where and how to train: the data, the budget, the device, the number type."""

    train: torch.Tensor  # N x 1 x H x W on ``device``, in [-1, 1]
    budget: int
    samples: int  # images generated after training, to measure the result
    mixed_precision: bool = False  # bfloat16 autocast, CUDA only

    @property
    def device(self) -> torch.device:
        return self.train.device

    @property
    def dtype(self) -> torch.dtype:
        return self.train.dtype

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train.shape[1:])  # type: ignore[return-value]

    def autocast(self):
        if self.mixed_precision and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()


@dataclass
class Trained:
    """What training leaves: generated samples (``samples x 1 x H x W``), time, size."""

    samples: np.ndarray
    seconds: float
    parameters: int


def rounds(config: Mapping[str, Any], budget: int) -> int:
    """Rounds of updates that ``budget`` examples pay for."""
    per_round = (config["d_steps"] + config["g_steps"]) * config["batch_size"]
    return max(1, budget // per_round)


@dataclass
class Draws:
    """One round's random numbers for one member."""

    index: torch.Tensor  # d_steps x B: rows of the training set
    z_d: torch.Tensor  # d_steps x B x latent
    u: torch.Tensor  # d_steps x B: label noise
    z_g: torch.Tensor  # g_steps x B x latent


def draw_round(gen: torch.Generator, config: Mapping[str, Any], setup: TrainSetup) -> Draws:
    b, latent, dev, dt = config["batch_size"], config["latent"], setup.device, setup.dtype
    d, g = config["d_steps"], config["g_steps"]
    return Draws(torch.randint(len(setup.train), (d, b), generator=gen, device=dev),
                 torch.randn(d, b, latent, generator=gen, device=dev, dtype=dt),
                 torch.rand(d, b, generator=gen, device=dev, dtype=dt),
                 torch.randn(g, b, latent, generator=gen, device=dev, dtype=dt))


def _networks(member: Member, setup: TrainSetup):
    g_net, d_net = build_networks(member.config, setup.image_shape)
    init = torch.Generator().manual_seed(member.seed)
    initialize(g_net, init)
    initialize(d_net, init)
    stream = torch.Generator(device=setup.device).manual_seed(member.seed)
    return (g_net.to(setup.device, setup.dtype), d_net.to(setup.device, setup.dtype), stream)


def _member_vectors(configs: Sequence[Mapping[str, Any]], setup: TrainSetup):
    def vec(key):
        return torch.tensor([float(c[key]) for c in configs], dtype=setup.dtype,
                            device=setup.device)

    kind = loss_one_hot([c["loss"] for c in configs], setup.dtype, setup.device)
    return kind, vec("label_smoothing"), vec("label_noise")


def _numpy(images: torch.Tensor, setup: TrainSetup) -> np.ndarray:
    """float64 stays float64 (the equivalence test); anything else (bfloat16 too) float32."""
    keep = torch.float64 if setup.dtype == torch.float64 else torch.float32
    return images.to(keep).cpu().numpy()


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_one(member: Member, setup: TrainSetup) -> Trained:
    """Train one GAN the plain way and generate ``setup.samples`` images."""
    return train_generator(member, setup)[1]


def train_generator(member: Member, setup: TrainSetup) -> tuple[torch.nn.Module, Trained]:
    """:func:`train_one` that also hands back the trained generator (for ``gan-train``)."""
    cfg = member.config
    start = time.perf_counter()
    g_net, d_net, gen = _networks(member, setup)
    betas = (cfg["beta1"], cfg["beta2"])
    opt_g = torch.optim.Adam(g_net.parameters(), lr=cfg["lr_g"], betas=betas)
    opt_d = torch.optim.Adam(d_net.parameters(), lr=cfg["lr_d"], betas=betas)
    kind, smoothing, noise = _member_vectors([cfg], setup)
    for _ in range(rounds(cfg, setup.budget)):
        draws = draw_round(gen, cfg, setup)
        for k in range(cfg["d_steps"]):
            with setup.autocast():
                with torch.no_grad():
                    fake = g_net(draws.z_d[k])
                real_logits = d_net(setup.train[draws.index[k]])[None]
                fake_logits = d_net(fake)[None]
                target = real_targets(smoothing, noise, draws.u[k][None])
                loss = discriminator_loss(real_logits, fake_logits, kind, target).sum()
            opt_d.zero_grad()
            loss.backward()
            opt_d.step()
        for k in range(cfg["g_steps"]):
            with setup.autocast():
                loss = generator_loss(d_net(g_net(draws.z_g[k]))[None], kind).sum()
            opt_g.zero_grad()
            loss.backward()
            opt_g.step()
    z = torch.randn(setup.samples, cfg["latent"], generator=gen, device=setup.device,
                    dtype=setup.dtype)
    with torch.no_grad(), setup.autocast():
        samples = _numpy(g_net(z), setup)
    _synchronize(setup.device)
    return g_net, Trained(samples, time.perf_counter() - start,
                          parameter_count(g_net) + parameter_count(d_net))


class BatchedAdam:
    """Adam over stacked parameters (member first), each member with its own lr and betas.

    The arithmetic is ``torch.optim.Adam``'s (eps 1e-8, no weight decay), member by member.
    Each member counts its own steps, so ``step(grads, active)`` can leave some members out
    (population-based training: members with fewer updates per round) and a member's moments
    and step count can be copied to another (exploit).
    """

    def __init__(self, params: list[torch.Tensor], lr: torch.Tensor, beta1: torch.Tensor,
                 beta2: torch.Tensor, eps: float = 1e-8) -> None:
        self.params, self.eps = params, eps
        self.lr, self.beta1, self.beta2 = lr, beta1, beta2
        self.steps = torch.zeros(len(lr), dtype=lr.dtype, device=lr.device)
        self.exp_avg = [torch.zeros_like(p) for p in params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in params]

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor], active: torch.Tensor | None = None) -> None:
        """One update of every member, or of the members where ``active`` (bool, P) is set."""
        if active is None:
            self.steps += 1
        else:
            self.steps += active.to(self.steps.dtype)
        # Members in step (evolve; PBT before its first uneven round) raise the betas to one
        # whole number, the arithmetic the equivalence test holds against torch.optim.Adam.
        first = self.steps[0]
        t = int(first) if bool((self.steps == first).all()) else self.steps
        for p, g, m, v in zip(self.params, grads, self.exp_avg, self.exp_avg_sq, strict=True):
            shape = (-1,) + (1,) * (p.ndim - 1)
            b1, b2 = self.beta1.view(shape), self.beta2.view(shape)
            power = t if isinstance(t, int) else t.view(shape)
            new_m = m * b1 + (1 - b1) * g
            new_v = v * b2 + (1 - b2) * g * g
            step_size = self.lr.view(shape) / (1 - b1 ** power)
            denom = new_v.sqrt() / torch.sqrt(1 - b2 ** power) + self.eps
            new_p = p - step_size * new_m / denom
            if active is None:
                m.copy_(new_m), v.copy_(new_v), p.copy_(new_p)
            else:
                keep = active.view(shape)
                m.copy_(torch.where(keep, new_m, m)), v.copy_(torch.where(keep, new_v, v))
                p.copy_(torch.where(keep, new_p, p))

    def copy_member(self, source: int, target: int) -> None:
        """Member ``target`` takes ``source``'s moments and step count (its own lr and betas
        stay: they are the hyperparameters being explored)."""
        with torch.no_grad():
            for m, v in zip(self.exp_avg, self.exp_avg_sq, strict=True):
                m[target], v[target] = m[source], v[source]
            self.steps[target] = self.steps[source]


class GanPopulation:
    """Members whose networks share one shape, held and trained as one batched model.

    The parameters of every member are stacked along a leading member dimension; the forward
    pass runs through ``torch.func.vmap``; :class:`BatchedAdam` updates the stacked tensors
    with each member's learning rates and betas. A member's data and noise come from its own
    seeded generator, so a member trains the same whichever others share the model.

    Members may differ in everything that is not a shape (learning rates, betas, loss,
    activation slope, label smoothing and noise) and, for population-based training, in
    updates per round: a round runs the most ``d_steps`` (``g_steps``) of any member and a
    member sits out the steps beyond its own.
    """

    def __init__(self, members: Sequence[Member], setup: TrainSetup) -> None:
        self.setup = setup
        nets = [_networks(m, setup) for m in members]
        self.generators = [gen for _, _, gen in nets]
        self.sizes = [parameter_count(g) + parameter_count(d) for g, d, _ in nets]
        self.g_params, self.g_buffers = stack_module_state([g for g, _, _ in nets])
        self.d_params, self.d_buffers = stack_module_state([d for _, d, _ in nets])
        g_base = copy.deepcopy(nets[0][0]).to("meta")
        d_base = copy.deepcopy(nets[0][1]).to("meta")
        del nets

        def run_g(params, buffers, z):
            return functional_call(g_base, (params, buffers), (z,))

        def run_d(params, buffers, x):
            return functional_call(d_base, (params, buffers), (x,))

        self._generate, self._discriminate = vmap(run_g), vmap(run_d)
        self.g_list, self.d_list = list(self.g_params.values()), list(self.d_params.values())
        count = len(members)
        zeros = torch.zeros(count, dtype=setup.dtype, device=setup.device)
        self.opt_g = BatchedAdam(self.g_list, zeros.clone(), zeros.clone(), zeros.clone())
        self.opt_d = BatchedAdam(self.d_list, zeros.clone(), zeros.clone(), zeros.clone())
        self.configs: list[Mapping[str, Any]] = []
        self.configure([m.config for m in members])

    def __len__(self) -> int:
        return len(self.generators)

    @property
    def latent(self) -> int:
        return int(self.configs[0]["latent"])

    def configure(self, configs: Sequence[Mapping[str, Any]]) -> None:
        """Set every member's hyperparameters (their shapes must not change)."""
        setup = self.setup

        def vec(key):
            return torch.tensor([float(c[key]) for c in configs], dtype=setup.dtype,
                                device=setup.device)

        self.configs = [dict(c) for c in configs]
        self.kind, self.smoothing, self.noise = _member_vectors(configs, setup)
        for opt, lr in ((self.opt_g, "lr_g"), (self.opt_d, "lr_d")):
            opt.lr.copy_(vec(lr)), opt.beta1.copy_(vec("beta1")), opt.beta2.copy_(vec("beta2"))
        # Made as models.Activation makes its buffer (float32 first), so equal to the slope a
        # network built alone holds.
        slopes = torch.tensor([generator_slope(c) for c in configs]).to(setup.device, setup.dtype)
        for name, buffer in self.g_buffers.items():
            if name.endswith("slope"):
                buffer.copy_(slopes)

    def reseed(self, seeds: Sequence[int]) -> None:
        """Start every member's data and noise stream again from ``seeds``."""
        self.generators = [torch.Generator(device=self.setup.device).manual_seed(int(s))
                           for s in seeds]

    def train(self, member_rounds: Sequence[int]) -> None:
        """Member ``i`` runs ``member_rounds[i]`` rounds of its ``d_steps`` discriminator then
        ``g_steps`` generator updates; all members step together. A step that some members sit
        out (their rounds are done, or they take fewer updates per round) is computed for the
        others only: their stacked weights are gathered, and the gradients scattered back."""
        setup, configs = self.setup, self.configs
        d_steps = [int(c["d_steps"]) for c in configs]
        g_steps = [int(c["g_steps"]) for c in configs]
        d_max, g_max = max(d_steps), max(g_steps)
        for r in range(max(member_rounds)):
            taking = [r < n for n in member_rounds]
            each = [draw_round(gen, cfg, setup) if on else None
                    for gen, cfg, on in zip(self.generators, configs, taking, strict=True)]
            index = _stack_padded([d and d.index for d in each], (d_max, configs[0]["batch_size"]),
                                  torch.long, setup)
            z_d = _stack_padded([d and d.z_d for d in each],
                                (d_max, configs[0]["batch_size"], self.latent), setup.dtype, setup)
            u = _stack_padded([d and d.u for d in each], (d_max, configs[0]["batch_size"]),
                              setup.dtype, setup)
            z_g = _stack_padded([d and d.z_g for d in each],
                                (g_max, configs[0]["batch_size"], self.latent), setup.dtype, setup)
            for k in range(d_max):
                rows = self._rows([on and k < n for on, n in zip(taking, d_steps, strict=True)])
                if rows is not False:
                    self._d_update(rows, index[:, k], z_d[:, k], u[:, k])
            for k in range(g_max):
                rows = self._rows([on and k < n for on, n in zip(taking, g_steps, strict=True)])
                if rows is not False:
                    self._g_update(rows, z_g[:, k])

    def _rows(self, active: list[bool]):
        """The members that update in a step: None (all), False (none), or their indices."""
        if all(active):
            return None
        if not any(active):
            return False
        return torch.tensor([i for i, on in enumerate(active) if on], device=self.setup.device)

    @staticmethod
    def _take(table: dict, rows, *, grad: bool = False) -> dict:
        """The stacked tensors of ``rows`` only (a copy; a leaf that takes gradients if
        ``grad``), so members sitting out a step cost nothing in it."""
        if rows is None:
            return table
        return {k: (v[rows].detach().requires_grad_() if grad else v[rows].detach())
                for k, v in table.items()}

    def _step(self, opt: BatchedAdam, grads, rows) -> None:
        if rows is None:
            opt.step(grads)
            return
        full = [torch.zeros_like(p).index_copy_(0, rows, g)
                for p, g in zip(opt.params, grads, strict=True)]
        active = torch.zeros(len(self), dtype=torch.bool, device=self.setup.device)
        active[rows] = True
        opt.step(full, active)

    def _d_update(self, rows, index, z, u) -> None:
        """One discriminator update of the members ``rows`` (None: every member)."""
        setup = self.setup

        def pick(t):
            return t if rows is None else t[rows]

        d_params = self._take(self.d_params, rows, grad=True)
        d_buffers = self._take(self.d_buffers, rows)
        with setup.autocast():
            with torch.no_grad():
                fake = self._generate(self._take(self.g_params, rows),
                                      self._take(self.g_buffers, rows), pick(z))
            real_logits = self._discriminate(d_params, d_buffers, setup.train[pick(index)])
            fake_logits = self._discriminate(d_params, d_buffers, fake)
            target = real_targets(pick(self.smoothing), pick(self.noise), pick(u))
            loss = discriminator_loss(real_logits, fake_logits, pick(self.kind), target).sum()
        self._step(self.opt_d, torch.autograd.grad(loss, list(d_params.values())), rows)

    def _g_update(self, rows, z) -> None:
        """One generator update of the members ``rows`` (None: every member)."""
        setup = self.setup
        g_params = self._take(self.g_params, rows, grad=True)
        kind = self.kind if rows is None else self.kind[rows]
        with setup.autocast():
            fake_logits = self._discriminate(
                self._take(self.d_params, rows), self._take(self.d_buffers, rows),
                self._generate(g_params, self._take(self.g_buffers, rows),
                               z if rows is None else z[rows]))
            loss = generator_loss(fake_logits, kind).sum()
        self._step(self.opt_g, torch.autograd.grad(loss, list(g_params.values())), rows)

    def sample(self, count: int, generators: Sequence[torch.Generator] | None = None
               ) -> np.ndarray:
        """``count`` images of every member (``P x count x 1 x H x W``), the noise drawn from
        each member's own generator (or from ``generators``)."""
        setup = self.setup
        z = torch.stack([torch.randn(count, self.latent, generator=gen, device=setup.device,
                                     dtype=setup.dtype)
                         for gen in (generators or self.generators)])
        with torch.no_grad(), setup.autocast():
            images = _numpy(self._generate(self.g_params, self.g_buffers, z), setup)
        _synchronize(setup.device)
        return images

    def copy_member(self, source: int, target: int) -> None:
        """Member ``target`` becomes a copy of ``source``: weights, buffers and Adam state
        (exploit). Its hyperparameters are set apart, by :meth:`configure`."""
        with torch.no_grad():
            for table in (self.g_params, self.g_buffers, self.d_params, self.d_buffers):
                for tensor in table.values():
                    tensor[target] = tensor[source]
        self.opt_g.copy_member(source, target)
        self.opt_d.copy_member(source, target)

    def state(self) -> dict[str, np.ndarray]:
        """Every member's weights, buffers and Adam state as named arrays (a checkpoint)."""
        out: dict[str, np.ndarray] = {}
        for prefix, table in (("g.param.", self.g_params), ("g.buffer.", self.g_buffers),
                              ("d.param.", self.d_params), ("d.buffer.", self.d_buffers)):
            out.update({prefix + k: _array(v) for k, v in table.items()})
        for prefix, opt, names in (("g.", self.opt_g, self.g_params),
                                   ("d.", self.opt_d, self.d_params)):
            out[prefix + "adam.steps"] = _array(opt.steps)
            for name, m, v in zip(names, opt.exp_avg, opt.exp_avg_sq, strict=True):
                out[f"{prefix}adam.exp_avg.{name}"] = _array(m)
                out[f"{prefix}adam.exp_avg_sq.{name}"] = _array(v)
        return out

    def load_state(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Put back what :meth:`state` returned (for a population of the same shapes)."""
        mine = self.state()
        missing = sorted(set(mine) - set(arrays))
        if missing:
            raise ValueError(f"the saved population lacks {missing[0]}")
        targets = {}
        for prefix, table in (("g.param.", self.g_params), ("g.buffer.", self.g_buffers),
                              ("d.param.", self.d_params), ("d.buffer.", self.d_buffers)):
            targets.update({prefix + k: v for k, v in table.items()})
        for prefix, opt, names in (("g.", self.opt_g, self.g_params),
                                   ("d.", self.opt_d, self.d_params)):
            targets[prefix + "adam.steps"] = opt.steps
            for name, m, v in zip(names, opt.exp_avg, opt.exp_avg_sq, strict=True):
                targets[f"{prefix}adam.exp_avg.{name}"] = m
                targets[f"{prefix}adam.exp_avg_sq.{name}"] = v
        with torch.no_grad():
            for key, tensor in targets.items():
                value = np.asarray(arrays[key])
                if value.shape != tuple(tensor.shape):
                    raise ValueError(f"the saved {key} has shape {value.shape}, this population "
                                     f"{tuple(tensor.shape)}")
                tensor.copy_(torch.as_tensor(value, device=tensor.device, dtype=tensor.dtype))

    def generator_of(self, member: int) -> torch.nn.Module:
        """Member ``member``'s generator as a plain ``nn.Module`` (on the CPU, float32), the
        network ``gan-train`` saves."""
        g_net, _ = build_networks(self.configs[member], self.setup.image_shape)
        state = {k: v[member].detach().to("cpu", torch.float32)
                 for table in (self.g_params, self.g_buffers) for k, v in table.items()}
        g_net.load_state_dict(state)
        return g_net


def _stack_padded(parts: Sequence[torch.Tensor | None], shape: tuple[int, ...],
                  dtype: torch.dtype, setup: TrainSetup) -> torch.Tensor:
    """Members' draws stacked, each padded with zeros to ``shape`` (steps a member sits out)."""
    out = torch.zeros((len(parts), *shape), dtype=dtype, device=setup.device)
    for i, part in enumerate(parts):
        if part is not None:
            out[i, :part.shape[0]] = part
    return out


def _array(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().copy()


def train_population(members: Sequence[Member], setup: TrainSetup) -> list[Trained]:
    """Train members whose networks share one shape as a single batched model."""
    start = time.perf_counter()
    population = GanPopulation(members, setup)
    cfg = members[0].config
    population.train([rounds(cfg, setup.budget)] * len(members))
    samples = population.sample(setup.samples)
    seconds = (time.perf_counter() - start) / len(members)  # the group's time, shared evenly
    return [Trained(samples[i], seconds, population.sizes[i]) for i in range(len(members))]
