"""The language a GP run evolves: primitives, variables and constants, with their types.

A :class:`PrimitiveSet` is a table of *nodes*. Each node has a code (its row in the table), an
arity, a return type and argument types, and says how it is evaluated: a built-in operator of
:data:`evoengine.gp.program.OPS`, a user function compiled by Numba, an input variable, a fixed
constant, or an ephemeral constant (a value drawn when the node is made, stored per tree).
Types are small integers; an untyped set has one type. Every value is a float64 at run time
(booleans as 0/1): types only constrain how trees are built.

Build one directly::

    ps = PrimitiveSet(["x"])
    ps.add_builtin("add", "sub", "mul", "pdiv", "neg", "sin", "cos")
    ps.add_ephemeral("rand", -1.0, 1.0)
    ps.add_function("square", lambda a: a * a)     # compiled by Numba, or rejected now

or hand over a DEAP ``PrimitiveSet`` / ``PrimitiveSetTyped`` as it is:
``PrimitiveSet.from_deap(pset)``. Known DEAP functions (``operator.add``, ``math.sin``,
``protectedDiv``...) map to the built-in operators; any other is compiled as a user function.
"""

from __future__ import annotations

import math
import operator
import warnings
from dataclasses import dataclass, field
from functools import cached_property

import numba
import numpy as np

from evoengine.errors import ConfigError
from evoengine.gp.program import CONST, OPCODE, OPS, VAR

USER = -1        # optab value of a user function (its index is in argtab)
EPHEMERAL = -2   # optab value of an ephemeral constant (value in the tree's consts)
MAX_USER_ARITY = 3
_BUILTIN_ARITY = {name: arity for name, arity, _ in OPS}

# DEAP programs usually name Python's own functions; these are the built-ins they mean.
_KNOWN_FUNCTIONS = {
    operator.add: "add", operator.sub: "sub", operator.mul: "mul", operator.truediv: "div",
    operator.neg: "neg", operator.abs: "abs", abs: "abs", pow: "pow", operator.pow: "pow",
    math.sin: "sin", math.cos: "cos", math.tan: "tan", math.exp: "exp", math.log: "log",
    math.sqrt: "sqrt", math.tanh: "tanh", min: "min", max: "max",
    np.add: "add", np.subtract: "sub", np.multiply: "mul", np.negative: "neg",
    np.sin: "sin", np.cos: "cos", np.tan: "tan", np.exp: "exp", np.tanh: "tanh",
    np.abs: "abs", np.minimum: "min", np.maximum: "max",
}
_KNOWN_NAMES = {"protectedDiv": "pdiv", "protected_div": "pdiv", "pdiv": "pdiv",
                "protectedLog": "plog", "plog": "plog", "psqrt": "psqrt"}


@dataclass(frozen=True)
class Node:
    """One row of a primitive set's node table."""

    name: str
    arity: int
    ret: int
    args: tuple[int, ...]
    op: int            # built-in opcode, or VAR, CONST, USER, EPHEMERAL
    index: int = 0     # VAR: input column; USER: function index
    value: float = 0.0  # CONST: the value; EPHEMERAL: low bound
    high: float = 0.0   # EPHEMERAL: high bound
    integer: bool = False  # EPHEMERAL: draw whole numbers


@dataclass
class PrimitiveSet:
    """Nodes of a GP language (see the module docstring). ``variables`` name the inputs, in
    column order; ``variable_types`` gives each one's type name (default: all ``"float"``)."""

    variables: list[str]
    variable_types: list[str] | None = None
    return_type: str = "float"
    nodes: list[Node] = field(default_factory=list)
    type_names: list[str] = field(default_factory=list)
    functions: list = field(default_factory=list)  # compiled user functions, by index

    def __post_init__(self) -> None:
        self.variables = list(self.variables)
        types = self.variable_types or ["float"] * len(self.variables)
        if len(types) != len(self.variables):
            raise ConfigError("variable_types must give one type per variable")
        seen = set()
        for i, (name, t) in enumerate(zip(self.variables, types, strict=True)):
            if not str(name).isidentifier():
                raise ConfigError(f"variable {name!r} is not a valid name (letters, digits, _)")
            if name in seen:
                raise ConfigError(f"variable {name!r} is given twice")
            seen.add(name)
            self._append(Node(name, 0, self.type_id(t), (), VAR, index=i))

    # --- building -------------------------------------------------------------------------
    def type_id(self, name) -> int:
        """The integer id of a type name (new names get the next id)."""
        key = name if isinstance(name, str) else getattr(name, "__name__", str(name))
        if key not in self.type_names:
            self.type_names.append(key)
        return self.type_names.index(key)

    def _append(self, node: Node) -> None:
        if any(n.name == node.name for n in self.nodes):
            raise ConfigError(f"primitive set: the name {node.name!r} is already used")
        self.nodes.append(node)
        self.__dict__.pop("tables", None)

    def add_builtin(self, *names: str, in_types=None, ret_type=None) -> PrimitiveSet:
        """Add built-in operators by name (``add``, ``pdiv``, ``sin``...; see ``OPS``)."""
        for name in names:
            if name not in _BUILTIN_ARITY or name in ("var", "const"):
                valid = ", ".join(n for n, _, _ in OPS if n not in ("var", "const"))
                raise ConfigError(f"unknown primitive {name!r}; built-ins are {valid}")
            arity = _BUILTIN_ARITY[name]
            self._add_primitive(name, arity, OPCODE[name], 0, in_types, ret_type)
        return self

    def add_function(self, name: str, func, arity: int | None = None, *, in_types=None,
                     ret_type=None) -> PrimitiveSet:
        """Add a user function of ``arity`` float arguments returning a float. It is compiled
        by Numba now; a function Numba cannot compile is rejected with the reason."""
        if arity is None:
            code = getattr(getattr(func, "py_func", func), "__code__", None)
            if code is None:
                raise ConfigError(f"primitive {name!r}: give its arity")
            arity = code.co_argcount
        if not 1 <= arity <= MAX_USER_ARITY:
            raise ConfigError(f"primitive {name!r}: arity {arity} is not supported "
                              f"(1 to {MAX_USER_ARITY} arguments)")
        compiled = compile_function(name, func, arity)
        self.functions.append(compiled)
        self._add_primitive(name, arity, USER, len(self.functions) - 1, in_types, ret_type)
        return self

    def _add_primitive(self, name, arity, op, index, in_types, ret_type) -> None:
        in_types = in_types or [self.return_type] * arity
        if len(in_types) != arity:
            raise ConfigError(f"primitive {name!r}: {len(in_types)} argument types for arity "
                              f"{arity}")
        ret = self.type_id(ret_type or self.return_type)
        self._append(Node(name, arity, ret, tuple(self.type_id(t) for t in in_types), op,
                          index))

    def add_ephemeral(self, name: str, low: float = -1.0, high: float = 1.0, *,
                      integer: bool = False, ret_type=None) -> PrimitiveSet:
        """A constant drawn uniformly in ``[low, high]`` (whole numbers if ``integer``) each
        time the node is created; each tree keeps its own value."""
        if not low <= high:
            raise ConfigError(f"ephemeral {name!r}: low {low} is greater than high {high}")
        self._append(Node(name, 0, self.type_id(ret_type or self.return_type), (), EPHEMERAL,
                          value=float(low), high=float(high), integer=integer))
        return self

    def add_constant(self, name: str, value: float, *, ret_type=None) -> PrimitiveSet:
        """A fixed constant terminal."""
        self._append(Node(name, 0, self.type_id(ret_type or self.return_type), (), CONST,
                          value=float(value)))
        return self

    # --- DEAP -----------------------------------------------------------------------------
    @classmethod
    def from_deap(cls, pset, ephemeral_ranges: dict | None = None) -> PrimitiveSet:
        """The same language as a DEAP ``PrimitiveSet`` or ``PrimitiveSetTyped``.

        DEAP's ephemeral constants are Python functions the evaluator cannot call; they are
        drawn instead uniformly in ``ephemeral_ranges[name] = (low, high[, integer])``, by
        default the range of 1,000 draws of the DEAP function (whole numbers if all are)."""
        ephemeral_ranges = dict(ephemeral_ranges or {})
        arg_types = {}
        for terminals in pset.terminals.values():
            for t in terminals:
                # renameArguments changes an argument's value, not its name
                if not isinstance(t, type) and t.value in pset.arguments:
                    arg_types[t.value] = t.ret
        out = cls(list(pset.arguments), [arg_types[a] for a in pset.arguments],
                  return_type=pset.ret)
        for prims in pset.primitives.values():
            for p in prims:
                func = pset.context[p.name]
                builtin = _KNOWN_NAMES.get(p.name) or _known_function(func)
                if builtin is not None and _BUILTIN_ARITY[builtin] == p.arity:
                    out._add_primitive(p.name, p.arity, OPCODE[builtin], 0, p.args, p.ret)
                else:
                    out.add_function(p.name, func, p.arity, in_types=p.args, ret_type=p.ret)
        for terminals in pset.terminals.values():
            for t in terminals:
                if isinstance(t, type):  # an ephemeral class
                    low, high, integer = _ephemeral_range(t, ephemeral_ranges.get(t.name))
                    out.add_ephemeral(t.name, low, high, integer=integer, ret_type=t.ret)
                elif t.value not in pset.arguments:
                    # a named terminal's value is its name; the object is in the context
                    raw = pset.context.get(t.value, t.value) if isinstance(t.value, str) \
                        else t.value
                    try:
                        value = float(raw)
                    except (TypeError, ValueError):
                        raise ConfigError(f"terminal {t.name!r}: {raw!r} is not a "
                                          "number") from None
                    out.add_constant(t.name, value, ret_type=t.ret)
        out.deap_pset = pset
        return out

    def to_deap(self):
        """An equivalent DEAP ``PrimitiveSetTyped`` (built once, for conversions)."""
        if getattr(self, "deap_pset", None) is not None:
            return self.deap_pset
        from evoengine.gp import deap_io

        self.deap_pset = deap_io.build_deap_pset(self)
        return self.deap_pset

    # --- tables for the kernels -----------------------------------------------------------
    def code(self, name: str) -> int:
        for c, n in enumerate(self.nodes):
            if n.name == name:
                return c
        raise ConfigError(f"{name!r} is not in the primitive set; it has "
                          f"{', '.join(n.name for n in self.nodes)}")

    @cached_property
    def tables(self) -> NodeTables:
        return NodeTables.build(self)

    @property
    def root_type(self) -> int:
        return self.type_id(self.return_type)


@dataclass(frozen=True)
class NodeTables:
    """The primitive set as arrays, for compiled kernels (see :class:`PrimitiveSet`)."""

    arity: np.ndarray      # (C,)
    ret: np.ndarray        # (C,)
    argtypes: np.ndarray   # (C, 3), -1 where unused
    optab: np.ndarray      # (C,) built-in opcode or VAR/CONST/USER/EPHEMERAL
    argtab: np.ndarray     # (C,) variable column or user function index
    value: np.ndarray      # (C,) constant value / ephemeral low
    high: np.ndarray       # (C,) ephemeral high
    integer: np.ndarray    # (C,) ephemeral draws whole numbers
    prims: np.ndarray      # (T, C) primitive codes returning type t, -1 padded
    nprims: np.ndarray     # (T,)
    terms: np.ndarray      # (T, C) terminal codes returning type t, -1 padded
    nterms: np.ndarray     # (T,)
    root: int

    @classmethod
    def build(cls, ps: PrimitiveSet) -> NodeTables:
        nodes = ps.nodes
        c, t = len(nodes), len(ps.type_names)
        argtypes = np.full((c, MAX_USER_ARITY), -1, dtype=np.int64)
        for i, n in enumerate(nodes):
            argtypes[i, :n.arity] = n.args
        prims = np.full((t, c), -1, dtype=np.int64)
        terms = np.full((t, c), -1, dtype=np.int64)
        nprims = np.zeros(t, dtype=np.int64)
        nterms = np.zeros(t, dtype=np.int64)
        for i, n in enumerate(nodes):
            if n.arity:
                prims[n.ret, nprims[n.ret]] = i
                nprims[n.ret] += 1
            else:
                terms[n.ret, nterms[n.ret]] = i
                nterms[n.ret] += 1
        root = ps.root_type
        needed = {root} | {a for n in nodes if n.arity for a in n.args}
        for ty in sorted(needed):
            if nterms[ty] == 0:
                raise ConfigError(f"primitive set: no terminal (variable or constant) of type "
                                  f"{ps.type_names[ty]!r}, so trees needing one cannot end")
        if nprims[root] == 0 and nterms[root] == 0:
            raise ConfigError("primitive set: nothing returns the root type")
        return cls(
            np.array([n.arity for n in nodes], dtype=np.int64),
            np.array([n.ret for n in nodes], dtype=np.int64), argtypes,
            np.array([n.op for n in nodes], dtype=np.int64),
            np.array([n.index for n in nodes], dtype=np.int64),
            np.array([n.value for n in nodes], dtype=np.float64),
            np.array([n.high for n in nodes], dtype=np.float64),
            np.array([n.integer for n in nodes], dtype=np.bool_),
            prims, nprims, terms, nterms, root)


def _known_function(func) -> str | None:
    try:
        return _KNOWN_FUNCTIONS.get(func)
    except TypeError:  # unhashable
        return None


def _ephemeral_range(cls, given) -> tuple[float, float, bool]:
    if given is not None:
        low, high, *rest = given
        return float(low), float(high), bool(rest[0]) if rest else False
    import random

    # DEAP ephemerals draw from Python's global random; sample it without disturbing it.
    state = random.getstate()
    try:
        random.seed(0)
        draws = [float(cls.func()) for _ in range(1000)]
    except (TypeError, ValueError):
        raise ConfigError(f"ephemeral {cls.name!r}: its function does not return a number; "
                          "give its range in ephemeral_ranges") from None
    finally:
        random.setstate(state)
    return min(draws), max(draws), all(d == int(d) for d in draws)


def compile_function(name: str, func, arity: int):
    """``func`` compiled by Numba for float64 arguments, or a ConfigError saying why not."""
    from numba import float64

    dispatcher = func if isinstance(func, numba.core.registry.CPUDispatcher) else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if dispatcher is None:
                dispatcher = numba.njit(nogil=True, error_model="numpy")(_as_function(func,
                                                                                     arity))
            dispatcher.compile((float64,) * arity)
    except Exception as exc:  # noqa: BLE001 - Numba raises many kinds; all mean "cannot"
        raise ConfigError(f"primitive {name!r} cannot be compiled by Numba: "
                          f"{_numba_reason(exc)}") from None
    result = dispatcher.nopython_signatures[-1].return_type
    if not isinstance(result, (numba.types.Float, numba.types.Integer, numba.types.Boolean)):
        raise ConfigError(f"primitive {name!r} cannot be compiled by Numba: it returns "
                          f"{result}, not a number")
    return dispatcher


def _numba_reason(exc: Exception) -> str:
    """The line of a Numba error that says what went wrong, not which pass failed."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    skip = ("Failed in", "During:", "File ", "^", "Resolution failure", "- Resolution")
    useful = [line for line in lines if not line.startswith(skip) and not line.startswith(">")]
    return (useful or lines or [type(exc).__name__])[0]


def _as_function(func, arity: int):
    """A Python function calling ``func``: Numba compiles calls to builtins it knows
    (``operator.lt``, ``math.hypot``, NumPy ufuncs) but not the builtins themselves."""
    import types

    if isinstance(func, types.FunctionType):
        return func
    if arity == 1:
        return lambda a: func(a)
    if arity == 2:
        return lambda a, b: func(a, b)
    return lambda a, b, c: func(a, b, c)
