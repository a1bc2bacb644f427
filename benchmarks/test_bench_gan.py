"""The gan plugin: population-batched against one-by-one training, and evolved against default.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_gan.py --benchmark-enable -s``
(or ``python benchmarks/test_bench_gan.py`` for the evolved-against-default study alone, with
``--generations``, ``--population``, ``--budget`` to size it).

1. 32 tiny MLP GANs on digits (z 16, one hidden layer of 32 units, batch 32, 40 rounds each),
   the same members and the same updates, trained one by one with ``torch.optim.Adam`` and
   together as one batched model. The ratio is printed and stored in ``extra_info``.
2. A configuration evolved by ``evoengine run gan`` against the articles' default (MLP, Adam
   lr 2e-4, beta1 0.5, z 100, batch 64), both retrained from 5 fresh seeds at the same budget;
   the mean Fréchet distances and a one-sided Welch t-test are printed.

``EVOENGINE_BENCH_DEVICE`` picks the device (default: CUDA when present, else the CPU).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from evoengine.config import AlgorithmSettings, validate  # noqa: E402
from evoengine.run import optimize  # noqa: E402
from evoengine_gan.devices import choose_device  # noqa: E402
from evoengine_gan.problem import GanProblem  # noqa: E402
from evoengine_gan.settings import GanSettings  # noqa: E402
from evoengine_gan.space import ARTICLE_DEFAULT  # noqa: E402
from evoengine_gan.training import Member, TrainSetup, train_one, train_population  # noqa: E402

DEVICE = choose_device(os.environ.get("EVOENGINE_BENCH_DEVICE", "auto"))
MEMBERS = 32
TINY = dict(ARTICLE_DEFAULT, latent=16, g_width=32, d_width=32, g_depth=1, d_depth=1,
            batch_size=32, batch_norm=False)
RESULTS: dict[str, float] = {}


def _tiny_population() -> tuple[list[Member], TrainSetup]:
    from evoengine_gan.data import prepare_data

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    members = [Member(dict(TINY, lr_g=float(10 ** rng.uniform(-4, -2.5)),
                           lr_d=float(10 ** rng.uniform(-4, -2.5)),
                           beta1=float(rng.uniform(0, 0.9)),
                           loss=str(rng.choice(["non_saturating", "hinge", "least_squares"]))),
                      seed=i) for i in range(MEMBERS)]
    train = torch.as_tensor(prepare_data("digits").train, device=DEVICE)
    return members, TrainSetup(train, budget=32 * 2 * 40, samples=64)


@pytest.mark.parametrize("mode", ["one_by_one", "batched"])
def test_batched_against_one_by_one(benchmark, mode):
    members, setup = _tiny_population()
    train_population(members[:2], setup)  # warm up the dispatcher and allocator
    if mode == "one_by_one":
        benchmark.pedantic(lambda: [train_one(m, setup) for m in members], rounds=2,
                           iterations=1)
    else:
        benchmark.pedantic(lambda: train_population(members, setup), rounds=2, iterations=1)
    if benchmark.stats is not None:
        RESULTS[mode] = benchmark.stats.stats.min
    benchmark.extra_info["device"] = str(DEVICE)
    if len(RESULTS) == 2:
        ratio = RESULTS["one_by_one"] / RESULTS["batched"]
        benchmark.extra_info["speedup"] = ratio
        print(f"\n{MEMBERS} tiny MLP GANs on {DEVICE}: one by one {RESULTS['one_by_one']:.2f} s, "
              f"batched {RESULTS['batched']:.2f} s, batched is {ratio:.1f}x faster")


def evolved_against_default(*, population: int, generations: int, budget: int,
                            seeds: int = 5, seed: int = 1) -> dict:
    """Evolve (MLP family, as the default), then retrain both configurations from fresh seeds."""
    settings = validate(GanSettings, {"budget": budget, "device": str(DEVICE),
                                      "space": {"architecture": "mlp"}})
    problem = GanProblem(settings)
    algorithm = validate(AlgorithmSettings, {**problem.defaults, "population_size": population,
                                             "generations": generations, "seed": seed})
    start = time.perf_counter()
    result = optimize(problem, algorithm)
    evolve_s = time.perf_counter() - start
    evolved = problem.space.decode(result.best_genome)
    setup = problem.setup()

    def retrain(config):
        fds = []
        for s in range(seeds):
            trained = train_one(Member(config, seed=10_000 + s), setup)
            fds.append(problem.measure(trained).frechet)
        return np.array(fds)

    default_fd, evolved_fd = retrain(dict(ARTICLE_DEFAULT)), retrain(evolved)
    from scipy import stats

    test = stats.ttest_ind(evolved_fd, default_fd, equal_var=False, alternative="less")
    return {"evolved": evolved, "evolved_fd": evolved_fd, "default_fd": default_fd,
            "reduction": 1.0 - evolved_fd.mean() / default_fd.mean(), "p_value": test.pvalue,
            "evolve_seconds": evolve_s, "evaluations": result.evaluations}


def report(out: dict, population: int, generations: int, budget: int) -> str:
    return (f"evolved (population {population}, {generations} generations, budget {budget}, "
            f"{out['evaluations']} evaluations, {out['evolve_seconds']:.0f} s on {DEVICE}):\n"
            f"  evolved config: {out['evolved']}\n"
            f"  FD evolved {np.round(out['evolved_fd'], 1).tolist()} mean "
            f"{out['evolved_fd'].mean():.1f}\n"
            f"  FD default {np.round(out['default_fd'], 1).tolist()} mean "
            f"{out['default_fd'].mean():.1f}\n"
            f"  mean FD {100 * out['reduction']:.0f}% lower; one-sided Welch t-test "
            f"p = {out['p_value']:.3g}")


def test_evolved_against_article_default(benchmark):
    sizes = {"population": int(os.environ.get("EVOENGINE_GAN_BENCH_POPULATION", 8)),
             "generations": int(os.environ.get("EVOENGINE_GAN_BENCH_GENERATIONS", 4)),
             "budget": int(os.environ.get("EVOENGINE_GAN_BENCH_BUDGET", 6400))}
    torch.set_num_threads(1)
    out = benchmark.pedantic(lambda: evolved_against_default(**sizes), rounds=1, iterations=1)
    benchmark.extra_info.update(reduction=out["reduction"], p_value=out["p_value"])
    print("\n" + report(out, **sizes))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=12)
    parser.add_argument("--generations", type=int, default=8)
    parser.add_argument("--budget", type=int, default=12800)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(report(evolved_against_default(population=args.population,
                                         generations=args.generations, budget=args.budget),
                 args.population, args.generations, args.budget))
