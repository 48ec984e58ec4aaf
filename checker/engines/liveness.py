"""Liveness: `eventually P` under weak and strong fairness, on the explored state graph.

What is checked. A run is an infinite sequence of states that starts in the initial
state and follows the transitions; it may also stop (stutter forever) in any state, as
in TLA+. Fairness rules some runs out: weak fairness of an action A forbids a run in
which A is enabled in every state from some point on but never taken; strong fairness
forbids one in which A is enabled infinitely often but taken only finitely often.
Fairness of an indexed action holds for each instance separately. `eventually P` holds
when every fair run reaches a state where P is true.

How. A violation is a fair run inside the region where P is false. Such a run ends in
a strongly connected component of that region (its stuttering included, so a single
state counts) and can be taken to visit every state and edge of it; the component is
fair under weak fairness of A when A is taken on one of its edges or disabled in one of
its states, and under strong fairness when A is taken on one of its edges or enabled in
none of its states. A component that breaks strong fairness of A may still hold a fair
sub-component away from the states where A is enabled: those states are removed and the
components recomputed (the Emerson-Lei / Streett refinement) until every component left
is fair. The components come from compiled loops over the graph as the engines record
it (`graphcode.py`), so a graph of 25 million states and 134 million edges takes
seconds and little memory beside it. A run that stops is a component of one state where no fair action is
enabled: a terminal state, or a state where only unfair actions (failures, say) are left.

The violation shown is a lasso: the shortest path from the initial state to the fair
component nearest to it, then a cycle inside it that meets every fairness obligation,
each one spelled out (taken at step n, or disabled at step n, or never enabled there).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from functools import partial
from typing import Callable, Sequence

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order

from checker.result import PropertyResult, Step, Trace, Verdict
from checker.lang.system import PropInst, System
from checker.engines.graphcode import enabled_marks, fair_scc, leaves
from checker.engines.vector import Words, vector_predicate

__all__ = ["Graph", "check_eventually"]


@dataclass
class Graph:
    """The explored state graph in compressed sparse rows; state ids are the order of
    discovery (BFS). The edges of state u are tgt[indptr[u]:indptr[u+1]] with their
    actions act[...], in action order: the engines record them so, and it is the form
    the compiled loops of `graphcode.py` read in place."""

    states: Sequence[int]  # packed state (System.layout) of each id
    words: Callable[[], Words | None]  # the same, split for numpy, made when first asked
    indptr: np.ndarray  # int64, n + 1 offsets into tgt and act
    tgt: np.ndarray  # int32 edge targets (ids)
    act: np.ndarray  # uint16 edge action indices
    depth: np.ndarray  # BFS depth of each id in the whole graph
    trace_to: Callable[[int], Trace]  # the engine's least shortest trace to a state id

    @property
    def n(self) -> int:
        return len(self.indptr) - 1


def check_eventually(system: System, g: Graph, prop: PropInst, pred: Callable[[int], bool],
                     goal: np.ndarray | None = None) -> PropertyResult:
    """Decide `eventually prop` on the complete graph g. goal: the engine's own evaluation
    of prop's formula in every state, if it has one (else numpy, else `pred`)."""
    n, indptr, tgt, act = g.n, g.indptr, g.tgt, g.act
    if goal is None:
        vector = vector_predicate(system, prop.formula)
        words = g.words() if vector is not None else None
        goal = (vector(words if words is not None else g.states) if vector is not None
                else np.fromiter(map(pred, g.states), dtype=bool, count=n))
    res = lambda verdict, **kw: PropertyResult(prop.name, prop.kind, prop.expected, verdict, **kw)
    if goal[0]:
        return res(Verdict.HOLDS)

    # The fair actions, one entry per instance: (action index, base name, weak/strong).
    kinds = dict(prop.fairness)
    fair = [(i, a.name, kinds[a.base]) for i, a in enumerate(system.actions) if a.base in kinds]
    slot = np.full(len(system.actions), -1, dtype=np.int32)  # action index -> k, -1 if not fair
    for k, (ai, _, _) in enumerate(fair):
        slot[ai] = k
    weak = np.array([kind == "weak" for _, _, kind in fair], dtype=bool)
    enabled = enabled_marks(n, indptr, act, slot, len(fair))  # [k, state]: fair action k enabled there

    # Runs that never see P stay in the region where P is false. When P, once true,
    # stays true (no edge leaves it), every such state is reached through the region
    # and the engine's shortest traces are prefixes; otherwise search the region itself.
    # Every state kept alive is outside P, so an edge between two alive states is inside
    # the region: the loops below need no mask per edge.
    stable = not leaves(indptr, tgt, goal)
    alive = ~goal
    if stable:
        dist, pred_of = g.depth, None
    else:
        # scipy's search, on the edges inside the region: it visits a state's successors
        # in id order, which chooses the predecessors of the prefix shown.
        src = np.repeat(np.arange(n, dtype=np.int32), np.diff(indptr))
        inside = ~goal[src]
        inside &= ~goal[tgt]
        order, pred_of = breadth_first_order(_matrix(n, src, tgt, inside), 0, directed=True,
                                             return_predecessors=True)
        del src, inside
        dist = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        alive = np.zeros(n, dtype=bool)
        alive[order] = True
        dist[0] = 0
        for v in order[1:].tolist():  # BFS order: a predecessor's distance is known first
            dist[v] = dist[pred_of[v]] + 1
    del goal

    labels = None
    ruled_out = np.zeros(len(fair), dtype=bool)  # fair actions whose fairness excluded some run
    while True:
        # The components, each judged as it closes: per fair action, taken on an inner
        # edge, enabled in some state, disabled in some state (see graphcode.fair_scc).
        labels, broken, drop, refine, ruled = fair_scc(indptr, tgt, act, slot, enabled, weak, alive)
        if not broken:
            break
        ruled_out |= ruled
        # Weak fairness of A broken: A is enabled throughout and never taken, and so in
        # every part too: drop the component. Strong: drop the states enabling A only.
        # (labels is -1 outside alive, where the masks keep alive False.)
        alive &= ~drop[labels]
        del drop
        refine &= alive
        if not refine.any():
            break  # only whole components were dropped: those left are unchanged and fair
        alive &= ~refine
    if not alive.any():
        used = [f"{name} ({kind})" for (_, name, kind), r in zip(fair, ruled_out) if r]
        unused = [name for (_, name, _), r in zip(fair, ruled_out) if not r]
        listed = ", ".join(used[:-1]) + " or " + used[-1] if len(used) > 1 else used[0]
        notes = ["each run that never gets there breaks the fairness of " + listed]
        if unused:
            notes.append("the fairness of " + ", ".join(unused) + " rules out none of them")
        return res(Verdict.HOLDS, notes=notes)

    # The fair component nearest to the initial state (ties: the first discovered).
    ids = np.flatnonzero(alive)
    entry = int(ids[np.argmin(dist[ids])])
    if pred_of is None:
        prefix = g.trace_to(entry)
    else:
        chain = [entry]
        while chain[-1] != 0:
            chain.append(int(pred_of[chain[-1]]))
        chain.reverse()
        steps = [Step(None, system.layout.unpack(g.states[0]))]
        for u, v in zip(chain, chain[1:]):
            e = _edge(indptr, tgt, u, v)
            steps.append(Step(system.actions[int(act[e])].name, system.layout.unpack(g.states[v])))
        prefix = Trace(system, steps)

    comp = alive & (labels == labels[entry])
    cycle = _fair_cycle(entry, comp, indptr, tgt, act, enabled, fair)
    steps = list(prefix.steps)
    loop = len(steps) - 1
    for ai, v in cycle:
        steps.append(Step(system.actions[ai].name, system.layout.unpack(g.states[v])))
    notes = _obligations(system, entry, cycle, enabled, fair, loop, indptr, act)
    return res(Verdict.VIOLATED, trace=Trace(system, steps), loop=loop, notes=notes)


def _matrix(n: int, src: np.ndarray, tgt: np.ndarray, mask: np.ndarray | None = None) -> csr_matrix:
    """The adjacency matrix of the edges (sources sorted), built without a COO copy."""
    if mask is not None:
        src, tgt = src[mask], tgt[mask]
    indptr = np.searchsorted(src, np.arange(n + 1, dtype=src.dtype))
    return csr_matrix((np.ones(len(tgt), dtype=np.int8), tgt, indptr), shape=(n, n))


def _edge(indptr: np.ndarray, tgt: np.ndarray, u: int, v: int) -> int:
    """The first edge u -> v in action order."""
    lo, hi = int(indptr[u]), int(indptr[u + 1])
    return int(lo + np.flatnonzero(tgt[lo:hi] == v)[0])


def _fair_cycle(entry: int, comp: np.ndarray, indptr: np.ndarray, tgt: np.ndarray, act: np.ndarray,
                enabled: np.ndarray, fair: list) -> list[tuple[int, int]]:
    """A cycle from entry back to entry inside comp meeting every fairness obligation.

    Returned as (action index, state id) steps; empty when the run may stop at entry.
    Each obligation not yet met is met by the nearest way from where the cycle is: a
    state where the action is disabled (weak fairness only) or an edge that takes it.
    """
    lo = indptr  # the search leaves comp on no edge: comp holds alive states only, outside P

    def bfs(start: int, goal_state: Callable[[int], bool], goal_action: int | None) -> list[tuple[int, int]]:
        # Shortest path in action order; a goal edge counts as one more step.
        prev: dict[int, tuple[int, int]] = {start: (-1, -1)}
        queue = deque([start])
        while queue:
            u = queue.popleft()
            if goal_state(u) and (u != start or goal_action is None):
                return _walk(prev, u)
            for e in range(int(lo[u]), int(lo[u + 1])):
                v, ai = int(tgt[e]), int(act[e])
                if not comp[v]:
                    continue
                if ai == goal_action:
                    return _walk(prev, u) + [(ai, v)]
                if v not in prev:
                    prev[v] = (u, ai)
                    queue.append(v)
        raise AssertionError("a fair component is strongly connected")  # pragma: no cover

    cycle: list[tuple[int, int]] = []
    at = entry
    for k, (ai, _, kind) in enumerate(fair):
        visited = [entry] + [v for _, v in cycle]
        taken = any(a == ai for a, _ in cycle)
        if taken or not enabled[k, comp].any():
            continue
        if kind == "weak":
            if any(not enabled[k, v] for v in visited):
                continue
            step = bfs(at, partial(_off, enabled[k]), ai)
        else:
            step = bfs(at, _nowhere, ai)
        cycle += step
        at = cycle[-1][1] if cycle else at
    if at != entry:
        cycle += bfs(at, lambda u: u == entry, None)
    return cycle


def _nowhere(u: int) -> bool:
    return False


def _off(enabled_k: np.ndarray, u: int) -> bool:
    return not enabled_k[u]


def _walk(prev: dict[int, tuple[int, int]], u: int) -> list[tuple[int, int]]:
    out = []
    while prev[u][0] != -1:
        p, ai = prev[u]
        out.append((ai, u))
        u = p
    return out[::-1]


def _obligations(system: System, entry: int, cycle: list[tuple[int, int]], enabled: np.ndarray,
                 fair: list, loop: int, indptr: np.ndarray, act: np.ndarray) -> list[str]:
    """One line per fair action instance: how the lasso's cycle meets its obligation."""
    states = [entry] + [v for _, v in cycle[:-1]] if cycle else [entry]
    numbers = [loop + i for i in range(len(states))]  # the trace's step number of each state
    out = []
    if not cycle:
        others = [system.actions[a].name for a in sorted(set(act[indptr[entry]:indptr[entry + 1]].tolist()))]
        if others:
            out.append(f"the run stops at step {loop}: no fair action is enabled there "
                       f"(only {', '.join(others)}, which no fairness obliges to happen)")
        else:
            out.append(f"the run stops at step {loop}: no action is enabled there (a terminal state)")
        if fair:
            out.append("every fairness obligation is met, none of these being enabled at step "
                       f"{loop}: " + ", ".join(f"{name} ({kind})" for _, name, kind in fair))
        return out
    out.append(f"steps {loop + 1}-{loop + len(cycle)} repeat forever "
               f"(step {loop + len(cycle)} is the state of step {loop}; both marked @)")
    for k, (ai, name, kind) in enumerate(fair):
        taken = [loop + i + 1 for i, (a, _) in enumerate(cycle) if a == ai]
        on = [num for num, v in zip(numbers, states) if enabled[k, v]]
        off = [num for num, v in zip(numbers, states) if not enabled[k, v]]
        label = f"{name} ({kind} fairness)"
        if taken:
            out.append(f"{label}: met, taken at step {_steps(taken)}")
        elif not on:
            out.append(f"{label}: met, never enabled on the cycle")
        else:  # weak fairness, disabled somewhere (strong fairness would have been refined away)
            out.append(f"{label}: met, never taken but disabled at step {_steps(off)}")
    return out


def _steps(nums: list[int]) -> str:
    return ", ".join(map(str, nums))
