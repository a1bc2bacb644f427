"""Programs (expression trees) as arrays, parsed from text and evaluated by compiled kernels."""

from evoengine.gp.evaluate import evaluate_program
from evoengine.gp.parse import parse_expression
from evoengine.gp.program import OPCODE, OPS, Program

__all__ = ["OPCODE", "OPS", "Program", "evaluate_program", "parse_expression"]
