"""The language's integer arithmetic, defined once for every engine.

In a model, `/` (and `//`) and `%` on integer terms mean what they mean in Python:
floor division, and a remainder whose sign follows the divisor. Z3's `div` and `mod`
are Euclidean (the remainder is never negative), which agrees with Python for a
positive divisor only. `PythonArith` rewrites every division a traced body makes into
Z3 terms whose value is Python's for every sign; every engine then implements Z3's
`div` and `mod` exactly (the compiled Python, the fast kernel, Z3 itself, and
z3.simplify when the model is built), so they all compute the same numbers.

A division by zero has no value. `divisions` lists where a term divides by something
that can be zero, and the condition under which that division is evaluated (only the
branch of an `ite` that is taken, `And`/`Or` left to right up to the first argument
that decides, the right side of `Implies` only when the left holds), so that every
engine can stop with the same model error in a state where one is evaluated.

`Bounds` is interval arithmetic over Z3 terms from the variables' domains: the fast
engine refuses a model whose terms may leave 64 bits (`first_overflow`), the compiled
code picks the plain operator for a divisor known to be positive, and numpy evaluates
only formulas that fit its int64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import z3

__all__ = ["Division", "PythonArith", "divisions", "defined", "Bounds", "first_overflow", "show", "INT64"]

INT64 = (-(1 << 63), (1 << 63) - 1)
_INF = 1 << 512  # stands for an unbounded end; every bound is clamped to +-_INF


@dataclass(frozen=True)
class Division:
    """A division or modulo that can divide by zero: `term` as the model wrote it (for
    messages), its divisor and the condition under which it is evaluated (both in the
    language's arithmetic, over the state variables)."""

    term: z3.ArithRef
    divisor: z3.ArithRef
    when: z3.BoolRef

    def safe(self) -> z3.BoolRef:
        return z3.Implies(self.when, self.divisor != 0)


def defined(divs: Iterable[Division]) -> z3.BoolRef | None:
    """The condition that none of the divisions divides by zero (None: nothing to check)."""
    safe = [d.safe() for d in divs]
    if not safe:
        return None
    out = z3.simplify(z3.And(safe))
    return None if z3.is_true(out) else out


def show(e: z3.ExprRef, limit: int = 80) -> str:
    """A term on one line, cut at `limit` characters."""
    text = " ".join(str(e).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- Python's division

def _is_div(e: z3.ExprRef) -> bool:
    return z3.is_app_of(e, z3.Z3_OP_IDIV) or z3.is_app_of(e, z3.Z3_OP_MOD)


def floor_div(a: z3.ArithRef, b: z3.ArithRef) -> z3.ArithRef:
    """Python's a // b as Z3 terms (Z3's div is Python's for b > 0; for b < 0,
    a // b == (-a) div (-b))."""
    if z3.is_int_value(b):
        c = b.as_long()
        if c > 0:
            return a / b
        if c < 0:
            return (-a) / z3.IntVal(-c)
        return a / b  # by zero: no value (see `divisions`)
    return z3.If(b >= 0, a / b, (-a) / (-b))


def py_mod(a: z3.ArithRef, b: z3.ArithRef) -> z3.ArithRef:
    """Python's a % b as Z3 terms (for b < 0, a % b == -((-a) mod (-b)))."""
    if z3.is_int_value(b):
        c = b.as_long()
        if c > 0:
            return a % b
        if c < 0:
            return -((-a) % z3.IntVal(-c))
        return a % b
    return z3.If(b >= 0, a % b, -((-a) % (-b)))


class PythonArith:
    """Rewrites terms whose `/` and `%` mean Python's (as traced) into Z3 terms of the same
    value; one instance per traced body, so shared subterms are rewritten once."""

    def __init__(self) -> None:
        self.memo: dict[int, z3.ExprRef] = {}
        self.keep: list[z3.ExprRef] = []  # Z3 reuses the id of a freed term: keep the keys alive

    def __call__(self, e: z3.ExprRef) -> z3.ExprRef:
        out = self.memo.get(e.get_id())
        if out is not None:
            return out
        # Iterative post-order: traced terms can be deep.
        stack: list[tuple[z3.ExprRef, bool]] = [(e, False)]
        while stack:
            x, ready = stack.pop()
            k = x.get_id()
            if k in self.memo:
                continue
            if z3.is_quantifier(x):
                self.memo[k] = self._quantifier(x)
                self.keep.append(x)
                continue
            kids = x.children() if z3.is_app(x) else []
            if not ready:
                stack.append((x, True))
                stack.extend((c, False) for c in reversed(kids) if c.get_id() not in self.memo)
                continue
            self.keep.append(x)
            new = [self.memo[c.get_id()] for c in kids]
            if _is_div(x) and x.arg(0).is_int():
                a, b = new
                self.memo[k] = floor_div(a, b) if z3.is_app_of(x, z3.Z3_OP_IDIV) else py_mod(a, b)
            elif any(not n.eq(c) for n, c in zip(new, kids)):
                self.memo[k] = x.decl()(*new)
            else:
                self.memo[k] = x
        return self.memo[e.get_id()]

    def _quantifier(self, q: z3.QuantifierRef) -> z3.ExprRef:
        """A quantifier with its body rewritten: bound variables are named again to rebuild it."""
        n = q.num_vars()
        consts = [z3.Const(q.var_name(j), q.var_sort(j)) for j in range(n)]
        body = self(z3.substitute_vars(q.body(), *reversed(consts)))
        if q.is_forall():
            return z3.ForAll(consts, body)
        return z3.Exists(consts, body) if q.is_exists() else q  # a lambda: left as it is


# --------------------------------------------------------------------------- where divisions are evaluated

def _edges(e: z3.ExprRef) -> list[z3.BoolRef | None]:
    """For each argument of e, the condition (over e's arguments) under which evaluating e
    evaluates it; None: always."""
    kids = e.children()
    if z3.is_app_of(e, z3.Z3_OP_ITE):
        return [None, kids[0], z3.Not(kids[0])]
    if z3.is_and(e):
        return [None] + [z3.And(kids[:i]) for i in range(1, len(kids))]
    if z3.is_or(e):
        return [None] + [z3.And([z3.Not(k) for k in kids[:i]]) for i in range(1, len(kids))]
    if z3.is_implies(e):
        return [None, kids[0]]
    return [None] * len(kids)


def divisions(root: z3.ExprRef, may_be_zero: Callable[[z3.ArithRef], bool],
              rewrite: Callable[[z3.ExprRef], z3.ExprRef]) -> list[Division]:
    """The divisions in `root` (a traced term, `/` and `%` Python's) whose divisor may be
    zero, in the order Python would evaluate them, each with the condition under which
    evaluating `root` evaluates it. The divisor and the condition are given through
    `rewrite` (the language's arithmetic); `may_be_zero` sees the divisor as written."""
    risky: dict[int, bool] = {}
    order: list[z3.ExprRef] = []  # post-order of the nodes that lead to a risky division
    stack: list[tuple[z3.ExprRef, bool]] = [(root, False)]
    while stack:
        x, ready = stack.pop()
        k = x.get_id()
        if k in risky:
            continue
        kids = x.children() if z3.is_app(x) else []  # a quantifier's body is not looked into
        if not ready:
            stack.append((x, True))
            stack.extend((c, False) for c in reversed(kids) if c.get_id() not in risky)
            continue
        mine = _is_div(x) and x.arg(0).is_int() and may_be_zero(x.arg(1))
        risky[k] = mine or any(risky[c.get_id()] for c in kids)
        if risky[k]:
            order.append(x)
    if not order:
        return []
    # The condition of each node: Or over its parents of (parent's condition and edge).
    # Parents come before children in reversed post-order (a topological order).
    conds: dict[int, list[z3.BoolRef]] = {root.get_id(): [z3.BoolVal(True)]}
    when: dict[int, z3.BoolRef] = {}
    for x in reversed(order):
        c = conds.get(x.get_id(), [])
        here = c[0] if len(c) == 1 else z3.Or(c)
        when[x.get_id()] = here
        for kid, edge in zip(x.children(), _edges(x)):
            if risky.get(kid.get_id()):
                conds.setdefault(kid.get_id(), []).append(here if edge is None else z3.And(here, edge))
    return [Division(x, rewrite(x.arg(1)), rewrite(when[x.get_id()]))
            for x in order if _is_div(x) and x.arg(0).is_int() and may_be_zero(x.arg(1))]


# --------------------------------------------------------------------------- interval bounds

def _clamp(x: int) -> int:
    return max(-_INF, min(_INF, x))


def _floor_corners(a: tuple[int, int], lo: int, hi: int) -> tuple[int, int]:
    """Bounds of floor(x / y) for x in a, y in lo..hi (1 <= lo): monotone in each, so at corners."""
    qs = [x // y for x in a for y in (lo, hi)]
    return min(qs), max(qs)


def _div_bounds(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """Z3's `a div b` (Euclidean), taken as 0 for a zero divisor as the engines compute it."""
    parts = []
    if b[1] >= 1:
        parts.append(_floor_corners(a, max(b[0], 1), b[1]))
    if b[0] <= -1:  # a div b == -(a div -b)
        q = _floor_corners(a, max(-b[1], 1), -b[0])
        parts.append((-q[1], -q[0]))
    if b[0] <= 0 <= b[1]:
        parts.append((0, 0))
    return min(p[0] for p in parts), max(p[1] for p in parts)


def _mod_bounds(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """Z3's `a mod b`: 0 <= r < |b| (0 for a zero divisor, as the engines compute it)."""
    top = max(abs(b[0]), abs(b[1])) - 1
    if a[0] >= 0:
        top = min(top, a[1])
    return 0, max(0, top)


def _mul(x: tuple[int, int], y: tuple[int, int]) -> tuple[int, int]:
    ps = [p * q for p in x for q in y]
    return _clamp(min(ps)), _clamp(max(ps))


class Bounds:
    """Interval bounds of integer terms (Z3's arithmetic), from the variables' domains.

    domain: a variable's constant -> (lo, hi), or None for an unbounded one. Each n-ary
    sum or product is read as the left fold the engines compute, and `steps` gives the
    bounds of every partial result, for the 64-bit check."""

    def __init__(self, domain: Callable[[z3.ExprRef], tuple[int, int] | None]):
        self.domain = domain
        self.memo: dict[int, tuple[int, int]] = {}
        self.partial: dict[int, list[tuple[int, int]]] = {}
        self.keep: list[z3.ExprRef] = []  # Z3 reuses the id of a freed term: keep the keys alive

    def __call__(self, e: z3.ExprRef) -> tuple[int, int]:
        k = e.get_id()
        if k in self.memo:
            return self.memo[k]
        stack: list[tuple[z3.ExprRef, bool]] = [(e, False)]
        while stack:
            x, ready = stack.pop()
            if x.get_id() in self.memo:
                continue
            kids = x.children() if z3.is_app(x) else []
            if not ready and kids:
                stack.append((x, True))
                stack.extend((c, False) for c in kids if c.get_id() not in self.memo)
                continue
            self.memo[x.get_id()] = self._one(x)
            self.keep.append(x)
        return self.memo[k]

    def steps(self, e: z3.ExprRef) -> list[tuple[int, int]]:
        """The bounds of the partial results of e's left fold (n-ary + - *), e's own last."""
        self(e)
        return self.partial.get(e.get_id(), [self.memo[e.get_id()]])

    def _one(self, e: z3.ExprRef) -> tuple[int, int]:
        unbounded = (-_INF, _INF)
        if z3.is_int_value(e):
            v = e.as_long()
            return v, v
        if not (z3.is_arith(e) and e.is_int()) and not z3.is_bool(e):
            return unbounded
        if z3.is_bool(e):
            return 0, 1
        if z3.is_const(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            d = self.domain(e)
            return d if d is not None else unbounded
        if not z3.is_app(e):
            return unbounded
        kind = e.decl().kind()
        args = [self.memo[c.get_id()] for c in e.children()]
        if kind in (z3.Z3_OP_ADD, z3.Z3_OP_SUB, z3.Z3_OP_MUL) and args:
            acc, steps = args[0], []
            for a in args[1:]:
                if kind == z3.Z3_OP_ADD:
                    acc = (_clamp(acc[0] + a[0]), _clamp(acc[1] + a[1]))
                elif kind == z3.Z3_OP_SUB:
                    acc = (_clamp(acc[0] - a[1]), _clamp(acc[1] - a[0]))
                else:
                    acc = _mul(acc, a)
                steps.append(acc)
            if len(steps) > 1:
                self.partial[e.get_id()] = steps
            return acc
        if kind == z3.Z3_OP_UMINUS:
            return -args[0][1], -args[0][0]
        if kind == z3.Z3_OP_ITE:
            return min(args[1][0], args[2][0]), max(args[1][1], args[2][1])
        if kind == z3.Z3_OP_IDIV:
            return _div_bounds(args[0], args[1])
        if kind == z3.Z3_OP_MOD:
            return _mod_bounds(args[0], args[1])
        return unbounded


def first_overflow(terms: Iterable[z3.ExprRef], bounds: Bounds,
                   limit: tuple[int, int] = INT64) -> tuple[z3.ExprRef, int] | None:
    """The first integer subterm (in evaluation order) whose value, or a partial sum or
    product of it, may leave `limit`, with the value past the limit; None if none may."""
    seen: set[int] = set()
    for t in terms:
        stack: list[tuple[z3.ExprRef, bool]] = [(t, False)]
        while stack:
            x, ready = stack.pop()
            k = x.get_id()
            if k in seen:
                continue
            kids = x.children() if z3.is_app(x) else []
            if not ready and kids:
                stack.append((x, True))
                stack.extend((c, False) for c in reversed(kids) if c.get_id() not in seen)
                continue
            seen.add(k)
            if z3.is_arith(x) and x.is_int():
                out = [v for lo, hi in bounds.steps(x) for v in (lo, hi) if not limit[0] <= v <= limit[1]]
                if out:
                    return x, max(out, key=abs)
    return None
