"""Choosing the device and recovering from running out of its memory."""

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


def is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, (torch.cuda.OutOfMemoryError, MemoryError)):
        return True
    return isinstance(exc, RuntimeError) and any(m in str(exc) for m in OOM_MESSAGES)


def release_memory(device: torch.device) -> None:
    """Free what a failed training left behind, so the next one starts from a clean device."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
