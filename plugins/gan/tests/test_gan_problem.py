"""The gan problem end to end: batched groups, failures, the run folder, gan-train."""

import tomllib

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from click.testing import CliRunner  # noqa: E402

from evoengine.cli import main  # noqa: E402
from evoengine.config import AlgorithmSettings, validate  # noqa: E402
from evoengine.errors import ConfigError  # noqa: E402
from evoengine.plugins import load_plugins  # noqa: E402
from evoengine.run import optimize  # noqa: E402
from evoengine.testing import one_error_line  # noqa: E402
from evoengine_gan.problem import GanProblem  # noqa: E402
from evoengine_gan.space import ARTICLE_DEFAULT  # noqa: E402
from evoengine_gan.train_command import load_generator  # noqa: E402

from tiny_gan import DEVICE, TINY, TINY_SPACE, tiny_problem  # noqa: E402


def test_a_population_is_trained_in_shape_groups_and_scored():
    problem = tiny_problem(space={**TINY_SPACE, "g_width": [32, 64]})
    space = problem.space
    genomes = np.array([space.encode({**ARTICLE_DEFAULT, **TINY_SPACE, "g_width": w,
                                      "lr_g": lr})
                        for w, lr in [(32, 1e-3), (64, 1e-3), (32, 2e-4)]])
    assert problem.groups([space.decode(g) for g in genomes]) == [[0, 2], [1]]
    calls = []
    batched, single = problem.train_population, problem.train_one
    problem.train_population = lambda ms, s: calls.append(len(ms)) or batched(ms, s)
    problem.train_one = lambda m, s: calls.append(1) or single(m, s)
    evaluation = problem.evaluate(genomes)
    fitness = evaluation.fitness
    assert sorted(calls) == [1, 2] and fitness.shape == (3, 1)
    assert np.isfinite(fitness).all() and (fitness > 0).all()
    # The same genome always trains the same way: alone now, in a group of two before, so
    # equal up to rounding (float32 on the CPU, bfloat16 mixed precision on CUDA).
    np.testing.assert_allclose(problem.evaluate(genomes[:1]).fitness, fitness[:1],
                               rtol=1e-5 if DEVICE == "cpu" else 1e-3)
    # What travels back with the fitness: the measures and images the pictures are made of.
    info = evaluation.info[1]
    assert info["frechet_distance"] == fitness[1, 0] and info["samples"].shape == (40, 1, 8, 8)
    described = problem.describe(genomes[1], info)
    assert described["config"]["g_width"] == 64 and described["kid"] == info["kid"]
    assert "samples" not in described


def test_out_of_memory_fails_only_the_individual_that_does_not_fit():
    problem = tiny_problem()
    genomes = np.random.default_rng(0).random((4, len(problem.space)))
    doomed = problem.space.decode(genomes[2])
    batched, single = problem.train_population, problem.train_one
    tries = []

    def population(members, setup):
        tries.append(len(members))
        if len(members) > 2 or any(m.config == doomed for m in members):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        return batched(members, setup)

    def one(member, setup):
        if member.config == doomed:
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried 9 GB")
        return single(member, setup)

    problem.train_population, problem.train_one = population, one
    evaluation = problem.evaluate(genomes)
    fitness = evaluation.fitness
    assert tries == [4, 2, 2]  # split in halves; the half holding row 2 split again
    assert np.isnan(fitness[2, 0]) and np.isfinite(np.delete(fitness, 2)).all()
    assert evaluation.info[2]["failure"] == f"out of memory on {problem.device}"

    def broken(member, setup):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    problem.train_one = broken  # a bug is not a memory problem: it must surface
    with pytest.raises(RuntimeError, match="shapes"):
        problem.evaluate(genomes[:1])


def test_second_objective_and_setting_errors():
    problem = tiny_problem(second_objective="parameters")
    fitness = problem.evaluate(np.full((1, len(problem.space)), 0.5)).fitness
    # MLP 16 > 32 > 64 and 64 > 32 > 1, with biases
    assert fitness[0, 1] == (16 * 32 + 32 + 32 * 64 + 64) + (64 * 32 + 32 + 32 + 1)
    with pytest.raises(ConfigError, match="setting 'device': 'tpu' is not a device"):
        tiny_problem(device="tpu")
    with pytest.raises(ConfigError, match="unknown gene"):
        tiny_problem(space={"width": 3})


def test_run_folder_holds_grids_curves_and_a_config_gan_train_reads(tmp_path):
    problem = tiny_problem(space={**TINY_SPACE, "lr_g": [1e-4, 1e-2]})
    folder = tmp_path / "run"
    settings = validate(AlgorithmSettings, {"population_size": 4, "generations": 1, "seed": 2})
    result = optimize(problem, settings, folder=folder, plugins=load_plugins().manager)
    assert sorted(p.name for p in (folder / "samples").iterdir()) == ["gen-000.png",
                                                                      "gen-001.png"]
    for name in ("gan_measures.png", "gan_history.csv", "feature_net.pt", "best_gan.toml"):
        assert (folder / name).stat().st_size > 0, name
    best = tomllib.loads((folder / "best_gan.toml").read_text())
    assert best["space"] == problem.space.decode(result.best_genome)
    assert best["budget"] == 96 and best["data_limit"] == 120
    history = (folder / "gan_history.csv").read_text().splitlines()
    assert len(history) == 3 and float(history[-1].split(",")[1]) == pytest.approx(
        result.best_fitness[0], rel=1e-5)

    out = tmp_path / "trained"
    run = CliRunner().invoke(main, ["gan-train", str(folder / "best_gan.toml"), "--budget",
                                    "160", "--out", str(out)])
    assert run.exit_code == 0, run.output
    assert "Fréchet distance" in run.output and (out / "samples.png").exists()
    generator = load_generator(out)
    images = generator(torch.randn(5, best["space"]["latent"]))
    assert images.shape == (5, 1, 8, 8) and images.abs().max() <= 1


def test_gan_train_needs_every_gene_fixed(tmp_path):
    path = tmp_path / "partial.toml"
    path.write_text('data_limit = 120\n[space]\nloss = "hinge"\n')
    run = CliRunner().invoke(main, ["gan-train", str(path)])
    assert run.exit_code == 2
    assert "gan-train needs every gene fixed; not fixed: architecture, lr_g" in run.output


def test_evoengine_run_gan_prints_the_device_and_fills_the_run_folder(tmp_path):
    import tomli_w

    config = tmp_path / "tiny.toml"
    config.write_text(tomli_w.dumps({**TINY, "population_size": 2, "generations": 0}))
    run = CliRunner().invoke(main, ["run", "gan", "-c", str(config), "--seed", "1", "-q",
                                    "--out", str(tmp_path / "runs")])
    assert run.exit_code == 0, run.output
    assert f"training on {DEVICE}" in run.output
    (folder,) = (tmp_path / "runs").iterdir()
    assert (folder / "samples" / "gen-000.png").exists() and (folder / "best.json").exists()
    assert "frechet_distance" in (folder / "best.json").read_text()


@pytest.mark.parametrize("args, message", [
    (["--set", "device=tpu"], r"^error: setting 'device': 'tpu' is not a device; use auto, cpu"),
    (["--set", "space={lr=[1,2]}"], r"setting 'space.lr': unknown gene; did you mean 'lr_g'"),
    (["--set", "data=/no/such"], r"setting 'data': '/no/such' does not exist; give 'digits'"),
    (["--set", "budget=-1"], r"setting 'budget'"),
])
def test_bad_settings_through_the_command_line_are_one_error_line(args, message, tmp_path):
    run = CliRunner().invoke(main, ["run", "gan", *args, "-q", "--out", str(tmp_path)])
    assert run.exit_code == 2, run.output
    one_error_line(run.output, message)
    assert not list(tmp_path.iterdir()), "nothing is written for a run that never started"


def test_the_processes_backend_writes_the_same_pictures_histories_and_measures(tmp_path):
    """The pictures and curves come from what the evaluations send back, so a run whose
    configurations trained in two worker processes leaves the serial run's files. Groups of
    two and tasks of two rows: every group trains whole in one worker, so bitwise equal."""
    import json

    import tomli_w

    config = tmp_path / "tiny.toml"
    config.write_text(tomli_w.dumps({**TINY, "population_size": 4, "generations": 2,
                                     "max_group": 2, "batch_size": 2}))
    folders = {}
    for backend in ("serial", "processes"):
        out = tmp_path / backend
        run = CliRunner().invoke(main, ["run", "gan", "-c", str(config), "--seed", "3", "-q",
                                        "--out", str(out), "--set", f"backend={backend}",
                                        "--set", "workers=2"])
        assert run.exit_code == 0, run.output
        (folders[backend],) = out.iterdir()
    serial, processes = folders["serial"], folders["processes"]
    names = sorted(str(p.relative_to(serial)) for p in serial.rglob("*")
                   if p.is_file() and p.suffix in (".csv", ".toml", ".png", ".jsonl")
                   and p.name not in ("config.toml", "convergence.png"))
    assert {"gan_history.csv", "best_gan.toml", "records.jsonl", "samples/gen-002.png"} <= set(
        names)
    for name in names:
        assert (processes / name).read_bytes() == (serial / name).read_bytes(), name
    best = [json.loads((f / "best.json").read_text()) for f in (serial, processes)]
    for b in best:  # the measures travel back with the fitness (training time aside)
        b["solution"].pop("train_seconds", None)
    assert best[0]["solution"] == best[1]["solution"]
    assert best[0]["solution"]["kid"] > 0
