"""What a model must provide to be trained by population-based training (:mod:`.pbt`).

PBT drives a *population* of models through one interface, :class:`Trainable`. Two ways to
provide it:

**Batched** (fast): hold every member's weights stacked along a leading member dimension and
train them as one model (``torch.func.stack_module_state`` + ``vmap``, and an optimizer whose
learning rates and betas are per-member vectors, such as
:class:`evoengine_gan.training.BatchedAdam`). Exploit is then a copy inside those tensors.
The members must share one shape (same layers and sizes); what may differ per member is
whatever enters the computation as a number: learning rates, betas, loss weights, label
smoothing, how many updates a member takes per round. See
:class:`evoengine_gan.classifier.BatchedClassifiers` (about 60 lines) and
:class:`evoengine_gan.pbt_gan.GanTrainable`.

**One by one** (any model): write a :class:`MemberTrainable` for a single model (a plain
``nn.Module`` with its ``torch.optim`` optimizer, or anything else) and wrap a list of them in
:class:`OneByOne`. Members train one after another, so a population of P costs P times one
model, but nothing has to be stacked. See :class:`evoengine_gan.classifier.ClassifierMember`.

In both, a member's state is named arrays (weights and optimizer state, as NumPy arrays), which
the engine writes into its checkpoints (NumPy's format, no pickle) and reads back on
``evoengine resume``. Every random draw comes from the seeds PBT passes in, so the same run
seed gives the same run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np


class Trainable(Protocol):
    """A population of ``len(self)`` models of one shape."""

    def __len__(self) -> int: ...

    def configure(self, configs: Sequence[Mapping[str, Any]]) -> None:
        """Set each member's hyperparameters (called before every interval)."""

    def reseed(self, seeds: Sequence[int]) -> None:
        """Restart each member's stream of data and noise from its seed."""

    def train(self, examples: int, active: Sequence[bool] | None = None) -> None:
        """Train every member on ``examples`` more examples (its own batches, from its own
        stream). ``active`` (optional: PBT passes it only in a run that retires members)
        says which members train; the others must stay exactly as they are."""

    def measure(self, seed: int, active: Sequence[bool] | None = None) -> np.ndarray:
        """One measure per member (in the problem's objective: a distance to minimize or an
        accuracy to maximize), with any randomness drawn from ``seed`` (the same for every
        member, so they are compared on the same draws). Where ``active`` (optional, as in
        :meth:`train`) is false, the measure is not used: NaN, or anything cheaper."""

    def copy_member(self, source: int, target: int) -> None:
        """Exploit: member ``target``'s weights and optimizer state become ``source``'s."""

    def state(self) -> dict[str, np.ndarray]:
        """Every member's weights and optimizer state, as named arrays."""

    def load_state(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Put back what :meth:`state` returned."""

    # Optional: ``member_info() -> list[dict]``, what to send back with each member's measure
    # (images, a test score): it reaches ``Problem.summarize``, the hooks and ``best.json``.


class MemberTrainable(Protocol):
    """One model, for :class:`OneByOne`: the same methods, for a single member."""

    def configure(self, config: Mapping[str, Any]) -> None: ...

    def reseed(self, seed: int) -> None: ...

    def train(self, examples: int) -> None: ...

    def measure(self, seed: int) -> float: ...

    def state(self) -> dict[str, np.ndarray]: ...

    def load_state(self, arrays: Mapping[str, np.ndarray]) -> None: ...


class OneByOne:
    """A :class:`Trainable` made of single models trained one after another (the slow path,
    for models that cannot be stacked)."""

    def __init__(self, members: Sequence[MemberTrainable]) -> None:
        self.members = list(members)

    def __len__(self) -> int:
        return len(self.members)

    def configure(self, configs: Sequence[Mapping[str, Any]]) -> None:
        for member, config in zip(self.members, configs, strict=True):
            member.configure(config)

    def reseed(self, seeds: Sequence[int]) -> None:
        for member, seed in zip(self.members, seeds, strict=True):
            member.reseed(int(seed))

    def train(self, examples: int, active: Sequence[bool] | None = None) -> None:
        for i, member in enumerate(self.members):
            if active is None or active[i]:
                member.train(examples)

    def measure(self, seed: int, active: Sequence[bool] | None = None) -> np.ndarray:
        return np.array([member.measure(seed) if active is None or active[i] else np.nan
                         for i, member in enumerate(self.members)], dtype=float)

    def member_info(self) -> list[dict[str, Any]]:
        return [member.member_info() if hasattr(member, "member_info") else {}
                for member in self.members]

    def copy_member(self, source: int, target: int) -> None:
        self.members[target].load_state(self.members[source].state())

    def state(self) -> dict[str, np.ndarray]:
        return {f"{i}.{name}": value for i, member in enumerate(self.members)
                for name, value in member.state().items()}

    def load_state(self, arrays: Mapping[str, np.ndarray]) -> None:
        for i, member in enumerate(self.members):
            prefix = f"{i}."
            member.load_state({k[len(prefix):]: v for k, v in arrays.items()
                               if k.startswith(prefix)})
