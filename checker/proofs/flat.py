"""Proofs for systems whose arrays all have a fixed size: the `pipeline` model's rows.

When no array's size is symbolic (only failure budgets are), every array is flattened
into one scalar per cell (`log[1][0]`, `pst[1]`) and the templates of `invariants.py`
relate cells of one component only. What such a system's properties need is about
whole arrays: every cell of a log below its end holds a message, the logs of two
in-sync replicas agree below the high watermark, an acknowledged message is in the
log of every in-sync replica. `flat_candidates` writes those facts, each quantified
over the fixed indices (a conjunction, so every query stays quantifier-free and
exact):

- every element of an array: `forall i: processed[i] >= 0`, `forall r, i: log[r][i]
  <= 1`, `forall i: pst[i] != dropped`, `forall i: up[i]`;
- `forall r: leader = r -> isr[r]`: the element of a bool array at an int variable
  whose domain is the array's indices (-1, "none", allowed); `exists r: isr[r]`:
  some element holds;
- `forall r, i: i < leo[r] -> log[r][i] >= 0` and `i >= leo[r] -> log[r][i] <= -1`:
  the cells of each row of a two-dimensional array below and from its end (an int
  array with one element per row whose domain reaches the row's length), and the
  row below it increasing (`forall r, i < j < leo[r]: log[r][i] < log[r][j]`), not
  decreasing (`<=`) or equal to the offset (`log[r][i] = i`);
- `forall r: isr[r] -> hw <= leo[r]`: a row's end and a variable of the same range,
  under a bool array's element or not;
- `forall r, q, i < hw: isr[r] and isr[q] -> log[r][i] = log[q][i]`: two rows agree
  below a variable, under a bool array's elements;
- the values of such an array as indices of a one-dimensional array of their range
  (message ids, the indices of `pst` and `processed`): `forall m, r, i: pst[m] =
  unsent -> log[r][i] < m` (or `<= m`); `forall m, r: pst[m] = acked and isr[r] ->
  exists i < hw: log[r][i] = m`; `forall m, r, i < committed: isr[r] and log[r][i] = m
  -> processed[m] >= 1` (also under an enum value and one below: `pc = fetched ->
  forall m, r, i < position - 1: ...`); `pc = fetched -> forall r: isr[r] and
  position >= 1 -> log[r][position - 1] = cur`; `pc = fetched -> processed[cur] <= 0`;
- the elements of an enum array: `forall m < k: pst[m] = wire -> pst[k] = unsent`
  (also while an int variable is at its lowest value: `retried <= 0 -> forall m < k:
  pst[m] = failed -> pst[k] = unsent`) and `forall m != k: pst[m] = wire -> pst[k] !=
  waiting`.

Matching is by size (an int variable of domain -1..n-1 indexes arrays of n elements),
so some candidates pair things that have nothing to do with each other; they are
false in the sampled states, or never needed, and cost little, since
`invariants.houdini_on_demand` hands Z3 only the candidates a counterexample to
induction needs. `flat_pool` orders them for it: the other templates' facts over
variables outside arrays, then these; the other templates' facts about single cells
only if a property is not proved without them.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable

import z3

from checker.engines.symbolic import SymbolicSystem
from checker.proofs.invariants import Candidate

__all__ = ["is_flat", "flat_candidates", "flat_pool"]


def is_flat(ss: SymbolicSystem) -> bool:
    """No array of symbolic size: every variable is a scalar (arrays flattened by cell)."""
    return not any(sv.dims for sv in ss.variables)


# --------------------------------------------------------------------------- formulas for both z3 and states

class _Py:
    """The logic of a template's formula evaluated in a state (values are ints)."""

    all = staticmethod(lambda *xs: all(xs))
    any = staticmethod(lambda *xs: any(xs))
    imp = staticmethod(lambda a, b: (not a) or b)
    bool = staticmethod(bool)


class _Z3:
    """The same formula as a Z3 term."""

    all = staticmethod(lambda *xs: z3.And(*xs) if xs else z3.BoolVal(True))
    any = staticmethod(lambda *xs: z3.Or(*xs) if xs else z3.BoolVal(False))
    imp = staticmethod(lambda a, b: z3.Implies(a, b))
    bool = staticmethod(lambda x: x)


class _Arr:
    """A flattened array: its cells' names by index path."""

    def __init__(self, root: str, kind: str, lo: int, hi: int, labels: tuple[str, ...]):
        self.root, self.kind, self.lo, self.hi, self.labels = root, kind, lo, hi, labels
        self.cells: dict[tuple[int, ...], str] = {}

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(max(p[k] for p in self.cells) + 1 for k in range(len(next(iter(self.cells)))))

    def complete(self) -> bool:
        return len(self.cells) == _prod(self.shape)


def _prod(xs: tuple[int, ...]) -> int:
    out = 1
    for x in xs:
        out *= x
    return out


def _structure(ss: SymbolicSystem) -> tuple[dict[str, _Arr], list[Any]]:
    """The flattened arrays (by root) and the scalar variables outside arrays."""
    arrays: dict[str, _Arr] = {}
    scalars = []
    for sv in ss.variables:
        if sv.dims or not isinstance(sv.lo, int) or not isinstance(sv.hi, int):
            continue
        if not sv.path:
            scalars.append(sv)
            continue
        a = arrays.setdefault(sv.root, _Arr(sv.root, sv.kind, sv.lo, sv.hi, sv.labels))
        if (a.kind, a.lo, a.hi, a.labels) != (sv.kind, sv.lo, sv.hi, sv.labels):
            a.kind = "mixed"
        a.cells[sv.path] = sv.name
    return {k: a for k, a in arrays.items() if a.kind != "mixed" and a.complete()}, scalars


def flat_candidates(ss: SymbolicSystem) -> list[Candidate]:
    """The facts over whole flattened arrays (see the module's docstring), in template order."""
    if not is_flat(ss):
        return []
    arrays, scalars = _structure(ss)
    z: dict[str, Any] = {sv.name: sv.const for sv in ss.variables}
    z.update({n: ss.params[n] for n in ss.unbounded})
    out: list[Candidate] = []
    seen: set[str] = set()

    def add(text: str, f: Callable[[Callable[[str], Any], Any], Any], key: tuple) -> None:
        """A template: f(get, logic) is its formula over the values get(name) gives."""
        if text in seen:
            return
        seen.add(text)
        reads: dict[str, None] = {}

        def get(n: str) -> Any:
            reads[n] = None
            return z[n]
        formula = f(get, _Z3)  # every name is read: Z3's connectives take every operand
        out.append(Candidate(text, lambda e, f=f: bool(f(e.__getitem__, _Py)), formula, (("flat",) + key, ()),
                             reads=tuple(reads)))

    ones = {a.root: a for a in arrays.values() if len(a.shape) == 1}
    twos = {a.root: a for a in arrays.values() if len(a.shape) == 2 and a.kind == "int"}
    bools = [a for a in ones.values() if a.kind == "bool"]
    enums1 = [a for a in ones.values() if a.kind == "enum"]
    ints1 = [a for a in ones.values() if a.kind == "int"]
    ints = [sv for sv in scalars if sv.kind == "int"]
    enum_guards: list[tuple[str, Callable]] = [("", lambda g: True)]
    for sv in scalars:
        if sv.kind == "enum":
            for k, label in enumerate(sv.labels):
                enum_guards.append((f"{sv.name} = {label} -> ", lambda g, n=sv.name, k=k: g(n) == k))

    # Every element of an array: its domain and the bounds next to its lowest value; an enum
    # value no element takes; every element of a bool array true, or false.
    for a in arrays.values():
        idx = "r, i" if len(a.shape) == 2 else "i"
        sub = "[r][i]" if len(a.shape) == 2 else "[i]"
        every = list(a.cells.values())
        if a.kind == "int":
            for op, k in ((">=", a.lo), ("<=", a.hi), (">=", a.lo + 1), ("<=", a.lo + 1), ("<=", a.lo)):
                add(f"forall {idx}: {a.root}{sub} {op} {k}",
                    lambda g, L, every=every, op=op, k=k: L.all(*[g(x) >= k if op == ">=" else g(x) <= k
                                                                  for x in every]),
                    ("every", a.root, op, k))
        elif a.kind == "enum":
            for k, label in enumerate(a.labels):
                add(f"forall {idx}: {a.root}{sub} != {label}",
                    lambda g, L, every=every, k=k: L.all(*[g(x) != k for x in every]), ("every", a.root, "!=", k))
        else:
            for neg in (False, True):
                add(f"forall {idx}: {'not ' if neg else ''}{a.root}{sub}",
                    lambda g, L, every=every, neg=neg: L.all(*[L.bool(g(x)) != neg for x in every]),
                    ("every", a.root, neg))

    # The element of a bool array at an int variable that indexes it; some element holds.
    for b in bools:
        (n,) = b.shape
        for t in ints:
            if t.hi == n - 1 and t.lo >= -1:
                for neg in (False, True):
                    add(f"forall r: {t.name} = r -> {'not ' if neg else ''}{b.root}[r]",
                        lambda g, L, b=b, t=t, n=n, neg=neg: L.all(*[
                            L.imp(g(t.name) == r, L.bool(g(b.cells[(r,)])) != neg) for r in range(n)]),
                        ("at", b.root, t.name, neg))
        add(f"exists r: {b.root}[r]", lambda g, L, b=b, n=n: L.any(*[L.bool(g(b.cells[(r,)])) for r in range(n)]),
            ("some", b.root))

    # Enum arrays: an order among the elements, and two values that exclude each other.
    for p in enums1:
        (n,) = p.shape
        if n < 2:
            continue
        # what an earlier element's value says of a later one's, also while an int variable
        # is at its lowest value (a retry not yet used)
        lowest = [("", lambda g: True)] + [(f"{t.name} <= {t.lo} -> ", lambda g, t=t: g(t.name) <= t.lo)
                                          for t in ints]
        for (x, lx), (y, ly) in itertools.product(enumerate(p.labels), repeat=2):
            for gtext, gf in lowest if x != y else lowest[:1]:
                add(f"{gtext}forall m < k: {p.root}[m] = {lx} -> {p.root}[k] = {ly}",
                    lambda g, L, p=p, n=n, x=x, y=y, gf=gf: L.imp(gf(g), L.all(*[
                        L.imp(g(p.cells[(m,)]) == x, g(p.cells[(k,)]) == y)
                        for m in range(n) for k in range(m + 1, n)])),
                    ("order", p.root, x, y, gtext))
        for (x, lx), (y, ly) in itertools.product(enumerate(p.labels), repeat=2):
            add(f"forall m != k: {p.root}[m] = {lx} -> {p.root}[k] != {ly}",
                lambda g, L, p=p, n=n, x=x, y=y: L.all(*[L.imp(g(p.cells[(m,)]) == x, g(p.cells[(k,)]) != y)
                                                   for m in range(n) for k in range(n) if k != m]),
                ("excl", p.root, x, y))

    # An int array's element at an int variable that indexes it, under an enum value.
    for c in ints1:
        (n,) = c.shape
        for u in ints:
            if u.hi != n - 1 or u.lo < -1:
                continue
            for gtext, gf in enum_guards:
                for op, bound in (("<=", c.lo), (">=", c.lo + 1)):
                    add(f"{gtext}{c.root}[{u.name}] {op} {bound}",
                        lambda g, L, c=c, u=u, n=n, gf=gf, op=op, bound=bound: L.imp(gf(g), L.all(*[
                            L.imp(g(u.name) == m,
                                  g(c.cells[(m,)]) <= bound if op == "<=" else g(c.cells[(m,)]) >= bound)
                            for m in range(n)])),
                        ("cell", c.root, u.name, gtext, op))

    for a in twos.values():
        rows, size = a.shape
        # the row ends: an int array of one element per row reaching the row's length
        ends = [e for e in ints1 if e.shape == (rows,) and e.hi == size]
        bounds = [t for t in ints if t.hi == size and t.lo >= 0]
        guards = [b for b in bools if b.shape == (rows,)]
        # Each row below and from its end: a value, the empty marker, increasing, not
        # decreasing, the offset itself.
        for e in ends:
            def end(g, r, e=e):
                return g(e.cells[(r,)])
            add(f"forall r, i: i < {e.root}[r] -> {a.root}[r][i] >= {a.lo + 1}",
                lambda g, L, a=a, end=end: L.all(*[L.imp(i < end(g, r), g(a.cells[(r, i)]) >= a.lo + 1)
                                              for r in range(rows) for i in range(size)]),
                ("below", a.root, e.root))
            add(f"forall r, i: i >= {e.root}[r] -> {a.root}[r][i] <= {a.lo}",
                lambda g, L, a=a, end=end: L.all(*[L.imp(i >= end(g, r), g(a.cells[(r, i)]) <= a.lo)
                                              for r in range(rows) for i in range(size)]),
                ("above", a.root, e.root))
            add(f"forall r, i < j < {e.root}[r]: {a.root}[r][i] < {a.root}[r][j]",
                lambda g, L, a=a, end=end: L.all(*[L.imp(j < end(g, r), g(a.cells[(r, i)]) < g(a.cells[(r, j)]))
                                              for r in range(rows) for i in range(size) for j in range(i + 1, size)]),
                ("increasing", a.root, e.root))
            add(f"forall r, i < j < {e.root}[r]: {a.root}[r][i] <= {a.root}[r][j]",
                lambda g, L, a=a, end=end: L.all(*[L.imp(j < end(g, r), g(a.cells[(r, i)]) <= g(a.cells[(r, j)]))
                                              for r in range(rows) for i in range(size) for j in range(i + 1, size)]),
                ("sorted", a.root, e.root))
            add(f"forall r, i < {e.root}[r]: {a.root}[r][i] = i",
                lambda g, L, a=a, end=end: L.all(*[L.imp(i < end(g, r), g(a.cells[(r, i)]) == i)
                                              for r in range(rows) for i in range(size)]),
                ("identity", a.root, e.root))
            # a row's end and a variable of its range, under an element of a bool array (or not)
            for b in [None, *guards]:
                for t in bounds:
                    for rel in ("<=", ">="):
                        add(f"forall r: {f'{b.root}[r] -> ' if b else ''}{t.name} {rel} {e.root}[r]",
                            lambda g, L, b=b, t=t, end=end, rel=rel: L.all(*[
                                L.imp(L.bool(g(b.cells[(r,)])) if b else True, g(t.name) <= end(g, r) if rel == "<="
                                     else g(t.name) >= end(g, r)) for r in range(rows)]),
                            ("end", b.root if b else "", t.name, rel, e.root))
        # Two rows agree below a variable, under elements of a bool array.
        for b in guards:
            for t in bounds:
                add(f"forall r, q, i < {t.name}: {b.root}[r] and {b.root}[q] -> {a.root}[r][i] = {a.root}[q][i]",
                    lambda g, L, a=a, b=b, t=t: L.all(*[
                        L.imp(L.all(L.bool(g(b.cells[(r,)])), L.bool(g(b.cells[(q,)])), i < g(t.name)),
                             g(a.cells[(r, i)]) == g(a.cells[(q, i)]))
                        for r in range(rows) for q in range(r + 1, rows) for i in range(size)]),
                    ("agree", a.root, b.root, t.name))
        # The values as indices of a one-dimensional array of their range (message ids).
        n = a.hi + 1
        if a.lo < 0 <= a.hi:
            _values(add, a, rows, size, n, [p for p in enums1 if p.shape == (n,)],
                    [c for c in ints1 if c.shape == (n,)], guards, bounds, ints, enum_guards)
    return out


def _values(add: Callable, a: _Arr, rows: int, size: int, n: int, enums1: list[_Arr], ints1: list[_Arr],
            guards: list[_Arr], bounds: list[Any], ints: list[Any], enum_guards: list) -> None:
    """Facts that read the values of the two-dimensional array `a` as indices of arrays of n elements."""
    cells = [(r, i) for r in range(rows) for i in range(size)]
    # a value below the index of an element in some state: nothing at or past m is written yet
    for p in enums1:
        for x, label in enumerate(p.labels):
            for strict in (True, False):
                add(f"forall m, r, i: {p.root}[m] = {label} -> {a.root}[r][i] {'<' if strict else '<='} m",
                    lambda g, L, p=p, x=x, strict=strict: L.all(*[
                        L.imp(g(p.cells[(m,)]) == x, g(a.cells[c]) < m if strict else g(a.cells[c]) <= m)
                        for m in range(n) for c in cells]),
                    ("before", a.root, p.root, x, strict))
    # an element in some state (or >= 1) is among the row's cells below a variable
    marks: list[tuple[str, Callable, tuple]] = []
    for p in enums1:
        for x, label in enumerate(p.labels):
            marks.append((f"{p.root}[m] = {label}", lambda g, m, p=p, x=x: g(p.cells[(m,)]) == x, (p.root, x)))
    for c in ints1:
        marks.append((f"{c.root}[m] >= {c.lo + 1}", lambda g, m, c=c: g(c.cells[(m,)]) >= c.lo + 1, (c.root,)))
    for b in guards:
        for mtext, mark, mkey in marks:
            for t in bounds:
                add(f"forall m, r: {mtext} and {b.root}[r] -> exists i < {t.name}: {a.root}[r][i] = m",
                    lambda g, L, b=b, mark=mark, t=t: L.all(*[
                        L.imp(L.all(mark(g, m), L.bool(g(b.cells[(r,)]))),
                             L.any(*[L.all(i < g(t.name), g(a.cells[(r, i)]) == m) for i in range(size)]))
                        for m in range(n) for r in range(rows)]),
                    ("in", a.root, b.root, mkey, t.name))
    # every value below a variable (and one below it), in a row under a bool array's element, is done
    for c in ints1:
        for b in guards:
            for t in bounds:
                for gtext, gf in enum_guards:
                    for k in (0, 1):
                        below = f"{t.name} - 1" if k else t.name
                        add(f"{gtext}forall m, r, i < {below}: {b.root}[r] and {a.root}[r][i] = m -> "
                            f"{c.root}[m] >= {c.lo + 1}",
                            lambda g, L, b=b, t=t, gf=gf, k=k, c=c: L.imp(gf(g), L.all(*[
                                L.imp(L.all(L.bool(g(b.cells[(r,)])), i < g(t.name) - k, g(a.cells[(r, i)]) == m),
                                     g(c.cells[(m,)]) >= c.lo + 1)
                                for m in range(n) for r in range(rows) for i in range(size)])),
                            ("done", a.root, c.root, b.root, t.name, gtext, k))
    # the cell just below a variable holds a value variable (the record in hand)
    for b in guards:
        for t in bounds:
            for u in ints:
                if u.hi != n - 1 or u.lo < 0:
                    continue
                for gtext, gf in enum_guards:
                    add(f"{gtext}forall r: {b.root}[r] and {t.name} >= 1 -> {a.root}[r][{t.name} - 1] = {u.name}",
                        lambda g, L, b=b, t=t, u=u, gf=gf: L.imp(gf(g), L.all(*[
                            L.imp(L.all(L.bool(g(b.cells[(r,)])), g(t.name) == i + 1), g(a.cells[(r, i)]) == g(u.name))
                            for r in range(rows) for i in range(size)])),
                        ("hand", a.root, b.root, t.name, u.name, gtext))


def flat_pool(cands: list[Candidate]) -> tuple[list[Candidate], list[Candidate]]:
    """The candidates of a flat system in the order Houdini takes them in, and those it
    takes in last. First the properties, the other templates' facts over variables
    outside arrays, then the facts over whole arrays; last the other templates' facts
    about single cells, only when nothing before them rules a counterexample out and a
    property is not proved without them (they say less than those over whole arrays and
    would fill the invariant with one line per cell, but a model whose arrays the facts
    over whole arrays do not fit, such as `eos`, needs them)."""
    def single_cell(c: Candidate) -> bool:
        return c.prop is None and c.key[0][0] != "flat" and "[" in c.text
    first = [c for c in cands if not single_cell(c)]
    return ([c for c in first if c.key[0][0] != "flat"] + [c for c in first if c.key[0][0] == "flat"],
            [c for c in cands if single_cell(c)])
