"""Worker processes that cannot outlive their run, and a bound on how many a run starts.

``daemon=True`` only helps when the parent exits through Python; after ``kill -9`` or an OOM
kill of the parent, its workers would run on until their evaluation returns (forever, if it
hangs). A worker calls :func:`die_with_parent` first thing:

- on Linux the kernel sends it SIGKILL the moment its parent dies (``prctl`` with
  ``PR_SET_PDEATHSIG``, through ctypes), even while it is stuck in compiled code;
- everywhere, a watchdog thread waits on the parent's sentinel and ends the process, for the
  platforms without ``prctl``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing as mp
import os
import signal
import sys
import threading

from evoengine.backends.base import BackendError

_PR_SET_PDEATHSIG = 1
# Worker processes per core: more only share the same cores while each holds a problem's
# memory (and a spawn of a hundred thousand processes stalls the machine).
WORKERS_PER_CORE = 4


def die_with_parent() -> None:
    """Make this (worker) process end when the process that started it ends."""
    parent = mp.parent_process()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watchdog below still ends it
    if parent is None:
        return
    if parent.pid != os.getppid():  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        from multiprocessing.connection import wait

        wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="evoengine-parent-watchdog", daemon=True).start()


def check_worker_count(workers: int, cores: int) -> None:
    """Refuse more local worker processes than :data:`WORKERS_PER_CORE` per core.

    :raises BackendError: naming the setting and the most this machine takes.
    """
    most = WORKERS_PER_CORE * cores
    if workers > most:
        raise BackendError(f"setting 'workers': {workers} worker processes for {cores} cores; "
                           f"backend 'processes' starts at most {most} ({WORKERS_PER_CORE} per "
                           "core) on this machine")
