"""Declarations of the spec language: parameters, domains (Int, Bool, Enum, Array) and
variables, and how a declared variable becomes the flat scalar variables of a System."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any

import z3

from checker.errors import CheckerError, SpecError
from checker.lang.system import FlatVar
from checker.verdict import Verdict

And, Or, Not, Implies = z3.And, z3.Or, z3.Not, z3.Implies

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
INTEGER = re.compile(r"-?[0-9]+")  # a parameter's integer value as text: ASCII digits, an optional minus

# Limits of one instance (docs/cli.md, "Limits"), so that a size no engine can take is a one-line
# error before the work instead of a hang, a recursion error or gigabytes. Model.build checks the
# variables before it traces any action (check_variables), each action's instances before
# tracing them (check_instances), and every term once traced (check_depth).
MAX_PARAM = 10**18            # an integer parameter's value, either side of 0
MAX_ARRAY_SIZE = 100          # cells along one dimension of an array variable
MAX_VARIABLES = 10_000        # flat scalar variables of an instance
MAX_INSTANCES = 1_000         # instances of one declared action (`over`)
MAX_TERM_DEPTH = 150          # nesting of a guard, update or property (the engines translate terms
                              # recursively; the explicit one's generated Python nests at most 200 deep)
# The value of a parameter declared with unbounded=True when the user gives `unbounded`;
# a failure mode whose budget has this value fires without limit and keeps no counter.
UNBOUNDED = "unbounded"


def is_unbounded(value: Any) -> bool:
    """Whether a parameter's value is the word `unbounded`. A type test first: under
    `prove` a parameter may be a Z3 term, whose == would build a formula."""
    return isinstance(value, str) and value == UNBOUNDED
FAIRNESS = ("weak", "strong")
KINDS = {"always": (Verdict.HOLDS, Verdict.VIOLATED), "sometimes": (Verdict.REACHABLE, Verdict.UNREACHABLE),
         "eventually": (Verdict.HOLDS, Verdict.VIOLATED)}  # the verdicts a property of each kind may expect


# --------------------------------------------------------------------------- domains

# Set by checker/symbolic.py while it traces a model with some parameters left as Z3
# terms (for `prove`): domain bounds and array sizes may then be terms too.
symbolic_params = [False]


def symbolic_int(x: Any) -> bool:
    return symbolic_params[0] and isinstance(x, z3.ArithRef) and x.is_int()


class Int:
    """Integers lo..hi, both included."""

    def __init__(self, lo: int, hi: int):
        if symbolic_int(lo) or symbolic_int(hi):
            if not all(isinstance(b, int) or symbolic_int(b) for b in (lo, hi)):
                raise SpecError(f"Int({lo!r}, {hi!r}): bounds must be integers")
            self.lo, self.hi = lo, hi
            return
        if not (isinstance(lo, int) and isinstance(hi, int)) or lo > hi:
            raise SpecError(f"Int({lo!r}, {hi!r}): bounds must be integers with lo <= hi")
        self.lo, self.hi = lo, hi

    def __repr__(self) -> str:
        return f"{self.lo}..{self.hi}"


class Bool:
    """true or false (stored as 1 or 0)."""

    def __repr__(self) -> str:
        return "bool"


class Enum:
    """A finite set of named values; `E.name` is the value's number, for actions."""

    def __init__(self, *names: str):
        if not names or len(set(names)) != len(names):
            raise SpecError(f"Enum{names!r}: give one or more distinct value names")
        for n in names:
            if not isinstance(n, str) or not n.isidentifier():
                raise SpecError(f"Enum value {n!r} must be an identifier")
        self.labels = tuple(names)

    def __getattr__(self, name: str) -> int:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self.labels.index(name)
        except ValueError:
            raise SpecError(
                f"{name!r} is not a value of Enum{self.labels}; use one of {', '.join(self.labels)}"
            ) from None

    def __repr__(self) -> str:
        return "{" + ", ".join(self.labels) + "}"


class Array:
    """A fixed-size array indexed 0..size-1; elements may be arrays themselves."""

    def __init__(self, size: int, elem: Any):
        if symbolic_int(size):
            size = z3.simplify(size)  # a size left symbolic by `prove`; concrete ones stay ints
            if z3.is_int_value(size):
                size = size.as_long()
        if not (isinstance(size, int) or symbolic_int(size)) or (isinstance(size, int) and size < 1):
            raise SpecError(f"Array size must be a positive integer, got {size!r}")
        if not isinstance(elem, (Int, Bool, Enum, Array)):
            raise SpecError(f"Array element domain must be Int, Bool, Enum or Array, got {elem!r}")
        self.size, self.elem = size, elem

    def __repr__(self) -> str:
        return f"array[0..{self.size - 1}] of {self.elem!r}"


@dataclass
class Var:
    """A state variable: its name, finite domain and a note on what real Kafka does.

    `init` defaults to the lowest value (0, false, the first enum value) everywhere.
    """

    name: str
    domain: Any
    doc: str = ""
    init: Any = None


def flatten(var: Var) -> list[tuple[FlatVar, int]]:
    """Scalar variables (with initial values) of one declared variable, in index order."""
    out: list[tuple[FlatVar, int]] = []

    def walk(dom: Any, path: tuple[int, ...], init: Any) -> None:
        name = var.name + "".join(f"[{i}]" for i in path)
        if isinstance(dom, Array):
            if init is not None and not (isinstance(init, (list, tuple)) and len(init) == dom.size):
                raise SpecError(f"variable {var.name}: init must be a list of {dom.size} values")
            for i in range(dom.size):
                walk(dom.elem, path + (i,), None if init is None else init[i])
            return
        if isinstance(dom, Int):
            fv = FlatVar(name, var.name, path, "int", dom.lo, dom.hi)
        elif isinstance(dom, Bool):
            fv = FlatVar(name, var.name, path, "bool", 0, 1)
        elif isinstance(dom, Enum):
            fv = FlatVar(name, var.name, path, "enum", 0, len(dom.labels) - 1, dom.labels)
        else:
            raise SpecError(f"variable {var.name}: domain must be Int, Bool, Enum or Array, got {dom!r}")
        value = fv.lo if init is None else int(init)
        if not fv.lo <= value <= fv.hi:
            raise SpecError(f"variable {name}: initial value {init!r} is outside its domain")
        out.append((fv, value))

    walk(var.domain, (), var.init)
    return out


def _cause(params: dict[str, Any], n: int) -> str:
    """` with messages=300`: the integer parameters whose value is n, the likely cause of a size."""
    named = [f"{k}={v}" for k, v in params.items() if isinstance(v, int) and not isinstance(v, bool) and v == n]
    return f" with {', '.join(named)}" if named else ""


def _cells(dom: Any) -> int:
    """The flat scalar variables of a domain (1 for a symbolic size: `prove` counts no cells)."""
    if isinstance(dom, Array):
        return (dom.size if isinstance(dom.size, int) else 1) * _cells(dom.elem)
    return 1


def check_variables(model: str, declared: list[Any], params: dict[str, Any]) -> None:
    """Refuse, before anything is flattened or traced, an array longer than MAX_ARRAY_SIZE or an
    instance of more than MAX_VARIABLES flat variables, naming the parameter that made it so."""
    total = 0
    for v in declared:
        if not isinstance(v, Var):
            continue  # the tracer says what is wrong with it
        dom = v.domain
        while isinstance(dom, Array):
            if isinstance(dom.size, int) and dom.size > MAX_ARRAY_SIZE:
                raise CheckerError(f"model {model}{_cause(params, dom.size)}: variable {v.name} is an array of "
                                   f"{dom.size:,} cells, more than the {MAX_ARRAY_SIZE} an array may have; "
                                   "give smaller parameters")
            dom = dom.elem
        total += _cells(v.domain)
    if total > MAX_VARIABLES:
        raise CheckerError(f"model {model}: the instance has {total:,} state variables (array cells counted "
                           f"one by one), more than the {MAX_VARIABLES:,} it may have; give smaller parameters")


def check_instances(model: str, action: str, n: int, params: dict[str, Any]) -> None:
    """Refuse an action declared over more than MAX_INSTANCES indices, before they are traced."""
    if n > MAX_INSTANCES:
        raise CheckerError(f"model {model}{_cause(params, n)}: action {action} has {n:,} instances, more than "
                           f"the {MAX_INSTANCES:,} an action may have; give smaller parameters")


def term_depth(e: z3.ExprRef) -> int:
    """How deep a term nests (Z3 keeps it on every node: no walk)."""
    return int(z3.Z3_get_depth(e.ctx_ref(), e.as_ast()))


def check_depth(model: str, where: str, e: z3.ExprRef) -> None:
    """Refuse a traced guard, update or property that nests deeper than MAX_TERM_DEPTH."""
    d = term_depth(e)
    if d > MAX_TERM_DEPTH:
        raise CheckerError(f"model {model}: {where} nests {d} deep, more than the {MAX_TERM_DEPTH} a term may; "
                           "give smaller parameters or compute it in smaller steps")


@dataclass
class Param:
    name: str
    default: Any
    doc: str
    min: int | None = None
    max: int | None = None
    choices: tuple[str, ...] | None = None
    unbounded: bool = False  # also accepts the value `unbounded` (UNBOUNDED)
    structural: bool = False  # a size of the system's structure: `prove` keeps it as given

    def describe_range(self) -> str:
        if self.choices:
            return "|".join(self.choices)
        if self.unbounded:
            return Param(self.name, self.default, self.doc, self.min, self.max).describe_range() + " or unbounded"
        if self.min is not None and self.max is not None:
            return f"{self.min}..{self.max}"
        if self.min is not None:
            return f">= {self.min}"
        return "any integer" if self.max is None else f"<= {self.max}"

    def parse(self, raw: Any) -> Any:
        if self.choices:
            if raw not in self.choices:
                shown = raw if isinstance(raw, str) and raw.isprintable() and raw.strip() == raw else repr(raw)
                raise CheckerError(f"{self.name}={shown}: must be one of {', '.join(self.choices)}")
            return raw
        if self.unbounded and raw == UNBOUNDED:
            return UNBOUNDED
        if isinstance(raw, str):
            if INTEGER.fullmatch(raw) is None:  # not int(): it takes spaces, `_` and other scripts' digits
                also = " or `unbounded`" if self.unbounded else ""
                shown = raw if raw.isascii() and raw.isprintable() and raw.strip() == raw else repr(raw)
                raise CheckerError(f"{self.name}={shown}: expected an integer{also}")
            if len(raw.lstrip("-").lstrip("0")) > 19:  # beyond MAX_PARAM, and int() refuses 4,300 digits
                shown = raw if len(raw) <= 24 else raw[:24] + "..."
                raise CheckerError(f"{self.name}={shown} is out of range: a parameter is at most 10^18 either "
                                   "side of 0")
            raw = int(raw)
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise CheckerError(f"{self.name}={raw!r}: expected an integer")
        if abs(raw) > MAX_PARAM:
            raise CheckerError(f"{self.name}={raw} is out of range: a parameter is at most 10^18 either side of 0")
        if (self.min is not None and raw < self.min) or (self.max is not None and raw > self.max):
            raise CheckerError(f"{self.name}={raw} is out of range: it must be {self.describe_range()}")
        return raw


class UnknownParameter(SpecError, AttributeError):
    """A model reads a parameter it does not have (`p.max_crashs`).

    Also an AttributeError, so that `getattr(p, name, default)` keeps working."""


class Params:
    """The parameters of one build as attributes (`p.messages`), and `failure_modes`, the modes on.

    Reading a name that is not a parameter is an UnknownParameter error that lists the
    parameters, instead of Python's bare AttributeError."""

    def __init__(self, model: str, values: dict[str, Any], failure_modes: tuple[str, ...]):
        self.__dict__.update(values)
        self.__dict__["failure_modes"] = tuple(failure_modes)
        self.__dict__["_model"] = model

    def __getattr__(self, name: str) -> Any:  # only called when `name` is not an attribute
        if name.startswith("__"):
            raise AttributeError(name)  # Python's own protocol probes (copy, pickle, ...)
        known = [k for k in self.__dict__ if not k.startswith("_") and k != "failure_modes"]
        raise UnknownParameter(f"model {self.__dict__['_model']} has no parameter {name!r}{_caller()}; "
                               f"its parameters: {', '.join(known)}")

    def __repr__(self) -> str:
        return "Params(" + ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if not k.startswith("_")) + ")"


def _caller() -> str:
    """` (file, line N)` of the model code that made the read, for the message."""
    frame = sys._getframe(2)  # _caller <- __getattr__ <- the reading code
    return f" ({frame.f_code.co_filename}, line {frame.f_lineno})" if frame else ""
