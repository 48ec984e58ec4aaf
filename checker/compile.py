"""Compile a System's Z3 terms, once, into plain Python functions over packed states.

The explicit engine never looks at a Z3 term while it searches: this module turns each
guard, update and property into Python source, and `exec`s one `expand(state)`
function that unpacks the fields it needs with shifts and masks, tests every guard
and returns the packed successors, plus one predicate per property.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import z3

from .errors import SpecError
from .system import System

__all__ = ["Compiled", "compile_system", "compiled", "to_python"]

_BINARY = {
    z3.Z3_OP_LE: "<=", z3.Z3_OP_LT: "<", z3.Z3_OP_GE: ">=", z3.Z3_OP_GT: ">",
    z3.Z3_OP_EQ: "==", z3.Z3_OP_IDIV: "//", z3.Z3_OP_MOD: "%",
}
_NARY = {z3.Z3_OP_ADD: " + ", z3.Z3_OP_MUL: " * ", z3.Z3_OP_SUB: " - "}


def to_python(e: z3.ExprRef, name_of: Callable[[str], str]) -> str:
    """Python source for a quantifier-free integer/boolean term; name_of maps constants."""
    if z3.is_int_value(e):
        return str(e.as_long())
    if z3.is_true(e):
        return "True"
    if z3.is_false(e):
        return "False"
    if z3.is_const(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED:
        return name_of(e.decl().name())
    k = e.decl().kind()
    args = [to_python(c, name_of) for c in e.children()]
    if k in _BINARY and len(args) == 2:
        return f"({args[0]} {_BINARY[k]} {args[1]})"
    if k in _NARY:
        return "(" + _NARY[k].join(args) + ")"
    if k == z3.Z3_OP_UMINUS:
        return f"(-{args[0]})"
    if k == z3.Z3_OP_AND:
        return "(" + " and ".join(args) + ")"
    if k == z3.Z3_OP_OR:
        return "(" + " or ".join(args) + ")"
    if k == z3.Z3_OP_NOT:
        return f"(not {args[0]})"
    if k == z3.Z3_OP_IMPLIES:
        return f"((not {args[0]}) or {args[1]})"
    if k == z3.Z3_OP_ITE:
        return f"({args[1]} if {args[0]} else {args[2]})"
    if k == z3.Z3_OP_DISTINCT:
        pairs = [f"{a} != {b}" for i, a in enumerate(args) for b in args[i + 1:]]
        return "(" + " and ".join(pairs) + ")"
    if k == z3.Z3_OP_EQ:  # n-ary equality does not occur after simplify, but be exact
        return "(" + " and ".join(f"{args[0]} == {b}" for b in args[1:]) + ")"
    raise SpecError(f"the term `{e}` uses {e.decl().name()}, which the explicit engine cannot compile")


@dataclass
class Compiled:
    expand: Callable[[int], list]  # packed state -> [(action index, packed successor), ...]
    predicates: list[Callable[[int], bool]]  # one per property, over packed states
    source: str  # the generated code, for people who want to read it


class DomainError(SpecError):
    pass


def compile_system(system: System) -> Compiled:
    """Generate and load the Python code for `system` (one call per model instance)."""
    lay = system.layout
    local = {c.decl().name(): f"v{i}" for i, c in enumerate(system.consts)}

    def name_of(n: str) -> str:
        return local[n]

    def unpack_lines(exprs: list[z3.ExprRef], indent: str) -> list[str]:
        used: set[int] = set()
        seen: set[int] = set()
        stack = list(exprs)
        while stack:  # the terms are DAGs: visit each node once
            e = stack.pop()
            if e.get_id() in seen:
                continue
            seen.add(e.get_id())
            if z3.is_const(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED:
                used.add(int(local[e.decl().name()][1:]))
            stack.extend(e.children())
        lines = []
        for i in sorted(used):
            s, m, lo = lay.shifts[i], (1 << lay.widths[i]) - 1, lay.los[i]
            x = f"(st >> {s}) & {m}" if s else f"st & {m}"
            lines.append(f"{indent}v{i} = {x}{f' + {lo}' if lo else ''}")
        return lines

    # An updated variable's old value is needed for the packed delta even if unread.
    terms = [a.guard for a in system.actions] + [
        t for a in system.actions for vi, u in a.updates.items() for t in (u, system.consts[vi])
    ]
    src = ["def expand(st):"]
    src += unpack_lines(terms, "    ")
    src.append("    out = []")
    for ai, a in enumerate(system.actions):
        src.append(f"    if {to_python(a.guard, name_of)}:  # {a.name}")
        delta = []
        for vi, term in a.updates.items():
            v = system.variables[vi]
            src.append(f"        n{vi} = {to_python(term, name_of)}")
            src.append(f"        if not {v.lo} <= n{vi} <= {v.hi}: _bad({ai}, {vi}, n{vi}, st)")
            delta.append(f"((n{vi} - v{vi}) << {lay.shifts[vi]})")
        src.append(f"        out.append(({ai}, st + {' + '.join(delta) if delta else '0'}))")
    src.append("    return out")
    for pi, p in enumerate(system.properties):
        src.append(f"def prop{pi}(st):  # {p.name}")
        src += unpack_lines([p.formula], "    ")
        src.append(f"    return {to_python(p.formula, name_of)}")

    def bad(ai: int, vi: int, value: int, st: int) -> None:
        v = system.variables[vi]
        shown = ", ".join(f"{w.name}={w.show(x)}" for w, x in zip(system.variables, lay.unpack(st)))
        raise DomainError(
            f"action {system.actions[ai].name} sets {v.name} to {value}, outside its domain "
            f"{v.lo}..{v.hi}, from the state {shown}; widen the domain or strengthen the guard"
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
