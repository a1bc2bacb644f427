"""Racing: the rule on known scores, and the rated scheme's races (tasks, combine, the report)."""

import math

import numpy as np

from evoengine import EvaluationContext
from evoengine_minimax import elo, racing


def _scores(mean: float, spread: float, n: int = 40) -> np.ndarray:
    """``n`` pair scores with the given mean, half at ``mean - spread``, half at
    ``mean + spread``."""
    return np.repeat([mean - spread, mean + spread], n // 2)


def test_contenders_are_those_whose_interval_reaches_the_leaders():
    scores = [_scores(0.6, 0.1), _scores(0.85, 0.05), _scores(0.2, 0.05), _scores(0.82, 0.15)]
    ratings = [elo.rate(s) for s in scores]
    # The leader is 1; 3 overlaps it, 0 and 2 lie wholly below its lower bound.
    assert ratings[3].high >= ratings[1].low > ratings[0].high
    assert racing.contenders(scores, np.arange(4)).tolist() == [1, 3]


def test_contenders_are_at_most_half_of_the_players_best_first_ties_by_index():
    scores = [_scores(m, 0.3) for m in (0.50, 0.55, 0.52, 0.55, 0.45)]  # all overlap
    assert racing.contenders(scores, np.arange(5)).tolist() == [1, 3, 2]  # ceil(5 / 2)
    assert racing.contenders(scores, np.array([0, 4, 2])).tolist() == [2, 0]
    assert racing.contenders(scores, np.array([4])).tolist() == [4]


def test_a_leader_clear_of_everyone_ends_the_race_without_another_round():
    first = np.array([_scores(0.9, 0.02), _scores(0.3, 0.02), _scores(0.5, 0.02)])

    def play(rows, round_number):
        raise AssertionError("no round should be played")

    outcome = racing.race(first, play)
    assert outcome.leader == 0
    assert [len(s) for s in outcome.scores] == [40, 40, 40]


def test_race_gives_the_rounds_to_the_contenders_and_crowns_the_best():
    """Eight candidates of true scores 0.50 ... 0.57, every round's scores noise around them
    (the same draw for everyone in a round, as on common openings): each round halves the
    field, later rounds go to the better ones, and the round numbers count up."""
    truth = np.linspace(0.50, 0.57, 8)
    rng = np.random.default_rng(4)
    noise = rng.normal(0.0, 0.25, (4, 10))  # one draw per round, common to all candidates
    first = truth[:, None] + noise[0]
    calls = []

    def play(rows, round_number):
        calls.append((round_number, rows.tolist()))
        return truth[rows, None] + noise[round_number]

    outcome = racing.race(first, play)
    # 8 players -> 4 -> 2 -> 1 (halving ends the race when two are left)
    assert calls == [(1, [7, 6, 5, 4]), (2, [7, 6])]  # common noise: the truth's order
    assert outcome.leader == 7
    played = [len(s) // 10 for s in outcome.scores]
    assert played == [1, 1, 1, 1, 2, 2, 3, 3]
    # Successive halving: never more than the first round's games again.
    assert sum(played) - 8 <= 8


def test_race_keeps_each_rounds_shape_and_stops_at_max_rounds():
    first = np.full((4, 3, 2), 0.5)  # candidates x panel members x pairs, all equal
    seen = []

    def play(rows, round_number):
        seen.append(round_number)
        return np.full((len(rows), 3, 2), 0.5)

    outcome = racing.race(first, play, max_rounds=1)
    assert seen == [1]
    assert [s.shape for s in outcome.scores] == [(3, 4), (3, 4), (3, 2), (3, 2)]
    assert outcome.leader == 0
    assert racing.fitness_of(outcome.scores).tolist() == [0.0] * 4


def _problem(racing_on: bool, pairs: int = 2):
    from evoengine_minimax.plugin import MinimaxSettings, build_minimax

    return build_minimax(MinimaxSettings(game="isolation", size=5, depth=2, pairs=pairs,
                                         racing=racing_on, opening_seed=3))


def test_rated_race_is_the_first_round_then_the_rule_on_the_panel_games():
    """The wiring against a direct computation: the first round in tasks (in any order), the
    later rounds in combine, on the generation's opening blocks; fitness from all the pairs."""
    from evoengine_minimax.tuning import RACE_BLOCKS

    problem = _problem(True)
    genomes = np.random.default_rng(1).uniform(-1, 1, size=(10, problem.space.length))
    context = EvaluationContext(7, 3, np.arange(10))
    tasks = problem.tasks(genomes, context)
    assert len(tasks) > 1
    backwards = [problem.run_task(t, context) for t in reversed(tasks)][::-1]
    raced = problem.combine(genomes, context, backwards)
    assert np.array_equal(problem.evaluate(genomes, context), raced)

    weights = problem.space.full(genomes)
    block = 3 * RACE_BLOCKS
    expected = racing.race(problem.panel_pairs(weights, block),
                           lambda rows, r: problem.panel_pairs(weights[rows], block + r))
    assert np.allclose(raced[:, 0], racing.fitness_of(expected.scores))
    assert max(s.shape[-1] for s in expected.scores) > problem.pairs  # a race was run
    later = problem.evaluate(genomes, EvaluationContext(7, 4, np.arange(10)))
    assert not np.array_equal(later, raced)


def test_without_racing_the_rated_rows_stay_independent():
    problem = _problem(False)
    genomes = np.random.default_rng(2).uniform(-1, 1, size=(4, problem.space.length))
    context = EvaluationContext(7, 1, np.arange(4))
    assert problem.tasks(genomes, context) is None
    whole = problem.evaluate(genomes, context)
    parts = [problem.evaluate(genomes[i:i + 1], context.take(slice(i, i + 1)))
             for i in range(4)]
    assert np.array_equal(np.vstack(parts), whole)


def test_closing_matches_race_the_finalists_and_the_winner_leads():
    from evoengine_minimax.report import closing_matches

    problem = _problem(True)
    rows = problem.space.full(np.random.default_rng(3).uniform(-1, 1, (5, problem.space.length)))
    rows = np.vstack([rows, problem.space.full(problem.start)])
    genomes = [{"row": i} for i in range(len(rows))]
    summary, lead = closing_matches(problem, rows, genomes, report_pairs=4, sprt_max_pairs=4,
                                    null_pairs=4, sprt=elo.SPRT(), game="isolation", size=5)
    table = summary["candidates"]
    assert table[0]["candidate"] == "best" and table[0]["genome"] == {"row": lead}
    assert lead < len(rows) - 1  # never the start while a finalist is left
    games = {row["genome"]["row"]: row["vs_panel"]["pairs"] for row in table}
    assert games[len(rows) - 1] == 4 * 3  # the start: the first round only
    assert games[lead] == max(games.values()) > 4 * 3
    assert all(g % 12 == 0 for g in games.values())
    assert math.isfinite(table[0]["vs_panel"]["elo"])
