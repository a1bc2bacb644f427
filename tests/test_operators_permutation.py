"""Permutation kernels: DEAP's operators on the same draws where DEAP has one, pure-Python
references otherwise; every child is a valid permutation."""

import numpy as np
import pytest
from deap import tools
from deap.tools import crossover as deap_crossover
from deap.tools import mutation as deap_mutation

from evoengine import operators as ops
from helpers import Replay, kernel_seed

SEED, P, D = 31, 0.7, 10


def permutations(n=40, d=D, seed=0):
    return np.argsort(np.random.default_rng(seed).random((n, d)), axis=1)


def run_kernel(kernel, genomes, *args):
    out, changed = genomes.copy(), np.zeros(len(genomes), dtype=bool)
    kernel(out, changed, P, *args, np.random.default_rng(SEED))
    return out, changed


def reference(monkeypatch, genomes, operator, pairs):
    seed, out = kernel_seed(SEED), genomes.copy()
    changed = np.zeros(len(genomes), dtype=bool)
    step = 2 if pairs else 1
    for i in range(len(genomes) // step):
        draws = Replay(seed, i)
        if draws.random() >= P:
            continue
        monkeypatch.setattr(deap_crossover, "random", draws)
        monkeypatch.setattr(deap_mutation, "random", draws)
        rows = [genomes[step * i + t].tolist() for t in range(step)]
        operator(*rows, draws)
        for t in range(step):
            out[step * i + t] = rows[t]
            changed[step * i + t] = True
    return out, changed


def cycle_reference(a, b, draws):
    """Oliver's cycle crossover, written the textbook way."""
    d, child_a, child_b = len(a), [None] * len(a), [None] * len(a)
    take_from_a = True
    for start in range(d):
        if child_a[start] is not None:
            continue
        j = start
        while child_a[j] is None:
            child_a[j], child_b[j] = (a[j], b[j]) if take_from_a else (b[j], a[j])
            j = a.index(b[j])
        take_from_a = not take_from_a
    a[:], b[:] = child_a, child_b


def scramble_reference(row, draws):
    i, j = draws.randrange(len(row)), draws.randrange(len(row))
    lo, hi = min(i, j), max(i, j)
    segment = row[lo:hi]
    draws.shuffle(segment)
    row[lo:hi] = segment


def insertion_reference(row, draws):
    i, j = draws.randrange(len(row)), draws.randrange(len(row))
    row.insert(j, row.pop(i))


CASES = {
    "pmx": (ops.cx_partially_matched, lambda a, b, r: tools.cxPartialyMatched(a, b), True),
    "ordered": (ops.cx_ordered, lambda a, b, r: tools.cxOrdered(a, b), True),
    "cycle": (ops.cx_cycle, cycle_reference, True),
    "swap": (lambda g, c, p, rng: ops.mut_swap(g, c, p, 0.2, rng),
             lambda row, r: tools.mutShuffleIndexes(row, 0.2), False),
    "inversion": (ops.mut_inversion, lambda row, r: tools.mutInversion(row), False),
    "scramble": (ops.mut_scramble, scramble_reference, False),
    "insertion": (ops.mut_insertion, insertion_reference, False),
}


@pytest.mark.parametrize("name", CASES)
def test_matches_reference(monkeypatch, name):
    kernel, ref_operator, pairs = CASES[name]
    genomes = permutations()
    ours = run_kernel(kernel, genomes)
    ref = reference(monkeypatch, genomes, ref_operator, pairs)
    np.testing.assert_array_equal(ours[0], ref[0])
    np.testing.assert_array_equal(ours[1], ref[1])
    assert ours[1].any() and not ours[1].all()


@pytest.mark.parametrize("name", CASES)
def test_children_are_permutations(name):
    kernel = CASES[name][0]
    for d in (2, 3, 17):
        genomes = permutations(200, d, seed=d)
        changed = np.zeros(len(genomes), dtype=bool)
        kernel(genomes, changed, 1.0, np.random.default_rng(d))
        assert (np.sort(genomes, axis=1) == np.arange(d)).all()


def test_cycle_keeps_every_gene_in_a_parents_position():
    genomes = permutations(100, 12, seed=5)
    children = genomes.copy()
    ops.cx_cycle(children, np.zeros(100, dtype=bool), 1.0, np.random.default_rng(0))
    a, b = genomes[0::2], genomes[1::2]
    for child in (children[0::2], children[1::2]):
        assert ((child == a) | (child == b)).all()
