"""The explicit-state engine: exhaustive breadth-first search over packed states.

Every state is one Python int (see `system.Layout`); the visited set is a dict from
state to its parent link, so every trace is a shortest one. States of a level are
expanded in discovery order and actions in declaration order, so the trace found for a
property is the least, in action order, of its shortest traces: the same trace on
every run, and the one the Z3 engine (`bmc.py`) finds too.
"""

from __future__ import annotations

import time
from typing import Callable

from .compile import compiled
from .result import PropertyResult, Result, Step, Trace, verdict_for
from .system import System

__all__ = ["explore", "LIVENESS_PENDING"]

LIVENESS_PENDING = "liveness is not checked yet: this engine decides only always and sometimes properties"

Progress = Callable[[int, int, int, float], None]  # states, frontier, depth, seconds


def explore(system: System, *, max_states: int | None = None, timeout: float | None = None,
            deadlock: bool = False, progress: Progress | None = None,
            progress_every: float = 0.5) -> Result:
    """Explore every reachable state of `system` (or until a limit) and decide its properties.

    max_states: stop once this many distinct states are known (the run is incomplete).
    timeout: stop after this many seconds (the run is incomplete).
    deadlock: report a terminal state (no action enabled) as a violation of NoDeadlock.
    """
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
    parent: dict[int, int] = {init: -1}  # state -> parent * n_actions + action
    open_props = check(init)

    frontier = [init]
    depth = transitions = 0
    complete, stopped = True, ""
    next_report = start + progress_every
    checked = 0
    while frontier:
        nxt: list[int] = []
        for st in frontier:
            succ = expand(st)
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

    results = []
    for i, p in enumerate(system.properties):
        if p.kind == "eventually":
            results.append(PropertyResult(p.name, p.kind, p.expected, "unknown", reason=LIVENESS_PENDING))
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
    seconds = time.perf_counter() - start
    if progress is not None:
        progress(len(parent), 0, depth, seconds)
    return Result(system, "explicit", len(parent), transitions, depth, seconds, complete, stopped,
                  results)

