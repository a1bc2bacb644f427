"""Maximize or minimize any expression the user writes, within bounds.

The expression is parsed (never ``eval``-ed) into a program that a compiled kernel evaluates
over the whole population at once: each individual is one data point, its genes the variables
``x1 .. xN``.
"""

from __future__ import annotations

import numpy as np

from evoengine import ConfigError, Genome, Objective, Problem
from evoengine.gp import evaluate_program, parse_expression

EXPRESSION_DEFAULTS = {
    "algorithm": "ea_simple",
    "population_size": 200,
    "generations": 200,
    "selection": "tournament",
    "tournament_size": 3,
    "crossover": "blend",
    "crossover_probability": 0.7,
    "mutation": "gaussian",
    "mutation_probability": 0.3,
}


class ExpressionProblem(Problem):
    def __init__(self, expression: str, low, high, sense="maximize") -> None:
        self.program = parse_expression(expression)
        if not self.program.variables:
            raise ConfigError("setting 'expression': it has no variables (x1, x2, ...) to "
                              "optimize")
        self.expression = expression
        super().__init__(
            genome=Genome("real", len(self.program.variables), low, high),
            objectives=(Objective("y", sense),),
            defaults=dict(EXPRESSION_DEFAULTS),
        )

    def evaluate(self, genomes: np.ndarray) -> np.ndarray:
        return evaluate_program(self.program, genomes)[:, None]

    def describe(self, genome):
        return {"expression": self.expression,
                **{name: float(v) for name, v in zip(self.program.variables, genome,
                                                      strict=True)}}
