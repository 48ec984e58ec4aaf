"""Tracing: an action or property body runs once on symbolic variables, and what it
reads, guards and assigns is recorded as Z3 terms (`State`, `ArrayView`, `when`, `ite`,
`any_of`, `all_of`, `indices`).

`Tracer` is the one tracer of a build, used by `Model.build` and by the symbolic build
of `prove` (`engines/symbolic.py`); the two differ only in the mode passed in
(`CONCRETE`, or the symbolic build's), which says what a declared variable becomes.
An array of symbolic size stays one Z3 array term (read with Select, written with
Store, seen through `ZView`); everything else is a nest of scalar terms.

`/`, `//` and `%` on integer terms are Python's: a body that divides has its terms
rewritten by `arith.PythonArith`, and (in the concrete build) the divisions that may
divide by zero recorded with the condition under which each is evaluated.
"""

from __future__ import annotations

import inspect
import itertools
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import z3

from checker.errors import CheckerError, SpecError
from checker.lang.arith import Bounds, Division, PythonArith, divisions
from checker.lang.declare import Var, flatten, is_unbounded
from checker.lang.system import FlatVar, nested


class Recorder:
    """What tracing one body records (its guards) and where it runs, for messages.

    symbolic: the body is traced by the symbolic build, whose refusals advise for `prove`.
    """

    def __init__(self, where: str, is_action: bool, symbolic: bool = False):
        self.where, self.is_action, self.symbolic = where, is_action, symbolic
        self.guards: list[z3.BoolRef] = []
        self.divides = False  # whether the body divided a term (then its terms are rewritten)
        # Every term an action assigns (and every index it assigns at), kept even when a later
        # assignment replaces it: Python evaluates each one, so each one's divisions count.
        self.assigned: list[z3.ExprRef] = []

    def note(self, *terms: Any) -> None:
        self.assigned += [t for t in terms if isinstance(t, z3.ExprRef)]


active: list[Recorder] = []
_orig_bool = z3.AstRef.__bool__


def _traced_bool(self: z3.AstRef) -> bool:
    # Python `if`/`and`/`or`/`not` on a symbolic term would silently pick one branch
    # while tracing; stop with a message that says what to write instead.
    if active and not (z3.is_true(self) or z3.is_false(self)):
        raise SpecError(
            f"{active[-1].where}: Python `if`, `and`, `or`, `not` or a chained comparison "
            f"was applied to the symbolic term `{self}`; use when(...) for a guard, ite(c, a, b) for a value, "
            "and And/Or/Not to combine conditions"
        )
    return _orig_bool(self)


z3.AstRef.__bool__ = _traced_bool  # type: ignore[method-assign]


def _dividing(op: Callable) -> Callable:
    """Z3's operator, noting on the body being traced that it divides (see `Tracer`)."""
    def divide(a: Any, b: Any) -> Any:
        if active:
            active[-1].divides = True
        return op(a, b)
    divide.__name__ = op.__name__
    return divide


def _floordiv(a: z3.ArithRef, b: Any) -> Any:
    """`a // b` on integer terms: the same floor division as `a / b`."""
    return a / b if a.is_int() else NotImplemented


def _rfloordiv(a: z3.ArithRef, b: Any) -> Any:
    return b / a if a.is_int() else NotImplemented


for _name in ("__truediv__", "__rtruediv__", "__mod__", "__rmod__"):
    setattr(z3.ArithRef, _name, _dividing(getattr(z3.ArithRef, _name)))
z3.ArithRef.__floordiv__ = _floordiv  # type: ignore[attr-defined]
z3.ArithRef.__rfloordiv__ = _rfloordiv  # type: ignore[attr-defined]


def when(*conditions: Any) -> None:
    """The action is enabled only when every condition holds (call it in an action)."""
    if not active or not active[-1].is_action:
        raise SpecError("when() can only be called inside an action, while the model is built")
    rec = active[-1]
    for c in conditions:
        rec.guards.append(as_bool(c, f"{rec.where}: when()"))


def ite(cond: Any, then: Any, other: Any) -> z3.ExprRef:
    """If-then-else on terms: the value is `then` where `cond` holds, else `other`."""
    return z3.If(as_bool(cond, "ite()"), as_term(then), as_term(other))


# One counter for every bound variable of a traced quantifier, so no two share a name.
_bound = itertools.count(1)


def _quantified(n: Any, item: Callable[[z3.ArithRef], Any], pred: Callable[[Any], Any] | None,
                forall: bool) -> z3.BoolRef:
    """all_of/any_of over 0..n-1 with n a term: a quantifier over a fresh index i."""
    i = z3.Int(f"i!{next(_bound)}")
    x = item(i)
    body = as_bool(pred(x) if pred else x, "all_of()" if forall else "any_of()")
    rng = z3.And(i >= 0, i < n)
    return z3.ForAll([i], z3.Implies(rng, body)) if forall else z3.Exists([i], z3.And(rng, body))


class SymbolicRange:
    """0..n-1 with n a term (a parameter `prove` leaves symbolic): all_of/any_of quantify."""

    def __init__(self, n: z3.ArithRef):
        self.n = n

    def __iter__(self):
        raise SpecError(f"indices({self.n}) has a symbolic length: use it in all_of(...) or any_of(...)")

    def quantify(self, pred: Callable[[Any], Any] | None, forall: bool) -> z3.BoolRef:
        return _quantified(self.n, lambda i: i, pred, forall)


def indices(n: Any) -> Any:
    """The indices 0..n-1, to use in all_of/any_of: `all_of(indices(p.messages), lambda o: ...)`.

    With a number this is range(n); when `prove` leaves n symbolic (every number of
    messages at once) all_of/any_of become a quantifier over 0 <= i < n.
    """
    if isinstance(n, int) and not isinstance(n, bool):
        return range(n)
    if isinstance(n, z3.ArithRef) and n.is_int():
        return SymbolicRange(n)
    raise SpecError(f"indices({n!r}): expected a number of indices")


def any_of(items: Iterable[Any], pred: Callable[[Any], Any] | None = None) -> z3.BoolRef:
    """Some item satisfies pred (or is true); false for no items."""
    if isinstance(items, (SymbolicRange, ZView)):  # of symbolic length: a quantifier
        return items.quantify(pred, False)
    terms = [as_bool(pred(x) if pred else x, "any_of()") for x in items]
    return z3.Or(terms) if terms else z3.BoolVal(False)


def all_of(items: Iterable[Any], pred: Callable[[Any], Any] | None = None) -> z3.BoolRef:
    """Every item satisfies pred (or is true); true for no items."""
    if isinstance(items, (SymbolicRange, ZView)):  # of symbolic length: a quantifier
        return items.quantify(pred, True)
    terms = [as_bool(pred(x) if pred else x, "all_of()") for x in items]
    return z3.And(terms) if terms else z3.BoolVal(True)


def as_bool(c: Any, where: str) -> z3.BoolRef:
    if isinstance(c, bool):
        return z3.BoolVal(c)
    if isinstance(c, z3.BoolRef):
        return c
    raise SpecError(f"{where}: expected a condition (a comparison or And/Or/Not of them), got {c!r}")


def as_term(x: Any) -> z3.ExprRef:
    if isinstance(x, bool):
        return z3.BoolVal(x)
    if isinstance(x, int):
        return z3.IntVal(x)
    if isinstance(x, z3.ExprRef):
        return x
    raise SpecError(f"expected an integer, boolean or term, got {x!r}")


def coerce(value: Any, fv: FlatVar, where: str) -> z3.ExprRef:
    """Check that a value assigned to a variable has the variable's type."""
    if fv.kind == "bool":
        if isinstance(value, (bool, z3.BoolRef)):
            return as_bool(value, where)
        raise SpecError(f"{where}: {fv.name} is a boolean; cannot assign {value!r}")
    if isinstance(value, z3.ArithRef) and value.is_int():
        return value  # the common case, before any message is formatted: a term's repr can take seconds
    if isinstance(value, z3.BoolRef):
        raise SpecError(f"{where}: {fv.name} holds numbers; cannot assign the condition {value!r}")
    return int_term(value, f"{where}: {fv.name} holds numbers; cannot assign the condition {value!r}",
                    f"{where}: cannot assign {value!r} to {fv.name}")


def int_term(x: Any, if_bool: str, otherwise: str) -> z3.ArithRef:
    """x as an integer term (a Python int or an integer term); a boolean or anything else is a
    SpecError with the caller's message (Python's bool is an int, so it is refused first)."""
    if isinstance(x, bool):
        raise SpecError(if_bool)
    if isinstance(x, int):
        return z3.IntVal(x)
    if isinstance(x, z3.ArithRef) and x.is_int():
        return x
    raise SpecError(otherwise)


class ArrayView:
    """An array variable inside an action or property: index it with ints or terms.

    Its cells are terms, nested lists of them (an array of arrays), or, in the symbolic
    build, Z3 array terms (an inner array of symbolic size, seen through `ZView`).
    """

    def __init__(self, cells: list, metas: list, name: str, rec: Recorder, writable: bool):
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

    def _nested(self) -> bool:
        """Whether the cells are arrays themselves (then a term cannot index this one)."""
        return isinstance(self._cells[0], (list, z3.ArrayRef))

    def __getitem__(self, i: Any) -> Any:
        k = self._concrete(i)
        if k is not None:
            cell, name = self._cells[k], f"{self._name}[{k}]"
            if isinstance(cell, list):
                return ArrayView(cell, self._metas[k], name, self._rec, self._writable)
            if isinstance(cell, z3.ArrayRef):
                cells = self._cells
                return ZView(lambda: cells[k], lambda v: cells.__setitem__(k, v), self._metas[k].dims,
                             self._metas[k], name, self._rec, self._writable)
            return cell
        if self._nested():
            if self._rec.symbolic:
                raise SpecError(f"{self._rec.where}: {self._name} is an array of arrays indexed by a term; "
                                "prove needs a number there (leave that size fixed)")
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
            if isinstance(self._cells[k], (list, z3.ArrayRef)):
                raise SpecError(f"{self._rec.where}: assign to elements of {self._name}[{k}], not the whole row")
            self._cells[k] = coerce(value, self._metas[k], self._rec.where)
            self._rec.note(self._cells[k])
            return
        if self._nested():
            if self._rec.symbolic:
                raise SpecError(f"{self._rec.where}: {self._name} is an array of arrays indexed by a term")
            raise SpecError(f"{self._rec.where}: {self._name} is an array of arrays; index it with a number first")
        for j in range(len(self._cells)):
            v = coerce(value, self._metas[j], self._rec.where)
            self._cells[j] = z3.If(i == j, v, self._cells[j])
        self._rec.note(i, v)


def _index(i: Any, where: str, name: str) -> z3.ArithRef:
    if isinstance(i, z3.ArithRef) and i.is_int():
        return i  # before the message below is formatted: a large term's repr takes seconds
    return int_term(i, f"{where}: {name} indexed by a boolean",
                    f"{where}: {name} must be indexed by an integer, got {i!r}")


class ZView(ArrayView):
    """An array of symbolic size (symbolic build only): reads are Select, writes Store, on
    the one Z3 array term that `get` returns and `put` replaces."""

    def __init__(self, get: Callable[[], Any], put: Callable[[Any], None], dims: tuple, meta: Any,
                 name: str, rec: Recorder, writable: bool):
        self._get, self._put, self._dims, self._meta = get, put, dims, meta
        self._name, self._rec, self._writable = name, rec, writable

    def __len__(self) -> int:
        if isinstance(self._dims[0], int):
            return self._dims[0]
        raise SpecError(f"{self._rec.where}: len({self._name}) is symbolic; use all_of/any_of over it")

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def quantify(self, pred: Callable[[Any], Any] | None, forall: bool) -> z3.BoolRef:
        return _quantified(self._dims[0], lambda i: self[i], pred, forall)

    def __getitem__(self, i: Any) -> Any:
        k = _index(i, self._rec.where, self._name)
        get, put = self._get, self._put
        if len(self._dims) > 1:
            return ZView(lambda: z3.Select(get(), k), lambda v: put(z3.Store(get(), k, v)),
                         self._dims[1:], self._meta, f"{self._name}[{i}]", self._rec, self._writable)
        return z3.Select(get(), k)

    def __setitem__(self, i: Any, value: Any) -> None:
        if not self._writable:
            raise SpecError(f"{self._rec.where}: properties cannot assign to {self._name}")
        if len(self._dims) > 1:
            raise SpecError(f"{self._rec.where}: assign to elements of {self._name}[...], not a whole row")
        k = _index(i, self._rec.where, self._name)
        v = coerce(value, self._meta, self._rec.where)
        self._put(z3.Store(self._get(), k, v))
        self._rec.note(k, v)


class State:
    """What an action or property sees: variables as Z3 terms, `params` as Python values."""

    def __init__(self, store: dict[str, Any], metas: dict[str, Any], params: Any,
                 rec: Recorder, writable: bool):
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
        if isinstance(cell, z3.ArrayRef):
            return ZView(lambda: store[name], lambda v: store.__setitem__(name, v), self._metas[name].dims,
                         self._metas[name], name, self._rec, self._writable)
        return cell

    def __setattr__(self, name: str, value: Any) -> None:
        if not self._writable:
            raise SpecError(f"{self._rec.where}: properties cannot assign to {name}")
        if name not in self._store:
            raise SpecError(
                f"{self._rec.where}: no variable {name!r} to assign; the variables are {', '.join(self._store)}"
            )
        if isinstance(self._store[name], (list, z3.ArrayRef)):
            raise SpecError(f"{self._rec.where}: {name} is an array; assign its elements, e.g. s.{name}[i] = ...")
        self._store[name] = coerce(value, self._metas[name], self._rec.where)
        self._rec.note(self._store[name])

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


@contextmanager
def user_code(where: str, rec: Recorder | None = None):
    """Run a model's own code; any error in it becomes a one-line SpecError naming where."""
    if rec is not None:
        active.append(rec)
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
            active.pop()


class Concrete:
    """The mode of `Model.build`: every array flattened into scalar variables (FlatVar)."""

    symbolic = False

    @staticmethod
    def variables(v: Var) -> list[tuple[Any, Any]]:
        """The flat variables of one declared variable, with their initial values."""
        return flatten(v)

    @staticmethod
    def const(fv: FlatVar) -> z3.ExprRef:
        """The Z3 constant that stands for a flat variable in every term."""
        return z3.Bool(fv.name) if fv.kind == "bool" else z3.Int(fv.name)


CONCRETE = Concrete()


@dataclass
class TracedAction:
    """One action instance traced: its label, guard and updated variables, and the divisions
    that may divide by zero in its guard and in its updates (concrete build only)."""

    label: str  # "Poll", "Poll(1)", or "Poll(i)" for a symbolic index
    guard: z3.BoolRef
    updates: dict[int, z3.ExprRef]  # variable index -> new value, for the variables it changes
    guard_divisions: tuple[Division, ...] = ()
    update_divisions: tuple[Division, ...] = ()  # evaluated when the guard holds


@dataclass
class TracedProperty:
    """One property traced: its formula (unsimplified) and the divisions that may divide by zero."""

    formula: z3.BoolRef
    divisions: tuple[Division, ...] = ()


class Tracer:
    """The one tracer of a build: its variables, and action and property bodies traced on them.

    decl: the declared variables; p: the parameters (Python values, or Z3 terms for those
    the symbolic build leaves symbolic); mode: what a declared variable becomes
    (`variables(v)` gives (variable, initial value) pairs, each variable with a root and a
    path, `const(variable)` its Z3 constant) and whether the build is symbolic.
    """

    def __init__(self, decl: list[Any], p: Any, mode: Any = CONCRETE):
        self.p, self.mode = p, mode
        self.variables: list[Any] = []
        self.init: list[Any] = []
        self.roots: list[tuple[str, str, str]] = []
        for v in decl:
            if not isinstance(v, Var):
                raise SpecError(f"variables() must return Var(...) items, got {v!r}")
            if not v.name.isidentifier() or v.name == "params" or v.name.startswith("_"):
                raise SpecError(f"variable name {v.name!r} must be an identifier, not 'params' or '_...'")
            if any(r[0] == v.name for r in self.roots):
                raise SpecError(f"variable {v.name!r} is declared twice")
            self.roots.append((v.name, repr(v.domain), inspect.cleandoc(v.doc)))
            for var, x in mode.variables(v):
                self.variables.append(var)
                self.init.append(x)
        self.consts = [mode.const(var) for var in self.variables]
        # Interval bounds from the domains, to skip divisors that cannot be zero (concrete build).
        doms = {c.get_id(): (v.lo, v.hi) for c, v in zip(self.consts, self.variables)
                if not mode.symbolic and v.kind != "bool"}
        self.bounds = Bounds(lambda c: doms.get(c.get_id()))

    def state(self, rec: Recorder, writable: bool) -> tuple[State, dict]:
        """A state whose variables are the constants; arrays are nested lists of them."""
        store, metas = nested(zip(self.variables, self.consts))
        return State(store, metas, self.p, rec, writable), store

    def indices(self, a: Any) -> list[Any]:
        """The indices action declaration `a` is traced at: [None] when it has none, each
        of `over`, or one symbolic index when `over` names a parameter left symbolic."""
        if a.over is None:
            return [None]
        with user_code(f"action {a.name}: over"):
            n = getattr(self.p, a.over) if isinstance(a.over, str) else None
            if isinstance(n, z3.ArithRef):
                return [z3.Int(f"{a.name}.index")]
            out = list(range(n) if isinstance(a.over, str) else a.over(self.p))
        if not all(isinstance(i, int) for i in out):
            raise SpecError(f"action {a.name}: over must give integer indices")
        return out

    def action(self, a: Any, idx: Any) -> TracedAction:
        """Trace action declaration `a` (fn, name, at, failure) at index idx.

        An action that spends a failure mode's bounded budget (every action of a mode but
        those declared `budget=False`) gets `counter < budget` in its guard and `counter += 1`
        in its effect, so the body says only what fails.
        """
        label = a.name if idx is None else f"{a.name}(i)" if isinstance(idx, z3.ExprRef) else f"{a.name}({idx})"
        rec = Recorder(f"action {label}", True, self.mode.symbolic)
        s, store = self.state(rec, True)
        fm = a.spends if a.spends is not None and not is_unbounded(getattr(self.p, a.spends.budget)) else None
        with user_code(rec.where, rec):
            if fm is not None:
                when(getattr(s, fm.counter) < getattr(s.params, fm.budget))
            if idx is None:
                a.fn(s)
            elif a.at:
                a.fn(s.at(idx))
            else:
                a.fn(s, idx)
            if fm is not None:
                setattr(s, fm.counter, getattr(s, fm.counter) + 1)
        guard = z3.And(rec.guards) if rec.guards else z3.BoolVal(True)
        cells = self.cells(store)
        gdivs: list[Division] = []
        udivs: list[Division] = []
        if rec.divides:
            py = PythonArith()
            gdivs = self.divisions(guard, py)
            # Z3 shares equal terms, so equal divisions have equal ids while the terms live;
            # `udivs` keeps them alive (a freed term's id is reused by the next new one).
            seen: set[tuple[int, int]] = set()
            changed = [t for i, t in enumerate(cells) if not t.eq(self.consts[i])]
            for term in [*rec.assigned, *changed]:
                for d in self.divisions(term, py):
                    key = (d.divisor.get_id(), d.when.get_id())
                    if key not in seen:
                        seen.add(key)
                        udivs.append(d)
            guard, cells = py(guard), [py(t) for t in cells]
        guard = z3.simplify(guard)
        updates = {}
        for i, term in enumerate(cells):
            term = z3.simplify(term)
            if not term.eq(self.consts[i]):
                updates[i] = term
        return TracedAction(label, guard, updates, tuple(gdivs), tuple(udivs))

    def property(self, d: Any) -> TracedProperty:
        """Trace property declaration `d` (fn, name): its formula, unsimplified."""
        rec = Recorder(f"property {d.name}", False, self.mode.symbolic)
        s, _ = self.state(rec, False)
        with user_code(rec.where, rec):
            formula = as_bool(d.fn(s), f"property {d.name}")
        if not rec.divides:
            return TracedProperty(formula)
        py = PythonArith()
        return TracedProperty(py(formula), tuple(self.divisions(formula, py)))

    def divisions(self, term: z3.ExprRef, py: PythonArith) -> list[Division]:
        """The divisions of a traced term that may divide by zero, given the domains (none
        in the symbolic build, where the engines check no state)."""
        if self.mode.symbolic:
            return []

        def may_be_zero(divisor: z3.ArithRef) -> bool:
            lo, hi = self.bounds(z3.simplify(py(divisor)))
            return lo <= 0 <= hi
        return divisions(term, may_be_zero, py)

    @staticmethod
    def cells(store: dict) -> list:
        """The store's terms in variable order (arrays in index order)."""
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
