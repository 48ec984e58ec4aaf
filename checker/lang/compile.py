"""Compile a System's Z3 terms, once, into plain Python functions over packed states.

The explicit engine never looks at a Z3 term while it searches: this module turns each
guard, update and property into Python source, and `exec`s one `expand(state)`
function that unpacks the fields it needs with shifts and masks, tests every guard
and returns the packed successors, plus one predicate per property.

Terms are DAGs (a symbolic array read is shared by every cell it updates), so a
subterm used more than once is computed once into a local; an if-then-else chain over
consecutive constants (the shape of `a[i]` with a symbolic i) becomes a tuple index.
Both keep the code linear in the size of the terms.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import z3

from checker.errors import SpecError
from checker.lang.system import System

__all__ = ["Compiled", "compile_system", "compiled", "compile_formulas", "DomainError"]

_BINARY = {
    z3.Z3_OP_LE: "<=", z3.Z3_OP_LT: "<", z3.Z3_OP_GE: ">=", z3.Z3_OP_GT: ">",
    z3.Z3_OP_IDIV: "//", z3.Z3_OP_MOD: "%",
}
_NARY = {z3.Z3_OP_ADD: " + ", z3.Z3_OP_MUL: " * ", z3.Z3_OP_SUB: " - ",
         z3.Z3_OP_AND: " and ", z3.Z3_OP_OR: " or "}


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
                 known: dict[int, str] | None = None, counter=None):
        self.name_of, self.lines, self.indent = name_of, lines, indent
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


class DomainError(SpecError):
    """An action set a variable outside its declared domain: the model is malformed."""


def compile_system(system: System) -> Compiled:
    """Generate and load the Python code for `system` (one call per model instance)."""
    lay = system.layout
    index = {c.get_id(): i for i, c in enumerate(system.consts)}

    def name_of(e: z3.ExprRef) -> str:
        return f"v{index[e.get_id()]}"

    prover = z3.Solver()
    prover.set("timeout", 200)  # milliseconds; an unproved check simply stays in the code
    prover.add([z3.And(c >= v.lo, c <= v.hi) for c, v in zip(system.consts, system.variables)
                if v.kind != "bool"])

    def needs_check(guard: z3.BoolRef, term: z3.ExprRef, vi: int) -> bool:
        """Whether an update can leave its domain, unless Z3 proves it cannot under the guard."""
        v = system.variables[vi]
        if v.kind == "bool":
            return False
        prover.push()
        prover.add(guard, z3.Or(term < v.lo, term > v.hi))
        proved = prover.check() == z3.unsat
        prover.pop()
        return not proved

    def unpack(terms: list[z3.ExprRef], lines: list[str], indent: str) -> None:
        lines.extend(_unpack_lines(lay, used_vars(terms, index), indent))

    counter = itertools.count()  # names of shared subterms, unique in the module

    def action_code(ai: int, a) -> None:
        g = _Codegen(name_of, src, "    ", counter=counter)
        g.prepare([a.guard])
        src.append(f"    if {g.expr(a.guard)}:  # {a.name}")
        body = _Codegen(name_of, src, "        ", g.names, counter)
        body.prepare(list(a.updates.values()))
        delta = []
        for vi, term in a.updates.items():
            v = system.variables[vi]
            src.append(f"        n{vi} = {body.expr(term)}")
            if needs_check(a.guard, term, vi):
                src.append(f"        if not {v.lo} <= n{vi} <= {v.hi}: _bad({ai}, {vi}, n{vi}, st)")
            shift = f" << {lay.shifts[vi]}" if lay.shifts[vi] else ""
            delta.append(f"((n{vi} - v{vi}){shift})")
        src.append(f"        out.append(({ai}, st + {' + '.join(delta) if delta else '0'}))")

    def property_code(pi: int, p) -> None:
        src.append(f"def prop{pi}(st):  # {p.name}")
        unpack([p.formula], src, "    ")
        g = _Codegen(name_of, src, "    ", counter=counter)
        g.prepare([p.formula])
        src.append(f"    return {g.expr(p.formula)}")

    src = ["def expand(st):"]
    # An updated variable's old value is needed for the packed delta even if unread.
    unpack([a.guard for a in system.actions]
           + [t for a in system.actions for vi, u in a.updates.items() for t in (u, system.consts[vi])],
           src, "    ")
    src.append("    out = []")
    for ai, a in enumerate(system.actions):
        with naming(f"action {a.name}"):
            action_code(ai, a)
    src.append("    return out")
    for pi, p in enumerate(system.properties):
        with naming(f"property {p.name}"):
            property_code(pi, p)

    def bad(ai: int, vi: int, value: int, st: int) -> None:
        v = system.variables[vi]
        raise DomainError(
            f"action {system.actions[ai].name} sets {v.name} to {value}, outside its domain "
            f"{v.lo}..{v.hi}, from the state {system.show_state(lay.unpack(st))}; "
            "widen the domain or strengthen the guard"
        )

    code = "\n".join(src) + "\n"
    namespace: dict = {"_bad": bad}
    exec(compile(code, f"<compiled {system.model}>", "exec"), namespace)
    preds = [namespace[f"prop{i}"] for i in range(len(system.properties))]
    return Compiled(namespace["expand"], preds, code)


def compiled(system: System) -> Compiled:
    """The compiled code of `system`, generated on first use and kept with it."""
    c = getattr(system, "_compiled", None)
    if c is None:
        c = compile_system(system)
        system._compiled = c  # type: ignore[attr-defined]
    return c


def compile_formulas(system: System, formulas: list[z3.BoolRef]) -> list[Callable[[int], bool]]:
    """One predicate over packed states per formula (premises for the vacuity check, say)."""
    lay = system.layout
    index = {c.get_id(): i for i, c in enumerate(system.consts)}
    counter = itertools.count()
    src: list[str] = []
    for fi, f in enumerate(formulas):
        src.append(f"def f{fi}(st):")
        src.extend(_unpack_lines(lay, used_vars([f], index), "    "))
        g = _Codegen(lambda e: f"v{index[e.get_id()]}", src, "    ", counter=counter)
        g.prepare([f])
        with naming(f"formula {f}"):
            src.append(f"    return {g.expr(f)}")
    namespace: dict = {}
    exec(compile("\n".join(src) + "\n", f"<formulas {system.model}>", "exec"), namespace)
    return [namespace[f"f{i}"] for i in range(len(formulas))]
