"""Run folders seen from outside: each run's status file, and the list ``evoengine runs`` shows.

A run folder's ``run.json`` says what became of the run, so a run can be listed without
loading it: the problem, when it started, how long it ran (all its segments, resumes
included), and its status:

- ``running`` while the process that wrote it is alive (on this machine);
- ``finished`` once the results are written (``best.json``);
- ``interrupted`` after Ctrl-C or SIGTERM, ``failed`` after an error (with the error's line); a
  run killed outright (``kill -9``, a power cut) still says ``running``, with a process that is
  gone.

:func:`list_runs` turns that into what a user wants to know: whether the run can be resumed
(it has a whole checkpoint), its generations and best value. ``run.json`` and ``best.json`` are
read as untrusted input (a small regular UTF-8 file, every field of the type it must have): a
run whose file is not is listed as ``damaged``, with the reason, and the other runs as usual.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

STATUS_FILE = "run.json"
_STAMP = re.compile(r"-(\d{8}-\d{6})(?:-\d+)?$")


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


STATUSES = ("running", "finished", "interrupted", "failed")
STATUS_LIMIT = 1 << 20  # bytes of run.json: a run writes a few hundred
BEST_LIMIT = 64 << 20  # bytes of best.json: the best genome and the hall of fame
_TEXT = "text"
_STATUS_FIELDS = {"problem": _TEXT, "status": "status", "started": _TEXT, "ended": _TEXT,
                  "host": _TEXT, "error": _TEXT, "pid": "pid", "resumes": "count",
                  "seconds": "seconds", "segment_started": "seconds"}


class DamagedRunFile(ValueError):
    """A run folder's ``run.json`` or ``best.json`` cannot be used; the message says why."""


def _read_json(path: Path, limit: int) -> Any:
    """The JSON in the regular file ``path`` of at most ``limit`` bytes."""
    from evoengine.io import InputFileError, read_input_text

    name = f"{path.name} {str(path)!r}"
    try:
        return json.loads(read_input_text(path, path.name, limit))
    except InputFileError as exc:
        raise DamagedRunFile(str(exc)) from None
    except ValueError:
        raise DamagedRunFile(f"{name} is not valid JSON") from None
    except RecursionError:
        raise DamagedRunFile(f"{name} nests too deeply") from None


def _wrong(value: Any, kind: str) -> str | None:
    """What ``value`` should have been, when it is not of ``kind``; None when it is."""
    whole = isinstance(value, int) and not isinstance(value, bool)
    if kind == _TEXT:
        return None if value is None or isinstance(value, str) else "text"
    if kind == "status":
        return None if value in STATUSES else f"one of {', '.join(STATUSES)}"
    if kind == "pid":
        return None if whole and value > 0 else "a process id"
    if kind == "count":
        return None if whole and value >= 0 else "a count"
    if kind == "seconds":
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) \
            and math.isfinite(value) and value >= 0 else "a finite number of seconds"
    if kind == "values":
        return None if isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
            for k, v in value.items()) else "a table of objective values"
    raise AssertionError(kind)


def _checked(path: Path, limit: int, fields: dict[str, str]) -> dict[str, Any]:
    """The table in ``path``, each of ``fields`` present of its kind; ``{}`` when there is no
    such file.

    :raises DamagedRunFile: naming the file and its first wrong field.
    """
    if not os.path.lexists(path):
        return {}
    data = _read_json(path, limit)
    if not isinstance(data, dict):
        raise DamagedRunFile(f"{path.name} {str(path)!r} is not a table of fields")
    for key, kind in fields.items():
        if key in data:
            expected = _wrong(data[key], kind)
            if expected:
                shown = repr(data[key])
                shown = shown if len(shown) <= 60 else shown[:57] + "..."
                raise DamagedRunFile(f"{path.name} {str(path)!r}: field {key!r} is {shown}, "
                                     f"not {expected}")
    return data


def read_run_status(folder: Path) -> dict[str, Any]:
    """The folder's ``run.json``, checked; ``{}`` when there is none.

    :raises DamagedRunFile: it cannot be read, is not JSON or holds a field of the wrong type.
    """
    return _checked(Path(folder) / STATUS_FILE, STATUS_LIMIT, _STATUS_FIELDS)


def read_status(folder: Path) -> dict[str, Any]:
    """The folder's ``run.json``, or ``{}`` when there is none or it is damaged (a run then
    writes a new one)."""
    try:
        return read_run_status(folder)
    except DamagedRunFile:
        return {}


def _write_status(folder: Path, status: dict[str, Any]) -> None:
    from evoengine.report import write_atomic

    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / STATUS_FILE, (json.dumps(status, indent=1) + "\n").encode())
    except OSError:
        # The status only informs `evoengine runs`; a folder that cannot be written is
        # reported, with what to do, by the checkpoint and results writers the run goes on to.
        pass


def mark_started(folder: str | Path, problem: str, *, resumed: bool = False) -> None:
    """Record that a run (or a resumed segment of it) starts now in this process."""
    folder = Path(folder)
    status = read_status(folder) if resumed else {}
    status.update(problem=problem, status="running", pid=os.getpid(),
                  host=socket.gethostname(), segment_started=time.time(), error=None)
    status.setdefault("started", _now())
    status.setdefault("seconds", 0.0)
    if resumed:
        status["resumes"] = int(status.get("resumes", 0)) + 1
    _write_status(folder, status)


def mark_ended(folder: str | Path, status_name: str, error: str | None = None) -> None:
    """Record how the running segment ended: ``finished``, ``interrupted`` or ``failed``."""
    folder = Path(folder)
    status = read_status(folder)
    begun = status.pop("segment_started", None)
    if begun is not None:
        status["seconds"] = round(float(status.get("seconds", 0.0)) + time.time() - begun, 3)
    status.update(status=status_name, error=error, ended=_now())
    status.pop("pid", None)
    _write_status(folder, status)


def mark_finished(folder: str | Path, run) -> None:
    """Record a finished run; ``run`` (a :class:`evoengine.run.ProblemRun`) gives the start
    and duration when the run was not recorded while it went (run from Python)."""
    folder = Path(folder)
    if not read_status(folder):
        _write_status(folder, {"problem": run.problem_name, "started": run.started,
                               "seconds": run.seconds})
    mark_ended(folder, "finished")


@contextmanager
def recorded(folder: str | Path, problem: str, *, resumed: bool = False) -> Iterator[None]:
    """Keep ``run.json`` up to date around a run: running, then finished, interrupted (Ctrl-C)
    or failed (any other error, its first line recorded)."""
    mark_started(folder, problem, resumed=resumed)
    try:
        yield
    except KeyboardInterrupt:
        mark_ended(folder, "interrupted")
        raise
    except BaseException as exc:
        if isinstance(exc, SystemExit) and exc.code in (0, None):
            mark_ended(folder, "finished")
        else:
            line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            mark_ended(folder, "failed", f"{type(exc).__name__}: {line}" if line
                       else type(exc).__name__)
        raise
    if read_status(Path(folder)).get("status") == "running":
        mark_ended(folder, "finished")


@dataclass
class RunSummary:
    """One line of ``evoengine runs``."""

    folder: Path
    problem: str
    status: str           # finished, interrupted, failed, running, damaged (see error)
    resumable: bool       # a whole checkpoint exists and the run has not finished
    generations: int | None
    best: dict[str, float] | None   # first objective first; None when nothing was recorded
    started: datetime | None
    seconds: float | None
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"folder": str(self.folder), "problem": self.problem, "status": self.status,
                "resumable": self.resumable, "generations": self.generations,
                "best": self.best,
                "started": self.started.isoformat(timespec="seconds") if self.started else None,
                "seconds": self.seconds, "error": self.error}


def _alive(status: dict[str, Any]) -> bool:
    pid = status.get("pid")
    if not isinstance(pid, int) or status.get("host") != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _started(folder: Path, status: dict[str, Any]) -> datetime | None:
    if isinstance(status.get("started"), str):
        try:
            return datetime.fromisoformat(status["started"])
        except ValueError:
            pass
    match = _STAMP.search(folder.name)  # new_run_folder's <problem>-YYYYmmdd-HHMMSS
    if match:
        try:
            return datetime.strptime(match.group(1), "%Y%m%d-%H%M%S").astimezone()
        except ValueError:  # digits that are not a date: a folder named by hand
            pass
    return None


def _is_run_folder(path: Path) -> bool:
    return path.is_dir() and any((path / name).exists()
                                 for name in (STATUS_FILE, "best.json", "checkpoint"))


def summarize(folder: str | Path) -> RunSummary:
    """What became of the run in ``folder``."""
    from evoengine.checkpoint import CheckpointError, load_latest

    folder = Path(folder)
    damage = None  # why run.json or best.json cannot be used
    try:
        status = read_run_status(folder)
    except DamagedRunFile as exc:
        status, damage = {}, str(exc)
    problem = status.get("problem")
    state = status.get("status")
    best_file = folder / "best.json"
    generations = best = None
    seconds = status.get("seconds")
    resumable = False
    if os.path.lexists(best_file) and state in (None, "finished"):
        state = "finished"
        try:
            best_json = _checked(best_file, BEST_LIMIT, {"problem": _TEXT, "generations": "count",
                                                         "fitness": "values"})
        except DamagedRunFile as exc:
            damage = damage or str(exc)
        else:
            problem = problem or best_json.get("problem")
            generations = best_json.get("generations")
            best = best_json.get("fitness")
    else:
        if state == "running" and not _alive(status):
            state = "interrupted"  # killed outright: the process that wrote "running" is gone
        try:
            saved, _ = load_latest(folder)
        except CheckpointError:
            saved = None
        if saved is not None:
            resumable = state != "running"
            problem = problem or saved.info.problem
            generations = saved.generation
            last = _last_best(saved.values)
            if last is not None:
                best = {"best": last}
            if not seconds and _wrong(saved.values.get("elapsed_s"), "seconds") is None:
                seconds = saved.values["elapsed_s"]
        if state is None:
            state = "interrupted" if saved is not None else "failed"
    if damage:
        state = "damaged"
    return RunSummary(folder, problem or "?", state, resumable, generations, best,
                      _started(folder, status), seconds, damage or status.get("error"))


def _last_best(values: dict[str, Any]) -> float | None:
    """The best value of a checkpoint's last logbook record, when it has one."""
    logbook = values.get("logbook")
    records = logbook.get("records") if isinstance(logbook, dict) else None
    last = records[-1] if isinstance(records, list) and records else None
    best = last.get("best") if isinstance(last, dict) else None
    return float(best) if isinstance(best, (int, float)) and not isinstance(best, bool) else None


def list_runs(base: str | Path) -> list[RunSummary]:
    """Every run folder in ``base`` (or ``base`` itself, if it is one), newest first."""
    base = Path(base)
    if _is_run_folder(base) and not any(_is_run_folder(p) for p in base.iterdir()):
        folders = [base]
    else:
        folders = [p for p in base.iterdir() if _is_run_folder(p)] if base.is_dir() else []
    runs = [summarize(p) for p in folders]
    oldest = datetime.min.replace(tzinfo=datetime.now().astimezone().tzinfo)
    return sorted(runs, key=lambda r: (r.started or oldest, r.folder.name), reverse=True)


def latest_resumable(base: str | Path) -> RunSummary | None:
    """The newest run in ``base`` that stopped before its end and can be resumed."""
    return next((r for r in list_runs(base) if r.resumable), None)
