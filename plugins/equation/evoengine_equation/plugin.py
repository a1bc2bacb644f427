"""The equation plugin's hooks and settings."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

import evoengine
from evoengine.errors import ConfigError
from evoengine_equation.expression import ExpressionProblem
from evoengine_equation.functions import TEST_FUNCTIONS, TestFunctionProblem
from evoengine_equation.symbolic import SymbolicRegression, SymbolicSettings
from evoengine_equation.tutorial import TUTORIAL_INPUTS, WeightedSum

Bounds = tuple[float, float]


def _check_bounds(value):
    if value is None:
        return value
    if len(value) != 2:
        raise ValueError("give bounds as [low, high]")
    low, high = value
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("give finite bounds")
    if low > high:
        raise ValueError(f"low {low} is greater than high {high}")
    return value


class EquationSettings(BaseModel):
    """``equation``: the tutorial's weighted sum, or any expression when one is given."""

    model_config = ConfigDict(extra="forbid")

    expression: str | None = Field(
        None, description="e.g. '4*x1 - 2*x2'; unset: the tutorial's equation")
    inputs: list[float] = Field(list(TUTORIAL_INPUTS), min_length=1,
                                description="tutorial mode: the x values")
    bounds: Bounds | None = Field(None, description="[low, high] for every gene")
    sense: Literal["maximize", "minimize"] = "maximize"

    _bounds = field_validator("bounds")(_check_bounds)


class FunctionSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dimension: int = Field(10, ge=1)
    bounds: Bounds | None = Field(None, description="[low, high]; the function's own if unset")

    _bounds = field_validator("bounds")(_check_bounds)


def build_equation(s: EquationSettings):
    low, high = s.bounds if s.bounds is not None else (None, None)
    if s.expression is None:
        if s.bounds is None:
            return WeightedSum(s.inputs, sense=s.sense)
        return WeightedSum(s.inputs, low, high, sense=s.sense)
    if s.bounds is None:
        raise ConfigError("setting 'bounds' is required with an expression, e.g. "
                          "--set bounds=[-4,4]")
    return ExpressionProblem(s.expression, low, high, s.sense)


def _function_factory(name):
    def build(s: FunctionSettings):
        low, high = s.bounds if s.bounds is not None else (None, None)
        return TestFunctionProblem(TEST_FUNCTIONS[name], s.dimension, low, high)

    return build


@evoengine.hookimpl
def evoengine_register_problems(registry):
    registry.add("equation", build_equation, settings=EquationSettings,
                 summary="maximize the tutorial's weighted sum, or any expression in bounds")
    registry.add("symbolic", SymbolicRegression, settings=SymbolicSettings,
                 summary="discover a formula for one column of a CSV file (genetic programming)")
    for name, function in TEST_FUNCTIONS.items():
        registry.add(name, _function_factory(name), settings=FunctionSettings,
                     summary=f"{name} function (minimize): {function.summary}")
