"""Observers: plugins that watch a run through the lifecycle hooks and change nothing in it.

An observer implements ``evoengine_run_start``, ``evoengine_generation_end`` and
``evoengine_run_end`` (:mod:`evoengine.hookspecs`), as a third party's plugin would. The ones
bundled here are chosen by the ``observer`` setting (``--set observer=tensorboard``): a run
attaches each chosen observer to its plugin manager as it starts.
"""

from __future__ import annotations

import importlib

import pluggy

from evoengine.errors import ConfigError

# name -> (module, the class whose instance is registered, what to install when missing)
BUNDLED = {
    "tensorboard": ("evoengine.observers.tensorboard", "TensorBoardObserver",
                    "pip install 'evoengine[tensorboard]'"),
}


def attach_observers(manager: pluggy.PluginManager, names: list[str]) -> None:
    """Register the observers ``names`` (the ``observer`` setting) with ``manager``, once.

    :raises ConfigError: an observer's optional dependencies are not installed (with the
        command that installs them).
    """
    for name in names:
        plugin_name = f"observer:{name}"
        if manager.has_plugin(plugin_name):
            continue
        module_name, class_name, install = BUNDLED[name]
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigError(f"setting 'observer': {name!r} needs {exc.name or 'a package'} "
                              f"({install})") from None
        manager.register(getattr(module, class_name)(), name=plugin_name)
