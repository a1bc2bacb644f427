"""The run's records: what the lifecycle hooks see, and the recorder the engine owns.

- :class:`RunView`: the run as observers see it (problem, settings, folder, recorder), passed
  to every lifecycle hook of :mod:`evoengine.hookspecs`.
- :class:`GenerationRecord`: one generation, as ``evoengine_generation_end`` receives it: the
  rows evaluated, their fitness and info, the logbook row and the problem's
  :class:`~evoengine.context.Summary`.
- :class:`Recorder`: keeps every generation's summary (scalars, tables, picture names), writes
  them to the run folder (``records.jsonl``, one line a generation; pictures as PNG under
  ``records/``) and into checkpoints, so a resumed run continues its histories and pictures
  exactly as the uninterrupted run would have written them.

A problem keeps no history of its own: what it wants across generations it returns from
:meth:`~evoengine.Problem.summarize`, and reads back from ``run.recorder`` in a hook.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evoengine.context import Summary
from evoengine.errors import EvoengineError
from evoengine.io import write_atomic

__all__ = ["IMAGES_FOLDER", "RECORDS_FILE", "GenerationRecord", "Recorder", "RunView", "plain",
           "png_bytes"]

RECORDS_FILE = "records.jsonl"
IMAGES_FOLDER = "records"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def plain(value: Any) -> Any:
    """A value as JSON-ready Python (numpy arrays and scalars to lists and numbers)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


@dataclass
class GenerationRecord:
    """One generation, for ``evoengine_generation_end``.

    ``genomes``, ``fitness`` and ``info`` are the rows evaluated this generation (not the rows
    kept from before); ``logbook_row`` is the logbook's row (gen, nevals, failed, avg, std, min,
    max, best, and any algorithm columns); the rest is the problem's summary.
    """

    generation: int
    genomes: Any
    fitness: np.ndarray
    info: list[dict[str, Any]] | None
    logbook_row: dict[str, Any]
    scalars: dict[str, float] = field(default_factory=dict)
    images: dict[str, np.ndarray] = field(default_factory=dict)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class Recorder:
    """Every generation's summary, in memory, in the run folder and in checkpoints.

    :param folder: the run folder, or None (a run from Python without one: kept in memory).
    """

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = None if folder is None else Path(folder)
        self.entries: list[dict[str, Any]] = []  # one per generation, as in records.jsonl

    # --- reading the histories ------------------------------------------------------------
    def scalar(self, name: str) -> list[tuple[int, float]]:
        """``(generation, value)`` of one scalar across the run so far."""
        return [(e["generation"], e["scalars"][name]) for e in self.entries
                if name in e["scalars"]]

    def table(self, name: str) -> list[tuple[int, list[dict[str, Any]]]]:
        """``(generation, rows)`` of one table across the run so far."""
        return [(e["generation"], e["tables"][name]) for e in self.entries
                if name in e["tables"]]

    def images(self, name: str) -> list[tuple[int, Path]]:
        """``(generation, PNG path)`` of one picture across the run (with a folder only)."""
        if self.folder is None:
            return []
        return [(e["generation"], self.folder / e["images"][name]) for e in self.entries
                if name in e["images"]]

    # --- writing ------------------------------------------------------------------------------
    def start(self) -> None:
        """Write ``records.jsonl`` as the entries stand (empty for a new run; up to the
        checkpoint for a resumed one, dropping generations the resumed run will redo)."""
        if self.folder is None:
            return
        text = "".join(_line(entry) for entry in self.entries)
        self._write(lambda: (self.folder.mkdir(parents=True, exist_ok=True),
                             write_atomic(self.folder / RECORDS_FILE, text.encode())))

    def record(self, generation: int, summary: Summary,
               logbook_row: dict[str, Any]) -> dict[str, Any]:
        """Keep one generation's summary; write its line and pictures to the run folder."""
        images = {}
        for name, image in summary.images.items():
            relative = f"{IMAGES_FOLDER}/{_SAFE.sub('_', name)}-{generation:06d}.png"
            images[name] = relative
            if self.folder is not None:
                self._write(lambda: ((self.folder / IMAGES_FOLDER).mkdir(exist_ok=True),
                                     write_atomic(self.folder / relative, png_bytes(image))))
        # Plain values are converted only where a problem put numpy ones (the common case, an
        # empty summary, costs nothing); the logbook row's numbers go through _json_value.
        entry = {"generation": int(generation), "logbook": dict(logbook_row),
                 "scalars": {k: float(v) for k, v in summary.scalars.items()},
                 "tables": plain(summary.tables) if summary.tables else {}, "images": images}
        self.entries.append(entry)
        if self.folder is not None:
            self._write(lambda: _append(self.folder / RECORDS_FILE, _line(entry)))
        return entry

    def _write(self, work) -> None:
        try:
            work()
        except OSError as exc:
            raise EvoengineError(f"cannot write the run's records in {self.folder}: "
                                 f"{exc.strerror or exc}") from None

    # --- checkpoints ----------------------------------------------------------------------
    def export_state(self) -> list[dict[str, Any]]:
        """Every entry so far (JSON-ready once numpy scalars are plain numbers)."""
        return plain(self.entries)

    def restore_state(self, state: list[dict[str, Any]] | None) -> None:
        self.entries = [dict(entry) for entry in state or []]


def png_bytes(image: np.ndarray) -> bytes:
    """A PNG of ``image``: ``H x W`` (grey), ``H x W x 3`` (RGB) or ``H x W x 4`` (RGBA),
    floats in [0, 1] (clipped; NaN is black) or 8-bit integers."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ValueError(f"an image is H x W, H x W x 3 or H x W x 4; got shape {image.shape}")
    if image.dtype != np.uint8:
        values = np.nan_to_num(image.astype(float), nan=0.0)
        image = np.rint(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)
    height, width = image.shape[:2]
    channels = 1 if image.ndim == 2 else image.shape[2]
    colour = {1: 0, 3: 2, 4: 6}[channels]  # PNG colour types: grey, RGB, RGBA
    rows = image.reshape(height, -1)
    raw = b"".join(b"\x00" + rows[r].tobytes() for r in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def _append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


def _json_value(value: Any) -> Any:
    if isinstance(value, (np.ndarray, np.generic)):
        return plain(value)
    raise TypeError(f"{type(value).__name__} is not JSON-ready")


def _line(entry: dict[str, Any]) -> str:
    return json.dumps(entry, default=_json_value) + "\n"


@dataclass
class RunView:
    """The run as the lifecycle hooks see it.

    :param problem_name: the registered name (or the class name for a run from Python).
    :param problem: the problem object (configuration only).
    :param settings: the algorithm settings in force.
    :param folder: the run folder, or None when run from Python without one.
    :param resumed: True when the run continues from a checkpoint.
    :param recorder: the run's :class:`Recorder` (histories so far).
    :param config: every setting in force, problem and algorithm (``config.toml``'s content).
    :param closing: tables of the closing report, as lists of records, that a problem's plugin
        adds in its ``evoengine_run_end`` (minimax's Elo table), for the observers, which run
        after it (``trylast``).
    """

    problem_name: str
    problem: Any
    settings: Any
    folder: Path | None
    resumed: bool
    recorder: Recorder
    config: dict[str, Any] = field(default_factory=dict)
    closing: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
