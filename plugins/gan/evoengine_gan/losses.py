"""The adversarial losses, for a population at once.

Logits are ``P x B`` (member, example); per-member settings are ``P``-vectors; each function
returns one loss per member (``P``), so a batched population sums them and a single network is
the case ``P = 1``. A member's loss kind is a one-hot row, so members with different losses can
share one batched step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from evoengine_gan.space import LOSSES


def loss_one_hot(kinds: list[str], dtype: torch.dtype, device) -> torch.Tensor:
    """``P x 3`` selector of each member's loss."""
    rows = [[1.0 if kind == name else 0.0 for name in LOSSES] for kind in kinds]
    return torch.tensor(rows, dtype=dtype, device=device)


def real_targets(smoothing: torch.Tensor, noise: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Targets of real examples: ``1 - smoothing - noise * U(0, 1)`` per example."""
    return 1.0 - smoothing[:, None] - noise[:, None] * u


def discriminator_loss(real: torch.Tensor, fake: torch.Tensor, kind: torch.Tensor,
                       target: torch.Tensor) -> torch.Tensor:
    """Per-member discriminator loss: BCE (non-saturating), hinge, or least squares."""
    bce = (F.softplus(real) - target * real).mean(1) + F.softplus(fake).mean(1)
    hinge = F.relu(1.0 - real).mean(1) + F.relu(1.0 + fake).mean(1)
    least_squares = 0.5 * ((real - target) ** 2).mean(1) + 0.5 * (fake ** 2).mean(1)
    return (torch.stack([bce, hinge, least_squares], 1) * kind).sum(1)


def generator_loss(fake: torch.Tensor, kind: torch.Tensor) -> torch.Tensor:
    """Per-member generator loss: -log D(G(z)) (non-saturating), -D(G(z)), or (D(G(z)) - 1)^2."""
    bce = F.softplus(-fake).mean(1)
    hinge = -fake.mean(1)
    least_squares = 0.5 * ((fake - 1.0) ** 2).mean(1)
    return (torch.stack([bce, hinge, least_squares], 1) * kind).sum(1)
