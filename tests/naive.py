"""Slow, obviously-correct references for the compiled kernels (stumpy's tests/naive.py idea).

They consume the same per-row random streams as the kernels, drawn here by a pure-Python
SplitMix64, so kernel and reference must agree exactly.
"""

from helpers import Replay as Draws


def tournament(scores, k, size, seed):
    out = []
    for i in range(k):
        d = Draws(seed, i)
        aspirants = [d.below(len(scores)) for _ in range(size)]
        best = aspirants[0]
        for a in aspirants[1:]:
            if scores[a] > scores[best]:
                best = a
        out.append(best)
    return out


def one_point(pop, probability, midpoint, seed):
    pop = [list(r) for r in pop]
    changed = [False] * len(pop)
    d_len = len(pop[0])
    for p in range(len(pop) // 2):
        d = Draws(seed, p)
        if d.random() >= probability or d_len < 2:
            continue
        point = d_len // 2 if midpoint else 1 + d.below(d_len - 1)
        a, b = pop[2 * p], pop[2 * p + 1]
        pop[2 * p], pop[2 * p + 1] = a[:point] + b[point:], b[:point] + a[point:]
        changed[2 * p] = changed[2 * p + 1] = True
    return pop, changed


def blend(pop, probability, alpha, seed):
    pop = [list(r) for r in pop]
    changed = [False] * len(pop)
    for p in range(len(pop) // 2):
        d = Draws(seed, p)
        if d.random() >= probability:
            continue
        a, b = pop[2 * p], pop[2 * p + 1]
        for j in range(len(a)):
            gamma = (1 + 2 * alpha) * d.random() - alpha
            a[j], b[j] = (1 - gamma) * a[j] + gamma * b[j], gamma * a[j] + (1 - gamma) * b[j]
        changed[2 * p] = changed[2 * p + 1] = True
    return pop, changed


def gaussian(pop, probability, gene_probability, mu, sigma, seed):
    pop = [list(r) for r in pop]
    changed = [False] * len(pop)
    for i, row in enumerate(pop):
        d = Draws(seed, i)
        if d.random() >= probability:
            continue
        for j in range(len(row)):
            if d.random() < gene_probability:
                row[j] += mu + sigma * d.normal()
        changed[i] = True
    return pop, changed


def uniform(pop, probability, gene_probability, width, seed):
    pop = [list(r) for r in pop]
    changed = [False] * len(pop)
    for i, row in enumerate(pop):
        d = Draws(seed, i)
        if d.random() >= probability:
            continue
        for j in range(len(row)):
            if d.random() < gene_probability:
                row[j] += width * (2 * d.random() - 1)
        changed[i] = True
    return pop, changed


def uniform_one_gene(pop, probability, gene, width, seed):
    pop = [list(r) for r in pop]
    changed = [False] * len(pop)
    for i, row in enumerate(pop):
        d = Draws(seed, i)
        if d.random() >= probability:
            continue
        j = gene if gene >= 0 else d.below(len(row))
        row[j] += width * (2 * d.random() - 1)
        changed[i] = True
    return pop, changed


def reset_symbol(pop, probability, gene_probability, counts, seed):
    """Categorical reset: a mutated gene takes one of the other symbols, each equally likely."""
    pop = [list(r) for r in pop]
    changed = [False] * len(pop)
    for i, row in enumerate(pop):
        d = Draws(seed, i)
        if d.random() >= probability:
            continue
        for j in range(len(row)):
            if d.random() < gene_probability:
                others = [s for s in range(counts[j]) if s != row[j]]
                row[j] = others[d.below(len(others))]
        changed[i] = True
    return pop, changed
