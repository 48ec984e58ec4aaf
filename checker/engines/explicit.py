"""The explicit-state engine: exhaustive breadth-first search over packed states.

Every state is one Python int (see `system.Layout`); the visited set is a dict from
state to its number (the order of discovery), and an array holds each number's parent
link, so every trace is a shortest one. States of a level are
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
from array import array
from typing import Callable

import numpy as np

from checker.lang.compile import compiled
from checker.engines.postsearch import Explored, decide, property_results
from checker.engines.vector import Words
from checker.result import Result, Step, Trace
from checker.lang.system import System

__all__ = ["explore"]

Progress = Callable[[int, int, int, float], None]  # states, frontier, depth, seconds


def explore(system: System, *, max_states: int | None = None, timeout: float | None = None,
            deadlock: bool = False, progress: Progress | None = None,
            progress_every: float = 0.5, cover: bool = False) -> Result:
    """Explore every reachable state of `system` (or until a limit) and decide its properties.

    max_states: stop once this many distinct states are known (the run is incomplete).
    timeout: stop after this many seconds (the run is incomplete).
    deadlock: report a terminal state (no action enabled) as a violation of no-deadlock.
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

    def check(st: int) -> list:
        """Record the properties that st decides; return those still open."""
        hit = False
        for i, pred, must_hold in open_props:
            if bool(pred(st)) != must_hold:
                found[i] = st
                hit = True
        return [c for c in open_props if c[0] not in found] if hit else open_props

    init = system.layout.pack(system.init)
    ids: dict[int, int] = {init: 0}  # state -> its number, in order of discovery
    links = array("q", [-1])  # number -> parent's number * n_actions + action; -1 for init
    open_props = check(init)
    need_graph = cover or any(p.kind == "eventually" for p in system.properties)
    small = n_actions <= 2**16  # actions as uint16, the type the liveness check's loops read
    deg_chunks: list = []
    act_chunks: list = []
    tgt_chunks: list = []
    level_sizes: list[int] = []

    frontier = [init]
    depth = transitions = 0
    complete, stopped = True, ""
    next_report = start + progress_every
    checked = 0
    fresh = 1  # the next state number
    while frontier:
        nxt: list[int] = []
        edges: list[int] = []  # target number * n_actions + action, in expansion order
        add, get = edges.append, ids.get
        degrees: list[int] = []
        level_sizes.append(len(frontier))
        for me, st in enumerate(frontier, fresh - len(frontier)):  # the level is numbered in a row
            succ = expand(st)
            degrees.append(len(succ))
            transitions += len(succ)
            if not succ and deadlock and dead_state is None:
                dead_state = st
            for a, t in succ:
                j = get(t)
                if j is None:
                    j = ids[t] = fresh
                    fresh += 1
                    links.append(me * n_actions + a)
                    nxt.append(t)
                    if open_props:
                        open_props = check(t)
                add(j * n_actions + a)
            checked += 1
            if checked & 1023 == 0:
                now = time.perf_counter()
                if timeout is not None and now - start > timeout:
                    complete, stopped = False, f"time limit of {timeout:g} s"
                elif max_states is not None and len(ids) > max_states:
                    complete, stopped = False, f"state limit of {max_states}"
                if progress is not None and now >= next_report:
                    progress(len(ids), len(nxt), depth + 1, now - start)
                    next_report = now + progress_every
                if not complete:
                    break
        # The level's edges as arrays: a few bytes per transition instead of Python objects.
        deg_chunks.append(np.array(degrees, dtype=np.int64))
        e = np.array(edges, dtype=np.int64)
        act_chunks.append((e % n_actions).astype(np.uint16 if small else np.int32))
        if need_graph:
            tgt_chunks.append((e // n_actions).astype(np.int32 if fresh < 2**31 else np.int64))
        del e, edges
        if not complete:
            break
        if max_states is not None and len(ids) > max_states:
            complete, stopped = False, f"state limit of {max_states}"
            break
        if nxt:
            depth += 1
        frontier = nxt

    numbered: list[int] = []  # number -> state, built when first needed

    def state_of(i: int) -> int:
        if not numbered:
            numbered.extend(ids)
        return numbered[i]

    def trace_to(st: int) -> Trace:
        steps = []
        i = ids[st]
        while True:
            link = links[i]
            if link < 0:
                steps.append(Step(None, system.layout.unpack(st)))
                break
            i, a = divmod(link, n_actions)
            steps.append(Step(system.actions[a].name, system.layout.unpack(st)))
            st = state_of(i)
        return Trace(system, steps[::-1])

    deg = np.concatenate(deg_chunks) if deg_chunks else np.zeros(0, dtype=np.int64)
    act = np.concatenate(act_chunks) if act_chunks else np.zeros(0, dtype=np.uint16)
    del act_chunks
    indptr = np.zeros(len(deg) + 1, dtype=np.int64)  # the edges in compressed sparse rows
    np.cumsum(deg, out=indptr[1:])
    del deg
    tgt = np.concatenate(tgt_chunks) if tgt_chunks else (np.zeros(0, dtype=np.int32) if need_graph else None)
    del tgt_chunks
    words: list[Words] = []

    def all_states() -> list[int]:
        state_of(0)  # fills `numbered`
        return numbered

    def all_words() -> Words:
        if not words:
            words.append(Words(system, all_states()))  # unpacked once, for the premises and the goals
        return words[0]

    peaks: list[int | None] = []
    depth_of = np.repeat(np.arange(len(level_sizes), dtype=np.int32), level_sizes)
    graph = Explored(complete, stopped, all_states, all_words, act, indptr, tgt, depth_of,
                     lambda i: trace_to(state_of(i)))
    decided = decide(system, graph, cover, lambda: peaks.append(peak_memory()), progress)
    del graph, indptr, tgt, act

    results = property_results(system, found, dead_state, deadlock, trace_to, complete, stopped,
                               decided.eventually)
    live_seconds = decided.liveness_seconds
    seconds = time.perf_counter() - start - (live_seconds or 0.0)
    if progress is not None:
        progress(len(ids), 0, depth, seconds)
    return Result(system, "explicit", len(ids), transitions, depth, seconds, complete, stopped,
                  results, fired=decided.fired, vacuous=decided.vacuous, cover=decided.cover,
                  liveness_seconds=live_seconds, peak_bytes_search=peaks[0], peak_bytes=peak_memory())


def peak_memory() -> int | None:
    """The process's peak resident memory so far, in bytes (None where the OS won't say)."""
    try:
        import resource
    except ImportError:  # not on this platform
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS says bytes, Linux KiB

