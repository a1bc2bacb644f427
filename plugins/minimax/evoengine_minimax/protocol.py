"""Your own game in plain Python: the protocol, and the check that a class follows it.

A game class needs::

    class MyGame:
        FEATURES = ("own_x", "opp_x")          # names of what features() returns

        def __init__(self): ...                 # the starting position
        to_move: int                            # 0 or 1, the player to move
        def legal_moves(self) -> list: ...      # moves of the player to move (hashable)
        def play(self, move) -> "MyGame": ...   # a NEW position; self is left unchanged
        def result(self) -> int | None: ...     # None while the game goes on; else the winner
                                                # (0 or 1) or 2 for a draw
        def features(self, player) -> list[float]: ...  # one number per FEATURES name, seen
                                                # from ``player``'s side
        def key(self):  # optional: a hashable key of the position, for the transposition table

A position with no legal moves must have a result. ``evoengine run minimax --set
game=python:mypackage.mygame:MyGame`` loads it (by import, never by evaluating text). Such
games are searched by :mod:`evoengine_minimax.reference`, the same alpha-beta in Python: slower
than the compiled games, with every feature of the tuning.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from evoengine.errors import ConfigError

REQUIRED_METHODS = ("legal_moves", "play", "result", "features")


@runtime_checkable
class Game(Protocol):
    """A two-player, zero-sum, perfect-information game position."""

    FEATURES: Sequence[str]
    to_move: int

    def legal_moves(self) -> Sequence[Any]: ...

    def play(self, move: Any) -> Game: ...

    def result(self) -> int | None: ...

    def features(self, player: int) -> Sequence[float]: ...


def load_game_class(spec: str) -> type:
    """``"package.module:Class"`` imported, checked, returned; ConfigError if it is not a game."""
    module_name, sep, class_name = spec.partition(":")
    # Absolute dotted names only: ".foo" would be a relative import, which has no package here.
    if not sep or not all(part.isidentifier() for part in module_name.split(".")) \
            or not class_name.isidentifier():
        raise ConfigError(f"setting 'game': expected python:package.module:Class, got "
                          f"'python:{spec}'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"setting 'game': cannot import module {module_name!r}: {exc}") from None
    except Exception as exc:  # the module's own code failed while it was imported
        raise ConfigError(f"setting 'game': importing module {module_name!r} raised "
                          f"{type(exc).__name__}: {exc}") from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise ConfigError(f"setting 'game': module {module_name!r} has no class {class_name!r}")
    check_game_class(cls)
    return cls


def check_game_class(cls: type) -> None:
    """Raise ConfigError naming the first way ``cls`` breaks the game protocol."""
    name = cls.__name__
    missing = [m for m in REQUIRED_METHODS if not callable(getattr(cls, m, None))]
    if missing:
        raise ConfigError(f"game class {name} breaks the protocol: missing method(s) "
                          f"{', '.join(missing)} (needs {', '.join(REQUIRED_METHODS)})")
    names = getattr(cls, "FEATURES", None)
    if (not isinstance(names, (tuple, list)) or not names
            or not all(isinstance(n, str) for n in names)):
        raise ConfigError(f"game class {name} breaks the protocol: FEATURES must be a "
                          "non-empty tuple of feature names")
    try:
        start = cls()
    except Exception as exc:
        raise ConfigError(f"game class {name}: {name}() must build the starting position; it "
                          f"raised {type(exc).__name__}: {exc}") from None
    if getattr(start, "to_move", None) not in (0, 1):
        raise ConfigError(f"game class {name} breaks the protocol: to_move must be 0 or 1")
    moves = list(start.legal_moves())
    if not moves or start.result() is not None:
        raise ConfigError(f"game class {name} breaks the protocol: the starting position must "
                          "have legal moves and result() None")
    for player in (0, 1):
        values = list(start.features(player))
        if len(values) != len(names):
            raise ConfigError(f"game class {name} breaks the protocol: features() returned "
                              f"{len(values)} values for {len(names)} FEATURES")
    after = start.play(moves[0])
    if not isinstance(after, cls) or after is start:
        raise ConfigError(f"game class {name} breaks the protocol: play(move) must return a "
                          f"new {name}")
    if after.to_move == start.to_move and list(after.legal_moves()) == moves:
        raise ConfigError(f"game class {name} breaks the protocol: play(move) changed nothing "
                          "(does it modify self instead of returning a new position?)")
