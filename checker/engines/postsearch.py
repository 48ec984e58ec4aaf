"""What both explicit-state engines decide once the search is over.

`explicit.py` and `fast/` each record the same graph (state ids in discovery order,
edges grouped by source in id order and actions in declaration order); `decide` turns
it into the parts of a `Result` that need more than the search itself: how often
each action fired, vacuous premises and fairness, the shortest trace taking each action
(`cover`) and the verdicts of `eventually` properties (`liveness.py`). `property_results`
then gives every property (and the no-deadlock pseudo-property) its `PropertyResult`
from what the search found. One place each, so the two engines cannot drift apart here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence, TypeVar, runtime_checkable

import numpy as np

from checker.lang.compile import compile_formulas, compiled
from checker.engines.liveness import Graph, check_eventually
from checker.result import DEADLOCK, PropertyResult, Step, Trace, Verdict, verdict_for
from checker.lang.system import System
from checker.engines.vector import Words, ever_true

__all__ = ["Explored", "decide", "premises", "vacuity", "property_results"]

At = TypeVar("At")  # how an engine names a state: a packed state (explicit) or a state id (fast)


@runtime_checkable
class PhaseProgress(Protocol):
    """A progress reporter that is also told which phase runs after the search (the CLI's)."""

    def phase(self, text: str) -> None: ...


@dataclass
class Explored:
    """The graph an engine hands over. Arrays are indexed by state id or by edge."""

    complete: bool
    stopped: str  # why the search stopped early ("" when complete)
    states: Callable[[], Sequence[int]]  # every state packed in System.layout, built when first needed
    words: Callable[[], Words]  # the same split for numpy, built when first needed
    act: np.ndarray | None  # uint16 edge actions (None: `fired` only)
    indptr: np.ndarray | None  # int64: the edges of state u are indptr[u]..indptr[u+1]-1 (liveness.Graph)
    tgt: np.ndarray | None  # int32 edge targets (None when neither cover nor liveness needs them)
    depth: np.ndarray | None  # BFS depth of each state id (liveness only)
    trace_to: Callable[[int], Trace]  # the least shortest trace to a state id
    fired: np.ndarray | None = None  # transitions per action, when not counted from `act`
    premises_held: list[bool] | None = None  # whether each premise ever held, when the search decided it
    goal: Callable[[int], np.ndarray | None] | None = None  # property index -> the engine's goal in every state


@dataclass
class Decided:
    fired: dict[str, int]
    vacuous: list[str]
    cover: dict[str, Trace | None] | None
    eventually: dict[int, PropertyResult] = field(default_factory=dict)  # property index -> result
    liveness_seconds: float | None = None


def decide(system: System, g: Explored, cover: bool, after_search: Callable[[], None] | None = None,
           progress: Any = None) -> Decided:
    """Fired counts, vacuity, cover traces and eventually verdicts of an explored graph.

    after_search: called once the search-only work is done, before liveness (the engines
    note their peak memory there). progress: the engine's progress reporter; one with a
    `phase` method is told each liveness check as it starts, the search's reports having
    stopped by then."""
    n_actions = len(system.actions)
    counts = g.fired if g.fired is not None else np.bincount(g.act, minlength=n_actions)
    fired = dict(zip((a.name for a in system.actions), counts.tolist()))
    # Premises of implications, checked on every state after the search (numpy).
    formulas = [f for _, f in premises(system)]
    held: list[bool] = []
    if formulas and g.complete and g.premises_held is not None:
        held = g.premises_held
    elif formulas and g.complete:
        held = ever_true(system, formulas, g.states(), compile_formulas(system, formulas), g.words())
    vacuous = vacuity(system, fired, held, g.complete)

    cover_traces: dict[str, Trace | None] | None = None
    if cover:
        assert g.act is not None and g.indptr is not None and g.tgt is not None
        cover_traces = {}
        for ai, a in enumerate(system.actions):
            hits = np.flatnonzero(g.act == ai)
            if not len(hits):
                cover_traces[a.name] = None
                continue
            k = int(hits[0])  # sources are in BFS order, actions in declaration order
            before = g.trace_to(int(np.searchsorted(g.indptr, k, "right")) - 1)  # edge k's source
            after = system.layout.unpack(g.states()[int(g.tgt[k])])
            cover_traces[a.name] = Trace(system, before.steps + [Step(a.name, after)])

    if after_search is not None:
        after_search()
    out = Decided(fired, vacuous, cover_traces)
    live = [i for i, p in enumerate(system.properties) if p.kind == "eventually"]
    if not live:
        return out
    if not g.complete:
        for i in live:
            p = system.properties[i]
            out.eventually[i] = PropertyResult(p.name, p.kind, p.expected, Verdict.UNKNOWN,
                                               reason=f"stopped early at the {g.stopped}")
        return out
    start = time.perf_counter()
    assert g.act is not None and g.indptr is not None and g.tgt is not None and g.depth is not None
    graph = Graph(g.states(), g.words, g.indptr, g.tgt, g.act, g.depth, g.trace_to)
    for k, i in enumerate(live, start=1):
        if isinstance(progress, PhaseProgress):
            progress.phase(f"liveness: {system.properties[i].name} ({k} of {len(live)})")
        # The compiled Python predicate is only the fallback for goals numpy cannot evaluate.
        pred = (lambda i: lambda st: compiled(system).predicates[i](st))(i)
        goal = g.goal(i) if g.goal is not None else None
        out.eventually[i] = check_eventually(system, graph, system.properties[i], pred, goal)
        del goal
    out.liveness_seconds = time.perf_counter() - start
    return out


def premises(system: System) -> list[tuple[str, Any]]:
    """Every implication's premise, as (property name, formula), in declaration order."""
    return [(p.name, f) for p in system.properties for f in p.premises]


def vacuity(system: System, fired: dict[str, int], held: Sequence[bool], complete: bool) -> list[str]:
    """One sentence per premise of `premises(system)` that never held (`held`, in that order)
    and per fairness of an action never enabled; none when the search stopped early, since
    unexplored states may yet make a premise true or an action fire."""
    if not complete:
        return []
    vacuous = [f"{name}: the premise `{f}` of an implication never holds"
               for (name, f), ok in zip(premises(system), held) if not ok]
    for p in system.properties:
        for base in p.fair:
            if all(fired[a.name] == 0 for a in system.actions if a.base == base):
                vacuous.append(f"{p.name}: the fairness of {base} is vacuous: {base} is never enabled")
    return vacuous


def property_results(system: System, found: dict[int, At], dead: At | None, deadlock: bool,
                     trace_to: Callable[[At], Trace], complete: bool, stopped: str,
                     eventually: dict[int, PropertyResult], undecided: str = "") -> list[PropertyResult]:
    """Every property's result, in declaration order, then no-deadlock when `deadlock` was asked.

    found: safety property index -> the first state that decided it; dead: the first
    state with no action enabled (None: none found); eventually: property index ->
    the result `decide` gave; an eventually property missing there is unknown, because
    `undecided`.
    """
    results = []
    for i, p in enumerate(system.properties):
        if p.kind == "eventually":
            results.append(eventually[i] if i in eventually
                           else PropertyResult(p.name, p.kind, p.expected, Verdict.UNKNOWN, reason=undecided))
            continue
        hit = i in found
        results.append(PropertyResult(p.name, p.kind, p.expected, verdict_for(p.kind, hit, complete),
                                      trace_to(found[i]) if hit else None,
                                      "" if hit or complete else f"stopped early at the {stopped}"))
    if deadlock:
        results.append(PropertyResult(DEADLOCK, "always", Verdict.HOLDS,
                                      verdict_for("always", dead is not None, complete),
                                      trace_to(dead) if dead is not None else None))
    return results
