"""OpenSpiel games as :mod:`evoengine_minimax.protocol` games: ``game=openspiel:NAME``.

Any OpenSpiel game that is two-player, zero-sum (or constant-sum), sequential, with perfect
information and no chance nodes can be tuned; others are refused with one line saying why.
``NAME`` is what ``pyspiel.load_game`` reads, parameters included (``breakthrough(rows=5,
columns=5)``); OpenSpiel parses it, nothing is evaluated. pyspiel is imported only here, on
demand (``pip install 'evoengine-minimax[openspiel]'``).

Positions wrap a pyspiel state; ``play`` clones it (the protocol's copy), so nothing is undone
in place. The winner is the player with the larger return; equal returns are a draw. Features,
from ``player``'s side:

- ``own_mobility``, ``opp_mobility``: legal actions of each player at its most recent turn to
  move (now, for the side to move; OpenSpiel lists no actions for the side not to move). At the
  start both count the first player's actions; at the end the side to move has 0.
- ``obs_<k>``: the sum of plane ``k`` (first axis) of ``observation_tensor(player)``, when the
  game provides one with at most 32 planes, else its total sum ``obs_sum`` (tic-tac-toe:
  empty cells, O's, X's, the same for both players).

The position key for the transposition table is the action history: always exact, it merges
no transpositions (a board string may hide repetition counts and move clocks).
"""

from __future__ import annotations

from evoengine.errors import ConfigError

INSTALL_HINT = "pip install 'evoengine-minimax[openspiel]'"
MAX_PLANES = 32


def _pyspiel():
    try:
        import pyspiel
    except ImportError:
        raise ConfigError(f"setting 'game': OpenSpiel games need pyspiel: {INSTALL_HINT}") \
            from None
    return pyspiel


def _problems(kind, players: tuple[int, int], t) -> list[str]:
    """Why a game of type ``kind`` (for ``players`` = (min, max) players) cannot be searched."""
    problems = []
    if not players[0] <= 2 <= players[1]:
        problems.append(f"{players[0]}-{players[1]} players (needs 2)")
    if kind.utility not in (t.Utility.ZERO_SUM, t.Utility.CONSTANT_SUM):
        problems.append(f"utility {kind.utility.name} (needs ZERO_SUM or CONSTANT_SUM)")
    if kind.dynamics != t.Dynamics.SEQUENTIAL:
        problems.append(f"dynamics {kind.dynamics.name} (needs SEQUENTIAL)")
    if kind.information != t.Information.PERFECT_INFORMATION:
        problems.append(f"information {kind.information.name} (needs PERFECT_INFORMATION)")
    if kind.chance_mode != t.ChanceMode.DETERMINISTIC:
        problems.append(f"chance mode {kind.chance_mode.name} (needs DETERMINISTIC)")
    return problems


def searchable_games() -> list[str]:
    """OpenSpiel's registered games that alpha-beta can search (their default parameters)."""
    pyspiel = _pyspiel()
    return sorted(k.short_name for k in pyspiel.registered_games()
                  if not _problems(k, (k.min_num_players, k.max_num_players), pyspiel.GameType))


def load_openspiel_game(name: str):
    """The pyspiel game ``name``, checked: ConfigError naming why it cannot be searched."""
    pyspiel = _pyspiel()
    # Checked here: pyspiel would print its whole list of games to stderr before raising.
    if name.partition("(")[0] not in pyspiel.registered_names():
        raise ConfigError(f"setting 'game': unknown OpenSpiel game {name!r}; searchable ones: "
                          f"{', '.join(searchable_games())}")
    try:
        game = pyspiel.load_game(name)
    except pyspiel.SpielError as exc:  # bad parameters
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        message = " ".join(lines or [type(exc).__name__])  # one line, choices included
        raise ConfigError(f"setting 'game': OpenSpiel cannot load {name!r}: "
                          f"{message.removeprefix('OpenSpiel exception: ')}") from None
    players = game.num_players()
    problems = _problems(game.get_type(), (players, players), pyspiel.GameType)
    if game.new_initial_state().is_terminal():  # e.g. checkers(rows=6,columns=6)
        problems.append("its starting position is already over")
    if problems:
        raise ConfigError(f"setting 'game': OpenSpiel game {name!r} cannot be searched by "
                          f"alpha-beta: {'; '.join(problems)}")
    return game


def _feature_names(game) -> tuple[str, ...]:
    names = ["own_mobility", "opp_mobility"]
    if game.get_type().provides_observation_tensor:
        shape = game.observation_tensor_shape()
        if len(shape) >= 2 and shape[0] <= MAX_PLANES:
            names += [f"obs_{k}" for k in range(shape[0])]
        else:
            names.append("obs_sum")
    return tuple(names)


def openspiel_game_class(name: str) -> type:
    """A protocol game class (``cls()`` = the starting position) for OpenSpiel's ``name``."""
    game = load_openspiel_game(name)
    names = _feature_names(game)
    planes = len(names) - 2 if names[-1] != "obs_sum" else 0
    with_obs = len(names) > 2

    class OpenSpielGame:
        __doc__ = f"OpenSpiel {name}, through evoengine_minimax.openspiel."
        FEATURES = names
        SPIEL_GAME = game

        def __init__(self, _state=None, _to_move=None, _mobility=None) -> None:
            if _state is None:
                _state = game.new_initial_state()
                start = len(_state.legal_actions())
                _mobility, _to_move = (start, start), _state.current_player()
            self.state, self.to_move, self.mobility = _state, _to_move, _mobility

        def legal_moves(self) -> list[int]:
            return [] if self.state.is_terminal() else list(self.state.legal_actions())

        def play(self, move: int) -> OpenSpielGame:
            mover = self.to_move
            mobility = list(self.mobility)
            mobility[mover] = len(self.state.legal_actions())
            child = self.state.clone()
            child.apply_action(move)
            # At the end, the side "to move" is the one who did not just move (the protocol's
            # convention: the player who made the last move is not to move).
            to_move = 1 - mover if child.is_terminal() else child.current_player()
            if child.is_terminal():
                mobility[to_move] = 0
            return OpenSpielGame(child, to_move, tuple(mobility))

        def result(self) -> int | None:
            if not self.state.is_terminal():
                return None
            first, second = self.state.returns()
            return 0 if first > second else (1 if second > first else 2)

        def features(self, player: int) -> list[float]:
            mobility = list(self.mobility)
            if not self.state.is_terminal():
                mobility[self.to_move] = len(self.state.legal_actions())
            values = [float(mobility[player]), float(mobility[1 - player])]
            if with_obs:
                tensor = self.state.observation_tensor(player)
                if planes:
                    size = len(tensor) // planes
                    values += [float(sum(tensor[k * size:(k + 1) * size]))
                               for k in range(planes)]
                else:
                    values.append(float(sum(tensor)))
            return values

        def key(self) -> tuple[int, ...]:
            return tuple(self.state.history())

        def __str__(self) -> str:
            return str(self.state)

    OpenSpielGame.__name__ = OpenSpielGame.__qualname__ = "OpenSpiel_" + game.get_type().short_name
    return OpenSpielGame
