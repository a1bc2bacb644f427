"""Run settings: one flat namespace of keys, read from TOML and ``--set key=value``.

Keys belong either to the algorithm (:class:`AlgorithmSettings`) or to the problem (its own
pydantic model). Precedence, lowest first: the problem's defaults, the TOML file, ``--set``.
Every error names the key and, where there is a fixed set, the valid choices.
"""

from __future__ import annotations

import difflib
import tomllib
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, ValidationError, field_validator,
                      model_validator)

from evoengine.errors import ConfigError
from evoengine.limits import check_memory  # noqa: F401 - plugins check their sizes with it

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
# Parallel evaluations of one run, a Ray cluster's included; the processes backend also
# keeps to a few per core of this machine (evoengine.backends.processes).
MAX_WORKERS = 4096
# Settings are numbers, text and short lists: nothing a user means is nested deeper, and
# deeper values (TOML arrays in arrays) only serve to exhaust the parser's recursion.
MAX_NESTING = 8
MAX_VALUE_LENGTH = 100_000  # characters of one --set value
CONFIG_FILE_LIMIT = 1 << 20  # bytes of a -c settings file
OnError = Literal["stop", "mark_failed"]
Observer = Literal["tensorboard"]  # evoengine.observers


class AlgorithmSettings(BaseModel):
    """Settings of the evolutionary algorithm and its built-in operators."""

    # allow_inf_nan: blend_alpha=inf or mutation_sigma=nan would silently fill genomes with NaN.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    algorithm: Algorithm = Field("ea_simple", description="how each generation is made from the last")
    population_size: int = Field(100, ge=2, description="mu for the (mu, lambda) schemes")
    generations: int = Field(100, ge=0, description="generations after the first")
    offspring_size: int | None = Field(
        None, ge=1, description="lambda; defaults to population_size (cma_es: 4 + 3 ln n)"
    )
    parents: int = Field(4, ge=1, description="parents kept by steady_state")
    crossover_probability: float = Field(0.8, ge=0.0, le=1.0,
                                         description="chance a pair of parents is crossed")
    mutation_probability: float = Field(0.2, ge=0.0, le=1.0,
                                        description="chance a child is mutated")
    selection: Selection = Field("tournament", description="how parents are chosen")
    tournament_size: int = Field(3, ge=1, description="contestants per tournament")
    crossover: Crossover = Field("one_point", description="how two parents mix; unset: the "
                                 "genome kind's own")
    blend_alpha: float = Field(0.5, ge=0.0, description="blend crossover: how far past the "
                               "parents a child may land")
    mutation: Mutation = Field("gaussian", description="how a child changes; unset: the genome "
                               "kind's own")
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
    bounds_strategy: BoundsStrategy = Field("clip", description="what happens to a gene "
                                            "pushed past its bounds")
    elitism: int = Field(0, ge=0, description="best rows copied unchanged into the next generation")
    max_evaluations: int | None = Field(None, ge=1, description="stop after this many evaluations")
    target_fitness: float | None = Field(
        None, description="stop once the best reaches it (first objective, in its sense)")
    stall_generations: int | None = Field(
        None, ge=1, description="stop after this many generations without a better best")
    max_seconds: float | None = Field(None, gt=0.0, description="stop after this wall time")
    hall_of_fame_size: int = Field(5, ge=1, description="best solutions kept over the run")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="the same seed gives the "
                             "same run; unset: drawn and recorded")
    # Evaluation and checkpoints: evoengine.backends, evoengine.checkpoint.
    backend: Backend = Field("serial", description="where fitness is computed")
    workers: int | None = Field(None, ge=1, le=MAX_WORKERS, description="processes/ray: "
                                "parallel evaluations; default: every core")
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
    # Observers: evoengine.observers (one name, or a list).
    observer: list[Observer] = Field([], description="watch the run as it goes: tensorboard "
                                     "writes RUN_FOLDER/tensorboard (pip install "
                                     "'evoengine[tensorboard]')")

    @field_validator("observer", mode="before")
    @classmethod
    def _one_observer(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check_sizes(self) -> AlgorithmSettings:
        # Each draw of a tournament costs a step: a billion-row tournament never ends, and one
        # larger than the rows it draws from (with replacement) only repeats them.
        pool = max(self.population_size, self.lambda_, 64)
        if self.tournament_size > pool:
            raise ValueError(f"tournament_size ({self.tournament_size}) must be at most "
                             f"{pool}, the larger of population_size, offspring_size and 64")
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

    algorithm: Literal["gp"] = Field("gp", description="genetic programming")
    crossover: Literal["subtree"] = Field("subtree", description="swap a subtree of each parent")
    mutation: list[TreeMutation] = Field(
        ["subtree", "point", "hoist", "shrink", "ephemeral"], min_length=1,
        description="each mutated tree gets one of these, drawn uniformly")
    elitism: int = Field(1, ge=0, description="best trees copied unchanged into the next "
                         "generation")
    init_method: Literal["half_and_half", "full", "grow"] = Field(
        "half_and_half", description="how the first trees are grown")
    init_min_depth: int = Field(1, ge=0, description="smallest depth of the first trees")
    init_max_depth: int = Field(4, ge=0, description="largest depth of the first trees")
    max_depth: int = Field(17, ge=1, description="deeper children are replaced by a parent")
    max_size: int | None = Field(None, ge=1, description="nodes per tree; default: the "
                                 "problem's")
    mutation_depth: int = Field(2, ge=0, description="height of subtrees grown by mutation")
    bloat_control: Literal["lexicographic", "double_tournament", "none"] = Field(
        "lexicographic", description="how smaller trees are favoured")
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


def _nesting(value: Any) -> int:
    """How deeply lists and tables nest in ``value``, without recursion: each list or table is
    one level, empty or not (``[]``: 1, ``[[1]]``: 2); a number or text is 0."""
    deepest, pending = 0, [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (list, dict)):
            depth += 1
            deepest = max(deepest, depth)
            if depth <= MAX_NESTING:  # deeper is refused anyway: stop looking
                pending.extend((child, depth)
                               for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _too_deep(where: str) -> ConfigError:
    """The one refusal of values nested past ``MAX_NESTING``, however the depth was found."""
    return ConfigError(f"{where} nests lists or tables more than {MAX_NESTING} deep")


def _toml(text: str, where: str) -> dict[str, Any]:
    """``tomllib.loads`` with every way it can fail as one ConfigError naming ``where``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML: {exc}") from None
    except (RecursionError, MemoryError):  # arrays in arrays, hundreds deep
        raise _too_deep(where) from None
    except ValueError as exc:  # an integer of thousands of digits
        raise ConfigError(f"{where} cannot be read: {exc}".split(";")[0]) from None


def parse_value(raw: str, key: str = "value") -> Any:
    """A ``--set`` value: a TOML value when it parses as one (``3``, ``[-4, 4]``, ``true``),
    else the plain string (``4*x1 - 2*x2``).

    :raises ConfigError: the value is longer than ``MAX_VALUE_LENGTH`` or nests deeper than
        ``MAX_NESTING``.
    """
    if len(raw) > MAX_VALUE_LENGTH:
        raise ConfigError(f"setting {key!r}: the value is {len(raw)} characters long; the "
                          f"limit is {MAX_VALUE_LENGTH}")
    if "\n" in raw or "\r" in raw:  # one line: a newline would let the value set other keys
        return raw
    try:
        value = _toml(f"value = {raw}", f"setting {key!r}")["value"]
    except ConfigError as exc:
        if "not valid TOML" in str(exc):
            return raw
        raise
    if _nesting(value) > MAX_NESTING:
        raise _too_deep(f"setting {key!r}")
    return value


def parse_assignments(items: Iterable[str]) -> dict[str, Any]:
    """``["key=value", ...]`` from the command line into a dict."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {_shown(item)}")
        out[key.strip()] = parse_value(raw.strip(), key.strip())
    return out


def read_toml(path: str | Path) -> dict[str, Any]:
    """A flat settings table; ``[algorithm]`` and ``[problem]`` tables are merged into it.

    Only a regular UTF-8 file of at most ``CONFIG_FILE_LIMIT`` bytes is read (not a FIFO, a
    device or a directory). The file may name a Python class to import (``game=python:...``),
    so it is as trusted as code.
    """
    from evoengine.io import read_input_text

    where = f"config file {str(path)!r}"
    data = _toml(read_input_text(path, "config file", CONFIG_FILE_LIMIT), where)
    if _nesting(data) > MAX_NESTING:
        raise _too_deep(where)
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


def _accepts_bool(annotation: Any) -> bool:
    return annotation is bool or any(_accepts_bool(a) for a in typing.get_args(annotation))


def validate(model: type[BaseModel], values: Mapping[str, Any]) -> BaseModel:
    """Build ``model`` from ``values``; a failure becomes one ConfigError line naming the key.

    ``true`` and ``false`` are refused where no bool is expected (pydantic would read
    ``generations=true`` as 1).
    """
    for key, value in values.items():
        field = model.model_fields.get(key)
        if isinstance(value, bool) and field is not None and not _accepts_bool(field.annotation):
            raise ConfigError(f"setting {key!r}: expected a {_kind_of(field.annotation)}, got "
                              f"{str(value).lower()}")
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


def _kind_of(annotation: Any) -> str:
    names = {getattr(a, "__name__", "") for a in (annotation, *typing.get_args(annotation))}
    return "whole number" if "int" in names else "number" if "float" in names else "value"


def _shown(value: Any, width: int = 80) -> str:
    """``repr(value)``, cut to ``width`` characters: an error stays one readable line."""
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "settings"
        message = err["msg"].removeprefix("Value error, ")
        if "input" in err and err["type"] not in ("missing",) and err["loc"]:
            parts.append(f"setting {key!r}: {message} (got {_shown(err['input'])})")
        else:
            parts.append(f"{'setting ' + repr(key) + ': ' if err['loc'] else ''}{message}")
    return "; ".join(parts)
