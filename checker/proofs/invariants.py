"""Invariant inference: candidates from templates, filtered on reachable states, then Houdini.

1. Candidates come from templates over the symbolic system's variables (`symbolic.py`):
   bounds (`x <= 0`, `x >= 1`), differences (`x <= y + c`, c in -1..1, parameters
   included), facts over array elements (`forall i < t: a[i] >= 1`, `forall i >= t:
   a[i] = 0`, `a[t] >= 1`), the variables' domains and the `always` properties, each
   also guarded by an enum value (`pc = fetched -> ...`); and, unguarded, facts over
   two elements: the elements >= 1 form a prefix (`forall i < j: a[j] >= 1 -> a[i] >=
   1`), from t on (`forall t <= i < j: ...`). Then (`_more`) the ranges between two
   variables under an enum guard, facts above a variable that may be -1 when it is an
   index (`pc = idle and t >= 0 -> forall i >= t: ...`), and the one-range facts
   guarded by the value of an integer variable of two or three values (`owner = 1 ->
   ...`).
2. A candidate is kept only if it holds in every state the explicit engine reaches in
   small instances (each unbounded parameter at its three smallest values).
3. Houdini: with the parameters symbolic, a candidate is dropped when it fails in the
   initial state or when some action, from a state satisfying every candidate still
   kept, leads to a state where it fails; repeated until nothing changes. What is left
   is the largest inductive subset. A property that survives is proved for every
   value of the unbounded parameters; the invariant printed is the part of the
   inductive set that its proof uses (from Z3's unsat cores).

Every check is one Z3 query per (action, candidate) pair, so a failure names both
("Commit does not preserve no-loss") with the counterexample-to-induction.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import z3

from checker.lang.compile import compiled
from checker.engines.symbolic import WITNESS, SymAction, SymbolicSystem, instantiate

__all__ = ["Candidate", "Refutation", "HoudiniResult", "candidates", "sample_states", "houdini", "readable",
           "check_invariant", "houdini_on_demand", "OnDemandResult"]


@dataclass
class Candidate:
    text: str
    py: Callable[[dict], bool]  # evaluated on states of built instances
    z: z3.BoolRef  # over the symbolic system's constants
    key: tuple  # for merging x <= y + c and y <= x - c into x = y + c when printing
    prop: str | None = None  # the property this candidate is, if any
    # The guard and body of a later family's fact (see _more): kept only if the guard matters,
    # i.e. it holds in some sampled state (else `not guard` says more) and the body alone
    # fails in one (else the body alone, also a candidate, says more).
    guard: Callable[[dict], bool] | None = None
    body: Callable[[dict], bool] | None = None
    # The variables it reads, when known: checked on the sampled states once per combination
    # of their values (houdini_on_demand).
    reads: tuple[str, ...] = ()


@dataclass
class Refutation:
    candidate: str
    action: str | None  # None: fails in the initial state
    state: str  # the counterexample-to-induction (before the action)
    after: str = ""

    def line(self) -> str:
        if self.action is None:
            return f"{self.candidate} fails in the initial state {self.state}"
        return (f"{self.action} does not preserve {self.candidate}: from {self.state} "
                f"it leads to {self.after}")


@dataclass
class HoudiniResult:
    kept: list[Candidate]
    refuted: list[Refutation]  # in the order they were dropped
    support: dict[str, list[Candidate]]  # property -> the kept candidates its proof uses
    queries: int = 0
    complete: bool = True  # False when the time ran out (nothing is then proved)
    sampled: int = 0  # candidates generated before filtering
    states: int = 0  # states enumerated for filtering
    instances: list[dict[str, int]] = field(default_factory=list)
    gave_up: str = ""  # why Z3 answered unknown, when it did


# --------------------------------------------------------------------------- sampling

def _small_values(ss: SymbolicSystem, n: str) -> list[int]:
    d = ss.model.params[n]
    lo = d.min if d.min is not None else 0
    return [v for v in range(lo, lo + 3) if d.max is None or v <= d.max]


def sample_states(ss: SymbolicSystem, max_states: int = 50_000):
    """Every reachable state of small instances, as environments for `Candidate.py`.

    Returns (instance parameter values, list of environments, built system, names of the
    always properties violated in it) for each instance. An instance whose search
    would pass max_states in all is skipped (its states are not needed for soundness:
    filtering only drops candidates early that Houdini would check anyway).
    """
    names = ss.unbounded
    total = 0
    out = []
    for combo in itertools.product(*(_small_values(ss, n) for n in names)):
        values = dict(zip(names, combo))
        params = {k: values.get(k, v) for k, v in ss.params.items()}
        others = [f for f in ss.model.failure_modes if f not in ss.failure_modes]
        system = ss.model.build(params, enable=ss.failure_modes, disable=others)
        states = _reachable(system, max_states - total)
        if states is None:
            continue
        total += len(states)
        comp = compiled(system)
        violated = {p.name for i, p in enumerate(system.properties)
                    if p.kind == "always" and not all(comp.predicates[i](st) for st in states)}
        getters = _env_getters(ss, system)
        envs = []
        for st in states:
            vals = system.layout.unpack(st)
            env = dict(values)
            for name, g in getters:
                env[name] = g(vals)
            envs.append(env)
        out.append((values, envs, system, violated))
    return out


def _reachable(system: Any, limit: int) -> list[int] | None:
    """All reachable packed states (breadth-first), or None past `limit`."""
    expand = compiled(system).expand
    init = system.layout.pack(system.init)
    seen = {init}
    order = [init]
    i = 0
    while i < len(order):
        for _, t in expand(order[i]):
            if t not in seen:
                seen.add(t)
                order.append(t)
                if len(order) > limit:
                    return None
        i += 1
    return order


def _env_getters(ss: SymbolicSystem, system: Any) -> list[tuple[str, Callable]]:
    pos = {fv.name: i for i, fv in enumerate(system.variables)}
    getters: list[tuple[str, Callable]] = []
    for sv in ss.variables:
        if not sv.dims:
            i = pos[sv.name]
            getters.append((sv.name, lambda vals, i=i: vals[i]))
            continue
        # The flat variables under sv's concrete path, nested by the symbolic dimensions.
        idx: Any = []
        for j, fv in enumerate(system.variables):
            if fv.root == sv.root and fv.path[:len(sv.path)] == sv.path:
                node = idx
                for k in fv.path[len(sv.path):-1]:
                    while len(node) <= k:
                        node.append([])
                    node = node[k]
                node.append(j)

        def get(vals, idx=idx):
            def walk(n):
                return [walk(x) for x in n] if isinstance(n, list) and n and isinstance(n[0], list) \
                    else [vals[j] for j in n]
            return walk(idx)
        getters.append((sv.name, get))
    return getters


# --------------------------------------------------------------------------- templates

class _Bound:
    """A domain bound that may be a term over the parameters, evaluated per instance."""

    def __init__(self, ss: SymbolicSystem, term: Any):
        self.term = term
        self.params = [(n, ss.params[n]) for n in ss.unbounded]
        self.cache: dict[tuple, int] = {}

    def py(self, env: dict) -> int:
        if isinstance(self.term, int):
            return self.term
        key = tuple(env[n] for n, _ in self.params)
        if key not in self.cache:
            t = z3.substitute(self.term, *[(c, z3.IntVal(env[n])) for n, c in self.params])
            self.cache[key] = z3.simplify(t).as_long()
        return self.cache[key]

    def z(self) -> z3.ArithRef:
        return z3.IntVal(self.term) if isinstance(self.term, int) else self.term

    def __str__(self) -> str:
        return str(self.term)


def _plus(c: int) -> str:
    return "" if c == 0 else f" + {c}" if c > 0 else f" - {-c}"


def candidates(ss: SymbolicSystem) -> list[Candidate]:
    """Every template instance over the system's variables, the properties first."""
    out = [Candidate(p.name, lambda env: True, p.formula, ("prop", p.name), prop=p.name)
           for p in ss.properties]
    z = {sv.name: sv.const for sv in ss.variables}
    z.update({n: ss.params[n] for n in ss.unbounded})
    comp = {sv.name: sv.path for sv in ss.variables}
    ints = [sv.name for sv in ss.variables if sv.kind == "int" and not sv.dims]
    terms = ints + list(ss.unbounded)
    enums = [sv for sv in ss.variables if sv.kind == "enum" and not sv.dims]
    bools = [sv.name for sv in ss.variables if sv.kind == "bool" and not sv.dims]
    arrays = [sv for sv in ss.variables if len(sv.dims) == 1 and sv.kind == "int"]

    def together(*names: str) -> bool:
        """Names from one component (one concrete index) or global: keeps templates local."""
        paths = {comp[n] for n in names if comp.get(n)}
        return len(paths) <= 1

    # Domains: never guarded.
    for sv in ss.variables:
        lo, hi = _Bound(ss, sv.lo), _Bound(ss, sv.hi)
        if sv.kind == "bool":
            continue
        if not sv.dims:
            n = sv.name
            out.append(Candidate(f"{n} >= {lo}", lambda e, n=n, lo=lo: e[n] >= lo.py(e), z[n] >= lo.z(),
                                 ("ge", (), n, str(lo))))
            out.append(Candidate(f"{n} <= {hi}", lambda e, n=n, hi=hi: e[n] <= hi.py(e), z[n] <= hi.z(),
                                 ("le", (), n, str(hi))))
        elif len(sv.dims) == 1:
            n, size = sv.name, sv.dims[0]
            i = z3.Int("i")
            rng = z3.And(i >= 0, i < size)
            out.append(Candidate(f"forall i: {n}[i] >= {lo}", lambda e, n=n, lo=lo: all(x >= lo.py(e) for x in e[n]),
                                 z3.ForAll([i], z3.Implies(rng, z[n][i] >= lo.z())), ("age", (), n, str(lo))))
            out.append(Candidate(f"forall i: {n}[i] <= {hi}", lambda e, n=n, hi=hi: all(x <= hi.py(e) for x in e[n]),
                                 z3.ForAll([i], z3.Implies(rng, z[n][i] <= hi.z())), ("ale", (), n, str(hi))))

    bodies: list[tuple[str, Callable, z3.BoolRef, tuple, tuple[str, ...]]] = []
    for x in ints:
        for c in (0, 1):
            bodies.append((f"{x} <= {c}", lambda e, x=x, c=c: e[x] <= c, z[x] <= c, ("le", x, str(c)), (x,)))
            bodies.append((f"{x} >= {c}", lambda e, x=x, c=c: e[x] >= c, z[x] >= c, ("ge", x, str(c)), (x,)))
    for x, y in itertools.permutations(terms, 2):
        if x in ss.unbounded and y in ss.unbounded or not together(x, y):
            continue
        for c in (-1, 0, 1):
            text = f"{x} < {y}" if c == -1 else f"{x} <= {y}{_plus(c)}"
            bodies.append((text, lambda e, x=x, y=y, c=c: e[x] <= e[y] + c, z[x] <= z[y] + c,
                           ("diff", x, y, c), (x, y)))
    for b in bools:
        bodies.append((b, lambda e, b=b: bool(e[b]), z[b], ("bool", b, True), (b,)))
        bodies.append((f"not {b}", lambda e, b=b: not e[b], z3.Not(z[b]), ("bool", b, False), (b,)))
    for ev in enums:
        for k, label in enumerate(ev.labels):
            bodies.append((f"{ev.name} != {label}", lambda e, n=ev.name, k=k: e[n] != k, z[ev.name] != k,
                           ("ne", ev.name, k), (ev.name,)))
    for av in arrays:
        a, size = av.name, av.dims[0]
        lo = av.lo if isinstance(av.lo, int) else 0
        i = z3.Int("i")
        rng = z3.And(i >= 0, i < size)
        for c in (lo + 1,):
            bodies.append((f"forall i: {a}[i] >= {c}", lambda e, a=a, c=c: all(v >= c for v in e[a]),
                           z3.ForAll([i], z3.Implies(rng, z[a][i] >= c)), ("aall", a, c), (a,)))
        j = z3.Int("j")
        one = lo + 1
        prefix = z3.ForAll([i], z3.Implies(rng, z3.ForAll([j], z3.Implies(
            z3.And(i < j, j < size, z[a][j] >= one), z[a][i] >= one))))
        bodies.append((f"forall i < j: {a}[j] >= {one} -> {a}[i] >= {one}",
                       lambda e, a=a, c=one: _prefix(e[a], c), prefix, ("prefix", a, one), (a,)))
        for t, u in itertools.permutations(terms, 2):
            if together(a, t, u) and not (t in ss.unbounded and u in ss.unbounded):
                bodies.append((f"forall {t} <= i < {u}: {a}[i] >= {one}",
                               lambda e, a=a, c=one, t=t, u=u: all(v >= c for v in e[a][max(0, e[t]):max(0, e[u])]),
                               z3.ForAll([i], z3.Implies(z3.And(rng, i >= z[t], i < z[u]), z[a][i] >= one)),
                               ("prefix", "between", a, t, u), (a, t, u)))
        for t in terms:
            if not together(a, t):
                continue
            prefix_from = z3.ForAll([i], z3.Implies(z3.And(rng, i >= z[t]), z3.ForAll([j], z3.Implies(
                z3.And(i < j, j < size, z[a][j] >= one), z[a][i] >= one))))
            bodies.append((f"forall {t} <= i < j: {a}[j] >= {one} -> {a}[i] >= {one}",
                           lambda e, a=a, c=one, t=t: _prefix(e[a][max(0, e[t]):], c), prefix_from,
                           ("prefix", a, one, t), (a, t)))
            bodies.append((f"forall i < {t}: {a}[i] >= {lo + 1}",
                           lambda e, a=a, t=t, c=lo + 1: all(v >= c for v in e[a][:max(0, e[t])]),
                           z3.ForAll([i], z3.Implies(z3.And(rng, i < z[t]), z[a][i] >= lo + 1)),
                           ("below", a, t), (a, t)))
            bodies.append((f"forall i >= {t}: {a}[i] <= {lo}",
                           lambda e, a=a, t=t, c=lo: all(v <= c for v in e[a][max(0, e[t]):]),
                           z3.ForAll([i], z3.Implies(z3.And(rng, i >= z[t]), z[a][i] <= lo)),
                           ("above", a, t), (a, t)))
            if t in ints:
                for c, op in ((lo + 1, ">="), (lo, "<=")):
                    def py(e, a=a, t=t, c=c, op=op):
                        k = e[t]
                        if not 0 <= k < len(e[a]):
                            return False
                        return e[a][k] >= c if op == ">=" else e[a][k] <= c
                    zt = z[a][z[t]] >= c if op == ">=" else z[a][z[t]] <= c
                    bodies.append((f"{a}[{t}] {op} {c}", py, z3.And(z[t] >= 0, z[t] < size, zt),
                                   ("at", a, t, op, c), (a, t)))

    guards: list[tuple[str, Callable | None, z3.BoolRef | None, tuple, tuple[str, ...]]] = [("", None, None, (), ())]
    for ev in enums:
        for k, label in enumerate(ev.labels):
            guards.append((f"{ev.name} = {label}", lambda e, n=ev.name, k=k: e[n] == k, z[ev.name] == k,
                           (ev.name, k), (ev.name,)))
    for gtext, gpy, gz, gkey, gnames in guards:
        for text, py, zb, key, names in bodies:
            if not together(*names, *gnames) or (gnames and gnames[0] in names) or (gnames and key[0] == "prefix"):
                continue  # facts over two indices are costly to instantiate: never guarded
            if gpy is None:
                out.append(Candidate(text, py, zb, (key, ())))
            else:
                out.append(Candidate(f"{gtext} -> {text}", lambda e, g=gpy, b=py: not g(e) or b(e),
                                     z3.Implies(gz, zb), (key, gkey)))
    out += _more(ss, z, together, ints, arrays, guards[1:], bodies)
    from checker.proofs.flat import flat_candidates  # facts over whole arrays of fixed size (none otherwise)
    return out + flat_candidates(ss)


# The kinds of body that state one fact about the elements of an array in a range bounded
# by variables: cheap to instantiate (one index), so they may take the extra guards below.
_RANGE_FACTS = ("below", "above", "at", "aall")


def _more(ss: SymbolicSystem, z: dict, together: Callable, ints: list[str], arrays: list,
          enum_guards: list, bodies: list[tuple]) -> list[Candidate]:
    """The later template families, after the others so that what those prove is found first:

    - a range of an array between two variables under an enum guard (`st[0] = member ->
      forall committed <= i < nxt[0]: processed[i] >= 1`): what a live process has done
      since it started, which a stopped one forgets;
    - a fact above an integer variable whose domain goes below 0 (a marker for "none",
      such as no committed offset), under an enum guard and only when it is an index
      (`pc[0] = idle and committed >= 0 -> forall i >= committed: processed[i] <= 0`);
    - a fact over one array range under an integer variable of a small fixed domain
      taking one of its values (`owner = 1 -> forall i >= pos[1]: processed[i] <= 0`):
      such a variable says which component is in charge, as an enum says which phase.
    """
    out: list[Candidate] = []
    terms = ints + list(ss.unbounded)
    sym = {sv.name: sv for sv in ss.variables}
    i = z3.Int("i")
    between: list[tuple] = []
    ranged: list[tuple] = []
    for av in arrays:
        a, size = av.name, av.dims[0]
        lo = av.lo if isinstance(av.lo, int) else 0
        rng = z3.And(i >= 0, i < size)
        for t, u in itertools.permutations(terms, 2):
            if together(a, t, u) and not (t in ss.unbounded and u in ss.unbounded):
                between.append((f"forall {t} <= i < {u}: {a}[i] >= {lo + 1}",
                                lambda e, a=a, c=lo + 1, t=t, u=u: all(v >= c for v in e[a][max(0, e[t]):max(0, e[u])]),
                                z3.ForAll([i], z3.Implies(z3.And(rng, i >= z[t], i < z[u]), z[a][i] >= lo + 1)),
                                ("between", a, t, u), (a, t, u)))
        for t in ints:
            tlo = sym[t].lo
            if together(a, t) and isinstance(tlo, int) and tlo < 0:
                ranged.append((f"{t} >= 0 -> forall i >= {t}: {a}[i] <= {lo}",
                               lambda e, a=a, t=t, c=lo: e[t] < 0 or all(v <= c for v in e[a][e[t]:]),
                               z3.Implies(z[t] >= 0, z3.ForAll([i], z3.Implies(z3.And(rng, i >= z[t]),
                                                                              z[a][i] <= lo))),
                               ("valid above", a, t), (a, t)))
    out += [Candidate(text, py, zb, (key, ())) for text, py, zb, key, _ in ranged]
    for gtext, gpy, gz, gkey, gnames in enum_guards:
        for text, py, zb, key, names in between + ranged:
            if not together(*names, *gnames):
                continue
            joined = f"{gtext} and {text}" if key[0] == "valid above" else f"{gtext} -> {text}"
            out.append(Candidate(joined, lambda e, g=gpy, b=py: not g(e) or b(e), z3.Implies(gz, zb), (key, gkey),
                                 guard=gpy, body=py))
    # Guards from integer variables of a small fixed domain (2 or 3 values), on the
    # one-range facts already generated unguarded.
    values = [(sv.name, v) for sv in ss.variables if sv.kind == "int" and not sv.dims and isinstance(sv.lo, int)
              and isinstance(sv.hi, int) and 2 <= sv.hi - sv.lo + 1 <= 3 for v in range(sv.lo, sv.hi + 1)]
    singles = [b for b in bodies if b[3][0] in _RANGE_FACTS]
    for x, v in values:
        for text, py, zb, key, names in singles + ranged:
            if not together(*names, x) or x in names:
                continue
            joined = f"{x} = {v} and {text}" if key[0] == "valid above" else f"{x} = {v} -> {text}"
            out.append(Candidate(joined, lambda e, x=x, v=v, b=py: e[x] != v or b(e),
                                 z3.Implies(z[x] == v, zb), (key, (x, v)), guard=lambda e, x=x, v=v: e[x] == v,
                                 body=py))
    return out


def _prefix(values: list[int], c: int) -> bool:
    """The elements >= c form a prefix: none follows one below c."""
    below = False
    for v in values:
        if v < c:
            below = True
        elif below:
            return False
    return True


def readable(cands: list[Candidate]) -> list[str]:
    """The texts of candidates, with x <= y + c and y <= x - c shown once as x = y + c."""
    keys = {c.key: c for c in cands}
    out, done = [], set()
    for c in cands:
        if c.key in done:
            continue
        body, guard = (c.key[0], c.key[1]) if len(c.key) == 2 and isinstance(c.key[0], tuple) else (None, None)
        text = c.text
        if body and body[0] == "diff":
            _, x, y, k = body
            other = (("diff", y, x, -k), guard)
            if other in keys:
                done.add(other)
                eq = f"{x} = {y}{_plus(k)}"
                text = f"{c.text.split(' -> ')[0]} -> {eq}" if guard else eq
        elif body and body[0] in ("le", "ge") and len(body) == 3:
            other = (("ge" if body[0] == "le" else "le", body[1], body[2]), guard)
            if other in keys:
                done.add(other)
                eq = f"{body[1]} = {body[2]}"
                text = f"{c.text.split(' -> ')[0]} -> {eq}" if guard else eq
        done.add(c.key)
        out.append(text)
    return out


# --------------------------------------------------------------------------- Houdini

def _show(ss: SymbolicSystem, m: z3.ModelRef, consts: list[z3.ExprRef], with_params: bool) -> str:
    """A state of a Z3 model in one line; arrays shown cell by cell up to their size."""
    def val(t: z3.ExprRef) -> int:
        v = m.eval(t, model_completion=True)
        return int(z3.is_true(v)) if z3.is_bool(v) else v.as_long()

    parts = [f"{n}={val(ss.params[n])}" for n in ss.unbounded] if with_params else []
    for sv, c in zip(ss.variables, consts):
        if not sv.dims:
            parts.append(f"{sv.name}={sv.show(val(c))}")
            continue
        size = val(sv.dims[0]) if not isinstance(sv.dims[0], int) else sv.dims[0]
        cells = []
        for i in range(max(0, min(size, 8))):
            cell = z3.Select(c, i)
            cells.append("[..]" if len(sv.dims) > 1 else sv.show(val(cell)))
        more = ", ..." if size > 8 else ""
        parts.append(f"{sv.name}=[{', '.join(cells)}{more}]")
    return ", ".join(parts)


def _nice(ss: SymbolicSystem) -> z3.BoolRef:
    """What makes a counterexample easy to read: values in their declared domains and
    small parameters. Only preferred (tried first when showing one), never assumed."""
    facts = [c <= 3 for c in ss.param_consts()]
    for sv in ss.variables:
        if sv.kind == "bool":
            continue
        lo, hi = _Bound(ss, sv.lo).z(), _Bound(ss, sv.hi).z()
        if not sv.dims:
            facts += [sv.const >= lo, sv.const <= hi]
        elif len(sv.dims) == 1:
            i = z3.Int("i")
            facts.append(z3.ForAll([i], z3.Implies(z3.And(i >= 0, i < sv.dims[0]),
                                                   z3.And(sv.const[i] >= lo, sv.const[i] <= hi))))
    return z3.And(facts)


_NICE_RLIMIT = 5_000_000  # Z3 resource units for looking for a readable state (about a second)


def _readable_model(s: z3.Solver, assumptions: list, nice: z3.BoolRef) -> z3.ModelRef:
    """After a sat check under assumptions: a model that also satisfies `nice`, if one is quick to find.

    `nice` is asserted only inside this push/pop: kept in the solver, its quantifiers
    would slow every other query down."""
    m = s.model()
    s.push()
    s.add(nice)
    # A nicer state is worth a moment, not more. The moment is counted in Z3's resource
    # units, not seconds, so the state shown is the same on a busy machine as on an idle one.
    s.set("rlimit", _NICE_RLIMIT)
    if s.check(*assumptions) == z3.sat:
        m = s.model()
    s.pop()
    s.set("rlimit", 0)  # no limit again
    return m


def _check(s: z3.Solver, lits: list[z3.BoolRef]) -> z3.CheckSatResult:
    """s.check(*lits) without z3.py's per-literal coercion (thousands of literals per call)."""
    arr = (z3.Ast * len(lits))(*[x.as_ast() for x in lits])
    return z3.CheckSatResult(z3.Z3_solver_check_assumptions(s.ctx.ref(), s.solver, len(lits), arr))


def _or(lits: list[z3.BoolRef]) -> z3.BoolRef:
    """z3.Or(lits) without z3.py's per-literal coercion."""
    ctx = lits[0].ctx
    arr = (z3.Ast * len(lits))(*[x.as_ast() for x in lits])
    return z3.BoolRef(z3.Z3_mk_or(ctx.ref(), len(lits), arr), ctx)


class _GaveUp(Exception):
    """Z3 answered unknown (or the time ran out): nothing can be concluded from the query."""


def _limit(s: z3.Solver, deadline: float | None) -> None:
    """Z3's timeout for the next query: the time left, rounded up to a whole minute.
    Z3's answers (which model, which core) can change with the timeout's value, so it
    must not move from run to run; the deadline itself is also checked between queries."""
    if deadline is not None:
        left = max(0.0, deadline - time.perf_counter())
        s.set("timeout", max(60_000, -(-int(left * 1000) // 60_000) * 60_000))


# Quantifier-free queries. A fact `forall i: phi(i)` assumed about the state before a step
# is instantiated at finitely many indices (every integer variable and parameter, before
# and after the step, and the witness indices below): weaker assumptions, so an unsat
# answer (a proof) stays valid, and Z3 never answers unknown for quantifiers. A fact to
# be broken after the step is negated exactly: `not forall i: phi(i)` is `not phi(k)`
# for a fresh k, one per nesting level, shared by all candidates.
def _instances(ss: SymbolicSystem, extra: list[z3.ExprRef] = ()) -> list[z3.ArithRef]:  # type: ignore[assignment]
    ints = [sv.const for sv in ss.variables if not sv.dims and sv.kind == "int"]
    return WITNESS[:_depth(ss)] + ints + list(ss.param_consts()) + [t for t in extra if z3.is_int(t)]


def _inner(ss: SymbolicSystem, extra: list[z3.ExprRef]) -> list[z3.ArithRef]:
    """The indices a nested forall (a fact over two elements) is assumed at: the witnesses,
    the action's own index and witnesses, and the integer variables before the step."""
    ints = [sv.const for sv in ss.variables if not sv.dims and sv.kind == "int"]
    return WITNESS[:_depth(ss)] + [t for t in extra if z3.is_int(t)] + ints


def _depth(ss: SymbolicSystem) -> int:
    return max(2, max((len(sv.dims) for sv in ss.variables), default=0))


def quantifier_free(a: SymAction, post: list[z3.ExprRef], consts: list[z3.ExprRef]) -> tuple[list[z3.BoolRef], list]:
    """The action's guard and updates (post == update) without quantifiers, and the index
    terms it adds. Each quantifier q in them (an all_of/any_of over a symbolic range)
    becomes a fresh boolean b: b -> q and not b -> not q, the side of an exists (or of a
    negated forall) taken at one fresh witness (exact), the other side at the indices
    the query uses (weaker). The result allows every step the action allows, and maybe
    more, so what is proved with it holds; the witness joins the indices."""
    facts: list[z3.BoolRef] = []
    abstracted: list[tuple[z3.BoolRef, z3.QuantifierRef, z3.ArithRef]] = []
    cache: dict[int, z3.ExprRef] = {}

    def walk(t: z3.ExprRef) -> z3.ExprRef:
        key = t.get_id()
        if key in cache:
            return cache[key]
        if z3.is_quantifier(t):
            if t.num_vars() != 1 or not (t.is_forall() or t.is_exists()):
                out: z3.ExprRef = t
            else:
                n = len(abstracted)
                b, w = z3.Bool(f"{a.name}.q!{n}"), z3.Int(f"{a.name}.w!{n}")
                abstracted.append((b, t, w))
                out = b
        elif z3.is_app(t) and t.num_args():
            kids = [walk(k) for k in t.children()]
            out = z3.substitute(t, *[(k0, k1) for k0, k1 in zip(t.children(), kids) if not k0.eq(k1)]) \
                if any(not k0.eq(k1) for k0, k1 in zip(t.children(), kids)) else t
        else:
            out = t
        cache[key] = out
        return out

    facts.append(walk(a.index_range))
    facts.append(walk(a.guard))
    facts += [post[i] == (walk(a.updates[i]) if i in a.updates else consts[i]) for i in range(len(consts))]
    witnesses = [w for _, _, w in abstracted]
    late: list[tuple[z3.BoolRef, z3.QuantifierRef]] = []
    for b, q, w in abstracted:
        body = z3.substitute_vars(q.body(), w)
        if q.is_exists():
            facts.append(z3.Implies(b, body))  # exact: some index satisfies it, call it w
        else:
            facts.append(z3.Implies(z3.Not(b), z3.Not(body)))  # exact: some index breaks it, w
        late.append((b, q))
    return facts, (late, witnesses)


def instantiate_late(late: list, terms: list[z3.ExprRef]) -> list[z3.BoolRef]:
    """The other side of each abstracted quantifier (see quantifier_free), at `terms`."""
    out = []
    for b, q in late:
        inst = [z3.substitute_vars(q.body(), t) for t in terms]
        if q.is_exists():
            out.append(z3.Implies(z3.Not(b), z3.And([z3.Not(x) for x in inst])))
        else:
            out.append(z3.Implies(b, z3.And(inst)))
    return out


def _step_solver(ss: SymbolicSystem, a: SymAction, post: list[z3.ExprRef]) -> tuple[z3.Solver, list, list]:
    """A solver holding the parameters' ranges and one step of action `a` (quantifier-free),
    with the index terms candidates are instantiated at: (solver, terms, inner)."""
    s = z3.Solver()
    s.set("core.minimize", True)
    s.add(*ss.param_range)
    step, (late, witnesses) = quantifier_free(a, post, ss.consts)
    s.add(*step)
    index = [a.index] if isinstance(a.index, z3.ExprRef) else []
    terms = _instances(ss, post + index + witnesses)
    inner = _inner(ss, index + witnesses)
    s.add(*instantiate_late(late, terms))
    return s, terms, inner


class _ActionCheck:
    """One incremental solver per action: pre-state candidates under assumption literals."""

    def __init__(self, ss: SymbolicSystem, a: SymAction, cands: list[Candidate], post: list[z3.ExprRef],
                 broken: list[z3.BoolRef], shared: dict[tuple, z3.BoolRef],
                 lits: tuple[list[z3.BoolRef], list[z3.BoolRef]]):
        """broken[j]: candidate j false after the step (the same for every action). shared:
        instances of candidates by their index terms, for actions that use the same ones.
        lits: the literals h!j and n!j, made once for every action."""
        self.a = a
        self.s, terms, inner = _step_solver(ss, a, post)
        self.hyp, self.neg = lits
        at = (tuple(t.get_id() for t in terms), tuple(t.get_id() for t in inner))
        for j, c in enumerate(cands):
            key = (c.z.get_id(), at)
            if key not in shared:
                shared[key] = instantiate(c.z, terms, inner=inner)
            self._assert_implies(self.hyp[j], shared[key])
            self._assert_implies(self.neg[j], broken[j])

    def _assert_implies(self, a: z3.BoolRef, b: z3.BoolRef) -> None:
        """s.add(Implies(a, b)) without z3.py's coercions and checks (thousands per solver)."""
        ctx = self.s.ctx
        imp = z3.BoolRef(z3.Z3_mk_implies(ctx.ref(), a.as_ast(), b.as_ast()), ctx)
        z3.Z3_solver_assert(ctx.ref(), self.s.solver, imp.as_ast())


def _literals(n: int) -> tuple[list[z3.BoolRef], list[z3.BoolRef]]:
    """The assumption literals of n candidates: h!j (assumed before the step), n!j (false after)."""
    return [z3.Bool(f"h!{j}") for j in range(n)], [z3.Bool(f"n!{j}") for j in range(n)]


def houdini(ss: SymbolicSystem, cands: list[Candidate], deadline: float | None = None,
            progress: Callable[[str], None] | None = None) -> HoudiniResult:
    """The largest subset of cands that is inductive, with the refuted ones and why."""
    post = [z3.Const(v.name + "'", v.const.sort()) for v in ss.variables]
    alive = list(range(len(cands)))
    refuted: list[Refutation] = []
    queries = 0

    def out_of_time() -> bool:
        return deadline is not None and time.perf_counter() > deadline

    try:
        return _houdini(ss, cands, deadline, post, alive, refuted, out_of_time, progress)
    except _GaveUp as e:
        return HoudiniResult([], refuted, {}, queries, False, gave_up=str(e))


def _houdini(ss: SymbolicSystem, cands: list[Candidate], deadline: float | None, post: list, alive: list[int],
             refuted: list[Refutation], out_of_time: Callable, progress: Callable | None) -> HoudiniResult:
    queries = 0
    nice = instantiate(_nice(ss), _instances(ss))
    # Initiation: every candidate holds in the initial state, for every parameter value.
    s0 = z3.Solver()
    s0.add(*ss.param_range, ss.init())
    neg0 = [z3.Bool(f"n0!{j}") for j in range(len(cands))]
    for j in alive:
        s0.add(z3.Implies(neg0[j], z3.Not(instantiate(cands[j].z, None))))
    alive, q = _drop_until_unsat(s0, [], neg0, alive, lambda m, j: refuted.append(
        Refutation(cands[j].text, None, _show(ss, m, ss.consts, True))), nice, deadline)
    queries += q

    sub = list(zip(ss.consts, post))
    # each candidate false over the next state, at the witnesses
    broken = [z3.Not(instantiate(z3.substitute(c.z, *sub), None)) for c in cands]
    shared: dict[tuple, z3.BoolRef] = {}
    lits = _literals(len(cands))
    checks = [_ActionCheck(ss, a, cands, post, broken, shared, lits) for a in ss.actions]

    def dropped(ch: _ActionCheck, m: z3.ModelRef, j: int) -> None:
        refuted.append(Refutation(cands[j].text, ch.a.name, _show(ss, m, ss.consts, True), _show(ss, m, post, False)))

    alive, q, finished = _consecution(checks, alive, deadline, out_of_time, dropped, nice, progress)
    queries += q
    if not finished:
        return HoudiniResult([cands[j] for j in alive], refuted, {}, queries, False)

    support = {}
    for j in alive:
        if cands[j].prop is not None:
            need = _support(checks, alive, j)
            # Paring queries only ever assume facts of `need`: solvers holding just those answer them faster.
            few = _literals(len(need))
            small = [_ActionCheck(ss, a, [cands[k] for k in need], post, [broken[k] for k in need], shared, few)
                     for a in ss.actions]
            need = [need[k] for k in _minimal(small, list(range(len(need))), need.index(j), deadline)]
            # the property first, then the facts that make it inductive (another property may be one)
            support[cands[j].prop] = [cands[j]] + [cands[k] for k in need if k != j]
    return HoudiniResult([cands[j] for j in alive], refuted, support, queries, True)


def _consecution(checks: list[_ActionCheck], alive: list[int], deadline: float | None,
                 out_of_time: Callable[[], bool] = lambda: False,
                 dropped: Callable[[_ActionCheck, z3.ModelRef, int], None] | None = None,
                 nice: z3.BoolRef | None = None, progress: Callable | None = None) -> tuple[list[int], int, bool]:
    """Houdini's loop: drop what some action breaks from a state where every kept candidate
    holds, until every action preserves the rest. The kept ones, the Z3 queries, and
    whether it finished (False: out of time)."""
    queries = 0
    changed = True
    while changed:
        changed = False
        for ch in checks:
            if out_of_time():
                return alive, queries, False
            before = len(alive)
            report = None if dropped is None else (lambda m, j, ch=ch: dropped(ch, m, j))
            alive, q = _drop_until_unsat(ch.s, ch.hyp, ch.neg, alive, report, nice, deadline)
            if progress is not None:
                progress(f"Houdini: {len(alive)} candidates kept after checking {ch.a.name}")
            queries += q
            changed = changed or len(alive) < before
    return alive, queries, not out_of_time()


def _minimal(checks: list[_ActionCheck], need: list[int], root: int, deadline: float | None) -> list[int]:
    """A smaller invariant to print: try without each fact in turn, latest template first
    (guarded and quantified facts come last), and keep the inductive rest if root survives.
    Each fact left is needed by the others; the unsat cores alone leave redundant ones."""
    need = list(need)
    for k in sorted(need, reverse=True):
        if deadline is not None and time.perf_counter() > deadline:
            break  # out of time: the larger invariant is proved all the same, only not pared down
        if k == root or k not in need:
            continue
        try:
            trial, _, _ = _consecution(checks, [j for j in need if j != k], deadline)
        except _GaveUp:
            return need  # Z3 gave up on a smaller one: the larger invariant is still proved
        if root in trial:
            need = trial
    return need


def _drop_until_unsat(s: z3.Solver, hyp: list, neg: list, alive: list[int],
                      report: Callable | None, nice: z3.BoolRef | None, deadline: float | None = None) -> tuple[list[int], int]:
    """Drop candidates that some model of s (every kept candidate assumed through hyp)
    falsifies (neg[j] means candidate j is false after the step), until none is left.

    One query finds a model in which some kept candidate fails; every candidate that
    the model makes false is dropped with it as the counterexample. Dropping while
    others are still assumed is sound: assuming more makes a model harder to find.
    """
    queries = 0
    alive = list(alive)
    while alive:
        some = z3.FreshBool("some")
        s.add(_or([z3.Not(some)] + [neg[j] for j in alive]))
        queries += 1
        _limit(s, deadline)
        r = _check(s, ([hyp[j] for j in alive] if hyp else []) + [some])
        if r == z3.unknown:
            raise _GaveUp(s.reason_unknown())
        if r == z3.unsat:
            break
        m = s.model()
        bad = _true_in(m, neg, alive)
        for j in bad if report is not None else ():
            report(_readable_model(s, [hyp[k] for k in alive] + [neg[j]] if hyp else [neg[j]], nice), j)
        alive = [j for j in alive if j not in bad]
    return alive, queries


def _true_in(m: z3.ModelRef, lits: list[z3.BoolRef], js: list[int]) -> list[int]:
    """The j in js whose boolean constant lits[j] is true in m (unassigned: false), read
    from the model directly: z3.py's eval costs many calls per literal, thousands per model."""
    ctx, mod = m.ctx.ref(), m.model
    out = []
    for j in js:
        decl = z3.Z3_get_app_decl(ctx, z3.Z3_to_app(ctx, lits[j].as_ast()))
        if z3.Z3_model_has_interp(ctx, mod, decl) and \
                z3.Z3_get_bool_value(ctx, z3.Z3_model_get_const_interp(ctx, mod, decl)) == z3.Z3_L_TRUE:
            out.append(j)
    return out


def _support(checks: list[_ActionCheck], alive: list[int], root: int) -> list[int]:
    """The kept candidates that the consecution proof of root needs, transitively (unsat cores).

    A pair (action, j) that the candidates already needed prove on their own adds nothing:
    that query is small and needs no core, where a core over every kept candidate costs
    Z3 a minimization over the whole solver."""
    need = {root}
    work = [root]
    which = [{ch.hyp[k].get_id(): k for k in alive} for ch in checks]
    while work:
        j = work.pop()
        for ch, ids in zip(checks, which):
            if _check(ch.s, [ch.hyp[k] for k in sorted(need)] + [ch.neg[j]]) == z3.unsat:
                continue
            hyps = [ch.hyp[k] for k in alive]
            if _check(ch.s, hyps + [ch.neg[j]]) != z3.unsat:  # Z3 gave up this time: keep everything
                return list(alive)
            core = {ids.get(x.get_id()) for x in ch.s.unsat_core()}
            for k in sorted(k for k in core if k is not None and k not in need):
                need.add(k)
                work.append(k)
    return sorted(need)


def check_invariant(ss: SymbolicSystem, cands: list[Candidate]) -> list[Refutation]:
    """Check that the conjunction of cands is inductive: initiation for each candidate,
    consecution for each (action, candidate) pair. Returns every failing pair."""
    post = [z3.Const(v.name + "'", v.const.sort()) for v in ss.variables]
    sub = list(zip(ss.consts, post))
    out: list[Refutation] = []
    s0 = z3.Solver()
    s0.add(*ss.param_range, ss.init())
    nice = instantiate(_nice(ss), _instances(ss))
    for c in cands:
        broken = z3.Not(instantiate(c.z, None))
        r = s0.check(broken)
        if r == z3.sat:
            out.append(Refutation(c.text, None, _show(ss, _readable_model(s0, [broken], nice), ss.consts, True)))
        elif r == z3.unknown:
            out.append(Refutation(c.text, None, f"(Z3 gave up: {s0.reason_unknown()})"))
    for a in ss.actions:
        s = z3.Solver()
        step, (late, witnesses) = quantifier_free(a, post, ss.consts)
        index = [a.index] if isinstance(a.index, z3.ExprRef) else []
        terms = _instances(ss, post + index + witnesses)
        inner = _inner(ss, index + witnesses)
        s.add(*ss.param_range, *step, *instantiate_late(late, terms),
              *[instantiate(c.z, terms, inner=inner) for c in cands])
        for c in cands:
            broken = z3.Not(instantiate(z3.substitute(c.z, *sub), None))
            r = s.check(broken)
            if r == z3.unknown:
                out.append(Refutation(c.text, a.name, f"(Z3 gave up: {s.reason_unknown()})", "?"))
            elif r == z3.sat:
                m = _readable_model(s, [broken], nice)
                out.append(Refutation(c.text, a.name, _show(ss, m, ss.consts, True), _show(ss, m, post, False)))
    return out


# --------------------------------------------------------------------------- Houdini, candidates taken in on demand

@dataclass
class OnDemandResult(HoudiniResult):
    """houdini_on_demand's result: `taken` candidates were taken in (each true in every
    sampled state and initially)."""

    taken: int = 0


class _OnDemandCheck:
    """One incremental solver per action, the candidates added as they are taken in (the
    attributes of _ActionCheck that _consecution, _support and _minimal use: s, a, hyp and
    neg by candidate index)."""

    def __init__(self, ss: SymbolicSystem, a: SymAction, post: list[z3.ExprRef]):
        self.a = a
        self.s, self.terms, self.inner = _step_solver(ss, a, post)
        self.hyp: dict[int, z3.BoolRef] = {}
        self.neg: dict[int, z3.BoolRef] = {}

    def take(self, j: int, c: Candidate, after: z3.BoolRef) -> None:
        self.hyp[j] = z3.Bool(f"h!{j}")
        self.neg[j] = z3.Bool(f"n!{j}")
        self.s.add(z3.Implies(self.hyp[j], instantiate(c.z, self.terms, inner=self.inner)))
        self.s.add(z3.Implies(self.neg[j], z3.Not(instantiate(after, None))))


_TAKE = 4  # candidates taken in per counterexample to induction, the earliest first


def houdini_on_demand(ss: SymbolicSystem, cands: list[Candidate], envs: list[dict], deadline: float | None = None,
                      progress: Callable[[str], None] | None = None, late: list[Candidate] = (),  # type: ignore
                      take: int = _TAKE) -> OnDemandResult:
    """Houdini that hands Z3 only the candidates some counterexample to induction needs, for
    a system without arrays of symbolic size (the state before a step, read from a Z3
    model, is then a plain state that Candidate.py evaluates).

    It starts from the properties among `cands` and, at each counterexample to induction,
    takes in the first `take` other candidates (in their order) that are false in the
    state before the step and true in every state of `envs` (checked when first needed, not
    for all up front), after checking that they hold initially; a fact is dropped when no
    candidate left rules the state out. What is kept is inductive, and a dropped fact is
    outside the largest inductive subset of the candidates, as Houdini on all of them would
    find: the state satisfies every member of that subset (each holds in every reachable
    state, so in `envs`, and none left is false in the state). Each query holds tens of
    facts where Houdini's first holds them all.

    late: candidates tried only when a property is not proved without them, in a second
    run, and then only when nothing in `cands` rules a counterexample out. The proofs of
    the first run stand (each invariant is inductive on its own)."""
    try:
        h = _on_demand(ss, cands, envs, deadline, progress, take)
    except _GaveUp as e:
        return OnDemandResult([], [], {}, 0, False, gave_up=str(e))
    props = {c.prop for c in cands if c.prop is not None}
    if not late or not h.complete or props <= set(h.support):
        return h
    if progress is not None:
        progress("not every property is proved: Houdini again, with the facts about single cells")
    try:
        again = _on_demand(ss, list(cands) + list(late), envs, deadline, progress, take, len(cands), set(h.support))
    except _GaveUp as e:
        return OnDemandResult(h.kept, h.refuted, h.support, h.queries, False, taken=h.taken, gave_up=str(e))
    dropped = {r.candidate for r in again.refuted}
    return OnDemandResult(again.kept, again.refuted + [r for r in h.refuted if r.candidate not in dropped],
                          {**again.support, **h.support}, h.queries + again.queries, again.complete,
                          taken=h.taken + again.taken)


def _on_demand(ss: SymbolicSystem, cands: list[Candidate], envs: list[dict], deadline: float | None,
               progress: Callable[[str], None] | None, take: int, first: int | None = None,
               done: frozenset[str] | set[str] = frozenset()) -> OnDemandResult:
    """One run. Candidates from index `first` on are taken in only when none before rules
    the state out; `done`: properties already proved, whose invariants are not sought again."""
    say = progress or (lambda text: None)
    first = len(cands) if first is None else first
    post = [z3.Const(v.name + "'", v.const.sort()) for v in ss.variables]
    sub = list(zip(ss.consts, post))
    nice = instantiate(_nice(ss), _instances(ss))
    checks = [_OnDemandCheck(ss, a, post) for a in ss.actions]
    s0 = z3.Solver()
    s0.add(*ss.param_range, ss.init())
    refuted: list[Refutation] = []
    queries = taken = 0
    pool = [j for j, c in enumerate(cands) if c.prop is None]  # not taken in yet, in order
    true_in_samples: dict[int, bool] = {}
    projected: dict[tuple[str, ...], list[dict]] = {}

    def sampled(j: int) -> bool:
        """Whether candidate j holds in every sampled state (once per combination of the
        values it reads, when it says which)."""
        if j not in true_in_samples:
            c = cands[j]
            states = envs
            if c.reads:
                if c.reads not in projected:
                    projected[c.reads] = [dict(zip(c.reads, v)) for v in
                                          dict.fromkeys(tuple(e[n] for n in c.reads) for e in envs)]
                states = projected[c.reads]
            true_in_samples[j] = all(c.py(e) for e in states)
        return true_in_samples[j]

    def admit(js: list[int]) -> list[int]:
        """Take candidates in, those that hold initially for every parameter value."""
        nonlocal queries
        ok = []
        for j in js:
            queries += 1
            r = s0.check(z3.Not(instantiate(cands[j].z, None)))
            if r == z3.unknown:
                raise _GaveUp(s0.reason_unknown())
            if r == z3.sat:
                refuted.append(Refutation(cands[j].text, None, _show(ss, s0.model(), ss.consts, True)))
                continue
            after = z3.substitute(cands[j].z, *sub)
            for ch in checks:
                ch.take(j, cands[j], after)
            ok.append(j)
        return ok

    def proving() -> bool:
        return any(cands[j].prop is not None for j in alive)

    alive = admit([j for j, c in enumerate(cands) if c.prop is not None])
    changed = True
    while changed and proving():
        changed = False
        for ch in checks:
            while proving():
                if deadline is not None and time.perf_counter() > deadline:
                    return OnDemandResult([cands[j] for j in alive], refuted, {}, queries, False, taken=taken)
                some = z3.FreshBool("some")
                ch.s.add(_or([z3.Not(some)] + [ch.neg[j] for j in alive]))
                queries += 1
                _limit(ch.s, deadline)
                r = _check(ch.s, [ch.hyp[j] for j in alive] + [some])
                if r == z3.unknown:
                    raise _GaveUp(ch.s.reason_unknown())
                if r == z3.unsat:
                    break
                changed = True
                m = ch.s.model()
                env = _state_env(ss, m)
                pick: list[int] = []
                for j in pool:
                    if pick and j >= first:
                        break
                    if not _holds_in(cands[j], env, m) and sampled(j):
                        pick.append(j)
                        if len(pick) == take:
                            break
                if pick:
                    pool = [j for j in pool if j not in pick]
                    alive += admit(pick)
                    taken += len(pick)
                    continue
                # No candidate left rules the state out: what the step breaks is dropped.
                bad = [j for j in alive if z3.is_true(m.eval(ch.neg[j], model_completion=True))]
                for j in bad:
                    shown = _readable_model(ch.s, [ch.hyp[k] for k in alive] + [ch.neg[j]], nice)
                    seen = _state_env(ss, shown)
                    if not all(_holds_in(cands[k], seen, shown) or not sampled(k) for k in pool):
                        shown = m  # a candidate left rules the readable state out: show the one none does
                    refuted.append(Refutation(cands[j].text, ch.a.name, _show(ss, shown, ss.consts, True),
                                              _show(ss, shown, post, False)))
                alive = [j for j in alive if j not in bad]
            say(f"Houdini: {len(alive)} candidates taken in and kept after checking {ch.a.name}")

    support = {}
    for j in alive:
        if cands[j].prop is not None and cands[j].prop not in done:
            need = _minimal(checks, _support(checks, alive, j), j, deadline)  # type: ignore[arg-type]
            support[cands[j].prop] = [cands[j]] + [cands[k] for k in need if k != j]
    return OnDemandResult([cands[j] for j in alive], refuted, support, queries, True, taken=taken)


def _state_env(ss: SymbolicSystem, m: z3.ModelRef) -> dict[str, int]:
    """The state before the step in a model, as an environment for Candidate.py."""
    env: dict[str, int] = {n: m.eval(ss.params[n], model_completion=True).as_long() for n in ss.unbounded}
    for sv in ss.variables:
        v = m.eval(sv.const, model_completion=True)
        env[sv.name] = int(z3.is_true(v)) if z3.is_bool(v) else v.as_long()
    return env


def _holds_in(c: Candidate, env: dict[str, int], m: z3.ModelRef) -> bool:
    """Whether the candidate holds in the model's state before the step: its Python form
    says so quickly; when it says no, Z3's evaluation of its formula decides (a candidate
    taken in must rule the state out)."""
    try:
        if c.py(env):
            return True
    except (IndexError, KeyError, TypeError):
        pass
    return not z3.is_false(m.eval(c.z, model_completion=True))
