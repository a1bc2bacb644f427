"""Choosing the devices and recovering from running out of their memory."""

from __future__ import annotations

import gc

import torch

from evoengine.errors import ConfigError

OOM_MESSAGES = ("out of memory", "can't allocate memory", "not enough memory")


def choose_device(name: str) -> torch.device:
    """``auto`` (the first CUDA device if there is one, else the CPU), ``cpu``, ``cuda`` or
    ``cuda:N``; asking for a device that is not there is a setting error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"setting 'device': {name!r} is not a device; use auto, cpu, cuda "
                          "or cuda:N") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (device.index or 0) >= count:
            raise ConfigError(f"setting 'device': {name!r} is not available ({count} CUDA "
                              "device(s) found); use auto or cpu")
    elif device.type != "cpu":
        raise ConfigError(f"setting 'device': {name!r} is not supported; use auto, cpu, cuda "
                          "or cuda:N")
    return device


def choose_devices(spec: str) -> list[torch.device]:
    """The devices a ``device`` setting names, each used by one evaluation at a time.

    ``auto``: every CUDA device there is, else the CPU. ``cuda``: every CUDA device.
    ``cpu``, ``cuda:N``, or a comma-separated list of distinct devices (``cuda:0,cuda:2``).
    Chosen where the training runs, so in a Ray task that asked for ``eval_gpus=1``,
    ``auto`` is the one GPU Ray gave it.
    """
    names = [n.strip() for n in spec.split(",")]
    if len(names) == 1 and names[0] in ("auto", "cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count:
            return [torch.device("cuda", i) for i in range(count)]
        if names[0] == "cuda":
            raise ConfigError("setting 'device': 'cuda' is not available (no CUDA device "
                              "found); use auto or cpu")
        return [torch.device("cpu")]
    if "" in names or "auto" in names:
        raise ConfigError(f"setting 'device': {spec!r} is not a device list; use auto, cpu, "
                          "cuda, cuda:N or a list such as cuda:0,cuda:1")
    devices = [choose_device(n) for n in names]
    devices = [torch.device("cuda", 0) if d == torch.device("cuda") else d for d in devices]
    if len(set(devices)) < len(devices):
        raise ConfigError(f"setting 'device': {spec!r} names a device twice; each device runs "
                          "one evaluation at a time, so list it once")
    return devices


def is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, (torch.cuda.OutOfMemoryError, MemoryError)):
        return True
    return isinstance(exc, RuntimeError) and any(m in str(exc) for m in OOM_MESSAGES)


def release_memory(device: torch.device) -> None:
    """Free what a failed training left behind, so the next one starts from a clean device."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
