"""Run folders seen from outside: each run's status file, and the list ``evoengine runs`` shows.

A run folder's ``run.json`` says what became of the run, so a run can be listed without
loading it: the problem, when it started, how long it ran (all its segments, resumes
included), and its status:

- ``running`` while the process that wrote it is alive (on this machine);
- ``finished`` once the results are written (``best.json``);
- ``interrupted`` after Ctrl-C, ``failed`` after an error (with the error's line); a run killed
  outright (``kill -9``, a power cut) still says ``running``, with a process that is gone.

:func:`list_runs` turns that into what a user wants to know: whether the run can be resumed
(it has a whole checkpoint), its generations and best value.
"""

from __future__ import annotations

import json
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


def read_status(folder: Path) -> dict[str, Any]:
    """The folder's ``run.json``, or ``{}`` when there is none or it cannot be read."""
    try:
        data = json.loads((Path(folder) / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


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
    status: str           # finished, interrupted, failed, running
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
        return datetime.strptime(match.group(1), "%Y%m%d-%H%M%S").astimezone()
    return None


def _is_run_folder(path: Path) -> bool:
    return path.is_dir() and any((path / name).exists()
                                 for name in (STATUS_FILE, "best.json", "checkpoint"))


def summarize(folder: str | Path) -> RunSummary:
    """What became of the run in ``folder``."""
    from evoengine.checkpoint import CheckpointError, load_latest

    folder = Path(folder)
    status = read_status(folder)
    problem = status.get("problem")
    state = status.get("status")
    best_file = folder / "best.json"
    generations = best = None
    seconds = status.get("seconds")
    resumable = False
    if best_file.exists() and state in (None, "finished"):
        state = "finished"
        try:
            best_json = json.loads(best_file.read_text(encoding="utf-8"))
            problem = problem or best_json.get("problem")
            generations = best_json.get("generations")
            best = best_json.get("fitness")
        except (OSError, ValueError):
            pass
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
            records = saved.values.get("logbook", {}).get("records", [])
            last = records[-1].get("best") if records else None
            if isinstance(last, (int, float)):
                best = {"best": float(last)}
            if not seconds:
                seconds = saved.values.get("elapsed_s")
        if state is None:
            state = "interrupted" if saved is not None else "failed"
    return RunSummary(folder, problem or "?", state, resumable, generations, best,
                      _started(folder, status), seconds, status.get("error"))


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
