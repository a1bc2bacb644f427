"""Run settings: one flat namespace of keys, read from TOML and ``--set key=value``.

Keys belong either to the algorithm (:class:`AlgorithmSettings`) or to the problem (its own
pydantic model). Precedence, lowest first: the problem's defaults, the TOML file, ``--set``.
Every error names the key and, where there is a fixed set, the valid choices.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evoengine.errors import ConfigError

Algorithm = Literal["ea_simple", "mu_plus_lambda", "mu_comma_lambda", "steady_state", "nsga2",
                    "cma_es"]
Selection = Literal["tournament", "best", "roulette", "sus", "rank", "random"]
# Which genome kinds each accepts: evoengine.algorithms.variation.CROSSOVERS / MUTATIONS.
Crossover = Literal["one_point", "midpoint", "two_point", "uniform", "blend", "arithmetic", "sbx",
                    "pmx", "ordered", "cycle"]
Mutation = Literal["gaussian", "uniform", "uniform_one_gene", "polynomial", "reset",
                   "uniform_int", "bit_flip", "swap", "inversion", "scramble", "insertion"]
BoundsStrategy = Literal["clip", "reflect", "resample"]
Backend = Literal["serial", "processes", "ray"]  # evoengine.backends
OnError = Literal["stop", "mark_failed"]


class AlgorithmSettings(BaseModel):
    """Settings of the evolutionary algorithm and its built-in operators."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    algorithm: Algorithm = "ea_simple"
    population_size: int = Field(100, ge=2, description="mu for the (mu, lambda) schemes")
    generations: int = Field(100, ge=0)
    offspring_size: int | None = Field(
        None, ge=1, description="lambda; defaults to population_size (cma_es: 4 + 3 ln n)"
    )
    parents: int = Field(4, ge=1, description="parents kept by steady_state")
    crossover_probability: float = Field(0.8, ge=0.0, le=1.0)
    mutation_probability: float = Field(0.2, ge=0.0, le=1.0)
    selection: Selection = "tournament"
    tournament_size: int = Field(3, ge=1)
    crossover: Crossover = "one_point"
    blend_alpha: float = Field(0.5, ge=0.0)
    mutation: Mutation = "gaussian"
    mutation_sigma: float | None = Field(
        None, gt=0.0, description="Gaussian sigma; defaults to a tenth of the bounds' width"
    )
    mutation_width: float = Field(1.0, gt=0.0, description="uniform mutation adds U(-w, w)")
    cma_sigma: float | None = Field(
        None, gt=0.0, description="cma_es: initial step size; defaults to 0.3 of the bounds' "
        "mean width")
    gene_probability: float | None = Field(
        None, ge=0.0, le=1.0, description="chance each gene mutates; defaults to 1/length"
    )
    mutation_gene: int | None = Field(
        None, ge=1, description="uniform_one_gene: the gene (1-based); random when unset"
    )
    rank_pressure: float = Field(1.5, ge=1.0, le=2.0, description="rank selection: best/mean")
    swap_probability: float = Field(0.5, ge=0.0, le=1.0, description="uniform crossover")
    crossover_eta: float = Field(20.0, gt=0.0, description="sbx spread (large: near parents)")
    mutation_eta: float = Field(20.0, gt=0.0, description="polynomial mutation spread")
    bounds_strategy: BoundsStrategy = "clip"
    elitism: int = Field(0, ge=0, description="best rows copied unchanged into the next generation")
    max_evaluations: int | None = Field(None, ge=1, description="stop after this many evaluations")
    target_fitness: float | None = Field(
        None, description="stop once the best reaches it (first objective, in its sense)")
    stall_generations: int | None = Field(
        None, ge=1, description="stop after this many generations without a better best")
    max_seconds: float | None = Field(None, gt=0.0, description="stop after this wall time")
    hall_of_fame_size: int = Field(5, ge=1)
    seed: int | None = None
    # Evaluation and checkpoints: evoengine.backends, evoengine.checkpoint.
    backend: Backend = "serial"
    workers: int | None = Field(None, ge=1, description="processes/ray: parallel evaluations; "
                                "default: every core")
    batch_size: int | None = Field(None, ge=1, description="individuals per task sent to a "
                                   "worker; default: about four tasks per worker")
    ray_address: str | None = Field(None, description="ray: 'auto', a cluster address, or "
                                    "unset to start a local Ray")
    eval_cpus: float = Field(1.0, gt=0.0, description="ray: CPUs each task asks for")
    eval_gpus: float = Field(0.0, ge=0.0, description="ray: GPUs each task asks for (1: one "
                             "task per GPU)")
    on_error: OnError = Field("stop", description="a fitness that raises: stop the run, or "
                              "mark the individual failed and go on")
    eval_timeout: float | None = Field(None, gt=0.0, description="processes/ray: seconds one "
                                       "evaluation may take before it is marked failed")
    max_retries: int = Field(2, ge=0, description="retries of an individual whose worker died")
    checkpoint_every: int = Field(10, ge=0, description="generations between checkpoints of a "
                                  "CLI run (0: only on Ctrl-C)")

    @model_validator(mode="after")
    def _check_sizes(self) -> AlgorithmSettings:
        if self.algorithm == "mu_comma_lambda" and self.lambda_ < self.population_size:
            raise ValueError(
                f"offspring_size ({self.lambda_}) must be at least population_size "
                f"({self.population_size}) for mu_comma_lambda"
            )
        if (self.algorithm in ("mu_plus_lambda", "mu_comma_lambda")
                and self.crossover_probability + self.mutation_probability > 1.0):
            raise ValueError(
                "crossover_probability + mutation_probability must be at most 1 for "
                f"{self.algorithm} (each child is made by one of them)"
            )
        if self.elitism >= self.population_size:
            raise ValueError(
                f"elitism ({self.elitism}) must be less than population_size "
                f"({self.population_size})"
            )
        if self.algorithm == "steady_state" and self.parents >= self.population_size:
            raise ValueError(
                f"parents ({self.parents}) must be less than population_size "
                f"({self.population_size}) for steady_state"
            )
        return self

    @model_validator(mode="after")
    def _check_backend(self) -> AlgorithmSettings:
        if self.eval_timeout is not None and self.backend == "serial":
            raise ValueError("setting 'eval_timeout' needs backend 'processes' or 'ray': a hung "
                             "evaluation can only be stopped by ending its process")
        return self

    @property
    def lambda_(self) -> int:
        return self.offspring_size or self.population_size


TreeMutation = Literal["subtree", "point", "hoist", "shrink", "ephemeral"]


class GPSettings(AlgorithmSettings):
    """Settings of genetic programming (problems whose genome kind is ``"tree"``)."""

    algorithm: Literal["gp"] = "gp"
    crossover: Literal["subtree"] = "subtree"
    mutation: list[TreeMutation] = Field(
        ["subtree", "point", "hoist", "shrink", "ephemeral"], min_length=1,
        description="each mutated tree gets one of these, drawn uniformly")
    elitism: int = Field(1, ge=0, description="best trees copied unchanged into the next "
                         "generation")
    init_method: Literal["half_and_half", "full", "grow"] = "half_and_half"
    init_min_depth: int = Field(1, ge=0)
    init_max_depth: int = Field(4, ge=0)
    max_depth: int = Field(17, ge=1, description="deeper children are replaced by a parent")
    max_size: int | None = Field(None, ge=1, description="nodes per tree; default: the "
                                 "problem's")
    mutation_depth: int = Field(2, ge=0, description="height of subtrees grown by mutation")
    bloat_control: Literal["lexicographic", "double_tournament", "none"] = "lexicographic"
    parsimony_size: float = Field(1.4, ge=1.0, le=2.0,
                                  description="double tournament: pressure towards small trees")

    @model_validator(mode="before")
    @classmethod
    def _one_mutation(cls, values: Any) -> Any:
        if isinstance(values, dict) and isinstance(values.get("mutation"), str):
            values = {**values, "mutation": [values["mutation"]]}
        return values

    @model_validator(mode="after")
    def _check_depths(self) -> GPSettings:
        if self.init_min_depth > self.init_max_depth:
            raise ValueError(f"init_min_depth ({self.init_min_depth}) is greater than "
                             f"init_max_depth ({self.init_max_depth})")
        return self


def parse_value(raw: str) -> Any:
    """A ``--set`` value: a TOML value when it parses as one (``3``, ``[-4, 4]``, ``true``),
    else the plain string (``4*x1 - 2*x2``)."""
    try:
        return tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        return raw


def parse_assignments(items: Iterable[str]) -> dict[str, Any]:
    """``["key=value", ...]`` from the command line into a dict."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {item!r}")
        out[key.strip()] = parse_value(raw.strip())
    return out


def read_toml(path: str | Path) -> dict[str, Any]:
    """A flat settings table; ``[algorithm]`` and ``[problem]`` tables are merged into it."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("algorithm", "problem") and isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    return flat


def split_settings(
    values: Mapping[str, Any], problem_model: type[BaseModel]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split flat settings into (problem, algorithm) parts; unknown keys are an error."""
    problem_keys = set(problem_model.model_fields)
    algorithm_keys = set(GPSettings.model_fields)  # a superset of AlgorithmSettings'
    problem, algorithm = {}, {}
    for key, value in values.items():
        if key in problem_keys:
            problem[key] = value
        elif key in algorithm_keys:
            algorithm[key] = value
        else:
            valid = sorted(problem_keys | algorithm_keys)
            close = difflib.get_close_matches(key, valid, n=3)
            hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
            raise ConfigError(f"unknown setting {key!r}; {hint}valid settings: {', '.join(valid)}")
    return problem, algorithm


def validate(model: type[BaseModel], values: Mapping[str, Any]) -> BaseModel:
    """Build ``model`` from ``values``; a failure becomes one ConfigError line naming the key."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "settings"
        message = err["msg"].removeprefix("Value error, ")
        if "input" in err and err["type"] not in ("missing",) and err["loc"]:
            parts.append(f"setting {key!r}: {message} (got {err['input']!r})")
        else:
            parts.append(f"{'setting ' + repr(key) + ': ' if err['loc'] else ''}{message}")
    return "; ".join(parts)
