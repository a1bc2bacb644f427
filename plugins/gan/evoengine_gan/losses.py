"""The adversarial losses, for a population at once.

Logits are ``P x B`` (member, example); per-member settings are ``P``-vectors; each function
returns one loss per member (``P``), so a batched population sums them and a single network is
the case ``P = 1``. A member's loss kind is a one-hot row, so members with different losses can
share one batched step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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


def kinds_used(kind: torch.Tensor) -> tuple[int, ...]:
    """The columns of a ``P x 3`` selector that some member uses (the losses worth computing)."""
    return tuple(int(k) for k in torch.nonzero(kind.any(0)).flatten().tolist())


def _select(losses: dict[int, Callable[[], torch.Tensor]], kind: torch.Tensor,
            used: Sequence[int] | None) -> torch.Tensor:
    """Each member's loss of its kind: ``sum_k loss_k * kind_k`` over the kinds ``used``
    (default: all three); a kind no member uses adds exactly zero, so it is not computed."""
    columns = tuple(range(len(LOSSES))) if used is None else tuple(used)
    return (torch.stack([losses[k]() for k in columns], 1) * kind[:, list(columns)]).sum(1)


def discriminator_loss(real: torch.Tensor, fake: torch.Tensor, kind: torch.Tensor,
                       target: torch.Tensor, used: Sequence[int] | None = None
                       ) -> torch.Tensor:
    """Per-member discriminator loss: BCE (non-saturating), hinge, or least squares."""
    return _select({
        0: lambda: (F.softplus(real) - target * real).mean(1) + F.softplus(fake).mean(1),
        1: lambda: F.relu(1.0 - real).mean(1) + F.relu(1.0 + fake).mean(1),
        2: lambda: 0.5 * ((real - target) ** 2).mean(1) + 0.5 * (fake ** 2).mean(1),
    }, kind, used)


def generator_loss(fake: torch.Tensor, kind: torch.Tensor, used: Sequence[int] | None = None
                   ) -> torch.Tensor:
    """Per-member generator loss: -log D(G(z)) (non-saturating), -D(G(z)), or (D(G(z)) - 1)^2."""
    return _select({
        0: lambda: F.softplus(-fake).mean(1),
        1: lambda: -fake.mean(1),
        2: lambda: 0.5 * ((fake - 1.0) ** 2).mean(1),
    }, kind, used)
