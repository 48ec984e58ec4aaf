"""The state graph as a networkx DiGraph: same states as the engine, and the queries on it."""

import doctest

import pytest

import checker.render.graph
import toys
from checker.errors import CheckerError
from checker import Options, check
from checker.render.graph import (cannot_reach, every_path_passes, path_avoiding, quotient, shortest_trace,
                           state_graph, states_where, view)
from spec import kafka, partitions

EXPLICIT = Options(engine="explicit")  # the reference engine


def test_the_documented_examples_run():
    res = doctest.testmod(checker.render.graph)
    assert res.attempted >= 10 and res.failed == 0


@pytest.mark.parametrize("system", [
    kafka.build(), kafka.build({"commit": "before"}), kafka.build({"messages": 2, "max_crashes": 0}),
    partitions.build({"messages": 1, "max_crashes": 1}), toys.grid.build(), toys.flags.build(enable=["glitch"]),
], ids=["kafka", "kafka-before", "kafka-nocrash", "partitions-small", "grid", "flags-glitch"])
def test_graph_has_the_engines_states_and_transitions_and_traces(system):
    g = state_graph(system)
    r = check(system, EXPLICIT)
    assert g.number_of_nodes() == r.states
    assert g.graph["transitions"] == r.transitions == sum(len(d["actions"]) for _, _, d in g.edges(data=True))
    assert max(d for _, d in g.nodes(data="depth")) == r.depth
    for p in r.properties:
        if p.trace is not None and p.kind != "eventually":  # the same least shortest trace (not lassos)
            t = shortest_trace(g, None, p.name if p.kind == "sometimes" else
                               (lambda s, name=p.name: not _holds(g, name, s.node)))
            assert t.actions == p.trace.actions
            assert [st.state for st in t.steps] == [st.state for st in p.trace.steps]


def _holds(g, name, node):
    return node in set(states_where(g, name))


def test_grid_queries_known_by_hand():
    g = state_graph(toys.grid.build())
    assert shortest_trace(g, None, "corner").actions == ["IncX", "IncX", "IncY"]
    # From (x=2, y=*) x can never come back to 1: those three states cannot reach (1, 2).
    stuck = cannot_reach(g, lambda s: (s.x, s.y) == (1, 2))
    assert sorted((view(g, n).x, view(g, n).y) for n in stuck) == [(2, 0), (2, 1), (2, 2)]
    corner = lambda s: (s.x, s.y) == (2, 2)  # noqa: E731
    assert every_path_passes(g, corner, lambda s: s.x == 1)
    assert not every_path_passes(g, corner, lambda s: (s.x, s.y) == (1, 1))
    assert path_avoiding(g, corner, lambda s: (s.x, s.y) == (1, 1)).actions == ["IncX", "IncX", "IncY", "IncY"]
    # From a source predicate: the shortest path from any source state, here (1, 2).
    t = shortest_trace(g, lambda s: s.y == 2 and s.x < 2, corner)
    assert t.actions == ["IncX"] and t.steps[0].state == (1, 2)
    assert view(g, g.graph["initial"]).as_dict() == {"x": 0, "y": 0}
    assert shortest_trace(g, corner, lambda s: s.x == 0) is None


def test_at_most_once_strands_records_and_at_least_once_does_not():
    after = state_graph(kafka.build())
    assert cannot_reach(after, "all-processed") == set()
    before = state_graph(kafka.build({"commit": "before"}))
    stuck = cannot_reach(before, "all-processed")
    assert len(stuck) == 43
    # Every stuck state has lost a record: committed past an offset nobody processed.
    assert all(not view(before, n).processed[0] or min(view(before, n).processed) == 0 for n in stuck)
    assert every_path_passes(before, lambda s: s.node in stuck, lambda s: s.crashes >= 1)


def test_quotient_merges_states_and_counts_them():
    g = state_graph(kafka.build())
    q = quotient(g, ["pc", "committed"])
    assert q.number_of_nodes() == 10
    assert sum(len(m) for _, m in q.nodes(data="members")) == 193
    assert sum(c for _, _, c in q.edges(data="count")) == 324
    assert q.nodes[q.graph["initial"]]["initial"]
    # The initial class (pc=idle, committed=0) has position=0 and, by hand: 4 values of sent
    # with nothing processed times 3 crash counts (12), plus processed[0]=1 or 2 after one or
    # two crashes (3 pairs) times sent=1..3 (9): 21 states.
    assert len(q.nodes[q.graph["initial"]]["members"]) == 21
    assert sorted(len(m) for _, m in q.nodes(data="members")) == [15, 15, 15, 18, 18, 20, 20, 21, 25, 26]


def test_errors_are_one_line_checker_errors():
    g = state_graph(toys.grid.build())
    with pytest.raises(CheckerError, match="unknown property 'Nope'"):
        shortest_trace(g, None, "Nope")
    with pytest.raises(CheckerError, match="no variable of that name"):
        quotient(g, ["z"])
    with pytest.raises(CheckerError, match="a state predicate is"):
        states_where(g, 3)
    with pytest.raises(CheckerError, match="more than 50 states"):
        state_graph(kafka.build(), max_states=50)
    with pytest.raises(AttributeError, match="no variable 'z'"):
        states_where(g, lambda s: s.z)


def test_the_docs_examples_run():
    import os
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join("docs", "diagrams-and-report.md")
    text = open(os.path.join(root, path), encoding="utf-8").read()
    blocks = text.split("```pycon\n")[1:]
    assert blocks, f"{path} has no pycon example"
    for block in blocks:
        test = doctest.DocTestParser().get_doctest(block.split("```")[0], {}, path, path, 0)
        runner = doctest.DocTestRunner()
        runner.run(test)
        assert runner.summarize(verbose=False).failed == 0 and test.examples
