"""The minimax plugin's tests: run with the others by `make test`, or alone with
`pytest plugins/minimax/tests`, as a third party's plugin would test itself."""

from evoengine.testing import cli_env, evoengine_cmd  # noqa: F401  (pytest fixtures)
