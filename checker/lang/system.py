"""The built transition system: one model instance with every parameter fixed.

`lang.Model.build` produces a `System`. Every engine reads only this: the flat list of
scalar variables with their finite domains, the initial values, the actions (a guard
and the updated variables, as Z3 terms over the variables' constants) and the
properties (Z3 formulas). Nothing here walks a term per state: engines compile the
terms once (see `compile.py`) or hand them to Z3 (see `bmc.py`).

A model error is an update that leaves its variable's domain or a division by zero,
in a state an engine explores; `model_error` finds a state's first one (in the order
every engine checks them) and words it, so each engine stops with the same line.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable

import z3

from checker.errors import CheckerError, SpecError
from checker.lang.arith import Bounds, Division, show

__all__ = ["FlatVar", "ActionInst", "PropInst", "System", "Layout", "DomainError", "DivisionByZero",
           "model_error", "bounds"]


@dataclass(frozen=True)
class FlatVar:
    """One scalar state variable: an element of an array variable is its own FlatVar."""

    name: str  # display name, e.g. "processed[1]"
    root: str  # the declared variable it belongs to, e.g. "processed"
    path: tuple[int, ...]  # indices into the declared variable, () for a scalar
    kind: str  # "int", "bool" or "enum"
    lo: int
    hi: int
    labels: tuple[str, ...] = ()  # enum value names, index = value

    def show(self, value: int) -> str:
        """The value as people read it: enum names, true/false, numbers."""
        if self.kind == "enum":
            return self.labels[value]
        if self.kind == "bool":
            return "true" if value else "false"
        return str(value)

    def json(self, value: int) -> Any:
        if self.kind == "enum":
            return self.labels[value]
        if self.kind == "bool":
            return bool(value)
        return value


@dataclass
class ActionInst:
    """One action instance (an indexed action gives one per index)."""

    name: str  # "Poll" or "Poll(1)"
    base: str  # "Poll"
    index: int | None
    description: str  # one line, for tables
    note: str  # what real Kafka does, what the model leaves out
    guard: z3.BoolRef
    updates: dict[int, z3.ExprRef]  # flat variable index -> new value
    failure: str | None = None  # the failure mode this action belongs to
    # Divisions that may divide by zero (see arith.divisions): in the guard, and in the
    # updates (evaluated only where the guard holds).
    guard_divisions: tuple[Division, ...] = ()
    update_divisions: tuple[Division, ...] = ()


@dataclass
class PropInst:
    name: str
    kind: str  # "always", "sometimes" or "eventually"
    expected: str  # "holds"/"violated" or "reachable"/"unreachable"
    formula: z3.BoolRef
    description: str
    fair: tuple[str, ...] = ()  # the fair actions (base names), eventually properties only
    fairness: tuple[tuple[str, str], ...] = ()  # (base name, "weak" or "strong") in action order
    premises: tuple[z3.BoolRef, ...] = ()  # premises of its implications, for the vacuity check
    # Divisions of the formula that may divide by zero. The formula decides nothing where
    # one does (an always property holds there, any other is false): that state is a model
    # error, reported when it is expanded.
    divisions: tuple[Division, ...] = ()


@dataclass
class Layout:
    """How a state packs into one integer: variable i lives at bits shifts[i].

    A field stores value - lo, so every field is a small unsigned number.
    """

    shifts: tuple[int, ...]
    widths: tuple[int, ...]
    los: tuple[int, ...]
    bits: int

    @classmethod
    def of(cls, variables: list[FlatVar]) -> "Layout":
        shifts, widths, pos = [], [], 0
        for v in variables:
            w = max(1, (v.hi - v.lo).bit_length())
            shifts.append(pos)
            widths.append(w)
            pos += w
        return cls(tuple(shifts), tuple(widths), tuple(v.lo for v in variables), pos)

    def pack(self, values: tuple[int, ...]) -> int:
        return sum((v - lo) << s for v, lo, s in zip(values, self.los, self.shifts))

    def unpack(self, packed: int) -> tuple[int, ...]:
        return tuple(
            ((packed >> s) & ((1 << w) - 1)) + lo
            for s, w, lo in zip(self.shifts, self.widths, self.los)
        )


@dataclass
class System:
    """A model instance: parameters fixed, failure modes chosen, everything flat."""

    model: str
    params: dict[str, Any]
    failure_modes: list[str]
    variables: list[FlatVar]
    consts: list[z3.ExprRef]  # the Z3 constant standing for each variable
    init: tuple[int, ...]
    actions: list[ActionInst]
    properties: list[PropInst]
    roots: list[tuple[str, str, str]] = field(default_factory=list)  # (declared name, domain, note)
    default_failures: list[str] = field(default_factory=list)  # on unless turned off
    layout: Layout = None  # type: ignore[assignment]
    symmetric: list[str] = field(default_factory=list)  # parameters declared interchangeable

    def __post_init__(self) -> None:
        if self.layout is None:
            self.layout = Layout.of(self.variables)

    def prop(self, name: str) -> PropInst:
        for p in self.properties:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.properties)
        raise CheckerError(f"unknown property {name!r} for model {self.model}; known: {known}")

    def only(self, names: list[str]) -> "System":
        """This instance with only the named properties (unknown names: a one-line error);
        a run that checks no `eventually` property needs no transition graph."""
        chosen = [self.prop(n) for n in dict.fromkeys(names)]
        return replace(self, properties=chosen)

    def command_args(self) -> list[str]:
        """The CLI arguments that build this same instance: parameters and failure modes."""
        args = [f"-p {k}={v}" for k, v in self.params.items()]
        args += [f"--with {f}" for f in self.failure_modes if f not in self.default_failures]
        args += [f"--without {f}" for f in self.default_failures if f not in self.failure_modes]
        return args

    def action_index(self, name: str) -> int:
        for i, a in enumerate(self.actions):
            if a.name == name:
                return i
        known = ", ".join(a.name for a in self.actions)
        raise CheckerError(f"unknown action {name!r} for model {self.model} with these parameters; "
                           f"known: {known}")

    def show_state(self, values: tuple[int, ...]) -> str:
        """A state in one line: `name=value, ...`, enums by name."""
        return ", ".join(f"{v.name}={v.show(x)}" for v, x in zip(self.variables, values))

    def as_json_state(self, values: tuple[int, ...]) -> dict[str, Any]:
        """A state as nested JSON: arrays become lists, enums their names."""
        return nested((v, v.json(x)) for v, x in zip(self.variables, values))[0]


def nested(flat: Iterable[tuple[Any, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each variable's value (or nested list of values, for arrays) by root name, and the
    same shape of flat variables, from (flat variable, value) pairs in declaration order.
    A flat variable is anything with `root` and `path` (FlatVar, or symbolic.SymVar)."""
    store: dict[str, Any] = {}
    metas: dict[str, Any] = {}
    for fv, term in flat:
        if not fv.path:
            store[fv.root], metas[fv.root] = term, fv
            continue
        cells, ms = store.setdefault(fv.root, []), metas.setdefault(fv.root, [])
        for k in fv.path[:-1]:
            while len(cells) <= k:
                cells.append([])
                ms.append([])
            cells, ms = cells[k], ms[k]
        cells.append(term)
        ms.append(fv)
    return store, metas


def bounds(system: System) -> Bounds:
    """Interval bounds of the system's integer terms from its variables' domains (kept with it)."""
    b = system.__dict__.get("_bounds")
    if b is None:
        doms = {c.get_id(): (v.lo, v.hi) for c, v in zip(system.consts, system.variables) if v.kind != "bool"}
        b = system.__dict__["_bounds"] = Bounds(lambda c: doms.get(c.get_id()))
    return b


def _substitution(system: System, values: tuple[int, ...]) -> list[tuple[z3.ExprRef, z3.ExprRef]]:
    return [(c, z3.BoolVal(bool(x)) if v.kind == "bool" else z3.IntVal(x))
            for c, v, x in zip(system.consts, system.variables, values)]


def _value(e: z3.ExprRef, what: str) -> int:
    if z3.is_true(e) or z3.is_false(e):
        return int(z3.is_true(e))
    if z3.is_int_value(e):
        return e.as_long()
    raise SpecError(f"{what} has no value ({show(e)}): a division by zero?")


def enabled(system: System, values: tuple[int, ...], a: int) -> bool:
    """Whether action a is enabled in the state, by Z3 evaluation (for the few states of a trace)."""
    sub = _substitution(system, values)
    return bool(_value(z3.simplify(z3.substitute(system.actions[a].guard, *sub)),
                       f"the guard of {system.actions[a].name}"))


def take(system: System, values: tuple[int, ...], a: int) -> tuple[int, ...]:
    """The successor of a state by action a, by Z3 evaluation: traces need a few steps
    only, and this keeps them independent of any compiled code."""
    sub = _substitution(system, values)
    out = list(values)
    for vi, term in system.actions[a].updates.items():
        out[vi] = _value(z3.simplify(z3.substitute(term, *sub)),
                         f"action {system.actions[a].name}'s update of {system.variables[vi].name}")
    return tuple(out)


class DomainError(SpecError):
    """An action set a variable outside its declared domain: the model is malformed."""


class DivisionByZero(SpecError):
    """A guard, update or property divided by zero in an explored state: the model is malformed."""


def model_error(system: System, values: tuple[int, ...]) -> SpecError | None:
    """The first model error of a state, by Z3 evaluation, in the order every engine checks:
    the properties' divisions, then each action in order: its guard's divisions and, if
    it is enabled, its updates' divisions, then each update's domain. None if there is none."""
    sub = _substitution(system, values)
    state = system.show_state(values)

    def holds(f: z3.BoolRef) -> bool:
        return z3.is_true(z3.simplify(z3.substitute(f, *sub)))

    def by_zero(divs: tuple[Division, ...], where: str, prep: str) -> DivisionByZero | None:
        for d in divs:
            if holds(z3.And(d.when, d.divisor == 0)):
                divisor = show(d.term.arg(1), 40)
                return DivisionByZero(
                    f"{where} divides by zero: `{show(d.term)}` with {divisor} = 0, {prep} the state {state}; "
                    f"make the divisor nonzero there (when({divisor} != 0) in an action, "
                    f"or ite({divisor} != 0, ..., ...))")
        return None

    for p in system.properties:
        err = by_zero(p.divisions, f"property {p.name}", "in")
        if err:
            return err
    for a in system.actions:
        err = by_zero(a.guard_divisions, f"the guard of action {a.name}", "in")
        if err:
            return err
        if not holds(a.guard):
            continue
        err = by_zero(a.update_divisions, f"action {a.name}", "from")
        if err:
            return err
        for vi, term in a.updates.items():
            v = system.variables[vi]
            if v.kind == "bool":
                continue
            value = _value(z3.simplify(z3.substitute(term, *sub)), f"action {a.name}'s update of {v.name}")
            if not v.lo <= value <= v.hi:
                return DomainError(
                    f"action {a.name} sets {v.name} to {value}, outside its domain "
                    f"{v.lo}..{v.hi}, from the state {state}; widen the domain or strengthen the guard")
    return None
