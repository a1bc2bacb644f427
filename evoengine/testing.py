"""Test helpers for evoengine and for problem plugins' own test suites.

A plugin's ``tests/conftest.py`` takes the fixtures by importing them::

    from evoengine.testing import cli_env, evoengine_cmd  # noqa: F401  (pytest fixtures)

- ``evoengine_cmd``: the ``evoengine`` command of this interpreter, for ``subprocess.run``;
- ``cli_env``: the environment to run it in (every installed plugin enabled, wide output);
- :func:`one_error_line`: the check every refused input gets: exactly one line of output, an
  ``error:`` line, no traceback.

Imports pytest, so only tests import this module.
"""

from __future__ import annotations

import os
import re
import sys

import pytest


@pytest.fixture
def cli_env() -> dict[str, str]:
    """Environment for running the ``evoengine`` command in a subprocess."""
    env = dict(os.environ)
    env.pop("EVOENGINE_DISABLE_PLUGINS", None)
    env["COLUMNS"] = "200"
    return env


@pytest.fixture
def evoengine_cmd() -> list[str]:
    return [sys.executable, "-m", "evoengine.cli"]


def one_error_line(output: str, pattern: str = "") -> str:
    """The only line of ``output`` (blank lines aside); fails unless it starts with
    ``error: `` and matches the regular expression ``pattern``."""
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got:\n{output}"
    assert lines[0].startswith("error: "), lines[0]
    assert re.search(pattern, lines[0]), f"{pattern!r} not in {lines[0]!r}"
    return lines[0]
