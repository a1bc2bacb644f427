"""Checkpoints: the full state of a run on disk, written atomically and read back with checks.

A checkpoint is two files in ``RUN_FOLDER/checkpoint/``:

- ``gen-000010.npz``: the arrays (population, fitness, hall of fame), NumPy's format, no pickle;
- ``gen-000010.json``: everything else (generation, evaluations, the random generator's state,
  logbook, the run's records, settings, problem, plugin and versions) and the SHA-256 of the
  ``.npz``.

Each file goes to a temporary name, is fsynced and renamed; the ``.npz`` first, the ``.json``
last, so a checkpoint exists only once both are whole. The two newest checkpoints are kept.
Reading checks the format, the checksum and, before resuming, the plugin and engine versions:
a damaged checkpoint is refused with the reason and the next older one is used; one from other
versions is refused, since the run would not continue as it began.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evoengine import __version__
from evoengine.errors import EvoengineError
from evoengine.io import write_atomic

FORMAT = "evoengine-checkpoint"
FORMAT_VERSION = 1
SUBFOLDER = "checkpoint"
_NAME = re.compile(r"^gen-(\d+)\.json$")


class CheckpointError(EvoengineError):
    """A checkpoint cannot be written, or cannot be resumed from."""


@dataclass(frozen=True)
class RunInfo:
    """What a run is: the problem, its plugin and every setting (as ``PreparedRun.as_dict``)."""

    problem: str
    plugin: str
    plugin_version: str
    settings: dict[str, Any]


@dataclass
class Checkpoint:
    """One checkpoint read back: the run it belongs to and the optimizer's state."""

    path: Path
    info: RunInfo
    evoengine_version: str
    values: dict[str, Any]
    arrays: dict[str, np.ndarray]
    records: list[dict[str, Any]] | None = None  # the Recorder's entries (evoengine.records)

    @property
    def generation(self) -> int:
        return int(self.values["generation"])


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} cannot be written to a checkpoint")


class Checkpointer:
    """Writes a run's checkpoints: every ``every`` generations and whenever asked."""

    def __init__(self, run_folder: str | Path, info: RunInfo, every: int) -> None:
        self.folder = Path(run_folder) / SUBFOLDER
        self.info = info
        self.every = every
        self.last: Path | None = None
        self.last_generation: int | None = None

    def resumed_from(self, checkpoint: Checkpoint) -> None:
        """Count ``checkpoint`` as the last good one (it is kept until two newer exist)."""
        self.last, self.last_generation = checkpoint.path, checkpoint.generation

    def maybe_save(self, opt, recorder=None) -> None:
        if self.every and opt.generation % self.every == 0:
            self.save(opt, recorder)

    def save(self, opt, recorder=None) -> Path:
        """Write the optimizer's state (and the recorder's, if given); a checkpoint of that
        generation is written once."""
        if opt.generation == self.last_generation and self.last is not None:
            return self.last
        values, arrays = opt.export_state()
        stem = f"gen-{opt.generation:06d}"
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        data = buffer.getvalue()
        document = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "evoengine_version": __version__,
            "problem": self.info.problem,
            "plugin": self.info.plugin,
            "plugin_version": self.info.plugin_version,
            "settings": self.info.settings,
            "arrays": f"{stem}.npz",
            "arrays_sha256": hashlib.sha256(data).hexdigest(),
            "state": values,
        }
        if recorder is not None:
            document["records"] = recorder.export_state()
        text = json.dumps(document, indent=1, default=_plain).encode()
        path = self.folder / f"{stem}.json"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomic(self.folder / f"{stem}.npz", data)  # removes its temporary on failure
            write_atomic(path, text)  # the commit: the checkpoint exists once this is renamed
        except OSError as exc:
            kept = f"{self.last} is intact" if self.last else "none was written before"
            raise CheckpointError(
                f"cannot write checkpoint {path}: {exc.strerror or exc}; the last good "
                f"checkpoint {kept}") from None
        previous, self.last, self.last_generation = self.last_generation, path, opt.generation
        if previous is not None:
            _prune(self.folder, keep_from=min(previous, opt.generation))
        return path


def _prune(folder: Path, keep_from: int) -> None:
    for path in checkpoints(folder.parent):
        if int(_NAME.match(path.name).group(1)) < keep_from:
            for old in (path, path.with_suffix(".npz")):
                try:
                    old.unlink(missing_ok=True)
                except OSError:
                    pass


def checkpoints(run_folder: str | Path) -> list[Path]:
    """The checkpoint files (``.json``) of a run folder, newest first."""
    folder = Path(run_folder) / SUBFOLDER
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if _NAME.match(p.name)]
    return sorted(found, key=lambda p: int(_NAME.match(p.name).group(1)), reverse=True)


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Read and check one checkpoint.

    :raises CheckpointError: the file is not a whole checkpoint; the message says why.
    """
    path = Path(path)

    def damaged(why: str) -> CheckpointError:
        return CheckpointError(f"checkpoint {path} is damaged: {why}")

    try:
        document = json.loads(path.read_bytes())
    except OSError as exc:
        raise damaged(f"cannot read it ({exc.strerror or exc})") from None
    except (ValueError, UnicodeDecodeError):
        raise damaged("it is not valid JSON (truncated?)") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise damaged("it is not an evoengine checkpoint")
    if document.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format version {document.get('format_version')!r}; "
            f"this evoengine ({__version__}) reads version {FORMAT_VERSION}")
    try:
        arrays_path = path.parent / Path(document["arrays"]).name
        data = arrays_path.read_bytes()
    except KeyError:
        raise damaged("it does not name its arrays file") from None
    except OSError as exc:
        raise damaged(f"its arrays file cannot be read ({exc.strerror or exc})") from None
    if hashlib.sha256(data).hexdigest() != document.get("arrays_sha256"):
        raise damaged(f"{arrays_path.name} does not match its checksum (truncated or changed)")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        info = RunInfo(document["problem"], document["plugin"], document["plugin_version"],
                       dict(document["settings"]))
        checkpoint = Checkpoint(path, info, document["evoengine_version"],
                                dict(document["state"]), arrays, document.get("records"))
        checkpoint.generation  # noqa: B018 - present and a number
    except (KeyError, TypeError, ValueError) as exc:
        raise damaged(f"a field is missing or wrong ({type(exc).__name__}: {exc})") from None
    return checkpoint


def load_latest(run_folder: str | Path) -> tuple[Checkpoint, list[str]]:
    """The newest whole checkpoint of a run folder, and why each newer one was refused.

    :raises CheckpointError: there is no checkpoint, or none is whole.
    """
    refused = []
    for path in checkpoints(run_folder):
        try:
            return read_checkpoint(path), refused
        except CheckpointError as exc:
            if "is damaged" not in str(exc):
                raise
            refused.append(str(exc))
    if refused:
        raise CheckpointError("no checkpoint to resume from: " + "; ".join(refused))
    raise CheckpointError(f"{run_folder} has no checkpoint to resume from (looked in "
                          f"{Path(run_folder) / SUBFOLDER}); is it a run folder?")


def check_compatible(checkpoint: Checkpoint, plugin: str, plugin_version: str) -> None:
    """Refuse to resume with another plugin or other versions than the ones that wrote it.

    :raises CheckpointError: naming the versions and what to do.
    """
    info = checkpoint.info
    if plugin != info.plugin:
        raise CheckpointError(
            f"checkpoint {checkpoint.path} was written for problem {info.problem!r} of plugin "
            f"{info.plugin!r}, but that problem now comes from plugin {plugin!r}")
    if plugin_version != info.plugin_version:
        raise CheckpointError(
            f"checkpoint {checkpoint.path} was written by plugin {info.plugin!r} "
            f"{info.plugin_version}, but {plugin_version} is installed; the run would not "
            f"continue as it began: install {info.plugin} {info.plugin_version} to resume it, "
            "or start a new run")
    if checkpoint.evoengine_version != __version__:
        raise CheckpointError(
            f"checkpoint {checkpoint.path} was written by evoengine "
            f"{checkpoint.evoengine_version}, but {__version__} is installed; install "
            f"evoengine {checkpoint.evoengine_version} to resume it, or start a new run")
