"""The tuning problem: heuristic genomes scored by games, under the rated or article scheme.

``rated`` (the default): each candidate plays every member of a fixed reference panel on
``pairs`` paired openings (colours swapped); its fitness is its Elo against the panel. Every
candidate of a generation meets the same openings (numbered from the context's generation), so
the run repeats exactly on any backend and after a resume. With ``racing`` (the default), that
is the first round of a race (:mod:`evoengine_minimax.racing`): the candidates whose interval
still overlaps the leader's play further rounds of ``pairs`` on fresh openings, so the games go
where they decide who is best. The first round is split into tasks (a backend runs them
anywhere); the race's later rounds, which depend on the whole generation's scores, run in
:meth:`TuningProblem.combine`, in the driver.
``article``: fitness is the article's +1/-1 tally in random games within the population (see
:mod:`evoengine_minimax.article`): the pairings come from the context's generator, and the
games are split into tasks (:data:`GAMES_PER_TASK` each) that a backend may run anywhere, since
a game's result depends only on its own row. The problem keeps no run state: each generation's
genomes and fitness go to the run's records (:meth:`TuningProblem.summarize`), from which the
closing report reads the run's history (:func:`history_of`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evoengine import EvaluationContext, Genome, Objective, Problem, Summary
from evoengine_minimax import elo, racing
from evoengine_minimax.article import (ArticleEvolution, article_population_games,
                                       article_tally)
from evoengine_minimax.heuristic import HeuristicSpace
from evoengine_minimax.match import Limits

REPORT_BLOCK = 1_000_000  # opening numbers from here on are never used in training
GAMES_PER_TASK = 100      # the article's games per task: a backend's unit of work
POPULATION_TABLE = "population"  # the run records' table of each generation's rows
RACE_BLOCKS = 32  # opening blocks a generation's race may use (a race has < 32 rounds)


@dataclass
class Panel:
    """Reference players: names and one weight row each (over all game features)."""

    names: list[str]
    weights: np.ndarray


@dataclass
class History:
    """Every evaluated batch, in order: the generations' genomes and fitness."""

    genomes: list[np.ndarray] = field(default_factory=list)
    fitness: list[np.ndarray] = field(default_factory=list)


def population_table(genomes: np.ndarray, fitness: np.ndarray) -> list[dict[str, Any]]:
    """One generation's rows as a run-records table."""
    return [{"genome": [float(x) for x in g], "fitness": float(f)}
            for g, f in zip(np.asarray(genomes, float), np.asarray(fitness).ravel(),
                            strict=True)]


def history_of(recorder) -> History:
    """The run's history from its records (:class:`evoengine.records.Recorder`): every
    generation's genomes and fitness, a resumed run's earlier generations included."""
    history = History()
    for _generation, rows in recorder.table(POPULATION_TABLE):
        history.genomes.append(np.array([r["genome"] for r in rows], float))
        history.fitness.append(np.array([r["fitness"] for r in rows], float))
    return history


@dataclass(frozen=True)
class PanelTask:
    """A task of a race's first round: weight rows against the panel on opening ``block``."""

    weights: np.ndarray
    block: int


@dataclass(frozen=True)
class ArticleGames:
    """A task of the article's tally: games ``first[i]`` against ``second[i]`` on opening
    ``openings[i]``, agents being rows of ``weights``."""

    weights: np.ndarray
    first: np.ndarray
    second: np.ndarray
    openings: np.ndarray


class PanelGames:
    """Matches of heuristic rows against the reference panel, each other or themselves; needs
    ``arena``, ``panel``, ``pairs``, ``seed`` and ``limits``."""

    def panel_pairs(self, weights: np.ndarray, block: int, pairs: int | None = None) -> np.ndarray:
        """Pair scores ``(candidates, panel, pairs)`` of each weight row against each panel
        member, on openings ``block * pairs + p``, each played with both colours."""
        pairs = self.pairs if pairs is None else pairs
        n, k = len(weights), len(self.panel.names)
        everyone = np.vstack([weights, self.panel.weights])
        cand = np.repeat(np.arange(n), k * pairs)
        opp = n + np.tile(np.repeat(np.arange(k), pairs), n)
        openings = np.tile(np.arange(pairs), n * k) + block * pairs
        first = np.stack([cand, opp], axis=1).ravel()  # candidate first, then colours swapped
        second = np.stack([opp, cand], axis=1).ravel()
        scores = self.arena.play(everyone, first, second, np.repeat(openings, 2), self.seed,
                                 self.limits)
        return elo.pair_scores(scores).reshape(n, k, pairs)

    def head_to_head(self, a: np.ndarray, b: np.ndarray, block: int, pairs: int) -> np.ndarray:
        """Pair scores of weights ``a`` against ``b`` on ``pairs`` paired openings."""
        everyone = np.vstack([a, b])
        first = np.tile([0, 1], pairs)
        openings = np.repeat(np.arange(pairs) + block * pairs, 2)
        scores = self.arena.play(everyone, first, 1 - first, openings, self.seed, self.limits)
        return elo.pair_scores(scores)

    def self_play(self, weights: np.ndarray, first_opening: int, games: int) -> np.ndarray:
        """Scores of ``weights`` against a copy of itself, one opening per game and colours
        alternating: per-game scores of the copy listed first in ``weights``."""
        everyone = np.vstack([weights, weights])
        first = np.arange(games) % 2
        openings = first_opening + np.arange(games)
        scores = self.arena.play(everyone, first, 1 - first, openings, self.seed, self.limits)
        return np.where(first == 0, scores, 1.0 - scores)


class TuningProblem(PanelGames, Problem):
    """Tune a heuristic for ``arena``'s game. See the module docstring for the schemes."""

    def __init__(self, arena, space: HeuristicSpace, start: np.ndarray, panel: Panel, *,
                 scheme: str, limits: Limits, pairs: int, seed: int, games_factor: int = 10,
                 racing: bool = False, defaults=None, notes=(), report=None) -> None:
        low, high = space.bounds
        objective = Objective("elo_vs_panel" if scheme == "rated" else "article_tally")
        super().__init__(Genome("real", space.length, low, high), (objective,),
                         defaults=defaults or {}, notes=tuple(notes))
        self.arena, self.space, self.start = arena, space, np.asarray(start, float)
        self.panel, self.scheme, self.limits = panel, scheme, limits
        self.pairs, self.seed, self.games_factor = pairs, seed, games_factor
        self.racing = racing and scheme == "rated"
        self.report = report  # the closing report (the plugin's run-end hook calls it)

    # --- the core's Problem protocol ----------------------------------------------------
    def initial_population(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """The article scheme starts uniform, as the article does; the rated scheme starts at
        ``start`` (row 0 exactly) and around it, since tuning improves a given heuristic."""
        low, high = self.space.bounds
        if self.scheme == "article":
            return rng.uniform(low, high, size=(size, self.space.length))
        spread = 0.25 * (high - low)
        pop = self.start + rng.normal(0.0, spread, size=(size, self.space.length))
        pop[0] = self.start
        return np.clip(pop, low, high)

    def evaluate(self, genomes: np.ndarray,
                 context: EvaluationContext | None = None) -> np.ndarray:
        if context is None:
            context = EvaluationContext.standalone(len(genomes), seed=self.seed)
        if self.scheme == "article" or self.racing:  # all the tasks, here
            tasks = self.tasks(genomes, context)
            return self.combine(genomes, context, [self.run_task(t, context) for t in tasks])
        pairs = self.panel_pairs(self.space.full(genomes), context.generation)
        per_candidate = pairs.reshape(len(genomes), -1)
        fitness = np.array([elo.elo_of_score(p.mean()) for p in per_candidate])
        return fitness.reshape(-1, 1)

    def tasks(self, genomes: np.ndarray, context: EvaluationContext) -> list | None:
        """The article's games, or a race's first round, in tasks of about
        :data:`GAMES_PER_TASK` games; None for the rated scheme without racing, whose rows are
        independent."""
        if self.racing:
            weights = self.space.full(genomes)
            games = 2 * self.pairs * len(self.panel.names)
            step = max(1, GAMES_PER_TASK // games)
            block = context.generation * RACE_BLOCKS
            return [PanelTask(weights[i:i + step], block) for i in range(0, len(weights), step)]
        if self.scheme != "article":
            return None
        first, second, openings = self._article_games(len(genomes), context)
        weights = self.space.full(genomes)
        return [ArticleGames(weights, first[i:i + GAMES_PER_TASK],
                             second[i:i + GAMES_PER_TASK], openings[i:i + GAMES_PER_TASK])
                for i in range(0, len(first), GAMES_PER_TASK)]

    def run_task(self, task: ArticleGames | PanelTask, context: EvaluationContext) -> np.ndarray:
        """The first mover's score in each of an article task's games; the pair scores
        ``(rows, panel, pairs)`` of a race's first round."""
        if isinstance(task, PanelTask):
            return self.panel_pairs(task.weights, task.block)
        return self.arena.play(task.weights, task.first, task.second, task.openings, self.seed,
                               self.limits)

    def combine(self, genomes: np.ndarray, context: EvaluationContext,
                results: list) -> np.ndarray:
        """The article's tally from every game's score; or the race run on from its first
        round (its later rounds played here), each candidate's Elo over all its pairs."""
        if self.racing:
            weights = self.space.full(genomes)
            block = context.generation * RACE_BLOCKS

            def play(rows: np.ndarray, round_number: int) -> np.ndarray:
                return self.panel_pairs(weights[rows], block + round_number)

            scores = racing.race(np.concatenate(results), play, RACE_BLOCKS - 1).scores
            return racing.fitness_of(scores).reshape(-1, 1)
        first, second, _ = self._article_games(len(genomes), context)
        scores = np.concatenate(results) if results else np.zeros(0)
        return article_tally(first, second, scores, len(genomes)).reshape(-1, 1)

    def summarize(self, genomes, evaluation, context) -> Summary:
        """Every row of the generation (the closing report's history) and the curves."""
        fitness = np.asarray(evaluation.fitness, float)[:, 0]
        scalars = {"best_fitness": float(np.max(fitness)),
                   "median_fitness": float(np.median(fitness))}
        for name, column in zip(self.space.gene_names(), np.asarray(genomes, float).T,
                                strict=True):
            scalars[f"median_{name}"] = float(np.median(column))
        return Summary(scalars=scalars, tables={POPULATION_TABLE: population_table(genomes,
                                                                                   fitness)})

    def describe(self, genome: np.ndarray) -> dict:
        return self.space.describe(np.asarray(genome, float))

    def own_optimizer(self, settings, toolbox=None):
        """The article scheme brings its own algorithm; the rated one uses the chosen one."""
        if self.scheme == "article":
            return ArticleEvolution(self, settings, toolbox=toolbox)
        return None

    def closing_report(self, folder, best_genome, history: History) -> list[str]:
        """The report the plugin's ``evoengine_run_end`` hook writes; ``history`` comes from
        the run's records."""
        if self.report is None:
            return []
        return self.report(self, folder, best_genome, history)

    def _article_games(self, n: int, context: EvaluationContext):
        """``(first, second, openings)`` of the generation's games: pairings from the
        context's generator, openings numbered by generation."""
        rng = context.rng("article pairings")
        first, second = article_population_games(n, self.games_factor, rng)
        openings = context.generation * n * self.games_factor + np.arange(len(first))
        return first, second, openings
