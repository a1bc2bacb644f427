"""The TensorBoard observer (``--set observer=tensorboard``): every generation of a run in
``RUN_FOLDER/tensorboard``, so ``tensorboard --logdir runs`` shows runs while they go.

Per generation (the step):

- ``logbook/<column>``: the logbook row (``best``, ``avg``, ``std``, ``min``, ``max``,
  ``nevals``, ``failed``; one curve per objective, ``logbook/<column>/<objective>``, when there
  are several);
- ``scalars/<name>``, ``images/<name>``, ``tables/<name>``: what the problem summarised
  (:meth:`evoengine.Problem.summarize`: gan's sample grids and measures, minimax's Elo table),
  tables as Markdown text;
- ``closing/<name>``: the closing report's tables (minimax's Elo table with its intervals), at
  the last generation's step.

Events are built with tensorboardX (the ``tensorboard`` extra) and written synchronously, one
file per run segment, flushed every generation: what a generation wrote survives Ctrl-C and
``kill -9`` (tensorboardX's own writer queues events for a thread that dies with the process).
A resumed run starts from the checkpoint's generation and tells TensorBoard to drop the later
steps the interrupted run had written, so every step shows once.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from tensorboardX import summary
from tensorboardX.event_file_writer import EventsWriter
from tensorboardX.proto.event_pb2 import Event, SessionLog

from evoengine.errors import ConfigError
from evoengine.hookspecs import hookimpl

FOLDER = "tensorboard"


class TensorBoardObserver:
    """One event file writer per run (runs of one manager follow each other)."""

    def __init__(self) -> None:
        self.writer: EventFile | None = None
        self.objectives: list[str] = []

    @hookimpl
    def evoengine_run_start(self, run) -> None:
        if "tensorboard" not in run.settings.observer:
            return
        if run.folder is None:
            raise ConfigError("setting 'observer': 'tensorboard' writes into the run folder; "
                              "give one (run_problem(..., out='runs'), optimize(..., folder=))")
        self._close()
        # A resumed run redoes the generations after its checkpoint: drop their old events.
        first = len(run.recorder.entries) if run.resumed else 0
        self.writer = EventFile(run.folder / FOLDER, first, purge=run.resumed)
        self.objectives = [o.name for o in run.problem.objectives]
        if not run.resumed:
            self.writer.add(summary.text("settings", _markdown_table(
                [{"setting": k, "value": str(v)} for k, v in run.config.items()])), 0)
            self.writer.flush()

    @hookimpl
    def evoengine_generation_end(self, run, record) -> None:
        if self.writer is None or "tensorboard" not in run.settings.observer:
            return
        step = int(record.generation)
        for column, value in record.logbook_row.items():
            if column == "gen":
                continue
            for tag, number in self._numbers(f"logbook/{column}", value):
                self.writer.add(summary.scalar(tag, number), step)
        for name, value in record.scalars.items():
            self.writer.add(summary.scalar(f"scalars/{name}", float(value)), step)
        for name, image in record.images.items():
            image = np.clip(np.nan_to_num(np.asarray(image, dtype=float)), 0.0, 1.0)
            layout = "HW" if image.ndim == 2 else "HWC"
            self.writer.add(summary.image(f"images/{name}", image, dataformats=layout), step)
        for name, rows in record.tables.items():
            self.writer.add(summary.text(f"tables/{name}", _markdown_table(rows)), step)
        self.writer.flush()

    @hookimpl(trylast=True)  # after the problem's plugin has added its closing tables
    def evoengine_run_end(self, run, result) -> None:
        if self.writer is None or "tensorboard" not in run.settings.observer:
            return
        for name, rows in run.closing.items():
            self.writer.add(summary.text(f"closing/{name}", _markdown_table(rows)),
                            int(result.generations))
        self._close()

    def _numbers(self, tag: str, value: Any) -> list[tuple[str, float]]:
        """A logbook value as TensorBoard scalars: one, or one per objective."""
        values = np.asarray(value, dtype=float).ravel() if _numeric(value) else np.array([])
        if values.size == 1:
            return [(tag, float(values[0]))] if math.isfinite(values[0]) else []
        names = self.objectives if len(self.objectives) == values.size else \
            [str(i) for i in range(values.size)]
        return [(f"{tag}/{n}", float(v)) for n, v in zip(names, values, strict=True)
                if math.isfinite(v)]

    def _close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class EventFile:
    """One TensorBoard event file, written as events come.

    :param folder: where (TensorBoard reads every event file under ``--logdir``).
    :param first_step: the first generation this file holds; in its name, so the files of one
        run sort in the order they were written.
    :param purge: tell TensorBoard to drop events of steps >= ``first_step`` from earlier files
        (the generations an interrupted run wrote after its checkpoint).
    """

    def __init__(self, folder: Path, first_step: int, *, purge: bool) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.events = EventsWriter(str(folder / "events"),
                                   f".{first_step:09d}.{os.getpid()}")
        if purge:
            self.events.write_event(Event(wall_time=time.time(), step=first_step,
                                          session_log=SessionLog(status=SessionLog.START)))

    def add(self, value, step: int) -> None:
        self.events.write_event(Event(wall_time=time.time(), step=step, summary=value))

    def flush(self) -> None:
        self.events.flush()

    def close(self) -> None:
        self.events.close()


def _numeric(value: Any) -> bool:
    try:
        np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return False
    return True


def _markdown_table(rows: list[dict[str, Any]]) -> str:
    """Rows as a Markdown table (TensorBoard's text tab renders it)."""
    if not rows:
        return "(empty)"
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")
