"""CMA-ES, the covariance matrix adaptation evolution strategy, on the ask/tell template.

Hansen's (mu/mu_w, lambda)-CMA-ES with active covariance update (negative recombination
weights), as written in "The CMA Evolution Strategy: A Tutorial" (Hansen 2016, arXiv:1604.00772)
and run by default in pycma, with pycma's constants. When the distribution has
converged (pycma's tolx, tolfun and condition criteria) it restarts from a new random point with
twice the samples per generation (IPOP-CMA-ES, Auger & Hansen 2005), so a run's remaining
budget is not spent sampling one point.
"""

from __future__ import annotations

import math

import numpy as np

from evoengine.algorithms.base import Evolution, Offspring
from evoengine.config import AlgorithmSettings
from evoengine.errors import ConfigError
from evoengine.problem import Genome


def into_bounds(x: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """pycma's default bound handling (``BoxConstraintsLinQuadTransformation``): the identity
    inside ``[low + a, high - a]``, quadratic towards each bound, mirrored and periodic
    beyond, so every real vector maps smoothly into the bounds. ``a`` is 5% of the bound's
    magnitude (at least 0.05), at most half the width; an infinite bound is left open."""
    y = np.array(x, dtype=float)
    low, high = np.broadcast_to(low, y.shape), np.broadcast_to(high, y.shape)
    with np.errstate(invalid="ignore"):  # inf - inf where a side is open
        half = (high - low) / 2
        al = np.where(np.isfinite(low), np.minimum(half, np.maximum(1, np.abs(low)) / 20), 1.0)
        au = np.where(np.isfinite(high), np.minimum(half, np.maximum(1, np.abs(high)) / 20), 1.0)
        far = (y < low - 2 * al - half) | (y > high + 2 * au + half)
        period = 2 * (high - low + al + au)
        start = low - 2 * al - half
        y[far] -= period[far] * np.floor((y[far] - start[far]) / period[far])
        over = y > high + au
        y[over] -= 2 * (y[over] - high[over] - au[over])
        under = y < low - al
        y[under] += 2 * (low[under] - al[under] - y[under])
        near = y < low + al
        y[near] = low[near] + (y[near] - (low[near] - al[near])) ** 2 / 4 / al[near]
        near = y > high - au
        y[near] = high[near] - (y[near] - (high[near] + au[near])) ** 2 / 4 / au[near]
    return y


def default_lambda(dimension: int) -> int:
    """Samples per generation when ``offspring_size`` is unset: 4 + floor(3 ln n)."""
    return 4 + int(3 * math.log(dimension))


def restart_lambda(first: int, dimension: int, restarts: int) -> int:
    """Samples per generation after ``restarts`` IPOP restarts: ``first`` doubled each time,
    as pycma's ``fmin`` does it, from the unrounded ``4 + 3 ln n`` when ``first`` is that
    default. In 5-D that gives 8, 17, 35, 70, ... rather than 8, 16, 32, 64: rounding down
    once and doubling after loses up to 10% of each larger population, and on multimodal
    functions (Rastrigin) the chance that a restart finds the global basin grows with it."""
    base = 4 + 3 * math.log(dimension) if first == default_lambda(dimension) else first
    return int(base * 2 ** restarts)


def default_sigma(genome: Genome) -> float:
    """Initial step size when ``cma_sigma`` is unset: 0.3 of the bounds' mean width (pycma's
    advice: a quarter to a third of the range the optimum lies in), 1 when unbounded."""
    width = genome.upper - genome.lower
    return 0.3 * float(np.mean(width)) if np.all(np.isfinite(width)) else 1.0


class CMAES(Evolution):
    """CMA-ES: each generation samples ``lambda`` points from ``N(m, sigma^2 C)``::

        m = a random point in the bounds (the problem's initial_population(1)), C = I
        repeat:
            x_k = m + sigma * B D z_k,  z_k ~ N(0, I),  k = 1..lambda     # ask
            evaluate into_bounds(x_k)                                      # tell
            m += sigma * sum_i w_i y_i:lambda          (the mu best, weighted)
            p_sigma, p_c: evolution paths;  sigma *= exp(cs/ds (|p_sigma| / E|N(0,I)| - 1))
            C = (1 - c1 - cmu sum w) C + c1 p_c p_c^T + cmu sum_i w_i° y_i y_i^T  (all lambda)

        on convergence: restart at a new random m with lambda doubled (restart_lambda),
                        sigma = cma_sigma, C = I

    Settings used: offspring_size (lambda; default 4 + floor(3 ln n)), cma_sigma (initial step
    size; default 0.3 of the bounds' width), generations and the stop criteria. Samples are
    evaluated mapped into the bounds by pycma's smooth periodic transformation
    (:func:`into_bounds`); the distribution lives in the unbounded space. Real genomes only; no elitism (the
    distribution, not the population, carries what was learnt). The whole state (mean, step
    size, covariance, paths, the last samples) is exported for checkpoints.

    The update of generation g runs at the next ask, from the samples and fitness told in g,
    so the state between tell and ask is the told population plus the distribution it came
    from.
    """

    name = "cma_es"

    def __init__(self, problem, settings: AlgorithmSettings, *, toolbox=None) -> None:
        if problem.genome.kind != "real":
            raise ConfigError(f"setting 'algorithm': cma_es searches real genomes; this "
                              f"problem's genome is {problem.genome.kind}")
        if settings.elitism:
            raise ConfigError("setting 'elitism': cma_es keeps no population to copy elites "
                              "into; leave elitism at 0")
        if toolbox is not None:
            raise ConfigError("cma_es samples its own offspring; a DEAP toolbox's operators "
                              "do not apply")
        super().__init__(problem, settings)
        genome = problem.genome
        n = genome.length
        self.low, self.high = genome.lower, genome.upper
        lambda_ = settings.offspring_size or default_lambda(n)
        if lambda_ < 2:
            raise ConfigError("setting 'offspring_size': cma_es needs at least 2 samples per "
                              "generation")
        self.sigma0 = settings.cma_sigma or default_sigma(genome)
        self.first_lambda = lambda_
        self.restarts = 0
        self.samples: np.ndarray | None = None  # x_k of the last told generation, unbounded
        self._start(lambda_, np.zeros(n))

    def _start(self, lambda_: int, mean: np.ndarray) -> None:
        """A fresh distribution at ``mean``: step size sigma0, C = I, empty paths."""
        n = len(mean)
        self.lambda_, self.mu = lambda_, lambda_ // 2
        self._set_constants(n)
        self.mean = mean
        self.sigma = self.sigma0
        self.cov = np.eye(n)
        self.path_sigma = np.zeros(n)
        self.path_c = np.zeros(n)
        self.eigen_basis = np.eye(n)        # B: C = B diag(D^2) B^T
        self.eigen_scales = np.ones(n)      # D
        self.updates = 0                    # distribution updates since the (re)start
        self.eigen_at = self.evaluations    # evaluations at the last eigendecomposition
        self.best_history: list[float] = []  # best score of each recent generation (tolfun)

    def _make_variation(self, toolbox):
        return None  # the distribution is the variation

    # --- the strategy's constants: pycma 4's defaults (Hansen's reference code) ------------
    # They refine the 2016 tutorial's: cs = (mueff + 2) / (n + mueff + 3) at most 1/2, c1
    # scaled by min(1, lambda / 6), cmu with an offset of 1/4, damps larger for large mueff.
    def _set_constants(self, n: int) -> None:
        lam, mu = self.lambda_, self.mu
        raw = math.log((lam + 1) / 2) - np.log(np.arange(1, lam + 1))
        positive, negative = raw[:mu], raw[mu:]
        self.mueff = positive.sum() ** 2 / (positive ** 2).sum()
        self.cc = (4 + self.mueff / n) / (n + 4 + 2 * self.mueff / n)
        self.cs = min(0.5, (self.mueff + 2) / (n + self.mueff + 3))
        self.c1 = min(1.0, lam / 6) * 2 / ((n + 1.3) ** 2 + self.mueff)
        self.cmu = min(1 - self.c1, 2 * (0.25 + self.mueff + 1 / self.mueff - 2)
                       / ((n + 2) ** 2 + self.mueff))
        inner = max(1.0, 3 * (1 - 0.5 ** (n / 9)))
        self.damps = 1 + 2 * max(0.0, inner * math.sqrt((self.mueff - 1) / (n + 1)) - 1) + self.cs
        self.chi_n = math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n ** 2))  # E|N(0, I)|
        weights = np.empty(lam)
        weights[:mu] = positive / positive.sum()
        if len(negative) and negative.sum() != 0 and self.cmu > 0:
            mueff_neg = negative.sum() ** 2 / (negative ** 2).sum()
            scale = min(1 + self.c1 / self.cmu,
                        1 + 2 * mueff_neg / (self.mueff + 2),
                        (1 - self.c1 - self.cmu) / (n * self.cmu))
            weights[mu:] = scale * negative / np.abs(negative).sum()
        else:
            weights[mu:] = 0.0
        self.recombination_weights = weights
        # Eigendecompose C at most this often (in evaluations): its cost is n^3.
        self.eigen_every = lam / (self.c1 + self.cmu) / n / 10

    # --- the template's steps --------------------------------------------------------------
    def _initial(self) -> Offspring:
        self.mean = self._random_point()
        return self._sample()

    def _offspring(self) -> Offspring:
        # The update is only proposed here and taken in _replace, at tell: an ask that is
        # cancelled (Ctrl-C before a checkpoint) must leave the state as the last tell left it.
        before = self._snapshot()
        self._update()
        if self._converged():
            self.restarts += 1
            self._start(restart_lambda(self.first_lambda, len(self.mean), self.restarts),
                        self._random_point())
        offspring = self._sample()
        self._proposal = self._snapshot()
        self.__dict__.update(before)
        return offspring

    def _random_point(self) -> np.ndarray:
        start = np.asarray(self.problem.initial_population(1, self.rng), dtype=float)
        return start.reshape(-1).copy()

    def _replace(self, offspring: Offspring):
        self.__dict__.update(self._proposal)
        self.samples = self._asked
        return offspring.genomes, offspring.fitness

    _STATE = ("lambda_", "mu", "mueff", "cc", "cs", "c1", "cmu", "damps", "chi_n",
              "recombination_weights", "eigen_every", "mean", "sigma", "cov", "path_sigma",
              "path_c", "eigen_basis", "eigen_scales", "updates", "eigen_at", "best_history",
              "restarts")

    def _snapshot(self) -> dict:
        """The distribution and its counters (updates replace arrays, never write into them;
        the one list is copied)."""
        state = {name: getattr(self, name) for name in self._STATE}
        state["best_history"] = list(state["best_history"])
        return state

    def _sample(self) -> Offspring:
        z = self.rng.standard_normal((self.lambda_, len(self.mean)))
        samples = self.mean + self.sigma * (z * self.eigen_scales) @ self.eigen_basis.T
        # Kept aside until tell: a cancelled ask (Ctrl-C) must leave the state as it was.
        self._asked = samples
        if self.samples is None:  # generation 0 is accepted without _replace
            self.samples = samples
        genomes = into_bounds(samples, self.low, self.high)
        nan = np.full((self.lambda_, len(self.weights)), np.nan)
        return Offspring(genomes, nan, np.ones(self.lambda_, dtype=bool))

    def _update(self) -> None:
        """Move the distribution towards the told generation's best samples."""
        n = len(self.mean)
        order = np.argsort(-self.scores(), kind="stable")  # best first
        steps = (self.samples[order] - self.mean) / self.sigma  # y_i:lambda
        w = self.recombination_weights
        step = w[:self.mu] @ steps[:self.mu]  # y_w
        self.mean = self.mean + self.sigma * step
        # C^(-1/2) from the current eigendecomposition.
        inv_sqrt = (self.eigen_basis / self.eigen_scales) @ self.eigen_basis.T
        self.path_sigma = ((1 - self.cs) * self.path_sigma
                           + math.sqrt(self.cs * (2 - self.cs) * self.mueff) * inv_sqrt @ step)
        self.updates += 1
        norm = np.linalg.norm(self.path_sigma)
        # pycma's test of a stalled path: |p_sigma|^2 / n, unbiased for the first steps.
        h_sigma = float(norm ** 2 / n / (1 - (1 - self.cs) ** (2 * self.updates)) - 1
                        < 1 + 4 / (n + 1))
        self.path_c = ((1 - self.cc) * self.path_c
                       + h_sigma * math.sqrt(self.cc * (2 - self.cc) * self.mueff) * step)
        # Active update: negative weights scaled so their steps have length sqrt(n).
        w_cov = w.copy()
        negative = w < 0
        if negative.any():
            lengths = np.sum((steps[negative] @ inv_sqrt.T) ** 2, axis=1)
            w_cov[negative] *= n / np.maximum(lengths, 1e-300)
        delta_h = (1 - h_sigma) * self.cc * (2 - self.cc)
        decay = 1 + self.c1 * delta_h - self.c1 - self.cmu * w.sum()
        self.cov = (decay * self.cov + self.c1 * np.outer(self.path_c, self.path_c)
                    + self.cmu * (steps.T * w_cov) @ steps)
        self.sigma *= math.exp(min(1.0, self.cs / self.damps * (norm / self.chi_n - 1)))
        if self.evaluations - self.eigen_at >= self.eigen_every:
            self._decompose()

    def _converged(self) -> bool:
        """pycma's stop criteria for one run, made relative to the problem's scale: the step
        (tolx) or the fitness spread over recent generations (tolfun) vanished, C is
        ill-conditioned, or the numbers broke down."""
        n = len(self.mean)
        if not (np.isfinite(self.sigma) and np.all(np.isfinite(self.cov))
                and np.all(np.isfinite(self.mean))):
            return True
        if self.sigma * self.eigen_scales.max() < 1e-12 * self.sigma0:
            return True
        if (self.eigen_scales.max() / self.eigen_scales.min()) ** 2 > 1e14:
            return True
        scores = self.scores()
        scores = scores[np.isfinite(scores)]
        if not len(scores):
            return False
        self.best_history.append(float(scores.max()))
        window = int(10 + 30 * n / self.lambda_)  # pycma's length of its history of bests
        del self.best_history[:-window]
        if len(self.best_history) < window:
            return False
        # pycma's tolfun is 1e-11 absolute; here 1e-11 of the best's magnitude when that is
        # above 1, so a problem's units do not matter (not tighter: at a local optimum a
        # tighter test only spends evaluations before the restart).
        spread = max(np.ptp(self.best_history), np.ptp(scores))
        return spread <= 1e-11 * max(1.0, abs(self.best_history[-1]))

    def _decompose(self) -> None:
        self.cov = np.triu(self.cov) + np.triu(self.cov, 1).T  # exactly symmetric
        values, basis = np.linalg.eigh(self.cov)
        self.eigen_scales = np.sqrt(np.maximum(values, 1e-300))
        self.eigen_basis = basis
        self.eigen_at = self.evaluations

    # --- checkpoint state ------------------------------------------------------------------
    def _export(self):
        values = {"cma_lambda": self.lambda_, "cma_restarts": self.restarts,
                  "cma_sigma": self.sigma, "cma_updates": self.updates,
                  "cma_eigen_at": self.eigen_at, "cma_best_history": list(self.best_history)}
        arrays = {"cma_mean": self.mean, "cma_cov": self.cov, "cma_path_sigma": self.path_sigma,
                  "cma_path_c": self.path_c, "cma_eigen_basis": self.eigen_basis,
                  "cma_eigen_scales": self.eigen_scales, "cma_samples": self.samples}
        return values, arrays

    def _restore(self, values, arrays) -> None:
        self.restarts = int(values["cma_restarts"])
        self._start(int(values["cma_lambda"]), np.array(arrays["cma_mean"], dtype=float))
        self.best_history = [float(v) for v in values["cma_best_history"]]
        self.sigma = float(values["cma_sigma"])
        self.updates = int(values["cma_updates"])
        self.eigen_at = int(values["cma_eigen_at"])
        self.mean = np.array(arrays["cma_mean"], dtype=float)
        self.cov = np.array(arrays["cma_cov"], dtype=float)
        self.path_sigma = np.array(arrays["cma_path_sigma"], dtype=float)
        self.path_c = np.array(arrays["cma_path_c"], dtype=float)
        self.eigen_basis = np.array(arrays["cma_eigen_basis"], dtype=float)
        self.eigen_scales = np.array(arrays["cma_eigen_scales"], dtype=float)
        self.samples = np.array(arrays["cma_samples"], dtype=float)
