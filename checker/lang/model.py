"""The spec language: a thin tracing layer over Z3's Python expressions.

A model declares parameters, variables with finite domains, actions, failure modes
and properties. An action is a plain Python function over a state proxy: reading
`s.pc` gives a Z3 term, `when(...)` records the guard, assigning `s.pc = ...` records an
update. `Model.build(params)` runs every action once on symbolic variables and keeps
the resulting terms; engines only ever see those terms (see `system.py`). Because the
same terms feed the explicit engine (compiled to Python) and the Z3 engine, there is
exactly one definition of every action.

Example, a module that declares one model (docs/writing-a-model.md)::

    "A counter that counts to a bound."
    from checker import Int, Model, Var, when

    model = Model("counter", __doc__)
    model.param("bound", 3, min=1, doc="how far to count")

    @model.variables
    def variables(p):
        return [Var("n", Int(0, p.bound), "the count")]

    @model.action
    def Inc(s):
        "Add one."
        when(s.n < s.params.bound)
        s.n += 1

    @model.sometimes(expect="reachable")
    def at_bound(s):
        "n reaches the bound."
        return s.n == s.params.bound

A property's name is kebab-case, like `at-bound`: given with `name=`, or the function's
name with `_` read as `-`.

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
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Iterator

import z3

from checker.errors import CheckerError, SpecError
from checker.interrupt import check_time
from checker.lang.arith import defined
from checker.lang.declare import (FAIRNESS, KINDS, NAME, UNBOUNDED, And, Array, Bool, Enum, Implies, Int, Not, Or,
                                  Param, Params, Var, check_depth, check_instances, check_variables, is_unbounded)
from checker.lang.system import ActionInst, PropInst, System
from checker.lang.trace import Tracer, all_of, any_of, indices, ite, user_code, when

__all__ = [
    "Model", "Var", "Int", "Bool", "Enum", "Array", "FailureMode",
    "when", "ite", "And", "Or", "Not", "Implies", "any_of", "all_of", "UNBOUNDED", "is_unbounded", "indices",
]


@dataclass
class _ActionDecl:
    fn: Callable
    name: str
    over: Any  # None, a parameter name, or a callable params -> iterable of ints
    at: bool
    failure: "FailureMode | None"  # the mode the action belongs to: it exists only while that mode is on
    spends: "FailureMode | None" = None  # the mode whose budget each firing spends (None: free)


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


# Property names are kebab-case in every model, so that a name reads the same in a
# verdict table, a matrix column, a file name and on the command line.
PROPERTY_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*\Z")


def kebab(name: str) -> str:
    """The kebab-case spelling of a name: `NoLoss`, `no_loss` and `ISRShrink` give
    `no-loss`, `no-loss` and `isr-shrink`."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1-\2", s)
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")


def property_name(model: str, fn: Callable, name: str | None) -> str:
    """The name of a property declared with `name` on `fn`; a SpecError that says what to write
    when it is not kebab-case."""
    fname = getattr(fn, "__name__", "<lambda>")
    if name is None and not fname.isidentifier():
        raise SpecError(f"model {model}: a property written as a lambda needs a kebab-case name: "
                        "pass name='...' (lowercase letters, digits and hyphens)")
    n = fname.replace("_", "-") if name is None else name
    if isinstance(n, str) and PROPERTY_NAME.match(n):
        return n
    rule = "must be kebab-case (lowercase letters, digits and single hyphens)"
    fix = kebab(n) if isinstance(n, str) else ""
    if not PROPERTY_NAME.match(fix):
        raise SpecError(f"model {model}: property name {n!r} {rule}")
    if name is None:
        raise SpecError(f"model {model}: property name {n!r}, from the function {fname}, {rule}: "
                        f"rename the function {fix.replace('-', '_')} or pass name={fix!r}")
    raise SpecError(f"model {model}: property name {n!r} {rule}: write name={fix!r}")


def doc_lines(fn: Callable) -> tuple[str, str]:
    doc = inspect.getdoc(fn) or ""
    first, _, rest = doc.partition("\n")
    return first.strip(), rest.strip()


class FailureMode:
    """A named, opt-in, budgeted perturbation: its actions fire at most `budget` times in all.

    The mode owns a counter variable (0..budget) and adds `counter < budget` to the
    guard and `counter += 1` to the effect of each of its actions, so the actions
    themselves only say what the failure does. Everything a mode declares exists only
    while the mode is on: its actions, its variables (`variables`), its counter, the
    code it runs on the model's events (`on`); so a mode that is off costs no state.
    """

    def __init__(self, model: "Model", name: str, budget: str, counter: str, doc: str, default: bool,
                 origin: str):
        self.model, self.name, self.budget, self.counter = model, name, budget, counter
        self.doc, self.default, self.origin = doc, default, origin
        self.actors: dict[str, tuple[str, ...]] = {}  # action -> its lane(s) in the pictures
        self.handlers: dict[str, list[Callable]] = {}  # event -> code run when an action fires it
        self.variable_fns: list[Callable] = []  # fn(params) -> the mode's own Vars

    def action(self, fn: Callable | None = None, *, over: Any = None, at: bool = False, name: str | None = None,
               budget: bool = True, actor: Any = None):
        """Declare an action of this failure mode (`over`, `at`, `name` as for `Model.action`).

        budget=True (the default): each firing spends one unit of the mode's budget; that
        is what every failure action is. budget=False: the action is free, for a step that
        follows from the failure rather than being one (a callback, a retry, a recovery);
        it still exists only while the mode is on. actor: where `diagrams` and `report`
        draw it, a lane or a (from, to) pair of lanes as in `Model.pictures(actors=...)`.
        """
        def register(f: Callable) -> Callable:
            n = name or f.__name__
            where = self.model.lanes_of(where=f"failure mode {self.name}: the actor of {n}", actor=actor) \
                if actor is not None else None
            self.model.action(f, over=over, at=at, name=n, _failure=self, _spends=self if budget else None)
            if where is not None:
                self.actors[n] = where
            return f

        return register(fn) if fn is not None else register

    def variables(self, fn: Callable) -> Callable:
        """Decorator: fn(params) returns the mode's own `Var`s, added to the model's while the mode is on.

        Off, they do not exist: the model's own actions never name them; what they must
        do to them (reset on a restart, ...) goes into handlers of the model's events (`on`).
        """
        self.variable_fns.append(fn)
        return fn

    def on(self, *events: str) -> Callable:
        """Decorator: fn(s, *args) runs inside every action that fires one of `events`, while the mode is on.

        The model declares its events (`Model.event`) and fires them from its actions
        (`model.fire("restart", s, c)`); a mode hooks the reset of its own variables
        there instead of editing the model's actions. The handler's code is part of
        the firing action's step, run where the action fires the event.
        """
        for e in events:
            if e not in self.model.events:
                known = ", ".join(self.model.events) or "none (declare them with model.event)"
                raise SpecError(f"failure mode {self.name} ({self.origin}): on({e!r}) names no event of model "
                                f"{self.model.name}; its events: {known}")

        def register(fn: Callable) -> Callable:
            for e in events:
                self.handlers.setdefault(e, []).append(fn)
            return fn

        return register

    def actions(self) -> list[tuple[str, str, bool]]:
        """The mode's declared actions as (name, first docstring line, indexed), in declaration order."""
        return [(a.name, doc_lines(a.fn)[0], a.over is not None) for a in self.model.action_decls if a.failure is self]


class Model:
    """A named model: parameters, variables, actions, failure modes and properties."""

    def __init__(self, name: str, doc: str = ""):
        if not NAME.match(name):
            raise SpecError(f"model name {name!r} must be letters, digits, '_' or '-'")
        self.name, self.doc = name, inspect.cleandoc(doc)
        self.params: dict[str, Param] = {}
        self.failure_modes: dict[str, FailureMode] = {}
        self._variables: Callable | None = None
        self._actions: list[_ActionDecl] = []
        self._props: list[_PropDecl] = []
        self.symmetries: list[str] = []  # parameters whose indices are interchangeable
        self._fairness: Any = ()  # what `eventually` properties assume unless they say otherwise
        self.events: dict[str, str] = {}  # event name -> what happens (see `event`)
        self._pictures = Pictures()
        # Who declares what: errors about a name declared twice name both declarers
        # (a failure module installs itself inside `declared_by`).
        self._origin = f"model {name}"
        self._origins: dict[tuple[str, str], str] = {}

    @contextmanager
    def declared_by(self, origin: str) -> Iterator[None]:
        """Declarations made inside are attributed to `origin` (e.g. "failure module spec.failures.crash")."""
        before, self._origin = self._origin, origin
        try:
            yield
        finally:
            self._origin = before

    def _declare(self, kind: str, name: str) -> None:
        """Record who declares `kind` `name`; a second declaration is a SpecError naming both."""
        first = self._origins.get((kind, name))
        if first is not None:
            who = f"in {first}" if first == self._origin else f"by {first} and by {self._origin}"
            raise SpecError(f"model {self.name}: {kind} {name!r} is declared twice ({who}); rename one")
        self._origins[(kind, name)] = self._origin

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
              unbounded: bool = False, structural: bool = False) -> None:
        """Declare a parameter with its default and its allowed range or choices.

        unbounded=True also accepts the value `unbounded` (the constant UNBOUNDED): a
        failure-mode budget with that value lets the mode fire any number of times.
        structural=True marks a size of the system's structure (how many processes, how
        many records one step moves): `prove` keeps it as given, and says so, unless
        `--unbounded` names it.
        """
        if not name.isidentifier() or keyword.iskeyword(name):
            raise SpecError(f"parameter name {name!r} must be a Python identifier")
        p = Param(name, default, doc, min, max, tuple(choices) if choices else None, unbounded, structural)
        try:
            p.parse(default)
        except CheckerError as e:
            raise SpecError(f"model {self.name}: the default of {e}") from None
        self._declare("parameter", name)
        self.params[name] = p

    def variables(self, fn: Callable) -> Callable:
        """Decorator: fn(params) returns the list of `Var`s (domains may use params)."""
        if self._variables is not None:
            raise SpecError(f"model {self.name}: variables are declared twice")
        self._variables = fn
        return fn

    def action(self, fn: Callable | None = None, *, over: Any = None, at: bool = False,
               name: str | None = None, _failure: FailureMode | None = None, _spends: FailureMode | None = None):
        """Decorator: declare an action; its docstring's first line describes it in tables.

        over: a parameter name (indices 0..value-1) or a callable params -> indices;
        the action then takes (s, i), or with at=True it gets the view `s.at(i)`.
        """
        def register(f: Callable) -> Callable:
            n = name or f.__name__
            if not NAME.match(n):
                raise SpecError(f"action name {n!r} must be letters, digits, '_' or '-'")
            if isinstance(over, str) and over not in self.params:
                raise SpecError(f"action {n}: over={over!r} is not a parameter of model {self.name}")
            if not doc_lines(f)[0]:
                raise SpecError(f"action {n}: give it a docstring whose first line describes it")
            self._declare("action", n)
            self._actions.append(_ActionDecl(f, n, over, at, _failure, _spends))
            return f

        return register(fn) if fn is not None else register

    def failure_mode(self, name: str, *, budget: str, counter: str, doc: str,
                     default: bool = False) -> FailureMode:
        """Declare a failure mode whose actions fire at most `params[budget]` times in all.

        `counter` names the variable that counts the firings. Modes that share a budget
        parameter may share its counter (then the budget bounds their failures together);
        a counter already counting another budget is refused.
        """
        if not NAME.match(name):
            raise SpecError(f"failure mode name {name!r} must be letters, digits, '_' or '-'")
        if budget not in self.params or self.params[budget].choices:
            raise SpecError(f"failure mode {name}: budget {budget!r} must be an integer parameter declared first")
        if not counter.isidentifier() or counter.startswith("_") or counter == "params":
            raise SpecError(f"failure mode {name}: counter {counter!r} must be an identifier (not 'params' or '_...')")
        for other in self.failure_modes.values():
            if other.counter == counter and other.budget != budget:
                raise SpecError(f"failure mode {name} ({self._origin}): counter {counter!r} already counts "
                                f"failure mode {other.name} ({other.origin}) against budget {other.budget}; "
                                f"give {name} a counter of its own, or budget={other.budget!r} to share it")
        self._declare("failure mode", name)
        fm = FailureMode(self, name, budget, counter, inspect.cleandoc(doc), default, self._origin)
        self.failure_modes[name] = fm
        return fm

    def event(self, name: str, doc: str) -> None:
        """Declare an event: a moment some actions mark with `fire`, where failure modes run code (`FailureMode.on`).

        E.g. the group model's `restart` (a consumer starts a new process): a mode that
        keeps per-process state resets it there, without editing the Restart action.
        """
        if not NAME.match(name):
            raise SpecError(f"event name {name!r} must be letters, digits, '_' or '-'")
        self._declare("event", name)
        self.events[name] = inspect.cleandoc(doc)

    def fire(self, event: str, s: Any, *args: Any) -> None:
        """Inside an action: run the handlers of `event` of every failure mode that is on, in mode order."""
        if event not in self.events:
            known = ", ".join(self.events) or "none"
            raise SpecError(f"model {self.name}: fire({event!r}) names no declared event; its events: {known}")
        for fm in self.failure_modes.values():
            if fm.name in s.params.failure_modes:
                for fn in fm.handlers.get(event, ()):
                    with user_code(f"failure mode {fm.name}: its {event!r} handler"):
                        fn(s, *args)

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
        if isinstance(expect, str) and expect not in KINDS[kind]:
            raise SpecError(f"a {kind} property expects one of {', '.join(KINDS[kind])}, not {expect!r}")

        def register(f: Callable) -> Callable:
            n = property_name(self.name, f, name)
            if any(p.name == n for p in self._props):
                raise SpecError(f"model {self.name}: property {n!r} is declared twice")
            self._props.append(_PropDecl(f, n, kind, expect, fair))
            return f

        return register(fn) if fn is not None else register

    def always(self, fn: Callable | None = None, *, expect: Any = "holds", name: str | None = None):
        """Decorator: an invariant, true in every reachable state.

        name: kebab-case (`no-loss`); without it, the function's name with `_` read as `-`.
        """
        return self._prop("always", fn, expect, None, name)

    def sometimes(self, fn: Callable | None = None, *, expect: Any = "reachable", name: str | None = None):
        """Decorator: a reachability question, answered by a shortest witness or a proof of none.

        name: as for `always`.
        """
        return self._prop("sometimes", fn, expect, None, name)

    def eventually(self, fn: Callable | None = None, *, expect: Any = "holds",
                   fair: Any = None, name: str | None = None):
        """Decorator: a liveness property: every fair run reaches a state where it is true.

        fair: the fairness assumed (see `fairness`); None takes the model's declaration.
        name: as for `always`.
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
        pairs: dict[str, tuple[str, ...]] = {}
        for act, where in (actors or {}).items():
            if act not in declared:
                raise SpecError(f"model {self.name}: pictures(actors=...) names {act!r}, which is not an "
                                "action declared so far; declare pictures after the actions")
            pairs[act] = self.lanes_of(f"model {self.name}: the actor of {act}", where)
        lanes = list(dict.fromkeys(lane for pair in pairs.values() for lane in pair))
        for title, fn in (columns or {}).items():
            if not callable(fn):
                raise SpecError(f"model {self.name}: pictures column {title!r} must be a function of the state")
        inst = tuple(dict(i) for i in instances)
        for i in inst:
            try:
                self.resolve_params(i)
            except CheckerError as e:
                raise SpecError(f"model {self.name}: pictures(instances=...): {e}") from None
        self._pictures = Pictures(tuple(project), tuple(lanes), pairs, dict(columns or {}), inst)

    def lanes_of(self, where: str, actor: Any) -> tuple[str, ...]:
        """An action's actor as a tuple of one lane or a (from, to) pair; a malformed one is a SpecError."""
        pair = (actor,) if isinstance(actor, str) else tuple(actor) if isinstance(actor, (tuple, list)) else ()
        if not 1 <= len(pair) <= 2 or not all(isinstance(x, str) and x for x in pair):
            raise SpecError(f"{where} must be a lane name or a (from, to) pair of lane names, not {actor!r}")
        for lane in pair:
            try:
                lane.format(i=0)
            except (KeyError, IndexError, ValueError):
                raise SpecError(f"{where}: lane {lane!r} may use only {{i}} (the action's index)") from None
        return pair

    @property
    def picture_spec(self) -> Pictures:
        """The drawing hints: the model's `pictures(...)`, then the actors its failure modes declare.

        A mode's lanes come after the model's, so installing a mode never reorders the
        lanes the model draws already."""
        spec = self._pictures
        extra = {n: w for fm in self.failure_modes.values() for n, w in fm.actors.items()}
        if not extra:
            return spec
        actors = dict(spec.actors or {})
        for n, w in extra.items():
            actors.setdefault(n, w)  # the model's own word wins
        lanes = tuple(dict.fromkeys([*spec.lanes, *(lane for w in extra.values() for lane in w)]))
        return replace(spec, lanes=lanes, actors=actors)

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
        p = Params(self.name, values, tuple(failures))
        declared = self.declared_variables(p, failures)
        check_variables(self.name, declared, values)  # the instance's limits, before any work
        tracer = Tracer(declared, p)
        actions = []
        for a in self.actions_with(failures):
            if isinstance(a.over, str) and isinstance(values.get(a.over), int):
                check_instances(self.name, a.name, values[a.over], values)
            at = tracer.indices(a)
            check_instances(self.name, a.name, len(at), values)
            actions += [self._trace_action(tracer, a, idx) for idx in at]
        props = [self._trace_property(tracer, d, p, actions) for d in self._props]
        for act in actions:
            check_depth(self.name, f"the guard of action {act.name}", act.guard)
            for i, u in act.updates.items():
                check_depth(self.name, f"action {act.name}'s update of {tracer.variables[i].name}", u)
        for prop in props:
            check_depth(self.name, f"property {prop.name}", prop.formula)
        defaults = [n for n, f in self.failure_modes.items() if f.default]
        return System(self.name, values, failures, tracer.variables, tracer.consts, tuple(tracer.init),
                      actions, props, tracer.roots, defaults, symmetric=list(self.symmetries))

    # -- what the tracers read (this build and the symbolic one of `prove`) --------

    def declared_variables(self, p: Any, failures: list[str]) -> list[Var]:
        """The variables of a build with parameters p and these failure modes on."""
        return self._declared_vars(p, failures)

    @property
    def action_decls(self) -> tuple[_ActionDecl, ...]:
        """Every declared action (fn, name, over, at, failure), in declaration order."""
        return tuple(self._actions)

    @property
    def property_decls(self) -> tuple[_PropDecl, ...]:
        """Every declared property (fn, name, kind, expect, fair), in declaration order."""
        return tuple(self._props)

    def actions_with(self, failures: Iterable[str]) -> list[_ActionDecl]:
        """The declared actions of a build with these failure modes on: the model's own and
        those of the modes that are on, in declaration order."""
        on = set(failures)
        return [a for a in self._actions if a.failure is None or a.failure.name in on]

    def _declared_vars(self, p: Any, failures: list[str]) -> list[Var]:
        if self._variables is None:
            raise SpecError(f"model {self.name}: declare its variables with @model.variables")
        with user_code(f"model {self.name}: variables()"):
            decl = list(self._variables(p))
        owner = {v.name: f"model {self.name}" for v in decl if isinstance(v, Var)}
        counted: dict[str, str] = {}  # counter -> its budget, for modes that share one
        for n in failures:  # each mode's own variables, then its counter, in mode order
            fm = self.failure_modes[n]
            for fn in fm.variable_fns:
                with user_code(f"failure mode {fm.name}: variables()"):
                    mine = list(fn(p))
                for v in mine:
                    if isinstance(v, Var) and v.name in owner:
                        raise SpecError(f"variable {v.name!r} is declared twice: by failure mode {fm.name} "
                                        f"({fm.origin}) and by {owner[v.name]}; rename one")
                    if isinstance(v, Var):
                        owner[v.name] = f"failure mode {fm.name} ({fm.origin})"
                decl += mine
            if is_unbounded(getattr(p, fm.budget)):
                continue  # no limit, so no counter to keep: the state space stays finite
            if counted.get(fm.counter) == fm.budget:
                continue  # shared with an earlier mode of the same budget (see failure_mode)
            if fm.counter in owner:
                raise SpecError(f"failure mode {fm.name} ({fm.origin}): its counter {fm.counter!r} is also a "
                                f"variable of {owner[fm.counter]}; give the counter another name")
            owner[fm.counter], counted[fm.counter] = f"failure mode {fm.name} (its counter)", fm.budget
            decl.append(Var(fm.counter, Int(0, getattr(p, fm.budget)),
                            f"{fm.name} failures so far (budget {fm.budget})"))
        return decl

    def _trace_action(self, tracer: Tracer, a: _ActionDecl, idx: int | None) -> ActionInst:
        check_time()  # the command's --timeout covers building too
        t = tracer.action(a, idx)
        desc, note = doc_lines(a.fn)
        return ActionInst(t.label, a.name, idx, desc, note, t.guard, t.updates,
                          a.failure.name if a.failure else None, t.guard_divisions, t.update_divisions)

    def _trace_property(self, tracer: Tracer, d: _PropDecl, p: Any,
                        actions: list[ActionInst]) -> PropInst:
        traced = tracer.property(d)
        formula = traced.formula
        premises = _premises(formula)
        with user_code(f"property {d.name}: its expectation"):
            expected = d.expect(p) if callable(d.expect) else d.expect
        if expected is not None and expected not in KINDS[d.kind]:  # None: no expectation for this instance
            raise SpecError(f"property {d.name}: expectation {expected!r} is not one of "
                            f"{', '.join(KINDS[d.kind])} (or None: no expectation)")
        fairness = self._resolve_fairness(d, p, actions) if d.kind == "eventually" else ()
        ok = defined(traced.divisions)
        if ok is not None:  # where it divides by zero it decides nothing (see PropInst)
            formula = z3.Or(z3.Not(ok), formula) if d.kind == "always" else z3.And(ok, formula)
        return PropInst(d.name, d.kind, expected, z3.simplify(formula), doc_lines(d.fn)[0],
                        tuple(n for n, _ in fairness), fairness, premises, traced.divisions)

    def _resolve_fairness(self, d: _PropDecl, p: Any, actions: list[ActionInst]) -> tuple[tuple[str, str], ...]:
        """The property's fairness as ((action name, "weak" or "strong"), ...) in declaration order."""
        spec = self._fairness if d.fair is None else d.fair
        where = f"property {d.name}: its fairness"
        if callable(spec):
            with user_code(where):
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
            if kind not in FAIRNESS:
                raise SpecError(f"{where}: {n!r} must be fair 'weak' or 'strong', not {kind!r}")
            if not any(a.base == n for a in actions):
                raise SpecError(f"property {d.name}: fair action {n!r} is not an action of {self.name}")
            out.append((n, kind))
        order = [a.base for a in actions]
        return tuple(sorted(out, key=lambda nk: order.index(nk[0])))


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
