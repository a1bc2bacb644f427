"""The TensorBoard observer, read back with TensorBoard's own event reader."""

import csv
import io
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from evoengine import ConfigError, Genome, Objective, Problem
from evoengine.config import AlgorithmSettings
from evoengine.context import Summary
from evoengine.run import optimize, run_problem

from tensorboard.backend.event_processing import event_accumulator  # the test extra has it


def events(run_folder):
    acc = event_accumulator.EventAccumulator(
        str(run_folder / "tensorboard"),
        size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_every_generations_logbook_is_a_scalar_curve(tmp_path):
    run = run_problem("sphere", dimension=3, population_size=12, generations=5, seed=1,
                      observer="tensorboard", out=tmp_path)
    acc = events(run.folder)
    logbook = list(csv.DictReader(io.StringIO((run.folder / "logbook.csv").read_text())))
    for column in ("best", "avg", "min", "max", "std", "nevals"):
        curve = acc.Scalars(f"logbook/{column}")
        assert [e.step for e in curve] == list(range(6)), column
        expected = [float(row[column]) for row in logbook]
        assert [e.value for e in curve] == pytest.approx(expected, rel=1e-6), column
    settings = acc.Tensors("settings/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "| population_size | 12 |" in settings


class Pictured(Problem):
    """Two objectives, and a summary of each generation: a number, a picture and a table."""

    def __init__(self):
        super().__init__(Genome("real", 2, 0.0, 1.0),
                         (Objective("a", "minimize"), Objective("b", "minimize")))

    def evaluate(self, genomes):
        return np.stack([genomes[:, 0], 1.0 - genomes[:, 0] + genomes[:, 1]], axis=1)

    def summarize(self, genomes, evaluation, context):
        spread = float(genomes[:, 0].std())
        picture = np.zeros((4, 6))
        picture[:, : context.generation % 6 + 1] = 1.0  # a bar as long as the generation
        rows = [{"member": i, "a": float(f[0])} for i, f in enumerate(evaluation.fitness[:2])]
        return Summary(scalars={"spread": spread}, images={"bar": picture},
                       tables={"first two": rows})


def test_the_problems_scalars_images_and_tables(tmp_path):
    result = optimize(Pictured(), AlgorithmSettings(algorithm="nsga2", population_size=8,
                                                    generations=3, seed=2,
                                                    observer=["tensorboard"]),
                      folder=tmp_path)
    acc = events(tmp_path)
    assert [e.step for e in acc.Scalars("scalars/spread")] == [0, 1, 2, 3]
    # several objectives: one curve each, named after the objective
    assert {"logbook/min/a", "logbook/min/b"} <= set(acc.Tags()["scalars"])
    assert acc.Scalars("logbook/min/a")[-1].value == pytest.approx(
        result.logbook[-1]["min"][0], rel=1e-6)
    bars = acc.Images("images/bar")
    assert [(e.step, e.width, e.height) for e in bars] == [(g, 6, 4) for g in range(4)]
    from PIL import Image

    third = np.asarray(Image.open(io.BytesIO(bars[2].encoded_image_string)).convert("L"))
    assert (third[:, :3] == 255).all() and (third[:, 3:] == 0).all()
    table = acc.Tensors("tables/first two/text_summary")[1].tensor_proto.string_val[0].decode()
    assert table.splitlines()[:2] == ["| member | a |", "|---|---|"]


def test_a_resumed_run_shows_each_generation_once(tmp_path):
    """Interrupted after generation 5 with a checkpoint at 4, resumed by the command line:
    generation 5's first events are dropped, each step shows once, as a whole run's."""
    from evoengine.checkpoint import Checkpointer, RunInfo
    from evoengine.cli import main
    from evoengine.plugins import load_plugins
    from evoengine.run import prepare
    from evoengine.runs import recorded

    loaded = load_plugins()
    values = {"dimension": 2, "generations": 8, "population_size": 10, "seed": 3,
              "checkpoint_every": 2, "observer": "tensorboard"}
    prepared = prepare(loaded.registry.get("sphere"), values)
    folder = tmp_path / "interrupted"
    checkpoint = Checkpointer(folder, RunInfo("sphere", "equation",
                                              loaded.plugins["equation"].version,
                                              prepared.as_dict()), 2)

    def ctrl_c(opt):
        if opt.generation == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), recorded(folder, "sphere"):
        optimize(prepared.problem, prepared.settings, checkpoint=checkpoint, folder=folder,
                 plugins=loaded.manager, on_generation=ctrl_c, problem_name="sphere")
    resumed = CliRunner().invoke(main, ["resume", str(folder), "-q"])
    assert resumed.exit_code == 0, resumed.output
    whole = run_problem("sphere", **values, out=tmp_path / "whole")
    curve = events(folder).Scalars("logbook/avg")
    assert [e.step for e in curve] == list(range(9))
    assert [e.value for e in curve] == [e.value for e in events(whole.folder).Scalars(
        "logbook/avg")]


def test_the_observer_needs_a_run_folder_and_names_its_extra(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="writes into the run folder"):
        run_problem("sphere", generations=1, observer="tensorboard")
    monkeypatch.delitem(sys.modules, "evoengine.observers.tensorboard", raising=False)
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # as if not installed
    result = CliRunner().invoke(__import__("evoengine.cli").cli.main,
                                ["run", "sphere", "--set", "observer=tensorboard", "-q",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: setting 'observer': 'tensorboard' needs tensorboardX "
        "(pip install 'evoengine[tensorboard]')"]


def test_gan_sample_grids_and_measures(tmp_path):
    """The gan plugin's summary of each generation (its best member's samples, FD and KID, and
    its configuration) reaches TensorBoard."""
    space = {"architecture": "mlp", "latent": 16, "g_width": 32, "d_width": 32, "g_depth": 1,
             "d_depth": 1, "batch_size": 16, "d_steps": 1, "g_steps": 1, "batch_norm": False}
    run = run_problem("gan", data_limit=120, held_out_fraction=0.5, budget=96, samples=40,
                      classifier_steps=60, device="cpu", space=space, population_size=2,
                      generations=1, seed=1, observer="tensorboard", out=tmp_path)
    acc = events(run.folder)
    samples = acc.Images("images/samples")
    assert [e.step for e in samples] == [0, 1] and samples[0].width > 8
    fd = acc.Scalars("scalars/generation_best_frechet_distance")
    recorded = [value for _, value in run_recorded(run.folder, "generation_best_frechet_distance")]
    assert [e.value for e in fd] == pytest.approx(recorded, rel=1e-6)
    table = acc.Tensors("tables/best/text_summary")[0].tensor_proto.string_val[0].decode()
    assert table.startswith("| config | frechet_distance | kid |")


def test_minimax_elo_table_with_its_intervals(tmp_path):
    """minimax's closing Elo table (candidates against the panel, then the validation match)
    reaches TensorBoard at the last generation's step, equal to its report.json."""
    import json

    tiny = dict(game="tictactoe", depth=2, population_size=4, generations=1, pairs=1,
                report_pairs=2, sprt_max_pairs=4, null_pairs=2)
    run = run_problem("minimax", seed=1, observer="tensorboard", out=tmp_path, **tiny)
    report = json.loads((run.folder / "report.json").read_text())
    (event,) = events(run.folder).Tensors("closing/elo/text_summary")
    assert event.step == 1
    table = event.tensor_proto.string_val[0].decode().splitlines()
    assert table[0] == "| match | elo | low | high | pairs |"
    best = report["candidates"][0]["vs_panel"]
    assert table[2] == (f"| best vs panel | {best['elo']:.6g} | {best['low']:.6g} | "
                        f"{best['high']:.6g} | {best['pairs']} |")
    assert table[-1].startswith("| best vs start (validation) |")
    assert len(table) == 2 + len(report["candidates"]) + 1


def run_recorded(folder, scalar):
    """``(generation, value)`` of one scalar from the run folder's records.jsonl."""
    import json

    lines = (folder / "records.jsonl").read_text().splitlines()
    return [(e["generation"], e["scalars"][scalar]) for e in map(json.loads, lines)
            if scalar in e["scalars"]]
