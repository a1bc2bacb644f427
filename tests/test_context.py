"""The contract's pieces one by one: the evaluation context, evaluations with info, problem
tasks, the recorder, the lifecycle hooks and the final ask/tell template."""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest

import evoengine
from evoengine import Evaluation, EvaluationContext, Genome, Objective, Problem, Summary
from evoengine.algorithms import EaSimple, Evolution
from evoengine.backends import open_backend
from evoengine.backends.base import evaluate_guarded
from evoengine.config import AlgorithmSettings
from evoengine.plugins import new_manager
from evoengine.problem import evaluate_population, takes_context
from evoengine.records import Recorder, png_bytes
from evoengine.run import optimize


def context(n=6, seed=7, generation=2, first=10):
    return EvaluationContext(seed, generation, first + np.arange(n))


# --- the context -------------------------------------------------------------------------------

def test_a_rows_generator_depends_on_seed_generation_and_row_id_only():
    ctx = context()
    whole = ctx.row_seeds()
    assert whole.dtype == np.uint64 and len(set(whole.tolist())) == len(whole)
    # a subset (as a backend hands a task) keeps each row's seed and draws
    part = ctx.take(np.array([4, 1]))
    assert part.row_seeds().tolist() == whole[[4, 1]].tolist()
    assert part.row_rng(0).random() == ctx.row_rng(4).random()
    # another generation, seed or row id: other draws
    others = [EvaluationContext(7, 3, ctx.row_ids), EvaluationContext(8, 2, ctx.row_ids),
              EvaluationContext(7, 2, ctx.row_ids + 100)]
    for other in others:
        assert not np.intersect1d(other.row_seeds(), whole).size


def test_batch_generators_are_keyed_and_split_independent():
    ctx = context()
    assert ctx.rng("pairs").random() == ctx.take([0, 1]).rng("pairs").random()
    assert ctx.rng("pairs").random() != ctx.rng("openings").random()
    assert ctx.rng("game", 3).random() == context(n=2).rng("game", 3).random()
    assert ctx.rng("game", 3).random() != ctx.rng("game", 4).random()
    assert ctx.rng(1).random() != EvaluationContext(7, 3, ctx.row_ids).rng(1).random()


def test_the_context_pickles_for_workers():
    import pickle

    ctx = context()
    copy = pickle.loads(pickle.dumps(ctx.take([2, 3])))
    assert copy.row_ids.tolist() == [12, 13] and copy.seed == 7 and copy.generation == 2


# --- evaluate, with and without the context ----------------------------------------------------

class Noisy(Problem):
    def __init__(self):
        super().__init__(Genome("real", 2, -1.0, 1.0), (Objective("f", "minimize"),))

    def evaluate(self, genomes, context):
        noise = np.array([context.row_rng(i).normal() for i in range(len(genomes))])
        return Evaluation((genomes ** 2).sum(axis=1) + noise,
                          [{"row": int(r)} for r in context.row_ids])


class OldStyle(Problem):
    def __init__(self):
        super().__init__(Genome("real", 2, -1.0, 1.0), (Objective("f", "minimize"),))

    def evaluate(self, genomes):
        return (genomes ** 2).sum(axis=1, keepdims=True)


def test_the_signature_decides_whether_evaluate_gets_the_context():
    assert takes_context(Noisy()) and not takes_context(OldStyle())
    genomes = np.zeros((3, 2))
    assert evaluate_population(OldStyle(), genomes, context(3)).info is None
    evaluation = evaluate_population(Noisy(), genomes, context(3))
    assert [row["row"] for row in evaluation.info] == [10, 11, 12]
    assert evaluation.fitness.shape == (3, 1)


def test_rows_evaluated_alone_after_a_failed_batch_keep_their_context():
    class FailsInBatches(Noisy):
        def evaluate(self, genomes, context):
            if len(genomes) > 1:
                raise RuntimeError("batch")
            return super().evaluate(genomes, context)

    genomes = np.zeros((4, 2))
    alone = evaluate_guarded(FailsInBatches(), genomes, context(4))
    batch = evaluate_guarded(Noisy(), genomes, context(4))
    assert alone.fitness.tolist() == batch.fitness.tolist() and alone.info == batch.info


def test_info_of_the_wrong_length_is_a_plugin_bug():
    class Short(Noisy):
        def evaluate(self, genomes, context):
            return Evaluation(np.zeros(len(genomes)), [{}])

    with pytest.raises(ValueError, match="not one dict per row"):
        evaluate_population(Short(), np.zeros((3, 2)), context(3))


# --- problem tasks ---------------------------------------------------------------------------

class Pairs(Problem):
    """Fitness: how many of its two drawn opponents a row beats (sum of genes)."""

    def __init__(self, fail_task: int = -1):
        super().__init__(Genome("real", 2, -1.0, 1.0), (Objective("wins", "maximize"),))
        self.fail_task = fail_task

    def tasks(self, genomes, context):
        rng, n = context.rng("pairs"), len(genomes)
        games = [(i, int((i + rng.integers(1, n)) % n)) for i in range(n) for _ in range(2)]
        return [[(k, i, j, genomes[i].sum(), genomes[j].sum()) for k, i, j in chunk]
                for chunk in np.array_split(np.array([(k, i, j) for k, (i, j) in
                                                      enumerate(games)]), 3)]

    def run_task(self, task, context):
        if int(task[0][0]) == self.fail_task:
            raise ValueError("a broken game")
        return [(int(i), int(j), float(a > b)) for k, i, j, a, b in task]

    def combine(self, genomes, context, results):
        wins = np.zeros(len(genomes))
        for i, j, won in (game for part in results for game in part):
            wins[i] += won
            wins[j] += 1 - won
        return wins


def test_tasks_are_run_and_combined_by_the_backend():
    genomes = np.array([[0.9, 0.9], [0.0, 0.0], [-0.9, -0.9], [0.5, 0.1]])
    with open_backend(Pairs(), AlgorithmSettings()) as backend:
        outcome = backend(genomes, context(4))
    assert not outcome.failures
    assert outcome.fitness[:, 0].sum() == 8  # two games a row, one winner a game
    assert outcome.fitness[0, 0] >= outcome.fitness[2, 0]


def test_a_failed_task_fails_the_whole_batch():
    genomes = np.zeros((4, 2))
    with open_backend(Pairs(fail_task=0), AlgorithmSettings()) as backend:
        outcome = backend(genomes, context(4))
    assert np.isnan(outcome.fitness).all()
    assert {f.kind for f in outcome.failures.values()} == {"raised"}
    assert "a broken game" in outcome.failures[0].message and len(outcome.failures) == 4


# --- the recorder and the hooks ----------------------------------------------------------------

class Summarized(Noisy):
    def summarize(self, genomes, evaluation, context):
        return Summary({"mean": float(evaluation.fitness.mean())},
                       {"genes": np.clip(genomes, 0, 1)},
                       {"ids": [{"id": int(r)} for r in context.row_ids[:2]]})


class Observer:
    def __init__(self):
        self.calls = []

    @evoengine.hookimpl
    def evoengine_run_start(self, run):
        self.calls.append(("start", run.resumed))

    @evoengine.hookimpl
    def evoengine_generation_end(self, run, record):
        self.calls.append(("generation", record.generation, len(record.info),
                           sorted(record.scalars), len(run.recorder.entries)))

    @evoengine.hookimpl
    def evoengine_run_end(self, run, result):
        self.calls.append(("end", result.generations))
        return [f"best {result.best_fitness[0]:.3f}"]


def test_hooks_see_every_generation_and_the_recorder_writes_the_folder(tmp_path):
    observer, plugins = Observer(), new_manager()
    plugins.register(observer)
    settings = AlgorithmSettings(population_size=6, generations=3, seed=1)
    result = optimize(Summarized(), settings, plugins=plugins, folder=tmp_path)
    assert observer.calls[0] == ("start", False) and observer.calls[-1] == ("end", 3)
    assert [c[1] for c in observer.calls[1:-1]] == [0, 1, 2, 3]
    assert all(c[3] == ["mean"] and c[4] == c[1] + 1 for c in observer.calls[1:-1])
    assert result.report == [f"best {result.best_fitness[0]:.3f}"]
    assert result.best_info is not None and "row" in result.best_info
    lines = [json.loads(line) for line in (tmp_path / "records.jsonl").read_text().splitlines()]
    assert [e["generation"] for e in lines] == [0, 1, 2, 3]
    assert lines[0]["tables"]["ids"] == [{"id": 0}, {"id": 1}]  # row ids count evaluations
    assert lines[1]["tables"]["ids"][0]["id"] == lines[0]["logbook"]["nevals"]
    assert (tmp_path / lines[3]["images"]["genes"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_restored_recorder_rewrites_its_file_up_to_the_checkpoint(tmp_path):
    recorder = Recorder(tmp_path)
    recorder.start()
    for generation in range(4):
        recorder.record(generation, Summary({"x": float(generation)}), {"gen": generation})
    state = recorder.export_state()[:2]  # as a checkpoint of generation 1 holds it
    resumed = Recorder(tmp_path)
    resumed.restore_state(json.loads(json.dumps(state)))
    resumed.start()
    assert [json.loads(line)["generation"] for line in
            (tmp_path / "records.jsonl").read_text().splitlines()] == [0, 1]
    assert resumed.scalar("x") == [(0, 0.0), (1, 1.0)]


def test_png_bytes_decode_to_the_picture():
    image = np.array([[0.0, 1.0], [0.5, 2.0]])
    data = png_bytes(image)
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert (width, height, depth, colour) == (2, 2, 8, 0)
    length = struct.unpack(">I", data[33:37])[0]
    raw = zlib.decompress(data[41:41 + length])
    assert raw == bytes([0, 0, 255, 0, 128, 255])  # filter byte, then the clipped values
    assert struct.unpack(">IIBB", png_bytes(np.zeros((3, 4, 3)))[16:26]) == (4, 3, 8, 2)
    with pytest.raises(ValueError, match="H x W"):
        png_bytes(np.zeros((2, 2, 2)))


# --- the final ask/tell template ---------------------------------------------------------------

def test_an_algorithm_cannot_override_the_public_methods():
    with pytest.raises(TypeError, match="overrides tell: the public ask/tell methods are final"):
        class Sneaky(EaSimple):  # noqa: F841 - refused when the class is made
            def tell(self, fitness, info=None):
                pass


def test_the_state_export_covers_the_stop_criteria_and_the_best_info():
    settings = AlgorithmSettings(population_size=6, generations=50, stall_generations=3,
                                 seed=2)
    first = EaSimple(Noisy(), settings)
    problem = Noisy()
    for generation in range(4):
        genomes = first.ask()
        first.tell(evaluate_population(problem, genomes, EvaluationContext(
            first.seed, generation, first.evaluations + np.arange(len(genomes)))))
    values, arrays = first.export_state()
    values = json.loads(json.dumps(values))
    second: Evolution = EaSimple(Noisy(), settings.model_copy(update={"seed": 99}))
    second.restore_state(values, arrays)
    assert second.seed == first.seed and second._stalled == first._stalled
    assert second.stop() == first.stop() and second.best_info == first.best_info
    assert second.best_info is not None


def test_a_failing_observer_is_reported_and_the_run_goes_on(caplog):
    class Broken:
        @evoengine.hookimpl
        def evoengine_generation_end(self, run, record):
            raise RuntimeError("the dashboard is down")

    observer, plugins = Observer(), new_manager()
    plugins.register(observer)
    plugins.register(Broken(), name="broken")
    settings = AlgorithmSettings(population_size=6, generations=2, seed=1)
    with caplog.at_level("WARNING", logger="evoengine"):
        result = optimize(Summarized(), settings, plugins=plugins)
    assert result.generations == 2 and observer.calls[-1] == ("end", 2)
    assert len([c for c in observer.calls if c[0] == "generation"]) == 3
    assert "plugin 'broken': its evoengine_generation_end failed" in caplog.text
    assert "the dashboard is down" in caplog.text


def test_a_tree_problems_fitness_may_take_the_context():
    from evoengine.gp import PrimitiveSet, TreeProblem
    from evoengine.gp.generate import initial_trees

    ps = PrimitiveSet(["x"])
    ps.add_builtin("add", "mul")
    seen = []
    with_context = TreeProblem(ps, fitness=lambda trees, ctx: seen.append(ctx.generation)
                               or np.zeros(len(trees)))
    trees_only = TreeProblem(ps, fitness=lambda trees: np.ones(len(trees)))
    trees = initial_trees(ps, 4, 16, seed=1, max_depth=2)
    ctx = EvaluationContext(1, 3, np.arange(4))
    assert evaluate_population(with_context, trees, ctx).fitness.tolist() == [[0.0]] * 4
    assert seen == [3]
    assert evaluate_population(trees_only, trees, ctx).fitness.tolist() == [[1.0]] * 4
