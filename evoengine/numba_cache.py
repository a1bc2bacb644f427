"""Numba cache locators that never load a kernel compiled against an older callee.

Numba's on-disk cache (``cache=True``) stamps a function's machine code with its own source
file only. A plugin kernel that calls an engine kernel keeps the old engine code inlined after
the engine changes, and results change silently: seen here, a GP expression evaluated to 36
instead of 14 after the evaluator gained opcodes, until the plugin's ``.nbi``/``.nbc`` files
were deleted. Numba leaves this to the user (numba issue #6845).

These locators add a second part to the stamp of every file in the engine or in an installed
evoengine plugin: a hash of the engine's sources, and of the plugin package's own sources.
Change an engine file and every kernel compiles afresh once; change a plugin file and that
plugin's kernels do. Files outside the engine and its plugins keep Numba's own stamp.

Numba imports this module itself: :func:`evoengine._use_engine_cache_locators` names these
classes in ``NUMBA_CACHE_LOCATOR_CLASSES`` (unless the user set that variable) before any
kernel is compiled.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from importlib.metadata import entry_points
from pathlib import Path

from numba.core import caching

ENGINE_ROOT = Path(__file__).resolve().parent


@functools.cache
def source_hash(root: Path) -> str:
    """A hash of every ``.py`` file under ``root`` (names and contents); once a process."""
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(root.rglob("*.py")):
        try:
            content = path.read_bytes()
        except OSError:
            continue
        digest.update(f"{path.relative_to(root)}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


@functools.cache
def plugin_roots() -> tuple[Path, ...]:
    """The top-level package folder of each installed evoengine plugin, found without
    importing the plugins."""
    roots = []
    try:
        found = list(entry_points(group="evoengine"))
    except Exception:  # noqa: BLE001 - broken metadata must not stop a kernel from compiling
        found = []
    for ep in found:
        top = ep.value.split(":")[0].split(".")[0]
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            continue
        if spec is not None:
            roots.extend(Path(p).resolve() for p in spec.submodule_search_locations or [])
    return tuple(sorted(set(roots)))


def dependency_stamp(py_file: str) -> str | None:
    """The stamp of the sources a kernel in ``py_file`` may inline: the engine's, plus the
    plugin package's it belongs to; None for a file outside both."""
    path = Path(py_file).resolve()
    if path.is_relative_to(ENGINE_ROOT):
        return source_hash(ENGINE_ROOT)
    for root in plugin_roots():
        if path.is_relative_to(root):
            return source_hash(ENGINE_ROOT) + source_hash(root)
    return None


class _DependencyStampMixin:
    def get_source_stamp(self):
        own = super().get_source_stamp()
        dependencies = dependency_stamp(self._py_file)
        return own if dependencies is None else (own, dependencies)


class UserProvidedCacheLocator(_DependencyStampMixin, caching.UserProvidedCacheLocator):
    """Numba's ``NUMBA_CACHE_DIR`` locator, stamped with the engine's sources too."""


class InTreeCacheLocator(_DependencyStampMixin, caching.InTreeCacheLocator):
    """Numba's ``__pycache__`` locator, stamped with the engine's sources too."""


class UserWideCacheLocator(_DependencyStampMixin, caching.UserWideCacheLocator):
    """Numba's user-wide locator (read-only installs), stamped with the engine's sources too."""

