"""Elo from paired games, with confidence intervals, and the sequential test (SPRT).

Games come in pairs: the same opening, colours swapped. A pair's score (0, 0.25, ..., 1) is the
unit of sampling, so the variance includes the opening's effect and the colour advantage
cancels inside each pair (the "pentanomial" model of fishtest, here with a normal
approximation). Scores map to Elo by ``elo = -400 log10(1/s - 1)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054
SCORE_EPS = 1e-3  # a 100% score has no finite Elo: clip to +-1200


def elo_of_score(score: float) -> float:
    s = min(max(score, SCORE_EPS), 1.0 - SCORE_EPS)
    return -400.0 * math.log10(1.0 / s - 1.0)


def score_of_elo(elo: float) -> float:
    return 1.0 / (1.0 + 10.0 ** (-elo / 400.0))


@dataclass(frozen=True)
class Rating:
    """Elo of one player against another, from ``pairs`` paired games."""

    score: float
    elo: float
    low: float
    high: float
    pairs: int

    @property
    def games(self) -> int:
        return 2 * self.pairs

    def within_noise(self) -> bool:
        """The interval contains 0: no measurable difference."""
        return self.low <= 0.0 <= self.high

    def text(self) -> str:
        return f"{_signed(self.elo)} [{_signed(self.low)}, {_signed(self.high)}]"


def _signed(value: float) -> str:
    return f"{int(round(value)):+d}" if math.isfinite(value) else f"{value:+}"


def pair_scores(first_scores: np.ndarray) -> np.ndarray:
    """Scores of a player whose games come as (as player 0, as player 1) pairs: game ``2i`` with
    the player first and ``2i + 1`` with colours swapped, ``first_scores`` being the score of
    the first mover of each game."""
    s = np.asarray(first_scores, dtype=float).reshape(-1, 2)
    return (s[:, 0] + (1.0 - s[:, 1])) / 2.0


def rate(pairs: np.ndarray) -> Rating:
    """Elo with a 95% interval from per-pair scores."""
    pairs = np.asarray(pairs, dtype=float)
    n = len(pairs)
    mean = float(pairs.mean()) if n else 0.5
    if n < 2:
        return Rating(mean, elo_of_score(mean), -math.inf, math.inf, n)
    half = Z95 * float(pairs.std(ddof=1)) / math.sqrt(n)
    return Rating(mean, elo_of_score(mean), elo_of_score(mean - half),
                  elo_of_score(mean + half), n)


def rate_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Score difference of two players on the same pairs (common openings and opponents):
    ``(mean, low, high)`` of ``a - b`` at 95%. An interval containing 0 means within noise."""
    d = np.asarray(a, float) - np.asarray(b, float)
    if len(d) < 2:
        return float(d.mean()) if len(d) else 0.0, -math.inf, math.inf
    half = Z95 * float(d.std(ddof=1)) / math.sqrt(len(d))
    return float(d.mean()), float(d.mean()) - half, float(d.mean()) + half


@dataclass(frozen=True)
class SPRT:
    """Sequential probability ratio test of H0: elo = elo0 against H1: elo = elo1.

    Uses the normal approximation of the generalized SPRT on pair scores (as fishtest does):
    ``LLR = (s1 - s0) / var * (sum(x) - n (s0 + s1) / 2)``.
    """

    elo0: float = 0.0
    elo1: float = 30.0
    alpha: float = 0.05
    beta: float = 0.05

    @property
    def bounds(self) -> tuple[float, float]:
        return math.log(self.beta / (1 - self.alpha)), math.log((1 - self.beta) / self.alpha)

    def llr(self, pairs: np.ndarray) -> float:
        x = np.asarray(pairs, float)
        if len(x) < 2:
            return 0.0
        var = float(x.var(ddof=1))
        if var <= 0.0:
            var = 1e-3  # every pair the same: still bounded evidence per pair
        s0, s1 = score_of_elo(self.elo0), score_of_elo(self.elo1)
        return (s1 - s0) / var * (float(x.sum()) - len(x) * (s0 + s1) / 2.0)

    def decide(self, pairs: np.ndarray) -> str | None:
        """'H1' (elo1 is more likely), 'H0', or None: keep playing."""
        low, high = self.bounds
        llr = self.llr(pairs)
        if llr >= high:
            return "H1"
        if llr <= low:
            return "H0"
        return None
