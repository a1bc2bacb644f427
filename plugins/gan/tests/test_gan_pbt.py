"""Population-based training: exploit and explore, per-member steps in the batched model, the
trainable protocol both ways, reproducibility, resume, and the run folder."""

import json
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from click.testing import CliRunner  # noqa: E402

from evoengine.checkpoint import load_latest  # noqa: E402
from evoengine.cli import main  # noqa: E402
from evoengine.config import AlgorithmSettings, validate  # noqa: E402
from evoengine.errors import ConfigError  # noqa: E402
from evoengine.run import make_optimizer, optimize  # noqa: E402
from evoengine_gan.features import frechet_distance  # noqa: E402
from evoengine_gan.classifier import ClassifierProblem  # noqa: E402
from evoengine_gan.classifier_settings import ClassifierSettings  # noqa: E402
from evoengine_gan.pbt import (PBTSettings, PopulationBasedTraining,  # noqa: E402
                               exploit_and_explore, member_intervals, perturb)
from evoengine_gan.problem import GanProblem  # noqa: E402
from evoengine_gan.settings import GanSettings  # noqa: E402
from evoengine_gan.space import ARTICLE_DEFAULT, SearchSpace  # noqa: E402
from evoengine_gan.train_command import load_generator  # noqa: E402
from evoengine_gan.training import GanPopulation, Member, TrainSetup, train_one  # noqa: E402

DEVICE = os.environ.get("EVOENGINE_TEST_DEVICE", "cpu")
TINY_SHAPE = {"architecture": "mlp", "latent": 16, "g_width": 32, "d_width": 32,
              "g_depth": 1, "d_depth": 1, "batch_size": 16, "batch_norm": False}
TINY_PBT = {"data_limit": 120, "held_out_fraction": 0.5, "samples": 40,
            "classifier_steps": 60, "device": DEVICE, "space": TINY_SHAPE, "scheme": "pbt",
            "interval": 64}


def tiny_pbt(**changes):
    return GanProblem(validate(GanSettings, {**TINY_PBT, **changes}))


def pbt_settings(**changes):
    values = {"population_size": 4, "generations": 2, "elitism": 0, "seed": 3,
              "checkpoint_every": 1, **changes}
    return validate(AlgorithmSettings, values)


# --- exploit and explore ---------------------------------------------------------------
def test_the_bottom_copies_the_top_and_perturbs_only_explored_genes():
    space = SearchSpace()
    rng = np.random.default_rng(0)
    genomes = rng.random((8, len(space)))
    scores = np.array([5.0, 1.0, 7.0, 3.0, -np.inf, 6.0, 2.0, 4.0])
    explored = ("lr_g", "lr_d", "d_steps")
    sources, new = exploit_and_explore(scores, genomes, space, explored, rng,
                                       PBTSettings(interval=1))
    # n = 8, fraction 0.25: the 2 worst (the failed member 4, and member 1) copy one of the
    # 2 best (members 2 and 5); the others go on as themselves.
    replaced = np.flatnonzero(sources != np.arange(8))
    assert sorted(replaced.tolist()) == [1, 4]
    assert set(sources[replaced].tolist()) <= {2, 5}
    np.testing.assert_array_equal(new[sources == np.arange(8)], genomes[sources == np.arange(8)])
    index = {g.name: i for i, g in enumerate(space.genes)}
    for target in replaced:
        before = space.decode(genomes[sources[target]])
        after = space.decode(new[target])
        for name, value in after.items():
            if name not in explored:  # taken from the source unchanged
                assert new[target, index[name]] == genomes[sources[target], index[name]]
                assert value == before[name]


def test_perturbation_multiplies_by_the_factors_or_resamples_within_the_range():
    space = SearchSpace({"lr_g": [1e-4, 1e-2]})
    genes = [g for g in space.genes if g.name in ("lr_g", "d_steps", "beta2")]
    config = {**ARTICLE_DEFAULT, "lr_g": 1e-3, "d_steps": 2, "beta2": 0.99}
    seen_lr, seen_steps = set(), set()
    rng = np.random.default_rng(1)
    for _ in range(200):
        out = perturb(config, genes, rng, PBTSettings(interval=1, resample_probability=0.0))
        seen_lr.add(round(out["lr_g"] / 1e-3, 9))
        seen_steps.add(out["d_steps"])
        assert out["beta2"] <= 0.999  # 0.99 x 1.2 is clipped to the gene's range
        assert {k: v for k, v in out.items() if k not in ("lr_g", "d_steps", "beta2")} == {
            k: v for k, v in config.items() if k not in ("lr_g", "d_steps", "beta2")}
    assert seen_lr == {0.8, 1.2} and seen_steps == {1, 3}
    resampled = [perturb(config, genes, rng, PBTSettings(interval=1, resample_probability=1.0))
                 ["lr_g"] for _ in range(200)]
    assert 1e-4 <= min(resampled) and max(resampled) <= 1e-2
    assert len(set(resampled)) == 200


def test_a_resample_within_a_width_stays_near_the_current_value():
    """resample_width 0.2: a learning rate in 1e-5..1e-2 (three decades) is drawn again within
    0.6 decades either way of where it is (a factor of 4), not from the whole range."""
    genes = [g for g in SearchSpace().genes if g.name == "lr_g"]
    config = {**ARTICLE_DEFAULT, "lr_g": 1e-3}
    rng = np.random.default_rng(2)
    near = [perturb(config, genes, rng, PBTSettings(interval=1, resample_probability=1.0,
                                                    resample_width=0.2))["lr_g"]
            for _ in range(300)]
    factor = 10 ** 0.6
    assert 1e-3 / factor * (1 - 1e-9) <= min(near) and max(near) <= 1e-3 * factor * (1 + 1e-9)
    assert min(near) < 1e-3 / 3 and max(near) > 1e-3 * 3  # both sides, most of the band


def test_a_bottom_member_copies_only_a_clearly_better_one_under_a_margin():
    space = SearchSpace()
    genomes = np.random.default_rng(0).random((4, len(space)))
    close = np.array([-900.0, -905.0, -910.0, -915.0])  # FDs within 2% of each other
    far = np.array([-30.0, -905.0, -910.0, -915.0])
    for margin, scores, copies in ((0.0, close, 1), (0.1, close, 0), (0.1, far, 1)):
        settings = PBTSettings(interval=1, exploit_margin=margin)
        sources, new = exploit_and_explore(scores, genomes, space, ("lr_g",),
                                           np.random.default_rng(1), settings)
        assert int((sources != np.arange(4)).sum()) == copies, (margin, scores)
        if not copies:  # a member that does not copy keeps its hyperparameters too
            np.testing.assert_array_equal(new, genomes)
    # explore_kept: the bottom member (3) that does not copy explores from its own genome.
    settings = PBTSettings(interval=1, exploit_margin=0.1, explore_kept=True,
                           resample_probability=0.0)
    sources, new = exploit_and_explore(close, genomes, space, ("lr_g",),
                                       np.random.default_rng(1), settings)
    assert sources.tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(new[:3], genomes[:3])
    lr = space.genes.index(next(g for g in space.genes if g.name == "lr_g"))
    ratio = space.decode(new[3])["lr_g"] / space.decode(genomes[3])["lr_g"]
    assert ratio == pytest.approx(0.8) or ratio == pytest.approx(1.2)
    np.testing.assert_array_equal(np.delete(new[3], lr), np.delete(genomes[3], lr))


def test_members_that_are_not_ready_or_retired_are_neither_copied_nor_replaced():
    space = SearchSpace()
    genomes = np.random.default_rng(0).random((6, len(space)))
    scores = np.array([6.0, 5.0, 4.0, 3.0, 2.0, 1.0])
    settings = PBTSettings(interval=1, exploit_fraction=0.34)
    ready = np.array([False, True, True, True, True, False])
    for seed in range(20):
        sources, _ = exploit_and_explore(scores, genomes, space, ("lr_g",),
                                         np.random.default_rng(seed), settings, ready=ready)
        # The ready are 1-4: the top one (1) is copied by the bottom one (4).
        assert sources.tolist() == [0, 1, 2, 3, 1, 5]
    active = np.array([True, True, False, True, True, False])
    scores = np.array([6.0, 5.0, 9.0, 3.0, -np.inf, -np.inf])  # 2 retired with the best score
    sources, _ = exploit_and_explore(scores, genomes, space, ("lr_g",),
                                     np.random.default_rng(0), settings, active=active)
    # Members 0, 1, 3, 4 take part: 4 failed and copies the top (0); 2 and 5 stay as they are.
    assert sources.tolist() == [0, 1, 2, 3, 0, 5]


# --- the batched GAN population -----------------------------------------------------------
def _setup(dtype=torch.float64, budget=16 * 2 * 3):
    from evoengine_gan.data import prepare_data

    train = torch.as_tensor(prepare_data("digits", limit=300).train, dtype=dtype, device=DEVICE)
    return TrainSetup(train, budget=budget, samples=10)


def test_members_with_fewer_steps_per_round_train_as_they_would_alone():
    """A member that sits out the extra discriminator step of another trains exactly as it
    would alone (the reference: train_one, plain nn.Module and torch.optim.Adam)."""
    setup = _setup()
    base = {**ARTICLE_DEFAULT, **TINY_SHAPE, "batch_norm": True}
    configs = [dict(base, d_steps=1, g_steps=1, loss="hinge"),
               dict(base, d_steps=3, g_steps=1, lr_d=1e-3),
               dict(base, d_steps=1, g_steps=2, g_activation="leaky_relu")]
    members = [Member(c, seed=40 + i) for i, c in enumerate(configs)]
    population = GanPopulation(members, setup)
    from evoengine_gan.training import rounds

    population.train([rounds(c, setup.budget) for c in configs])
    together = population.sample(setup.samples)
    for i, member in enumerate(members):
        np.testing.assert_allclose(together[i], train_one(member, setup).samples,
                                   rtol=0, atol=1e-9)


def test_copying_a_member_copies_weights_and_adam_state_and_round_trips_through_arrays():
    setup = _setup(torch.float32)
    cfg = dict(ARTICLE_DEFAULT, **TINY_SHAPE)
    population = GanPopulation([Member(cfg, seed=s) for s in (1, 2, 3)], setup)
    population.train([2, 2, 2])
    population.copy_member(0, 2)
    state = population.state()
    for name, value in state.items():
        np.testing.assert_array_equal(value[2], value[0], err_msg=name)
    assert np.abs(state["g.param.net.0.weight"][1] - state["g.param.net.0.weight"][0]).max() > 0
    other = GanPopulation([Member(cfg, seed=s) for s in (7, 8, 9)], setup)
    other.load_state(state)
    assert all(np.array_equal(v, other.state()[k]) for k, v in state.items())
    with pytest.raises(ValueError, match="lacks"):
        other.load_state({k: v for k, v in state.items() if "exp_avg_sq" not in k})


# --- the trainable protocol, batched and one by one --------------------------------------------
def test_batched_classifiers_equal_the_one_by_one_path_at_float64():
    problem = ClassifierProblem(validate(ClassifierSettings, {"hidden": 8}))
    configs = [problem.space.decode(g)
               for g in problem.initial_population(3, np.random.default_rng(0))]
    slow_problem = ClassifierProblem(validate(ClassifierSettings, {"hidden": 8,
                                                                   "batched": False}))
    fast = problem.new_trainable(configs, [1, 2, 3], dtype=torch.float64)
    slow = slow_problem.new_trainable(configs, [1, 2, 3], dtype=torch.float64)
    for trainable in (fast, slow):
        trainable.configure(configs)
        trainable.train(96)
        trainable.copy_member(1, 0)
        trainable.reseed([4, 5, 6])
        trainable.train(96)
    np.testing.assert_array_equal(fast.measure(0), slow.measure(0))
    assert fast.member_info() == slow.member_info()  # test accuracy, for best.json
    a, b = fast.state(), slow.state()
    for i in range(3):
        np.testing.assert_allclose(a["w1"][i], b[f"{i}.0.weight"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(a["adam.exp_avg.w2"][i], b[f"{i}.adam.2.exp_avg"],
                                   rtol=0, atol=1e-12)
    assert a["adam.steps"].tolist() == [6.0, 6.0, 6.0]  # member 0 took member 1's 3 steps


# --- runs ----------------------------------------------------------------------------------
def _run(problem, settings, stop_after=None):
    opt = make_optimizer(problem, settings)
    assert isinstance(opt, PopulationBasedTraining)
    if stop_after is not None:
        settings = settings.model_copy(update={"generations": stop_after})
        opt.settings = settings
    return opt, optimize(problem, settings, optimizer=opt)


def test_classifier_pbt_improves_and_repeats_with_the_seed():
    problem = ClassifierProblem(validate(ClassifierSettings, {"interval": 320, "hidden": 16}))
    settings = pbt_settings(generations=4, population_size=6)
    opt, result = _run(problem, settings)
    again, _ = _run(problem, settings)
    assert opt.logbook.select("max") == again.logbook.select("max")
    assert opt.logbook.select("max")[-1] > opt.logbook.select("max")[0]
    assert result.best_fitness[0] > 0.8  # 64 > 16 > 10 on digits after 1600 examples
    assert 0.7 < problem.describe(result.best_genome, opt.best_info)["test_accuracy"] <= 1
    copies = sum(int((i.sources != np.arange(6)).sum()) for i in opt.intervals[1:])
    assert copies >= 4  # one member of six copied at each of the 4 exploits, at least


@pytest.mark.parametrize("retire, stop_after", [((), 1), ((2,), 1), ((2,), 2)])
def test_gan_pbt_resumes_exactly_from_a_checkpoint(tmp_path, retire, stop_after):
    """Stop after generation 1 (or 2), restore a fresh optimizer from that state, run on: the
    same logbook, lineage and weights as the run that was never stopped (with members that
    retire after interval 2 too: the checkpoint is taken before and after they retire)."""
    problem = tiny_pbt(retire=list(retire))
    settings = pbt_settings(generations=3)
    whole, _ = _run(problem, settings)
    first, _ = _run(problem, settings, stop_after=stop_after)
    values, arrays = first.export_state()
    # as a checkpoint stores it: JSON (arrays in the info as lists) and named arrays
    values, arrays = json.loads(json.dumps(values, default=np.ndarray.tolist)), dict(arrays)
    resumed = make_optimizer(problem, settings)
    resumed.restore_state(values, arrays)
    optimize(problem, settings, optimizer=resumed)
    assert resumed.logbook.select("min") == whole.logbook.select("min")
    assert [i.sources.tolist() for i in resumed.intervals] == [
        i.sources.tolist() for i in whole.intervals]
    a, b = resumed.trainable.state(), whole.trainable.state()
    assert all(np.array_equal(a[k], b[k]) for k in b)
    assert resumed.active.tolist() == whole.active.tolist()
    assert resumed.active.sum() == (2 if retire else 4)


def test_a_run_cut_short_just_after_members_retired_resumes_as_the_whole_run():
    """Ctrl-C during the interval that follows a retirement: the run saves the state of the
    last told interval, members already retired. Resumed, it must not retire half again."""
    problem = tiny_pbt(retire=[2])
    settings = pbt_settings(generations=3)
    whole, _ = _run(problem, settings)
    cut, _ = _run(problem, settings, stop_after=1)
    rng_state = cut.rng.bit_generator.state
    cut.ask()  # retires the worse half, then the interval is interrupted
    cut.cancel_ask(rng_state)
    assert cut.active.sum() == 2
    values, arrays = cut.export_state()
    values, arrays = json.loads(json.dumps(values, default=np.ndarray.tolist)), dict(arrays)
    resumed = make_optimizer(problem, settings)
    resumed.restore_state(values, arrays)
    optimize(problem, settings, optimizer=resumed)
    assert resumed.active.tolist() == whole.active.tolist()
    assert resumed.logbook.select("min") == whole.logbook.select("min")
    a, b = resumed.trainable.state(), whole.trainable.state()
    assert all(np.array_equal(a[k], b[k]) for k in b)


def test_retired_members_stop_training_and_the_rest_train_on():
    """4 members, the worse half retiring after intervals 2 and 3: then 2, then 1 train; a
    retired member's weights, Adam state and measure stay as they were, it is never copied,
    never the answer, and the run trains member_intervals(...) member-intervals in all."""
    problem = tiny_pbt(retire=[2, 3])
    opt, _ = _run(problem, pbt_settings(generations=4))
    history = [i.fitness[:, 0] for i in opt.intervals]
    assert [int(i.sources.size) for i in opt.intervals] == [4] * 5
    active = opt.active
    assert active.sum() == 1 and opt.best_member() == int(np.flatnonzero(active)[0])
    retired_after = opt.retired_after
    assert sorted(retired_after.tolist()) == [0, 2, 2, 3]
    final = opt.trainable.state()
    for done in (2, 3):  # the run stopped right after those intervals, for its weights then
        then, _ = _run(problem, pbt_settings(generations=4), stop_after=done - 1)
        state = then.trainable.state()
        for member in np.flatnonzero(retired_after == done):
            for name, value in final.items():  # weights, buffers, Adam moments and steps
                np.testing.assert_array_equal(value[member], state[name][member], err_msg=name)
            for later in history[done:]:
                assert later[member] == history[done - 1][member]  # its last measure, kept
            for interval in opt.intervals[done:]:
                assert member not in interval.sources[interval.sources != np.arange(4)]
    trained = np.where(active, 5, retired_after)  # intervals each member trained
    assert trained.sum() == member_intervals(4, 5, (2, 3)) == 4 + 4 + 2 + 1 + 1


def test_pbt_refuses_settings_it_cannot_honour():
    problem = tiny_pbt()
    with pytest.raises(ConfigError, match="setting 'elitism'"):
        make_optimizer(problem, pbt_settings(elitism=1))
    with pytest.raises(ConfigError, match="setting 'backend'.*serial"):
        make_optimizer(problem, pbt_settings(backend="processes"))
    with pytest.raises(ConfigError, match="second_objective"):
        tiny_pbt(second_objective="time")
    # Retirement points that could never apply, or apply twice, are refused, not ignored.
    for retire, message in (([0], r"'retire\.0'.*greater than or equal to 1"),
                            ([-1], r"'retire\.0'"), ([4, 4], "must increase, each once"),
                            ([8, 4], "must increase, each once")):
        with pytest.raises(ConfigError, match=message):
            validate(GanSettings, {"scheme": "pbt", "retire": retire})


def test_evoengine_run_gan_pbt_writes_the_plots_lineage_and_generator(tmp_path):
    import tomli_w

    config = tmp_path / "tiny.toml"
    config.write_text(tomli_w.dumps({**TINY_PBT, "population_size": 4, "generations": 2}))
    runs = tmp_path / "runs"
    run = CliRunner().invoke(main, ["run", "gan", "-c", str(config), "--seed", "1", "-q",
                                    "--out", str(runs)])
    assert run.exit_code == 0, run.output
    assert "population-based training" in run.output and "PBT winner: member" in run.output
    (folder,) = runs.iterdir()
    for name in ("pbt_schedules.png", "pbt_lineage.png", "pbt_history.csv",
                 "samples/gen-002.png", "artifacts/generator/samples.png", "best.json",
                 "records/samples-000002.png"):
        assert (folder / name).stat().st_size > 0, name
    history = (folder / "pbt_history.csv").read_text().splitlines()
    assert len(history) == 1 + 3 * 4 and history[0].startswith(
        "generation,examples,member,copied_from,frechet_distance,lr_g")
    lineage = json.loads((folder / "pbt_lineage.json").read_text())
    assert [step["generation"] for step in lineage["lineage"]] == [0, 1, 2]
    assert lineage["lineage"][-1]["member"] == lineage["winner"]
    info = json.loads((folder / "artifacts" / "generator" / "generator.json").read_text())
    assert info["member"] == lineage["winner"] and info["config"]["latent"] == 16
    assert info["frechet_distance"] == pytest.approx(lineage["lineage"][-1]["frechet_distance"])
    images = load_generator(folder / "artifacts" / "generator")(torch.randn(3, 16))
    assert images.shape == (3, 1, 8, 8)
    saved, _ = load_latest(folder)
    assert saved.generation == 2 and any(k.startswith("pbt.population.g.adam")
                                         for k in saved.arrays)

    # As after kill -9 once generation 1 was checkpointed: `evoengine resume` writes the
    # files of the uninterrupted run again, byte for byte.
    kept = ["pbt_history.csv", "pbt_lineage.json", "records.jsonl", "logbook.csv",
            "artifacts/generator/generator.pt", "samples/gen-002.png"]
    before = {name: (folder / name).read_bytes() for name in kept}
    for newest in sorted((folder / "checkpoint").glob("gen-000002.*")):
        newest.unlink()
    resumed = CliRunner().invoke(main, ["resume", str(folder), "-q"])
    assert resumed.exit_code == 0, resumed.output
    assert "at generation 1" in resumed.output
    for name in kept:
        assert (folder / name).read_bytes() == before[name], name


def test_a_scheme_that_does_not_exist_is_one_error_line():
    run = CliRunner().invoke(main, ["run", "gan", "--set", "scheme=pbtt"])
    assert run.exit_code == 2
    assert "setting 'scheme'" in run.output and "'evolve' or 'pbt'" in run.output


# --- PBT against the plain trainer ---------------------------------------------------------
def _float64(problem):
    """``problem`` training at float64 (the equivalence tests' precision)."""
    setup = problem.setup()
    problem.setup = lambda device=None: TrainSetup(setup.train.double(), setup.budget,
                                                   setup.samples)
    return problem


def test_a_pbt_run_trains_exactly_as_plain_trainers_replaying_its_copies(monkeypatch):
    """The reference: one plain GAN per member (nn.Module networks, torch.optim.Adam), each
    interval configured with the member's hyperparameters and seeded as PBT seeded it; where
    PBT says member i copied member j, the plain GAN i becomes a deep copy of j (weights and
    Adam state, what Ray Tune's checkpoint restore gives). PBT's batched run must give the
    same measures, weights and Adam state."""
    import copy

    from evoengine_gan.pbt_gan import GanTrainable
    from evoengine_gan.training import PlainGan, rounds

    calls = {"reseed": [], "measure": []}
    for method in calls:
        original = getattr(GanTrainable, method)
        monkeypatch.setattr(GanTrainable, method,
                            lambda self, s, _name=method, _f=original:
                            (calls[_name].append(s), _f(self, s))[1])
    # exploit_margin 0: every interval's worst copies, so there are copies to replay.
    problem = _float64(tiny_pbt(interval=96, exploit_margin=0.0))
    first_seeds = []
    new_trainable = problem.new_trainable
    problem.new_trainable = lambda configs, seeds: (first_seeds.extend(seeds),
                                                    new_trainable(configs, seeds))[1]
    opt, _ = _run(problem, pbt_settings(population_size=3, generations=3))
    assert any((i.sources != np.arange(3)).any() for i in opt.intervals)  # it did copy

    plains = [PlainGan(Member(problem.space.decode(g), int(s)), problem.setup())
              for g, s in zip(opt.intervals[0].genomes, first_seeds, strict=True)]
    for interval, seeds, measure_seed in zip(opt.intervals, calls["reseed"], calls["measure"],
                                             strict=True):
        plains = [p if s == i else copy.deepcopy(plains[s])
                  for i, (p, s) in enumerate(zip(plains, interval.sources.tolist(), strict=True))]
        fds = []
        for plain, genome, seed in zip(plains, interval.genomes, seeds, strict=True):
            plain.configure(problem.space.decode(genome))
            plain.reseed(seed)
            plain.train(rounds(plain.config, problem.pbt.interval))
            images = plain.sample(problem.settings.samples,
                                  torch.Generator().manual_seed(int(measure_seed)))
            fds.append(frechet_distance(problem.features.features(images),
                                        problem.features.reference))
        np.testing.assert_allclose(interval.fitness[:, 0], fds, rtol=1e-9)
    state = opt.trainable.state()
    for i, plain in enumerate(plains):
        for net, prefix, adam in ((plain.g_net, "g.", plain.opt_g),
                                  (plain.d_net, "d.", plain.opt_d)):
            for name, value in net.named_parameters():
                np.testing.assert_allclose(state[f"{prefix}param.{name}"][i],
                                           value.detach().numpy(), rtol=0, atol=1e-10,
                                           err_msg=name)
                moments = adam.state[value]
                np.testing.assert_allclose(state[f"{prefix}adam.exp_avg.{name}"][i],
                                           moments["exp_avg"].numpy(), rtol=0, atol=1e-10)
                np.testing.assert_allclose(state[f"{prefix}adam.exp_avg_sq.{name}"][i],
                                           moments["exp_avg_sq"].numpy(), rtol=0, atol=1e-12)
                assert state[f"{prefix}adam.steps"][i] == float(moments["step"])


def test_a_member_that_copies_another_continues_exactly_as_its_source():
    """Exploit copies weights, Adam's moments and its step count: from then on, the copy on
    the source's hyperparameters and data is the source, step for step (here the two had
    taken different numbers of Adam steps before the copy, so a step count left behind
    would show in Adam's bias correction)."""
    setup = _setup()
    base = {**ARTICLE_DEFAULT, **TINY_SHAPE, "batch_norm": True}
    configs = [dict(base, d_steps=1, lr_d=1e-3, loss="hinge"), dict(base, d_steps=2),
               dict(base, d_steps=3, g_steps=2, beta1=0.1)]
    population = GanPopulation([Member(c, seed=60 + i) for i, c in enumerate(configs)], setup)
    population.train([2, 2, 2])
    population.copy_member(0, 2)
    population.configure([configs[0], configs[1], configs[0]])
    population.reseed([5, 6, 5])
    before = population.state()
    assert before["d.adam.steps"].tolist() == [2.0, 4.0, 2.0]
    population.train([3, 3, 3])
    after = population.state()
    for name, value in after.items():
        np.testing.assert_allclose(value[2], value[0], rtol=0, atol=1e-12, err_msg=name)
    for name in ("g.param.net.0.weight", "d.param.net.1.weight"):  # both moved on
        assert np.abs(after[name][0] - before[name][0]).max() > 1e-6, name
    # The source itself trained as a plain nn.Module + torch.optim.Adam GAN would.
    from evoengine_gan.training import PlainGan

    plain = PlainGan(Member(configs[0], seed=60), setup)
    plain.train(2)
    plain.reseed(5)
    plain.train(3)
    for name, value in plain.g_net.named_parameters():
        np.testing.assert_allclose(after[f"g.param.{name}"][2], value.detach().numpy(),
                                   rtol=0, atol=1e-10, err_msg=name)
