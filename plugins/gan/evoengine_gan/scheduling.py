"""Spreading a population's training groups over several devices, one group per device at a time.

Each device gets one worker thread that takes the next group from a shared queue, trains it on
that device and comes back for more, so a slow group (a DCGAN) does not hold up the others.
Threads are enough: PyTorch releases the GIL inside its kernels, and every thread drives its
own device. Results come back in the groups' order whichever device trained them.

Groups are split only to give every device work (:func:`spread`). On the CPU a member's
result does not depend on which other members share its batched model, so the same seed gives
bitwise the same fitness on one device or several; on CUDA the batched kernels may round
differently for another group size, so the result is the same statistically (training at
float64 agrees to ~1e-9, see plugins/gan/tests/test_gan_training.py).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

import torch

Result = TypeVar("Result")


def spread(groups: Sequence[list[int]], devices: int) -> list[list[int]]:
    """``groups`` with the largest split in halves until every device has one (or no group has
    4 members left): a halved group never drops below 2, so a configuration that trains alone
    on one device trains alone on several, and vice versa."""
    groups = [list(g) for g in groups]
    while len(groups) < devices:
        largest = max(range(len(groups)), key=lambda i: len(groups[i]), default=None)
        if largest is None or len(groups[largest]) < 4:
            break
        rows = groups.pop(largest)
        half = len(rows) // 2
        groups[largest:largest] = [rows[:half], rows[half:]]
    return groups


def run_on_devices(devices: Sequence[torch.device], groups: Sequence[list[int]],
                   work: Callable[[list[int], int], Result]) -> list[Result]:
    """``work(group, slot)`` for every group, on ``devices[slot]``, at most one group per device
    at a time; the results in the groups' order. The first error stops the devices taking new
    groups and is raised once the running ones finish."""
    results: list[Result | None] = [None] * len(groups)
    if len(devices) == 1 or len(groups) <= 1:  # nothing to share: stay in this thread
        with _on(devices[0]):
            return [work(list(g), 0) for g in groups]
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in sorted(range(len(groups)), key=lambda i: -len(groups[i])):  # biggest first
        todo.put(index)
    errors: list[BaseException] = []

    def serve(slot: int) -> None:
        with _on(devices[slot]):
            while not errors:
                try:
                    index = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    results[index] = work(list(groups[index]), slot)
                except BaseException as exc:  # handed to the caller's thread below
                    errors.append(exc)

    threads = [threading.Thread(target=serve, args=(slot,), name=f"gan-{device}#{slot}",
                                daemon=True)
               for slot, device in enumerate(devices[:len(groups)])]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException as exc:  # Ctrl-C while waiting: the devices take no new group
        errors.append(exc)
        raise
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]


def _on(device: torch.device):
    """Make ``device`` the thread's current CUDA device (for anything allocated implicitly)."""
    if device.type == "cuda":
        return torch.cuda.device(device)
    return contextlib.nullcontext()
