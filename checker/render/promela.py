"""A built System written as Promela, for SPIN to search the same transition system.

One process loops over the actions, each a `d_step` (one atomic transition: the guard,
then every update computed from the old state into hidden temporaries and assigned),
so SPIN's stored states are exactly the system's states. Every `always` property is an
assertion after every step (the initial state is checked here, when writing: an
assertion before the loop would be one more SPIN state), and an update that Z3 does not
prove within its domain is asserted to be. Left out, and said so in the file's header:
`sometimes` and `eventually` properties; division and modulo (C's differ from the
language's on negative numbers) are refused.
"""

from __future__ import annotations

import re

import z3

from checker.errors import CheckerError
from checker.lang.compile import compiled, domain_checks
from checker.lang.system import System

__all__ = ["promela"]

_BIN = {z3.Z3_OP_LE: "<=", z3.Z3_OP_LT: "<", z3.Z3_OP_GE: ">=", z3.Z3_OP_GT: ">",
        z3.Z3_OP_EQ: "==", z3.Z3_OP_DISTINCT: "!="}
_NARY = {z3.Z3_OP_ADD: " + ", z3.Z3_OP_SUB: " - ", z3.Z3_OP_MUL: " * ",
         z3.Z3_OP_AND: " && ", z3.Z3_OP_OR: " || "}


def _ident(name: str) -> str:
    """`processed[0][1]` -> `processed_0_1`: a flat variable's name as a Promela identifier."""
    return "v_" + re.sub(r"\W+", "_", name).strip("_")


def _type(lo: int, hi: int, kind: str) -> str:
    if kind == "bool":
        return "bool"
    if 0 <= lo and hi <= 255:
        return "byte"
    if -(1 << 15) <= lo and hi < (1 << 15):
        return "short"
    if -(1 << 31) <= lo and hi < (1 << 31):
        return "int"
    raise CheckerError(f"a variable of domain {lo}..{hi} does not fit Promela's 32-bit int")


class _Expr:
    def __init__(self, system: System):
        self.names = {c.get_id(): _ident(v.name) for c, v in zip(system.consts, system.variables)}
        self.memo: dict[int, str] = {}

    def __call__(self, e: z3.ExprRef) -> str:
        k = e.get_id()
        if k not in self.memo:
            self.memo[k] = self._build(e)
        return self.memo[k]

    def _build(self, e: z3.ExprRef) -> str:
        if z3.is_true(e):
            return "true"
        if z3.is_false(e):
            return "false"
        if z3.is_int_value(e):
            return str(e.as_long())
        if e.get_id() in self.names:
            return self.names[e.get_id()]
        if not z3.is_app(e):
            raise CheckerError(f"Promela export: `{e}` is not a plain term (quantifiers are not exported)")
        kind, args = e.decl().kind(), [self(c) for c in e.children()]
        if kind in _BIN and len(args) == 2:
            return f"({args[0]} {_BIN[kind]} {args[1]})"
        if kind in _NARY:
            return "(" + _NARY[kind].join(args) + ")"
        if kind == z3.Z3_OP_UMINUS:
            return f"(-{args[0]})"
        if kind == z3.Z3_OP_NOT:
            return f"(!{args[0]})"
        if kind == z3.Z3_OP_IMPLIES:
            return f"(!{args[0]} || {args[1]})"
        if kind == z3.Z3_OP_ITE:
            return f"({args[0]} -> {args[1]} : {args[2]})"
        raise CheckerError(f"Promela export: the operator of `{e}` has no Promela counterpart here "
                           "(division and modulo differ from C's on negative numbers)")


def promela(system: System) -> str:
    """The Promela text of `system`: its variables, initial state, actions and `always` properties."""
    expr = _Expr(system)
    lines = [f"/* {system.model} {' '.join(system.command_args())}",
             " * written by checker/render/promela.py: one d_step per action, the always properties",
             " * as assertions; sometimes and eventually properties are not exported. */", ""]
    for v, x in zip(system.variables, system.init):
        lines.append(f"{_type(v.lo, v.hi, v.kind)} {_ident(v.name)} = {int(x)};")
    width = max((len(a.updates) for a in system.actions), default=0)
    lines += [f"hidden int t{i};" for i in range(width)]  # not part of the state vector
    always = [i for i, p in enumerate(system.properties) if p.kind == "always"]
    check = " && ".join(expr(system.properties[i].formula) for i in always)
    init = system.layout.pack(system.init)
    broken = [system.properties[i].name for i in always if not compiled(system).predicates[i](init)]
    if broken:
        raise CheckerError(f"Promela export: {', '.join(broken)} already fails in the initial state; "
                           "`checker verify` shows it")
    leave = domain_checks(system)  # updates Z3 does not prove within their domain
    lines += ["", "active proctype main() {", "end:", "    do"]
    for ai, a in enumerate(system.actions):
        order = sorted(a.updates)
        body = [f"t{i} = {expr(a.updates[vi])}" for i, vi in enumerate(order)]
        for i, vi in enumerate(order):
            v = system.variables[vi]
            if vi in leave.get(ai, ()):
                body.append(f"assert({v.lo} <= t{i} && t{i} <= {v.hi})")
        body += [f"{_ident(system.variables[vi].name)} = t{i}" for i, vi in enumerate(order)]
        if check:
            body.append(f"assert({check})")
        lines.append(f"    :: d_step {{ /* {a.name} */ ({expr(a.guard)}) -> " + "; ".join(body or ["skip"]) + " }")
    lines += ["    od", "}", ""]
    return "\n".join(lines)
