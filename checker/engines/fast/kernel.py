"""The LLVM module of one system: the search kernel, property evaluation and rehashing,
generated from the same Z3 terms the other engines read, and compiled with llvmlite.

The visited set is an open-addressing hash table of the states themselves (one cache
miss per lookup; successors' slots are prefetched), and each state keeps a 4-byte
parent number and a 2-byte action, indexed by discovery order. With `graph`, a second
kernel also keeps every state, each table slot's state id and each state's degree, and
appends every transition (target, action) in the explicit engine's order; its module
also evaluates each `eventually` goal on the kept states (`goal{i}`), so the liveness
check needs no second layout of the states.
"""

from __future__ import annotations

import ctypes
import functools
import time
from contextlib import contextmanager
from typing import Callable

import llvmlite.binding as llvm
import z3
from llvmlite import ir

from checker.engines.fast.layout import FastLayout
from checker.errors import CheckerError, SpecError
from checker.lang.arith import INT64, defined, first_overflow, show
from checker.lang.compile import is_var, naming, used_vars
from checker.lang.system import System, bounds

__all__ = ["compiled_fast"]

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
        if is_var(e):
            return self.var(self.index[e.get_id()])
        kind = e.decl().kind()
        args = [self(c) for c in e.children()]
        if kind == z3.Z3_OP_ITE:
            return b.select(*args)
        if kind in _FOLD:  # n-ary: a left fold, as Z3 reads it
            return functools.reduce(getattr(b, _FOLD[kind]), args)
        if kind == z3.Z3_OP_UMINUS:
            return b.neg(args[0])
        if kind in _CMP and len(args) == 2:
            return b.icmp_signed(_CMP[kind], *args)
        if kind == z3.Z3_OP_EQ:
            return functools.reduce(b.and_, [b.icmp_signed("==", args[0], x) for x in args[1:]])
        if kind == z3.Z3_OP_DISTINCT:
            return functools.reduce(b.and_, [b.icmp_signed("!=", x, y)
                                             for i, x in enumerate(args) for y in args[i + 1:]])
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
        """Z3's div and mod (Euclidean: the remainder is never negative), as `compile.py` runs
        them; a zero divisor gives 0 (the model error is caught before the value is used)."""
        b = self.b
        zero = b.icmp_signed("==", y, _c64(0))
        d = b.select(zero, _c64(1), y)
        q, r = b.sdiv(x, d), b.srem(x, d)
        # sdiv truncates towards zero: a negative remainder moves up by |d|, the quotient
        # down by one for d > 0 and up by one for d < 0 (no step here can overflow).
        neg, dneg = b.icmp_signed("<", r, _c64(0)), b.icmp_signed("<", d, _c64(0))
        if kind == z3.Z3_OP_IDIV:
            out = b.select(neg, b.select(dneg, b.add(q, _c64(1)), b.sub(q, _c64(1))), q)
        else:
            out = b.select(neg, b.select(dneg, b.sub(r, d), b.add(r, d)), r)
        return b.select(zero, _c64(0), out)


_FOLD = {z3.Z3_OP_ADD: "add", z3.Z3_OP_MUL: "mul", z3.Z3_OP_SUB: "sub", z3.Z3_OP_AND: "and_", z3.Z3_OP_OR: "or_"}
_CMP = {z3.Z3_OP_LE: "<=", z3.Z3_OP_LT: "<", z3.Z3_OP_GE: ">=", z3.Z3_OP_GT: ">"}


class _Kernel:
    """Builds the LLVM module of one system: `kernel`, `props`, `rehash`, `canon`."""

    def __init__(self, system: System, lay: FastLayout, canon=None, graph: bool = False):
        self.system, self.lay, self.canon, self.graph = system, lay, canon, graph
        # Where a division may be by zero: checked before its value is used (see `_kernel`).
        self.props_ok = defined(d for p in system.properties for d in p.divisions)
        self.oks = [(defined(a.guard_divisions), defined(a.update_divisions)) for a in system.actions]
        self._fits_64_bits()
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
        self.goals: list[int] = []  # the eventually properties with a compiled goal{i}
        if graph:
            self._goals()

    def _fits_64_bits(self) -> None:
        """Refuse, before any search, a term whose value may not fit in a signed 64-bit word
        (interval bounds from the domains): the kernel would wrap around silently."""
        box = bounds(self.system)
        parts = [(f"action {a.name}", [a.guard, *a.updates.values(), *(t for t in ok if t is not None)])
                 for a, ok in zip(self.system.actions, self.oks)]
        parts += [(f"property {p.name}", [p.formula]) for p in self.system.properties if p.kind != "eventually"]
        if self.props_ok is not None:
            parts.append(("the properties", [self.props_ok]))
        for where, terms in parts:
            hit = first_overflow(terms, box, INT64)
            if hit is not None:
                term, value = hit
                reach = (f"{value:,}" if abs(value) < 10**21 else f"{value:.3g}" if abs(value) < 1 << 256
                         else "an unbounded value")
                raise CheckerError(
                    f"{where}: `{show(term)}` can reach {reach} with the domains' values, beyond the fast "
                    "engine's 64-bit integers; use --engine explicit (or bmc), which compute with "
                    "unbounded integers")

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
            with naming(f"property {p.name}"):
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

    def _goals(self) -> None:
        """goal{i}(S, n, out): out[r] = 1 where eventually property i's formula holds in
        state row r of S, for each one whose terms fit in 64 bits (the others are left to
        `vector.py` or the compiled Python predicate). Its divisions need no guard here:
        the search has checked them in every state it kept."""
        box = bounds(self.system)
        W = self.lay.words
        for pi, p in enumerate(self.system.properties):
            if p.kind != "eventually" or first_overflow([p.formula], box, INT64) is not None:
                continue
            f = ir.Function(self.module, ir.FunctionType(ir.VoidType(), [_I64.as_pointer(), _I64,
                                                                          _I8.as_pointer()]), f"goal{pi}")
            S, n, out = f.args
            entry, loop, body, done = (f.append_basic_block(x) for x in ("entry", "loop", "body", "done"))
            b = ir.IRBuilder(entry)
            b.branch(loop)
            b.position_at_end(loop)
            r = b.phi(_I64)
            r.add_incoming(_c64(0), entry)
            b.cbranch(b.icmp_signed("<", r, n), body, done)
            b.position_at_end(body)
            words = [b.load(b.gep(S, [b.add(b.mul(r, _c64(W)), _c64(k))])) for k in range(W)]
            terms = _Terms(b, self.lazy_vars(b, words), self.index)
            with naming(f"property {p.name}"):
                b.store(b.zext(terms(p.formula), _I8), b.gep(out, [r]))
            r.add_incoming(b.add(r, _c64(1)), b.block)
            b.branch(loop)
            b.position_at_end(done)
            b.ret_void()
            self.goals.append(pi)

    # the search kernel ---------------------------------------------------------
    def _kernel(self) -> None:
        """Expand states io[0]..stop-1 in order, appending new states.

        io (int64[11], read and written back): 0 the next state to expand, 1 states known,
        2 transitions, 3 first state with no enabled action (-1: none yet), 4 mask of the
        properties not yet decided, 5 status (1: an update left its domain, 2: a division
        by zero), 6..9 that update (action, variable, value) and the state, 10 sum of
        orbit sizes (symmetry).

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

        @contextmanager
        def counted(slot, name, limit, done=None):
            """`for slot in range(limit())` around the with-block's code, which ends where the
            increment goes; yields the counter. The loop leaves to `done` (a new block by default)."""
            put(slot, _c64(0))
            head, body = f.append_basic_block(name), f.append_basic_block(f"{name}_body")
            done = done or f.append_basic_block(f"{name}_done")
            b.branch(head)
            b.position_at_end(head)
            i = get(slot)
            b.cbranch(b.icmp_signed("<", i, limit()), body, done)
            b.position_at_end(body)
            yield i
            put(slot, b.add(get(slot), _c64(1)))
            b.branch(head)
            b.position_at_end(done)

        def insert_pending() -> None:
            """Insert the pending successors (pcount of them at poff, parent pparent) in order."""
            with counted("j", "insert", lambda: get("pcount")) as j:
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
                with counted("b", "bits", lambda: nprops, done=bump) as bit:
                    bset, bn = f.append_basic_block("bits_set"), f.append_basic_block("bits_next")
                    on = b.icmp_signed("!=", b.and_(b.lshr(hit, bit), _c64(1)), _c64(0))
                    b.cbranch(on, bset, bn)
                    b.position_at_end(bset)
                    b.store(n, b.gep(found, [bit]))
                    b.branch(bn)
                    b.position_at_end(bn)
                put("n", b.add(get("n"), _c64(1)))
                b.branch(nextj)
                b.position_at_end(nextj)
                if self.graph:
                    e = b.add(b.sub(get("trans"), get("pcount")), get("j"))
                    b.store(b.trunc(get("tgt"), _I32), b.gep(etgt, [e]))
                    b.store(b.trunc(a, _I16), b.gep(eact, [e]))
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
        oks = [t for pair in self.oks for t in pair if t is not None]
        if self.props_ok is not None:
            oks.append(self.props_ok)
        used |= used_vars(oks, self.index)
        for a in system.actions:
            used |= used_vars([a.guard, *a.updates.values()], self.index) | set(a.updates)
        values = {i: self.decode(b, words, i) for i in sorted(used)}
        terms = _Terms(b, values.__getitem__, self.index)

        def stop_unless(ok: ir.Value, name: str) -> None:
            """Leave with status 2 (a division by zero: Python words it) unless ok."""
            err, cont = f.append_basic_block(f"{name}_zero"), f.append_basic_block(f"{name}_defined")
            b.cbranch(ok, cont, err)
            b.position_at_end(err)
            b.store(_c64(2), cell(io, 5))
            b.store(s, cell(io, 9))
            b.branch(ret)
            b.position_at_end(cont)

        if self.props_ok is not None:
            with naming("the properties"):
                stop_unless(terms(self.props_ok), "props")
        put("k", _c64(0))
        for ai, a in enumerate(system.actions):
            with naming(f"action {a.name}"):
                guard_ok, updates_ok = self.oks[ai]
                if guard_ok is not None:
                    stop_unless(terms(guard_ok), f"a{ai}_guard")
                g = terms(a.guard)
                then = f.append_basic_block(f"a{ai}")
                after = f.append_basic_block(f"a{ai}_end")
                b.cbranch(g, then, after)
                b.position_at_end(then)
                local = terms.fork()
                if updates_ok is not None:
                    stop_unless(local(updates_ok), f"a{ai}_updates")
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
        with counted("j", "prefetch", lambda: get("k")) as j:
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
    """The machine code of one system: `kernel`, `props`, `rehash` and the `goals` as ctypes functions."""

    def __init__(self, system: System, symmetry: bool, graph: bool):
        start = time.perf_counter()
        self.system = system
        self.layout = FastLayout.of(system)
        self.canon = None
        if symmetry:
            from checker.engines.symmetry import Canonical  # only symmetric runs need it
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
        # goal{i}(S, n, out), by property index i (graph kernels only).
        self.goals = {i: ctypes.CFUNCTYPE(None, P, I, P)(addr(f"goal{i}")) for i in k.goals}
        self.seconds = time.perf_counter() - start


def compiled_fast(system: System, symmetry: bool = False, graph: bool = False) -> _Compiled:
    """The compiled kernel of `system`, generated on first use and kept with it; with
    `graph`, the kernel that also records every transition (a separate kernel, so the
    plain search pays nothing for it)."""
    cache = system.__dict__.setdefault("_fast", {})
    if (symmetry, graph) not in cache:
        cache[symmetry, graph] = _Compiled(system, symmetry, graph)
    return cache[symmetry, graph]
