"""Elo, confidence intervals, the SPRT, the article's operators and the heuristic genomes."""

import math
import statistics

import numpy as np
import pytest

from evoengine.config import AlgorithmSettings
from evoengine.errors import ConfigError
from evoengine.problem import Genome, Problem
from evoengine_minimax import elo
from evoengine_minimax.article import ArticleEvolution, article_tally
from evoengine_minimax.heuristic import HeuristicSpace


def test_elo_and_score_are_inverse_and_match_the_formula():
    for e in (-400.0, -50.0, 0.0, 120.0, 700.0):
        assert elo.elo_of_score(elo.score_of_elo(e)) == pytest.approx(e)
    assert elo.elo_of_score(0.75) == pytest.approx(-400 * math.log10(1 / 0.75 - 1))
    assert elo.elo_of_score(1.0) == elo.elo_of_score(0.999)  # clipped, finite


def test_pair_scores_swap_colours():
    # Game 0: candidate first and wins; game 1: colours swapped, the first mover (opponent)
    # wins, so the candidate lost it. Game 2 drawn, game 3 candidate (second) wins.
    assert elo.pair_scores(np.array([1.0, 1.0, 0.5, 0.0])).tolist() == [0.5, 0.75]


def test_interval_covers_the_truth_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    true = 0.6
    covered = 0
    for _ in range(2000):
        pairs = rng.choice([0.0, 0.5, 1.0], size=60, p=[0.2, 0.4, 0.4])  # mean 0.6
        r = elo.rate(pairs)
        covered += r.low <= elo.elo_of_score(true) <= r.high
        assert r.low <= r.elo <= r.high and r.games == 120
    assert 0.92 <= covered / 2000 <= 0.975


def test_difference_interval_says_within_noise():
    rng = np.random.default_rng(1)
    a = rng.choice([0.0, 0.5, 1.0], size=200)
    mean, low, high = elo.rate_difference(a, a.copy())
    assert mean == 0.0 and low <= 0.0 <= high
    mean, low, high = elo.rate_difference(np.ones(50) * 0.8 + rng.normal(0, 0.05, 50),
                                          np.ones(50) * 0.5 + rng.normal(0, 0.05, 50))
    assert low > 0.0


def test_sprt_llr_formula_and_decisions():
    test = elo.SPRT(0.0, 30.0)
    x = np.array([0.5, 1.0, 0.75, 0.25, 1.0])
    s0, s1 = 0.5, elo.score_of_elo(30.0)
    expected = (s1 - s0) / x.var(ddof=1) * (x.sum() - len(x) * (s0 + s1) / 2)
    assert test.llr(x) == pytest.approx(expected)
    rng = np.random.default_rng(2)
    strong = np.clip(rng.normal(elo.score_of_elo(80), 0.2, 3000), 0, 1)
    weak = np.clip(rng.normal(elo.score_of_elo(-40), 0.2, 3000), 0, 1)
    assert test.decide(strong) == "H1"
    assert test.decide(weak) == "H0"
    assert test.decide(strong[:3]) is None


def _interval(values):
    """Mean and 95% half-width of a sample, from the statistics module (plain Python)."""
    mean = statistics.fmean(values)
    return mean, 1.959963984540054 * statistics.stdev(values) / math.sqrt(len(values))


def test_rating_of_few_pairs_has_an_open_interval_and_of_more_the_t_free_one():
    assert elo.rate([]) == elo.Rating(0.5, 0.0, -math.inf, math.inf, 0)
    assert elo.rate([1]) == elo.Rating(1.0, elo.elo_of_score(1.0), -math.inf, math.inf, 1)
    for pairs in ([0.5, 1.0], [0.25, 0.75, 1.0], [0, 1, 1, 0.5]):
        mean, half = _interval(pairs)
        rating = elo.rate(pairs)
        assert rating.pairs == len(pairs)
        assert (rating.score, rating.elo, rating.low, rating.high) == pytest.approx(
            (mean, elo.elo_of_score(mean), elo.elo_of_score(mean - half),
             elo.elo_of_score(mean + half)), rel=1e-12)
        assert rating.games == 2 * len(pairs)


def test_difference_of_few_pairs_has_an_open_interval_and_of_more_the_normal_one():
    assert elo.rate_difference([], []) == (0.0, -math.inf, math.inf)
    assert elo.rate_difference([1], [0.25]) == (0.75, -math.inf, math.inf)
    for a, b in (([1, 0.5], [0, 0]), ([1, 0.5, 0.25], [0, 0.75, 0.25])):
        mean, half = _interval([x - y for x, y in zip(a, b, strict=True)])
        got = elo.rate_difference(a, b)
        assert got == pytest.approx((mean, mean - half, mean + half), rel=1e-12)
        assert got[1] < got[0] < got[2]


def test_within_noise_includes_the_interval_ends():
    def rating(low, high):
        return elo.Rating(0.5, 0.0, low, high, 10)

    assert rating(0.0, 5.0).within_noise() and rating(-5.0, 0.0).within_noise()
    assert rating(-1.0, 1.0).within_noise() and rating(-1.0, 2.0).within_noise()
    assert not rating(0.5, 5.0).within_noise() and not rating(-5.0, -0.5).within_noise()


def test_rating_text_rounds_to_whole_elo_with_signs():
    assert elo.Rating(0.6, 70.4, -10.6, 150.5, 8).text() == "+70 [-11, +150]"
    assert elo.Rating(0.5, 0.0, -math.inf, math.inf, 1).text() == "+0 [-inf, +inf]"


def test_sprt_llr_of_fewer_than_two_pairs_is_zero_and_of_equal_pairs_is_bounded():
    test = elo.SPRT(0.0, 30.0)
    assert test.llr([]) == 0.0 and test.llr([1.0]) == 0.0
    s0, s1 = 0.5, elo.score_of_elo(30.0)
    # two different pairs: the usual formula with the sample variance
    x = [0.25, 1.0]
    assert test.llr(x) == pytest.approx((s1 - s0) / statistics.variance(x)
                                        * (sum(x) - 2 * (s0 + s1) / 2), rel=1e-12)
    # every pair the same: variance 0 is replaced by 1e-3
    assert test.llr([1.0, 1.0]) == pytest.approx((s1 - s0) / 1e-3 * (2 - (s0 + s1)), rel=1e-12)


def test_sprt_decides_at_its_bounds_exactly():
    test = elo.SPRT(0.0, 30.0, alpha=0.05, beta=0.05)
    low, high = test.bounds
    assert (low, high) == (math.log(0.05 / 0.95), math.log(0.95 / 0.05))

    class At(elo.SPRT):
        value = 0.0

        def llr(self, pairs):
            return self.value

    at = At()
    for value, decision in ((high, "H1"), (high - 1e-9, None), (low, "H0"),
                            (low + 1e-9, None)):
        at.value = value
        assert at.decide([0.5, 0.5]) == decision, value


def test_article_tally_matches_a_loop():
    rng = np.random.default_rng(3)
    first, second = rng.integers(0, 6, 40), rng.integers(0, 6, 40)
    scores = rng.choice([0.0, 0.5, 1.0], 40)
    expected = np.zeros(6)
    for a, b, s in zip(first, second, scores, strict=True):
        if s == 1.0:
            expected[a] += 1
            expected[b] -= 1
        elif s == 0.0:
            expected[a] -= 1
            expected[b] += 1
    assert np.array_equal(article_tally(first, second, scores, 6), expected)


class _OneWeight(Problem):
    def __init__(self):
        super().__init__(Genome("real", 1, 0.0, 1.0))

    def evaluate(self, genomes):
        return -np.abs(genomes - 0.3)


@pytest.mark.parametrize("mutate", [0.0, 1.0])
def test_article_cycle_keeps_the_top_and_breeds_in_range(mutate):
    problem = _OneWeight()
    opt = ArticleEvolution(problem, AlgorithmSettings(population_size=40, generations=1, seed=4),
                           mutate=mutate)
    genomes = opt.ask()
    opt.tell(problem.evaluate(genomes))
    old = opt.genomes[:, 0].copy()
    top = set(np.round(old[np.argsort(-opt.fitness[:, 0])[:8]], 12))
    new = opt.ask()[:, 0]
    assert len(new) == 40 and np.all((new >= 0) & (new <= 1))
    if mutate == 0.0:
        assert top <= set(np.round(new, 12))  # the top 20% are kept as they are
        assert np.all(new >= 0.95 * old.min() - 1e-12) and np.all(new <= 1.05 * old.max())
    else:
        # Every agent moved toward the other end: (1 - w) + U(-0.5, 0.1) or U(-0.1, 0.5).
        assert not top & set(np.round(new, 12))


def test_article_heuristic_is_the_weighted_difference():
    space = HeuristicSpace("article", ("own", "opp", "x"), ("own", "opp"))
    assert space.full(np.array([[0.3]])).tolist() == [[0.3, -0.7, 0.0]]
    with pytest.raises(ConfigError, match="unknown feature 'y'"):
        HeuristicSpace("weights", ("own", "opp"), ("own", "y"))


def test_article_tally_is_the_same_whatever_the_task_split():
    """The article's games are tasks a backend may run anywhere: played all at once, task by
    task, or in another order, the tally is the same, and it depends on the generation (not
    on how often evaluate was called)."""
    from evoengine import EvaluationContext
    from evoengine_minimax.arena import CompiledArena
    from evoengine_minimax.games import compiled_game
    from evoengine_minimax.heuristic import HeuristicSpace
    from evoengine_minimax.match import Limits
    from evoengine_minimax.tuning import Panel, TuningProblem

    game = compiled_game("isolation", 5)
    space = HeuristicSpace("article", game.features, game.features[:2])
    problem = TuningProblem(CompiledArena(game), space, np.array([1.0]),
                            Panel(["start"], space.full(np.array([[1.0]]))), scheme="article",
                            limits=Limits(depth=2), pairs=1, seed=3, games_factor=25)
    genomes = np.random.default_rng(0).uniform(size=(12, 1))
    context = EvaluationContext(5, 2, np.arange(12))
    whole = problem.evaluate(genomes, context)
    tasks = problem.tasks(genomes, context)
    assert len(tasks) == 3  # 300 games, 100 a task
    backwards = [problem.run_task(t, context) for t in reversed(tasks)][::-1]
    assert np.array_equal(problem.combine(genomes, context, backwards), whole)
    assert whole.sum() == 0  # every game adds +1 and -1 (Isolation has no draws)
    assert np.array_equal(problem.evaluate(genomes, context), whole)  # no call counter
    later = EvaluationContext(5, 3, np.arange(12))
    assert not np.array_equal(problem.evaluate(genomes, later), whole)
