"""Compile a System's Z3 terms, once, into plain Python functions over packed states.

The explicit engine never looks at a Z3 term while it searches: this module turns each
guard, update and property into Python source, and `exec`s one `expand(state)`
function that unpacks the fields it needs with shifts and masks, tests every guard
and returns the packed successors, plus one predicate per property.

Terms are DAGs (a symbolic array read is shared by every cell it updates), so a
subterm used more than once is computed once into a local; an if-then-else chain over
consecutive constants (the shape of `a[i]` with a symbolic i) becomes a tuple index.
Both keep the code linear in the size of the terms.

Integer division and modulo are Z3's (Euclidean: the remainder is never negative; the
language's `/` and `%`, Python's, are written in them, see `arith.py`): the plain
operators where the divisor is known to be positive, a helper otherwise. A division
by zero gives 0 here and is caught before its value is used: each state first checks
its properties' divisions, each action its guard's, then, enabled, its updates' and
their domains; a failed check raises `system.model_error` of the state.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import z3

from checker.errors import SpecError
from checker.lang.arith import Bounds, defined
from checker.lang.system import DomainError, System, bounds, model_error

__all__ = ["Compiled", "compile_system", "compiled", "compile_formulas", "formulas_source", "load",
           "load_formulas", "DomainError", "domain_checks"]

_BINARY = {z3.Z3_OP_LE: "<=", z3.Z3_OP_LT: "<", z3.Z3_OP_GE: ">=", z3.Z3_OP_GT: ">"}
_NARY = {z3.Z3_OP_ADD: " + ", z3.Z3_OP_MUL: " * ", z3.Z3_OP_SUB: " - ",
         z3.Z3_OP_AND: " and ", z3.Z3_OP_OR: " or "}


def _div(a: int, b: int) -> int:
    """Z3's `a div b` (0 for b == 0, which the checks catch first)."""
    return (a // b if b > 0 else -(a // -b)) if b else 0


def _mod(a: int, b: int) -> int:
    """Z3's `a mod b`: never negative (0 for b == 0, which the checks catch first)."""
    return a % abs(b) if b else 0


def is_var(e: z3.ExprRef) -> bool:
    return z3.is_const(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED


def used_vars(terms, index: dict[int, int]) -> set[int]:
    """The variables (flat indices, by `index` from Z3 ids) the terms read."""
    used: set[int] = set()
    seen: set[int] = set()
    stack = list(terms)
    while stack:  # the terms are DAGs: visit each node once
        e = stack.pop()
        if e.get_id() in seen:
            continue
        seen.add(e.get_id())
        if is_var(e):
            used.add(index[e.get_id()])
        stack.extend(e.children())
    return used


def _unpack_lines(lay, used: set[int], indent: str) -> list[str]:
    """Python lines that read the used variables out of the packed state `st` as v0, v1..."""
    lines = []
    for i in sorted(used):
        s, m, lo = lay.shifts[i], (1 << lay.widths[i]) - 1, lay.los[i]
        x = f"(st >> {s}) & {m}" if s else f"st & {m}"
        # Parenthesised: `&` binds more loosely than `+`, so `x & m + lo` would mask with m + lo.
        lines.append(f"{indent}v{i} = ({x}) + {lo}" if lo else f"{indent}v{i} = {x}")
    return lines


def _select_chain(e: z3.ExprRef):
    """If e is If(x == 0, a0, If(x == 1, a1, ... default)), return (x, [a0, a1, ...], default)."""
    arms: list[z3.ExprRef] = []
    key = None
    while z3.is_app_of(e, z3.Z3_OP_ITE):
        cond, then, other = e.children()
        if not z3.is_app_of(cond, z3.Z3_OP_EQ):
            break
        lhs, rhs = cond.children()
        if z3.is_int_value(lhs):
            lhs, rhs = rhs, lhs
        if not z3.is_int_value(rhs) or rhs.as_long() != len(arms):
            break
        if key is None:
            key = lhs
        elif not key.eq(lhs):
            break
        arms.append(then)
        e = other
    return (key, arms, e) if len(arms) >= 3 else None


class _Codegen:
    """Python source for terms, with shared subterms bound once to locals."""

    def __init__(self, name_of: Callable[[z3.ExprRef], str], lines: list[str], indent: str,
                 known: dict[int, str] | None = None, counter=None, bounds: Bounds | None = None):
        self.name_of, self.lines, self.indent, self.bounds = name_of, lines, indent, bounds
        self.names: dict[int, str] = dict(known or {})
        self.counter = counter if counter is not None else itertools.count()
        self.shared: set[int] = set()

    def prepare(self, terms: list[z3.ExprRef]) -> None:
        """Find the non-leaf subterms referenced more than once."""
        refs: dict[int, int] = {}
        stack = list(terms)
        while stack:
            e = stack.pop()
            k = e.get_id()
            refs[k] = refs.get(k, 0) + 1
            if refs[k] == 1:
                stack.extend(e.children())
        self.shared = {k for k, n in refs.items() if n > 1}

    def bind(self, text: str) -> str:
        name = f"t{next(self.counter)}"
        self.lines.append(f"{self.indent}{name} = {text}")
        return name

    def expr(self, e: z3.ExprRef) -> str:
        k = e.get_id()
        if k in self.names:
            return self.names[k]
        text = self._build(e)
        if k in self.shared and e.num_args() > 0:
            text = self.bind(text)
            self.names[k] = text
        return text

    def _build(self, e: z3.ExprRef) -> str:
        if z3.is_int_value(e):
            return str(e.as_long())
        if z3.is_true(e):
            return "True"
        if z3.is_false(e):
            return "False"
        if is_var(e):
            return self.name_of(e)
        kind = e.decl().kind()
        if kind == z3.Z3_OP_ITE:
            chain = _select_chain(e)
            if chain is not None:
                key, arms, default = chain
                x = self.expr(key)
                if not x.isidentifier():
                    x = self.bind(x)
                return (f"(({', '.join(self.expr(a) for a in arms)},)[{x}] "
                        f"if 0 <= {x} < {len(arms)} else {self.expr(default)})")
            c, a, b = (self.expr(x) for x in e.children())
            return f"({a} if {c} else {b})"
        args = [self.expr(c) for c in e.children()]
        if kind in (z3.Z3_OP_IDIV, z3.Z3_OP_MOD) and len(args) == 2:
            return self._divide(kind, e.arg(1), *args)
        if kind in _BINARY and len(args) == 2:
            return f"({args[0]} {_BINARY[kind]} {args[1]})"
        if kind in _NARY:
            return "(" + _NARY[kind].join(args) + ")"
        if kind == z3.Z3_OP_EQ:
            return "(" + " and ".join(f"{args[0]} == {b}" for b in args[1:]) + ")"
        if kind == z3.Z3_OP_UMINUS:
            return f"(-{args[0]})"
        if kind == z3.Z3_OP_NOT:
            return f"(not {args[0]})"
        if kind == z3.Z3_OP_IMPLIES:
            return f"((not {args[0]}) or {args[1]})"
        if kind == z3.Z3_OP_DISTINCT:
            return "(" + " and ".join(f"{a} != {b}" for i, a in enumerate(args) for b in args[i + 1:]) + ")"
        raise SpecError(f"the term `{e}` uses {e.decl().name()}, which the explicit engine cannot compile")

    def _divide(self, kind: int, divisor: z3.ExprRef, a: str, b: str) -> str:
        """Z3's div or mod: Python's operator where the divisor's bounds allow it."""
        lo, hi = self.bounds(divisor) if self.bounds is not None else (-1, 1)
        div = kind == z3.Z3_OP_IDIV
        if lo >= 1:
            return f"({a} // {b})" if div else f"({a} % {b})"
        if hi <= -1:
            return f"(-({a} // (-{b})))" if div else f"({a} % (-{b}))"
        return f"_div({a}, {b})" if div else f"_mod({a}, {b})"


@contextmanager
def naming(where: str):
    """Prefix a compile error with the action or property it comes from."""
    try:
        yield
    except SpecError as e:
        raise SpecError(f"{where}: {e}") from None


@dataclass
class Compiled:
    expand: Callable[[int], list]  # packed state -> [(action index, packed successor), ...]
    predicates: list[Callable[[int], bool]]  # one per property, over packed states
    source: str  # the generated code, for people who want to read it


def domain_checks(system: System) -> dict[int, list[int]]:
    """The updates that can leave their domain: action index -> variable indices, those Z3
    does not prove in range under the guard and the domains (kept with the system)."""
    got = system.__dict__.get("_domain_checks")
    if got is not None:
        return got
    prover = z3.Solver()
    prover.set("timeout", 200)  # milliseconds; an unproved check simply stays
    prover.add([z3.And(c >= v.lo, c <= v.hi) for c, v in zip(system.consts, system.variables)
                if v.kind != "bool"])
    box = bounds(system)
    out: dict[int, list[int]] = {}
    for ai, a in enumerate(system.actions):
        for vi, term in a.updates.items():
            v = system.variables[vi]
            if v.kind == "bool":
                continue
            lo, hi = box(term)
            if v.lo <= lo and hi <= v.hi:
                continue
            prover.push()
            prover.add(a.guard, z3.Or(term < v.lo, term > v.hi))
            proved = prover.check() == z3.unsat
            prover.pop()
            if not proved:
                out.setdefault(ai, []).append(vi)
    system.__dict__["_domain_checks"] = out
    return out


def compile_system(system: System) -> Compiled:
    """Generate and load the Python code for `system` (one call per model instance)."""
    lay = system.layout
    index = {c.get_id(): i for i, c in enumerate(system.consts)}
    box = bounds(system)

    def name_of(e: z3.ExprRef) -> str:
        return f"v{index[e.get_id()]}"

    checks = domain_checks(system)
    props_ok = defined(d for p in system.properties for d in p.divisions)

    def unpack(terms: list[z3.ExprRef], lines: list[str], indent: str) -> None:
        lines.extend(_unpack_lines(lay, used_vars(terms, index), indent))

    counter = itertools.count()  # names of shared subterms, unique in the module

    def action_code(ai: int, a) -> None:
        g = _Codegen(name_of, src, "    ", counter=counter, bounds=box)
        guard_ok, updates_ok = defined(a.guard_divisions), defined(a.update_divisions)
        g.prepare([a.guard] + ([guard_ok] if guard_ok is not None else []))
        if guard_ok is not None:
            src.append(f"    if not {g.expr(guard_ok)}: _fail(st)  # {a.name} divides by zero")
        src.append(f"    if {g.expr(a.guard)}:  # {a.name}")
        body = _Codegen(name_of, src, "        ", g.names, counter, box)
        body.prepare(list(a.updates.values()) + ([updates_ok] if updates_ok is not None else []))
        if updates_ok is not None:
            src.append(f"        if not {body.expr(updates_ok)}: _fail(st)")
        delta = []
        for vi, term in a.updates.items():
            v = system.variables[vi]
            src.append(f"        n{vi} = {body.expr(term)}")
            if vi in checks.get(ai, ()):
                src.append(f"        if not {v.lo} <= n{vi} <= {v.hi}: _fail(st)")
            shift = f" << {lay.shifts[vi]}" if lay.shifts[vi] else ""
            delta.append(f"((n{vi} - v{vi}){shift})")
        src.append(f"        out.append(({ai}, st + {' + '.join(delta) if delta else '0'}))")

    def property_code(pi: int, p) -> None:
        src.append(f"def prop{pi}(st):  # {p.name}")
        unpack([p.formula], src, "    ")
        g = _Codegen(name_of, src, "    ", counter=counter, bounds=box)
        g.prepare([p.formula])
        src.append(f"    return {g.expr(p.formula)}")

    src = ["def expand(st):"]
    # An updated variable's old value is needed for the packed delta even if unread.
    oks = [d for a in system.actions for d in (defined(a.guard_divisions), defined(a.update_divisions))
           if d is not None] + ([props_ok] if props_ok is not None else [])
    unpack([a.guard for a in system.actions] + oks
           + [t for a in system.actions for vi, u in a.updates.items() for t in (u, system.consts[vi])],
           src, "    ")
    if props_ok is not None:
        g = _Codegen(name_of, src, "    ", counter=counter, bounds=box)
        g.prepare([props_ok])
        src.append(f"    if not {g.expr(props_ok)}: _fail(st)  # a property divides by zero")
    src.append("    out = []")
    for ai, a in enumerate(system.actions):
        with naming(f"action {a.name}"):
            action_code(ai, a)
    src.append("    return out")
    for pi, p in enumerate(system.properties):
        with naming(f"property {p.name}"):
            property_code(pi, p)

    def fail(st: int) -> None:
        raise model_error(system, lay.unpack(st)) or SpecError(
            f"a check failed in the state {system.show_state(lay.unpack(st))} that Z3's evaluation "
            "does not confirm; please report this model")

    code = "\n".join(src) + "\n"
    expand, preds = load(code, len(system.properties), fail, system.model)
    return Compiled(expand, preds, code)


def load(code: str, n_props: int, fail: Callable[[int], None], name: str = "model") -> tuple[Callable, list]:
    """`expand` and the property predicates from `Compiled.source`, in this process: the
    distributed engine's workers load the code the driver generated, without Z3 terms.
    fail: called with a state whose checks fail (it must raise)."""
    namespace: dict = {"_fail": fail, "_div": _div, "_mod": _mod}
    exec(compile(code, f"<compiled {name}>", "exec"), namespace)
    return namespace["expand"], [namespace[f"prop{i}"] for i in range(n_props)]


def compiled(system: System) -> Compiled:
    """The compiled code of `system`, generated on first use and kept with it."""
    c = getattr(system, "_compiled", None)
    if c is None:
        c = compile_system(system)
        system._compiled = c  # type: ignore[attr-defined]
    return c


def compile_formulas(system: System, formulas: list[z3.BoolRef]) -> list[Callable[[int], bool]]:
    """One predicate over packed states per formula (premises for the vacuity check, say)."""
    return load_formulas(formulas_source(system, formulas), len(formulas), system.model)


def formulas_source(system: System, formulas: list[z3.BoolRef]) -> str:
    """The Python source of `compile_formulas`' predicates (`f0`, `f1`, ...)."""
    lay = system.layout
    index = {c.get_id(): i for i, c in enumerate(system.consts)}
    counter = itertools.count()
    src: list[str] = []
    for fi, f in enumerate(formulas):
        src.append(f"def f{fi}(st):")
        src.extend(_unpack_lines(lay, used_vars([f], index), "    "))
        g = _Codegen(lambda e: f"v{index[e.get_id()]}", src, "    ", counter=counter, bounds=bounds(system))
        g.prepare([f])
        with naming(f"formula {f}"):
            src.append(f"    return {g.expr(f)}")
    return "\n".join(src) + "\n"


def load_formulas(code: str, n: int, name: str = "model") -> list[Callable[[int], bool]]:
    """The predicates of `formulas_source`'s code, loaded in this process."""
    namespace: dict = {"_div": _div, "_mod": _mod}
    exec(compile(code, f"<formulas {name}>", "exec"), namespace)
    return [namespace[f"f{i}"] for i in range(n)]
