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
from evoengine_gan.models import build_networks, initialize, parameter_count


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
    """

    def __init__(self, params: list[torch.Tensor], lr: torch.Tensor, beta1: torch.Tensor,
                 beta2: torch.Tensor, eps: float = 1e-8) -> None:
        self.params, self.eps, self.step_count = params, eps, 0
        self.lr, self.beta1, self.beta2 = lr, beta1, beta2
        self.exp_avg = [torch.zeros_like(p) for p in params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in params]

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor]) -> None:
        self.step_count += 1
        t = self.step_count
        for p, g, m, v in zip(self.params, grads, self.exp_avg, self.exp_avg_sq, strict=True):
            shape = (-1,) + (1,) * (p.ndim - 1)
            b1, b2 = self.beta1.view(shape), self.beta2.view(shape)
            m.mul_(b1).add_((1 - b1) * g)
            v.mul_(b2).add_((1 - b2) * g * g)
            step_size = self.lr.view(shape) / (1 - b1 ** t)
            denom = v.sqrt() / torch.sqrt(1 - b2 ** t) + self.eps
            p.sub_(step_size * m / denom)


def train_population(members: Sequence[Member], setup: TrainSetup) -> list[Trained]:
    """Train members whose networks share one shape as a single batched model."""
    configs = [m.config for m in members]
    cfg = configs[0]
    start = time.perf_counter()
    nets = [_networks(m, setup) for m in members]
    gens = [gen for _, _, gen in nets]
    sizes = [parameter_count(g) + parameter_count(d) for g, d, _ in nets]
    g_params, g_buffers = stack_module_state([g for g, _, _ in nets])
    d_params, d_buffers = stack_module_state([d for _, d, _ in nets])
    g_base = copy.deepcopy(nets[0][0]).to("meta")
    d_base = copy.deepcopy(nets[0][1]).to("meta")
    del nets

    def run_g(params, buffers, z):
        return functional_call(g_base, (params, buffers), (z,))

    def run_d(params, buffers, x):
        return functional_call(d_base, (params, buffers), (x,))

    generate, discriminate = vmap(run_g), vmap(run_d)

    def vec(key):
        return torch.tensor([float(c[key]) for c in configs], dtype=setup.dtype,
                            device=setup.device)

    kind, smoothing, noise = _member_vectors(configs, setup)
    g_list, d_list = list(g_params.values()), list(d_params.values())
    opt_g = BatchedAdam(g_list, vec("lr_g"), vec("beta1"), vec("beta2"))
    opt_d = BatchedAdam(d_list, vec("lr_d"), vec("beta1"), vec("beta2"))
    for _ in range(rounds(cfg, setup.budget)):
        each = [draw_round(gen, cfg, setup) for gen in gens]
        index = torch.stack([d.index for d in each])  # P x d_steps x B
        z_d = torch.stack([d.z_d for d in each])
        u = torch.stack([d.u for d in each])
        z_g = torch.stack([d.z_g for d in each])
        for k in range(cfg["d_steps"]):
            with setup.autocast():
                with torch.no_grad():
                    fake = generate(g_params, g_buffers, z_d[:, k])
                real_logits = discriminate(d_params, d_buffers, setup.train[index[:, k]])
                fake_logits = discriminate(d_params, d_buffers, fake)
                target = real_targets(smoothing, noise, u[:, k])
                loss = discriminator_loss(real_logits, fake_logits, kind, target).sum()
            opt_d.step(torch.autograd.grad(loss, d_list))
        for k in range(cfg["g_steps"]):
            with setup.autocast():
                fake_logits = discriminate(d_params, d_buffers,
                                           generate(g_params, g_buffers, z_g[:, k]))
                loss = generator_loss(fake_logits, kind).sum()
            opt_g.step(torch.autograd.grad(loss, g_list))
    z = torch.stack([torch.randn(setup.samples, cfg["latent"], generator=gen,
                                 device=setup.device, dtype=setup.dtype) for gen in gens])
    with torch.no_grad(), setup.autocast():
        samples = _numpy(generate(g_params, g_buffers, z), setup)
    _synchronize(setup.device)
    seconds = (time.perf_counter() - start) / len(members)  # the group's time, shared evenly
    return [Trained(samples[i], seconds, sizes[i]) for i in range(len(members))]
