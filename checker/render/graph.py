"""The explored state graph of a small model as a networkx DiGraph, and questions about it.

`state_graph(system)` runs the same breadth-first search as the explicit engine (the
same compiled `expand`, states in discovery order, actions in declaration order) but
keeps every edge. Nodes are packed states; each node has `values` (the flat variable
values), `depth` (its distance from the initial state) and `initial`; each edge has
`actions`, the names of the action instances that take it (two actions can lead to the
same state). The graph's own attributes hold the `system`, the `initial` node and the
number of `transitions` (action firings, the figure `verify` prints).

Predicates used by the queries take a `StateView`: variables by name, enums as their
names, booleans as bools, arrays as tuples; or a property name, which means "the
property's formula is true here".

Examples
--------
>>> from spec import kafka
>>> g = state_graph(kafka.build())
>>> g.number_of_nodes(), g.graph["transitions"]
(193, 324)

The shortest way from the initial state to a record processed twice:

>>> shortest_trace(g, None, "duplicate-delivery").actions
['Produce', 'Poll', 'Process', 'Crash', 'Poll', 'Process']

From which states can the consumer no longer get every message processed?
With at-least-once, from none:

>>> len(cannot_reach(g, "all-processed"))
0

With at-most-once, a commit followed by a crash strands a record for good:

>>> before = state_graph(kafka.build({"commit": "before"}))
>>> stuck = cannot_reach(before, "all-processed")
>>> len(stuck), shortest_trace(before, None, lambda s: s.node in stuck).actions
(43, ['Produce', 'Poll', 'Commit', 'Crash'])

Does every path to a duplicate pass through a crash?

>>> every_path_passes(g, "duplicate-delivery", lambda s: s.crashes >= 1)
True
>>> every_path_passes(g, "duplicate-delivery", lambda s: s.committed >= 1)
False
>>> path_avoiding(g, "duplicate-delivery", lambda s: s.committed >= 1).actions
['Produce', 'Poll', 'Process', 'Crash', 'Poll', 'Process']
"""

from __future__ import annotations

from collections import deque
from typing import AbstractSet, Any, Callable, Iterable, Union

import networkx as nx

from checker.lang.compile import compiled
from checker.errors import CheckerError
from checker.result import Step, Trace
from checker.lang.system import System

__all__ = ["StateView", "state_graph", "view", "states_where", "shortest_trace", "cannot_reach",
           "path_avoiding", "every_path_passes", "quotient", "check_projection", "DEFAULT_MAX_STATES"]

DEFAULT_MAX_STATES = 200_000  # networkx holds about 1.8 KB per state (measured on partitions); past this use `verify`

Predicate = Union[str, Callable[["StateView"], Any], None]


class StateView:
    """One state as people read it: `s.pc == "idle"`, `s.processed[0] >= 2`, `s.node`."""

    def __init__(self, system: System, values: tuple[int, ...], node: int | None = None):
        object.__setattr__(self, "_fields", _fields(system, values))
        object.__setattr__(self, "node", node)
        object.__setattr__(self, "values", values)

    def __getattr__(self, name: str) -> Any:
        fields = object.__getattribute__(self, "_fields")
        if name in fields:
            return fields[name]
        raise AttributeError(f"no variable {name!r}; the variables are {', '.join(fields)}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a StateView is read-only")

    def as_dict(self) -> dict[str, Any]:
        return dict(self._fields)

    def __repr__(self) -> str:
        return "StateView(" + ", ".join(f"{k}={v!r}" for k, v in self._fields.items()) + ")"


def _fields(system: System, values: tuple[int, ...]) -> dict[str, Any]:
    out = system.as_json_state(values)

    def freeze(x: Any) -> Any:
        return tuple(freeze(y) for y in x) if isinstance(x, list) else x
    return {k: freeze(x) for k, x in out.items()}


def view(g: nx.DiGraph, node: int) -> StateView:
    """The StateView of one node of a state graph."""
    return StateView(g.graph["system"], g.nodes[node]["values"], node)


def state_graph(system: System, *, max_states: int = DEFAULT_MAX_STATES) -> nx.DiGraph:
    """Every reachable state of `system` and every transition between them.

    Raises CheckerError when there are more than `max_states` states: a state graph
    is for models small enough to look at (the explicit engine handles the big ones).
    """
    expand = compiled(system).expand
    names = [a.name for a in system.actions]
    lay = system.layout
    init = lay.pack(system.init)
    g = nx.DiGraph(system=system, initial=init)
    g.add_node(init, values=system.init, depth=0, initial=True)
    frontier, depth, transitions = [init], 0, 0
    while frontier:
        depth += 1
        nxt = []
        for st in frontier:
            succ = expand(st)
            transitions += len(succ)
            for a, t in succ:
                if t not in g:
                    if len(g) >= max_states:
                        raise CheckerError(
                            f"{system.model} has more than {max_states:,} states, too many for a state "
                            "graph; choose smaller parameters (checker verify handles big runs)")
                    g.add_node(t, values=lay.unpack(t), depth=depth, initial=False)
                    nxt.append(t)
                if g.has_edge(st, t):
                    g[st][t]["actions"] += (names[a],)
                else:
                    g.add_edge(st, t, actions=(names[a],))
        frontier = nxt
    g.graph["transitions"] = transitions
    return g


def _matcher(g: nx.DiGraph, pred: Predicate) -> Callable[[int], bool]:
    system: System = g.graph["system"]
    if isinstance(pred, str):
        for i, p in enumerate(system.properties):
            if p.name == pred:
                f = compiled(system).predicates[i]
                return lambda n: bool(f(n))
        system.prop(pred)  # raises the one-line unknown-property error
    if not callable(pred):
        raise CheckerError(f"a state predicate is a property name or a function of a StateView, not {pred!r}")
    return lambda n: bool(pred(view(g, n)))


def states_where(g: nx.DiGraph, pred: Predicate) -> list[int]:
    """The nodes where `pred` holds, in discovery order (None: the initial state)."""
    if pred is None:
        return [g.graph["initial"]]
    match = _matcher(g, pred)
    return [n for n in g if match(n)]


def _bfs(g: nx.DiGraph, sources: Iterable[int], targets: set[int],
         avoid: AbstractSet[int] = frozenset()) -> list[int] | None:
    # Multi-source BFS in node and edge insertion order, so the path is deterministic
    # and, from the initial state, the same least shortest trace the engines report.
    parent: dict[int, int | None] = {}
    queue: deque[int] = deque()
    for s in sources:
        if s not in avoid and s not in parent:
            parent[s] = None
            queue.append(s)
    while queue:
        n = queue.popleft()
        if n in targets:
            path = [n]
            while parent[path[-1]] is not None:
                path.append(parent[path[-1]])  # type: ignore[arg-type]
            return path[::-1]
        for m in g.successors(n):
            if m not in parent and m not in avoid:
                parent[m] = n
                queue.append(m)
    return None


def _trace(g: nx.DiGraph, path: list[int]) -> Trace:
    steps = [Step(None, g.nodes[path[0]]["values"])]
    for a, b in zip(path, path[1:]):
        steps.append(Step(g[a][b]["actions"][0], g.nodes[b]["values"]))
    return Trace(g.graph["system"], steps)


def shortest_trace(g: nx.DiGraph, source: Predicate, target: Predicate) -> Trace | None:
    """A shortest path from a state where `source` holds to one where `target` holds.

    `source=None` starts from the initial state. The result is a `Trace` (its first
    step is the start state), or None when no such path exists.
    """
    path = _bfs(g, states_where(g, source), set(states_where(g, target)))
    return None if path is None else _trace(g, path)


def cannot_reach(g: nx.DiGraph, goal: Predicate) -> set[int]:
    """The states from which no path leads to a state where `goal` holds."""
    goals = states_where(g, goal)
    can = set(goals)
    for layer in nx.bfs_layers(g.reverse(copy=False), goals) if goals else ():
        can.update(layer)
    return {n for n in g if n not in can}


def path_avoiding(g: nx.DiGraph, target: Predicate, via: Predicate, source: Predicate = None) -> Trace | None:
    """A shortest path from `source` to `target` on which `via` never holds, or None."""
    path = _bfs(g, states_where(g, source), set(states_where(g, target)), set(states_where(g, via)))
    return None if path is None else _trace(g, path)


def every_path_passes(g: nx.DiGraph, target: Predicate, via: Predicate, source: Predicate = None) -> bool:
    """Whether every path from `source` (default: the initial state) to a `target` state
    goes through a state where `via` holds (the target and source states included)."""
    return path_avoiding(g, target, via, source) is None


def check_projection(system: System, names: Iterable[str]) -> None:
    """Refuse a name to project on that is not a declared variable of `system` (one line)."""
    roots = [r[0] for r in system.roots]
    for n in names:
        if n not in roots:
            raise CheckerError(f"cannot project on {n!r}: {system.model} has no variable of that name; "
                               f"its variables are {', '.join(roots)}")


def quotient(g: nx.DiGraph, variables: Iterable[str]) -> nx.DiGraph:
    """The graph with states merged when they agree on the named (declared) variables.

    Each node is the tuple of the kept flat variables' values, with `members` (the
    merged states, in discovery order), `values` (a representative), and `initial`;
    each edge has `actions` (the action instance names, deduplicated, in order) and
    `count` (how many state transitions it stands for). Self-loops are kept.
    """
    system: System = g.graph["system"]
    names = list(variables)
    check_projection(system, names)
    keep = [i for i, v in enumerate(system.variables) if v.root in names]
    q = nx.DiGraph(system=system, variables=tuple(names), kept=tuple(keep))

    def key(n: int) -> tuple[int, ...]:
        vals = g.nodes[n]["values"]
        return tuple(vals[i] for i in keep)

    cls = {}
    for n in g:
        k = cls[n] = key(n)
        if k not in q:
            q.add_node(k, members=[], values=g.nodes[n]["values"], initial=False)
        q.nodes[k]["members"].append(n)
        q.nodes[k]["initial"] |= g.nodes[n]["initial"]
    q.graph["initial"] = cls[g.graph["initial"]]
    for a, b, d in g.edges(data=True):
        ka, kb = cls[a], cls[b]
        if q.has_edge(ka, kb):
            e = q[ka][kb]
            e["actions"] += tuple(x for x in d["actions"] if x not in e["actions"])
            e["count"] += len(d["actions"])
        else:
            q.add_edge(ka, kb, actions=tuple(d["actions"]), count=len(d["actions"]))
    q.graph["classes"] = cls
    return q
