"""The liveness check's loops over the state graph, compiled once per process with llvmlite.

The graph is in compressed sparse rows, as both explicit-state engines record it: the
edges of state u are tgt[indptr[u]:indptr[u+1]] (int32 targets, uint16 actions), in
action order. The liveness check walks it a few times (the fair actions enabled in each
state once, then the strongly connected components after each refinement, each judged
against fairness as it closes); written with numpy each walk would first build arrays
of one entry per edge, and scipy's components convert the whole matrix to float64, so a
graph of 134 million edges needed gigabytes beside it. These loops read the graph in
place and keep only arrays of one entry per state.

Strongly connected components: Pearce's space-efficient variant of Tarjan's algorithm
("A space-efficient algorithm for finding strongly connected components", 2016), made
iterative with an explicit stack of (state, next edge, root) frames, so a path as long
as the graph does not overflow the machine stack.
"""

from __future__ import annotations

import ctypes
from contextlib import contextmanager

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir

from checker.errors import CheckerError

__all__ = ["enabled_marks", "leaves", "fair_scc"]

_I64, _I32, _I16, _I8 = ir.IntType(64), ir.IntType(32), ir.IntType(16), ir.IntType(8)
_P64, _P32, _P16, _P8 = (t.as_pointer() for t in (_I64, _I32, _I16, _I8))
_DEAD = (1 << 31) - 1  # scc's index of a state outside the subgraph


def _c(x: int, t: ir.IntType = _I64) -> ir.Constant:
    return ir.Constant(t, x)


class _Fn:
    """One function under construction, with stack-slot variables (mem2reg makes them
    registers) and structured loops."""

    def __init__(self, module: ir.Module, name: str, ret: ir.Type, args: list[ir.Type]):
        self.f = ir.Function(module, ir.FunctionType(ret, args), name)
        self.b = ir.IRBuilder(self.f.append_basic_block("entry"))

    def var(self, init: ir.Value) -> ir.AllocaInstr:
        # In the entry block, wherever it is asked for: mem2reg lifts only those, and one
        # inside a loop would take stack space on every pass.
        with self.b.goto_entry_block():
            slot = self.b.alloca(init.type)
        self.b.store(init, slot)
        return slot

    def block(self, name: str) -> ir.Block:
        return self.f.append_basic_block(name)

    def at(self, ptr: ir.Value, i: ir.Value) -> ir.Value:
        return self.b.gep(ptr, [i])

    def load(self, ptr: ir.Value, i: ir.Value) -> ir.Value:
        """ptr[i], an int32 widened to 64 bits (state ids, slots), other types as they are."""
        x = self.b.load(self.at(ptr, i))
        return self.b.sext(x, _I64) if x.type == _I32 else x

    @contextmanager
    def range(self, lo: ir.Value, hi: ir.Value):
        """for i in range(lo, hi): the with-block is the body; yields i (i64)."""
        b = self.b
        i = self.var(lo)
        head, body, done = self.block("for"), self.block("for_body"), self.block("for_done")
        b.branch(head)
        b.position_at_end(head)
        iv = b.load(i)
        b.cbranch(b.icmp_signed("<", iv, hi), body, done)
        b.position_at_end(body)
        yield iv
        b.store(b.add(iv, _c(1)), i)
        b.branch(head)
        b.position_at_end(done)


def _edges(fn: _Fn, indptr: ir.Value, u: ir.Value):
    """for e in the edges of u (a context manager yielding e)."""
    return fn.range(fn.load(indptr, u), fn.load(indptr, fn.b.add(u, _c(1))))


def _build() -> ir.Module:
    m = ir.Module(name="checker_graph")
    m.triple = llvm.get_process_triple()

    # enabled(n, indptr, act, slot, nk, out): out[u*nk + k] = 1 when an edge of u takes an
    # action whose fairness slot is k (slot[action] = -1: no fairness). A state's nk
    # marks are adjacent: the loops below read them together.
    fn = _Fn(m, "enabled", ir.VoidType(), [_I64, _P64, _P16, _P32, _I64, _P8])
    n, indptr, act, slot, nk, out = fn.f.args
    b = fn.b
    with fn.range(_c(0), n) as u:
        with _edges(fn, indptr, u) as e:
            k = fn.load(slot, b.zext(b.load(fn.at(act, e)), _I64))
            with b.if_then(b.icmp_signed(">=", k, _c(0))):
                b.store(_c(1, _I8), fn.at(out, b.add(b.mul(u, nk), k)))
    b.ret_void()

    # leaves(n, indptr, tgt, goal): 1 when an edge leads from a goal state to another one.
    fn = _Fn(m, "leaves", _I64, [_I64, _P64, _P32, _P8])
    n, indptr, tgt, goal = fn.f.args
    b = fn.b
    found = fn.var(_c(0))
    with fn.range(_c(0), n) as u:
        with b.if_then(b.icmp_signed("!=", b.load(fn.at(goal, u)), _c(0, _I8))):
            with _edges(fn, indptr, u) as e:
                v = fn.load(tgt, e)
                with b.if_then(b.icmp_signed("==", b.load(fn.at(goal, v)), _c(0, _I8))):
                    b.store(_c(1), found)
    b.ret(b.load(found))

    _scc(m)
    return m


def _scc(m: ir.Module) -> None:
    """fair_scc(n, indptr, tgt, alive, rindex, stack, fnode, fedge, froot, act, slot,
    enabled, nk, weak, drop, refine, ruled, acc, sbroken, counts) -> components.

    The components of the subgraph of alive states. rindex ends as each alive
    state's component, numbered from 0 in the order they complete, and -1 elsewhere;
    stack, fnode, fedge, froot are scratch arrays of n entries.

    Each component is judged as it closes, while
    its states' edges are still in the cache (a separate pass over the states would
    miss the cache once per state and per edge). For fair action k (slot[action], nk of
    them, enabled[u*nk + k] from `enabled`): broken under weak fairness (weak[k]) when
    never taken on an edge inside the component and never disabled in it, under strong
    fairness when never taken there and enabled somewhere. Then ruled[k] = 1, counts[0]
    counts it, drop[component] = 1 when a weak one is broken, and otherwise, when a
    strong one is, refine[u] = 1 for each state u of the component enabling it; acc and
    sbroken are scratch arrays of nk bytes."""
    args = [_I64, _P64, _P32, _P8, _P32, _P32, _P32, _P64, _P8, _P16, _P32, _P8, _I64, _P8, _P8, _P8, _P8, _P8,
            _P8, _P64]
    fn = _Fn(m, "fair_scc", _I64, args)
    n, indptr, tgt, alive, rindex, stack, fnode, fedge, froot = fn.f.args[:9]
    b = fn.b
    index, c = fn.var(_c(1)), fn.var(b.sub(n, _c(1)))  # Pearce's index and component counter
    sp, fp = fn.var(_c(0)), fn.var(_c(0))  # heights of the stack of states and of the frames

    def is_alive(v):
        return b.icmp_signed("!=", b.load(fn.at(alive, v)), _c(0, _I8))

    def rx(v):
        return fn.load(rindex, v)

    def set_rx(v, x):
        b.store(b.trunc(x, _I32), fn.at(rindex, v))

    def push_frame(v):
        i = b.load(index)
        set_rx(v, i)
        b.store(b.add(i, _c(1)), index)
        f = b.load(fp)
        b.store(b.trunc(v, _I32), fn.at(fnode, f))
        b.store(fn.load(indptr, v), fn.at(fedge, f))
        b.store(_c(1, _I8), fn.at(froot, f))
        b.store(b.add(f, _c(1)), fp)

    # A state outside alive gets the index _DEAD, above every index and component
    # number: an edge to it then neither visits it nor lowers an index, with no second
    # array read per edge.
    with fn.range(_c(0), n) as u:
        set_rx(u, b.select(is_alive(u), _c(0), _c(_DEAD)))
    with fn.range(_c(0), n) as s:
        with b.if_then(b.icmp_signed("==", rx(s), _c(0))):
            push_frame(s)
            dfs, step, edge, finish, done = (fn.block(x) for x in ("dfs", "dfs_step", "dfs_edge", "dfs_finish",
                                                                   "dfs_done"))
            b.branch(dfs)
            b.position_at_end(dfs)
            b.cbranch(b.icmp_signed(">", b.load(fp), _c(0)), step, done)
            b.position_at_end(step)
            top = b.sub(b.load(fp), _c(1))
            v = fn.load(fnode, top)
            e = b.load(fn.at(fedge, top))
            b.cbranch(b.icmp_signed("<", e, fn.load(indptr, b.add(v, _c(1)))), edge, finish)

            # The next edge v -> w: visit w first, or take its index if it is lower.
            b.position_at_end(edge)
            b.store(b.add(e, _c(1)), fn.at(fedge, top))
            w = fn.load(tgt, e)
            rw = rx(w)
            with b.if_else(b.icmp_signed("==", rw, _c(0))) as (fresh, seen):
                with fresh:
                    push_frame(w)
                with seen:
                    with b.if_then(b.icmp_signed("<", rw, rx(v))):
                        set_rx(v, rw)
                        b.store(_c(0, _I8), fn.at(froot, top))
            b.branch(dfs)

            # Every edge of v done: v closes its component if it is a root, else waits on
            # the stack; then its parent takes v's index if it is lower.
            b.position_at_end(finish)
            b.store(top, fp)
            rv = rx(v)
            with b.if_else(b.icmp_signed("!=", b.load(fn.at(froot, top)), _c(0, _I8))) as (root, inner):
                with root:
                    top_of_stack = b.load(sp)
                    b.store(b.sub(b.load(index), _c(1)), index)
                    pop, pop_check, pop_body, pop_done = (fn.block(x) for x in ("pop", "pop_check", "pop_body",
                                                                                "pop_done"))
                    b.branch(pop)
                    b.position_at_end(pop)
                    b.cbranch(b.icmp_signed(">", b.load(sp), _c(0)), pop_check, pop_done)
                    b.position_at_end(pop_check)
                    h = b.sub(b.load(sp), _c(1))
                    x = fn.load(stack, h)
                    b.cbranch(b.icmp_signed("<=", rv, rx(x)), pop_body, pop_done)
                    b.position_at_end(pop_body)
                    b.store(h, sp)
                    set_rx(x, b.load(c))
                    b.store(b.sub(b.load(index), _c(1)), index)
                    b.branch(pop)
                    b.position_at_end(pop_done)
                    set_rx(v, b.load(c))
                    # The component: stack[sp..top_of_stack) popped, and v put after them.
                    b.store(b.trunc(v, _I32), fn.at(stack, top_of_stack))
                    _judge(fn, b.load(sp), b.add(top_of_stack, _c(1)), b.load(c), b.sub(n, _c(1)))
                    b.store(b.sub(b.load(c), _c(1)), c)
                with inner:
                    h = b.load(sp)
                    b.store(b.trunc(v, _I32), fn.at(stack, h))
                    b.store(b.add(h, _c(1)), sp)
            with b.if_then(b.icmp_signed(">", top, _c(0))):
                up = b.sub(top, _c(1))
                p = fn.load(fnode, up)
                rv2 = rx(v)
                with b.if_then(b.icmp_signed("<", rv2, rx(p))):
                    set_rx(p, rv2)
                    b.store(_c(0, _I8), fn.at(froot, up))
            b.branch(dfs)
            b.position_at_end(done)
    # Number the components 0, 1, ... in the order they closed; -1 outside alive.
    last = b.sub(n, _c(1))
    with fn.range(_c(0), n) as u:
        label = b.select(is_alive(u), b.sub(last, rx(u)), _c(-1))
        set_rx(u, label)
    b.ret(b.sub(last, b.load(c)))


def _judge(fn: _Fn, lo: ir.Value, hi: ir.Value, c: ir.Value, last: ir.Value) -> None:
    """fair_scc's judgement of the component c that just closed, its states stack[lo:hi]
    (see `_scc`); its number is last - c."""
    b = fn.b
    (n, indptr, tgt, alive, rindex, stack, fnode, fedge, froot,
     act, slot, enabled, nk, weak, drop, refine, ruled, acc, sbroken, counts) = fn.f.args
    with fn.range(_c(0), nk) as j:
        b.store(_c(0, _I8), fn.at(acc, j))
    with fn.range(lo, hi) as i:
        u = fn.load(stack, i)
        with fn.range(_c(0), nk) as j:
            on = b.icmp_signed("!=", b.load(fn.at(enabled, b.add(b.mul(u, nk), j))), _c(0, _I8))
            p = fn.at(acc, j)
            b.store(b.or_(b.load(p), b.select(on, _c(2, _I8), _c(4, _I8))), p)
        with _edges(fn, indptr, u) as e:
            k = fn.load(slot, b.zext(b.load(fn.at(act, e)), _I64))
            with b.if_then(b.icmp_signed(">=", k, _c(0))):
                # Inside the component: the target closed with it (index c); a state outside
                # alive has the index _DEAD, one of an earlier component a higher number.
                with b.if_then(b.icmp_signed("==", fn.load(rindex, fn.load(tgt, e)), c)):
                    p = fn.at(acc, k)
                    b.store(b.or_(b.load(p), _c(1, _I8)), p)
    weak_broken, strong_broken = fn.var(_c(0, _I8)), fn.var(_c(0, _I8))
    with fn.range(_c(0), nk) as j:
        a = b.load(fn.at(acc, j))
        is_weak = b.icmp_signed("!=", b.load(fn.at(weak, j)), _c(0, _I8))
        broken = b.icmp_signed("==", b.and_(a, b.select(is_weak, _c(5, _I8), _c(3, _I8))),
                               b.select(is_weak, _c(0, _I8), _c(2, _I8)))
        b.store(b.zext(b.and_(broken, b.not_(is_weak)), _I8), fn.at(sbroken, j))
        with b.if_then(broken):
            b.store(_c(1, _I8), fn.at(ruled, j))
            b.store(b.add(b.load(counts), _c(1)), counts)
            b.store(_c(1, _I8), b.select(is_weak, weak_broken, strong_broken))
    with b.if_else(b.icmp_signed("!=", b.load(weak_broken), _c(0, _I8))) as (dropped, kept):
        with dropped:
            b.store(_c(1, _I8), fn.at(drop, b.sub(last, c)))
        with kept:
            with b.if_then(b.icmp_signed("!=", b.load(strong_broken), _c(0, _I8))):
                with fn.range(lo, hi) as i:
                    u = fn.load(stack, i)
                    with fn.range(_c(0), nk) as j:
                        hit = b.and_(b.icmp_signed("!=", b.load(fn.at(sbroken, j)), _c(0, _I8)),
                                     b.icmp_signed("!=", b.load(fn.at(enabled, b.add(b.mul(u, nk), j))),
                                                   _c(0, _I8)))
                        with b.if_then(hit):
                            b.store(_c(1, _I8), fn.at(refine, u))


class _Code:
    def __init__(self):
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        mod = llvm.parse_assembly(str(_build()))
        mod.verify()
        target = llvm.Target.from_default_triple().create_target_machine(opt=2)
        pb = llvm.create_pass_builder(target, llvm.create_pipeline_tuning_options(speed_level=2))
        pb.getModulePassManager().run(mod, pb)
        self.engine = llvm.create_mcjit_compiler(mod, target)  # owns the target machine
        self.engine.finalize_object()
        P, I = ctypes.c_void_p, ctypes.c_int64
        addr = self.engine.get_function_address
        self.enabled = ctypes.CFUNCTYPE(None, I, P, P, P, I, P)(addr("enabled"))
        self.leaves = ctypes.CFUNCTYPE(I, I, P, P, P)(addr("leaves"))
        self.fair_scc = ctypes.CFUNCTYPE(I, I, P, P, P, P, P, P, P, P, P, P, P, I, P, P, P, P, P, P, P)(
            addr("fair_scc"))


_CODE: list[_Code] = []


def _code() -> _Code:
    if not _CODE:
        _CODE.append(_Code())
    return _CODE[0]


def _ptr(a: np.ndarray) -> int:
    return a.ctypes.data


def _check(indptr: np.ndarray, tgt: np.ndarray, act: np.ndarray | None = None) -> None:
    # The compiled loops read these exact types; a wrong one would be read as garbage.
    if not (indptr.dtype == np.int64 and tgt.dtype == np.int32 and indptr.flags.c_contiguous
            and tgt.flags.c_contiguous and (act is None or (act.dtype == np.uint16 and act.flags.c_contiguous))):
        raise CheckerError("the liveness check reads at most 2**31 states and 65,536 action instances")


def enabled_marks(n: int, indptr: np.ndarray, act: np.ndarray, slot: np.ndarray, k: int) -> np.ndarray:
    """(k, n) bool: whether some edge of each state takes an action of fairness slot k
    (a view of an (n, k) array, each state's marks adjacent)."""
    _check(indptr, np.zeros(0, dtype=np.int32), act)
    slot = np.ascontiguousarray(slot, dtype=np.int32)
    out = np.zeros((n, k), dtype=np.uint8)
    if k and n:
        _code().enabled(n, _ptr(indptr), _ptr(act), _ptr(slot), k, _ptr(out))
    return out.view(bool).T


def leaves(indptr: np.ndarray, tgt: np.ndarray, goal: np.ndarray) -> bool:
    """Whether some edge leads from a goal state to a state that is not one."""
    _check(indptr, tgt)
    goal = np.ascontiguousarray(goal, dtype=bool)
    return bool(_code().leaves(len(goal), _ptr(indptr), _ptr(tgt), _ptr(goal)))


def fair_scc(indptr: np.ndarray, tgt: np.ndarray, act: np.ndarray, slot: np.ndarray, enabled: np.ndarray,
             weak: np.ndarray, alive: np.ndarray) -> tuple[np.ndarray, int, np.ndarray, np.ndarray, np.ndarray]:
    """The components of the subgraph of alive states, each judged against the fairness of
    the fair actions (slot: action -> k, -1 when not fair; enabled: `enabled_marks`'s
    array; weak[k]: weak, else strong fairness) as it closes: (each state's component, -1
    where not alive; how many obligations are broken; per component, whether a weak one
    is broken there (bool, n long); per state, whether it enables a strong one broken in
    its component, whose weak ones all hold; per fair action, whether it is broken
    somewhere)."""
    _check(indptr, tgt, act)
    k, n = enabled.shape
    if n >= _DEAD:
        raise CheckerError("the liveness check reads at most 2**31 states and 65,536 action instances")
    if not (enabled.T.flags.c_contiguous and len(alive) == n and len(weak) == k):
        raise ValueError("fair_scc: enabled_marks's array expected")
    slot = np.ascontiguousarray(slot, dtype=np.int32)
    weak = np.ascontiguousarray(weak, dtype=bool)
    alive = np.ascontiguousarray(alive, dtype=bool)
    labels = np.empty(n, dtype=np.int32)
    drop, refine, ruled = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool), np.zeros(k, dtype=bool)
    counts = np.zeros(1, dtype=np.int64)
    if not n:
        return labels, 0, drop, refine, ruled
    stack, fnode = np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int32)
    fedge, froot = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.uint8)
    acc, sbroken = np.zeros(max(1, k), dtype=np.uint8), np.zeros(max(1, k), dtype=np.uint8)
    _code().fair_scc(n, _ptr(indptr), _ptr(tgt), _ptr(alive), _ptr(labels), _ptr(stack), _ptr(fnode),
                     _ptr(fedge), _ptr(froot), _ptr(act), _ptr(slot), _ptr(enabled.T) if k else _ptr(acc), k,
                     _ptr(weak) if k else _ptr(acc), _ptr(drop), _ptr(refine), _ptr(ruled) if k else _ptr(acc),
                     _ptr(acc), _ptr(sbroken), _ptr(counts))
    return labels, int(counts[0]), drop, refine, ruled
