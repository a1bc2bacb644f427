"""Crossover and mutation kernels for real, integer and binary genomes, against DEAP's
operators on the same draws (or a pure-Python reference where DEAP has none)."""

import numpy as np
import pytest
from deap import tools
from deap.tools import crossover as deap_crossover
from deap.tools import mutation as deap_mutation

from evoengine import operators as ops
from helpers import Replay, kernel_seed

SEED, P, D = 21, 0.7, 9


def reals(n=40, seed=0):
    return np.random.default_rng(seed).uniform(-2.0, 2.0, size=(n, D))


def run_kernel(kernel, genomes, *args):
    out, changed = genomes.copy(), np.zeros(len(genomes), dtype=bool)
    kernel(out, changed, P, *args, np.random.default_rng(SEED))
    return out, changed


def reference_pairs(monkeypatch, genomes, mate):
    """Pair i, with probability P, through ``mate(list1, list2)`` drawing from stream i."""
    seed, out = kernel_seed(SEED), genomes.copy()
    changed = np.zeros(len(genomes), dtype=bool)
    for p in range(len(genomes) // 2):
        draws = Replay(seed, p)
        if draws.random() >= P:
            continue
        monkeypatch.setattr(deap_crossover, "random", draws)
        a, b = genomes[2 * p].tolist(), genomes[2 * p + 1].tolist()
        mate(a, b, draws)
        out[2 * p], out[2 * p + 1] = a, b
        changed[2 * p] = changed[2 * p + 1] = True
    return out, changed


def reference_rows(monkeypatch, genomes, mutate):
    seed, out = kernel_seed(SEED), genomes.copy()
    changed = np.zeros(len(genomes), dtype=bool)
    for i in range(len(genomes)):
        draws = Replay(seed, i)
        if draws.random() >= P:
            continue
        monkeypatch.setattr(deap_mutation, "random", draws)
        row = genomes[i].tolist()
        mutate(row, draws)
        out[i], changed[i] = row, True
    return out, changed


def assert_same(ours, ref):
    np.testing.assert_allclose(ours[0], ref[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(ours[1], ref[1])
    assert ours[1].any() and not ours[1].all()


CROSSOVERS = {
    "one_point": (lambda g, c, p, rng: ops.cx_one_point(g, c, p, rng),
                  lambda a, b, r: tools.cxOnePoint(a, b)),
    "two_point": (ops.cx_two_point, lambda a, b, r: tools.cxTwoPoint(a, b)),
    "uniform": (lambda g, c, p, rng: ops.cx_uniform(g, c, p, 0.3, rng),
                lambda a, b, r: tools.cxUniform(a, b, 0.3)),
    "blend": (lambda g, c, p, rng: ops.cx_blend(g, c, p, 0.5, rng),
              lambda a, b, r: tools.cxBlend(a, b, 0.5)),
    "sbx": (lambda g, c, p, rng: ops.cx_simulated_binary_bounded(g, c, p, 15.0, -2.0, 2.0, rng),
            lambda a, b, r: tools.cxSimulatedBinaryBounded(a, b, 15.0, -2.0, 2.0)),
}


@pytest.mark.parametrize("name", CROSSOVERS)
def test_crossover_matches_deap(monkeypatch, name):
    kernel, deap_mate = CROSSOVERS[name]
    genomes = reals()
    assert_same(run_kernel(kernel, genomes), reference_pairs(monkeypatch, genomes, deap_mate))


@pytest.mark.parametrize("name", ["one_point", "two_point", "uniform"])
def test_crossover_on_integers_and_bits_matches_deap(monkeypatch, name):
    kernel, deap_mate = CROSSOVERS[name]
    genomes = np.random.default_rng(1).integers(0, 2, size=(40, D))
    ours = run_kernel(kernel, genomes)
    assert ours[0].dtype == np.int64
    assert_same(ours, reference_pairs(monkeypatch, genomes, deap_mate))


def test_arithmetic_matches_reference(monkeypatch):
    def mate(a, b, draws):
        w = draws.random()
        a[:], b[:] = ([w * x + (1 - w) * y for x, y in zip(a, b)],
                      [(1 - w) * x + w * y for x, y in zip(a, b)])
    genomes = reals()
    ours = run_kernel(ops.cx_arithmetic, genomes)
    assert_same(ours, reference_pairs(monkeypatch, genomes, mate))
    # Children stay between their parents, and each pair keeps its sum.
    np.testing.assert_allclose(ours[0][0::2] + ours[0][1::2], genomes[0::2] + genomes[1::2])


def test_sbx_children_stay_in_bounds():
    genomes = np.random.default_rng(2).uniform(0.0, 1.0, size=(400, D))
    changed = np.zeros(400, dtype=bool)
    ops.cx_simulated_binary_bounded(genomes, changed, 1.0, 0.5, 0.0, 1.0,
                                    np.random.default_rng(0))
    assert genomes.min() >= 0.0 and genomes.max() <= 1.0


MUTATIONS = {
    "gaussian": (lambda g, c, p, rng: ops.mut_gaussian(g, c, p, 0.4, 0.0, 0.3, rng),
                 lambda row, r: tools.mutGaussian(row, 0.0, 0.3, 0.4)),
    "polynomial": (lambda g, c, p, rng: ops.mut_polynomial_bounded(g, c, p, 0.4, 20.0, -2.0,
                                                                   2.0, rng),
                   lambda row, r: tools.mutPolynomialBounded(row, 20.0, -2.0, 2.0, 0.4)),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_real_mutation_matches_deap(monkeypatch, name):
    kernel, deap_mutate = MUTATIONS[name]
    genomes = reals()
    assert_same(run_kernel(kernel, genomes), reference_rows(monkeypatch, genomes, deap_mutate))


def test_uniform_int_matches_deap(monkeypatch):
    genomes = np.random.default_rng(3).integers(-3, 4, size=(40, D))
    ours = run_kernel(lambda g, c, p, rng: ops.mut_uniform_int(g, c, p, 0.4, -3, 3, rng),
                      genomes)
    ref = reference_rows(monkeypatch, genomes, lambda row, r: tools.mutUniformInt(row, -3, 3, 0.4))
    assert_same(ours, ref)


def test_flip_bit_matches_deap(monkeypatch):
    genomes = np.random.default_rng(4).integers(0, 2, size=(40, D))
    ours = run_kernel(lambda g, c, p, rng: ops.mut_flip_bit(g, c, p, 0.4, rng), genomes)
    ref = reference_rows(monkeypatch, genomes, lambda row, r: tools.mutFlipBit(row, 0.4))
    assert_same(ours, ref)
    assert set(np.unique(ours[0])) <= {0, 1}


def test_reset_matches_reference(monkeypatch):
    def mutate(row, draws):
        for j in range(len(row)):
            if draws.random() < 0.4:
                row[j] = -1.0 + draws.random() * 2.0
    genomes = reals()
    ours = run_kernel(lambda g, c, p, rng: ops.mut_reset(g, c, p, 0.4, -1.0, 1.0, rng), genomes)
    assert_same(ours, reference_rows(monkeypatch, genomes, mutate))


def test_uniform_and_one_gene_match_reference(monkeypatch):
    def add_uniform(row, draws):
        for j in range(len(row)):
            if draws.random() < 0.4:
                row[j] += 0.5 * (2.0 * draws.random() - 1.0)

    def add_to_one(row, draws):
        j = draws.randrange(len(row))
        row[j] += 0.5 * (2.0 * draws.random() - 1.0)
    genomes = reals()
    ours = run_kernel(lambda g, c, p, rng: ops.mut_uniform(g, c, p, 0.4, 0.5, rng), genomes)
    assert_same(ours, reference_rows(monkeypatch, genomes, add_uniform))
    ours = run_kernel(lambda g, c, p, rng: ops.mut_uniform_one_gene(g, c, p, -1, 0.5, rng),
                      genomes)
    assert_same(ours, reference_rows(monkeypatch, genomes, add_to_one))


def test_bounded_mutations_need_finite_bounds():
    with pytest.raises(ValueError, match="finite bounds"):
        ops.mut_reset(reals(), np.zeros(40, bool), 1.0, 0.5, -np.inf, 1.0,
                      np.random.default_rng(0))
