"""Shared fixtures."""

import os
import sys
from pathlib import Path

import pytest


@pytest.fixture
def cli_env(tmp_path):
    """Environment for running the ``evoengine`` CLI in a subprocess."""
    env = dict(os.environ)
    env.pop("EVOENGINE_DISABLE_PLUGINS", None)
    env["COLUMNS"] = "200"
    return env


@pytest.fixture
def evoengine_cmd():
    return [sys.executable, "-m", "evoengine.cli"]


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
