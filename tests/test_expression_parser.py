"""The expression parser (evoengine.gp.parse): what it reads, the program it builds, and one
exact error line for everything it refuses. Expressions are parsed, never eval-ed."""

import math
import re

import numpy as np
import pytest

from evoengine.errors import ConfigError
from evoengine.gp import evaluate_program, parse_expression
from evoengine.gp.parse import FUNCTIONS

EXPRESSIONS = [
    ("4*x1 - 2*x2 + 3.5*x3", lambda x1, x2, x3: 4 * x1 - 2 * x2 + 3.5 * x3),
    ("x1**2 + x2^3 - -x3", lambda x1, x2, x3: x1**2 + x2**3 + x3),
    ("sin(x1) * cos(pi*x2) / (1 + abs(x3))",
     lambda x1, x2, x3: math.sin(x1) * math.cos(math.pi * x2) / (1 + abs(x3))),
    ("max(x1, x2) - min(x2, x3) + exp(-x1*x1) + tanh(x3) + sqrt(abs(x2)) + log(1 + x1*x1)",
     lambda x1, x2, x3: max(x1, x2) - min(x2, x3) + math.exp(-x1 * x1) + math.tanh(x3)
     + math.sqrt(abs(x2)) + math.log(1 + x1 * x1)),
    ("x1 - x2 - x3", lambda x1, x2, x3: x1 - x2 - x3),
    ("x1 / x2 / x3", lambda x1, x2, x3: x1 / x2 / x3),
    ("protectedDiv(add(x1, x3), mul(x2, 2))", lambda x1, x2, x3: (x1 + x3) / (x2 * 2)),
]


@pytest.mark.parametrize("text, reference", EXPRESSIONS)
def test_expression_matches_python_arithmetic(text, reference):
    data = np.random.default_rng(0).uniform(0.5, 3.0, size=(64, 3))
    program = parse_expression(text, variables=("x1", "x2", "x3"))
    got = evaluate_program(program, data)
    want = [reference(*row) for row in data]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_failed_arithmetic_gives_nan_or_inf_not_a_crash():
    program = parse_expression("x1 / x2 + log(x2) + sqrt(x2)")
    got = evaluate_program(program, np.array([[1.0, 0.0], [1.0, -1.0], [1.0, 4.0]]))
    assert not np.isfinite(got[:2]).any() and np.isfinite(got[2])


@pytest.mark.parametrize("text, message", [
    ("4*x1 + foo", "unknown name 'foo'"),
    ("4*x1 + bar(x2)", "unknown function 'bar'"),
    ("4*x1 +", "syntax error at column"),
    ("x0 + x1", "unknown name 'x0'"),
    ("x1 if x2 else x3", "IfExp is not allowed"),
    ("__import__('os')", "unknown function '__import__'"),
    ("x1.real", "Attribute is not allowed"),
    ("sin(x1, x2)", "sin() takes 1 argument"),
    ("'a' + x1", "'a' is not a number"),
    ("x1 < x2", "Compare is not allowed"),
])
def test_bad_expressions_name_the_problem(text, message):
    with pytest.raises(ConfigError) as err:
        parse_expression(text)
    assert message in str(err.value) and "\n" not in str(err.value)


FUNCTION_LIST = ", ".join(sorted(FUNCTIONS))  # the message lists them all, sorted


@pytest.mark.parametrize("text, message", [
    ("", "the expression is empty"),
    ("   ", "the expression is empty"),
    ("x1 +", "syntax error at column 1 of 'x1 +': invalid syntax"),
    ("1" * 5000, "syntax error at column 1 of '" + "1" * 60 + "'...: a number has too many "
                 "digits"),
    ("sin + 1", "at column 1 of 'sin + 1': unknown function 'sin'; variables are x1, x2, ... "
                "(numbered from 1), constants pi and e"),
    ("x1 + foo", "at column 6 of 'x1 + foo': unknown name 'foo'; variables are x1, x2, ... "
                 "(numbered from 1), constants pi and e"),
    ("math.sin(x1)", f"at column 1 of 'math.sin(x1)': unknown function 'math.sin'; functions "
                     f"are {FUNCTION_LIST}"),
    ("True + x1", "at column 1 of 'True + x1': True is not a number"),
    ("1e400*x1", "at column 1 of '1e400*x1': the number is too large for a double (at most "
                 "about 1.8e308)"),
    ("sin(x=1)", "at column 1 of 'sin(x=1)': keyword arguments are not allowed"),
    ("min(x1)", "at column 1 of 'min(x1)': min() takes 2 arguments, got 1"),
    ("neg(x1, x2)", "at column 1 of 'neg(x1, x2)': neg() takes 1 argument, got 2"),
    ("x01", "at column 1 of 'x01': variable 'x01': write it without leading zeros, x1"),
    ("x100001", "at column 1 of 'x100001': variable 'x100001': every variable up to it is a "
                "gene; the highest allowed is x100000"),
    ("x1 + é", "at column 6 of 'x1 + é': 'é' is not ASCII; variables are x1, x2, ... in ASCII "
               "digits"),
    ("x1 @ x2", "at column 1 of 'x1 @ x2': MatMult is not allowed; use numbers, variables, + - "
                f"* / ** and the functions {FUNCTION_LIST}"),
    ("-" * 9990 + "x1", "the expression is nested too deeply for its parser (several hundred "
                        "levels); write it with fewer levels"),
])
def test_each_refused_expression_is_one_exact_line(text, message):
    with pytest.raises(ConfigError) as err:
        parse_expression(text)
    assert str(err.value) == f"setting 'expression': {message}"


def test_errors_in_long_expressions_show_the_part_around_the_column():
    text = "x1 + " * 20 + "foo"  # 103 characters, foo at column 101
    with pytest.raises(ConfigError) as err:
        parse_expression(text, field="formula")
    assert str(err.value).startswith(f"setting 'formula': at column 101 of ...{text[-60:]!r}: ")
    head = "foo + " + "x1 + " * 20 + "x1"
    with pytest.raises(ConfigError) as err:
        parse_expression(head)
    assert f"at column 1 of {head[:60]!r}...: unknown name 'foo'" in str(err.value)
    middle = "x1 + " * 20 + "foo" + " + x1" * 20
    with pytest.raises(ConfigError) as err:
        parse_expression(middle)
    assert f"at column 101 of ...{middle[70:130]!r}...: unknown name" in str(err.value)


def test_the_length_limit_is_inclusive():
    from evoengine.gp import parse as parser

    longest = "x1*1." + "0" * (parser.MAX_LENGTH - 5)  # a long literal: exactly the limit
    assert len(longest) == parser.MAX_LENGTH
    assert parse_expression(" " + longest + " ").consts.tolist() == [0.0, 0.0, 1.0]
    with pytest.raises(ConfigError) as err:
        parse_expression(longest + "1")
    assert str(err.value) == (f"setting 'expression': the expression is "
                              f"{parser.MAX_LENGTH + 1} characters long; the limit is "
                              f"{parser.MAX_LENGTH}")


def test_a_program_is_the_prefix_order_of_the_expression():
    from evoengine.gp.program import OPCODE

    program = parse_expression(" x3 - -2*x1^2 + +pi ")
    names = {code: name for name, code in OPCODE.items()}
    assert [names[op] for op in program.ops] == ["add", "sub", "var", "mul", "const", "pow",
                                                 "var", "const", "const"]
    assert program.variables == ("x1", "x2", "x3")  # x2 unused still takes a column
    assert program.args.tolist() == [0, 0, 2, 0, 0, 0, 0, 0, 0]
    assert program.consts.tolist() == [0, 0, 0, 0, -2.0, 0, 0, 2.0, math.pi]
    assert parse_expression("e").consts.tolist() == [math.e]


def test_given_variables_are_the_columns_in_their_order_and_the_only_names():
    program = parse_expression("b * a", variables=("a", "b", "ç"))
    assert program.variables == ("a", "b", "ç") and program.args.tolist() == [0, 1, 0]
    assert parse_expression("ç + 1", variables=("ç",)).args.tolist() == [0, 0, 0]
    with pytest.raises(ConfigError) as err:
        parse_expression("a + x1", variables=("b", "a"))
    assert str(err.value).endswith("unknown name 'x1'; variables are a, b, constants pi and e")


BINARY = {"add", "sub", "mul", "div", "pdiv", "protectedDiv", "pow", "min", "max"}


def test_every_function_takes_its_number_of_arguments():
    for name in FUNCTIONS:
        arity = 2 if name in BINARY else 1
        good = f"{name}({', '.join(['x1'] * arity)})"
        assert len(parse_expression(good).ops) == 1 + arity, good
        bad = f"x1 + {name}({', '.join(['x1'] * (3 - arity))})"
        with pytest.raises(ConfigError) as err:
            parse_expression(bad)
        plural = "s" if arity > 1 else ""
        assert str(err.value) == (f"setting 'expression': at column 6 of {bad!r}: {name}() "
                                  f"takes {arity} argument{plural}, got {3 - arity}")


@pytest.mark.parametrize("text, column, message", [
    ("x1 + True", 6, "True is not a number"),
    ("x1 + 1e400", 6, "the number is too large for a double (at most about 1.8e308)"),
    ("x1 - 1e400", 6, "the number is too large for a double (at most about 1.8e308)"),
    ("x1 + -1e400", 7, "the number is too large for a double (at most about 1.8e308)"),
    ("x1 + sin(x=1)", 6, "keyword arguments are not allowed"),
    ("x1 + bar(x2)", 6, f"unknown function 'bar'; functions are {FUNCTION_LIST}"),
    ("x1 + x01", 6, "variable 'x01': write it without leading zeros, x1"),
    ("x1 + x100001", 6, "variable 'x100001': every variable up to it is a gene; the highest "
                        "allowed is x100000"),
    ("x1 + (x2 < x3)", 7, "Compare is not allowed; use numbers, variables, + - * / ** and the "
                          f"functions {', '.join(sorted(set(FUNCTIONS)))}"),
])
def test_errors_point_at_their_own_column(text, column, message):
    with pytest.raises(ConfigError) as err:
        parse_expression(text)
    assert str(err.value) == f"setting 'expression': at column {column} of {text!r}: {message}"


def test_an_integer_past_the_largest_double_is_refused_not_crashed_on():
    with pytest.raises(ConfigError) as err:
        parse_expression("x1 + 1" + "0" * 400)
    assert str(err.value).startswith("setting 'expression': at column 6 of ")
    assert str(err.value).endswith(": the number is too large for a double (at most about "
                                   "1.8e308)")


def test_edges_of_variables_and_excerpts():
    assert parse_expression("pi + 1").variables == ()  # no variable: no column
    assert len(parse_expression("x100000").variables) == 100_000  # the highest allowed
    sixty = "x1 + foo" + " + x1" * 10 + "*2"  # exactly 60 characters: quoted whole
    assert len(sixty) == 60
    with pytest.raises(ConfigError, match=re.escape(f"at column 6 of {sixty!r}: ")):
        parse_expression(sixty)
    long = "x1 + " * 20 + "é"  # not ASCII, in a long expression: the part around it
    with pytest.raises(ConfigError) as err:
        parse_expression(long)
    assert str(err.value) == (f"setting 'expression': at column 101 of ...{long[-60:]!r}: 'é' "
                              "is not ASCII; variables are x1, x2, ... in ASCII digits")
