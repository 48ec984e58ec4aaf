"""Symmetry reduction: one state per orbit of a model's interchangeable indices.

A model declares `model.symmetric("partitions")`: renaming partitions maps states,
actions and properties onto each other. Then a state and every state obtained by
permuting its partitions have the same future up to renaming, and the same property
values, so the search needs one of them: the canonical form, whose per-partition
blocks of variables are sorted. The claim is checked with Z3 before it is used
(`check`): a model that is not symmetric is refused with the action or property that
breaks it, never silently reduced.

Counts: `Result.states` is then the number of orbits. Each canonical state's orbit has
P! / (m1! m2! ...) states (m = how many partitions hold identical blocks), so the
engine also sums the orbit sizes: the exact number of states the unreduced search
visits (the reachable set is closed under renaming because the initial state and every
action are). Transitions are counted between canonical states.

Traces: the canonical states along a trace are not a real run (a successor is
renamed), so `real_trace` rebuilds one: from the real initial state it takes, at each
step, the first action (in declaration order) whose successor has the trace's next
canonical state as its canonical form. The result is a real, replayable trace of the
same length ending in a state of the same orbit, which violates (or witnesses) the
property as the canonical one does, since properties are invariant under renaming.
"""

from __future__ import annotations

import itertools
import math

import z3
from llvmlite import ir

from checker.errors import CheckerError, SpecError
from checker.result import Step, Trace
from checker.lang.system import System

__all__ = ["Canonical", "blocks", "check"]

_I64 = ir.IntType(64)


def _c64(x: int) -> ir.Constant:
    return ir.Constant(_I64, x)


def blocks(system: System, param: str) -> list[list[int]]:
    """For each index p of `param`, the flat variables that belong to p, in one order.

    A variable belongs to index p when it is a cell of an array whose first dimension
    has `param` cells and its first index is p."""
    count = system.params[param]
    first_dim: dict[str, int] = {}
    for v in system.variables:
        if v.path:
            first_dim[v.root] = max(first_dim.get(v.root, 0), v.path[0] + 1)
    out: list[list[int]] = [[] for _ in range(count)]
    for i, v in enumerate(system.variables):
        if v.path and first_dim[v.root] == count:
            out[v.path[0]].append(i)
    return out


def _permutation(system: System, groups: list[list[int]], perm: list[int]):
    """The substitution of variables and the map of actions for renaming index p to perm[p]."""
    sub = []
    var_map = list(range(len(system.variables)))
    for p, q in enumerate(perm):
        for i, j in zip(groups[p], groups[q]):
            var_map[i] = j
            sub.append((system.consts[i], system.consts[j]))
    return sub, var_map


def check(system: System, param: str, groups: list[list[int]]) -> None:
    """Prove with Z3 that renaming the indices of `param` maps the model onto itself.

    Checked for two renamings that generate every permutation (swap 0 and 1, and the
    rotation p -> p+1): the initial state is unchanged, each action maps onto the action
    of the renamed index with an equivalent guard and updates, and every property
    formula is unchanged. Raises SpecError naming what breaks the symmetry."""
    P = len(groups)
    sizes = [[system.variables[i].hi - system.variables[i].lo + 1 for i in g] for g in groups]
    if any(s != sizes[0] for s in sizes):
        raise SpecError(f"model {system.model}: the variables of the {param} differ in shape, "
                        "so they are not interchangeable")
    names = {a.name: i for i, a in enumerate(system.actions)}
    solver = z3.Solver()
    solver.set("timeout", 2000)

    def same(x: z3.ExprRef, y: z3.ExprRef) -> bool:
        if x.eq(y) or z3.simplify(x).eq(z3.simplify(y)):
            return True
        solver.push()
        solver.add(x != y)
        ok = solver.check() == z3.unsat
        solver.pop()
        return ok

    gens = [[1, 0] + list(range(2, P)), [(p + 1) % P for p in range(P)]] if P > 1 else []
    for perm in gens:
        sub, var_map = _permutation(system, groups, perm)
        what = f"renaming {param} by {perm}"
        init = system.init
        if any(init[var_map[i]] != init[i] for i in range(len(init))):
            raise SpecError(f"model {system.model}: the initial state changes under {what}; "
                            "the declared symmetry does not hold")
        for a in system.actions:
            if a.index is not None and a.index < P:
                target = f"{a.base}({perm[a.index]})"
            else:
                target = a.name
            b = system.actions[names[target]] if target in names else None
            mapped = {var_map[vi]: z3.substitute(t, *sub) for vi, t in a.updates.items()} if sub else a.updates
            if (b is None or not same(z3.substitute(a.guard, *sub), b.guard)
                    or set(mapped) != set(b.updates)
                    or not all(same(z3.Implies(b.guard, mapped[vi] == b.updates[vi]), z3.BoolVal(True))
                               for vi in mapped)):
                raise SpecError(f"model {system.model}: action {a.name} does not map onto {target} under "
                                f"{what}; the declared symmetry does not hold")
        for p in system.properties:
            if not same(z3.substitute(p.formula, *sub), p.formula):
                raise SpecError(f"model {system.model}: property {p.name} changes under {what}; "
                                "the declared symmetry does not hold")


class Canonical:
    """The canonical form (sorted blocks) in Python and as LLVM code for the fast kernel."""

    def __init__(self, system: System, layout):
        if not system.symmetric:
            raise CheckerError(f"model {system.model} declares no symmetry; run it without --symmetry")
        self.system, self.lay = system, layout
        self.param = system.symmetric[0]
        self.groups = blocks(system, self.param)
        if len(self.groups) < 2 or not self.groups[0]:
            raise CheckerError(f"{self.param}={len(self.groups)}: nothing to permute; run without --symmetry")
        if len(self.groups) > 20:  # orbit sizes (up to P!) are counted in 64 bits
            raise CheckerError(f"{self.param}={len(self.groups)}: symmetry reduction handles at most 20")
        check(system, self.param, self.groups)
        self.sizes = [system.variables[i].hi - system.variables[i].lo + 1 for i in self.groups[0]]
        self.block_radix = [math.prod(self.sizes[i + 1:]) for i in range(len(self.sizes))]  # first var most significant
        if math.prod(self.sizes) >= 1 << 63:
            raise CheckerError(f"the variables of one of the {self.param} have too many values "
                               "for the symmetry reduction (at most 2**63)")
        self.factorial = math.factorial(len(self.groups))

    def describe(self) -> str:
        return self.param

    # Python ---------------------------------------------------------------------
    def canon_values(self, values: tuple[int, ...]) -> tuple[int, ...]:
        out = list(values)
        blocks_ = sorted(tuple(values[i] - self.system.variables[i].lo for i in g) for g in self.groups)
        for g, blk in zip(self.groups, blocks_):
            for i, d in zip(g, blk):
                out[i] = d + self.system.variables[i].lo
        return tuple(out)

    def canonical(self, words: list[int]) -> list[int]:
        return self.lay.pack(self.canon_values(self.lay.unpack(words)))

    def orbit_size(self, values: tuple[int, ...]) -> int:
        keys = [tuple(values[i] for i in g) for g in self.groups]
        stab = math.prod(math.factorial(len(list(run))) for _, run in itertools.groupby(sorted(keys)))
        return self.factorial // stab

    def real_trace(self, chain: list[int]) -> Trace:
        """A real trace whose states have the canonical trace's states as canonical forms."""
        from checker.lang.system import enabled, take
        system = self.system
        real = system.init
        canon = self.canon_values(real)
        steps = [Step(None, real)]
        for a in chain:
            goal = self.canon_values(take(system, canon, a))
            for b in range(len(system.actions)):
                if enabled(system, real, b):
                    values = take(system, real, b)
                    if self.canon_values(values) == goal:
                        steps.append(Step(system.actions[b].name, values))
                        real, canon = values, goal
                        break
            else:  # cannot happen for a symmetric model (check() proved it is one)
                raise AssertionError("symmetry: no real step matches the canonical trace")
        return Trace(system, steps)

    # LLVM -------------------------------------------------------------------------
    def emit(self, kernel, b: ir.IRBuilder, words: list[ir.Value]) -> tuple[list[ir.Value], ir.Value]:
        """Code for the canonical form of `words`, and the size of its orbit."""
        lay = self.lay
        digit: dict[int, ir.Value] = {}
        for g in self.groups:
            for i in g:
                digit[i] = b.urem(b.udiv(words[lay.word[i]], _c64(lay.radix[i])), _c64(lay.sizes[i]))
        keys = []
        for g in self.groups:
            k = _c64(0)
            for i, r in zip(g, self.block_radix):
                k = b.add(k, b.mul(digit[i], _c64(r)))
            keys.append(k)
        # Sort the keys with a network of compare-exchanges (straight-line code).
        P = len(keys)
        for i in range(P):
            for j in range(P - 1 - i):
                lo = b.icmp_unsigned("<=", keys[j], keys[j + 1])
                keys[j], keys[j + 1] = b.select(lo, keys[j], keys[j + 1]), b.select(lo, keys[j + 1], keys[j])
        out = list(words)
        for g in self.groups:  # clear every block's digits ...
            for i in g:
                w = lay.word[i]
                out[w] = b.sub(out[w], b.mul(digit[i], _c64(lay.radix[i])))
        for g, k in zip(self.groups, keys):  # ... and write the sorted blocks back
            for i, r, d in zip(g, self.block_radix, self.sizes):
                w = lay.word[i]
                x = b.urem(b.udiv(k, _c64(r)), _c64(d))
                out[w] = b.add(out[w], b.mul(x, _c64(lay.radix[i])))
        # Orbit size P! / prod(m!): the product of (1 + equal keys before) over sorted keys.
        stab = _c64(1)
        for i in range(1, P):
            c = _c64(1)
            for j in range(i):
                c = b.add(c, b.zext(b.icmp_unsigned("==", keys[j], keys[i]), _I64))
            stab = b.mul(stab, c)
        return out, b.udiv(_c64(self.factorial), stab)
