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
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.func import functional_call, stack_module_state, vmap

from evoengine_gan.losses import (discriminator_loss, generator_loss, kinds_used,
                                  loss_one_hot, real_targets)
from evoengine_gan.models import (Activation, build_networks, generator_slope, initialize,
                                  parameter_count, stacked_mlp)


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
    start = time.perf_counter()
    gan = PlainGan(member, setup)
    gan.train(rounds(member.config, setup.budget))
    samples = gan.sample(setup.samples)
    _synchronize(setup.device)
    return gan.g_net, Trained(samples, time.perf_counter() - start,
                              parameter_count(gan.g_net) + parameter_count(gan.d_net))


class PlainGan:
    """One GAN trained the plain PyTorch way (``nn.Module`` networks, ``torch.optim.Adam``):
    the reference the batched population is tested against, the trainer of ``gan-train``,
    and each trial of Ray Tune's side of the PBT benchmark.

    Its data and noise come from ``stream``, seeded with the member's seed (as its first
    weights are); :meth:`reseed` starts it again from another seed, as PBT does each interval.
    """

    def __init__(self, member: Member, setup: TrainSetup) -> None:
        self.setup = setup
        self.g_net, self.d_net, self.stream = _networks(member, setup)
        cfg = self.config = dict(member.config)
        betas = (cfg["beta1"], cfg["beta2"])
        self.opt_g = torch.optim.Adam(self.g_net.parameters(), lr=cfg["lr_g"], betas=betas)
        self.opt_d = torch.optim.Adam(self.d_net.parameters(), lr=cfg["lr_d"], betas=betas)
        self.configure(cfg)

    def configure(self, config: Mapping[str, Any]) -> None:
        """New hyperparameters (the networks' shapes must not change): learning rates and
        betas go into Adam's parameter groups, the moments stay."""
        self.config = cfg = dict(config)
        for opt, key in ((self.opt_g, "lr_g"), (self.opt_d, "lr_d")):
            for group in opt.param_groups:
                group.update(lr=cfg[key], betas=(cfg["beta1"], cfg["beta2"]))
        self.kind, self.smoothing, self.noise = _member_vectors([cfg], self.setup)
        self.used = kinds_used(self.kind)
        for module in self.g_net.modules():
            if isinstance(module, Activation):
                module.set_slope(generator_slope(cfg))

    def reseed(self, seed: int) -> None:
        self.stream = torch.Generator(device=self.setup.device).manual_seed(int(seed))

    def train(self, count: int) -> None:
        """``count`` rounds of ``d_steps`` discriminator then ``g_steps`` generator updates."""
        setup, cfg, g_net, d_net = self.setup, self.config, self.g_net, self.d_net
        for _ in range(count):
            draws = draw_round(self.stream, cfg, setup)
            for k in range(cfg["d_steps"]):
                with setup.autocast():
                    with torch.no_grad():
                        fake = g_net(draws.z_d[k])
                    real_logits = d_net(setup.train[draws.index[k]])[None]
                    fake_logits = d_net(fake)[None]
                    target = real_targets(self.smoothing, self.noise, draws.u[k][None])
                    loss = discriminator_loss(real_logits, fake_logits, self.kind, target,
                                              self.used).sum()
                self.opt_d.zero_grad()
                loss.backward()
                self.opt_d.step()
            for k in range(cfg["g_steps"]):
                with setup.autocast():
                    loss = generator_loss(d_net(g_net(draws.z_g[k]))[None], self.kind,
                                          self.used).sum()
                self.opt_g.zero_grad()
                loss.backward()
                self.opt_g.step()

    def sample(self, count: int, stream: torch.Generator | None = None) -> np.ndarray:
        """``count`` images, the noise drawn from ``stream`` (default: the training stream)."""
        setup = self.setup
        z = torch.randn(count, self.config["latent"], generator=stream or self.stream,
                        device=setup.device, dtype=setup.dtype)
        with torch.no_grad(), setup.autocast():
            return _numpy(self.g_net(z), setup)


class BatchedAdam:
    """Adam over stacked parameters (member first), each member with its own lr and betas.

    The arithmetic is ``torch.optim.Adam``'s (eps 1e-8, no weight decay), member by member.
    Each member counts its own steps, so ``step(grads, rows)`` can leave some members out
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
        self._numbers = self._as_numbers()
        # On the CPU one fused Adam kernel per member (PyTorch's own, the arithmetic of
        # torch.optim.Adam) costs a fifth of the dozen whole-population operations; elsewhere
        # (CUDA, where each member would be a kernel launch) the population form stays.
        self.fused = hasattr(torch, "_fused_adam_") and all(
            p.device.type == "cpu" and p.is_contiguous() for p in params)

    def set_hyperparameters(self, lr: Sequence[float], beta1: Sequence[float],
                            beta2: Sequence[float]) -> None:
        """Each member's learning rate and betas (its moments and step count stay)."""
        for target, values in ((self.lr, lr), (self.beta1, beta1), (self.beta2, beta2)):
            target.copy_(torch.tensor([float(x) for x in values], dtype=target.dtype))
        self._numbers = self._as_numbers()

    def _as_numbers(self) -> list[tuple[float, float, float]]:
        """(lr, beta1, beta2) of each member as Python numbers, as the tensors hold them."""
        return list(zip(self.lr.tolist(), self.beta1.tolist(), self.beta2.tolist(), strict=True))

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor], rows: torch.Tensor | None = None) -> None:
        """One update of every member, or of the members ``rows`` (indices; ``grads`` then
        hold those members' rows only)."""
        if rows is None:
            self.steps += 1
        else:
            self.steps[rows] += 1
        if self.fused:
            members = range(len(self.steps)) if rows is None else rows.tolist()
            # The fused kernel reads memory in order: a gradient laid out otherwise (einsum's
            # backward can give one) is copied first. Members' rows of the parameters and
            # moments are contiguous (member first).
            grads = [g.contiguous() for g in grads]
            for j, i in enumerate(members):
                lr, beta1, beta2 = self._numbers[i]
                torch._fused_adam_(
                    [p[i] for p in self.params], [g[j] for g in grads],
                    [m[i] for m in self.exp_avg], [v[i] for v in self.exp_avg_sq], [],
                    [self.steps[i]] * len(self.params), lr=lr, beta1=beta1, beta2=beta2,
                    weight_decay=0.0, eps=self.eps, amsgrad=False, maximize=False)
            return
        steps, lr, beta1, beta2 = ((self.steps, self.lr, self.beta1, self.beta2) if rows is None
                                   else (self.steps[rows], self.lr[rows], self.beta1[rows],
                                         self.beta2[rows]))
        # Members in step (evolve; PBT before its first uneven round) raise the betas to one
        # whole number, the arithmetic the equivalence test holds against torch.optim.Adam.
        first = steps[0]
        t = int(first) if bool((steps == first).all()) else steps
        for p, g, m, v in zip(self.params, grads, self.exp_avg, self.exp_avg_sq, strict=True):
            shape = (-1,) + (1,) * (p.ndim - 1)
            b1, b2 = beta1.view(shape), beta2.view(shape)
            power = t if isinstance(t, int) else t.view(shape)
            step_size = lr.view(shape) / (1 - b1 ** power)
            root = torch.sqrt(1 - b2 ** power)
            # A subset works on copies of its rows, written back after (no masked update
            # over every member). In place, as torch.optim.Adam's single-tensor loop.
            rp, rm, rv = (p, m, v) if rows is None else (p[rows], m[rows], v[rows])
            rm.lerp_(g, 1 - b1)
            rv.mul_(b2).addcmul_(g, g * (1 - b2))
            rp.sub_(step_size * rm / (rv.sqrt().div_(root).add_(self.eps)))
            if rows is not None:
                p.index_copy_(0, rows, rp), m.index_copy_(0, rows, rm), v.index_copy_(0, rows, rv)

    def copy_member(self, source: int, target: int) -> None:
        """Member ``target`` takes ``source``'s moments and step count (its own lr and betas
        stay: they are the hyperparameters being explored)."""
        with torch.no_grad():
            for m, v in zip(self.exp_avg, self.exp_avg_sq, strict=True):
                m[target], v[target] = m[source], v[source]
            self.steps[target] = self.steps[source]


class StackedParameters:
    """One network's parameters for every member in a single ``P x N`` tensor (a member's
    parameters flattened and laid end to end), and the named views a forward pass takes.

    One tensor makes Adam's update a dozen operations for the whole network instead of a
    dozen per weight tensor, and a member's copy (exploit) or a subset of members (a step
    some sit out) one indexing operation."""

    def __init__(self, params: Mapping[str, torch.Tensor]) -> None:
        self.names = list(params)
        self.shapes = [tuple(p.shape[1:]) for p in params.values()]
        self.sizes = [math.prod(s) for s in self.shapes]
        count = len(next(iter(params.values())))
        with torch.no_grad():
            self.flat = torch.cat([p.detach().reshape(count, -1) for p in params.values()], 1)

    def views(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """``flat`` (``P' x N``, the whole tensor or some members' rows) as named tensors."""
        parts = torch.split(flat, self.sizes, dim=1)
        return {name: part.view(len(flat), *shape)
                for name, part, shape in zip(self.names, parts, self.shapes, strict=True)}

    def arrays(self, flat: torch.Tensor) -> dict[str, np.ndarray]:
        return {name: _array(v) for name, v in self.views(flat).items()}


class GanPopulation:
    """Members whose networks share one shape, held and trained as one batched model.

    The parameters of every member are stacked along a leading member dimension (one
    :class:`StackedParameters` tensor per network); the forward pass runs as batched matrix
    products (MLPs, :func:`~evoengine_gan.models.stacked_mlp`) or through ``torch.func.vmap``;
    :class:`BatchedAdam` updates the stacked tensor with each member's learning rates and
    betas. A member's data and noise come from its own seeded generator, so a member trains
    the same whichever others share the model.

    Members may differ in everything that is not a shape (learning rates, betas, loss,
    activation slope, label smoothing and noise) and, for population-based training, in
    updates per round (see :meth:`train`).
    """

    def __init__(self, members: Sequence[Member], setup: TrainSetup) -> None:
        self.setup = setup
        nets = [_networks(m, setup) for m in members]
        self.generators = [gen for _, _, gen in nets]
        self.sizes = [parameter_count(g) + parameter_count(d) for g, d, _ in nets]
        g_params, self.g_buffers = stack_module_state([g for g, _, _ in nets])
        d_params, self.d_buffers = stack_module_state([d for _, d, _ in nets])
        self.g_stack, self.d_stack = StackedParameters(g_params), StackedParameters(d_params)
        g_base = copy.deepcopy(nets[0][0]).to("meta")
        d_base = copy.deepcopy(nets[0][1]).to("meta")
        for module in g_base.modules():
            if isinstance(module, Activation):
                module.fixed = None  # each member's slope comes from its buffer
        del nets, g_params, d_params

        def run_g(params, buffers, z):
            return functional_call(g_base, (params, buffers), (z,))

        def run_d(params, buffers, x):
            return functional_call(d_base, (params, buffers), (x,))

        # MLPs run as batched matrix products; other networks through vmap.
        self._stacked_g = stacked_mlp(g_base)
        self._vmap_g = None if self._stacked_g else vmap(run_g)
        self._discriminate = stacked_mlp(d_base) or vmap(run_d)
        self._slope: float | None = None  # the generators' slope when every member has it
        count = len(members)
        zeros = torch.zeros(count, dtype=setup.dtype, device=setup.device)
        self.opt_g = BatchedAdam([self.g_stack.flat], zeros.clone(), zeros.clone(),
                                 zeros.clone())
        self.opt_d = BatchedAdam([self.d_stack.flat], zeros.clone(), zeros.clone(),
                                 zeros.clone())
        self.configs: list[Mapping[str, Any]] = []
        self.configure([m.config for m in members])

    def __len__(self) -> int:
        return len(self.generators)

    @property
    def latent(self) -> int:
        return int(self.configs[0]["latent"])

    @property
    def g_params(self) -> dict[str, torch.Tensor]:
        """Every member's generator parameters by name (views of the stacked tensor)."""
        return self.g_stack.views(self.g_stack.flat)

    @property
    def d_params(self) -> dict[str, torch.Tensor]:
        return self.d_stack.views(self.d_stack.flat)

    def configure(self, configs: Sequence[Mapping[str, Any]]) -> None:
        """Set every member's hyperparameters (their shapes must not change)."""
        setup = self.setup
        self.configs = [dict(c) for c in configs]
        self.kind, self.smoothing, self.noise = _member_vectors(configs, setup)
        self.used = kinds_used(self.kind)  # the losses some member trains with
        for opt, lr in ((self.opt_g, "lr_g"), (self.opt_d, "lr_d")):
            opt.set_hyperparameters(*([c[key] for c in configs]
                                      for key in (lr, "beta1", "beta2")))
        # Made as models.Activation makes its buffer (float32 first), so equal to the slope a
        # network built alone holds.
        slopes = torch.tensor([generator_slope(c) for c in configs])
        self._slope = float(slopes[0]) if bool((slopes == slopes[0]).all()) else None
        slopes = slopes.to(setup.device, setup.dtype)
        for name, buffer in self.g_buffers.items():
            if name.endswith("slope"):
                buffer.copy_(slopes)

    def _generate(self, params: dict, buffers: dict, z: torch.Tensor) -> torch.Tensor:
        if self._stacked_g is None:
            return self._vmap_g(params, buffers, z)
        return self._stacked_g(params, buffers, z, self._slope)

    def reseed(self, seeds: Sequence[int]) -> None:
        """Start every member's data and noise stream again from ``seeds``."""
        self.generators = [torch.Generator(device=self.setup.device).manual_seed(int(s))
                           for s in seeds]

    def train(self, member_rounds: Sequence[int]) -> None:
        """Member ``i`` runs ``member_rounds[i]`` rounds of its ``d_steps`` discriminator then
        ``g_steps`` generator updates, in that order, on the draws of its own stream.

        Members that differ in updates per round need not wait for each other: each batched
        step is a discriminator or a generator step of every member whose next update is of
        that kind (the kind most of the remaining updates are waiting for first, a greedy
        shortest common supersequence of the members' update sequences). A member's updates
        touch only its own rows, so the interleaving changes no member's arithmetic; it only
        takes fewer steps than running every round in lock-step (members of 1-1, 2-1, 1-2 and
        2-2 D-G updates, about 30 updates each: 40 steps, against 50 in lock-step rounds).
        A step that some members sit out is computed for the others only."""
        setup, configs, count = self.setup, self.configs, len(self)
        steps = [(int(c["d_steps"]), int(c["g_steps"])) for c in configs]
        rounds_left = list(member_rounds)
        draws: list[Draws | None] = [None] * count
        done = [(0, 0)] * count  # (D, G) updates of the current round
        remaining = [n * (d + g) for n, (d, g) in zip(rounds_left, steps, strict=True)]

        def next_kind(i: int) -> str | None:
            (d, g), (dd, gd) = steps[i], done[i]
            if draws[i] is None or (dd == d and gd == g):
                if rounds_left[i] == 0:
                    return None
                rounds_left[i] -= 1
                draws[i], done[i] = draw_round(self.generators[i], configs[i], setup), (0, 0)
                dd = gd = 0
            return "d" if dd < d else "g"

        while True:
            kinds = [next_kind(i) for i in range(count)]
            weight = {k: sum(r for r, kk in zip(remaining, kinds, strict=True) if kk == k)
                      for k in ("d", "g")}
            if not weight["d"] and not weight["g"]:
                return
            kind = "d" if weight["d"] >= weight["g"] else "g"
            members = [i for i in range(count) if kinds[i] == kind]
            rows = None if len(members) == count else torch.tensor(members,
                                                                   device=setup.device)
            if kind == "d":
                now = [(draws[i], done[i][0]) for i in members]
                self._d_update(rows, torch.stack([dr.index[k] for dr, k in now]),
                               torch.stack([dr.z_d[k] for dr, k in now]),
                               torch.stack([dr.u[k] for dr, k in now]))
            else:
                self._g_update(rows, torch.stack([draws[i].z_g[done[i][1]] for i in members]))
            for i in members:
                dd, gd = done[i]
                done[i] = (dd + 1, gd) if kind == "d" else (dd, gd + 1)
                remaining[i] -= 1

    @staticmethod
    def _take(table: dict, rows) -> dict:
        """The buffers of ``rows`` only (None: every member)."""
        return table if rows is None else {k: v[rows] for k, v in table.items()}

    @staticmethod
    def _leaf(stack: StackedParameters, rows) -> torch.Tensor:
        """The stacked parameters of ``rows``, a leaf that takes gradients (one ``P' x N``
        gradient comes back, the shape Adam works on)."""
        flat = stack.flat if rows is None else stack.flat[rows]
        return flat.detach().requires_grad_()

    def _d_update(self, rows, index, z, u) -> None:
        """One discriminator update of the members ``rows`` (None: every member); ``index``,
        ``z`` and ``u`` are those members' draws."""
        setup = self.setup

        def pick(t):
            return t if rows is None else t[rows]

        leaf = self._leaf(self.d_stack, rows)
        d_params, d_buffers = self.d_stack.views(leaf), self._take(self.d_buffers, rows)
        with setup.autocast():
            with torch.no_grad():
                fake = self._generate(self.g_stack.views(pick(self.g_stack.flat)),
                                      self._take(self.g_buffers, rows), z)
            real_logits = self._discriminate(d_params, d_buffers, setup.train[index])
            fake_logits = self._discriminate(d_params, d_buffers, fake)
            target = real_targets(pick(self.smoothing), pick(self.noise), u)
            loss = discriminator_loss(real_logits, fake_logits, pick(self.kind), target,
                                      self.used).sum()
        (grad,) = torch.autograd.grad(loss, [leaf])
        self.opt_d.step([grad], rows)

    def _g_update(self, rows, z) -> None:
        """One generator update of the members ``rows`` (None: every member) on their noise
        ``z``."""
        setup = self.setup

        def pick(t):
            return t if rows is None else t[rows]

        leaf = self._leaf(self.g_stack, rows)
        with setup.autocast():
            fake_logits = self._discriminate(
                self.d_stack.views(pick(self.d_stack.flat)), self._take(self.d_buffers, rows),
                self._generate(self.g_stack.views(leaf), self._take(self.g_buffers, rows), z))
            loss = generator_loss(fake_logits, pick(self.kind), self.used).sum()
        (grad,) = torch.autograd.grad(loss, [leaf])
        self.opt_g.step([grad], rows)

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
            for stack in (self.g_stack, self.d_stack):
                stack.flat[target] = stack.flat[source]
            for table in (self.g_buffers, self.d_buffers):
                for tensor in table.values():
                    tensor[target] = tensor[source]
        self.opt_g.copy_member(source, target)
        self.opt_d.copy_member(source, target)

    def _named(self) -> list[tuple[str, StackedParameters, BatchedAdam, dict]]:
        return [("g.", self.g_stack, self.opt_g, self.g_buffers),
                ("d.", self.d_stack, self.opt_d, self.d_buffers)]

    def state(self) -> dict[str, np.ndarray]:
        """Every member's weights, buffers and Adam state as named arrays (a checkpoint), one
        array per weight tensor."""
        out: dict[str, np.ndarray] = {}
        for prefix, stack, opt, buffers in self._named():
            out.update({f"{prefix}param.{k}": v for k, v in stack.arrays(stack.flat).items()})
            out.update({f"{prefix}buffer.{k}": _array(v) for k, v in buffers.items()})
        for prefix, stack, opt, _ in self._named():
            out[prefix + "adam.steps"] = _array(opt.steps)
            for kind, moments in (("exp_avg", opt.exp_avg[0]), ("exp_avg_sq", opt.exp_avg_sq[0])):
                out.update({f"{prefix}adam.{kind}.{k}": v
                            for k, v in stack.arrays(moments).items()})
        return out

    def load_state(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Put back what :meth:`state` returned (for a population of the same shapes)."""
        mine = self.state()
        missing = sorted(set(mine) - set(arrays))
        if missing:
            raise ValueError(f"the saved population lacks {missing[0]}")
        targets = {}
        for prefix, stack, opt, buffers in self._named():
            targets.update({f"{prefix}param.{k}": v for k, v in stack.views(stack.flat).items()})
            targets.update({f"{prefix}buffer.{k}": v for k, v in buffers.items()})
            targets[prefix + "adam.steps"] = opt.steps
            for kind, moments in (("exp_avg", opt.exp_avg[0]), ("exp_avg_sq", opt.exp_avg_sq[0])):
                targets.update({f"{prefix}adam.{kind}.{k}": v
                                for k, v in stack.views(moments).items()})
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
