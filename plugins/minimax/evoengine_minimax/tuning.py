"""The tuning problem: heuristic genomes scored by games, under the rated or article scheme.

``rated`` (the default): each candidate plays every member of a fixed reference panel on
``pairs`` paired openings (colours swapped); its fitness is its Elo against the panel. Generation
``g`` uses opening block ``g``, so every candidate of a generation meets the same openings, and
the run repeats exactly. ``article``: fitness is the article's +1/-1 tally in random games
within the population (see :mod:`evoengine_minimax.article`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from evoengine import Genome, Objective, Problem
from evoengine_minimax import elo
from evoengine_minimax.article import (ArticleEvolution, article_population_games,
                                       article_tally)
from evoengine_minimax.heuristic import HeuristicSpace
from evoengine_minimax.match import Limits

REPORT_BLOCK = 1_000_000  # opening numbers from here on are never used in training


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
                 defaults=None, notes=(), report=None) -> None:
        low, high = space.bounds
        objective = Objective("elo_vs_panel" if scheme == "rated" else "article_tally")
        super().__init__(Genome("real", space.length, low, high), (objective,),
                         defaults=defaults or {}, notes=tuple(notes))
        self.arena, self.space, self.start = arena, space, np.asarray(start, float)
        self.panel, self.scheme, self.limits = panel, scheme, limits
        self.pairs, self.seed, self.games_factor = pairs, seed, games_factor
        self.history = History()
        self.report = report  # what finish_run writes: set by the plugin
        self.folder = None

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

    def evaluate(self, genomes: np.ndarray) -> np.ndarray:
        block = len(self.history.genomes)
        if self.scheme == "article":
            fitness = self._article_tally(genomes, block)
        else:
            pairs = self.panel_pairs(self.space.full(genomes), block)
            per_candidate = pairs.reshape(len(genomes), -1)
            fitness = np.array([elo.elo_of_score(p.mean()) for p in per_candidate])
        self.history.genomes.append(np.array(genomes, float))
        self.history.fitness.append(fitness)
        return fitness.reshape(-1, 1)

    def describe(self, genome: np.ndarray) -> dict:
        return self.space.describe(np.asarray(genome, float))

    def own_optimizer(self, settings, toolbox=None):
        """The article scheme brings its own algorithm; the rated one uses the chosen one."""
        if self.scheme == "article":
            return ArticleEvolution(self, settings, toolbox=toolbox)
        return None

    def start_run(self, folder) -> None:
        self.folder = folder

    def finish_run(self, folder, best_genome) -> list[str]:
        if self.report is None:
            return []
        return self.report(self, folder, best_genome)

    def _article_tally(self, genomes: np.ndarray, block: int) -> np.ndarray:
        n = len(genomes)
        rng = np.random.default_rng([self.seed, block])
        first, second = article_population_games(n, self.games_factor, rng)
        openings = block * n * self.games_factor + np.arange(len(first))
        scores = self.arena.play(self.space.full(genomes), first, second, openings, self.seed,
                                 self.limits)
        return article_tally(first, second, scores, n)
