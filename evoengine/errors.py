"""Errors a user can fix. The CLI prints them as one line and exits with code 2."""


class EvoengineError(Exception):
    """Base of every error caused by input the user can correct."""


class ConfigError(EvoengineError):
    """A setting is unknown, of the wrong type or out of range."""


class ProblemLookupError(EvoengineError):
    """No problem of that name is registered."""


class DuplicateProblemError(EvoengineError):
    """Two plugins registered the same problem name."""


class NoValidSolutionError(EvoengineError):
    """A run ended without one valid evaluation, so it has no best solution to report."""
