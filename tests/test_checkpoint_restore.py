"""Resuming a checkpoint into an optimizer (``checkpoint.restore``): every algorithm's state comes
back, and each restored field that does not fit the problem and settings is refused with its
own exact line. In process and fast: each state is written once and changed in memory."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import prepare_faulty

from evoengine import Genome, Objective, Problem
from evoengine.checkpoint import (
    Checkpointer,
    CheckpointError,
    RunInfo,
    _shown,
    _state_problem,
    load_latest,
    restore,
)
from evoengine.config import AlgorithmSettings
from evoengine.run import make_optimizer, optimize


class Steps(Problem):
    """Integer genes in [0, 5]: how far each is from 3."""

    def __init__(self) -> None:
        super().__init__(genome=Genome("integer", 4, 0, 5),
                         objectives=(Objective("distance", "minimize"),))

    def evaluate_one(self, genome):
        return float(np.abs(genome - 3).sum())


class Order(Problem):
    """A permutation of 0..4: how many places are out of order."""

    def __init__(self) -> None:
        super().__init__(genome=Genome("permutation", 5),
                         objectives=(Objective("misplaced", "minimize"),))

    def evaluate_one(self, genome):
        return float((genome != np.arange(5)).sum())


def _written(folder, problem, settings):
    """The checkpoint a 3-generation run of ``problem`` leaves (hall of fame full)."""
    saver = Checkpointer(folder, RunInfo("p", "p", "0", {}), 1)
    optimize(problem, settings, checkpoint=saver)
    saved, refused = load_latest(folder)
    assert not refused and saved.generation == 2
    return saved


def _settings(**values):
    return AlgorithmSettings(**{"population_size": 8, "generations": 2, "seed": 3,
                                "hall_of_fame_size": 4, **values})


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    prepared = prepare_faulty(seed=3, population_size=8, generations=2, hall_of_fame_size=4)
    return (prepared.problem, prepared.settings,
            _written(tmp_path_factory.mktemp("real"), prepared.problem, prepared.settings))


@pytest.fixture(scope="module")
def integer(tmp_path_factory):
    problem, settings = Steps(), _settings()
    return problem, settings, _written(tmp_path_factory.mktemp("int"), problem, settings)


@pytest.fixture(scope="module")
def permutation(tmp_path_factory):
    problem, settings = Order(), _settings()
    return problem, settings, _written(tmp_path_factory.mktemp("perm"), problem, settings)


def _restored(case):
    problem, settings, saved = case
    opt = make_optimizer(problem, settings)
    restore(opt, saved)
    return opt


def _refusal(case, values=None, arrays=None, opt=None) -> str:
    """The reason restore gives for ``case``'s checkpoint with ``values``/``arrays`` changed."""
    problem, settings, saved = case
    changed = type(saved)(saved.path, saved.info, saved.evoengine_version,
                          {**saved.values, **(values or {})}, {**saved.arrays, **(arrays or {})})
    with pytest.raises(CheckpointError) as err:
        restore(opt or make_optimizer(problem, settings), changed)
    prefix = f"checkpoint {saved.path} cannot be resumed: "
    assert str(err.value).startswith(prefix)
    return str(err.value)[len(prefix):]


@pytest.mark.parametrize("algorithm", ["ea_simple", "mu_plus_lambda", "mu_comma_lambda",
                                       "steady_state", "nsga2", "cma_es"])
def test_every_algorithms_checkpoint_is_restored_as_it_was_written(tmp_path, algorithm):
    prepared = prepare_faulty(seed=3, population_size=8, generations=2, algorithm=algorithm)
    saved = _written(tmp_path, prepared.problem, prepared.settings)
    opt = make_optimizer(prepared.problem, prepared.settings)
    restore(opt, saved)  # an NSGA-II Pareto front has no size: it was a TypeError
    values, arrays = opt.export_state()
    assert values["generation"] == 2 and values["evaluations"] == saved.values["evaluations"]
    assert values["rng"] == saved.values["rng"]
    assert sorted(arrays) == sorted(saved.arrays)
    for key, array in arrays.items():
        np.testing.assert_array_equal(array, saved.arrays[key], err_msg=key)


def test_integer_and_permutation_states_are_restored(integer, permutation):
    for case in (integer, permutation):
        opt = _restored(case)
        np.testing.assert_array_equal(opt.genomes, case[2].arrays["genomes"])
        assert _state_problem(opt) is None


def test_another_algorithm_is_refused_by_name(real):
    assert _refusal(real, {"algorithm": "nsga2"}) == (
        "field 'algorithm' is 'nsga2'; the settings run 'ea_simple'")
    assert _refusal(real, {"algorithm": 10**60}) == (
        "field 'algorithm' is a huge number; the settings run 'ea_simple'")


def test_a_failing_restore_state_is_one_line_naming_the_field_or_the_error(real):
    problem, settings, _ = real

    def failing(exc):
        opt = make_optimizer(problem, settings)

        def restore_state(values, arrays):
            raise exc
        opt.restore_state = restore_state
        return opt

    assert _refusal(real, opt=failing(KeyError("stalled"))) == "field 'stalled' is missing"
    assert _refusal(real, opt=failing(KeyError())) == "KeyError:"
    assert _refusal(real, opt=failing(ValueError("one\n   two\tthree"))) == (
        "ValueError: one two three")  # one line, however the library worded it
    long = _refusal(real, opt=failing(ValueError("x" * 400)))
    assert long == ("ValueError: " + "x" * 400)[:300]


def test_counts_must_be_whole_numbers_below_2_to_the_62(real):
    for field in ("generation", "evaluations", "failures"):
        opt = _restored(real)
        setattr(opt, field, 2**62)
        assert _state_problem(opt) == f"field {field!r} is {2**62}, not a count"
        setattr(opt, field, -1)
        assert _state_problem(opt) == f"field {field!r} is -1, not a count"
        setattr(opt, field, 2.0)
        assert _state_problem(opt) == f"field {field!r} is 2.0, not a count"
    opt = _restored(real)
    opt.generation = 2**62 - 1
    opt.failures = opt.evaluations = 0  # as many failures as evaluations is possible
    assert _state_problem(opt) is None
    opt.failures = 1
    assert _state_problem(opt) == "field 'failures' (1) exceeds 'evaluations' (0)"


def test_fitness_must_be_a_table_of_one_row_or_more_per_objective(real):
    opt = _restored(real)
    rows = len(opt.fitness)
    for fitness, shape in ((opt.fitness[:, 0], f"({rows},)"),
                           (np.zeros((rows, 2)), f"({rows}, 2)"),
                           (np.zeros((0, 1)), "(0, 1)"),
                           (opt.fitness.tolist(), "None")):
        changed = _restored(real)
        changed.fitness = fitness
        assert _state_problem(changed) == f"array 'fitness' has shape {shape}, not (rows, 1)"
    one = _restored(real)
    one.fitness, one.genomes = one.fitness[:1], one.genomes[:1]
    assert _state_problem(one) is None


def test_real_genes_must_be_finite_but_may_lie_outside_the_bounds(real):
    opt = _restored(real)
    opt.genomes[0, 0] = 1e6  # outside [-1, 1]: the bounds strategy brings it back
    assert _state_problem(opt) is None
    opt.genomes[0, 0] = np.inf
    assert _state_problem(opt) == "array 'genomes' holds NaN or infinite genes"


def test_integer_genes_must_lie_within_the_bounds_inclusive(integer):
    opt = _restored(integer)
    opt.genomes[0] = [0, 5, 0, 5]
    assert _state_problem(opt) is None
    for gene in (-1, 6):
        opt.genomes[0, 1] = gene
        assert _state_problem(opt) == (
            "array 'genomes' holds genes outside the integer genome's bounds")


def test_permutation_rows_must_hold_each_index_once(permutation):
    opt = _restored(permutation)
    opt.genomes[0] = [4, 3, 2, 1, 0]
    assert _state_problem(opt) is None
    opt.genomes[0] = [0, 0, 2, 3, 4]  # within the bounds, but not a permutation
    assert _state_problem(opt) == "array 'genomes' holds rows that are not permutations"


def test_hall_of_fame_within_its_size_and_with_finite_fitness(real):
    _, _, saved = real
    genomes, fitness = saved.arrays["hall_of_fame_genomes"], saved.arrays["hall_of_fame_fitness"]
    assert len(fitness) == 4  # full
    more = {"hall_of_fame_genomes": np.concatenate([genomes, genomes[:1] + 0.5]),
            "hall_of_fame_fitness": np.concatenate([fitness, fitness[:1] + 1.0])}
    assert _refusal(real, arrays=more) == (
        "the hall of fame holds 5 entries, more than its size 4")
    assert _state_problem(_restored(real)) is None  # exactly its size
    for bad in (np.inf, np.nan):
        worse = fitness.copy()
        worse[1, 0] = bad
        assert _refusal(real, arrays={"hall_of_fame_fitness": worse}) == (
            "the hall of fame holds an entry without a finite fitness per objective")


def test_shown_values_are_cut_to_their_width_and_huge_integers_named():
    assert _shown("x" * 58) == repr("x" * 58)  # 60 characters: whole
    assert _shown("x" * 59) == repr("x" * 59)[:57] + "..."
    assert len(_shown("x" * 59)) == 60
    assert _shown("abcdef", width=6) == "'ab..."
    assert _shown(10**50 - 1) == str(10**50 - 1)
    assert _shown(10**50) == _shown(-10**50) == "a huge number"
    assert _shown(501) == "501" and _shown(None) == "None"
