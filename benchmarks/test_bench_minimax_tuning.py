"""Does the rated tuner leave its start, and does racing pay? Isolation 7x7, depth 5.

Run: .venv/bin/python benchmarks/test_bench_minimax_tuning.py --pairs 2000 --seeds  (sweep only)
     .venv/bin/python benchmarks/test_bench_minimax_tuning.py --pairs 300 --seeds 1 2 3 4 5 \
         --tuners ga-plain-8 ga-racing-4 cma_es-racing-4
     .venv/bin/python benchmarks/test_bench_minimax_tuning.py --weights --seeds 1 2 3 4 5
     .venv/bin/python -m pytest benchmarks/test_bench_minimax_tuning.py -s   (small)

1. Sweep (``--pairs``): the article's heuristic ``w * own - (1 - w) * opp`` for each w in 0,
   0.05, ..., 1 plays w = 1.0 (the tuners' start) on ``pairs`` paired openings (both colours
   each): Elo with a 95% interval. The *best region* is every w whose interval overlaps the
   interval of the best w.
2. Tuners on the article's heuristic from w = 1.0, seeds as given, each in two forms of the
   plugin's rated scheme (candidates rated against the panel start, w = 0.5, w = 0.25):

   - ``plain 8``: the scheme before racing: 8 paired openings per panel member a generation,
     the closing report's 4 finalists (the start included) compared once on 100 pairs each,
     the best of them kept; ``plain 16``: the same with 16 pairs, about as many games in all
     as racing plays;
   - ``racing 4`` (the plugin's default): a first round of 4 pairs a generation, then the race
     (:mod:`evoengine_minimax.racing`), and the closing report's race of 8 finalists, rounds of
     100 pairs.

   The GA is the plugin's rated defaults (population 16, 8 generations); ``cma_es`` gets the
   GA's evaluation count. Reported: the tuned w (the final comparison's winner), whether it
   lies in the best region, its Elo against w = 1.0 read off the sweep (nearest w), and the
   games each tuner played (training and final comparison).
3. ``--weights``: the same six tuners on ``heuristic=weights`` (all 8 features, from own
   mobility alone). Each tuned vector then plays the best single w of the sweep (the article's
   heuristic at ``--best-w``, 0.70) on ``--match-pairs`` fresh paired openings: Elo of the
   tuned vector with a 95% interval, and the same pooled over the seeds.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from evoengine.config import AlgorithmSettings
from evoengine.records import Recorder
from evoengine.run import optimize
from evoengine_minimax import elo
from evoengine_minimax.heuristic import HeuristicSpace
from evoengine_minimax.plugin import MinimaxSettings, build_minimax
from evoengine_minimax.report import final_candidates, final_race
from evoengine_minimax.tuning import history_of

SWEEP = np.round(np.arange(0.0, 1.0001, 0.05), 2)
SWEEP_BLOCK = 500_000  # opening numbers far from the tuner's (generation g uses block g)
MATCH_OPENINGS = 5_000_000  # the weight vectors' matches against the best w start here
REPORT_PAIRS = 100  # the closing report's default


@dataclass(frozen=True)
class Tuner:
    """How one tuner is run: the algorithm, racing on or off, pairs a generation (the first
    round's, when racing)."""

    algorithm: str
    racing: bool
    pairs: int

    @property
    def finalists(self) -> int:
        return 8 if self.racing else 4

    @property
    def key(self) -> str:
        return f"{self.algorithm}-{'racing' if self.racing else 'plain'}-{self.pairs}"

    @property
    def name(self) -> str:
        return (f"{'GA' if self.algorithm == 'ga' else 'CMA-ES'}, "
                f"{'racing' if self.racing else 'plain'} {self.pairs}")


# plain 8: the scheme before racing; plain 16: as many games as racing (its larger final
# comparison included); racing 4: the plugin's default.
TUNERS = [Tuner(algorithm, racing, pairs) for algorithm in ("ga", "cma_es")
          for racing, pairs in ((False, 8), (False, 16), (True, 4))]


class CountingArena:
    """An arena that counts the games it plays (the tuners' cost)."""

    def __init__(self, arena) -> None:
        self.arena, self.games = arena, 0
        self.features, self.name = arena.features, arena.name

    def play(self, weights, first, *args):
        self.games += len(first)
        return self.arena.play(weights, first, *args)


def problem(heuristic: str = "article", **settings):
    return build_minimax(MinimaxSettings(game="isolation", heuristic=heuristic, depth=5,
                                         **settings))


def sweep(pairs: int) -> dict[float, elo.Rating]:
    p = problem()
    start = p.space.full(np.array([[1.0]]))
    return {float(w): elo.rate(p.head_to_head(p.space.full(np.array([[w]])), start,
                                              SWEEP_BLOCK // pairs, pairs))
            for w in SWEEP}


def best_region(ratings: dict[float, elo.Rating]) -> list[float]:
    best = max(ratings.values(), key=lambda r: r.elo)
    return [w for w, r in ratings.items() if r.high >= best.low]


def tune(heuristic: str, tuner: Tuner, seed: int, evaluations: int | None = None
         ) -> tuple[np.ndarray, int, int]:
    """The tuned genome (the final comparison's winner, as the closing report picks it), the
    evaluations and the games played."""
    p = problem(heuristic, racing=tuner.racing, pairs=tuner.pairs)
    p.arena = CountingArena(p.arena)
    values = {**p.defaults, "seed": seed}
    if tuner.algorithm == "cma_es":
        values = {"algorithm": "cma_es", "seed": seed, "generations": 10**6,
                  "max_evaluations": evaluations}
    recorder = Recorder()
    result = optimize(p, AlgorithmSettings(**values), recorder=recorder)
    candidates = final_candidates(p, result.best_genome, history_of(recorder), tuner.finalists)
    _, lead = final_race(p, p.space.full(np.array(candidates)), REPORT_PAIRS,
                         None if tuner.racing else 0)
    return np.asarray(candidates[lead]), result.evaluations, p.arena.games


def run_tuners(heuristic: str, seeds, judge, tuners) -> None:
    """Each tuner on each seed; ``judge(genome)`` gives the cells that rate a tuned genome.
    CMA-ES gets the evaluations of the seed's GA run (the GAs run first)."""
    for seed in seeds:
        evaluations = None
        for tuner in tuners:
            genome, count, games = tune(heuristic, tuner, seed, evaluations)
            if tuner.algorithm == "ga":
                evaluations = count
            print(f"| {seed} | {tuner.name} | " + " | ".join(judge(tuner, genome))
                  + f" | {count} | {games} |", flush=True)


def run(pairs: int, seeds, tuners=TUNERS) -> None:
    ratings = sweep(pairs)
    region = best_region(ratings)
    print(f"\nsweep: each w against w = 1.0, {pairs} paired openings ({2 * pairs} games)")
    print("| w | Elo vs w=1.0 | 95% interval | in best region |")
    print("| --- | --- | --- | --- |")
    for w, r in ratings.items():
        print(f"| {w:.2f} | {r.elo:+.0f} | [{r.low:+.0f}, {r.high:+.0f}] | "
              f"{'yes' if w in region else ''} |")
    print(f"best region: w in {{{', '.join(f'{w:.2f}' for w in region)}}}")
    if not seeds:
        return
    hits = {t.name: [] for t in tuners}

    def judge(tuner, genome):
        w = float(genome[0])
        nearest = float(SWEEP[np.argmin(np.abs(SWEEP - w))])
        hits[tuner.name].append((nearest in region, ratings[nearest].elo))
        return [f"{w:.3f}", "yes" if nearest in region else "no",
                f"{ratings[nearest].elo:+.0f}"]

    print("\n| seed | tuner | tuned w | in region | its Elo (sweep) | evaluations | games |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    run_tuners("article", seeds, judge, tuners)
    for name, marks in hits.items():
        print(f"{name}: in the best region {sum(m for m, _ in marks)} of {len(marks)}, "
              f"mean sweep Elo {np.mean([e for _, e in marks]):+.1f}")


def run_weights(seeds, best_w: float, match_pairs: int, tuners=TUNERS) -> None:
    """Tuned weight vectors against the article's heuristic at ``best_w``."""
    p = problem("weights")
    article = HeuristicSpace("article", p.space.game_features, p.space.game_features[:2])
    rival = article.full(np.array([[best_w]]))
    pooled = {t.name: [] for t in tuners}

    def judge(tuner, genome):
        scores = p.head_to_head(p.space.full(genome[None, :]), rival,
                                MATCH_OPENINGS // match_pairs, match_pairs)
        pooled[tuner.name].append(scores)
        weights = ", ".join(f"{x:+.2f}" for x in genome)
        return [weights, elo.rate(scores).text()]

    print(f"\nweight vectors (8 features) against the article's heuristic at w = {best_w}, "
          f"{match_pairs} paired openings each")
    print("| seed | tuner | tuned weights | Elo vs best w [95%] | evaluations | games |")
    print("| --- | --- | --- | --- | --- | --- |")
    run_tuners("weights", seeds, judge, tuners)
    for name, scores in pooled.items():
        print(f"{name}: pooled over {len(scores)} seeds, Elo vs w = {best_w}: "
              f"{elo.rate(np.concatenate(scores)).text()}")


def test_sweep_and_tuners_run_small():
    run(60, [1], [t for t in TUNERS if t.pairs != 16])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3, 4, 5],
                        help="tuner seeds; none: the sweep only")
    parser.add_argument("--weights", action="store_true",
                        help="the weight-vector tuners against the best w instead")
    parser.add_argument("--best-w", type=float, default=0.70)
    parser.add_argument("--match-pairs", type=int, default=2000)
    parser.add_argument("--tuners", nargs="+", choices=[t.key for t in TUNERS],
                        default=[t.key for t in TUNERS])
    args = parser.parse_args()
    chosen = [t for t in TUNERS if t.key in args.tuners]
    if args.weights:
        run_weights(args.seeds, args.best_w, args.match_pairs, chosen)
    else:
        run(args.pairs, args.seeds, chosen)
