"""The two families of networks: a dense MLP GAN and a DCGAN-style convolutional GAN.

A network's structure depends only on its *shape* genes (sizes, depth, batch norm); everything a
member of a population may hold on its own (the generator's activation slope) is a buffer, so
networks of one shape can be stacked and trained together (see :mod:`evoengine_gan.training`).
Batch norm keeps no running statistics: it always normalizes with the batch at hand, in
training and in sampling alike, so a batched and a one-by-one network compute the same thing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

LEAKY_SLOPE = 0.2  # LeakyReLU slope of every discriminator (DCGAN's choice)


class Activation(nn.Module):
    """``max(x, slope * x)``: ReLU at slope 0, LeakyReLU otherwise; the slope is a buffer (so
    a batched population holds one per member) and, for a network run on its own, a number
    too (:meth:`set_slope`), which takes PyTorch's ReLU and LeakyReLU kernels."""

    def __init__(self, slope: float) -> None:
        super().__init__()
        self.register_buffer("slope", torch.tensor(float(slope)))
        # The number the buffer holds (float32 first, as a batched population's buffers);
        # None when the module only describes the networks a population runs.
        self.fixed: float | None = float(self.slope)

    def set_slope(self, slope: float) -> None:
        value = torch.tensor(float(slope))
        with torch.no_grad():
            self.slope.copy_(value)
        self.fixed = float(value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fixed is None:  # run with another member's buffers (functional_call)
            return leaky(x, self.slope)
        return leaky(x, self.fixed)


def leaky(x: torch.Tensor, slope: float | torch.Tensor) -> torch.Tensor:
    """``max(x, slope * x)`` for ``0 <= slope < 1``: a number takes ReLU/LeakyReLU (about 10x
    faster than ``torch.maximum`` forward and backward at these sizes); a tensor (one slope per
    member, broadcast against ``x``) multiplies by 1 or the slope."""
    if isinstance(slope, torch.Tensor):
        return x * torch.where(x > 0, torch.ones((), dtype=x.dtype, device=x.device), slope)
    if slope == 0:
        return torch.relu(x)
    return nn.functional.leaky_relu(x, slope)


def _norm(kind: str, size: int, on: bool) -> nn.Module:
    if not on:
        return nn.Identity()
    if kind == "1d":
        return nn.BatchNorm1d(size, track_running_stats=False)
    return nn.BatchNorm2d(size, track_running_stats=False)


def generator_slope(config: Mapping[str, Any]) -> float:
    return 0.0 if config["g_activation"] == "relu" else LEAKY_SLOPE


class MLPGenerator(nn.Module):
    """z > (Linear > [BN] > act) x depth > Linear > tanh, reshaped to ``1 x H x W``."""

    def __init__(self, latent: int, width: int, depth: int, batch_norm: bool,
                 image_shape: tuple[int, int, int], slope: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        size = latent
        for _ in range(depth):
            layers += [nn.Linear(size, width), _norm("1d", width, batch_norm), Activation(slope)]
            size = width
        layers += [nn.Linear(size, math.prod(image_shape)), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.image_shape = image_shape

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).reshape(z.shape[0], *self.image_shape)


class MLPDiscriminator(nn.Module):
    """image > flatten > (Linear > [BN, not on the first] > LeakyReLU) x depth > Linear."""

    def __init__(self, width: int, depth: int, batch_norm: bool,
                 image_shape: tuple[int, int, int]) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        size = math.prod(image_shape)
        for i in range(depth):
            layers += [nn.Linear(size, width), _norm("1d", width, batch_norm and i > 0),
                       nn.LeakyReLU(LEAKY_SLOPE)]
            size = width
        layers.append(nn.Linear(size, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).reshape(x.shape[0])


def stacked_mlp(module: nn.Module):
    """For an :class:`MLPGenerator` or :class:`MLPDiscriminator`, the function that runs a
    stack of them (parameters and buffers with a leading member dimension, input
    ``P x B x ...``) with batched matrix products; None for other networks.

    It computes what ``vmap(functional_call(module, ...))`` computes (tested at float64),
    without vmap's and functional_call's per-call bookkeeping, which costs more than the
    arithmetic for networks this small.
    """
    if not isinstance(module, (MLPGenerator, MLPDiscriminator)):
        return None
    layers = list(module.net.named_children())
    out_shape = module.image_shape if isinstance(module, MLPGenerator) else ()

    def forward(params: dict, buffers: dict, x: torch.Tensor,
                slope: float | None = None) -> torch.Tensor:
        """``slope``: the generator's activation slope when every member in the call has it
        (the faster path); None reads each member's from ``buffers``."""
        h = x.flatten(2)
        for name, layer in layers:
            key = f"net.{name}."
            if isinstance(layer, nn.Linear):
                h = torch.baddbmm(params[key + "bias"].unsqueeze(1), h,
                                  params[key + "weight"].transpose(1, 2))
            elif isinstance(layer, nn.BatchNorm1d):  # batch statistics, as in training mode
                # Two passes over the centred values: Tensor.var over a middle dimension
                # costs 8x this at these sizes.
                centred = h - h.mean(1, keepdim=True)
                var = centred.square().mean(1, keepdim=True)
                h = torch.addcmul(params[key + "bias"].unsqueeze(1),
                                  centred * torch.rsqrt(var + layer.eps),
                                  params[key + "weight"].unsqueeze(1))
            elif isinstance(layer, Activation):
                h = leaky(h, buffers[key + "slope"].view(-1, 1, 1) if slope is None else slope)
            elif isinstance(layer, nn.LeakyReLU):
                h = nn.functional.leaky_relu(h, layer.negative_slope)
            elif isinstance(layer, nn.Tanh):
                h = torch.tanh(h)
            elif not isinstance(layer, (nn.Flatten, nn.Identity)):
                raise TypeError(f"stacked_mlp: no batched form for {type(layer).__name__}")
        return h.reshape(*x.shape[:2], *out_shape)

    return forward


class ConvGenerator(nn.Module):
    """z > Linear > [BN] > act > deconv > [BN] > act > deconv > tanh (H and W divisible by 4)."""

    def __init__(self, latent: int, width: int, batch_norm: bool,
                 image_shape: tuple[int, int, int], slope: float) -> None:
        super().__init__()
        channels, height, width_px = image_shape
        self.start = (width, height // 4, width_px // 4)
        self.project = nn.Sequential(nn.Linear(latent, math.prod(self.start)),
                                     _norm("1d", math.prod(self.start), batch_norm),
                                     Activation(slope))
        self.up = nn.Sequential(
            nn.ConvTranspose2d(width, width // 2, 4, 2, 1), _norm("2d", width // 2, batch_norm),
            Activation(slope), nn.ConvTranspose2d(width // 2, channels, 4, 2, 1), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.up(self.project(z).reshape(z.shape[0], *self.start))


class ConvDiscriminator(nn.Module):
    """image > conv > LeakyReLU > conv > [BN] > LeakyReLU > Linear (strided 4x4 convs)."""

    def __init__(self, width: int, batch_norm: bool, image_shape: tuple[int, int, int]) -> None:
        super().__init__()
        channels, height, width_px = image_shape
        self.net = nn.Sequential(
            nn.Conv2d(channels, width // 2, 4, 2, 1), nn.LeakyReLU(LEAKY_SLOPE),
            nn.Conv2d(width // 2, width, 4, 2, 1), _norm("2d", width, batch_norm),
            nn.LeakyReLU(LEAKY_SLOPE), nn.Flatten(),
            nn.Linear(width * (height // 4) * (width_px // 4), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).reshape(x.shape[0])


def shape_key(config: Mapping[str, Any]) -> tuple:
    """Configurations with equal keys build networks of equal shapes (and train in step)."""
    mlp = config["architecture"] == "mlp"
    return (config["architecture"], config["latent"], config["g_width"], config["d_width"],
            config["g_depth"] if mlp else None, config["d_depth"] if mlp else None,
            config["batch_norm"], config["batch_size"], config["d_steps"], config["g_steps"])


CONV_CHANNELS_PER_WIDTH = 4  # a DCGAN's base channels are its width gene / 4 (256 -> 64)


def build_networks(config: Mapping[str, Any], image_shape: tuple[int, int, int]
                   ) -> tuple[nn.Module, nn.Module]:
    """Generator and discriminator for one configuration (weights not yet initialized)."""
    slope = generator_slope(config)
    if config["architecture"] == "mlp":
        return (MLPGenerator(config["latent"], config["g_width"], config["g_depth"],
                             config["batch_norm"], image_shape, slope),
                MLPDiscriminator(config["d_width"], config["d_depth"], config["batch_norm"],
                                 image_shape))
    g_channels = config["g_width"] // CONV_CHANNELS_PER_WIDTH
    d_channels = config["d_width"] // CONV_CHANNELS_PER_WIDTH
    return (ConvGenerator(config["latent"], g_channels, config["batch_norm"], image_shape, slope),
            ConvDiscriminator(d_channels, config["batch_norm"], image_shape))


@torch.no_grad()
def initialize(module: nn.Module, generator: torch.Generator) -> None:
    """Seeded initialization: PyTorch's uniform for Linear, DCGAN's N(0, 0.02) for convs,
    N(1, 0.02) for batch-norm scales; biases start at zero."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            bound = 1.0 / math.sqrt(m.in_features)
            m.weight.uniform_(-bound, bound, generator=generator)
            m.bias.zero_()
        elif isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            m.weight.normal_(0.0, 0.02, generator=generator)
            m.bias.zero_()
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.weight.normal_(1.0, 0.02, generator=generator)
            m.bias.zero_()


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
