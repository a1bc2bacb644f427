"""Plugin loading: entry points, the registry, broken plugins, the off switch."""

import inspect
import subprocess
import sys
import textwrap
from importlib.metadata import EntryPoint

import pytest

import evoengine
from evoengine import hookspecs, plugins
from evoengine.errors import DuplicateProblemError, ProblemLookupError
from evoengine.registry import ProblemRegistry


class _Plugin:
    def __init__(self, *names):
        self.names = names

    @evoengine.hookimpl
    def evoengine_register_problems(self, registry):
        for name in self.names:
            registry.add(name, lambda s: None, summary="test")


def test_builtin_equation_plugin_loads_through_its_entry_point():
    loaded = plugins.load_plugins()
    assert "equation" in loaded.plugins
    assert loaded.registry.get("equation").plugin == "equation"
    assert {"equation", "rastrigin", "sphere"} <= set(loaded.plugins["equation"].problems)


def test_duplicate_problem_names_both_plugins():
    with pytest.raises(DuplicateProblemError, match="'first'.*'second'"):
        plugins.load_plugins(only=[], extra={"first": _Plugin("dup"), "second": _Plugin("dup")})


def test_unknown_problem_suggests_close_matches():
    registry = ProblemRegistry()
    registry.add("rastrigin", lambda s: None)
    registry.add("rosenbrock", lambda s: None)
    with pytest.raises(ProblemLookupError, match="did you mean 'rastrigin'"):
        registry.get("rastrign")


def test_broken_plugin_is_reported_and_skipped(monkeypatch):
    broken = EntryPoint("broken", "no_such_module_xyz.plugin", "evoengine")
    real = list(plugins.entry_points(group="evoengine"))
    monkeypatch.setattr(plugins, "entry_points", lambda group: [broken, *real])
    loaded = plugins.load_plugins()
    assert "broken" in loaded.failures and "no_such_module_xyz" in loaded.failures["broken"]
    assert "equation" in loaded.registry


def test_plugin_whose_hook_raises_is_skipped():
    class Raises:
        @evoengine.hookimpl
        def evoengine_register_problems(self, registry):
            raise RuntimeError("boom")

    loaded = plugins.load_plugins(extra={"raises": Raises(), "fine": _Plugin("ok")})
    assert "boom" in loaded.failures["raises"] and "ok" in loaded.registry


@pytest.mark.parametrize("value, expect_equation", [("1", False), ("equation", False),
                                                    ("other", True), ("0", True)])
def test_disable_env(monkeypatch, value, expect_equation):
    monkeypatch.setenv(plugins.DISABLE_ENV, value)
    assert ("equation" in plugins.load_plugins().registry) is expect_equation


def test_only_loads_named_plugins_even_with_autoload_off(monkeypatch):
    monkeypatch.setenv(plugins.DISABLE_ENV, "1")
    assert "equation" in plugins.load_plugins(only=["equation"]).registry


def test_every_hookspec_is_documented():
    specs = [f for name, f in inspect.getmembers(hookspecs, inspect.isfunction)
             if name.startswith("evoengine_")]
    assert specs
    for spec in specs:
        doc = inspect.getdoc(spec) or ""
        params = [p for p in inspect.signature(spec).parameters]
        for p in params:
            assert f":param {p}:" in doc, f"{spec.__name__} does not document {p}"
        assert all(p in spec.__annotations__ for p in params), spec.__name__


THIRD_PARTY = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "evoengine-onemax-test"
        version = "3.2.1"

        [project.entry-points.evoengine]
        onemax = "evoengine_onemax_test"
        """,
    "evoengine_onemax_test/__init__.py": '''
        """A third party's plugin: count the ones in a bit string."""
        import numpy as np
        import evoengine
        from evoengine import Genome, Objective, Problem
        from evoengine.registry import NoSettings

        class OneMax(Problem):
            def __init__(self):
                super().__init__(Genome("binary", 20), (Objective("ones", "maximize"),),
                                 defaults={"population_size": 30, "generations": 40,
                                           "mutation": "bit_flip", "gene_probability": 0.05})

            def evaluate(self, genomes):
                return genomes.sum(axis=1, keepdims=True).astype(float)

        @evoengine.hookimpl
        def evoengine_register_problems(registry):
            registry.add("onemax", lambda settings: OneMax(), summary="count ones")
        ''',
}


def test_third_party_plugin_installed_from_its_own_package(tmp_path, cli_env):
    """A package written here, pip-installed into a target folder, found by entry point."""
    src = tmp_path / "src"
    for rel, text in THIRD_PARTY.items():
        path = src / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(site), str(src)],
                   check=True, capture_output=True)
    env = {**cli_env, "PYTHONPATH": str(site)}
    listing = subprocess.run([sys.executable, "-m", "evoengine.cli", "plugins"], env=env,
                             capture_output=True, text=True, check=True).stdout
    assert "onemax" in listing and "3.2.1" in listing
    run = subprocess.run([sys.executable, "-m", "evoengine.cli", "run", "onemax", "--seed", "3",
                          "--quiet", "--out", str(tmp_path / "runs")], env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "best: ones = " in run.stdout
    assert list((tmp_path / "runs").glob("onemax-*/best.json"))


# --- the registry and the loader, message by message ----------------------------------------
def test_a_registered_problem_keeps_its_plugin_factory_settings_and_summary():
    from evoengine.registry import NoSettings

    registry = ProblemRegistry()
    built = []
    registry.add("plain", lambda s: built.append(s) or "problem")
    registry.registering_for("mine")
    registry.add("named", lambda s: None, settings=NoSettings, summary="one line")
    plain, named = registry.get("plain"), registry.get("named")
    assert (plain.name, plain.plugin, plain.settings, plain.summary) == (
        "plain", "<direct>", NoSettings, "")
    assert (named.plugin, named.summary) == ("mine", "one line")
    assert plain.build(NoSettings()) == "problem" and built == [NoSettings()]
    assert [e.name for e in registry] == ["named", "plain"] and len(registry) == 2
    assert "plain" in registry and "other" not in registry


def test_a_duplicate_name_is_refused_naming_both_plugins():
    registry = ProblemRegistry()
    registry.registering_for("first")
    registry.add("dup", lambda s: None)
    registry.registering_for("second")
    with pytest.raises(DuplicateProblemError) as err:
        registry.add("dup", lambda s: None)
    assert str(err.value) == ("problem 'dup' is registered by both plugin 'first' and plugin "
                              "'second'; uninstall or disable one of them")
    assert registry.get("dup").plugin == "first"


def test_an_unknown_problem_lists_up_to_three_close_names_and_every_known_one():
    registry = ProblemRegistry()
    with pytest.raises(ProblemLookupError) as err:
        registry.get("x")
    assert str(err.value) == "unknown problem 'x'; known problems: none (no plugin loaded)"
    for name in ("sphere2", "sphere1", "sphere3", "sphere4", "tsp"):
        registry.add(name, lambda s: None)
    with pytest.raises(ProblemLookupError) as err:
        registry.get("sphere")
    # difflib's three best; equal scores in reverse alphabetical order
    assert str(err.value) == ("unknown problem 'sphere'; did you mean 'sphere4', 'sphere3', "
                              "'sphere2'? known problems: sphere1, sphere2, sphere3, sphere4, "
                              "tsp")
    with pytest.raises(ProblemLookupError) as err:
        registry.get("zzz")
    assert "did you mean" not in str(err.value)


@pytest.mark.parametrize("value, disabled", [
    ("", None), ("0", None), ("false", None), ("No", None), (" FALSE ", None),
    ("1", set()), ("true", set()), ("Yes", set()), ("all", set()),
    ("a, b,,c ", {"a", "b", "c"}), ("equation", {"equation"}),
])
def test_the_off_switch_reads_every_spelling(monkeypatch, value, disabled):
    monkeypatch.setenv(plugins.DISABLE_ENV, value)
    assert plugins._disabled_names() == disabled


def test_without_the_off_switch_every_plugin_loads(monkeypatch):
    monkeypatch.delenv(plugins.DISABLE_ENV, raising=False)
    assert plugins._disabled_names() is None


def _points(monkeypatch, *points):
    monkeypatch.setattr(plugins, "entry_points", lambda group: list(points))


def test_entry_points_are_filtered_by_only_and_by_the_off_switch(monkeypatch):
    a, b = (EntryPoint(n, f"{n}_module", "evoengine") for n in ("a", "b"))
    _points(monkeypatch, a, b)
    monkeypatch.delenv(plugins.DISABLE_ENV, raising=False)
    assert plugins._entry_points(None) == [a, b]
    assert plugins._entry_points(["b"]) == [b] and plugins._entry_points([]) == []
    monkeypatch.setenv(plugins.DISABLE_ENV, "a")
    assert plugins._entry_points(None) == [b] and plugins._entry_points(["a"]) == [a]
    monkeypatch.setenv(plugins.DISABLE_ENV, "1")
    assert plugins._entry_points(None) == [] and plugins._entry_points(["a", "b"]) == [a, b]


def test_a_broken_entry_point_is_one_failure_line_and_loaded_once(monkeypatch):
    broken = EntryPoint("broken", "no_such_module_xyz.plugin", "evoengine")
    _points(monkeypatch, broken, broken)
    loaded = plugins.load_plugins()
    assert loaded.failures == {"broken": "import of 'no_such_module_xyz.plugin' failed: "
                                         "ModuleNotFoundError: No module named "
                                         "'no_such_module_xyz'"}
    assert loaded.plugins == {} and len(loaded.registry) == 0


def test_plugins_record_their_version_and_the_problems_they_added(monkeypatch):
    import types

    module = types.ModuleType("versioned")
    module.__version__ = "2.5"
    module.evoengine_register_problems = evoengine.hookimpl(
        lambda registry: [registry.add(n, lambda s: None) for n in ("zeta", "alpha")])
    _points(monkeypatch)
    loaded = plugins.load_plugins(extra={"versioned": module, "plain": _Plugin("beta"),
                                         "silent": object()})
    assert loaded.plugins["versioned"] == plugins.PluginInfo("versioned", "2.5",
                                                             ["alpha", "zeta"])
    assert loaded.plugins["plain"] == plugins.PluginInfo("plain", "-", ["beta"])
    assert loaded.plugins["silent"] == plugins.PluginInfo("silent", "-", [])
    assert loaded.registry.get("beta").plugin == "plain" and loaded.failures == {}


def test_an_entry_point_plugin_records_its_distribution_version():
    loaded = plugins.load_plugins(only=["equation"])
    from importlib.metadata import version

    info = loaded.plugins["equation"]
    assert (info.name, info.version) == ("equation", version("evoengine-equation"))
    assert loaded.manager.has_plugin("equation")


def test_a_hook_that_raises_is_one_failure_line_and_its_plugin_is_dropped(monkeypatch):
    class Raises:
        @evoengine.hookimpl
        def evoengine_register_problems(self, registry):
            registry.add("half", lambda s: None)
            raise RuntimeError("boom")

    _points(monkeypatch)
    loaded = plugins.load_plugins(extra={"raises": Raises()})
    assert loaded.failures == {"raises": "registering problems failed: RuntimeError: boom"}
    assert "raises" not in loaded.plugins


# --- lifecycle hooks: a broken observer is skipped, a user's mistake still stops -------------
class _Observer:
    def __init__(self, name, result=None, error=None):
        self.name, self.result, self.error, self.calls = name, result, error, []

    @evoengine.hookimpl
    def evoengine_run_end(self, run, result):
        self.calls.append((run, result))
        if self.error is not None:
            raise self.error
        return self.result


def _manager(*observers):
    manager = plugins.new_manager()
    for observer in observers:
        manager.register(observer, name=observer.name)
    return manager


def test_hooks_are_called_in_registration_order_with_their_arguments(caplog):
    first, quiet, broken, last = (_Observer("first", ["a"]), _Observer("quiet"),
                                  _Observer("broken", error=RuntimeError("disk gone")),
                                  _Observer("last", ["b", "c"]))
    manager = _manager(first, quiet, broken, last)
    with caplog.at_level("WARNING", logger="evoengine.plugins"):
        results = plugins.call_hook(manager, "evoengine_run_end", run="R", result="X")
    assert results == [["a"], ["b", "c"]]  # None left out; the broken one skipped
    assert all(o.calls == [("R", "X")] for o in (first, quiet, broken, last))
    assert [r.getMessage() for r in caplog.records] == [
        "plugin 'broken': its evoengine_run_end failed and was skipped: RuntimeError: disk gone"]
    assert plugins.call_hook(plugins.new_manager(), "evoengine_run_end", run=1, result=2) == []


def test_a_users_mistake_in_a_hook_still_stops_the_run():
    from evoengine.errors import ConfigError

    later = _Observer("later", ["never"])
    manager = _manager(_Observer("strict", error=ConfigError("setting 'x': bad")), later)
    with pytest.raises(ConfigError, match="setting 'x': bad"):
        plugins.call_hook(manager, "evoengine_run_end", run=1, result=2)


def test_hook_wrappers_go_through_pluggys_own_call():
    class Wrapper:
        @evoengine.hookimpl(wrapper=True)
        def evoengine_run_end(self, run, result):
            outcome = yield
            return [*outcome, ["wrapped"]]

    manager = _manager(_Observer("first", ["a"]), _Observer("second", ["b"]))
    manager.register(Wrapper(), name="wrapper")
    assert plugins.call_hook(manager, "evoengine_run_end", run=1, result=2) == [
        ["wrapped"], ["a"], ["b"]]


def test_an_entry_point_listed_twice_loads_once_and_a_broken_one_stops_nothing(monkeypatch):
    good = EntryPoint("faulty", "faulty_plugin", "evoengine")  # no distribution: version "?"
    broken = EntryPoint("broken", "no_such_module_xyz", "evoengine")
    monkeypatch.delenv(plugins.DISABLE_ENV, raising=False)
    # a repeated name, loaded or failed, is skipped and the ones after it still load
    for order in ((broken, broken, good, good), (good, good, broken)):
        _points(monkeypatch, *order)
        loaded = plugins.load_plugins()
        assert list(loaded.failures) == ["broken"]
        assert loaded.plugins == {"faulty": plugins.PluginInfo("faulty", "?", ["faulty"])}
        assert loaded.registry.get("faulty").plugin == "faulty"
