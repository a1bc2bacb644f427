"""From settings to a tuning problem: the game, the heuristic space, the panel, the report."""

from __future__ import annotations

from functools import partial

import numpy as np

from evoengine.errors import ConfigError
from evoengine_minimax import elo
from evoengine_minimax.arena import CompiledArena, PythonArena
from evoengine_minimax.games import compiled_game
from evoengine_minimax.heuristic import HeuristicSpace
from evoengine_minimax.match import Limits
from evoengine_minimax.protocol import load_game_class
from evoengine_minimax.report import write_report
from evoengine_minimax.tuning import Panel, TuningProblem


def make_arena(game: str, size: int | None):
    if game.startswith(("python:", "openspiel:")):
        if size is not None:
            raise ConfigError("setting 'size' applies to the compiled games only")
        if game.startswith("openspiel:"):
            # pyspiel is an optional extra: imported only when an OpenSpiel game is asked for
            from evoengine_minimax.openspiel import openspiel_game_class

            return PythonArena(openspiel_game_class(game.removeprefix("openspiel:")))
        return PythonArena(load_game_class(game.removeprefix("python:")))
    return CompiledArena(compiled_game(game, size))


def reference_panel(space: HeuristicSpace) -> Panel:
    """The start, and the article heuristic at w = 0.5 (own - opp) and w = 0.25 (chase the
    opponent), on the game's first two features: fixed players every candidate is rated
    against."""
    own_opp = HeuristicSpace("article", space.game_features, space.game_features[:2])
    return Panel(["w=0.5", "w=0.25"], own_opp.full(np.array([[0.5], [0.25]])))


def build_problem(s, defaults: dict) -> TuningProblem:
    arena = make_arena(s.game, s.size)
    names = arena.features
    kind = s.heuristic or ("weights" if s.scheme == "rated" else "article")
    if kind == "expression":
        return build_expression_problem(s, arena, defaults)
    if s.scheme == "article" and kind != "article":
        raise ConfigError("setting 'heuristic': the article scheme tunes the article's single "
                          "weight; use heuristic=article, or scheme=rated for weights")
    if kind == "article":
        chosen = tuple(s.features) if s.features is not None else names[:2]
    else:
        chosen = tuple(s.features) if s.features is not None else names
    space = HeuristicSpace(kind, names, chosen)
    if s.start is not None:
        if len(s.start) != space.length:
            raise ConfigError(f"setting 'start': give {space.length} value(s) "
                              f"({', '.join(space.gene_names())}), got {len(s.start)}")
        start = np.array(s.start, float)
    else:
        start = np.zeros(space.length)
        start[0] = 1.0  # own mobility (the first feature) only: the article's w = 1.0
    low, high = space.bounds
    if np.any(start < low) or np.any(start > high):
        raise ConfigError(f"setting 'start': values must lie in [{low:g}, {high:g}]")
    panel = reference_panel(space)
    panel = Panel(["start"] + panel.names, np.vstack([space.full(start), panel.weights]))
    limits, notes = _limits(s)
    report = partial(_report, settings=s)
    return TuningProblem(arena, space, start, panel, scheme=s.scheme, limits=limits,
                         pairs=s.pairs, seed=s.opening_seed, games_factor=s.games_factor,
                         racing=s.racing, defaults=defaults, notes=notes, report=report)


def _limits(s) -> tuple[Limits, list[str]]:
    depth = s.depth
    if depth is None:  # a budget or a clock limits the search; then depth only caps it
        depth = 60 if (s.nodes or s.time_ms) else 3
    limits = Limits(depth=depth, nodes=s.nodes, time_ms=s.time_ms)
    notes = []
    if not limits.reproducible:
        notes.append("time_ms limits each move by the clock: games, and so this run, are not "
                     "reproducible; use depth or nodes for a run that repeats")
    return limits, notes


def build_expression_problem(s, arena, defaults: dict):
    """heuristic=expression: GP trees over ``features`` (all by default), rated scheme."""
    from evoengine_minimax.expression_tuning import ExpressionProblem

    if s.scheme != "rated":
        raise ConfigError("setting 'heuristic': expression heuristics are tuned by the rated "
                          "scheme; use scheme=rated")
    if not isinstance(arena, CompiledArena):
        raise ConfigError("setting 'heuristic': expression heuristics need a compiled game "
                          "(isolation, connect_four, tictactoe, othello)")
    if s.start is not None:
        raise ConfigError("setting 'start': applies to heuristic=article or weights; an "
                          "expression run starts from random trees and validates against "
                          "own mobility alone")
    names = arena.features
    variables = tuple(s.features) if s.features is not None else names
    HeuristicSpace("weights", names, variables)  # checks the feature names
    start = np.zeros(len(names))
    start[0] = 1.0  # the first feature (own mobility) alone, as the weight tuner starts
    panel = reference_panel(HeuristicSpace("weights", names, names))
    panel = Panel(["start"] + panel.names, np.vstack([start, panel.weights]))
    limits, notes = _limits(s)
    return ExpressionProblem(arena, variables, panel, limits=limits, pairs=s.pairs,
                             seed=s.opening_seed, defaults=defaults, notes=notes,
                             report=partial(_expression_report, settings=s))


def _expression_report(problem, folder, best, history, *, settings):
    from evoengine_minimax.expression_tuning import write_expression_report

    return write_expression_report(problem, folder, best, history,
                                   report_pairs=settings.report_pairs,
                                   sprt_max_pairs=settings.sprt_max_pairs,
                                   null_pairs=settings.null_pairs,
                                   sprt=elo.SPRT(0.0, settings.sprt_elo1), game=settings.game,
                                   size=settings.size)


def _report(problem, folder, best, history, *, settings):
    return write_report(problem, folder, best, history, report_pairs=settings.report_pairs,
                        finalists=settings.finalists,
                        sprt_max_pairs=settings.sprt_max_pairs, null_pairs=settings.null_pairs,
                        sprt=elo.SPRT(0.0, settings.sprt_elo1), game=settings.game,
                        size=settings.size)
