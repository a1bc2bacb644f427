"""Shared fixtures: the CLI fixtures every plugin's tests use too come from evoengine.testing."""

from pathlib import Path

import pytest

from evoengine.testing import cli_env, evoengine_cmd  # noqa: F401  (pytest fixtures)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
