"""Shared fixtures: the CLI fixtures every plugin's tests use too come from evoengine.testing."""

from evoengine.testing import cli_env, evoengine_cmd  # noqa: F401  (pytest fixtures)
