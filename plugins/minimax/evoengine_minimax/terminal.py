"""``evoengine play``: a person against the alpha-beta player, in the terminal.

Moves are read from standard input one per line, so a game can also be piped in. A line that
is not a legal move is answered with the legal ones and read again; end of input ends the game.
"""

from __future__ import annotations

import sys

import click
import numpy as np

from evoengine_minimax.expression import heuristic_row
from evoengine_minimax.games import compiled_game
from evoengine_minimax.heuristic import load_heuristic, weights_vector
from evoengine_minimax.rules import moves_or_result, play
from evoengine_minimax.search import new_scratch, search
from evoengine_minimax.state import DRAW, SIDE


def play_in_terminal(game_name: str, heuristic_file: str | None, size: int | None, depth: int,
                     nodes: int, *, human_first: bool) -> None:
    """Play one game; the AI's weights come from ``heuristic_file`` or default to the article
    heuristic at w = 0.5 (own - opp on the first two features)."""
    game_name, game, weights = load_player(game_name, heuristic_file, size)
    scratch = new_scratch(game.state_size, len(game.features), depth, game.max_moves, 18)
    human = 0 if human_first else 1
    state = game.new_state()
    buf = np.empty(game.max_moves + 1, np.int64)
    echo = click.echo
    echo(f"{game_name}: you are {'XO'[human]}; the AI searches depth {depth}"
         + (f", {nodes} nodes" if nodes else ""))
    while True:
        echo(game.render(state))
        n, result = moves_or_result(state, buf)
        if n == 0:
            if result == DRAW:
                echo("draw.")
            else:
                echo("you win." if result == human else "the AI wins.")
            return
        if state[SIDE] == human:
            legal = [int(m) for m in buf[:n]]
            move = _read_move(game, legal)
            if move is None:
                echo("no more input: game abandoned.")
                return
        else:
            move, value, done, searched = search(state, weights, depth, nodes, 0, *scratch)
            echo(f"AI plays {game.move_name(int(move))} (depth {done}, {searched} nodes, "
                 f"value {value:+.2f})")
        play(state, move)


def load_player(game_name: str, heuristic_file: str | None, size: int | None):
    """``(game name, compiled game, weights row)`` of the AI player: from ``heuristic_file``
    (which names its game), or the article heuristic at w = 0.5 on ``game_name``.

    :raises ConfigError: the file, its game or its heuristic is not valid; one line.
    """
    weights_table, expression = None, None
    if heuristic_file:
        data = load_heuristic(heuristic_file)
        game_name = data["game"]
        size = data.get("size") if size is None else size
        weights_table = data["weights"]
        expression = data.get("expression")
    game = compiled_game(game_name, size)
    if weights_table is None:
        weights = np.zeros(len(game.features))
        weights[0], weights[1] = 0.5, -0.5
    else:
        weights = weights_vector(game.features, weights_table)
    if expression:  # a GP-evolved formula, added to any linear part
        weights = heuristic_row(game.features, weights, expression["tree"],
                                expression.get("variables"))
    return game_name, game, weights


def _read_move(game, legal: list[int]) -> int | None:
    while True:
        click.echo("your move: ", nl=False)
        line = sys.stdin.readline()
        if not line:
            click.echo("")
            return None
        if not sys.stdin.isatty():  # piped moves: show them, so the transcript reads well
            click.echo(line.strip())
        try:
            move = game.parse_move(line)
        except ValueError as exc:
            click.echo(f"not a move: {exc}")
            continue
        if move in legal:
            return move
        click.echo("not legal here; legal moves: "
                   + " ".join(game.move_name(m) for m in legal))
