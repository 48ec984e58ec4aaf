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
and cover on it exactly as for `explicit.py`. Before that the hash table is freed and
the arrays give back their room for growth, the degrees become the row offsets of the
graph in compressed sparse rows, and each `eventually` goal is evaluated on the kept
states by the same compiled module, so the states are never unpacked into a second
layout (implications' premises are property bits of the kernel, with or without the
graph).

With `symmetry=True` every successor is replaced by its canonical form before the
lookup (see `symmetry.py`), so one state stands for its orbit.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Callable

import numpy as np

from checker.engines.explicit import peak_memory
from checker.engines.fast.kernel import compiled_fast
from checker.engines.fast.layout import Packed, layout_words
from checker.engines.postsearch import Explored, decide, property_results
from checker.engines.vector import Words
from checker.errors import CheckerError, SpecError
from checker.lang.system import PropInst, System, model_error, take
from checker.result import Result, Step, Trace

__all__ = ["explore_fast", "LIVENESS_NOT_UNDER_SYMMETRY"]

Progress = Callable[..., None]  # states, frontier, depth, seconds[, memory bytes]

_CHUNK = 1 << 16  # states expanded per kernel call: limits and progress are checked between calls
_MAX_STATES = (1 << 31) - 2  # state numbers are int32
_LOAD = 0.8  # the hash table is rebuilt twice as large before it is fuller than this


# Liveness is decided on the graph of real states; a graph of orbits would need
# fairness per orbit, which `liveness.py` does not model.
LIVENESS_NOT_UNDER_SYMMETRY = ("eventually properties are not decided under --symmetry (the graph of orbits "
                               "does not keep each action instance's fairness); run without --symmetry")



def _with_premises(system: System) -> System:
    """The system the kernel runs when it decides the premises of implications: the same
    instance with each premise added as a `sometimes` property after the real ones."""
    got = system.__dict__.get("_with_premises")
    if got is None:
        extra = [PropInst(f"premise {k}", "sometimes", "reachable", f, "")
                 for k, f in enumerate(f for p in system.properties for f in p.premises)]
        got = system.__dict__["_with_premises"] = replace(system, properties=[*system.properties, *extra])
    return got


def explore_fast(system: System, *, max_states: int | None = None, timeout: float | None = None,
                 deadlock: bool = False, progress: Progress | None = None, progress_every: float = 0.5,
                 max_memory: int | None = None, symmetry: bool = False, cover: bool = False) -> Result:
    """Explore every reachable state of `system` (or until a limit) and decide its properties.

    Same contract and limits as `explicit.explore` (cover included); also:
    max_memory: bytes the search may use for its tables; past it the run stops, incomplete.
    symmetry: explore one canonical state per orbit of the model's symmetric indices
    (eventually properties are then left unknown; `Options` refuses cover with it).

    Eventually properties and cover need the transition graph: the search then runs a
    kernel that records every transition and keeps every state; implications' premises
    (the vacuity check) need every state only.
    """
    assert not (symmetry and cover), "checker.Options refuses cover with symmetry"
    live = any(p.kind == "eventually" for p in system.properties)
    graph = (cover or live) and not symmetry
    premises = [f for p in system.properties for f in p.premises]
    # Premises are decided in the kernel as `sometimes` bits when it can (no division to
    # guard, room in the 62 bits), so no state is kept, or unpacked after the search, for them.
    in_kernel = (bool(premises) and not symmetry and len(system.properties) + len(premises) <= 62
                 and not any(p.divisions for p in system.properties if p.premises))
    keep = graph or (bool(premises) and not symmetry and not in_kernel)
    comp = compiled_fast(_with_premises(system) if in_kernel else system, symmetry, graph)
    start = time.perf_counter()  # `seconds` is the search; compiling is comp.seconds
    lay = comp.layout
    W, A = lay.words, len(system.actions)
    if A >= 1 << 16:
        raise CheckerError(f"{A} actions: the fast engine numbers actions in 16 bits")
    props = system.properties
    kprops = comp.system.properties  # the kernel's: props, then the premises when in_kernel
    if len(props) > 62:
        raise CheckerError(f"{len(props)} properties: the fast engine tracks at most 62 in one run")
    must = sum(1 << i for i, p in enumerate(kprops) if p.kind == "always")
    openmask = sum(1 << i for i, p in enumerate(kprops) if p.kind != "eventually")
    found = np.full(max(1, len(kprops)), -1, dtype=np.int64)
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
    for i in range(len(kprops)):
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
                    int(deadlock), must, len(kprops), base, tcap,
                    tids.ctypes.data, deg.ctypes.data, etgt.ctypes.data, eact.ctypes.data, ecap)
        if io[5]:  # a model error: worded from the state, as every engine words it
            state = lay.unpack(S[int(io[9]) - base])
            raise model_error(system, state) or SpecError(
                f"the fast engine stopped on a model error in the state {system.show_state(state)} "
                "that Z3's evaluation does not confirm; please report this model")
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
            # Grown in place by realloc (numpy's resize; nothing else refers to these
            # arrays during the search): a large block is remapped, not copied, so growing
            # never holds the old and the new array at once.
            if grow == "rows":
                room = max(room + room // 2, n - base + 2 * A)
                S.resize((room, W), refcheck=False)
            elif grow == "links":
                links = max(links + links // 2, n + 2 * A)
                parent.resize(links, refcheck=False)
                act.resize(links, refcheck=False)
                if graph:
                    deg.resize(links, refcheck=False)
            elif grow == "edges":
                ecap = max(ecap + ecap // 2, int(io[2]) + 2 * A)
                etgt.resize(ecap, refcheck=False)
                eact.resize(ecap, refcheck=False)
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
    searched = memory()  # the search's tables at their largest, for bytes_per_state
    # The hash table only answered "seen before?": nothing after the search reads it.
    table = tids = np.zeros((1, W), dtype=np.int64)

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
        # Give back the room kept for growth (realloc shrinks in place), so the liveness
        # check runs beside the graph itself only.
        S.resize((n, W), refcheck=False)
        parent.resize(n, refcheck=False)
        act.resize(n, refcheck=False)
        kept = S
        if bounds[-1] < n:
            bounds.append(n)
        packed = Packed(system, lay, kept)
        words: list[Words] = []

        def all_words() -> Words:
            if not words:
                words.append(layout_words(system, lay, kept))
            return words[0]

        def goal(i: int) -> np.ndarray | None:
            """Property i's goal in every kept state, by the kernel's compiled code (None
            when it has none: `liveness.py` then evaluates it)."""
            if i not in comp.goals:
                return None
            out = np.empty(n, dtype=bool)
            comp.goals[i](kept.ctypes.data, n, out.ctypes.data)
            return out

        indptr = None
        if graph:
            # The kernel records edges grouped by source with each state's degree: the
            # compressed sparse rows liveness reads, once the degrees are summed.
            expanded = int(io[0])
            indptr = np.zeros(expanded + 1, dtype=np.int64)
            np.cumsum(deg[:expanded], out=indptr[1:])
            deg = np.zeros(1, dtype=np.int32)
            etgt.resize(m, refcheck=False)
            eact.resize(m, refcheck=False)
        explored = Explored(complete, stopped, lambda: packed, all_words, eact if graph else None,
                            indptr, etgt if graph else None,
                            np.repeat(np.arange(len(bounds) - 1, dtype=np.int32), np.diff(bounds)),
                            trace_to, fired[:A],
                            premises_held=[bool(found[len(props) + k] >= 0) for k in range(len(premises))]
                            if in_kernel else None, goal=goal)
        decided = decide(system, explored, cover, lambda: peaks.append(peak_memory()), progress)
        del explored
    elif in_kernel:
        held = [bool(found[len(props) + k] >= 0) for k in range(len(premises))]
        explored = Explored(complete, stopped, lambda: [], lambda: None, None, None, None, None,  # type: ignore
                            trace_to, fired[:A], premises_held=held)
        decided = decide(system, explored, cover, lambda: peaks.append(peak_memory()), progress)

    dead = int(io[3])
    results = property_results(system, {i: int(at) for i, at in enumerate(found[:len(props)]) if at >= 0},
                               dead if dead >= 0 else None, deadlock, trace_to, complete, stopped,
                               decided.eventually if decided is not None else {}, LIVENESS_NOT_UNDER_SYMMETRY)
    if progress is not None:
        progress(n, 0, depth, seconds, searched)
    result = Result(system, "fast", n, int(io[2]), depth, seconds, complete, stopped, results)
    result.fired = {a.name: int(fired[i]) for i, a in enumerate(system.actions)}
    if decided is not None:
        result.vacuous, result.cover = decided.vacuous, decided.cover
        result.liveness_seconds = decided.liveness_seconds
        result.peak_bytes_search, result.peak_bytes = peaks[0], peak_memory()
    result.bytes_per_state = searched / n
    result.compile_seconds = comp.seconds  # type: ignore[attr-defined]
    if comp.canon:
        result.symmetry = comp.canon.describe()
        result.full_states = int(io[10])
    return result
