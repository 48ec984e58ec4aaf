"""The explicit-state engine: exhaustive breadth-first search over packed states.

Every state is one Python int (see `system.Layout`); the visited set is a dict from
state to its parent link, so every trace is a shortest one. States of a level are
expanded in discovery order and actions in declaration order, so the trace found for a
property is the least, in action order, of its shortest traces: the same trace on
every run, and the one the Z3 engine (`bmc.py`) finds too.

The successors of each level are also kept as arrays (action, packed target), a few
bytes per transition: they give the count of every action's firings, the shortest
trace that takes each action (`cover`), and the state graph on which `liveness.py`
decides `eventually` properties.
"""

from __future__ import annotations

import gc
import sys
import time
from itertools import chain
from typing import Callable

import numpy as np

from .compile import compile_formulas, compiled
from .liveness import Graph, check_eventually
from .result import PropertyResult, Result, Step, Trace, verdict_for
from .system import System

__all__ = ["explore"]

Progress = Callable[[int, int, int, float], None]  # states, frontier, depth, seconds


def explore(system: System, *, max_states: int | None = None, timeout: float | None = None,
            deadlock: bool = False, progress: Progress | None = None,
            progress_every: float = 0.5, cover: bool = False) -> Result:
    """Explore every reachable state of `system` (or until a limit) and decide its properties.

    max_states: stop once this many distinct states are known (the run is incomplete).
    timeout: stop after this many seconds (the run is incomplete).
    deadlock: report a terminal state (no action enabled) as a violation of NoDeadlock.
    cover: also find, for each action, the shortest trace that takes it.
    """
    # The search makes no reference cycles, only millions of live tuples and ints that
    # the cyclic collector would traverse again and again: pause it for the search.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _explore(system, max_states, timeout, deadlock, progress, progress_every, cover)
    finally:
        if paused:
            gc.enable()


def _explore(system: System, max_states: int | None, timeout: float | None, deadlock: bool,
             progress: Progress | None, progress_every: float, cover: bool) -> Result:
    start = time.perf_counter()
    comp = compiled(system)
    expand = comp.expand
    n_actions = len(system.actions)
    # Undecided safety properties: (index, predicate, whether the predicate must hold).
    open_props = [(i, comp.predicates[i], p.kind == "always")
                  for i, p in enumerate(system.properties) if p.kind != "eventually"]
    found: dict[int, int] = {}  # property index -> first state that decided it
    dead_state: int | None = None

    # Premises of implications not yet seen true: (property index, premise, predicate).
    premises = [(i, f) for i, p in enumerate(system.properties) for f in p.premises]
    open_premises = list(zip(premises, compile_formulas(system, [f for _, f in premises])))

    def check_premises(st: int) -> list:
        return [c for c in open_premises if not c[1](st)]

    def check(st: int) -> list:
        """Record the properties that st decides; return those still open."""
        hit = False
        for i, pred, must_hold in open_props:
            if bool(pred(st)) != must_hold:
                found[i] = st
                hit = True
        return [c for c in open_props if c[0] not in found] if hit else open_props

    init = system.layout.pack(system.init)
    parent: dict[int, int] = {init: -1}  # state -> parent * n_actions + action
    open_props = check(init)
    open_premises = check_premises(init)
    wide = system.layout.bits > 63  # packed states beyond int64 stay Python ints
    need_graph = cover or any(p.kind == "eventually" for p in system.properties)
    deg_chunks: list = []
    act_chunks: list = []
    tgt_chunks: list = []
    level_sizes: list[int] = []

    def keep(level: list) -> None:
        """Store one level's successor lists as arrays, in expansion order."""
        deg_chunks.append(np.fromiter(map(len, level), dtype=np.int64, count=len(level)))
        if wide:  # targets beyond int64: keep them as Python ints
            flat = list(chain.from_iterable(level))
            act_chunks.append(np.fromiter((a for a, _ in flat), dtype=np.int32, count=len(flat)))
            if need_graph:
                tgt_chunks.append([t for _, t in flat])
            return
        pairs = np.fromiter(chain.from_iterable(chain.from_iterable(level)), dtype=np.int64).reshape(-1, 2)
        act_chunks.append(pairs[:, 0].astype(np.int32))
        if need_graph:
            tgt_chunks.append(pairs[:, 1].copy())

    frontier = [init]
    depth = transitions = 0
    complete, stopped = True, ""
    next_report = start + progress_every
    checked = 0
    while frontier:
        nxt: list[int] = []
        level: list = []
        level_sizes.append(len(frontier))
        for st in frontier:
            succ = expand(st)
            level.append(succ)
            transitions += len(succ)
            if not succ and deadlock and dead_state is None:
                dead_state = st
            for a, t in succ:
                if t in parent:
                    continue
                parent[t] = st * n_actions + a
                nxt.append(t)
                if open_props:
                    open_props = check(t)
                if open_premises:
                    open_premises = check_premises(t)
            checked += 1
            if checked & 1023 == 0:
                now = time.perf_counter()
                if timeout is not None and now - start > timeout:
                    complete, stopped = False, f"time limit of {timeout:g} s"
                elif max_states is not None and len(parent) > max_states:
                    complete, stopped = False, f"state limit of {max_states}"
                if progress is not None and now >= next_report:
                    progress(len(parent), len(nxt), depth + 1, now - start)
                    next_report = now + progress_every
                if not complete:
                    break
        keep(level)
        if not complete:
            break
        if max_states is not None and len(parent) > max_states:
            complete, stopped = False, f"state limit of {max_states}"
            break
        if nxt:
            depth += 1
        frontier = nxt

    def trace_to(st: int) -> Trace:
        steps = []
        while True:
            link = parent[st]
            if link < 0:
                steps.append(Step(None, system.layout.unpack(st)))
                break
            prev, a = divmod(link, n_actions)
            steps.append(Step(system.actions[a].name, system.layout.unpack(st)))
            st = prev
        return Trace(system, steps[::-1])

    deg = np.concatenate(deg_chunks) if deg_chunks else np.zeros(0, dtype=np.int64)
    act = np.concatenate(act_chunks) if act_chunks else np.zeros(0, dtype=np.int32)
    fired = dict(zip((a.name for a in system.actions),
                     np.bincount(act, minlength=n_actions).tolist()))
    vacuous = [f"{system.properties[i].name}: the premise `{f}` of an implication never holds"
               for (i, f), _ in open_premises]
    for p in system.properties:
        for base in p.fair:
            if all(fired[a.name] == 0 for a in system.actions if a.base == base):
                vacuous.append(f"{p.name}: the fairness of {base} is vacuous: {base} is never enabled")
    if not complete:
        vacuous = []  # unexplored states may yet make a premise true or an action fire

    order: list[int] = list(parent) if need_graph else []
    id_type = np.int32 if len(parent) < 2**31 else np.int64
    src = np.repeat(np.arange(len(deg), dtype=id_type), deg)
    tgt_packed: object = None
    if need_graph:
        tgt_packed = (list(chain.from_iterable(tgt_chunks)) if wide else
                      np.concatenate(tgt_chunks) if tgt_chunks else np.zeros(0, dtype=np.int64))

    cover_traces = None
    if cover:
        cover_traces = {}
        for ai, a in enumerate(system.actions):
            hits = np.flatnonzero(act == ai)
            if not len(hits):
                cover_traces[a.name] = None
                continue
            e = int(hits[0])  # sources are in BFS order, actions in declaration order
            before = trace_to(order[int(src[e])])
            after = int(tgt_packed[e])  # type: ignore[index]
            cover_traces[a.name] = Trace(system, before.steps + [Step(a.name, system.layout.unpack(after))])

    graph = None
    search_peak = peak_memory()
    live_start = time.perf_counter()
    if complete and any(p.kind == "eventually" for p in system.properties):
        if wide:
            ids = {st: i for i, st in enumerate(order)}
            tgt = np.fromiter((ids[t] for t in tgt_packed), dtype=id_type,  # type: ignore[union-attr]
                              count=len(tgt_packed))  # type: ignore[arg-type]
        else:
            keys = np.fromiter(order, dtype=np.int64, count=len(order))
            by_value = np.argsort(keys)
            tgt = by_value[np.searchsorted(keys[by_value], tgt_packed)].astype(id_type)
            del keys, by_value, tgt_packed
        depth_of = np.repeat(np.arange(len(level_sizes), dtype=np.int64), level_sizes)
        graph = Graph(order, src, tgt, act, depth_of, trace_to)

    results = []
    for i, p in enumerate(system.properties):
        if p.kind == "eventually":
            if graph is None:
                results.append(PropertyResult(p.name, p.kind, p.expected, "unknown",
                                              reason=f"stopped early at the {stopped}"))
            else:
                results.append(check_eventually(system, graph, p, comp.predicates[i]))
            continue
        hit = i in found
        results.append(PropertyResult(p.name, p.kind, p.expected, verdict_for(p.kind, hit, complete),
                                      trace_to(found[i]) if hit else None,
                                      "" if hit or complete else f"stopped early at the {stopped}"))
    if deadlock:
        results.append(PropertyResult(
            "NoDeadlock", "always", "holds",
            verdict_for("always", dead_state is not None, complete),
            trace_to(dead_state) if dead_state is not None else None))
    end = time.perf_counter()
    live_seconds = end - live_start if graph is not None else None
    seconds = end - start - (live_seconds or 0.0)
    if progress is not None:
        progress(len(parent), 0, depth, seconds)
    return Result(system, "explicit", len(parent), transitions, depth, seconds, complete, stopped,
                  results, fired=fired, vacuous=vacuous, cover=cover_traces,
                  liveness_seconds=live_seconds, peak_bytes_search=search_peak, peak_bytes=peak_memory())


def peak_memory() -> int | None:
    """The process's peak resident memory so far, in bytes (None where the OS won't say)."""
    try:
        import resource
    except ImportError:  # not on this platform
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS says bytes, Linux KiB

