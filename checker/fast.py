"""The fast explicit-state engine: the same search as `explicit.py`, compiled to machine code.

`explicit.py` runs generated Python per state; this engine generates the whole search
loop of one model instance as LLVM IR (guards, updates, properties and the hash table,
from the same Z3 terms) and compiles it with llvmlite in about half a second, so a
transition costs tens of nanoseconds instead of microseconds. It is the same
breadth-first search: states are expanded in discovery order and actions in
declaration order, and a new state is linked to the first (parent, action) that
reaches it, so counts, verdicts and traces are identical to `explicit.py`'s
(tests/test_agreement.py checks this on every model and toy).

A state is W signed 64-bit words in mixed radix (variable i is the digit value - lo in
base hi - lo + 1), the densest packing that keeps reading a variable to a division by
a constant: partitions=3, messages=4 fits one word where the bit fields of
`system.Layout` need 65 bits. The visited set is an open-addressing hash table of the
states themselves (one cache miss per lookup; successors' slots are prefetched), and
each state keeps a 4-byte parent number and a 2-byte action, indexed by discovery
order, so a trace is a chain of parent links whose states are recomputed from the Z3
terms. Only the level being expanded and the one being filled are kept as arrays.

When the run needs the transition graph (`eventually` properties, cover), a second
kernel, compiled apart so the plain search pays nothing, also keeps every state, each
table slot's state id and each state's degree, and appends every transition (target,
action) in the explicit engine's order; `postsearch.py` then decides liveness, vacuity
and cover on it exactly as for `explicit.py`.

With `symmetry=True` every successor is replaced by its canonical form before the
lookup (see `symmetry.py`), so one state stands for its orbit.
"""

from __future__ import annotations

import ctypes
import functools
import time
from dataclasses import dataclass
from collections.abc import Sequence
from typing import Callable

import llvmlite.binding as llvm
import numpy as np
import z3
from llvmlite import ir

from .compile import DomainError, _is_var, _naming, used_vars
from .errors import CheckerError, SpecError
from .explicit import peak_memory
from .postsearch import Explored, decide
from .result import PropertyResult, Result, Step, Trace, verdict_for
from .system import System
from .vector import _WORD as _WORD_BITS, Words

__all__ = ["explore_fast", "FastLayout", "compiled_fast", "take", "enabled"]

Progress = Callable[..., None]  # states, frontier, depth, seconds[, memory bytes]

_WORD_LIMIT = 1 << 63  # a word's codes stay below this: int64, never negative
_CHUNK = 1 << 16  # states expanded per kernel call: limits and progress are checked between calls
_MAX_STATES = (1 << 31) - 2  # state numbers are int32


@dataclass(frozen=True)
class FastLayout:
    """Variable i is digit (word[i], radix[i]) of a mixed-radix number, base sizes[i]."""

    word: tuple[int, ...]
    radix: tuple[int, ...]
    sizes: tuple[int, ...]
    los: tuple[int, ...]
    words: int

    @classmethod
    def of(cls, system: System) -> "FastLayout":
        word, radix, sizes = [], [], []
        w, r = 0, 1
        for v in system.variables:
            d = v.hi - v.lo + 1
            if d >= _WORD_LIMIT:
                raise CheckerError(f"variable {v.name} has {d} values; the fast engine packs at most 2**63")
            if r * d > _WORD_LIMIT:
                w, r = w + 1, 1
            word.append(w)
            radix.append(r)
            sizes.append(d)
            r *= d
        return cls(tuple(word), tuple(radix), tuple(sizes), tuple(v.lo for v in system.variables), w + 1)

    def pack(self, values) -> list[int]:
        out = [0] * self.words
        for i, x in enumerate(values):
            out[self.word[i]] += (x - self.los[i]) * self.radix[i]
        return out

    def unpack(self, words) -> tuple[int, ...]:
        return tuple(int(words[w]) // r % d + lo
                     for w, r, d, lo in zip(self.word, self.radix, self.sizes, self.los))


_I64, _I32, _I16, _I8, _I1 = ir.IntType(64), ir.IntType(32), ir.IntType(16), ir.IntType(8), ir.IntType(1)


def _c64(x: int) -> ir.Constant:
    return ir.Constant(_I64, x)


class _Terms:
    """LLVM instructions for Z3 terms: i64 for integers, i1 for booleans.

    Every operand is evaluated (no short circuit: terms have no side effects), so a term
    is straight-line code; values are cached by Z3 node so shared subterms are computed
    once. `fork()` gives a cache for a conditional block whose values must not leak out.
    """

    def __init__(self, b: ir.IRBuilder, var: Callable[[int], ir.Value], index: dict[int, int],
                 cache: dict[int, ir.Value] | None = None):
        self.b, self.var, self.index = b, var, index
        self.cache: dict[int, ir.Value] = cache if cache is not None else {}

    def fork(self) -> "_Terms":
        return _Terms(self.b, self.var, self.index, dict(self.cache))

    def __call__(self, e: z3.ExprRef) -> ir.Value:
        k = e.get_id()
        v = self.cache.get(k)
        if v is None:
            v = self.cache[k] = self._build(e)
        return v

    def _build(self, e: z3.ExprRef) -> ir.Value:
        b = self.b
        if z3.is_int_value(e):
            return _c64(e.as_long())
        if z3.is_true(e):
            return ir.Constant(_I1, 1)
        if z3.is_false(e):
            return ir.Constant(_I1, 0)
        if _is_var(e):
            return self.var(self.index[e.get_id()])
        kind = e.decl().kind()
        args = [self(c) for c in e.children()]
        if kind == z3.Z3_OP_ITE:
            return b.select(*args)
        if kind == z3.Z3_OP_ADD:
            return functools.reduce(b.add, args)
        if kind == z3.Z3_OP_MUL:
            return functools.reduce(b.mul, args)
        if kind == z3.Z3_OP_SUB:
            return functools.reduce(b.sub, args)
        if kind == z3.Z3_OP_UMINUS:
            return b.neg(args[0])
        if kind in _CMP and len(args) == 2:
            return b.icmp_signed(_CMP[kind], *args)
        if kind == z3.Z3_OP_EQ:
            return functools.reduce(b.and_, [b.icmp_signed("==", args[0], x) for x in args[1:]])
        if kind == z3.Z3_OP_DISTINCT:
            return functools.reduce(b.and_, [b.icmp_signed("!=", x, y)
                                             for i, x in enumerate(args) for y in args[i + 1:]])
        if kind == z3.Z3_OP_AND:
            return functools.reduce(b.and_, args)
        if kind == z3.Z3_OP_OR:
            return functools.reduce(b.or_, args)
        if kind == z3.Z3_OP_NOT:
            return b.not_(args[0])
        if kind == z3.Z3_OP_IMPLIES:
            return b.or_(b.not_(args[0]), args[1])
        if kind == z3.Z3_OP_XOR and len(args) == 2:
            return b.xor(*args)
        if kind in (z3.Z3_OP_IDIV, z3.Z3_OP_MOD) and len(args) == 2:
            return self._divmod(kind, *args)
        raise SpecError(f"the term `{e}` uses {e.decl().name()}, which the fast engine cannot compile")

    def _divmod(self, kind: int, x: ir.Value, y: ir.Value) -> ir.Value:
        """Python's floor division and modulo (as `compile.py` runs them); a zero divisor gives 0."""
        b = self.b
        zero = b.icmp_signed("==", y, _c64(0))
        d = b.select(zero, _c64(1), y)
        q, r = b.sdiv(x, d), b.srem(x, d)
        # C truncates towards zero; Python floors: adjust when the signs differ and r != 0.
        fix = b.and_(b.icmp_signed("!=", r, _c64(0)),
                     b.icmp_signed("!=", b.icmp_signed("<", r, _c64(0)), b.icmp_signed("<", d, _c64(0))))
        out = b.select(fix, b.sub(q, _c64(1)), q) if kind == z3.Z3_OP_IDIV else b.select(fix, b.add(r, d), r)
        return b.select(zero, _c64(0), out)


_CMP = {z3.Z3_OP_LE: "<=", z3.Z3_OP_LT: "<", z3.Z3_OP_GE: ">=", z3.Z3_OP_GT: ">"}


class _Kernel:
    """Builds the LLVM module of one system: `kernel`, `props`, `rehash`, `canon`."""

    def __init__(self, system: System, lay: FastLayout, canon=None, graph: bool = False):
        self.system, self.lay, self.canon, self.graph = system, lay, canon, graph
        self.index = {c.get_id(): i for i, c in enumerate(system.consts)}
        self.bools = {i for i, v in enumerate(system.variables) if v.kind == "bool"}
        self.module = ir.Module(name=f"checker_{system.model}")
        self.module.triple = llvm.get_process_triple()
        W = lay.words
        self.props_fn = ir.Function(self.module, ir.FunctionType(_I64, [_I64] * W), "props")
        self.hash_fn = ir.Function(self.module, ir.FunctionType(_I64, [_I64] * W), "hash")
        self.hash_fn.linkage = "internal"
        self.prefetch = ir.Function(self.module, ir.FunctionType(ir.VoidType(), [_I8.as_pointer(), _I32, _I32, _I32]),
                                    "llvm.prefetch.p0")
        self._hash()
        self._props()
        self._rehash()
        self._kernel()

    # helpers -------------------------------------------------------------------
    def decode(self, b: ir.IRBuilder, words: list[ir.Value], i: int) -> ir.Value:
        lay = self.lay
        x = b.urem(b.udiv(words[lay.word[i]], _c64(lay.radix[i])), _c64(lay.sizes[i]))
        if i in self.bools:
            return b.icmp_signed("!=", x, _c64(0))
        return b.add(x, _c64(lay.los[i])) if lay.los[i] else x

    def lazy_vars(self, b: ir.IRBuilder, words: list[ir.Value]) -> Callable[[int], ir.Value]:
        """Variables decoded on first use, in the block that first needs them.

        Only valid when that block dominates every later use: the callers decode every
        variable a conditional block needs before branching (see `_kernel`)."""
        got: dict[int, ir.Value] = {}

        def var(i: int) -> ir.Value:
            if i not in got:
                got[i] = self.decode(b, words, i)
            return got[i]
        return var

    def _hash(self) -> None:
        f = self.hash_fn
        b = ir.IRBuilder(f.append_basic_block("entry"))
        h = _c64(0x9E3779B97F4A7C15)
        for w in f.args:
            h = b.mul(b.xor(h, w), _c64(0xBF58476D1CE4E5B9))
            h = b.xor(h, b.lshr(h, _c64(31)))
        b.ret(h)

    def _props(self) -> None:
        f = self.props_fn
        b = ir.IRBuilder(f.append_basic_block("entry"))
        terms = _Terms(b, self.lazy_vars(b, list(f.args)), self.index)
        out = _c64(0)
        for pi, p in enumerate(self.system.properties):
            if p.kind == "eventually":
                continue
            with _naming(f"property {p.name}"):
                bit = b.shl(b.zext(terms(p.formula), _I64), _c64(pi))
            out = b.or_(out, bit)
        b.ret(out)

    def _probe(self, b: ir.IRBuilder, table, tmask, words: list[ir.Value], fn: ir.Function, h=None):
        """Blocks that look words up in the table: (found block, empty block, slot).

        The table holds the states themselves, W words a slot, word 0 = -1 when empty:
        one cache miss per lookup, and no state array to keep for old levels."""
        W = self.lay.words
        if h is None:
            h = b.and_(b.call(self.hash_fn, words), tmask)
        head = b.block
        loop = fn.append_basic_block("probe")
        check = fn.append_basic_block("probe_check")
        nxt = fn.append_basic_block("probe_next")
        empty = fn.append_basic_block("probe_empty")
        same = fn.append_basic_block("probe_same")
        b.branch(loop)
        b.position_at_end(loop)
        slot = b.phi(_I64)
        slot.add_incoming(h, head)
        row = b.mul(slot, _c64(W))
        t0 = b.load(b.gep(table, [row]))
        b.cbranch(b.icmp_signed("==", t0, _c64(-1)), empty, check)
        b.position_at_end(check)
        eq = b.icmp_signed("==", t0, words[0])
        for k in range(1, W):
            eq = b.and_(eq, b.icmp_signed("==", b.load(b.gep(table, [b.add(row, _c64(k))])), words[k]))
        b.cbranch(eq, same, nxt)
        b.position_at_end(nxt)
        slot.add_incoming(b.and_(b.add(slot, _c64(1)), tmask), nxt)
        b.branch(loop)
        return same, empty, slot

    def _store(self, b: ir.IRBuilder, ptr, row: ir.Value, words: list[ir.Value]) -> None:
        for k, w in enumerate(words):
            b.store(w, b.gep(ptr, [b.add(b.mul(row, _c64(len(words))), _c64(k))]))

    def _rehash(self) -> None:
        """rehash(rows, ids, n, table, tids, mask): add n rows of W words (states, or an old
        table's slots, whose empty ones are skipped) to the table; with the graph, each
        row's state id ids[i] goes to tids, the table's id of each slot."""
        W = self.lay.words
        ptr64, ptr32 = _I64.as_pointer(), _I32.as_pointer()
        f = ir.Function(self.module, ir.FunctionType(ir.VoidType(), [ptr64, ptr32, _I64, ptr64, ptr32, _I64]),
                        "rehash")
        rows, ids, n, table, tids, tmask = f.args
        entry = f.append_basic_block("entry")
        loop = f.append_basic_block("loop")
        body = f.append_basic_block("body")
        add = f.append_basic_block("add")
        nxt = f.append_basic_block("next")
        done = f.append_basic_block("done")
        b = ir.IRBuilder(entry)
        b.branch(loop)
        b.position_at_end(loop)
        s = b.phi(_I64)
        s.add_incoming(_c64(0), entry)
        b.cbranch(b.icmp_signed("<", s, n), body, done)
        b.position_at_end(body)
        words = [b.load(b.gep(rows, [b.add(b.mul(s, _c64(W)), _c64(k))])) for k in range(W)]
        b.cbranch(b.icmp_signed("==", words[0], _c64(-1)), nxt, add)
        b.position_at_end(add)
        same, empty, slot = self._probe(b, table, tmask, words, f)
        b.position_at_end(same)
        b.branch(nxt)
        b.position_at_end(empty)
        self._store(b, table, slot, words)
        if self.graph:
            b.store(b.load(b.gep(ids, [s])), b.gep(tids, [slot]))
        b.branch(nxt)
        b.position_at_end(nxt)
        s.add_incoming(b.add(s, _c64(1)), nxt)
        b.branch(loop)
        b.position_at_end(done)
        b.ret_void()

    # the search kernel ---------------------------------------------------------
    def _kernel(self) -> None:
        """Expand states io[0]..stop-1 in order, appending new states.

        io (int64[11], read and written back): 0 the next state to expand, 1 states known,
        2 transitions, 3 first state with no enabled action (-1: none yet), 4 mask of the
        properties not yet decided, 5 status (1: an update left its domain), 6..9 that
        update (action, variable, value, state), 10 sum of orbit sizes (symmetry).

        With the graph, tids holds each table slot's state id, deg each expanded state's
        number of transitions, and every transition, to a new state or a known one, is
        appended to the edge arrays etgt, eact (room for ecap): grouped by source in id
        order, actions in declaration order, as `explicit.py` records them (so a source
        is implied by deg). Edge e of the pending successors is number
        trans - pcount + j, since `trans` already counts them."""
        system, lay = self.system, self.lay
        W, A = lay.words, len(system.actions)
        p64, p32, p16 = _I64.as_pointer(), _I32.as_pointer(), _I16.as_pointer()
        fty = ir.FunctionType(ir.VoidType(), [p64, p32, p16, p64, _I64, p64, p64, p64, _I64, _I64,
                                              _I64, _I64, _I64, _I64, _I64, _I64, p32, p32, p32, p16, _I64])
        f = ir.Function(self.module, fty, "kernel")
        (S, parent, act, table, tmask, fired, found, io, stop, limit, room, dead, must, nprops,
         base, tcap, tids, deg, etgt, eact, ecap) = f.args
        b = ir.IRBuilder(f.append_basic_block("entry"))

        def cell(ptr, i):
            return b.gep(ptr, [_c64(i)])

        # Every loop-carried scalar lives in a stack slot; LLVM's mem2reg makes them registers.
        slots = {}
        for name, init in (("s", b.load(cell(io, 0))), ("n", b.load(cell(io, 1))),
                           ("trans", b.load(cell(io, 2))), ("open", b.load(cell(io, 4))),
                           ("k", _c64(0)), ("j", _c64(0)), ("b", _c64(0)), ("full", b.load(cell(io, 10))),
                           ("pcount", _c64(0)), ("poff", _c64(0)), ("pparent", _c64(0)), ("tgt", _c64(0))):
            slots[name] = b.alloca(_I64, name=name)
            b.store(init, slots[name])
        # Successor buffers, two halves: one state's successors are inserted while the
        # next state's are computed, so their table slots have been prefetched by then.
        A1 = max(1, A)
        buf = b.alloca(_I64, size=2 * A1 * W, name="buf")
        bact = b.alloca(_I64, size=2 * A1, name="bact")
        hbuf = b.alloca(_I64, size=2 * A1, name="hbuf")
        obuf = b.alloca(_I64, size=2 * A1, name="obuf")  # orbit sizes, under symmetry
        ret = f.append_basic_block("return")
        flush = f.append_basic_block("flush")
        loop = f.append_basic_block("loop")
        b.branch(loop)

        def get(name):
            return b.load(slots[name])

        def put(name, v):
            b.store(v, slots[name])

        def row(i):
            return b.mul(i, _c64(W))

        def insert_pending() -> None:
            """Insert the pending successors (pcount of them at poff, parent pparent) in order."""
            put("j", _c64(0))
            ins = f.append_basic_block("insert")
            ins_body = f.append_basic_block("insert_body")
            ins_done = f.append_basic_block("insert_done")
            b.branch(ins)
            b.position_at_end(ins)
            j = get("j")
            b.cbranch(b.icmp_signed("<", j, get("pcount")), ins_body, ins_done)
            b.position_at_end(ins_body)
            idx = b.add(get("poff"), j)
            par = get("pparent")
            a = b.load(b.gep(bact, [idx]))
            xs = [b.load(b.gep(buf, [b.add(row(idx), _c64(w))])) for w in range(W)]
            fp = b.gep(fired, [a])
            b.store(b.add(b.load(fp), _c64(1)), fp)
            same, empty, slot = self._probe(b, table, tmask, xs, f, b.load(b.gep(hbuf, [idx])))
            nextj = f.append_basic_block("insert_next")
            b.position_at_end(same)
            if self.graph:
                put("tgt", b.zext(b.load(b.gep(tids, [slot])), _I64))
            b.branch(nextj)
            b.position_at_end(empty)
            n = get("n")
            if self.graph:
                put("tgt", n)
                b.store(b.trunc(n, _I32), b.gep(tids, [slot]))
            if self.canon is not None:
                put("full", b.add(get("full"), b.load(b.gep(obuf, [idx]))))
            self._store(b, table, slot, xs)
            self._store(b, S, b.sub(n, base), xs)
            b.store(b.trunc(par, _I32), b.gep(parent, [n]))
            b.store(b.trunc(a, _I16), b.gep(act, [n]))
            # Properties this state decides: found[b] = n for each newly decided one.
            openm = get("open")
            chk = f.append_basic_block("props")
            rec = f.append_basic_block("props_hit")
            bump = f.append_basic_block("bump")
            b.cbranch(b.icmp_signed("!=", openm, _c64(0)), chk, bump)
            b.position_at_end(chk)
            hit = b.and_(b.xor(b.call(self.props_fn, xs), must), openm)
            b.cbranch(b.icmp_signed("!=", hit, _c64(0)), rec, bump)
            b.position_at_end(rec)
            put("open", b.and_(openm, b.not_(hit)))
            put("b", _c64(0))
            bl = f.append_basic_block("bits")
            bb = f.append_basic_block("bits_body")
            bset = f.append_basic_block("bits_set")
            bn = f.append_basic_block("bits_next")
            b.branch(bl)
            b.position_at_end(bl)
            bit = get("b")
            b.cbranch(b.icmp_signed("<", bit, nprops), bb, bump)
            b.position_at_end(bb)
            on = b.icmp_signed("!=", b.and_(b.lshr(hit, bit), _c64(1)), _c64(0))
            b.cbranch(on, bset, bn)
            b.position_at_end(bset)
            b.store(n, b.gep(found, [bit]))
            b.branch(bn)
            b.position_at_end(bn)
            put("b", b.add(bit, _c64(1)))
            b.branch(bl)
            b.position_at_end(bump)
            put("n", b.add(get("n"), _c64(1)))
            b.branch(nextj)
            b.position_at_end(nextj)
            if self.graph:
                e = b.add(b.sub(get("trans"), get("pcount")), get("j"))
                b.store(b.trunc(get("tgt"), _I32), b.gep(etgt, [e]))
                b.store(b.trunc(a, _I16), b.gep(eact, [e]))
            put("j", b.add(get("j"), _c64(1)))
            b.branch(ins)
            b.position_at_end(ins_done)
            put("pcount", _c64(0))

        # loop: while s < stop, the next level's rows and the table have room for two
        # states' successors (the pending ones and this state's), and n <= limit.
        # S holds the levels from state number `base` on: row s - base is state s.
        b.position_at_end(loop)
        s, n = get("s"), get("n")
        go = b.and_(b.icmp_signed("<", s, stop),
                    b.and_(b.and_(b.icmp_signed("<=", b.add(b.sub(n, base), _c64(2 * A)), room),
                                  b.icmp_signed("<=", b.add(n, _c64(2 * A)), tcap)),
                           b.icmp_signed("<=", n, limit)))
        if self.graph:  # and the edge arrays have room for two states' transitions
            go = b.and_(go, b.icmp_signed("<=", b.add(get("trans"), _c64(2 * A)), ecap))
        body = f.append_basic_block("state")
        b.cbranch(go, body, flush)
        b.position_at_end(body)
        off = b.mul(b.and_(s, _c64(1)), _c64(A1))  # this state's half of the buffers
        words = [b.load(b.gep(S, [b.add(row(b.sub(s, base)), _c64(k))])) for k in range(W)]
        # Decode, up front, every variable any action reads or writes: the values then
        # dominate every action's block.
        used: set[int] = set()
        for a in system.actions:
            used |= used_vars([a.guard, *a.updates.values()], self.index) | set(a.updates)
        values = {i: self.decode(b, words, i) for i in sorted(used)}
        terms = _Terms(b, values.__getitem__, self.index)
        put("k", _c64(0))
        for ai, a in enumerate(system.actions):
            with _naming(f"action {a.name}"):
                g = terms(a.guard)
                then = f.append_basic_block(f"a{ai}")
                after = f.append_basic_block(f"a{ai}_end")
                b.cbranch(g, then, after)
                b.position_at_end(then)
                local = terms.fork()
                new = {vi: local(t) for vi, t in a.updates.items()}
                for vi, x in new.items():
                    v = system.variables[vi]
                    if vi in self.bools:
                        continue
                    bad = b.or_(b.icmp_signed("<", x, _c64(v.lo)), b.icmp_signed(">", x, _c64(v.hi)))
                    err = f.append_basic_block(f"a{ai}_bad{vi}")
                    ok = f.append_basic_block(f"a{ai}_ok{vi}")
                    b.cbranch(bad, err, ok)
                    b.position_at_end(err)
                    for i, val in ((5, _c64(1)), (6, _c64(ai)), (7, _c64(vi)), (8, x), (9, s)):
                        b.store(val, cell(io, i))
                    b.branch(ret)
                    b.position_at_end(ok)
                idx = b.add(off, get("k"))
                for w in range(W):
                    x = words[w]
                    for vi, nv in new.items():
                        if lay.word[vi] != w:
                            continue
                        old = values[vi]
                        if vi in self.bools:
                            nv, old = b.zext(nv, _I64), b.zext(old, _I64)
                        x = b.add(x, b.mul(b.sub(nv, old), _c64(lay.radix[vi])))
                    b.store(x, b.gep(buf, [b.add(row(idx), _c64(w))]))
                b.store(_c64(ai), b.gep(bact, [idx]))
                put("k", b.add(get("k"), _c64(1)))
                b.branch(after)
                b.position_at_end(after)

        # Canonicalise this state's successors, hash them and prefetch their table slots.
        put("j", _c64(0))
        pre = f.append_basic_block("prefetch")
        pre_body = f.append_basic_block("prefetch_body")
        pre_done = f.append_basic_block("prefetch_done")
        b.branch(pre)
        b.position_at_end(pre)
        j = get("j")
        b.cbranch(b.icmp_signed("<", j, get("k")), pre_body, pre_done)
        b.position_at_end(pre_body)
        idx = b.add(off, j)
        xs = [b.load(b.gep(buf, [b.add(row(idx), _c64(w))])) for w in range(W)]
        if self.canon is not None:
            xs, orbit = self.canon.emit(self, b, xs)
            for w in range(W):
                b.store(xs[w], b.gep(buf, [b.add(row(idx), _c64(w))]))
            b.store(orbit, b.gep(obuf, [idx]))
        h = b.and_(b.call(self.hash_fn, xs), tmask)
        b.store(h, b.gep(hbuf, [idx]))
        b.call(self.prefetch, [b.bitcast(b.gep(table, [b.mul(h, _c64(W))]), _I8.as_pointer()),
                               ir.Constant(_I32, 0), ir.Constant(_I32, 3), ir.Constant(_I32, 1)])
        if self.graph:  # a known successor's id is read from there
            b.call(self.prefetch, [b.bitcast(b.gep(tids, [h]), _I8.as_pointer()),
                                   ir.Constant(_I32, 0), ir.Constant(_I32, 3), ir.Constant(_I32, 1)])
        put("j", b.add(j, _c64(1)))
        b.branch(pre)
        b.position_at_end(pre_done)

        # Insert the previous state's successors, then make this state's pending.
        insert_pending()
        k = get("k")
        put("pcount", k)
        put("poff", off)
        put("pparent", s)
        # Count this state's transitions, note a deadlock, move on.
        put("trans", b.add(get("trans"), k))
        if self.graph:
            b.store(b.trunc(k, _I32), b.gep(deg, [s]))
        isdead = b.and_(b.icmp_signed("==", k, _c64(0)),
                        b.and_(b.icmp_signed("!=", dead, _c64(0)),
                               b.icmp_signed("<", b.load(cell(io, 3)), _c64(0))))
        mark = f.append_basic_block("dead")
        nexts = f.append_basic_block("next_state")
        b.cbranch(isdead, mark, nexts)
        b.position_at_end(mark)
        b.store(s, cell(io, 3))
        b.branch(nexts)
        b.position_at_end(nexts)
        put("s", b.add(s, _c64(1)))
        b.branch(loop)

        # Leaving: every state before s must be fully inserted.
        b.position_at_end(flush)
        insert_pending()
        b.branch(ret)

        b.position_at_end(ret)
        for i, name in ((0, "s"), (1, "n"), (2, "trans"), (4, "open"), (10, "full")):
            b.store(get(name), cell(io, i))
        b.ret_void()


_READY = False


def _jit(module: ir.Module):
    """Optimise and compile the module to machine code in this process."""
    global _READY
    if not _READY:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        _READY = True
    mod = llvm.parse_assembly(str(module))
    mod.verify()
    # One target machine per engine: the execution engine takes ownership of it.
    target = llvm.Target.from_default_triple().create_target_machine(opt=2)
    pb = llvm.create_pass_builder(target, llvm.create_pipeline_tuning_options(speed_level=2))
    pb.getModulePassManager().run(mod, pb)
    engine = llvm.create_mcjit_compiler(mod, target)
    engine.finalize_object()
    return engine


class _Compiled:
    """The machine code of one system: `kernel`, `props` and `rehash` as ctypes functions."""

    def __init__(self, system: System, symmetry: bool, graph: bool):
        start = time.perf_counter()
        self.layout = FastLayout.of(system)
        self.canon = None
        if symmetry:
            from .symmetry import Canonical  # only symmetric runs need it
            self.canon = Canonical(system, self.layout)
        k = _Kernel(system, self.layout, self.canon, graph)
        self.ir = str(k.module)  # for people who want to read it
        self.engine = _jit(k.module)
        P, I = ctypes.c_void_p, ctypes.c_int64
        addr = self.engine.get_function_address
        self.kernel = ctypes.CFUNCTYPE(None, P, P, P, P, I, P, P, P, I, I, I, I, I, I, I, I,
                                       P, P, P, P, I)(addr("kernel"))
        self.props = ctypes.CFUNCTYPE(I, *[I] * self.layout.words)(addr("props"))
        self.rehash = ctypes.CFUNCTYPE(None, P, P, I, P, P, I)(addr("rehash"))
        self.seconds = time.perf_counter() - start


def compiled_fast(system: System, symmetry: bool = False, graph: bool = False) -> _Compiled:
    """The compiled kernel of `system`, generated on first use and kept with it; with
    `graph`, the kernel that also records every transition (a separate kernel, so the
    plain search pays nothing for it)."""
    cache = system.__dict__.setdefault("_fast", {})
    if (symmetry, graph) not in cache:
        cache[symmetry, graph] = _Compiled(system, symmetry, graph)
    return cache[symmetry, graph]


def _value(e: z3.ExprRef) -> int:
    return (1 if z3.is_true(e) else 0) if z3.is_bool(e) else e.as_long()


def enabled(system: System, values: tuple[int, ...], a: int) -> bool:
    """Whether action a is enabled in the state, by Z3 evaluation (for the few states of a trace)."""
    sub = [(c, z3.BoolVal(bool(x)) if v.kind == "bool" else z3.IntVal(x))
           for c, v, x in zip(system.consts, system.variables, values)]
    return z3.is_true(z3.simplify(z3.substitute(system.actions[a].guard, *sub)))


def take(system: System, values: tuple[int, ...], a: int) -> tuple[int, ...]:
    """The successor of a state by action a, by Z3 evaluation: traces need a few steps
    only, and this keeps them independent of any compiled code."""
    sub = [(c, z3.BoolVal(bool(x)) if v.kind == "bool" else z3.IntVal(x))
           for c, v, x in zip(system.consts, system.variables, values)]
    out = list(values)
    for vi, term in system.actions[a].updates.items():
        out[vi] = _value(z3.simplify(z3.substitute(term, *sub)))
    return tuple(out)


_LOAD = 0.8  # the hash table is rebuilt twice as large before it is fuller than this


# Liveness is decided on the graph of real states; a graph of orbits would need
# fairness per orbit, which `liveness.py` does not model.
LIVENESS_NOT_UNDER_SYMMETRY = ("eventually properties are not decided under --symmetry (the graph of orbits "
                               "does not keep each action instance's fairness); run without --symmetry")


class _Packed(Sequence):
    """The explored states packed in `System.layout` (the explicit engine's ints), one
    made on each access from the engine's mixed-radix words."""

    def __init__(self, system: System, lay: FastLayout, S: np.ndarray):
        self.system, self.lay, self.S = system, lay, S

    def __len__(self) -> int:
        return len(self.S)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self.system.layout.pack(self.lay.unpack(self.S[i]))


def _layout_words(system: System, lay: FastLayout, S: np.ndarray) -> Words:
    """The states S (mixed radix) as `vector.Words` (System.layout's bits, 63 a word), by numpy."""
    out = system.layout
    n_words = max(1, -(-out.bits // _WORD_BITS))
    words = [np.zeros(len(S), dtype=np.uint64) for _ in range(n_words)]
    mask = np.uint64((1 << _WORD_BITS) - 1)
    for i in range(len(system.variables)):
        digit = (S[:, lay.word[i]] // lay.radix[i] % lay.sizes[i]).astype(np.uint64)  # value - lo
        k, off = divmod(out.shifts[i], _WORD_BITS)
        words[k] |= (digit << np.uint64(off)) & mask
        if off + out.widths[i] > _WORD_BITS:  # the field's top bits start the next word
            words[k + 1] |= digit >> np.uint64(_WORD_BITS - off)
    return Words.of_words([w.view(np.int64) for w in words])


def explore_fast(system: System, *, max_states: int | None = None, timeout: float | None = None,
                 deadlock: bool = False, progress: Progress | None = None, progress_every: float = 0.5,
                 max_memory: int | None = None, symmetry: bool = False, cover: bool = False) -> Result:
    """Explore every reachable state of `system` (or until a limit) and decide its properties.

    Same contract and limits as `explicit.explore` (cover included); also:
    max_memory: bytes the search may use for its tables; past it the run stops, incomplete.
    symmetry: explore one canonical state per orbit of the model's symmetric indices
    (eventually properties are then left unknown, and cover is refused).

    Eventually properties and cover need the transition graph: the search then runs a
    kernel that records every transition and keeps every state; implications' premises
    (the vacuity check) need every state only.
    """
    if symmetry and cover:
        raise CheckerError("--cover does not combine with --symmetry: the covering traces are of real states")
    live = any(p.kind == "eventually" for p in system.properties)
    graph = (cover or live) and not symmetry
    keep = graph or (any(p.premises for p in system.properties) and not symmetry)
    comp = compiled_fast(system, symmetry, graph)
    start = time.perf_counter()  # `seconds` is the search; compiling is comp.seconds
    lay = comp.layout
    W, A = lay.words, len(system.actions)
    if A >= 1 << 16:
        raise CheckerError(f"{A} actions: the fast engine numbers actions in 16 bits")
    props = system.properties
    if len(props) > 62:
        raise CheckerError(f"{len(props)} properties: the fast engine tracks at most 62 in one run")
    must = sum(1 << i for i, p in enumerate(props) if p.kind == "always")
    openmask = sum(1 << i for i, p in enumerate(props) if p.kind != "eventually")
    found = np.full(max(1, len(props)), -1, dtype=np.int64)
    fired = np.zeros(max(1, A), dtype=np.int64)

    # S: the levels being expanded and filled (state number base + row); parent and act:
    # every state's parent number and action; table: every state, for membership.
    room = 1 << 8  # small start: tiny models stay tiny, big ones grow by half
    S = np.empty((room, W), dtype=np.int64)
    links = 1 << 8
    parent = np.empty(links, dtype=np.int32)
    act = np.empty(links, dtype=np.uint16)
    table = np.full((1 << 9, W), -1, dtype=np.int64)
    base = 0
    # With the graph: each table slot's state id, each state's degree, every transition (target, action).
    ecap = 1 << 10 if graph else 0
    tids = np.zeros(table.shape[0] if graph else 1, dtype=np.int32)
    deg = np.empty(links if graph else 1, dtype=np.int32)  # transitions of each expanded state
    etgt = np.empty(max(1, ecap), dtype=np.int32)
    eact = np.empty(max(1, ecap), dtype=np.uint16)
    bounds = [0, 1]  # state ids where each BFS level starts, and the end of the last

    init = lay.pack(system.init)
    if comp.canon:
        init = comp.canon.canonical(init)
    S[0] = init
    parent[0], act[0] = -1, 0
    comp.rehash(S.ctypes.data, np.zeros(1, dtype=np.int32).ctypes.data, 1, table.ctypes.data, tids.ctypes.data,
                table.shape[0] - 1)
    hit = (comp.props(*init) ^ must) & openmask
    for i in range(len(props)):
        if hit >> i & 1:
            found[i] = 0
    openmask &= ~hit

    io = np.zeros(11, dtype=np.int64)  # the kernel's scalars: see _Kernel._kernel
    io[1], io[3], io[4] = 1, -1, openmask
    if comp.canon:
        io[10] = comp.canon.orbit_size(lay.unpack(init))
    limit = min(max_states if max_states is not None else _MAX_STATES, _MAX_STATES)
    level_end, depth = 1, 0
    complete, stopped = True, ""
    next_report = start + progress_every

    def memory() -> int:
        return (S.nbytes + parent.nbytes + act.nbytes + table.nbytes
                + (tids.nbytes + deg.nbytes + etgt.nbytes + eact.nbytes if graph else 0))

    def over_memory(extra: int) -> bool:
        return max_memory is not None and memory() + extra > max_memory

    while io[0] < io[1]:
        stop = min(level_end, int(io[0]) + _CHUNK)
        tcap = min(int(table.shape[0] * _LOAD), links)
        comp.kernel(S.ctypes.data, parent.ctypes.data, act.ctypes.data, table.ctypes.data, table.shape[0] - 1,
                    fired.ctypes.data, found.ctypes.data, io.ctypes.data, stop, limit, room,
                    int(deadlock), must, len(props), base, tcap,
                    tids.ctypes.data, deg.ctypes.data, etgt.ctypes.data, eact.ctypes.data, ecap)
        if io[5]:
            ai, vi, value, st = (int(x) for x in io[6:10])
            v = system.variables[vi]
            raise DomainError(
                f"action {system.actions[ai].name} sets {v.name} to {value}, outside its domain "
                f"{v.lo}..{v.hi}, from the state {system.show_state(lay.unpack(S[st - base]))}; "
                "widen the domain or strengthen the guard")
        head, n = int(io[0]), int(io[1])
        if head == level_end and n > level_end:
            depth += 1
            bounds.append(n)
            if not keep:
                # The finished level is never read again: move the new one to the front of S.
                S[: n - level_end] = S[level_end - base: n - base]
                base = level_end
            level_end = n
        now = time.perf_counter()
        if n > limit:
            complete = False
            stopped = (f"state limit of {max_states}" if max_states is not None and n > max_states
                       else f"engine's limit of {_MAX_STATES:,} states")
            break
        if timeout is not None and now - start > timeout:
            complete, stopped = False, f"time limit of {timeout:g} s"
            break
        grow = None
        # The kernel needs room for two states' successors (see _Kernel._kernel).
        if n - base + 2 * A > room:
            grow = "rows"
        elif n + 2 * A > links:
            grow = "links"
        elif n + 2 * A > int(table.shape[0] * _LOAD):
            grow = "table"
        elif graph and int(io[2]) + 2 * A > ecap:
            grow = "edges"
        if grow is not None:
            extra = {"rows": room // 2 * W * 8, "links": links // 2 * (10 if graph else 6),
                     "table": table.nbytes * 2 + (tids.nbytes * 2 if graph else 0), "edges": ecap // 2 * 6}[grow]
            if over_memory(extra):
                complete = False
                stopped = (f"memory limit of {max_memory / 2**20:,.0f} MB, after {n:,} states "
                           f"to depth {depth}")
                break
            if grow == "rows":
                room = max(room + room // 2, n - base + 2 * A)
                S2 = np.empty((room, W), dtype=np.int64)
                S2[: n - base] = S[: n - base]
                S = S2
            elif grow == "links":
                links = max(links + links // 2, n + 2 * A)
                parent = np.concatenate([parent[:n], np.empty(links - n, dtype=np.int32)])
                act = np.concatenate([act[:n], np.empty(links - n, dtype=np.uint16)])
                if graph:
                    deg = np.concatenate([deg[:n], np.empty(links - n, dtype=np.int32)])
            elif grow == "edges":
                m = int(io[2])
                ecap = max(ecap + ecap // 2, m + 2 * A)
                etgt = np.concatenate([etgt[:m], np.empty(ecap - m, dtype=np.int32)])
                eact = np.concatenate([eact[:m], np.empty(ecap - m, dtype=np.uint16)])
            else:
                new = np.full((table.shape[0] * 2, W), -1, dtype=np.int64)
                new_ids = np.zeros(new.shape[0] if graph else 1, dtype=np.int32)
                comp.rehash(table.ctypes.data, tids.ctypes.data, table.shape[0], new.ctypes.data,
                            new_ids.ctypes.data, new.shape[0] - 1)
                table, tids = new, new_ids
            continue
        if progress is not None and now >= next_report:
            progress(n, n - head, depth + 1, now - start, memory())
            next_report = now + progress_every

    n = int(io[1])
    seconds = time.perf_counter() - start

    def trace_to(st: int) -> Trace:
        chain = []
        while st > 0:
            chain.append(int(act[st]))
            st = int(parent[st])
        chain.reverse()
        if comp.canon:
            return comp.canon.real_trace(chain)
        steps = [Step(None, system.init)]
        for a in chain:
            steps.append(Step(system.actions[a].name, take(system, steps[-1].state, a)))
        return Trace(system, steps)

    decided = None
    peaks: list[int | None] = []
    if keep:
        m = int(io[2])
        kept = S[:n]
        if bounds[-1] < n:
            bounds.append(n)
        packed = _Packed(system, lay, kept)
        words: list[Words] = []

        def all_words() -> Words:
            if not words:
                words.append(_layout_words(system, lay, kept))
            return words[0]
        # Without the graph (premises only) the kernel's fired counts are all there is of the edges.
        src = np.repeat(np.arange(int(io[0]), dtype=np.int32), deg[:int(io[0])]) if graph else None
        explored = Explored(complete, stopped, lambda: packed, all_words, eact[:m] if graph else None,
                            src, etgt[:m] if graph else None,
                            np.repeat(np.arange(len(bounds) - 1, dtype=np.int32), np.diff(bounds)),
                            trace_to, fired[:A])
        decided = decide(system, explored, cover, lambda: peaks.append(peak_memory()))
        del explored

    results = []
    for i, p in enumerate(props):
        if p.kind == "eventually":
            if decided is not None and i in decided.eventually:
                results.append(decided.eventually[i])
            else:
                results.append(PropertyResult(p.name, p.kind, p.expected, "unknown",
                                              reason=LIVENESS_NOT_UNDER_SYMMETRY))
            continue
        at = int(found[i])
        results.append(PropertyResult(p.name, p.kind, p.expected, verdict_for(p.kind, at >= 0, complete),
                                      trace_to(at) if at >= 0 else None,
                                      "" if at >= 0 or complete else f"stopped early at the {stopped}"))
    if deadlock:
        dead = int(io[3])
        results.append(PropertyResult("NoDeadlock", "always", "holds",
                                      verdict_for("always", dead >= 0, complete),
                                      trace_to(dead) if dead >= 0 else None))
    if progress is not None:
        progress(n, 0, depth, seconds, memory())
    result = Result(system, "fast", n, int(io[2]), depth, seconds, complete, stopped, results)
    result.fired = {a.name: int(fired[i]) for i, a in enumerate(system.actions)}
    if decided is not None:
        result.vacuous, result.cover = decided.vacuous, decided.cover
        result.liveness_seconds = decided.liveness_seconds
        result.peak_bytes_search, result.peak_bytes = peaks[0], peak_memory()
    result.bytes_per_state = memory() / n
    result.compile_seconds = comp.seconds  # type: ignore[attr-defined]
    if comp.canon:
        result.symmetry = comp.canon.describe()
        result.full_states = int(io[10])
    return result
