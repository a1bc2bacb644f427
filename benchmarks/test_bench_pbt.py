"""Population-based training of the gan plugin: quality at equal training examples, and speed
against Ray Tune's ``PopulationBasedTraining``.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_pbt.py --benchmark-enable -s`` (small
sizes), or the script for chosen sizes::

    python benchmarks/test_bench_pbt.py quality --seeds 5 --members 4 --intervals 48
    python benchmarks/test_bench_pbt.py speed --members 4 --intervals 6

1. **Quality.** Every method gets the same total number of training examples
   ``T = members x intervals x interval`` (the PBT run's) and the same search space: the
   networks of the PBT default (the articles' MLP, 2 x 128, z = 100, batch norm, batch 64),
   every other gene free. Methods: ``pbt`` (the winner after the run); ``evolve`` (the
   plugin's evolution, trials of ``trial_budget`` examples, capped at half of T, then the
   best trained again from scratch on the other half); ``random`` and ``tpe`` (Optuna's
   TPE, trials asked 8 at a time) the same way; ``default`` (the articles' configuration
   trained on all of T); ``default_member`` (the articles' configuration trained on one PBT
   member's share, T / members: not a peer at equal examples, it shows what PBT's search
   adds for one network's budget). Each final generator is measured on fresh noise (500
   images, FD to the held-out digits in the plugin's feature space); per peer a one-sided
   Welch t-test (PBT's mean lower) and, as a check that needs no normality, a one-sided
   Mann-Whitney U.
2. **Speed.** The same GAN trainer (the default shape), population and interval: evoengine's
   batched PBT (one model, one process) against Ray Tune's ``PopulationBasedTraining`` with
   one trial per member (local Ray on this machine, a trial per CPU, each a plain
   ``nn.Module`` + ``torch.optim.Adam`` GAN checkpointed with ``torch.save``). Member training
   steps per second: every discriminator or generator update of one member counts one.

``EVOENGINE_BENCH_DEVICE`` picks evoengine's device (default: CUDA when present, else the CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from evoengine.config import AlgorithmSettings, validate  # noqa: E402
from evoengine.run import make_optimizer, optimize  # noqa: E402
from evoengine_gan.devices import choose_device  # noqa: E402
from evoengine_gan.features import frechet_distance  # noqa: E402
from evoengine_gan.pbt import member_intervals  # noqa: E402
from evoengine_gan.pbt import run_length as pbt_run_length  # noqa: E402
from evoengine_gan.pbt_gan import population_shape, starting_point  # noqa: E402
from evoengine_gan.problem import GanProblem, member_seed  # noqa: E402
from evoengine_gan.settings import GanSettings  # noqa: E402
from evoengine_gan.space import ARTICLE_DEFAULT  # noqa: E402
from evoengine_gan.training import Member, TrainSetup, rounds, train_generator  # noqa: E402

DEVICE = choose_device(os.environ.get("EVOENGINE_BENCH_DEVICE", "auto"))
FINAL_SAMPLES = 500
SPEED: dict[str, float] = {}


def _problem(scheme: str, interval: int, budget: int, **settings) -> GanProblem:
    shape = population_shape(GanProblem(validate(GanSettings, {"device": "cpu"})).space)
    return GanProblem(validate(GanSettings, {"scheme": scheme, "interval": interval,
                                             "budget": budget, "space": shape,
                                             "device": str(DEVICE), **settings}))


def _fresh_fd(problem: GanProblem, generator: torch.nn.Module, latent: int, seed: int) -> float:
    """FD of ``FINAL_SAMPLES`` images on noise no method saw."""
    gen = torch.Generator().manual_seed(10_000 + seed)
    z = torch.randn(FINAL_SAMPLES, latent, generator=gen)
    with torch.no_grad():
        images = generator.to("cpu", torch.float32)(z).numpy()
    if not np.isfinite(images).all():
        return float("nan")
    return frechet_distance(problem.features.features(images), problem.features.reference)


def _retrain(problem: GanProblem, config: dict, examples: int, seed: int) -> float:
    setup = problem.setup()
    setup = TrainSetup(setup.train, examples, 16, setup.mixed_precision)
    generator, _ = train_generator(Member(config, seed=seed), setup)
    return _fresh_fd(problem, generator, config["latent"], seed)


def run_length(members: int, intervals: int, retire) -> int:
    """How many intervals a PBT run whose members retire after ``retire`` lasts for the
    examples of ``members`` x ``intervals`` member-intervals (the method's share of T)."""
    budget = members * intervals
    length = pbt_run_length(members, budget, retire)
    if member_intervals(members, length, retire) != budget:
        raise ValueError(f"retire={list(retire)} cannot spend exactly {budget} "
                         f"member-intervals with {members} members")
    return length


def run_pbt(seed: int, members: int, intervals: int, interval: int, **pbt) -> float:
    """The PBT run's winner, measured on fresh noise; ``pbt``: settings such as
    ``start_spread`` (the plugin's defaults otherwise). The run spends ``members x
    intervals`` member-intervals: more intervals where members retire on the way."""
    problem = _problem("pbt", interval, interval, **pbt)
    length = run_length(members, intervals, problem.pbt.retire)
    settings = validate(AlgorithmSettings, {**problem.defaults, "population_size": members,
                                            "generations": length - 1, "seed": seed})
    opt = make_optimizer(problem, settings)
    optimize(problem, settings, optimizer=opt)
    best = opt.best_member()
    generator = opt.trainable.population.generator_of(best)
    return _fresh_fd(problem, generator, opt.trainable.population.latent, seed)


def run_default(seed: int, total: int) -> float:
    problem = _problem("evolve", 1, 1)
    return _retrain(problem, dict(ARTICLE_DEFAULT), total, seed)


def _search_then_retrain(seed: int, total: int, trial_budget: int, propose) -> float:
    """``propose(problem, trials, rng)`` evaluates up to ``trials`` configurations and returns
    the best genome; the best is trained again on the rest of ``total``."""
    problem = _problem("evolve", 1, trial_budget)
    trials = max(1, (total // 2) // trial_budget)
    best = propose(problem, trials, np.random.default_rng(seed))
    config = problem.space.decode(best)
    return _retrain(problem, config, total - trials * trial_budget,
                    member_seed(seed, best))


def _random(problem, trials, rng):
    genomes = rng.random((trials, len(problem.space)))
    fitness = problem.evaluate(genomes).fitness[:, 0]
    return genomes[int(np.nanargmin(np.where(np.isfinite(fitness), fitness, np.nan)))]


def _evolve(problem, trials, rng):
    settings = validate(AlgorithmSettings, {**problem.defaults, "generations": 10_000,
                                            "max_evaluations": trials,
                                            "seed": int(rng.integers(2**31))})
    return optimize(problem, settings).best_genome


def _tpe(problem, trials, rng):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(
        seed=int(rng.integers(2**31))))
    fixed = problem.space.fixed()
    free = [g for g in problem.space.genes if g.name not in fixed]

    def suggest(trial):
        values = dict(fixed)
        for g in free:
            if g.kind == "choice":
                values[g.name] = trial.suggest_categorical(g.name, list(g.choices))
            elif g.kind == "int":
                values[g.name] = trial.suggest_int(g.name, int(g.low), int(g.high))
            else:
                values[g.name] = trial.suggest_float(g.name, g.low, g.high, log=g.kind == "log")
        return problem.space.encode(values)

    best, best_fd, done = None, np.inf, 0
    while done < trials:  # 8 at a time, evaluated as one batched call, like the others
        asked = [study.ask() for _ in range(min(8, trials - done))]
        genomes = np.array([suggest(t) for t in asked])
        fitness = problem.evaluate(genomes).fitness[:, 0]
        for trial, genome, fd in zip(asked, genomes, fitness, strict=True):
            study.tell(trial, float(fd) if np.isfinite(fd) else 1e9)
            if np.isfinite(fd) and fd < best_fd:
                best, best_fd = genome, fd
        done += len(asked)
    return best


METHODS = {"random": _random, "evolve": _evolve, "tpe": _tpe}


def quality(seeds: int, members: int, intervals: int, interval: int, trial_budget: int,
            methods=("pbt", "evolve", "tpe", "random", "default", "default_member"),
            first_seed: int = 1, pbt_settings: dict | None = None) -> dict[str, np.ndarray]:
    """FD of each method's final generator on seeds ``first_seed ...``; ``pbt_settings``:
    gan settings for the PBT runs (``exploit_margin``, ``retire``, ...) instead of the
    plugin's defaults."""
    total = members * intervals * interval
    out: dict[str, list[float]] = {m: [] for m in methods}
    for seed in range(first_seed, first_seed + seeds):
        for method in methods:
            start = time.perf_counter()
            if method == "pbt":
                fd = run_pbt(seed, members, intervals, interval, **(pbt_settings or {}))
            elif method == "default":
                fd = run_default(seed, total)
            elif method == "default_member":  # one PBT member's share of the examples
                fd = run_default(seed, total // members)
            else:
                fd = _search_then_retrain(seed, total, trial_budget, METHODS[method])
            out[method].append(fd)
            print(f"seed {seed} {method:>8}: FD {fd:8.2f} ({time.perf_counter() - start:.0f} s)",
                  flush=True)
    return {m: np.array(v) for m, v in out.items()}


def quality_report(fds: dict[str, np.ndarray], total: int) -> str:
    from scipy import stats

    lines = [f"FD at {total} training examples per method (lower is better):"]
    for method, values in fds.items():
        lines.append(f"  {method:>8}: mean {np.nanmean(values):8.2f}  "
                     f"{np.round(values, 1).tolist()}")
    if "pbt" in fds:
        for method, values in fds.items():
            if method != "pbt" and len(values) > 1:
                welch = stats.ttest_ind(fds["pbt"], values, equal_var=False,
                                        alternative="less").pvalue
                mann_whitney = stats.mannwhitneyu(fds["pbt"], values,
                                                  alternative="less").pvalue
                lines.append(f"  pbt < {method}: one-sided Welch t p = {welch:.3g}, "
                             f"one-sided Mann-Whitney U p = {mann_whitney:.3g}")
    return "\n".join(lines)


# --- speed ---------------------------------------------------------------------------------
def member_steps(members: int, intervals: int, interval: int) -> int:
    """Member training steps of a run: every member trains ``interval`` examples an interval,
    in updates (D or G) of one batch of the population's batch size. Counted the same way for
    both sides, from the work asked of them (both train every member every interval)."""
    batch = ARTICLE_DEFAULT["batch_size"]
    return members * intervals * (interval // batch)


def speed_evoengine(members: int, intervals: int, interval: int) -> tuple[float, int]:
    # Every member trains every interval, as each Ray Tune trial does (no retirement).
    problem = _problem("pbt", interval, interval, retire=[])
    problem.features  # the feature classifier is trained before the clock starts
    settings = validate(AlgorithmSettings, {**problem.defaults, "population_size": members,
                                            "generations": intervals - 1, "seed": 1})
    opt = make_optimizer(problem, settings)
    start = time.perf_counter()
    optimize(problem, settings, optimizer=opt)
    seconds = time.perf_counter() - start
    assert len(opt.intervals) == intervals
    return seconds, member_steps(members, intervals, interval)


def speed_ray_tune(members: int, intervals: int, interval: int) -> tuple[float, int]:
    import ray
    from ray import tune
    from ray.tune.schedulers import PopulationBasedTraining

    problem = _problem("evolve", 1, interval)
    features = problem.features.to_arrays()
    train = problem.data.train
    shape = population_shape(problem.space)
    space = problem.space

    class GanTrial(tune.Trainable):
        """One GAN, trained the plain way (the plugin's PlainGan: nn.Module networks and
        torch.optim.Adam, the trainer the batched population is tested against), one
        interval per step."""

        def setup(self, config):
            from evoengine_gan.features import FeatureSpace
            from evoengine_gan.training import PlainGan

            torch.set_num_threads(1)
            self.features = FeatureSpace.from_arrays(features)
            setup = TrainSetup(torch.as_tensor(train), interval, FINAL_SAMPLES)
            self.gan = PlainGan(Member({**ARTICLE_DEFAULT, **shape, **config},
                                       int(config["seed"])), setup)

        def reset_config(self, new_config):
            self.gan.configure({**self.gan.config, **new_config})
            return True

        def step(self):
            gan = self.gan
            gan.reseed(int(gan.config["seed"]) + self.iteration)
            gan.train(rounds(gan.config, interval))
            images = gan.sample(FINAL_SAMPLES)
            fd = (frechet_distance(self.features.features(images), self.features.reference)
                  if np.isfinite(images).all() else 1e9)
            return {"fd": fd}

        def save_checkpoint(self, checkpoint_dir):
            gan = self.gan
            torch.save({"g": gan.g_net.state_dict(), "d": gan.d_net.state_dict(),
                        "opt_g": gan.opt_g.state_dict(), "opt_d": gan.opt_d.state_dict()},
                       os.path.join(checkpoint_dir, "state.pt"))

        def load_checkpoint(self, checkpoint_dir):
            state = torch.load(os.path.join(checkpoint_dir, "state.pt"), weights_only=True)
            gan = self.gan
            gan.g_net.load_state_dict(state["g"]), gan.d_net.load_state_dict(state["d"])
            gan.opt_g.load_state_dict(state["opt_g"]), gan.opt_d.load_state_dict(state["opt_d"])
            gan.configure(gan.config)  # the loaded optimizer states carry the source's rates

    # Ray Tune's members start as evoengine's do: each explored gene and the loss and
    # activation drawn from the band around the articles' configuration that start_spread
    # gives (starting_genomes), on the gene's own scale.
    centre = space.encode(starting_point(space))
    spread = problem.settings.start_spread

    def domain(name):
        i, g = next((i, g) for i, g in enumerate(space.genes) if g.name == name)
        low, high = (g.decode(centre[i] * (1 - spread)),
                     g.decode(centre[i] + spread * (1 - centre[i])))
        if g.kind == "choice":
            return tune.choice(list(g.choices[g.choices.index(low):g.choices.index(high) + 1]))
        if g.kind == "int":
            return tune.randint(int(low), int(high) + 1)
        if low == high:
            return tune.choice([low])
        return tune.loguniform(low, high) if g.kind == "log" else tune.uniform(low, high)

    def mutation(name):  # PBT's resample draws from the whole range, as evoengine's does
        g = next(g for g in space.genes if g.name == name)
        if g.kind == "log":
            return tune.loguniform(g.low, g.high)
        if g.kind == "int":
            return list(range(int(g.low), int(g.high) + 1))
        return tune.uniform(g.low, g.high)

    explored = ("lr_g", "lr_d", "beta1", "beta2", "label_smoothing", "label_noise",
                "d_steps", "g_steps")
    mutations = {n: mutation(n) for n in explored}
    genes = {g.name: g for g in space.genes if g.name in explored}

    def clip(config):
        """Ray Tune multiplies by 0.8 or 1.2 without keeping the value in its domain (beta2
        went past 1, and Adam's bias correction to a complex number); as a user would, clip
        to the ranges, which is also what evoengine's explore does."""
        for name, g in genes.items():
            value = min(max(config[name], g.low), g.high)
            config[name] = int(value) if g.kind == "int" else float(value)
        return config

    rng = np.random.default_rng(1)
    param_space = {**{n: domain(n) for n in explored + ("loss", "g_activation")},
                   "seed": tune.sample_from(lambda _: int(rng.integers(2**31)))}
    scheduler = PopulationBasedTraining(time_attr="training_iteration", metric="fd",
                                        mode="min", perturbation_interval=1,
                                        hyperparam_mutations=mutations,
                                        custom_explore_fn=clip,
                                        quantile_fraction=problem.settings.exploit_fraction,
                                        resample_probability=(
                                            problem.settings.resample_probability))
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False,
             ignore_reinit_error=True)
    try:
        with tempfile.TemporaryDirectory() as storage:
            tuner = tune.Tuner(
                tune.with_resources(GanTrial, {"cpu": 1}), param_space=param_space,
                tune_config=tune.TuneConfig(scheduler=scheduler, num_samples=members,
                                            reuse_actors=True),
                run_config=tune.RunConfig(storage_path=storage, verbose=0,
                                          stop={"training_iteration": intervals},
                                          checkpoint_config=tune.CheckpointConfig(
                                              checkpoint_frequency=0, num_to_keep=4)))
            start = time.perf_counter()
            results = tuner.fit()
            seconds = time.perf_counter() - start
    finally:
        ray.shutdown()
    assert all(r.metrics["training_iteration"] == intervals for r in results)
    return seconds, member_steps(members, intervals, interval)


def updates_per_cpu_second(populations=(1, 4, 8, 32), updates: int = 200) -> dict[str, float]:
    """Member updates per CPU-second (``time.process_time``, this process, one torch thread)
    of the batched population at each size against one plain ``PlainGan``, every member at
    the articles' configuration (one D and one G update per round): the arithmetic alone, no
    measuring, no PBT, no Ray."""
    from evoengine_gan.training import GanPopulation, PlainGan

    setup = TrainSetup(torch.as_tensor(_problem("evolve", 1, 1).data.train), 1, 1)
    out = {}
    for size in populations:
        population = GanPopulation([Member(ARTICLE_DEFAULT, s) for s in range(size)], setup)
        population.train([5] * size)  # warm-up
        start = time.process_time()
        population.train([updates // 2] * size)
        out[f"batched {size}"] = updates * size / (time.process_time() - start)
    plain = PlainGan(Member(ARTICLE_DEFAULT, 1), setup)
    plain.train(5)
    start = time.process_time()
    plain.train(updates // 2)
    out["plain"] = updates / (time.process_time() - start)
    return out


SPEED_SIZES = {"members": int(os.environ.get("EVOENGINE_PBT_BENCH_MEMBERS", 4)),
               "intervals": int(os.environ.get("EVOENGINE_PBT_BENCH_INTERVALS", 3)),
               "interval": int(os.environ.get("EVOENGINE_PBT_BENCH_INTERVAL", 2000))}


@pytest.mark.parametrize("mode", ["evoengine", "ray_tune"])
def test_pbt_speed_against_ray_tune(benchmark, mode):
    if mode == "ray_tune":
        pytest.importorskip("ray.tune", reason="pip install 'ray[tune]' (the bench extra)")
    torch.set_num_threads(1)
    run = speed_evoengine if mode == "evoengine" else speed_ray_tune
    seconds, steps = benchmark.pedantic(lambda: run(**SPEED_SIZES), rounds=1, iterations=1)
    SPEED[mode] = steps / seconds
    benchmark.extra_info.update(member_steps=steps, seconds=seconds,
                                steps_per_second=SPEED[mode], device=str(DEVICE))
    print(f"\n{mode}: {steps} member steps in {seconds:.1f} s = {SPEED[mode]:.0f} steps/s")
    if len(SPEED) == 2:
        print(f"evoengine / Ray Tune: {SPEED['evoengine'] / SPEED['ray_tune']:.1f}x "
              f"member steps per second ({SPEED_SIZES})")


def test_pbt_quality_at_equal_examples(benchmark):
    sizes = {"seeds": int(os.environ.get("EVOENGINE_PBT_BENCH_SEEDS", 1)),
             "members": SPEED_SIZES["members"],
             "intervals": int(os.environ.get("EVOENGINE_PBT_BENCH_QUALITY_INTERVALS", 4)),
             "interval": SPEED_SIZES["interval"], "trial_budget": 6400}
    torch.set_num_threads(1)
    fds = benchmark.pedantic(lambda: quality(**sizes), rounds=1, iterations=1)
    total = sizes["members"] * sizes["intervals"] * sizes["interval"]
    print("\n" + quality_report(fds, total))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["quality", "speed", "updates"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=1,
                        help="seeds first_seed .. first_seed + seeds - 1 (to run in parts)")
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--intervals", type=int, default=48)
    parser.add_argument("--interval", type=int, default=2000)
    parser.add_argument("--trial-budget", type=int, default=6400)
    parser.add_argument("--methods",
                        default="pbt,evolve,tpe,random,default,default_member")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                        help="a gan setting for the PBT runs, e.g. exploit_margin=0 or "
                        "'retire=[16]' (repeatable; the plugin's defaults otherwise)")
    args = parser.parse_args()
    pbt_settings = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    torch.set_num_threads(1)
    if args.what == "quality":
        result = quality(args.seeds, args.members, args.intervals, args.interval,
                         args.trial_budget, tuple(args.methods.split(",")), args.first_seed,
                         pbt_settings)
        print(quality_report(result, args.members * args.intervals * args.interval))
    elif args.what == "updates":
        rates = updates_per_cpu_second()
        for name, rate in rates.items():
            print(f"{name:>11}: {rate:5.0f} member updates per CPU-second "
                  f"({rate / rates['plain']:.2f}x plain)")
    else:
        for name, run in (("evoengine", speed_evoengine), ("ray_tune", speed_ray_tune)):
            seconds, steps = run(args.members, args.intervals, args.interval)
            SPEED[name] = steps / seconds
            print(f"{name}: {steps} member steps in {seconds:.1f} s = {SPEED[name]:.0f} "
                  "steps/s", flush=True)
        print(f"evoengine / Ray Tune: {SPEED['evoengine'] / SPEED['ray_tune']:.1f}x")
