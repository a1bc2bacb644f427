"""The minimax plugin's hooks and settings: the ``minimax`` problem and ``evoengine play``."""

from __future__ import annotations

from typing import Literal

import click
from pydantic import BaseModel, ConfigDict, Field

import evoengine
from evoengine.errors import ConfigError

__version__ = "0.1.0"


MAX_PLAY_DEPTH = 60  # as the 'depth' setting: deeper searches never finish anyway


class MinimaxSettings(BaseModel):
    """``minimax``: tune an alpha-beta player's heuristic by playing games."""

    model_config = ConfigDict(extra="forbid")

    game: str = Field("isolation", description="isolation, connect_four, tictactoe, othello, "
                      "python:package.module:Class for your own game, or openspiel:NAME "
                      "(an OpenSpiel game, e.g. openspiel:tic_tac_toe)")
    size: int | None = Field(None, description="board side: Isolation 3-16 (7), Othello 6 or 8")
    scheme: Literal["rated", "article"] = "rated"
    heuristic: Literal["article", "weights", "expression"] | None = Field(
        None, description="article: w*own - (1-w)*opp; weights: one weight per feature; "
        "expression: a formula over the features evolved by GP (default: weights for the "
        "rated scheme, article for the article scheme)")
    features: list[str] | None = Field(
        None, description="article: [own, opp] (the game's first two); weights: those tuned; "
        "expression: its variables (all)")
    start: list[float] | None = Field(
        None, description="starting heuristic (article: [1.0], own only; weights: 1 on the "
        "first feature)")
    depth: int | None = Field(None, ge=1, le=60, description="search depth per move: 3; "
                              "with nodes or time_ms, a cap (60)")
    nodes: int = Field(0, ge=0, description="node budget per move (0: none); reproducible")
    time_ms: float = Field(0.0, ge=0.0, description="time per move; NOT reproducible")
    pairs: int = Field(4, ge=1, description="rated: paired openings per panel member per "
                       "generation (2 games each), a race's first round with racing")
    racing: bool = Field(True, description="rated: candidates whose Elo interval overlaps "
                         "the leader's play further rounds of 'pairs' (at most half of them "
                         "a round)")
    games_factor: int = Field(10, ge=1, description="article: games per agent per cycle")
    opening_seed: int = Field(0, ge=0, description="numbers the random openings")
    report_pairs: int = Field(100, ge=2, description="closing report: pairs per panel member "
                              "in each round of the finalists' race")
    finalists: int = Field(8, ge=2, description="closing report: candidates raced on fresh "
                           "openings, the start included")
    sprt_elo1: float = Field(30.0, gt=0.0, description="validation SPRT: H1 elo")
    sprt_max_pairs: int = Field(400, ge=2, description="validation: most pairs played")
    null_pairs: int = Field(100, ge=2, description="null test (best vs itself): pairs")


RATED_DEFAULTS = {"population_size": 16, "generations": 8, "crossover": "blend",
                  "mutation": "gaussian", "mutation_sigma": 0.1, "mutation_probability": 0.5,
                  "crossover_probability": 0.5, "tournament_size": 2}
ARTICLE_DEFAULTS = {"population_size": 100, "generations": 11}
EXPRESSION_DEFAULTS = {"population_size": 24, "generations": 8, "init_max_depth": 3,
                       "max_depth": 6, "tournament_size": 3}


def build_minimax(s: MinimaxSettings):
    from evoengine_minimax.assemble import build_problem

    if s.heuristic == "expression":
        defaults = EXPRESSION_DEFAULTS
    else:
        defaults = RATED_DEFAULTS if s.scheme == "rated" else ARTICLE_DEFAULTS
    return build_problem(s, defaults)


@evoengine.hookimpl
def evoengine_register_problems(registry):
    registry.add("minimax", build_minimax, settings=MinimaxSettings,
                 summary="tune an alpha-beta game player's heuristic (Isolation, Connect Four, "
                         "Othello, tic-tac-toe, your own); Elo with 95% CIs")


@click.command("play")
@click.argument("game", default="isolation")
@click.option("--heuristic", "heuristic_file", type=click.Path(dir_okay=False),
              help="A tuned_heuristic.json from a run folder; the game's default otherwise.")
@click.option("--size", type=int, help="Board side (Isolation 3-16, Othello 6 or 8).")
@click.option("--depth", type=int, default=5, show_default=True, help="Search depth.")
@click.option("--nodes", type=int, default=0, help="Node budget per move (0: none).")
@click.option("--first", type=click.Choice(["human", "ai"]), default="human",
              show_default=True, help="Who moves first.")
def play_command(game: str, heuristic_file: str | None, size: int | None, depth: int,
                 nodes: int, first: str) -> None:
    """Play GAME in the terminal against the (tuned) alpha-beta player; moves are read from
    standard input, one per line (a cell such as c3, or a Connect Four column number)."""
    from evoengine_minimax.terminal import play_in_terminal

    if not 1 <= depth <= MAX_PLAY_DEPTH:  # the search allocates its stack for the depth
        raise ConfigError(f"--depth must be between 1 and {MAX_PLAY_DEPTH}, got {depth}")
    if nodes < 0:
        raise ConfigError(f"--nodes must be 0 (no budget) or more, got {nodes}")
    play_in_terminal(game, heuristic_file, size, depth, nodes, human_first=first == "human")


@evoengine.hookimpl
def evoengine_add_commands(cli):
    cli.add_command(play_command)


@evoengine.hookimpl
def evoengine_run_end(run, result):
    """The closing report of a minimax run: the validation match, Elo, the files; the run's
    history comes from its records (the problem keeps none)."""
    from evoengine_minimax.expression_tuning import ExpressionProblem, tree_history_of
    from evoengine_minimax.tuning import TuningProblem, history_of

    if run.folder is None:
        return None
    if isinstance(run.problem, TuningProblem):
        history = history_of(run.recorder)
    elif isinstance(run.problem, ExpressionProblem):
        history = tree_history_of(run.recorder)
    else:
        return None
    lines = run.problem.closing_report(run.folder, result.best_genome, history)
    run.closing["elo"] = elo_table(run.folder / "report.json")
    return lines


def elo_table(report_path) -> list[dict]:
    """The closing report's Elo table as records (candidates against the panel, then the
    validation match), read back from the ``report.json`` the report has just written."""
    import json

    report = json.loads(report_path.read_text())
    rows = [{"match": f"{c['candidate']} vs panel", **_rating(c["vs_panel"])}
            for c in report["candidates"]]
    rows.append({"match": "best vs start (validation)", **_rating(report["validation"])})
    return rows


def _rating(rating: dict) -> dict:
    return {key: rating[key] for key in ("elo", "low", "high", "pairs")}
