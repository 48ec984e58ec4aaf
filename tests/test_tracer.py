"""One tracer for both builds, and a trace explained once for every renderer."""

import ast
import gc
import os

import pytest
import z3

import toys
from checker import UNBOUNDED, Array, Int, Model, SpecError, Var, when
from checker.engines.explicit import explore
from checker.engines.symbolic import Unsupported, symbolic_build
from checker.explain import explain, notable, property_values
from checker.matrix import trace_page, Row, Config
from spec import eos, group, kafka, pipeline
from test_cli import ROOT, run


# --------------------------------------------------------------------------- one tracer

@pytest.mark.parametrize("model, params, failures", [
    (toys.flags, {}, ["glitch"]),
    (kafka, {}, []),
    (kafka, {"max_crashes": UNBOUNDED}, []),
    (group, {}, ["crash", "rebalance"]),
    (pipeline, {}, []),
    (eos, {"instances": 2, "kip890": "off", "verification": "off"},
     ["crash", "max-poll-exceeded", "send-error", "txn-timeout", "commit-timeout"]),
], ids=["flags", "kafka", "kafka-unbounded-crashes", "group", "pipeline", "eos"])
def test_both_builds_trace_the_same_terms(model, params, failures):
    """With no parameter left symbolic the symbolic build is the concrete one, term for term."""
    concrete = model.build(params, enable=failures)
    sym = symbolic_build(model, params, [], enable=failures)
    assert [v.name for v in sym.variables] == [v.name for v in concrete.variables]
    assert [a.name for a in sym.actions] == [a.name for a in concrete.actions]
    for sa, ca in zip(sym.actions, concrete.actions):
        assert sa.guard.eq(ca.guard), sa.name
        assert sorted(sa.updates) == sorted(ca.updates), sa.name
        assert all(sa.updates[i].eq(ca.updates[i]) for i in ca.updates), sa.name
        assert sa.failure == ca.failure
    always = [p for p in concrete.properties if p.kind == "always"]
    assert [p.name for p in sym.properties] == [p.name for p in always]
    assert all(z3.simplify(sp.formula).eq(cp.formula) for sp, cp in zip(sym.properties, always))


def test_an_unbounded_budget_keeps_no_counter_in_either_build():
    concrete = kafka.build({"max_crashes": UNBOUNDED})
    sym = symbolic_build(kafka, {"max_crashes": UNBOUNDED}, ["messages"])
    for names in ([v.name for v in concrete.variables], [v.name for v in sym.variables]):
        assert "crashes" not in names
    crash = [a for a in sym.actions if a.name == "Crash"][0]
    assert "crashes" not in str(crash.guard)


def test_prove_with_an_unbounded_budget_proves_what_the_instances_say():
    r = run("prove", "-p", "max_crashes=unbounded")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("model kafka  max_crashes=unbounded commit=after fairness=weak  "
                               "unbounded: messages (>= 1)  failure modes: crash\n")
    assert "no-loss is proved for every messages >= 1, by this inductive invariant:" in r.stdout
    assert r.stdout.endswith("verdict: as expected\n")


def test_the_model_read_api():
    m = toys.flags
    assert [a.name for a in m.action_decls] == ["Set", "Move", "Restore", "Outage"]
    assert [d.name for d in m.property_decls] == ["all-set", "never-off"]
    assert [a.name for a in m.actions_with([])] == ["Set", "Move", "Restore"]
    assert [a.name for a in m.actions_with(["glitch"])] == ["Set", "Move", "Restore", "Outage"]
    p = type("P", (), {"glitches": 1, "failure_modes": ("glitch",)})()
    assert [v.name for v in m.declared_variables(p, ["glitch"])] == ["flag", "ptr", "power", "glitched"]
    assert [v.name for v in m.declared_variables(p, [])] == ["flag", "ptr", "power"]


def _nested(body):
    """A model with an array of arrays and an action indexed over a parameter."""
    m = Model("nested", "An array of arrays.")
    m.param("n", 2, min=1, doc="how many")

    @m.variables
    def _(p):
        return [Var("x", Int(0, 1), "x"), Var("a", Array(2, Array(2, Int(0, 3))), "a"),
                Var("b", Array(p.n, Int(0, 3)), "b")]

    m.action(body, over="n")
    return m


def test_an_array_of_arrays_indexed_by_a_term_is_refused_in_the_words_of_each_build():
    def ByState(s, i):
        """Act."""
        s.a[s.x][0] = 1
    with pytest.raises(SpecError, match=r"^action ByState\(0\): a is an array of arrays; index its outer "
                                        r"dimension with a concrete number \(an action index\), not a term$"):
        _nested(ByState).build()

    def ByIndex(s, i):
        """Act."""
        when(s.a[i][0] == 0)
    _nested(ByIndex).build({"n": 2})  # the index is a number here
    with pytest.raises(Unsupported, match=r"^action ByIndex\(i\): a is an array of arrays indexed by a term; "
                                          r"prove needs a number there \(leave that size fixed\)$"):
        symbolic_build(_nested(ByIndex), {}, ["n"])


def test_an_array_of_symbolic_size_is_one_z3_array():
    def Write(s, i):
        """Act."""
        s.b[i] = 1
    ss = symbolic_build(_nested(Write), {}, ["n"])
    b = [v for v in ss.variables if v.name == "b"][0]
    assert b.dims == (ss.params["n"],) and z3.is_array(b.const)
    (act,) = ss.actions
    assert act.name == "Write(i)" and list(act.updates) == [ss.variables.index(b)]
    assert str(act.updates[ss.variables.index(b)]) == "Store(b, Write.index, 1)"

    def Length(s, i):
        """Act."""
        when(len(s.b) > 0)
    with pytest.raises(Unsupported, match=r"len\(b\) is symbolic; use all_of/any_of over it"):
        symbolic_build(_nested(Length), {}, ["n"])


def test_no_private_names_of_other_modules():
    """The tracer, the builds and the renderers read other modules through public names."""
    files = ["checker/lang/trace.py", "checker/lang/model.py", "checker/engines/symbolic.py",
             "checker/proofs/prove.py", "checker/explain.py", "checker/render/diagrams.py",
             "checker/render/html.py", "checker/matrix.py"]
    reaches = []
    for f in files:
        tree = ast.parse(open(os.path.join(ROOT, f), encoding="utf-8").read())
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
                reaches.append(f"{f}:{node.lineno} .{node.attr}")
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("checker"):
                reaches += [f"{f}:{node.lineno} import {a.name}" for a in node.names if a.name.startswith("_")]
    assert reaches == []


# --------------------------------------------------------------------------- explained once

@pytest.fixture(scope="module")
def duplicate():
    return explore(kafka.build()).prop("duplicate-delivery").trace


def test_a_trace_explained(duplicate):
    steps = explain(duplicate)
    assert [st.name for st in steps] == [None, "Produce", "Poll", "Process", "Crash", "Poll", "Process"]
    assert [st.failure for st in steps] == [None, None, None, None, "crash", None, None]
    assert [st.changed for st in steps] == [
        [], ["sent 0->1"], ["position 0->1", "pc idle->fetched"], ["pc fetched->processed", "processed[0] 0->1"],
        ["position 1->0", "pc processed->idle", "crashes 0->1"], ["position 0->1", "pc idle->fetched"],
        ["pc fetched->processed", "processed[0] 1->2"]]
    assert [st.results for st in steps] == [()] * 6 + [("duplicate-delivery reached",)]
    names = [p.name for p in duplicate.system.properties]
    assert [dict(zip(names, st.values)) for st in steps][-1] == {
        "no-loss": True, "duplicate-delivery": True, "all-processed": False}
    assert steps[0].description == "the initial state"
    assert steps[4].description == "The consumer process dies and restarts from the committed offset."
    assert [st.packed for st in steps] == [duplicate.system.layout.pack(s.state) for s in duplicate.steps]
    crash = steps[4].changes[2]
    assert (crash.variable.name, crash.before, crash.after) == ("crashes", 0, 1)
    assert steps[4].changes_variable(crash.index) and not steps[5].changes_variable(crash.index)


def test_an_explanation_is_computed_once_per_trace(duplicate):
    assert explain(duplicate) is explain(duplicate)
    other = explore(kafka.build()).prop("duplicate-delivery").trace
    assert explain(other) is not explain(duplicate) and explain(other) == explain(duplicate)


def test_an_explanation_goes_with_its_trace():
    from checker import explain as module
    trace = explore(kafka.build()).prop("duplicate-delivery").trace
    explain(trace)
    key = id(trace)
    assert key in module._explained
    del trace
    gc.collect()
    assert key not in module._explained


def test_state_verdicts_say_violated_and_reached_in_property_order(duplicate):
    s = toys.flags.build(enable=["glitch"])
    result = explore(s)
    for prop, values, marks in [("never-off", (False, False), [("never-off", "violated")]),
                                ("all-set", (True, True), [("all-set", "reached")])]:
        final = result.prop(prop).trace.steps[-1].state
        assert property_values(s, s.layout.pack(final)) == values
        assert notable(s, values) == marks
    # an eventually property (all-processed) is about runs: its formula alone marks nothing
    assert notable(duplicate.system, (False, True, True)) == [("no-loss", "violated"), ("duplicate-delivery", "reached")]


def test_the_trace_page_formats_the_explanation(duplicate):
    row = Row(Config("dup", "duplicate", "kafka"), explore(kafka.build()))
    page = trace_page(row)
    assert ("| 0 | (initial) | the initial state | sent=0, position=0, committed=0, pc=idle, cur=0, "
            "processed[0]=0, processed[1]=0, processed[2]=0, crashes=0 |") in page
    assert "| 4 | `Crash` | The consumer process dies and restarts from the committed offset. | " \
           "position 1->0, pc processed->idle, crashes 0->1 |" in page
