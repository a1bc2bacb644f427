"""Racing: more games for the candidates that may still be the best, none for the rest.

A race starts with every candidate's pair scores from a first round (the same openings for all,
so comparisons are paired). Then, round after round, the *contenders* play one more round on
fresh openings (again the same for all of them):

- a candidate is a contender while its Elo interval (:func:`evoengine_minimax.elo.rate`, 95%,
  over all its pairs so far) overlaps the interval of the leader (the highest mean score), that
  is while its upper bound reaches the leader's lower bound;
- at most half of the previous round's players go on (the best by mean score, rounded up:
  successive halving), so a race of ``n`` candidates ends within ``ceil(log2 n)`` rounds and
  costs at most twice the first round's games;
- the race ends when a single candidate is left (the leader).

Which candidates go on depends only on the scores, so a race is as reproducible as its games.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from evoengine_minimax import elo

#: A round: ``play(candidates, round_number)`` gives the pair scores of each candidate listed
#: (an array of indices) in that round, ``(len(candidates), ...)``, any trailing shape.
PlayRound = Callable[[np.ndarray, int], np.ndarray]


def contenders(scores: list[np.ndarray], players: np.ndarray) -> np.ndarray:
    """Of the candidates ``players`` (indices into ``scores``, the pair scores of each so
    far), those who play the next round, best first: the ones whose 95% interval reaches the
    leader's, at most half of ``players`` rounded up. One left (the leader): the race is
    over."""
    players = np.asarray(players, dtype=int)
    ratings = [elo.rate(np.ravel(scores[i])) for i in players]
    means = np.array([r.score for r in ratings])
    order = np.argsort(-means, kind="stable")  # ties: the lower index first
    leader = ratings[order[0]]
    alive = [i for i in order if ratings[i].high >= leader.low]
    return players[alive[:math.ceil(len(players) / 2)]]


@dataclass
class Race:
    """A race's outcome: every candidate's pair scores (its first round's shape, the rounds it
    played appended along the last axis) and the winner, the best by mean score of the last
    round's players."""

    scores: list[np.ndarray]
    leader: int


def race(first_round: np.ndarray, play: PlayRound, max_rounds: int | None = None) -> Race:
    """Run a race from ``first_round`` (the pair scores of each candidate, one row each): the
    contenders :func:`contenders` picks play round 1 (``play(indices, 1)``), then round 2 and
    so on, at most ``max_rounds`` rounds after the first."""
    scores = [np.array(row, dtype=float) for row in first_round]
    players = np.arange(len(scores))
    round_number = 0
    while len(players) > 1 and (max_rounds is None or round_number < max_rounds):
        players = contenders(scores, players)
        if len(players) < 2:
            break
        round_number += 1
        more = np.asarray(play(players, round_number), dtype=float)
        for i, row in zip(players, more, strict=True):
            scores[i] = np.concatenate([scores[i], row], axis=-1)
    if not len(players):
        return Race(scores, -1)
    means = [np.mean(scores[i]) for i in players]
    return Race(scores, int(players[int(np.argmax(means))]))


def fitness_of(scores: list[np.ndarray]) -> np.ndarray:
    """Each candidate's Elo from the mean of all its pair scores."""
    return np.array([elo.elo_of_score(float(np.mean(s))) for s in scores])
