"""Numba's cache never serves a kernel compiled against an older callee in another file
(evoengine/numba_cache.py). Each run compiles in a fresh interpreter, as a user's next run
would."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import evoengine
from evoengine import numba_cache

INNER = "from numba import njit\n\n@njit(cache=True)\ndef inner(x):\n    return x + {step}\n"
OUTER = textwrap.dedent("""
    from numba import njit
    from kernels_pkg.inner import inner

    @njit(cache=True)
    def outer(x):
        return inner(x) * 10
""")
# Pretends kernels_pkg is the engine: its sources are the ones the stamp must cover.
RUN = textwrap.dedent("""
    import sys
    from pathlib import Path
    import evoengine.numba_cache as locators
    locators.ENGINE_ROOT = Path(sys.argv[1]).resolve()
    from kernels_pkg.outer import outer
    print(outer(1), outer.stats.cache_hits.get(outer.signatures[0], 0) if outer.signatures else 0)
""")


def run_outer(package: Path, locator_classes: str | None) -> tuple[int, int]:
    env = dict(os.environ)
    env.pop("NUMBA_CACHE_DIR", None)
    env["PYTHONPATH"] = os.pathsep.join([str(package.parent), env.get("PYTHONPATH", "")])
    if locator_classes is None:
        env.pop("NUMBA_CACHE_LOCATOR_CLASSES", None)  # evoengine's default
    else:
        env["NUMBA_CACHE_LOCATOR_CLASSES"] = locator_classes
    done = subprocess.run([sys.executable, "-c", RUN, str(package)], env=env, text=True,
                          capture_output=True, timeout=300, check=True)
    value, hits = done.stdout.split()
    return int(value), int(hits)


def kernels_package(root: Path) -> Path:
    package = root / "kernels_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "inner.py").write_text(INNER.format(step=1))
    (package / "outer.py").write_text(OUTER)
    return package


@pytest.mark.parametrize(("locator_classes", "after_change"), [
    (None, 30),                   # evoengine's locators: the caller recompiles
    ("InTreeCacheLocator", 20),   # Numba's own: the stale caller (why this module exists)
])
def test_a_cached_caller_follows_its_callee_in_another_file(tmp_path, locator_classes,
                                                            after_change):
    package = kernels_package(tmp_path)
    assert run_outer(package, locator_classes) == (20, 0)  # compiled, cache written
    assert run_outer(package, locator_classes) == (20, 1)  # served from the cache
    (package / "inner.py").write_text(INNER.format(step=2))
    assert run_outer(package, locator_classes)[0] == after_change


def test_files_outside_engine_and_plugins_keep_numbas_stamp(tmp_path):
    assert numba_cache.dependency_stamp(str(tmp_path / "script.py")) is None
    engine_file = str(Path(evoengine.__file__).parent / "operators" / "mutation.py")
    assert numba_cache.dependency_stamp(engine_file) == numba_cache.source_hash(
        numba_cache.ENGINE_ROOT)


def test_a_plugin_files_stamp_covers_the_engine_and_its_own_package():
    roots = numba_cache.plugin_roots()
    equation = next(root for root in roots if root.name == "evoengine_equation")
    stamp = numba_cache.dependency_stamp(str(equation / "plugin.py"))
    assert stamp == (numba_cache.source_hash(numba_cache.ENGINE_ROOT)
                     + numba_cache.source_hash(equation))


def test_source_hash_changes_with_any_file(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    before = numba_cache.source_hash.__wrapped__(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.py").write_text("")
    assert numba_cache.source_hash.__wrapped__(tmp_path) != before


@pytest.mark.parametrize("users_choice", [None, "InTreeCacheLocator"])
def test_importing_evoengine_chooses_the_locators_unless_the_user_did(users_choice):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_LOCATOR_CLASSES"}
    if users_choice:
        env["NUMBA_CACHE_LOCATOR_CLASSES"] = users_choice
    code = ("import numba, evoengine, os; "
            "print(os.environ['NUMBA_CACHE_LOCATOR_CLASSES']); "
            "print(numba.core.config.CACHE_LOCATOR_CLASSES)")
    out = subprocess.run([sys.executable, "-c", code], env=env, text=True,
                         capture_output=True, check=True).stdout.split()
    expected = users_choice or evoengine._LOCATORS
    assert out == [expected, expected]
