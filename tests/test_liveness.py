"""Liveness under fairness: the five all-processed results with their lassos, toys with
hand-known answers, an independent networkx reference, the compiled components against
scipy's, coverage, vacuity, `unbounded`."""

import json
import os
import re
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from checker import CheckerError, Model, Options, SpecError, check, replay
from checker.lang.compile import compiled
from checker.engines.graphcode import enabled_marks, fair_scc  # the check's compiled loops, tested on their own
from checker.engines.vector import vector_predicate  # the liveness goal's numpy evaluation, tested on its own
from toys import budget, detour, modulo, passing, spin, trap
from toys.spin import Exit, Spin, exits, variables as spin_variables
from spec import kafka, partitions

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNBOUNDED = {"max_crashes": "unbounded"}
LOOP = (("Produce", "weak"), ("Poll", "weak"), ("Process", "weak"), ("Commit", "weak"))


@pytest.fixture(params=["explicit", "fast"])
def explore(request):
    """Either explicit-state engine: both record the graph these checks run on, and must agree."""
    return lambda system, **options: check(system, Options(engine=request.param, **options))


def verdict(explore, params):
    r = explore(kafka.build(params))
    p = r.prop("all-processed")
    assert p.as_expected is True, (params, p.verdict, p.expected)
    return r, p


# ---------------------------------------------------------------- the five results

def test_1_at_least_once_holds_under_weak_fairness(explore):
    r, p = verdict(explore, {})
    assert r.system.prop("all-processed").fairness == LOOP
    assert (p.verdict, p.trace, p.loop) == ("holds", None, None)
    assert p.notes == ["each run that never gets there breaks the fairness of Produce (weak), Poll (weak), "
                       "Process (weak) or Commit (weak)"]


def test_2_at_most_once_stops_where_a_message_was_never_processed(explore):
    r, p = verdict(explore, {"commit": "before"})
    assert p.verdict == "violated" and p.loop == 12
    assert p.trace.actions == ["Produce", "Produce", "Produce", "Poll", "Commit", "Process", "Poll",
                               "Commit", "Process", "Poll", "Commit", "Crash"]
    last = r.system.as_json_state(p.trace.steps[-1].state)
    assert last == {"sent": 3, "position": 3, "committed": 3, "pc": "idle", "cur": 0,
                    "processed": [1, 1, 0], "crashes": 1}
    assert p.notes == [
        "the run stops at step 12: no fair action is enabled there "
        "(only Crash, which no fairness obliges to happen)",
        "every fairness obligation is met, none of these being enabled at step 12: "
        "Produce (weak), Poll (weak), Process (weak), Commit (weak)"]
    # Should the crash budget be spent too, the run ends in a terminal state just the same.
    end = replay(r.system, p.trace.actions + ["Crash"])
    assert not compiled(r.system).expand(r.system.layout.pack(end.steps[-1].state))


WEAK_LASSO = ["Produce", "Produce", "Produce", "Poll", "Crash"]


def test_3_unbounded_crashes_violate_it_under_weak_fairness(explore):
    r, p = verdict(explore, UNBOUNDED)
    assert p.verdict == "violated" and p.trace.actions == WEAK_LASSO and p.loop == 3
    assert p.trace.steps[3].state == p.trace.steps[5].state  # the cycle closes
    assert r.system.as_json_state(p.trace.steps[4].state)["pc"] == "fetched"
    assert p.notes == [
        "steps 4-5 repeat forever (step 5 is the state of step 3; both marked @)",
        "Produce (weak fairness): met, never enabled on the cycle",
        "Poll (weak fairness): met, taken at step 4",
        "Process (weak fairness): met, never taken but disabled at step 3",
        "Commit (weak fairness): met, never enabled on the cycle"]


def test_4_strong_fairness_of_commit_alone_does_not_help(explore):
    r, p = verdict(explore, UNBOUNDED | {"fairness": "strong-commit"})
    assert r.system.prop("all-processed").fairness == LOOP[:3] + (("Commit", "strong"),)
    assert p.verdict == "violated" and p.trace.actions == WEAK_LASSO and p.loop == 3
    assert p.notes[-1] == "Commit (strong fairness): met, never enabled on the cycle"
    assert p.notes[3] == "Process (weak fairness): met, never taken but disabled at step 3"


def test_a_crash_after_every_process_is_weakly_fair_but_not_strongly_fair_to_commit():
    s = kafka.build(UNBOUNDED)
    expand = compiled(s).expand
    cycle = ["Poll", "Process", "Crash"]
    t = replay(s, ["Produce"] * 3 + cycle * 2 + cycle)  # processed[0] saturated: the cycle closes
    assert t.steps[-4].state == t.steps[-1].state
    commit = s.action_index("Commit")
    on = [any(a == commit for a, _ in expand(s.layout.pack(st.state))) for st in t.steps[-4:-1]]
    assert on == [False, False, True]  # disabled somewhere (weak: met), enabled again and again (strong: broken)


def test_5_strong_fairness_of_poll_process_commit_makes_it_hold(explore):
    r, p = verdict(explore, UNBOUNDED | {"fairness": "strong"})
    assert r.system.prop("all-processed").fairness == (
        ("Produce", "weak"), ("Poll", "strong"), ("Process", "strong"), ("Commit", "strong"))
    assert p.verdict == "holds" and p.trace is None
    assert p.notes == ["each run that never gets there breaks the fairness of Produce (weak), Poll (strong), "
                       "Process (strong) or Commit (strong)"]


def test_unbounded_crashes_keep_no_counter_and_saturate_the_counts(explore):
    s = kafka.build(UNBOUNDED)
    assert "crashes" not in [v.name for v in s.variables]
    assert {(v.name, v.hi) for v in s.variables if v.root == "processed"} == {
        ("processed[0]", 2), ("processed[1]", 2), ("processed[2]", 2)}
    t = replay(s, ["Produce"] + ["Poll", "Process", "Crash"] * 4)
    assert s.as_json_state(t.steps[-1].state)["processed"] == [2, 0, 0]  # "more than once"
    assert explore(s).states == 103
    assert explore(kafka.build(UNBOUNDED | {"commit": "before"})).states == 48
    assert explore(kafka.build({"max_crashes": 2})).states == 193  # numbers unchanged


def test_other_instances_are_as_expected(explore):
    for params in ({"max_crashes": 0}, {"max_crashes": 0, "commit": "before"}, {"max_crashes": 1},
                   {"messages": 1} | UNBOUNDED, {"commit": "before"} | UNBOUNDED | {"fairness": "strong"}):
        assert verdict(explore, params)[1].as_expected
    r = explore(partitions.build({"commit": "before"}))
    p = r.prop("all-processed")
    assert p.verdict == "violated" and p.loop == 24 and p.trace.actions[-1] == "Crash(1)"
    assert explore(partitions.build()).prop("all-processed").verdict == "holds"


# ---------------------------------------------------------------- toys, known by hand

def test_weak_fairness_allows_spinning_past_an_exit_strong_does_not(explore):
    p = explore(spin.build()).prop("exits")
    assert (p.verdict, p.trace.actions, p.loop) == ("violated", ["Spin", "Spin"], 0)
    assert p.notes == ["steps 1-2 repeat forever (step 2 is the state of step 0; both marked @)",
                       "Spin (weak fairness): met, taken at step 1, 2",
                       "Exit (weak fairness): met, never taken but disabled at step 1"]
    strong = explore(spin.build({"fairness": "strong-exit"})).prop("exits")
    assert strong.verdict == "holds" and strong.as_expected is False
    assert strong.notes == ["each run that never gets there breaks the fairness of Spin (weak) or Exit (strong)"]
    extra = explore(spin.build({"fairness": "strong-exit-dead"})).prop("exits")
    assert extra.notes[1:] == ["the fairness of Never rules out none of them"]
    alone = explore(spin.build({"fairness": "exit-alone"})).prop("exits")  # stops at 1: Spin is not fair
    assert (alone.verdict, alone.trace.actions, alone.loop) == ("violated", ["Spin"], 1)


def test_without_fairness_a_run_may_stop_at_once(explore):
    p = explore(spin.build({"fairness": "none"})).prop("exits")
    assert (p.verdict, p.trace.actions, p.loop) == ("violated", [], 0)
    assert p.notes == ["the run stops at step 0: no fair action is enabled there "
                       "(only Spin, Exit, which no fairness obliges to happen)"]


def test_a_terminal_state_short_of_the_goal_is_a_violation(explore):
    p = explore(trap.build()).prop("arrives")
    assert (p.verdict, p.trace.actions, p.loop) == ("violated", ["Fall"], 1)
    assert p.notes[0] == "the run stops at step 1: no action is enabled there (a terminal state)"


def test_formulas_numpy_cannot_evaluate_fall_back_to_the_compiled_predicates(explore):
    system = modulo.build()
    assert vector_predicate(system, system.prop("arrives").formula) is None
    r = explore(system)
    p = r.prop("arrives")
    assert (p.verdict, p.trace.actions, p.loop) == ("violated", ["Fall"], 1)
    assert r.vacuous == ["odd: the premise `x%5 == 4` of an implication never holds"]


def test_a_goal_that_does_not_last_still_counts_once_reached(explore):
    assert explore(passing.build()).prop("reaches").verdict == "holds"
    p = explore(detour.build()).prop("reaches")
    assert (p.verdict, p.trace.actions, p.loop) == ("violated", ["Side", "Turn", "Turn"], 1)


def test_dead_actions_and_vacuity_are_reported(explore):
    r = explore(spin.build({"fairness": "spin-dead"}))
    assert r.fired == {"Spin": 2, "Exit": 1, "Never": 0} and r.dead == ["Never"]
    assert r.vacuous == ["small: the premise `x > 2` of an implication never holds",
                         "exits: the fairness of Never is vacuous: Never is never enabled"]


def test_cover_gives_the_shortest_trace_of_every_action(explore):
    r = explore(kafka.build(), cover=True)
    assert {a: t.actions for a, t in r.cover.items()} == {
        "Produce": ["Produce"], "Poll": ["Produce", "Poll"], "Process": ["Produce", "Poll", "Process"],
        "Commit": ["Produce", "Poll", "Process", "Commit"], "Crash": ["Crash"]}
    assert explore(spin.build(), cover=True).cover["Never"] is None


def test_fired_counts_every_transition(explore):
    for m, params in ((kafka, {}), (kafka, UNBOUNDED), (partitions, {})):
        r = explore(m.build(params))
        assert sum(r.fired.values()) == r.transitions
    assert explore(partitions.build()).fired["Crash(1)"] == explore(partitions.build()).fired["Crash(0)"]


# ---------------------------------------------------------------- the language

def spin_assuming(fair):
    """The spin toy's steps and goal under a fairness declaration given here (malformed on purpose)."""
    m = Model("spin", "Spin, under the fairness given.")
    m.variables(spin_variables)
    m.action(Spin)
    m.action(Exit)
    m.fairness(fair)
    m.eventually(exits)
    return m


def test_fairness_declarations_are_checked():
    with pytest.raises(SpecError, match="'Exit' must be fair 'weak' or 'strong', not 'very'"):
        spin_assuming({"Exit": "very"}).build()
    with pytest.raises(SpecError, match="fair action 'Jump' is not an action of spin"):
        spin_assuming(["Jump"]).build()
    with pytest.raises(SpecError, match="its fairness: KeyError"):
        spin_assuming(lambda p: {}["x"]).build()


def test_unbounded_is_a_value_only_where_declared():
    assert budget.build({"max_glitches": "unbounded"}).params["max_glitches"] == "unbounded"
    assert [v.name for v in budget.build({"max_glitches": "unbounded"}).variables] == ["on"]
    with pytest.raises(CheckerError, match="max_glitches=lots: expected an integer or `unbounded`"):
        budget.build({"max_glitches": "lots"})
    with pytest.raises(CheckerError, match="messages=unbounded: expected an integer$"):
        kafka.build({"messages": "unbounded"})


# ---------------------------------------------------------------- an independent reference

def reference_verdict(system, name):
    """The same question answered slowly with networkx, straight from the definitions:
    a violation is a strongly connected set of states (one state may stutter) reached
    without the goal, fair for every fair action; strong fairness is refined by hand."""
    comp = compiled(system)
    prop = system.prop(name)
    goal = comp.predicates[system.properties.index(prop)]
    init = system.layout.pack(system.init)
    succ, stack = {init: comp.expand(init)}, [init]
    while stack:
        for _, t in succ[stack.pop()]:
            if t not in succ:
                succ[t] = comp.expand(t)
                stack.append(t)
    if goal(init):
        return "holds"
    kinds = dict(prop.fairness)
    fair = [(i, kinds[a.base]) for i, a in enumerate(system.actions) if a.base in kinds]
    region = nx.MultiDiGraph()
    region.add_node(init)
    stack = [init]
    while stack:  # the states reached without passing the goal
        st = stack.pop()
        for a, t in succ[st]:
            if not goal(t):
                if t not in region:
                    stack.append(t)
                region.add_edge(st, t, action=a)
    todo = [set(c) for c in nx.strongly_connected_components(region)]
    while todo:
        c = todo.pop()
        taken = {d["action"] for _, _, d in region.subgraph(c).edges(data=True)}
        broken = None
        for ai, kind in fair:
            on = {st for st in c if any(a == ai for a, _ in succ[st])}
            if ai in taken or not on or (kind == "weak" and on != c):
                continue
            broken = (kind, on)
            break
        if broken is None:
            return "violated"
        if broken[0] == "strong":  # a fair part may lie away from where the action is enabled
            todo += [set(x) for x in nx.strongly_connected_components(region.subgraph(c - broken[1]))]
    return "holds"


@pytest.mark.parametrize("make, params, name", [
    (kafka, {}, "all-processed"), (kafka, {"commit": "before"}, "all-processed"),
    (kafka, UNBOUNDED, "all-processed"), (kafka, UNBOUNDED | {"fairness": "strong-commit"}, "all-processed"),
    (kafka, UNBOUNDED | {"fairness": "strong"}, "all-processed"), (kafka, {"max_crashes": 1}, "all-processed"),
    (kafka, {"messages": 2} | UNBOUNDED | {"commit": "before", "fairness": "strong"}, "all-processed"),
    (partitions, {"commit": "before", "max_crashes": 1}, "all-processed"),
    (spin, {}, "exits"), (spin, {"fairness": "strong-exit"}, "exits"), (spin, {"fairness": "none"}, "exits"),
    (trap, {}, "arrives"), (detour, {}, "reaches"), (passing, {}, "reaches"),
])
def test_agrees_with_a_networkx_reference(make, params, name, explore):
    system = make.build(params)
    assert explore(system).prop(name).verdict == reference_verdict(system, name)


# ---------------------------------------------------------------- numpy goal evaluation

@pytest.mark.parametrize("make, params", [
    (kafka, {}), (kafka, {"commit": "before"}), (kafka, UNBOUNDED), (partitions, {}),
    (partitions, {"partitions": 3, "messages": 2, "max_crashes": 1}), (spin, {}),
])
def test_numpy_evaluation_agrees_with_the_compiled_predicates(make, params):
    system = make.build(params)
    comp = compiled(system)
    init = system.layout.pack(system.init)
    states, seen = [init], {init}
    for st in states:
        for _, t in comp.expand(st):
            if t not in seen:
                seen.add(t)
                states.append(t)
    for i, p in enumerate(system.properties):
        for formula, pred in [(p.formula, comp.predicates[i])]:
            vec = vector_predicate(system, formula)
            assert vec is not None
            assert vec(states).tolist() == [bool(pred(s)) for s in states], p.name


def test_wide_states_are_split_into_words():
    system = partitions.build({"partitions": 3, "messages": 4, "max_crashes": 2})
    assert system.layout.bits > 63
    comp = compiled(system)
    st = system.layout.pack(system.init)
    states = [st]
    for _ in range(40):  # a walk to states with high fields set
        st = comp.expand(st)[-1][1] if comp.expand(st) else st
        states.append(st)
    for i, p in enumerate(system.properties):
        assert vector_predicate(system, p.formula)(states).tolist() == [bool(comp.predicates[i](s)) for s in states]


def test_compiled_components_and_their_judgement_agree_with_scipy_and_the_definitions():
    """graphcode's loops on random graphs: the fair actions enabled in each state, scipy's
    strongly connected components, and each component judged from the definitions."""
    rng = np.random.default_rng(19)
    for _ in range(300):
        n = int(rng.integers(1, 40))
        deg = rng.integers(0, 4, n)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(deg, out=indptr[1:])
        src = np.repeat(np.arange(n), deg)
        tgt = rng.integers(0, n, int(indptr[-1])).astype(np.int32)
        act = rng.integers(0, 5, len(tgt)).astype(np.uint16)
        k = int(rng.integers(0, 4))
        slot = rng.integers(-1, k, 5).astype(np.int32) if k else np.full(5, -1, dtype=np.int32)
        weak, alive = rng.random(k) < 0.5, rng.random(n) < 0.8
        enabled = enabled_marks(n, indptr, act, slot, k)
        for j in range(k):
            assert enabled[j].tolist() == [bool(np.any(slot[act[indptr[u]:indptr[u + 1]]] == j)) for u in range(n)]
        labels, broken, drop, refine, ruled = fair_scc(indptr, tgt, act, slot, enabled, weak, alive)

        keep = alive[src] & alive[tgt]
        graph = csr_matrix((np.ones(int(keep.sum())), (src[keep], tgt[keep])), shape=(n, n))
        ref = connected_components(graph, directed=True, connection="strong")[1]
        assert (labels[~alive] == -1).all()
        comps: dict[int, list[int]] = {}
        for u in np.flatnonzero(alive).tolist():
            comps.setdefault(int(labels[u]), []).append(u)
        assert sorted(comps) == list(range(len(comps)))
        for states in comps.values():
            assert states == np.flatnonzero(alive & (ref == ref[states[0]])).tolist()

        want = {"broken": 0, "ruled": [False] * k, "drop": [False] * n, "refine": [False] * n}
        for c, states in comps.items():
            edges = [(int(slot[act[e]]), int(tgt[e])) for u in states for e in range(indptr[u], indptr[u + 1])]
            bad = []
            for j in range(k):
                taken = any(a == j and v in states for a, v in edges)
                on = [u for u in states if enabled[j, u]]
                if not taken and (len(on) == len(states) if weak[j] else on):
                    bad.append(j)
                    want["ruled"][j] = True
            want["broken"] += len(bad)
            if any(weak[j] for j in bad):
                want["drop"][c] = True
            else:
                for j in bad:
                    for u in states:
                        want["refine"][u] |= bool(enabled[j, u])
        assert (broken, ruled.tolist(), drop.tolist(), refine.tolist()) == (
            want["broken"], want["ruled"], want["drop"], want["refine"])


def test_compiled_components_follow_a_path_as_long_as_the_graph():
    n = 2_000_000  # a depth-first search this deep would overflow a recursive one's stack
    indptr = np.arange(n + 1, dtype=np.int64)
    act, slot = np.zeros(n, dtype=np.uint16), np.full(1, -1, dtype=np.int32)
    enabled, weak = enabled_marks(n, indptr, act, slot, 0), np.zeros(0, dtype=bool)
    ring = ((np.arange(n) + 1) % n).astype(np.int32)
    assert (fair_scc(indptr, ring, act, slot, enabled, weak, np.ones(n, dtype=bool))[0] == 0).all()
    cut = np.ones(n, dtype=bool)
    cut[n // 2] = False  # the ring broken into a path: every state its own component
    labels = fair_scc(indptr, ring, act, slot, enabled, weak, cut)[0]
    assert labels[n // 2] == -1 and len(set(labels[cut].tolist())) == n - 1


# ---------------------------------------------------------------- the command line

def run(*args, env=None):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "checker", *args], cwd=ROOT, env=e,
                          capture_output=True, text=True, timeout=600)


def test_cli_prints_the_lasso_with_its_fairness():
    r = run("verify", "-p", "max_crashes=unbounded")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert re.search(r"all-processed\s+eventually\s+violated\s+violated\s+yes\s+3 \+ 2-step cycle", out)
    assert "all-processed violated: 3 steps, then a 2-step cycle forever (a shortest lasso)" in out
    assert re.search(r"^\s+3 @\s+Produce", out, re.M) and re.search(r"^\s+5 @\s+Crash", out, re.M)
    assert "Commit (weak fairness): met, never enabled on the cycle\n" in out
    assert ("replay: checker replay kafka Produce Produce Produce Poll Crash -p messages=3 "
            "-p max_crashes=unbounded -p commit=after -p fairness=weak") in out
    assert run("verify", "-p", "max_crashes=unbounded", "-p", "fairness=strong").returncode == 0


def test_cli_warns_of_dead_actions_and_vacuity_and_covers():
    env = {"CHECKER_MODELS": "liveness_registry",
           "PYTHONPATH": os.pathsep.join([os.path.join(ROOT, "tests"), ROOT])}
    r = run("verify", "spin", "--cover", env=env)
    assert r.returncode == 0, r.stderr
    assert "actions fired: Spin 2, Exit 1, Never 0\n" in r.stdout
    assert "warning: Never is never enabled in a reachable state (a dead action)\n" in r.stdout
    assert "warning: vacuous: small: the premise `x > 2` of an implication never holds\n" in r.stdout
    assert "Exit first taken in 1 step (a shortest trace)" in r.stdout
    assert "Never is never enabled: no trace takes it" in r.stdout
    j = json.loads(run("verify", "trap", "--json", "--cover", env=env).stdout)
    assert j["properties"][0]["loop"] == 1 and j["fired"] == {"Go": 1, "Fall": 1}
    assert [s["action"] for s in j["cover"]["Fall"]] == [None, "Fall"]


@pytest.mark.parametrize("args, message", [
    (["verify", "-p", "max_crashes=many"], "max_crashes=many: expected an integer or `unbounded`"),
    (["verify", "-p", "fairness=fast"], "fairness=fast: must be one of weak, strong-commit, strong"),
])
def test_bad_values_are_one_line_and_exit_2(args, message):
    r = run(*args)
    assert r.returncode == 2 and r.stdout == "" and message in r.stderr
    assert r.stderr.count("\n") == 1
