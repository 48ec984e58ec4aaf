"""The spec language: a thin tracing layer over Z3's Python expressions.

A model declares parameters, variables with finite domains, actions, failure modes
and properties. An action is a plain Python function over a state proxy: reading
`s.pc` gives a Z3 term, `when(...)` records the guard, assigning `s.pc = ...` records an
update. `Model.build(params)` runs every action once on symbolic variables and keeps
the resulting terms; engines only ever see those terms (see `system.py`). Because the
same terms feed the explicit engine (compiled to Python) and the Z3 engine, there is
exactly one definition of every action.

Example::

    m = Model("counter", "A counter that counts to a bound.")
    m.param("bound", 3, min=1, doc="how far to count")

    @m.variables
    def _(p):
        return [Var("n", Int(0, p.bound), "the count")]

    @m.action
    def Inc(s):
        "Add one."
        when(s.n < s.params.bound)
        s.n += 1

    @m.sometimes(expect="reachable")
    def AtBound(s):
        return s.n == s.params.bound

Semantics of an action body: it runs top to bottom like Python. An assignment takes
effect at once, so a later read sees the new value; a `when` reads the values at the
point where it stands (put guards first to read the state before the step). Variables
not assigned keep their values. Reading `a[i]` with a symbolic `i` is an if-then-else
over the cells; `a[i] = v` updates the cell that `i` names. Parameters are plain Python
values (`s.params.messages`), so a Python `if` on a parameter is fine and picks a
variant of the action once, when the model is built.
"""

from __future__ import annotations

import inspect
import keyword
import re
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Callable, Iterable

import z3

from checker.errors import CheckerError, SpecError
from checker.lang.system import ActionInst, FlatVar, PropInst, System, nested

__all__ = [
    "Model", "Var", "Int", "Bool", "Enum", "Array", "FailureMode",
    "when", "ite", "And", "Or", "Not", "Implies", "any_of", "all_of", "UNBOUNDED", "is_unbounded", "indices",
]

And, Or, Not, Implies = z3.And, z3.Or, z3.Not, z3.Implies

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
# The value of a parameter declared with unbounded=True when the user gives `unbounded`;
# a failure mode whose budget has this value fires without limit and keeps no counter.
UNBOUNDED = "unbounded"


def is_unbounded(value: Any) -> bool:
    """Whether a parameter's value is the word `unbounded`. A type test first: under
    `prove` a parameter may be a Z3 term, whose == would build a formula."""
    return isinstance(value, str) and value == UNBOUNDED
_FAIRNESS = ("weak", "strong")
_KINDS = {"always": ("holds", "violated"), "sometimes": ("reachable", "unreachable"),
          "eventually": ("holds", "violated")}


# --------------------------------------------------------------------------- domains

# Set by checker/symbolic.py while it traces a model with some parameters left as Z3
# terms (for `prove`): domain bounds and array sizes may then be terms too.
_symbolic_params = [False]


def _symbolic_int(x: Any) -> bool:
    return _symbolic_params[0] and isinstance(x, z3.ArithRef) and x.is_int()


class Int:
    """Integers lo..hi, both included."""

    def __init__(self, lo: int, hi: int):
        if _symbolic_int(lo) or _symbolic_int(hi):
            if not all(isinstance(b, int) or _symbolic_int(b) for b in (lo, hi)):
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
        if _symbolic_int(size):
            size = z3.simplify(size)  # a size left symbolic by `prove`; concrete ones stay ints
            if z3.is_int_value(size):
                size = size.as_long()
        if not (isinstance(size, int) or _symbolic_int(size)) or (isinstance(size, int) and size < 1):
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


def _flatten(var: Var) -> list[tuple[FlatVar, int]]:
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


# --------------------------------------------------------------------------- tracing

class _Recorder:
    def __init__(self, where: str, is_action: bool):
        self.where, self.is_action = where, is_action
        self.guards: list[z3.BoolRef] = []


_active: list[_Recorder] = []
_orig_bool = z3.AstRef.__bool__


def _traced_bool(self: z3.AstRef) -> bool:
    # Python `if`/`and`/`or`/`not` on a symbolic term would silently pick one branch
    # while tracing; stop with a message that says what to write instead.
    if _active and not (z3.is_true(self) or z3.is_false(self)):
        raise SpecError(
            f"{_active[-1].where}: Python `if`, `and`, `or`, `not` or a chained comparison "
            f"was applied to the symbolic term `{self}`; use when(...) for a guard, ite(c, a, b) for a value, "
            "and And/Or/Not to combine conditions"
        )
    return _orig_bool(self)


z3.AstRef.__bool__ = _traced_bool  # type: ignore[method-assign]


def when(*conditions: Any) -> None:
    """The action is enabled only when every condition holds (call it in an action)."""
    if not _active or not _active[-1].is_action:
        raise SpecError("when() can only be called inside an action, while the model is built")
    rec = _active[-1]
    for c in conditions:
        rec.guards.append(_as_bool(c, f"{rec.where}: when()"))


def ite(cond: Any, then: Any, other: Any) -> z3.ExprRef:
    """If-then-else on terms: the value is `then` where `cond` holds, else `other`."""
    return z3.If(_as_bool(cond, "ite()"), _as_term(then), _as_term(other))


class _Indices:
    """0..n-1 with n a term (a parameter `prove` leaves symbolic): all_of/any_of quantify."""

    _count = 0

    def __init__(self, n: z3.ArithRef):
        self.n = n

    def __iter__(self):
        raise SpecError(f"indices({self.n}) has a symbolic length: use it in all_of(...) or any_of(...)")

    def _quantify(self, pred: Callable[[Any], Any] | None, forall: bool) -> z3.BoolRef:
        _Indices._count += 1
        i = z3.Int(f"i!{_Indices._count}")
        body = _as_bool(pred(i) if pred else i, "all_of()" if forall else "any_of()")
        rng = z3.And(i >= 0, i < self.n)
        return z3.ForAll([i], z3.Implies(rng, body)) if forall else z3.Exists([i], z3.And(rng, body))


def indices(n: Any) -> Any:
    """The indices 0..n-1, to use in all_of/any_of: `all_of(indices(p.messages), lambda o: ...)`.

    With a number this is range(n); when `prove` leaves n symbolic (every number of
    messages at once) all_of/any_of become a quantifier over 0 <= i < n.
    """
    if isinstance(n, int) and not isinstance(n, bool):
        return range(n)
    if isinstance(n, z3.ArithRef) and n.is_int():
        return _Indices(n)
    raise SpecError(f"indices({n!r}): expected a number of indices")


def any_of(items: Iterable[Any], pred: Callable[[Any], Any] | None = None) -> z3.BoolRef:
    """Some item satisfies pred (or is true); false for no items."""
    if hasattr(items, "_quantify"):  # a symbolic range or array (see indices(), symbolic.py)
        return items._quantify(pred, False)  # type: ignore[union-attr]
    terms = [_as_bool(pred(x) if pred else x, "any_of()") for x in items]
    return z3.Or(terms) if terms else z3.BoolVal(False)


def all_of(items: Iterable[Any], pred: Callable[[Any], Any] | None = None) -> z3.BoolRef:
    """Every item satisfies pred (or is true); true for no items."""
    if hasattr(items, "_quantify"):  # a symbolic range or array (see indices(), symbolic.py)
        return items._quantify(pred, True)  # type: ignore[union-attr]
    terms = [_as_bool(pred(x) if pred else x, "all_of()") for x in items]
    return z3.And(terms) if terms else z3.BoolVal(True)


def _as_bool(c: Any, where: str) -> z3.BoolRef:
    if isinstance(c, bool):
        return z3.BoolVal(c)
    if isinstance(c, z3.BoolRef):
        return c
    raise SpecError(f"{where}: expected a condition (a comparison or And/Or/Not of them), got {c!r}")


def _as_term(x: Any) -> z3.ExprRef:
    if isinstance(x, bool):
        return z3.BoolVal(x)
    if isinstance(x, int):
        return z3.IntVal(x)
    if isinstance(x, z3.ExprRef):
        return x
    raise SpecError(f"expected an integer, boolean or term, got {x!r}")


def _coerce(value: Any, fv: FlatVar, where: str) -> z3.ExprRef:
    """Check that a value assigned to a variable has the variable's type."""
    if fv.kind == "bool":
        if isinstance(value, (bool, z3.BoolRef)):
            return _as_bool(value, where)
        raise SpecError(f"{where}: {fv.name} is a boolean; cannot assign {value!r}")
    if isinstance(value, bool) or isinstance(value, z3.BoolRef):
        raise SpecError(f"{where}: {fv.name} holds numbers; cannot assign the condition {value!r}")
    if isinstance(value, int):
        return z3.IntVal(value)
    if isinstance(value, z3.ArithRef) and value.is_int():
        return value
    raise SpecError(f"{where}: cannot assign {value!r} to {fv.name}")


class ArrayView:
    """An array variable inside an action or property: index it with ints or terms."""

    def __init__(self, cells: list, metas: list, name: str, rec: _Recorder, writable: bool):
        self._cells, self._metas, self._name = cells, metas, name
        self._rec, self._writable = rec, writable

    def __len__(self) -> int:
        return len(self._cells)

    def __iter__(self):
        return (self[i] for i in range(len(self._cells)))

    def _concrete(self, i: Any) -> int | None:
        if isinstance(i, bool):
            raise SpecError(f"{self._rec.where}: {self._name} indexed by a boolean")
        if isinstance(i, int):
            if not 0 <= i < len(self._cells):
                raise SpecError(
                    f"{self._rec.where}: index {i} is out of range for {self._name} "
                    f"(0..{len(self._cells) - 1})"
                )
            return i
        if isinstance(i, z3.ArithRef) and i.is_int():
            return None
        raise SpecError(f"{self._rec.where}: {self._name} must be indexed by an integer, got {i!r}")

    def __getitem__(self, i: Any) -> Any:
        k = self._concrete(i)
        if k is not None:
            if isinstance(self._cells[k], list):
                return ArrayView(self._cells[k], self._metas[k], f"{self._name}[{k}]",
                                 self._rec, self._writable)
            return self._cells[k]
        if isinstance(self._cells[0], list):
            raise SpecError(
                f"{self._rec.where}: {self._name} is an array of arrays; index its outer "
                "dimension with a concrete number (an action index), not a term"
            )
        # A symbolic read is an if-then-else over every cell (the last one is the default).
        out = self._cells[-1]
        for j in range(len(self._cells) - 2, -1, -1):
            out = z3.If(i == j, self._cells[j], out)
        return out

    def __setitem__(self, i: Any, value: Any) -> None:
        if not self._writable:
            raise SpecError(f"{self._rec.where}: properties cannot assign to {self._name}")
        k = self._concrete(i)
        if k is not None:
            if isinstance(self._cells[k], list):
                raise SpecError(f"{self._rec.where}: assign to elements of {self._name}[{k}], not the whole row")
            self._cells[k] = _coerce(value, self._metas[k], self._rec.where)
            return
        if isinstance(self._cells[0], list):
            raise SpecError(f"{self._rec.where}: {self._name} is an array of arrays; index it with a number first")
        for j in range(len(self._cells)):
            v = _coerce(value, self._metas[j], self._rec.where)
            self._cells[j] = z3.If(i == j, v, self._cells[j])


class State:
    """What an action or property sees: variables as Z3 terms, `params` as Python values."""

    def __init__(self, store: dict[str, Any], metas: dict[str, Any], params: Any,
                 rec: _Recorder, writable: bool):
        object.__setattr__(self, "_store", store)
        object.__setattr__(self, "_metas", metas)
        object.__setattr__(self, "_rec", rec)
        object.__setattr__(self, "_writable", writable)
        object.__setattr__(self, "params", params)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)  # Python's own protocol probes (copy, pickle, ...)
        store = object.__getattribute__(self, "_store")
        if name not in store:
            raise SpecError(
                f"{self._rec.where}: no variable {name!r}; the variables are {', '.join(store)}"
            )
        cell = store[name]
        if isinstance(cell, list):
            return ArrayView(cell, self._metas[name], name, self._rec, self._writable)
        return cell

    def __setattr__(self, name: str, value: Any) -> None:
        if not self._writable:
            raise SpecError(f"{self._rec.where}: properties cannot assign to {name}")
        if name not in self._store:
            raise SpecError(
                f"{self._rec.where}: no variable {name!r} to assign; the variables are {', '.join(self._store)}"
            )
        if isinstance(self._store[name], list):
            raise SpecError(f"{self._rec.where}: {name} is an array; assign its elements, e.g. s.{name}[i] = ...")
        self._store[name] = _coerce(value, self._metas[name], self._rec.where)

    def at(self, i: int) -> "At":
        """A view of component i: every array variable is indexed by i, scalars pass through."""
        return At(self, i)


class At:
    """`s.at(i)`: lets one action body serve a model where each variable is an array."""

    def __init__(self, s: State, i: int):
        object.__setattr__(self, "_s", s)
        object.__setattr__(self, "_i", i)
        object.__setattr__(self, "params", s.params)

    def __getattr__(self, name: str) -> Any:
        v = getattr(self._s, name)
        return v[self._i] if isinstance(v, ArrayView) else v

    def __setattr__(self, name: str, value: Any) -> None:
        v = getattr(self._s, name)
        if isinstance(v, ArrayView):
            v[self._i] = value
        else:
            setattr(self._s, name, value)


# --------------------------------------------------------------------------- declarations

@dataclass
class Param:
    name: str
    default: Any
    doc: str
    min: int | None = None
    max: int | None = None
    choices: tuple[str, ...] | None = None
    unbounded: bool = False  # also accepts the value `unbounded` (UNBOUNDED)

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
                raise CheckerError(f"{self.name}={raw}: must be one of {', '.join(self.choices)}")
            return raw
        if self.unbounded and raw == UNBOUNDED:
            return UNBOUNDED
        if isinstance(raw, str):
            try:
                raw = int(raw, 10)
            except ValueError:
                also = " or `unbounded`" if self.unbounded else ""
                raise CheckerError(f"{self.name}={raw}: expected an integer{also}") from None
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise CheckerError(f"{self.name}={raw!r}: expected an integer")
        if (self.min is not None and raw < self.min) or (self.max is not None and raw > self.max):
            raise CheckerError(f"{self.name}={raw} is out of range: it must be {self.describe_range()}")
        return raw


@dataclass
class _ActionDecl:
    fn: Callable
    name: str
    over: Any  # None, a parameter name, or a callable params -> iterable of ints
    at: bool
    failure: "FailureMode | None"


@dataclass
class _PropDecl:
    fn: Callable
    name: str
    kind: str
    expect: Any  # a verdict string or a callable params -> verdict string
    fair: Any  # None (the model's fairness), names, {name: "weak"|"strong"}, or params -> either


@dataclass
class Pictures:
    """A model's drawing hints, from `Model.pictures` (see there); presentation only."""

    project: tuple[str, ...] = ()
    lanes: tuple[str, ...] = ()
    actors: dict[str, tuple[str, ...]] | None = None
    columns: dict[str, Callable] | None = None
    instances: tuple[dict[str, Any], ...] = ({},)


def _doc_lines(fn: Callable) -> tuple[str, str]:
    doc = inspect.getdoc(fn) or ""
    first, _, rest = doc.partition("\n")
    return first.strip(), rest.strip()


class FailureMode:
    """A named, opt-in, budgeted perturbation: its actions fire at most `budget` times.

    The mode owns a counter variable (0..budget) and adds `counter < budget` to the
    guard and `counter += 1` to the effect of each of its actions, so the actions
    themselves only say what the failure does.
    """

    def __init__(self, model: "Model", name: str, budget: str, counter: str, doc: str, default: bool):
        self.model, self.name, self.budget, self.counter = model, name, budget, counter
        self.doc, self.default = doc, default

    def action(self, fn: Callable | None = None, *, over: Any = None, at: bool = False, name: str | None = None):
        """Declare an action of this failure mode (same options as `Model.action`)."""
        return self.model.action(fn, over=over, at=at, name=name, _failure=self)


class Model:
    """A named model: parameters, variables, actions, failure modes and properties."""

    picture_spec: Pictures = Pictures()  # replaced by `pictures(...)`

    def __init__(self, name: str, doc: str = ""):
        if not _NAME.match(name):
            raise SpecError(f"model name {name!r} must be letters, digits, '_' or '-'")
        self.name, self.doc = name, inspect.cleandoc(doc)
        self.params: dict[str, Param] = {}
        self.failure_modes: dict[str, FailureMode] = {}
        self._variables: Callable | None = None
        self._actions: list[_ActionDecl] = []
        self._props: list[_PropDecl] = []
        self.symmetries: list[str] = []  # parameters whose indices are interchangeable
        self._fairness: Any = ()  # what `eventually` properties assume unless they say otherwise

    # -- declaration ---------------------------------------------------------------

    def symmetric(self, param: str) -> None:
        """Declare the indices 0..param-1 interchangeable: renaming them maps every
        state, action and property onto another of the same model.

        It covers the arrays whose first dimension has `param` cells and the actions
        declared `over=param`; `verify --symmetry` checks the claim with Z3 before it
        uses it, and then explores one state per orbit."""
        if param not in self.params:
            raise SpecError(f"model {self.name}: symmetric({param!r}) names no parameter; "
                            f"declare it first with model.param")
        self.symmetries.append(param)

    def param(self, name: str, default: Any, *, doc: str = "", min: int | None = None,
              max: int | None = None, choices: Iterable[str] | None = None,
              unbounded: bool = False) -> None:
        """Declare a parameter with its default and its allowed range or choices.

        unbounded=True also accepts the value `unbounded` (the constant UNBOUNDED): a
        failure-mode budget with that value lets the mode fire any number of times.
        """
        if not name.isidentifier() or keyword.iskeyword(name):
            raise SpecError(f"parameter name {name!r} must be a Python identifier")
        if name in self.params:
            raise SpecError(f"model {self.name}: parameter {name!r} is declared twice")
        p = Param(name, default, doc, min, max, tuple(choices) if choices else None, unbounded)
        try:
            p.parse(default)
        except CheckerError as e:
            raise SpecError(f"model {self.name}: the default of {e}") from None
        self.params[name] = p

    def variables(self, fn: Callable) -> Callable:
        """Decorator: fn(params) returns the list of `Var`s (domains may use params)."""
        if self._variables is not None:
            raise SpecError(f"model {self.name}: variables are declared twice")
        self._variables = fn
        return fn

    def action(self, fn: Callable | None = None, *, over: Any = None, at: bool = False,
               name: str | None = None, _failure: FailureMode | None = None):
        """Decorator: declare an action; its docstring's first line describes it in tables.

        over: a parameter name (indices 0..value-1) or a callable params -> indices;
        the action then takes (s, i), or with at=True it gets the view `s.at(i)`.
        """
        def register(f: Callable) -> Callable:
            n = name or f.__name__
            if not _NAME.match(n):
                raise SpecError(f"action name {n!r} must be letters, digits, '_' or '-'")
            if any(a.name == n for a in self._actions):
                raise SpecError(f"model {self.name}: action {n!r} is declared twice")
            if isinstance(over, str) and over not in self.params:
                raise SpecError(f"action {n}: over={over!r} is not a parameter of model {self.name}")
            if not _doc_lines(f)[0]:
                raise SpecError(f"action {n}: give it a docstring whose first line describes it")
            self._actions.append(_ActionDecl(f, n, over, at, _failure))
            return f

        return register(fn) if fn is not None else register

    def failure_mode(self, name: str, *, budget: str, counter: str, doc: str,
                     default: bool = False) -> FailureMode:
        """Declare a failure mode whose actions fire at most `params[budget]` times in all."""
        if not _NAME.match(name):
            raise SpecError(f"failure mode name {name!r} must be letters, digits, '_' or '-'")
        if name in self.failure_modes:
            raise SpecError(f"model {self.name}: failure mode {name!r} is declared twice")
        if budget not in self.params or self.params[budget].choices:
            raise SpecError(f"failure mode {name}: budget {budget!r} must be an integer parameter declared first")
        fm = FailureMode(self, name, budget, counter, inspect.cleandoc(doc), default)
        self.failure_modes[name] = fm
        return fm

    def fairness(self, spec: Any) -> Any:
        """Declare the fairness every `eventually` property of the model assumes.

        spec: action names (weak fairness of each), a dict {name: "weak" or "strong"},
        or a function of the parameters returning either, so that a parameter can select
        the assumption. A property's own `fair=` replaces it. Fairness of an indexed
        action applies to each of its instances separately. Returns spec (a decorator).
        """
        self._fairness = spec
        return spec

    def _prop(self, kind: str, fn: Callable | None, expect: Any, fair: Any, name: str | None):
        if isinstance(expect, str) and expect not in _KINDS[kind]:
            raise SpecError(f"a {kind} property expects one of {', '.join(_KINDS[kind])}, not {expect!r}")

        def register(f: Callable) -> Callable:
            n = name or f.__name__
            if not _NAME.match(n):
                raise SpecError(f"property name {n!r} must be letters, digits, '_' or '-'")
            if any(p.name == n for p in self._props):
                raise SpecError(f"model {self.name}: property {n!r} is declared twice")
            self._props.append(_PropDecl(f, n, kind, expect, fair))
            return f

        return register(fn) if fn is not None else register

    def always(self, fn: Callable | None = None, *, expect: Any = "holds", name: str | None = None):
        """Decorator: an invariant, true in every reachable state."""
        return self._prop("always", fn, expect, None, name)

    def sometimes(self, fn: Callable | None = None, *, expect: Any = "reachable", name: str | None = None):
        """Decorator: a reachability question, answered by a shortest witness or a proof of none."""
        return self._prop("sometimes", fn, expect, None, name)

    def eventually(self, fn: Callable | None = None, *, expect: Any = "holds",
                   fair: Any = None, name: str | None = None):
        """Decorator: a liveness property: every fair run reaches a state where it is true.

        fair: the fairness assumed (see `fairness`); None takes the model's declaration.
        """
        return self._prop("eventually", fn, expect, fair, name)

    def pictures(self, *, project: Iterable[str] = (), actors: dict[str, Any] | None = None,
                 columns: dict[str, Callable] | None = None,
                 instances: Iterable[dict[str, Any]] = ({},)) -> None:
        """Declare how `diagrams` and `report` draw this model; it changes no verdict.

        project: the variables the state graph is merged over when it is too big to draw
        whole (`diagrams --project` overrides them). actors: action name -> the lane it
        happens on, or a (from, to) pair of lanes for an arrow; "{i}" in a lane name is
        the action's index; lanes appear in the order first named. columns: title -> a
        function of a `checker.render.graph.StateView` giving the text of a trace table column.
        instances: the parameter sets `diagrams --all` draws (default: the defaults only).
        """
        declared = {a.name for a in self._actions}
        lanes: list[str] = []
        for act, where in (actors or {}).items():
            if act not in declared:
                raise SpecError(f"model {self.name}: pictures(actors=...) names {act!r}, which is not an "
                                "action declared so far; declare pictures after the actions")
            pair = (where,) if isinstance(where, str) else tuple(where)
            if not 1 <= len(pair) <= 2 or not all(isinstance(x, str) and x for x in pair):
                raise SpecError(f"model {self.name}: the actor of {act} must be a lane name or a "
                                f"(from, to) pair of lane names, not {where!r}")
            for lane in pair:
                try:
                    lane.format(i=0)
                except (KeyError, IndexError, ValueError):
                    raise SpecError(f"model {self.name}: lane {lane!r} may use only {{i}} "
                                    "(the action's index)") from None
                if lane not in lanes:
                    lanes.append(lane)
        for title, fn in (columns or {}).items():
            if not callable(fn):
                raise SpecError(f"model {self.name}: pictures column {title!r} must be a function of the state")
        inst = tuple(dict(i) for i in instances)
        for i in inst:
            try:
                self.resolve_params(i)
            except CheckerError as e:
                raise SpecError(f"model {self.name}: pictures(instances=...): {e}") from None
        self.picture_spec = Pictures(tuple(project), tuple(lanes),
                                     {k: (v,) if isinstance(v, str) else tuple(v) for k, v in (actors or {}).items()},
                                     dict(columns or {}), inst)

    # -- building ------------------------------------------------------------------

    def resolve_params(self, given: dict[str, Any] | None = None) -> dict[str, Any]:
        """All parameters, defaults filled in; unknown names and bad values are CheckerErrors."""
        given = dict(given or {})
        for k in given:
            if k not in self.params:
                known = ", ".join(self.params) or "none"
                raise CheckerError(f"unknown parameter {k!r} for model {self.name}; known: {known}")
        return {k: p.parse(given[k]) if k in given else p.default for k, p in self.params.items()}

    def resolve_failures(self, enable: Iterable[str] = (), disable: Iterable[str] = ()) -> list[str]:
        chosen = {n for n, f in self.failure_modes.items() if f.default}
        for n in list(enable) + list(disable):
            if n not in self.failure_modes:
                known = ", ".join(self.failure_modes) or "none"
                raise CheckerError(f"unknown failure mode {n!r} for model {self.name}; known: {known}")
        chosen |= set(enable)
        chosen -= set(disable)
        return [n for n in self.failure_modes if n in chosen]  # declaration order

    def build(self, params: dict[str, Any] | None = None, enable: Iterable[str] = (),
              disable: Iterable[str] = ()) -> System:
        """Fix the parameters and failure modes, trace every action and property once."""
        values = self.resolve_params(params)
        failures = self.resolve_failures(enable, disable)
        p = SimpleNamespace(**values, failure_modes=tuple(failures))
        tracer = _Tracer(self._declared_vars(p, failures), p)
        actions = [self._trace_action(tracer, a, idx)
                   for a in self._actions
                   if a.failure is None or a.failure.name in failures
                   for idx in self._indices(a, p)]
        props = [self._trace_property(tracer, d, p, actions) for d in self._props]
        defaults = [n for n, f in self.failure_modes.items() if f.default]
        return System(self.name, values, failures, tracer.flat, tracer.consts, tuple(tracer.init),
                      actions, props, tracer.roots, defaults, symmetric=list(self.symmetries))

    def _declared_vars(self, p: Any, failures: list[str]) -> list[Var]:
        if self._variables is None:
            raise SpecError(f"model {self.name}: declare its variables with @model.variables")
        with _user_code(f"model {self.name}: variables()"):
            decl = list(self._variables(p))
        for n in failures:
            fm = self.failure_modes[n]
            if is_unbounded(getattr(p, fm.budget)):
                continue  # no limit, so no counter to keep: the state space stays finite
            if not any(isinstance(v, Var) and v.name == fm.counter for v in decl):  # modes may share one
                decl.append(Var(fm.counter, Int(0, getattr(p, fm.budget)),
                                f"{fm.name} failures so far (budget {fm.budget})"))
        return decl

    def _trace_action(self, tracer: "_Tracer", a: _ActionDecl, idx: int | None) -> ActionInst:
        label = a.name if idx is None else f"{a.name}({idx})"
        rec = _Recorder(f"action {label}", True)
        s, store = tracer.state(rec, True)
        fm = a.failure if a.failure is not None and not is_unbounded(getattr(tracer.p, a.failure.budget)) else None
        with _user_code(rec.where, rec):
            if fm is not None:  # the budget: counter < budget, then counter += 1
                when(getattr(s, fm.counter) < getattr(s.params, fm.budget))
            if idx is None:
                a.fn(s)
            elif a.at:
                a.fn(s.at(idx))
            else:
                a.fn(s, idx)
            if fm is not None:
                setattr(s, fm.counter, getattr(s, fm.counter) + 1)
        guard = z3.simplify(z3.And(rec.guards)) if rec.guards else z3.BoolVal(True)
        updates = {}
        for i, term in enumerate(tracer.cells(store)):
            term = z3.simplify(term)
            if not term.eq(tracer.consts[i]):
                updates[i] = term
        desc, note = _doc_lines(a.fn)
        return ActionInst(label, a.name, idx, desc, note, guard, updates,
                          a.failure.name if a.failure else None)

    def _trace_property(self, tracer: "_Tracer", d: _PropDecl, p: Any,
                        actions: list[ActionInst]) -> PropInst:
        rec = _Recorder(f"property {d.name}", False)
        s, _ = tracer.state(rec, False)
        with _user_code(rec.where, rec):
            formula = _as_bool(d.fn(s), f"property {d.name}")
        premises = _premises(formula)
        with _user_code(f"property {d.name}: its expectation"):
            expected = d.expect(p) if callable(d.expect) else d.expect
        if expected not in _KINDS[d.kind]:
            raise SpecError(f"property {d.name}: expectation {expected!r} is not one of "
                            f"{', '.join(_KINDS[d.kind])}")
        fairness = self._resolve_fairness(d, p, actions) if d.kind == "eventually" else ()
        return PropInst(d.name, d.kind, expected, z3.simplify(formula), _doc_lines(d.fn)[0],
                        tuple(n for n, _ in fairness), fairness, premises)

    def _resolve_fairness(self, d: _PropDecl, p: Any, actions: list[ActionInst]) -> tuple[tuple[str, str], ...]:
        """The property's fairness as ((action name, "weak" or "strong"), ...) in declaration order."""
        spec = self._fairness if d.fair is None else d.fair
        where = f"property {d.name}: its fairness"
        if callable(spec):
            with _user_code(where):
                spec = spec(p)
        if isinstance(spec, str):
            spec = (spec,)
        if isinstance(spec, dict):
            pairs = list(spec.items())
        else:
            try:
                pairs = [(n, "weak") for n in spec]
            except TypeError:
                raise SpecError(f"{where} must be action names or a dict name -> weak|strong, got {spec!r}") from None
        out = []
        for n, kind in pairs:
            if kind not in _FAIRNESS:
                raise SpecError(f"{where}: {n!r} must be fair 'weak' or 'strong', not {kind!r}")
            if not any(a.base == n for a in actions):
                raise SpecError(f"property {d.name}: fair action {n!r} is not an action of {self.name}")
            out.append((n, kind))
        order = [a.base for a in actions]
        return tuple(sorted(out, key=lambda nk: order.index(nk[0])))

    def _indices(self, a: _ActionDecl, p: Any) -> list[int | None]:
        if a.over is None:
            return [None]
        with _user_code(f"action {a.name}: over"):
            out = list(range(getattr(p, a.over)) if isinstance(a.over, str) else a.over(p))
        if not all(isinstance(i, int) for i in out):
            raise SpecError(f"action {a.name}: over must give integer indices")
        return out


def _premises(formula: z3.BoolRef) -> tuple[z3.BoolRef, ...]:
    """The premise of every implication in a property, for the vacuity check."""
    out: dict[str, z3.BoolRef] = {}
    seen: set[int] = set()
    stack = [formula]
    while stack:  # a DAG: visit each node once
        e = stack.pop()
        if e.get_id() in seen:
            continue
        seen.add(e.get_id())
        if z3.is_app_of(e, z3.Z3_OP_IMPLIES):
            premise = e.children()[0]  # as written (simplify would turn 0 < x into Not(x <= 0))
            out.setdefault(str(premise), premise)
        stack.extend(e.children())
    return tuple(out[k] for k in sorted(out))


@contextmanager
def _user_code(where: str, rec: _Recorder | None = None):
    """Run a model's own code; any error in it becomes a one-line SpecError naming where."""
    if rec is not None:
        _active.append(rec)
    try:
        yield
    except CheckerError:
        raise
    except z3.Z3Exception as e:
        raise SpecError(f"{where}: {e}") from None
    except Exception as e:
        raise SpecError(f"{where}: {type(e).__name__}: {e}") from None
    finally:
        if rec is not None:
            _active.pop()


class _Tracer:
    """The flat variables of one build and fresh symbolic states over them."""

    def __init__(self, decl: list[Any], p: Any):
        self.p = p
        self.flat: list[FlatVar] = []
        self.init: list[int] = []
        self.roots: list[tuple[str, str, str]] = []
        for v in decl:
            if not isinstance(v, Var):
                raise SpecError(f"variables() must return Var(...) items, got {v!r}")
            if not v.name.isidentifier() or v.name == "params" or v.name.startswith("_"):
                raise SpecError(f"variable name {v.name!r} must be an identifier, not 'params' or '_...'")
            if any(r[0] == v.name for r in self.roots):
                raise SpecError(f"variable {v.name!r} is declared twice")
            self.roots.append((v.name, repr(v.domain), inspect.cleandoc(v.doc)))
            for fv, x in _flatten(v):
                self.flat.append(fv)
                self.init.append(x)
        self.consts = [z3.Bool(fv.name) if fv.kind == "bool" else z3.Int(fv.name) for fv in self.flat]

    def state(self, rec: _Recorder, writable: bool) -> tuple[State, dict]:
        """A state whose variables are the constants; arrays are nested lists of them."""
        store, metas = nested(zip(self.flat, self.consts))
        return State(store, metas, self.p, rec, writable), store

    @staticmethod
    def cells(store: dict) -> list:
        """The store's terms in flat-variable order (arrays in index order)."""
        out: list = []

        def walk(c: Any) -> None:
            if isinstance(c, list):
                for x in c:
                    walk(x)
            else:
                out.append(c)

        for v in store.values():
            walk(v)
        return out
