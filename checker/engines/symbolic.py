"""A model as a transition system with chosen parameters left symbolic, for `prove`.

`Model.build` fixes every parameter and flattens every array into scalars. Here the
same tracer (`lang/trace.py`) traces the model once more in the `Symbolic` mode, with
the parameters named "unbounded" as Z3 integer constants: an array whose size is such
a parameter becomes a Z3 array (Int -> element), an action indexed over it gets one
symbolic index, and a failure mode whose budget is such a parameter allows any number
of failures (its guard compares with a constant that may take any value). Arrays of
concrete size are flattened as in `Model.build`, so a parameter that stays fixed
changes nothing.

Domains are not assumed here: the transition relation allows any integer in every
variable. Every run of a built instance (which stops with an error as soon as a value
leaves its domain) is therefore a run of this system with the same parameter values,
so an invariant proved here holds in every instance. Domain bounds become candidate
invariants like any other (see `invariants.py`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import z3

from checker.lang import declare, trace
from checker.errors import CheckerError, SpecError
from checker.lang.declare import Params
from checker.lang.model import Array, Bool, Enum, Int, Model, Var, doc_lines
from checker.engines.replay import NotEnabled, replay
from checker.engines.bmc import Unrolling
from checker.result import Trace, Verdict

__all__ = ["SymVar", "SymAction", "SymProp", "SymbolicSystem", "symbolic_build", "Unsupported",
           "SymUnrolling", "sym_bmc", "concrete_trace", "BmcOutcome"]


class Unsupported(CheckerError):
    """A model construct that cannot be traced with symbolic parameters (prove says unknown)."""


@dataclass
class SymVar:
    """A state variable of the symbolic system: a scalar, or an array of symbolic size.

    Concrete array dimensions are flattened into the name (`sent[1]`); the dimensions
    left, whose sizes may be terms, are those of a Z3 array (`processed`).
    """

    name: str
    root: str
    path: tuple[int, ...]
    kind: str  # "int", "bool" or "enum" (of the element, for arrays)
    lo: Any  # int or Z3 term
    hi: Any
    labels: tuple[str, ...]
    dims: tuple[Any, ...]  # sizes of the Z3 array's dimensions; () for a scalar
    init: Any  # initial value of the scalar / of every element
    const: z3.ExprRef = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        sort: z3.SortRef = z3.BoolSort() if self.kind == "bool" else z3.IntSort()
        for _ in self.dims:
            sort = z3.ArraySort(z3.IntSort(), sort)
        self.const = z3.Const(self.name, sort)

    def show(self, value: int) -> str:
        if self.kind == "enum" and 0 <= value < len(self.labels):
            return self.labels[value]
        if self.kind == "bool":
            return "true" if value else "false"
        return str(value)

    def init_term(self) -> z3.ExprRef:
        v: z3.ExprRef = z3.BoolVal(bool(self.init)) if self.kind == "bool" else trace.as_term(self.init)
        for _ in self.dims:
            v = z3.K(z3.IntSort(), v)
        return v


@dataclass
class SymAction:
    name: str  # "Poll", "Poll(1)", or "Poll(i)" when the index is symbolic
    base: str
    index: Any  # None, an int, or the Z3 index constant
    index_range: z3.BoolRef
    guard: z3.BoolRef
    updates: dict[int, z3.ExprRef]
    failure: str | None


@dataclass
class SymProp:
    name: str
    kind: str
    formula: z3.BoolRef
    description: str


@dataclass
class SymbolicSystem:
    model: Model
    params: dict[str, Any]  # concrete values; unbounded ones are their Z3 constants
    unbounded: list[str]
    failure_modes: list[str]
    variables: list[SymVar]
    actions: list[SymAction]
    properties: list[SymProp]  # the `always` properties
    param_range: list[z3.BoolRef] = field(default_factory=list)

    @property
    def consts(self) -> list[z3.ExprRef]:
        return [v.const for v in self.variables]

    def param_consts(self) -> list[z3.ArithRef]:
        return [self.params[n] for n in self.unbounded]

    def init(self) -> z3.BoolRef:
        return z3.And([v.const == v.init_term() for v in self.variables])

    def prop(self, name: str) -> SymProp:
        for p in self.properties:
            if p.name == name:
                return p
        raise CheckerError(f"{name} is not an always property of {self.model.name}")


# --------------------------------------------------------------------------- tracing

def _sym_vars(v: Var) -> list[SymVar]:
    out: list[SymVar] = []

    def scalar(dom: Any) -> tuple[str, Any, Any, tuple[str, ...]]:
        if isinstance(dom, Int):
            return "int", dom.lo, dom.hi, ()
        if isinstance(dom, Bool):
            return "bool", 0, 1, ()
        if isinstance(dom, Enum):
            return "enum", 0, len(dom.labels) - 1, dom.labels
        raise SpecError(f"variable {v.name}: domain must be Int, Bool, Enum or Array, got {dom!r}")

    def walk(dom: Any, path: tuple[int, ...], init: Any) -> None:
        name = v.name + "".join(f"[{i}]" for i in path)
        if isinstance(dom, Array) and isinstance(dom.size, int):
            if init is not None and not (isinstance(init, (list, tuple)) and len(init) == dom.size):
                raise SpecError(f"variable {v.name}: init must be a list of {dom.size} values")
            for i in range(dom.size):
                walk(dom.elem, path + (i,), None if init is None else init[i])
            return
        dims: list[Any] = []
        while isinstance(dom, Array):
            dims.append(dom.size)
            dom = dom.elem
        if dims and init is not None:
            raise Unsupported(f"variable {v.name}: an initial list for an array of symbolic size")
        kind, lo, hi, labels = scalar(dom)
        out.append(SymVar(name, v.name, path, kind, lo, hi, labels, tuple(dims),
                          lo if init is None else int(init)))

    walk(v.domain, (), v.init)
    return out


class Symbolic:
    """The tracer's mode here: arrays of symbolic size stay whole (see `SymVar`)."""

    symbolic = True

    @staticmethod
    def variables(v: Var) -> list[tuple[SymVar, Any]]:
        return [(sv, sv.init) for sv in _sym_vars(v)]

    @staticmethod
    def const(sv: SymVar) -> z3.ExprRef:
        return sv.const


def _sym_action(tracer: trace.Tracer, a: Any, idx: Any) -> SymAction:
    t = tracer.action(a, idx)
    symbolic_index = isinstance(idx, z3.ExprRef)
    rng = z3.And(idx >= 0, idx < getattr(tracer.p, a.over)) if symbolic_index else z3.BoolVal(True)
    return SymAction(t.label, a.name, idx, rng, t.guard, t.updates, a.failure.name if a.failure else None)


def symbolic_build(model: Model, params: dict[str, Any] | None = None, unbounded: Iterable[str] = (),
                   enable: Iterable[str] = (), disable: Iterable[str] = ()) -> SymbolicSystem:
    """Trace the model with the named integer parameters left symbolic, the rest fixed."""
    params = dict(params or {})
    unbounded = list(dict.fromkeys(unbounded))
    ints = [n for n, p in model.params.items() if not p.choices]
    for n in unbounded:
        if n not in model.params:
            raise CheckerError(f"--unbounded {n}: {model.name} has no parameter {n!r}; "
                               f"its integer parameters: {', '.join(ints) or 'none'}")
        if model.params[n].choices:
            raise CheckerError(f"--unbounded {n}: {n} is a choice ({'|'.join(model.params[n].choices)}), "
                               "not a number; set it with -p")
        if n in params:
            raise CheckerError(f"{n} is both set with -p and --unbounded; give one of them")
    values = model.resolve_params(params)
    failures = model.resolve_failures(enable, disable)
    consts = {n: z3.Int(n) for n in unbounded}
    pvals = {k: consts.get(k, v) for k, v in values.items()}
    prange: list[z3.BoolRef] = []
    for n in unbounded:
        d = model.params[n]
        if d.min is not None:
            prange.append(consts[n] >= d.min)
        if d.max is not None:
            prange.append(consts[n] <= d.max)
    p = Params(model.name, pvals, tuple(failures))
    declare.symbolic_params[0] = True
    try:
        try:
            tracer = trace.Tracer(model.declared_variables(p, failures), p, Symbolic())
            actions = [_sym_action(tracer, a, idx)
                       for a in model.actions_with(failures)
                       for idx in tracer.indices(a)]
            props = [SymProp(d.name, d.kind, tracer.property(d).formula, doc_lines(d.fn)[0])
                     for d in model.property_decls if d.kind == "always"]
        except (Unsupported, SpecError) as e:
            hint = ("; loop with all_of(indices(n), ...) instead of range(n)"
                    if "cannot be interpreted as an integer" in str(e) else "")
            raise Unsupported(f"{e}{hint}") from None
    finally:
        declare.symbolic_params[0] = False
    return SymbolicSystem(model, pvals, unbounded, failures, tracer.variables, actions, props, prange)


# --------------------------------------------------------------------------- quantifiers

# A formula's foralls in positive position, replaced by instances (see invariants.py):
# at given index terms (a weaker assumption), or at one fresh witness per nesting level
# (exact when the formula is to be broken: not forall i: phi(i) is not phi(k)).
WITNESS = [z3.Int(f"k!{n}") for n in range(4)]


_QUANTIFIED: dict[int, bool] = {}  # term id -> has a quantifier, for every subterm of a kept root
_ROOTS: list[z3.ExprRef] = []  # the roots walked, kept alive so that no id above is reused


def _has_quantifier(t: z3.ExprRef) -> bool:
    """Whether a quantifier occurs in t (remembered: the bodies of candidates recur). Walked
    on the C API's raw terms: Python wrappers for every subterm cost more than the walk."""
    hit = _QUANTIFIED.get(t.get_id())
    if hit is not None:
        return hit
    ctx = t.ctx.ref()
    memo = _QUANTIFIED
    stack: list[tuple[Any, bool]] = [(t.as_ast(), False)]
    while stack:
        a, ready = stack.pop()
        k = z3.Z3_get_ast_id(ctx, a)
        if k in memo:
            continue
        kind = z3.Z3_get_ast_kind(ctx, a)
        if kind == z3.Z3_QUANTIFIER_AST:
            memo[k] = True
            continue
        if kind != z3.Z3_APP_AST:
            memo[k] = False
            continue
        app = z3.Z3_to_app(ctx, a)
        kids = [z3.Z3_get_app_arg(ctx, app, i) for i in range(z3.Z3_get_app_num_args(ctx, app))]
        if ready:
            memo[k] = any(memo[z3.Z3_get_ast_id(ctx, c)] for c in kids)
        else:
            stack.append((a, True))
            stack.extend((c, False) for c in kids)
    _ROOTS.append(t)
    return memo[t.get_id()]


def _and(xs: list[z3.BoolRef]) -> z3.BoolRef:
    """z3.And of boolean terms through the C API: z3.And's coercion of every argument costs
    more than the instantiation itself (a Houdini run builds thousands of these)."""
    if not xs:
        return z3.BoolVal(True)
    ctx = xs[0].ctx
    args = (z3.Ast * len(xs))(*[x.as_ast() for x in xs])
    return z3.BoolRef(z3.Z3_mk_and(ctx.ref(), len(xs), args), ctx)


def instantiate(f: z3.ExprRef, terms: list[z3.ExprRef] | None, positive: bool = True, level: int = 0,
                inner: list[z3.ExprRef] | None = None) -> z3.ExprRef:
    """f with every forall in positive position instantiated: at each of `terms`, or (terms
    None) at the witness of its nesting level. A nested forall is instantiated at `inner`
    when given (fewer terms: a weaker assumption), else at `terms`. Other quantifiers are
    left to Z3."""
    if z3.is_quantifier(f):
        if f.is_forall() and positive and f.num_vars() == 1 and level < len(WITNESS):
            body = f.body()
            if terms is None:
                return instantiate(z3.substitute_vars(body, WITNESS[level]), None, positive, level + 1)
            at = terms if level == 0 or inner is None else inner
            if not _has_quantifier(body):  # the common case: one C call per term, no walk
                return _and([z3.substitute_vars(body, t) for t in at])
            return _and([instantiate(z3.substitute_vars(body, t), terms, positive, level + 1, inner) for t in at])
        return f
    kind = _bool_op(f)
    if kind == z3.Z3_OP_AND or kind == z3.Z3_OP_OR:
        kids = [instantiate(c, terms, positive, level, inner) for c in f.children()]
        return _and(kids) if kind == z3.Z3_OP_AND else z3.Or(kids)
    if kind == z3.Z3_OP_NOT:
        return z3.Not(instantiate(f.arg(0), terms, not positive, level, inner))
    if kind == z3.Z3_OP_IMPLIES:
        return z3.Implies(instantiate(f.arg(0), terms, not positive, level, inner),
                          instantiate(f.arg(1), terms, positive, level, inner))
    return f


def _bool_op(f: z3.ExprRef) -> int | None:
    """The operator of an application (one C call each, where z3.is_and and its kin take
    several), None for anything else."""
    ctx, a = f.ctx_ref(), f.as_ast()
    if z3.Z3_get_ast_kind(ctx, a) != z3.Z3_APP_AST:
        return None
    return z3.Z3_get_decl_kind(ctx, z3.Z3_get_app_decl(ctx, z3.Z3_to_app(ctx, a)))



# --------------------------------------------------------------------------- bounded model checking

class SymUnrolling(Unrolling):
    """The symbolic system unrolled step by step; parameters are shared by every step, and
    an action with a symbolic index takes a fresh index variable at each step."""

    def __init__(self, ss: SymbolicSystem):
        super().__init__(ss, start=False)  # the symbolic system plays the built one's part
        self.ss = ss
        self.index_vars: list[z3.ArithRef] = []
        self.solver.add(*ss.param_range)
        self._new_step()
        self.solver.add(self.at(ss.init(), 0))

    def _step_vars(self, t: int) -> list[z3.ExprRef]:
        return [z3.Const(f"{v.name}@{t}", v.const.sort()) for v in self.ss.variables]

    def _pairs(self, t: int, action: SymAction | None = None) -> list[tuple[z3.ExprRef, z3.ExprRef]]:
        pairs = list(zip(self.ss.consts, self.steps[t]))
        if action is not None and isinstance(action.index, z3.ExprRef):
            pairs.append((action.index, self.index_vars[t]))
        return pairs

    def _conditions(self, a: SymAction, t: int) -> list[z3.BoolRef]:
        return [self.at(a.index_range, t, a)]

    def extend(self) -> None:
        self.index_vars.append(z3.Int(f"index@{len(self.steps) - 1}"))
        super().extend()

    def _minimise(self, x: z3.ArithRef) -> int:
        """After a sat check: the least value of x that stays sat, then fixed."""
        best = self.solver.model().eval(x, model_completion=True).as_long()
        while True:
            self.solver.push()
            self.solver.add(x < best)
            if self.solver.check() != z3.sat:
                self.solver.pop()
                break
            best = self.solver.model().eval(x, model_completion=True).as_long()
            self.solver.pop()
        self.solver.add(x == best)
        self.solver.check()
        return best

    def least_run(self) -> tuple[list[str], dict[str, int]]:
        """After a sat check: the least run in action order, then the least parameter values."""
        names = []
        for t, ai in enumerate(self.least_actions()):
            a = self.ss.actions[ai]
            if isinstance(a.index, z3.ExprRef):
                names.append(f"{a.base}({self._minimise(self.index_vars[t])})")
            else:
                names.append(a.name)
        values = {n: self._minimise(self.ss.params[n]) for n in self.ss.unbounded}
        return names, values


def concrete_trace(ss: SymbolicSystem, names: list[str], values: dict[str, int]) -> Trace:
    """The run as a trace of the built instance with these parameter values (explicit semantics)."""
    params = {k: (values[k] if k in values else v) for k, v in ss.params.items()}
    others = [f for f in ss.model.failure_modes if f not in ss.failure_modes]
    system = ss.model.build(params, enable=ss.failure_modes, disable=others)
    try:
        return replay(system, names)
    except NotEnabled as e:  # pragma: no cover - would mean the two tracings disagree
        raise Unsupported(f"the bounded trace {' '.join(names)} does not replay in the built instance: {e}") from None


@dataclass
class BmcOutcome:
    """What `sym_bmc` found for one always property. It carries no expectation: over
    every parameter value that is `prove`'s to say, so this is not a PropertyResult."""

    verdict: Verdict  # violated (with the trace) or unknown (with the reason)
    trace: Trace | None
    depth: int  # deepest depth searched
    reason: str = ""


def _searched(k: int) -> str:
    """What bounded model checking covered when the time ran out at depth k."""
    if k == 0:
        return "the time limit was reached before it began"
    return f"no violation of up to {k - 1} step{'s' if k != 2 else ''}; time limit reached at depth {k}"


def sym_bmc(ss: SymbolicSystem, name: str, max_depth: int, deadline: float | None = None,
            progress: Callable[[str], None] | None = None) -> BmcOutcome:
    """Shortest violation of an always property, over every value of the unbounded parameters."""

    prop = ss.prop(name)
    u = SymUnrolling(ss)
    bad = z3.Not(instantiate(prop.formula, None))  # quantifier-free: Z3 decides it
    for k in range(max_depth + 1):
        if k:
            u.extend()
        if deadline is not None:
            left = deadline - time.perf_counter()
            if left <= 0:
                return BmcOutcome(Verdict.UNKNOWN, None, k - 1, _searched(k))
            u.solver.set("timeout", max(1, int(left * 1000)))
        if progress is not None:
            progress(f"bounded model checking: depth {k}")
        u.solver.push()
        u.solver.add(u.at(bad, k))
        r = u.solver.check()
        if r == z3.sat:
            names, values = u.least_run()
            return BmcOutcome(Verdict.VIOLATED, concrete_trace(ss, names, values), k)
        u.solver.pop()
        if r == z3.unknown:
            if deadline is not None and time.perf_counter() >= deadline - 0.01:
                return BmcOutcome(Verdict.UNKNOWN, None, k - 1, _searched(k))
            return BmcOutcome(Verdict.UNKNOWN, None, k - 1, f"Z3 gave up at depth {k}: {u.solver.reason_unknown()}")
    return BmcOutcome(Verdict.UNKNOWN, None, max_depth, f"no violation of up to {max_depth} steps")
