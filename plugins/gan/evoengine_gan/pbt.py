"""Population-based training (Jaderberg et al. 2017, "Population Based Training of Neural
Networks"): members train side by side; every interval each is measured, the worst copy the
weights and optimizer state of the best (exploit) and perturb their hyperparameters (explore).

In this engine PBT is an algorithm like the others, driven by the same ask/tell loop:

- a *generation* is one interval: every member trains ``interval`` more examples with the
  hyperparameters its genome decodes to, then is measured; the measure is its fitness;
- the genome is the member's hyperparameters (the problem's search space, coordinates in
  ``[0, 1]``), so ``best.json``, the logbook and the hall of fame read as in any run;
- between two intervals, the members in the bottom ``exploit_fraction`` (and any that failed)
  each copy a member drawn from the top ``exploit_fraction`` and perturb its explored genes:
  with probability ``resample_probability`` a gene is drawn again from its range (or within
  ``resample_width`` of where it is), otherwise it is multiplied by 0.8 or 1.2 (integers step
  down or up by one), clipped to its range (Ray Tune's ``PopulationBasedTraining`` defaults);
- with ``exploit_margin``, a bottom member copies only a clearly better one (by that share of
  its own score), else goes on with its weights (and with ``explore_kept`` perturbs its own
  hyperparameters); with ``ready``, a member that copied is left alone for that many
  intervals; with ``retire``, the worse half of the members still training stop after the
  intervals named, so the rest train longer on the same examples (successive halving);
- the weights are the optimizer's run state, held by a :class:`~.trainable.Trainable` (one
  batched model on one device), and go into every checkpoint with the rest of the state;
- each member's measure comes back with its info (its number, the member it copied, the
  examples it trained on, and the trainable's ``member_info``: images, a test score), which the
  problem's ``summarize`` and its plugin's hooks turn into the run's histories and pictures.

Every random draw (the members' first weights, each interval's data and noise seeds, the
measuring seed, who copies whom, the perturbations) comes from the run's one generator, so a
seed fixes the run and ``evoengine resume`` continues it exactly (on the CPU; CUDA kernels may
round differently from run to run).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from deap import tools

from evoengine.algorithms import Evolution, Offspring
from evoengine.backends import Backend, Outcome
from evoengine.errors import ConfigError
from evoengine_gan.space import Gene, SearchSpace
from evoengine_gan.trainable import Trainable

PERTURBATION_FACTORS = (0.8, 1.2)
SEED_BOUND = 2**62  # torch seeds are 64-bit; NumPy draws below this bound


@dataclass(frozen=True)
class PBTSettings:
    """How often members are compared and how the worst become copies of the best."""

    interval: int  # examples each member trains between two measures
    exploit_fraction: float = 0.25  # bottom share that copies the top share
    resample_probability: float = 0.25  # chance an explored gene is drawn again
    factors: tuple[float, float] = PERTURBATION_FACTORS
    # How far a resample may move a gene, in its coordinate (1: anywhere in its range; 0.2:
    # within 0.2 of the range either way, a factor of 4 for a learning rate in 1e-5..1e-2).
    resample_width: float = 1.0
    # Intervals a member trains after it copied another before it may be copied or replaced
    # again (the paper's "ready"): 1 compares every member at every interval.
    ready: int = 1
    # A bottom member copies its drawn source only when the source's score is better by more
    # than this share of the bottom member's (0: always). Members on a plateau, whose
    # measures differ by noise, then keep their own hyperparameters instead of drifting.
    exploit_margin: float = 0.0
    # A bottom member that does not copy (under the margin) still explores its own
    # hyperparameters, keeping its weights.
    explore_kept: bool = False
    # Intervals (counted from 1) after which the worse half of the members still training
    # retire: they train no more, are not measured, copied or the answer, and the members
    # left train longer lines on the same total examples (successive halving inside PBT).
    retire: tuple[int, ...] = ()


class TrainsPopulation(Protocol):
    """What a problem provides for ``scheme = "pbt"`` (besides :class:`evoengine.Problem`)."""

    space: SearchSpace
    pbt: PBTSettings

    @property
    def explored(self) -> tuple[str, ...]:
        """Names of the genes PBT perturbs; the others stay as each member started (a member
        that copies another takes those too)."""

    def new_trainable(self, configs: Sequence[Mapping[str, Any]],
                      seeds: Sequence[int]) -> Trainable:
        """A fresh population, member ``i`` configured by ``configs[i]`` and its first
        weights drawn from ``seeds[i]``."""


def perturb(config: Mapping[str, Any], genes: Sequence[Gene], rng: np.random.Generator,
            settings: PBTSettings) -> dict[str, Any]:
    """``config`` with each gene of ``genes`` resampled or moved by a factor (explore)."""
    out = dict(config)
    for gene in genes:
        if rng.random() < settings.resample_probability:
            u = rng.random()
            if settings.resample_width < 1.0:  # near where it is, on the gene's own scale
                here = gene.encode(config[gene.name])
                u = here + settings.resample_width * (2.0 * u - 1.0)
            out[gene.name] = gene.decode(u)
            continue
        up = rng.integers(2) == 1
        factor = settings.factors[1] if up else settings.factors[0]
        value = config[gene.name]
        if gene.kind in ("float", "log"):
            out[gene.name] = float(min(max(value * factor, gene.low), gene.high))
        elif gene.kind == "int":
            out[gene.name] = int(min(max(value + (1 if up else -1), gene.low), gene.high))
        else:  # a choice: its neighbour in the list of choices
            i = gene.choices.index(value) + (1 if up else -1)
            out[gene.name] = gene.choices[min(max(i, 0), len(gene.choices) - 1)]
    return out


def exploit_and_explore(scores: np.ndarray, genomes: np.ndarray, space: SearchSpace,
                        explored: Sequence[str], rng: np.random.Generator,
                        settings: PBTSettings, ready: np.ndarray | None = None,
                        active: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Who copies whom, and the genomes after exploring.

    :param scores: one per member, higher is better, failed members at ``-inf``.
    :param ready: which members take part (default: all): the top and bottom shares are
        those of the ready members; a member that is not ready is neither copied nor replaced,
        unless it failed; ``active``: the members still training (default: all), the only
        ones that take part at all.
    :return: ``sources`` (member ``i`` continues from member ``sources[i]``'s weights; ``i``
        itself when it is not replaced) and the new genomes.
    """
    n = len(scores)
    sources = np.arange(n)
    genomes = np.array(genomes, dtype=float)
    active = np.ones(n, dtype=bool) if active is None else np.asarray(active, dtype=bool)
    ready = active if ready is None else np.asarray(ready, dtype=bool) & active
    candidates = np.flatnonzero(ready)
    m = len(candidates)
    k = max(1, min(math.floor(m * settings.exploit_fraction), m // 2))
    # Best first, earlier members first on ties.
    order = candidates[np.argsort(-scores[candidates], kind="stable")]
    top = order[:k]
    top = top[np.isfinite(scores[top])]
    if not len(top):
        return sources, genomes  # nothing worth copying
    failed = np.flatnonzero(~np.isfinite(scores) & active)
    bottom = set(order[m - k:].tolist()) | set(failed.tolist())
    genes = [g for g in space.genes if g.name in explored]
    unexplored = [i for i, g in enumerate(space.genes) if g.name not in explored]
    for target in sorted(bottom - set(top.tolist())):
        source = int(top[rng.integers(len(top))])
        gap = scores[source] - scores[target]
        if (settings.exploit_margin > 0 and np.isfinite(scores[target])
                and gap <= settings.exploit_margin * abs(scores[target])):
            if settings.explore_kept:  # explore from where it is, on its own weights
                kept = genomes[target].copy()
                genomes[target] = space.encode(perturb(space.decode(kept), genes, rng,
                                                       settings))
                genomes[target, unexplored] = kept[unexplored]
            continue  # not clearly better: the target goes on as itself
        sources[target] = source
        config = perturb(space.decode(genomes[source]), genes, rng, settings)
        genomes[target] = space.encode(config)
        # Genes PBT does not explore are the source's, whatever their coordinate was.
        genomes[target, unexplored] = genomes[source, unexplored]
    return sources, genomes


@dataclass
class Interval:
    """What one interval left: the members' genomes, measures and who they copied."""

    generation: int
    examples: int  # examples each member has trained on in all, after this interval
    genomes: np.ndarray  # N x D
    fitness: np.ndarray  # N x M
    sources: np.ndarray  # N: the member whose weights each continued from


def retiring(scores: np.ndarray, active: np.ndarray) -> np.ndarray:
    """The members still training after the worse half of ``active`` retires (by ``scores``,
    higher is better; earlier members first on ties)."""
    members = np.flatnonzero(active)
    order = members[np.argsort(-scores[members], kind="stable")]
    out = np.zeros(len(active), dtype=bool)
    out[order[:len(members) - len(members) // 2]] = True
    return out


def member_intervals(population: int, intervals: int, retire: Sequence[int]) -> int:
    """Member-intervals a run of ``intervals`` trains (what its examples cost, in intervals):
    ``population`` members until the first retirement, then half as many, and so on."""
    total, members = 0, population
    for interval in range(1, intervals + 1):
        total += members
        if interval in retire:
            members -= members // 2
    return total


def run_length(population: int, budget: int, retire: Sequence[int]) -> int:
    """The fewest intervals in which a run spends at least ``budget`` member-intervals
    (:func:`member_intervals`)."""
    return next(n for n in range(1, budget + 1)
                if member_intervals(population, n, retire) >= budget)


def _same_measure(a, b) -> bool:
    # A member keeps its genome from one interval to the next while its measure changes: the
    # hall of fame keeps each (hyperparameters, measure) pair once, equal genomes included.
    return list(a) == list(b) and a.fitness.values == b.fitness.values


class MembersBackend(Backend):
    """The evaluation step of PBT: train every member one interval, then measure it. It runs
    in this process, on the population the optimizer holds."""

    name = "pbt"

    def __init__(self, optimizer: PopulationBasedTraining) -> None:
        self.optimizer = optimizer

    def __call__(self, genomes: np.ndarray, context=None) -> Outcome:
        return Outcome(*self.optimizer.train_interval(genomes, context))


class PopulationBasedTraining(Evolution):
    """Population-based training over a problem that provides :class:`TrainsPopulation`.

    ``generations`` counts intervals after the first (generation 0 trains the first interval
    from fresh weights), so each member trains ``(generations + 1) * interval`` examples.
    """

    name = "pbt"

    def __init__(self, problem, settings, *, toolbox=None) -> None:
        if toolbox is not None:
            raise ConfigError("scheme 'pbt' explores by perturbing hyperparameters; it takes "
                              "no DEAP toolbox")
        if settings.elitism:
            raise ConfigError(f"setting 'elitism': scheme 'pbt' keeps every member (the worst "
                              f"copy the best instead), so use elitism=0, got {settings.elitism}")
        if settings.backend != "serial":
            raise ConfigError(f"setting 'backend': scheme 'pbt' trains the population as one "
                              f"batched model in this process; use backend='serial' (and "
                              f"device=cuda for speed), got {settings.backend!r}")
        super().__init__(problem, settings, toolbox=toolbox)
        self.hall_of_fame = tools.HallOfFame(settings.hall_of_fame_size, similar=_same_measure)
        self.pbt: PBTSettings = problem.pbt
        self.trainable: Trainable | None = None
        self.intervals: list[Interval] = []
        self._sources = np.arange(settings.population_size)
        # The interval after which each member retired; 0: still training (retirement
        # points are intervals counted from 1).
        self.retired_after = np.zeros(settings.population_size, dtype=np.int64)
        # The population's state after each of the last two trained intervals, by generation:
        # a checkpoint saves the one of the last told generation, even when an interval was
        # cut short by Ctrl-C (its training already changed the live tensors).
        self._snapshots: dict[int, dict[str, np.ndarray]] = {}
        # The info of the best measure so far. The engine keys info by genome, but a member
        # keeps its genome while its measure changes, so PBT keeps the best's itself.
        self._interval_info: list[dict[str, Any]] = []
        self._best_info: dict[str, Any] | None = None
        self._best_info_score = -np.inf

    def _make_variation(self, toolbox):
        return None  # explore is PBT's own perturbation

    def own_backend(self) -> Backend:
        return MembersBackend(self)

    # --- the ask/tell steps -------------------------------------------------------------
    def _offspring(self) -> Offspring:
        point = self.generation + 1  # intervals trained
        # Once per point: an ask cancelled by Ctrl-C and asked again after resume keeps it.
        if point in self.pbt.retire and not (self.retired_after == point).any():
            self.retired_after[self.active & ~retiring(self.scores(), self.active)] = point
        sources, genomes = exploit_and_explore(self.scores(), self.genomes, self.problem.space,
                                               self.problem.explored, self.rng, self.pbt,
                                               ready=self.trained_since_copy() >= self.pbt.ready,
                                               active=self.active)
        for target in np.flatnonzero(sources != np.arange(len(sources))):
            self.trainable.copy_member(int(sources[target]), int(target))
        self._sources = sources
        nan = np.full((len(genomes), len(self.weights)), np.nan)
        return Offspring(genomes, nan, np.ones(len(genomes), dtype=bool))

    @property
    def active(self) -> np.ndarray:
        """Members still training (not retired)."""
        return self.retired_after == 0

    def trained_since_copy(self) -> np.ndarray:
        """Intervals each member has trained since it last copied another (all of them for
        a member that never copied)."""
        told = [i for i in self.intervals if i.generation <= self.generation]
        out = np.full(len(self.genomes), len(told))
        seen = np.zeros(len(out), dtype=bool)
        for age, interval in enumerate(reversed(told), start=1):
            copied = (interval.sources != np.arange(len(out))) & ~seen
            out[copied], seen[copied] = age, True
        return out

    def _replace(self, offspring: Offspring) -> tuple[np.ndarray, np.ndarray]:
        return offspring.genomes, offspring.fitness  # every member goes on as itself

    def train_interval(self, genomes: np.ndarray, context=None
                       ) -> tuple[np.ndarray, dict, list[dict[str, Any]]]:
        """Train every member ``interval`` examples with the hyperparameters of ``genomes`` and
        measure it: the fitness (``N x M``), no failures, and each member's info (its number,
        the member whose weights it continued, the examples it has trained on, and what the
        trainable adds, such as images). The problem may keep the best member's model in the
        run's artifacts folder (``problem.save_member(trainable, member, folder)``)."""
        genomes = np.asarray(genomes, dtype=float)
        configs = [self.problem.space.decode(g) for g in genomes]
        if self.trainable is None:
            seeds = self.rng.integers(SEED_BOUND, size=len(genomes))
            self.trainable = self.problem.new_trainable(configs, seeds.tolist())
            self._sources = np.arange(len(genomes))
        self.trainable.configure(configs)
        self.trainable.reseed(self.rng.integers(SEED_BOUND, size=len(genomes)).tolist())
        active = self.active
        retired = ~active
        if retired.any():  # only a run that retires members asks a trainable for this
            self.trainable.train(self.pbt.interval, active=active.tolist())
            measures = self.trainable.measure(int(self.rng.integers(SEED_BOUND)),
                                              active=active.tolist())
        else:
            self.trainable.train(self.pbt.interval)
            measures = self.trainable.measure(int(self.rng.integers(SEED_BOUND)))
        fitness = np.array(measures, dtype=float).reshape(len(genomes), -1)
        # A retired member keeps the measure it retired with (its weights have not changed).
        if retired.any():
            fitness[retired] = self.fitness[retired]
        generation = self.generation + 1
        examples = (generation + 1) * self.pbt.interval  # of every member still training
        member_examples = np.where(active, generation + 1, self.retired_after) * self.pbt.interval
        self.intervals = [i for i in self.intervals if i.generation < generation]
        self.intervals.append(Interval(generation, examples, genomes.copy(), fitness.copy(),
                                       self._sources.copy()))
        self._snapshots = {g: s for g, s in self._snapshots.items() if g == self.generation}
        self._snapshots[generation] = self.trainable.state()
        extra = getattr(self.trainable, "member_info", None)
        extra = extra() if extra is not None else [{} for _ in genomes]
        info = [{"member": i, "copied_from": None if source == i else int(source),
                 "examples": int(member_examples[i]), "retired": bool(retired[i]),
                 **extra[i]} for i, source in enumerate(self._sources.tolist())]
        scores = np.where(active, fitness[:, 0] * self.weights[0], np.nan)
        folder = getattr(context, "artifacts", None)
        save = getattr(self.problem, "save_member", None)
        if folder is not None and save is not None and np.isfinite(scores).any():
            save(self.trainable, int(np.nanargmax(np.where(np.isfinite(scores), scores, np.nan))),
                 folder)
        self._interval_info = info
        return fitness, {}, info

    def _told(self) -> None:
        scores = np.where(self.active, self.scores(), -np.inf)
        best = int(np.argmax(scores))
        if scores[best] > self._best_info_score and self._interval_info:
            self._best_info_score = float(scores[best])
            self._best_info = self._interval_info[best]

    @property
    def best_info(self) -> dict[str, Any] | None:
        """The info of the member at the best measure of the run (``best.json``)."""
        return self._best_info

    def best_member(self) -> int:
        """The member still training with the best measure at the last interval (PBT's
        result)."""
        return int(np.argmax(np.where(self.active, self.scores(), -np.inf)))

    # --- checkpoints ------------------------------------------------------------------
    def _export(self) -> tuple[dict[str, object], dict[str, np.ndarray]]:
        told = [i for i in self.intervals if i.generation <= self.generation]
        arrays = {f"pbt.population.{k}": v for k, v in self._snapshots[self.generation].items()}
        arrays["pbt.genomes"] = np.array([i.genomes for i in told])
        arrays["pbt.fitness"] = np.array([i.fitness for i in told])
        arrays["pbt.sources"] = np.array([i.sources for i in told])
        arrays["pbt.retired_after"] = self.retired_after.copy()
        best = None if self._best_info is None else {
            k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in self._best_info.items()}
        return {"pbt": {"examples": [i.examples for i in told], "best_info": best,
                        "best_info_score": self._best_info_score}}, arrays

    def _restore(self, values: dict[str, object], arrays: dict[str, np.ndarray]) -> None:
        configs = [self.problem.space.decode(g) for g in self.genomes]
        self.trainable = self.problem.new_trainable(configs, [0] * len(configs))
        prefix = "pbt.population."
        state = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
        self.trainable.load_state(state)
        self._snapshots = {self.generation: state}
        examples = values["pbt"]["examples"]
        self.intervals = [Interval(g, int(examples[g]), arrays["pbt.genomes"][g],
                                   arrays["pbt.fitness"][g], arrays["pbt.sources"][g])
                          for g in range(len(examples))]
        self._sources = np.arange(len(self.genomes))
        self.retired_after = np.array(arrays.get("pbt.retired_after",
                                                 np.zeros(len(self.genomes))), dtype=np.int64)
        self._best_info = values["pbt"].get("best_info")
        self._best_info_score = float(values["pbt"].get("best_info_score", -np.inf))
