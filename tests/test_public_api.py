"""Bundled plugins are written against the public API only (docs/design/contract.md, section 6).

Every import in every bundled plugin's package is read with ``ast`` (never executed): a module
of evoengine outside the public ones, a name starting with ``_``, or a name a public module
does not list in its ``__all__`` fails the test, naming the file and line.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_FILES = sorted(p for p in (ROOT / "plugins").glob("*/evoengine_*/**/*.py"))

# What a plugin may import (contract.md, section 6).
PUBLIC_MODULES = {
    "evoengine": "Genome, Objective, Problem, Evaluation, EvaluationContext, Summary, "
                 "hookimpl, errors",
    "evoengine.errors": "the error classes",
    "evoengine.kernels": "population kernels, population_kernel, streams",
    "evoengine.io": "write_atomic",
    "evoengine.gp": "PrimitiveSet, TreeProblem, Trees, the one stack machine",
    "evoengine.run": "optimize, make_optimizer, run_problem",
    "evoengine.config": "settings models and readers",
    "evoengine.algorithms": "Evolution, Offspring and the named algorithms",
    "evoengine.backends": "Backend, Outcome (an optimizer that evaluates its own members)",
    "evoengine.records": "RunView, GenerationRecord, Recorder (the lifecycle hooks' types)",
    "evoengine.testing": "test fixtures for plugins' tests",
}


def evoengine_imports(path: Path):
    """``(line, module, name or None)`` for each import of evoengine in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "evoengine" or alias.name.startswith("evoengine."):
                    yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and (
                node.module == "evoengine" or node.module.startswith("evoengine.")):
            for alias in node.names:
                yield node.lineno, node.module, alias.name


def private_use(module: str, name: str | None) -> str | None:
    """Why importing ``name`` from ``module`` breaks the contract, or None."""
    if module not in PUBLIC_MODULES:
        return f"module {module!r} is not public (see PUBLIC_MODULES)"
    if name is None:
        return None
    if name.startswith("_"):
        return f"{module}.{name} is private"
    exported = getattr(importlib.import_module(module), "__all__", None)
    if exported is not None and name not in exported and not (
            module == "evoengine" and f"evoengine.{name}" in PUBLIC_MODULES):
        return f"{module} does not export {name!r} (its __all__)"
    return None


def test_the_plugins_are_found():
    packages = {p.relative_to(ROOT / "plugins").parts[0] for p in PLUGIN_FILES}
    assert {"equation", "gan", "minimax", "routing"} <= packages


@pytest.mark.parametrize("path", PLUGIN_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_plugin_imports_only_the_public_api(path):
    problems = [f"{path.relative_to(ROOT)}:{line}: {why}"
                for line, module, name in evoengine_imports(path)
                if (why := private_use(module, name))]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("source, expected", [
    ("from evoengine.operators.compile import population_kernel", "is not public"),
    ("from evoengine.gp import _in_blocks", "is private"),
    ("from evoengine.gp import OPCODEX", "does not export"),
    ("import evoengine.report", "is not public"),
    ("from evoengine.kernels import population_kernel", None),
    ("from evoengine import Problem, errors", None),
])
def test_the_check_tells_private_from_public(tmp_path, source, expected):
    path = tmp_path / "plugin.py"
    path.write_text(source + "\n")
    reasons = [private_use(module, name) for _, module, name in evoengine_imports(path)]
    if expected is None:
        assert reasons == [None] * len(reasons) and reasons
    else:
        assert any(r and expected in r for r in reasons), reasons


def test_public_modules_import_and_export_what_they_list():
    for module in PUBLIC_MODULES:
        imported = importlib.import_module(module)
        for name in getattr(imported, "__all__", []):
            assert hasattr(imported, name), f"{module}.__all__ lists {name!r}, which is missing"
