"""What a problem takes: its own settings, and the algorithm settings in force for its genome.

:func:`describe_problem` answers ``evoengine show PROBLEM`` (and ``evoengine run PROBLEM
--help``) as plain data, ready for a table or for ``--json``:

- the problem's settings, each with its type, default, range or choices and description;
- the algorithm settings that apply to the problem's genome kind, each with the value the run
  will use and where that value comes from (your settings, the problem's defaults, the engine's
  defaults, or derived from the genome, as the operators a genome kind gets by default are).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from typing import Any

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticUndefined

from evoengine import config
from evoengine.errors import ConfigError
from evoengine.registry import ProblemEntry

# Settings that only a choice of operator or algorithm uses: (the setting that chooses, the
# choices that use it). A parameter applies to a genome kind when one of those choices does.
USED_BY: dict[str, tuple[str, tuple[str, ...]]] = {
    "offspring_size": ("algorithm", ("mu_plus_lambda", "mu_comma_lambda")),
    "parents": ("algorithm", ("steady_state",)),
    "tournament_size": ("selection", ("tournament",)),
    "rank_pressure": ("selection", ("rank",)),
    "blend_alpha": ("crossover", ("blend",)),
    "swap_probability": ("crossover", ("uniform",)),
    "crossover_eta": ("crossover", ("sbx",)),
    "mutation_sigma": ("mutation", ("gaussian",)),
    "mutation_width": ("mutation", ("uniform", "uniform_one_gene")),
    "mutation_gene": ("mutation", ("uniform_one_gene",)),
    "mutation_eta": ("mutation", ("polynomial",)),
    "ray_address": ("backend", ("ray",)),
    "eval_cpus": ("backend", ("ray",)),
    "eval_gpus": ("backend", ("ray",)),
    "workers": ("backend", ("processes", "ray")),
    "batch_size": ("backend", ("processes", "ray")),
    "eval_timeout": ("backend", ("processes", "ray")),
    "max_retries": ("backend", ("processes", "ray")),
    "parsimony_size": ("bloat_control", ("double_tournament",)),
}
# Algorithm settings that genetic programming (tree genomes) does not read.
NOT_FOR_TREES = frozenset({
    "offspring_size", "parents", "selection", "rank_pressure", "blend_alpha", "swap_probability",
    "crossover_eta", "mutation_sigma", "mutation_width", "mutation_gene", "mutation_eta",
    "gene_probability", "bounds_strategy",
})
# Where the settings table groups a key: evaluation and checkpoints, stop criteria, the rest.
EVALUATION_KEYS = ("backend", "workers", "batch_size", "ray_address", "eval_cpus", "eval_gpus",
                   "on_error", "eval_timeout", "max_retries", "checkpoint_every", "observer")
STOP_KEYS = ("generations", "max_evaluations", "target_fitness", "stall_generations",
             "max_seconds")


def describe_problem(entry: ProblemEntry, values: Mapping[str, Any] | None = None
                     ) -> dict[str, Any]:
    """Describe ``entry`` as it would run with ``values`` (flat settings, as ``--set`` gives).

    A mistake in ``values`` raises :class:`~evoengine.errors.ConfigError`, as ``run`` would.
    When the problem cannot be built yet because a required setting is missing (``symbolic``
    without ``data``), the description still lists every setting, says what is missing under
    ``"unbuilt"``, and shows the engine's defaults for the algorithm.
    """
    from evoengine.run import prepare

    values = {k: v for k, v in (values or {}).items() if k != "problem"}
    problem_values, algorithm_values = config.split_settings(values, entry.settings)
    unbuilt = _missing_required(entry.settings, problem_values)
    prepared = None
    if unbuilt is None:
        try:
            prepared = prepare(entry, values)
        except ConfigError as exc:
            if any(key not in values for key in _named_settings(str(exc), entry.settings)):
                unbuilt = str(exc)  # the problem needs a setting the user has not given yet
            else:
                raise
    problem_settings = prepared.problem_settings if prepared else None
    out: dict[str, Any] = {
        "problem": entry.name,
        "plugin": entry.plugin,
        "summary": entry.summary,
        "about": _doc(entry.settings),
        "unbuilt": unbuilt,
        "problem_settings": [
            _field_row(name, field, getattr(problem_settings, name, None), problem_values,
                       built=prepared is not None)
            for name, field in entry.settings.model_fields.items()],
    }
    if prepared is None:
        model = config.AlgorithmSettings
        settings = config.validate(model, {k: v for k, v in algorithm_values.items()
                                           if k in model.model_fields})
        out.update(genome=None, objectives=[], notes=[], optimizer=None,
                   algorithm_settings=_algorithm_rows(settings, None, {}, algorithm_values))
        return out
    problem = prepared.problem
    genome = problem.genome
    own = problem.own_optimizer(prepared.settings)
    out["optimizer"] = None if own is None else {
        "name": type(own).__name__, "about": _first_line(type(own).__doc__)}
    out.update(
        genome={"kind": genome.kind, "length": int(genome.length),
                "low": _bound(genome.lower), "high": _bound(genome.upper)},
        objectives=[{"name": o.name, "sense": o.sense} for o in problem.objectives],
        notes=list(problem.notes),
        algorithm_settings=_algorithm_rows(prepared.settings, genome, problem.defaults,
                                           algorithm_values),
    )
    if own is not None:  # the problem brings its algorithm: the setting does not choose it
        for row in out["algorithm_settings"]:
            if row["name"] == "algorithm":
                row["used"] = False
    return out


def _first_line(doc: str | None) -> str:
    """A docstring's first paragraph as plain text (Sphinx roles and literals unwrapped)."""
    text = " ".join((doc or "").strip().split("\n\n")[0].split()).replace("``", "")
    return re.sub(r":\w+:`~?([^`]+)`", r"\1", text)


def _named_settings(message: str, model: type[BaseModel]) -> list[str]:
    return [name for name in model.model_fields if f"'{name}'" in message]


def _missing_required(model: type[BaseModel], values: Mapping[str, Any]) -> str | None:
    """The 'required' message when only missing keys stop ``model`` from validating."""
    try:
        model.model_validate(dict(values))
    except ValidationError as exc:
        errors = exc.errors()
        if all(e["type"] == "missing" for e in errors):
            keys = ", ".join(repr(".".join(map(str, e["loc"]))) for e in errors)
            return f"setting {keys} is required; the problem is built once it is given"
        raise ConfigError(config.describe_validation_error(exc)) from None
    return None


def _doc(model: type[BaseModel]) -> str:
    doc = model.__doc__ or ""
    if doc.strip() == (BaseModel.__doc__ or "").strip():
        return ""
    return " ".join(doc.replace("``", "").split())


def _bound(values) -> float | list[float] | None:
    values = [float(v) for v in values]
    if not values:
        return None
    if all(v == values[0] for v in values):
        return values[0] if abs(values[0]) != float("inf") else None
    return values


def _algorithm_rows(settings: config.AlgorithmSettings, genome, problem_defaults: Mapping,
                    user_values: Mapping[str, Any]) -> list[dict[str, Any]]:
    kind = genome.kind if genome is not None else None
    in_force = settings.model_dump()
    chosen = set(user_values) | set(problem_defaults)
    derived = derived_values(settings, genome, chosen) if genome is not None else {}
    rows = []
    for name, field in type(settings).model_fields.items():
        if kind == "tree" and name in NOT_FOR_TREES:
            continue
        choices = _choices(field.annotation)
        if name in ("crossover", "mutation") and kind not in (None, "tree"):
            choices = _operators_for_kind(name, kind)
        if not _applies(name, kind):
            continue
        value = in_force[name]
        if name in user_values:
            source = "yours"
        elif name in derived:
            value, source = derived[name], "derived"
        elif name in problem_defaults:
            source = "problem"
        else:
            source = "engine"
        row = _field_row(name, field, value, {}, built=True)
        row.update(choices=choices or row["choices"], source=source,
                   group=_group(name), used=_in_use(name, {**in_force, **derived}))
        rows.append(row)
    return rows


def derived_values(settings: config.AlgorithmSettings, genome, chosen: set[str]
                   ) -> dict[str, Any]:
    """Values the engine works out for settings nobody chose (``chosen``: the user's keys and
    the problem's defaults): the operators a genome kind gets, the Gaussian sigma and the
    per-gene mutation chance (see ``resolve_operators``), and lambda."""
    from evoengine.algorithms.variation import resolve_operators

    resolved = resolve_operators(settings, genome)
    fields = type(resolved).model_fields
    out = {key: getattr(resolved, key) for key in resolved.model_fields_set - chosen
           if getattr(resolved, key) != fields[key].default}
    if resolved.offspring_size is None:
        out["offspring_size"] = resolved.population_size
    return out


def _operators_for_kind(key: str, kind: str) -> list[str]:
    from evoengine.algorithms.variation import CROSSOVERS, MUTATIONS

    table = CROSSOVERS if key == "crossover" else MUTATIONS
    return [name for name, kinds in table.items() if kind in kinds]


def _applies(name: str, kind: str | None) -> bool:
    """Whether setting ``name`` can matter for a genome of ``kind`` (an operator parameter
    matters when one of the operators it belongs to suits the kind)."""
    if kind in (None, "tree") or name not in USED_BY:
        return True
    chooser, users = USED_BY[name]
    if chooser in ("crossover", "mutation"):
        return any(u in _operators_for_kind(chooser, kind) for u in users)
    return True


def _in_use(name: str, in_force: Mapping[str, Any]) -> bool:
    if name not in USED_BY:
        return True
    chooser, users = USED_BY[name]
    return chooser in in_force and in_force[chooser] in users


def _group(name: str) -> str:
    if name in EVALUATION_KEYS:
        return "evaluation"
    if name in STOP_KEYS:
        return "stop"
    return "algorithm"


def _field_row(name: str, field, value: Any, given: Mapping[str, Any], *, built: bool
               ) -> dict[str, Any]:
    if field.default is not PydanticUndefined:
        default = field.default
    elif field.default_factory is not None:
        default = field.default_factory()
    else:
        default = None
    required = field.is_required()
    return {
        "name": name,
        "type": type_name(field.annotation),
        "default": _plain(default),
        "required": required,
        "value": _plain(value if built else given.get(name, default)),
        "choices": _choices(field.annotation),
        "range": range_text(field.metadata),
        "description": field.description or "",
    }


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _choices(annotation: Any) -> list[Any]:
    """The fixed values a setting takes (a Literal, possibly optional or in a list)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return list(typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType, list):
        for arg in typing.get_args(annotation):
            found = _choices(arg)
            if found:
                return found
    return []


def type_name(annotation: Any) -> str:
    """A reader's name for a settings type: ``int``, ``float or none``, ``list of text``,
    ``[float, float]``, ``choice``."""
    if annotation is type(None):
        return "none"
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "choice"
    if origin in (typing.Union, types.UnionType):
        parts = [a for a in typing.get_args(annotation) if a is not type(None)]
        text = " or ".join(type_name(a) for a in parts)
        return f"{text} or none" if len(parts) < len(typing.get_args(annotation)) else text
    if origin is list:
        (arg,) = typing.get_args(annotation) or (Any,)
        inner = type_name(arg)
        return "list of choices" if inner == "choice" else f"list of {inner}"
    if origin is tuple:
        return "[" + ", ".join(type_name(a) for a in typing.get_args(annotation)) + "]"
    if annotation is str:
        return "text"
    return getattr(annotation, "__name__", str(annotation))


def range_text(metadata: list[Any]) -> str:
    """``>= 1``, ``0 .. 1``, ``> 0``, ``at least 1 item`` from pydantic's field constraints."""
    low = high = None
    low_open = high_open = False
    items = []
    for m in metadata:
        if isinstance(m, annotated_types.Ge):
            low = m.ge
        elif isinstance(m, annotated_types.Gt):
            low, low_open = m.gt, True
        elif isinstance(m, annotated_types.Le):
            high = m.le
        elif isinstance(m, annotated_types.Lt):
            high, high_open = m.lt, True
        elif isinstance(m, annotated_types.MinLen):
            items.append(f"at least {m.min_length} item{'s' if m.min_length != 1 else ''}")
        elif isinstance(m, annotated_types.MaxLen):
            items.append(f"at most {m.max_length} items")
    text = ""
    if low is not None and high is not None:
        text = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    elif low is not None:
        text = f"{'>' if low_open else '>='} {low:g}"
    elif high is not None:
        text = f"{'<' if high_open else '<='} {high:g}"
    return ", ".join([t for t in [text, *items] if t])


# --- the tables of `evoengine show` ------------------------------------------------------
_GROUP_TITLES = {"algorithm": "algorithm and operators", "stop": "when to stop",
                 "evaluation": "evaluation and checkpoints"}


def _shown(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return str(value)


def print_description(console_, d: dict[str, Any]) -> None:
    """Print :func:`describe_problem`'s description as ``evoengine show``'s tables on a rich
    console."""
    from rich.markup import escape
    from rich.table import Table

    console_.print(f"[bold]{escape(d['problem'])}[/] (plugin {escape(d['plugin'])}): "
                   f"{escape(d['summary'])}", highlight=False)
    if d["about"]:
        console_.print(escape(d["about"]), highlight=False)
    if d["genome"]:
        g = d["genome"]
        bounds = ("" if g["low"] is None and g["high"] is None
                  else f" in [{_shown(g['low'])}, {_shown(g['high'])}]")
        objectives = ", ".join(f"{o['name']} ({o['sense']})" for o in d["objectives"])
        console_.print(f"genome: {g['kind']}, {g['length']} genes{bounds}; "
                       f"objectives: {escape(objectives)}", highlight=False)
    if d.get("optimizer"):
        own = d["optimizer"]
        console_.print(f"algorithm: the problem's own, {escape(own['name'])}: "
                       f"{escape(own['about'])}", highlight=False)
    for note in d["notes"]:
        console_.print(f"[cyan]note:[/] {escape(note)}", highlight=False)
    if d["unbuilt"]:
        console_.print(f"[yellow]{escape(d['unbuilt'])}[/]; the algorithm settings below are "
                       "the engine's defaults", highlight=False)

    table = Table(title="problem settings", title_justify="left")
    for column in ("setting", "type", "value", "range or choices", "description"):
        table.add_column(column, overflow="fold")
    for row in d["problem_settings"]:
        value = "[red]required[/]" if row["required"] and row["value"] is None else escape(
            _shown(row["value"]))
        table.add_row(row["name"], escape(row["type"]), value, escape(_limits(row)),
                      escape(row["description"]))
    if not d["problem_settings"]:
        table.add_row("-", "", "", "", "this problem has no settings of its own")
    console_.print(table)

    table = Table(title="algorithm settings in force (from: yours, the problem's defaults, "
                  "the engine's, or derived from the genome)", title_justify="left")
    for column in ("setting", "value", "from", "range or choices", "description"):
        table.add_column(column, overflow="fold")
    for group, title in _GROUP_TITLES.items():
        rows = [r for r in d["algorithm_settings"] if r["group"] == group]
        if not rows:
            continue
        table.add_row(f"[bold]{title}[/]", "", "", "", "")
        for row in rows:
            style = None if row["used"] else "dim"
            description = row["description"] + ("" if row["used"] else " (not used now)")
            table.add_row(row["name"], escape(_shown(row["value"])), row["source"],
                          escape(_limits(row)), escape(description), style=style)
        if group != list(_GROUP_TITLES)[-1]:
            table.add_section()
    console_.print(table)


def _limits(row: dict[str, Any]) -> str:
    if row["choices"]:
        return ", ".join(map(str, row["choices"]))
    return row["range"]
