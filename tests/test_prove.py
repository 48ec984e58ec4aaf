"""`prove`: proofs for every size with inferred invariants, refutations with shortest traces.

The verdicts and traces here are computed by Z3 and the explicit engine; the tests pin
them and check every printed invariant again, pair by pair, independently of Houdini.
"""

import json
import re

import pytest

from checker import Options, check, prove
from checker.proofs.invariants import check_invariant
from checker.proofs.prove import default_unbounded
from checker.engines.symbolic import symbolic_build, sym_bmc  # prove's own internals: the symbolic system
from spec import kafka, partitions
import toys
from test_cli import run, toys_env

EXPLICIT = Options(engine="explicit")  # the reference engine


def test_kafka_at_least_once_proved_for_every_size():
    r = prove(kafka)
    assert r.unbounded == ["messages", "max_crashes"] and r.params == {"commit": "after", "fairness": "weak"}
    (p,) = r.properties
    assert (p.name, p.verdict, p.expected, p.as_expected) == ("no-loss", "proved", "holds", True)
    # The strengthening found is whatever Z3's unsat cores pick (docs/proofs.md shows it);
    # what must hold is that it starts with the property and is inductive on its own.
    assert p.invariant[0] == "no-loss" and len(p.invariant) >= 2
    # The printed invariant is inductive: every (action, fact) pair checked on its own.
    ss = symbolic_build(kafka, {}, r.unbounded)
    assert check_invariant(ss, p.support) == []
    assert r.exit_code == 0


def test_no_loss_alone_is_not_inductive():
    # Without the inferred strengthening, Z3 finds a counterexample to induction.
    ss = symbolic_build(kafka, {}, ["messages", "max_crashes"])
    prop = [c for c in __import__("checker.proofs.invariants", fromlist=["candidates"]).candidates(ss)
            if c.prop == "no-loss"]
    failures = check_invariant(ss, prop)
    assert failures and all(f.candidate == "no-loss" for f in failures)
    assert {f.action for f in failures} >= {"Commit"}
    assert failures[0].line().startswith(f"{failures[0].action} does not preserve no-loss: from messages=")


def test_kafka_at_most_once_refuted_with_the_shortest_trace():
    r = prove(kafka, {"commit": "before"})
    (p,) = r.properties
    assert (p.verdict, p.expected, p.as_expected) == ("refuted", "violated", True)
    assert p.trace.actions == ["Produce", "Poll", "Commit", "Crash"]
    assert p.trace.system.params == {"messages": 1, "max_crashes": 1, "commit": "before", "fairness": "weak"}
    # The same trace the explicit engine finds in that instance, state by state.
    explicit = check(kafka.build(p.trace.system.params), EXPLICIT).prop("no-loss")
    assert p.trace.steps == explicit.trace.steps
    assert r.exit_code == 0


def test_partitions_default_unbounded_leaves_the_index_fixed():
    assert default_unbounded(partitions, {}) == ["messages", "max_crashes"]
    assert default_unbounded(kafka, {"messages": "2"}) == ["max_crashes"]


@pytest.mark.slow
def test_partitions_proved_for_every_size():
    r = prove(partitions)
    (p,) = r.properties
    assert (p.verdict, p.as_expected) == ("proved", True)
    ss = symbolic_build(partitions, {}, r.unbounded)
    assert check_invariant(ss, p.support) == []


def test_partitions_at_most_once_refuted():
    r = prove(partitions, {"commit": "before"}, ["messages", "max_crashes"])
    (p,) = r.properties
    assert p.verdict == "refuted"
    assert p.trace.actions == ["Produce(0)", "Poll(0)", "Commit(0)", "Crash(0)"]
    assert p.trace.system.params == {"partitions": 2, "messages": 1, "max_crashes": 1, "commit": "before"}


def test_symbolic_index_over_unbounded_partitions():
    # With the number of partitions symbolic too, the actions get one symbolic index and
    # bounded model checking still finds the least trace, at one partition.
    ss = symbolic_build(partitions, {"commit": "before"}, ["partitions", "messages", "max_crashes"])
    assert [a.name for a in ss.actions] == ["Produce(i)", "Poll(i)", "Process(i)", "Commit(i)", "Crash(i)"]
    out = sym_bmc(ss, "no-loss", 6)
    assert out.trace.actions == ["Produce(0)", "Poll(0)", "Commit(0)", "Crash(0)"]
    assert out.trace.system.params["partitions"] == 1


def test_toy_needs_a_strengthening_invariant():
    m = toys.handoff
    ss = symbolic_build(m, {}, ["bound"])
    alone = [c for c in __import__("checker.proofs.invariants", fromlist=["candidates"]).candidates(ss)
             if c.prop == "behind-or-equal"]
    (failure,) = check_invariant(ss, alone)
    assert failure.action == "IncB" and failure.line().startswith("IncB does not preserve behind-or-equal")
    r = prove(m)
    props = {p.name: p for p in r.properties}
    assert props["behind-or-equal"].verdict == "proved"
    assert props["behind-or-equal"].invariant == ["behind-or-equal", "turn = b_turn -> b < a"]
    assert props["b-below-bound"].verdict == "refuted"
    assert props["b-below-bound"].trace.actions == ["IncA", "IncB"]
    assert props["b-below-bound"].trace.system.params == {"bound": 1}
    assert r.exit_code == 0


@pytest.mark.parametrize("model, enable, prop, actions", [
    (toys.grid, (), "small-sum", ["IncX", "IncX", "IncY"]),
    (toys.flags, ("glitch",), "never-off", ["Outage"]),
    (toys.badinit, (), "positive", []),
])
def test_toys_refuted_like_the_explicit_engine(model, enable, prop, actions):
    r = prove(model, enable=enable)
    p = next(p for p in r.properties if p.name == prop)
    assert p.verdict == "refuted" and p.trace.actions == actions
    explicit = check(model.build(p.trace.system.params, enable=enable), EXPLICIT).prop(prop)
    assert p.trace.steps == explicit.trace.steps


def test_refuted_against_expectation_exits_1():
    r = prove(toys.badinit)
    assert r.properties[0].verdict == "refuted" and r.properties[0].as_expected is False
    assert r.exit_code == 1


def test_counter_proved_and_houdini_keeps_only_inductive_candidates():
    r = prove(toys.counter)
    assert [(p.name, p.verdict, p.invariant) for p in r.properties] == [("in-range", "proved", ["in-range"])]
    ss = symbolic_build(toys.counter, {}, ["bound"])
    assert check_invariant(ss, r.houdini.kept) == []


def test_a_construct_that_cannot_be_symbolic_is_unknown():
    r = prove(toys.ranged)
    (p,) = r.properties
    assert p.verdict == "unknown" and r.exit_code == 3
    assert p.reason.startswith("cannot be made symbolic: property small: TypeError")
    assert "all_of(indices(n), ...)" in p.reason
    # With the parameter fixed, nothing needs to be symbolic.
    assert prove(toys.ranged, {"bound": 2}).properties[0].verdict == "proved"


# --------------------------------------------------------------------------- CLI

def test_cli_prove_prints_the_invariant():
    r = run("prove")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith("model kafka  commit=after fairness=weak  unbounded: messages (>= 1), "
                          "max_crashes (>= 0 or unbounded)  failure modes:")
    assert ("no-loss is proved for every messages >= 1 and max_crashes >= 0 or unbounded, by this inductive "
            "invariant:") in out
    assert "\n  no-loss\n" in out and "no-loss alone is not inductive: not preserved by Commit" in out
    assert out.rstrip().endswith("verdict: as expected")


def test_cli_prove_refutes_at_most_once():
    r = run("prove", "-p", "commit=before")
    assert r.returncode == 0, r.stderr
    assert "no-loss violated in 4 steps (a shortest trace over every value; shown at messages=1 max_crashes=1)" \
        in r.stdout
    assert "replay: checker replay kafka Produce Poll Commit Crash -p messages=1 -p max_crashes=1 " \
           "-p commit=before -p fairness=weak\n" in r.stdout


def test_cli_prove_json():
    r = run("prove", "-p", "commit=before", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert set(d) == {"model", "config", "params", "unbounded", "failure_modes", "seconds", "properties"}
    assert (d["model"], d["params"], d["unbounded"]) == ("kafka", {"commit": "before", "fairness": "weak"}, ["messages", "max_crashes"])
    (p,) = d["properties"]
    assert (p["name"], p["verdict"], p["invariant"]) == ("no-loss", "refuted", [])
    assert [s["action"] for s in p["trace"]] == [None, "Produce", "Poll", "Commit", "Crash"]
    assert p["trace"][-1]["state"] == {"sent": 1, "position": 1, "committed": 1, "pc": "idle", "cur": 0,
                                       "processed": [0], "crashes": 1}
    d = json.loads(run("prove", "--json").stdout)
    (p,) = d["properties"]
    assert p["verdict"] == "proved" and p["trace"] is None and p["invariant"][0] == "no-loss"


def test_cli_prove_verbose_shows_refuted_candidates():
    r = run("prove", "-v")
    assert r.returncode == 0
    assert "refuted candidates (" in r.stdout
    assert " does not preserve " in r.stdout.split("refuted candidates")[1]


@pytest.mark.parametrize("args, message", [
    (["--unbounded", "nope"], "--unbounded nope: kafka has no parameter 'nope'; its integer parameters: "
                              "messages, max_crashes"),
    (["--unbounded", "commit"], "--unbounded commit: commit is a choice (after|before), not a number; "
                                "set it with -p"),
    (["--unbounded", "messages", "-p", "messages=2"], "messages is both set with -p and --unbounded"),
    (["-p", "messages=0"], "messages=0 is out of range"),
    (["nomodel"], "unknown model"),
])
def test_cli_prove_bad_input(args, message):
    r = run("prove", *args)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("checker: error: ") and message in r.stderr
    assert len(r.stderr.splitlines()) == 1


def test_cli_prove_unknown_and_not_as_expected():
    r = run("prove", "--timeout", "0.001")
    assert r.returncode == 3
    assert "no-loss is unknown: " in r.stdout and "verdict: unknown" in r.stdout
    r = run("prove", "overflow", "-p", "bound=1", env=toys_env())
    assert r.returncode == 2  # the unguarded counter leaves its domain: a malformed model
    assert r.stderr.startswith("checker: error: action Inc sets n to 2")


def test_docs_prove_example_is_current():
    import os
    import re

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    page = open(os.path.join(root, "docs", "proofs.md"), encoding="utf-8").read()
    block = re.search(r"```console\n\$ checker prove\n(.*?)```", page, re.S).group(1)

    def normal(text):  # the run time differs
        return [re.sub(r"\d+\.\d+ s$", "T s", line) for line in text.splitlines() if line.strip()]
    assert normal(block) == normal(run("prove").stdout), "run python scripts/update_readme.py"


def test_cli_prove_output_is_the_same_every_run():
    # Different hash seeds: Python's cycle collector then runs at different moments, which
    # once freed Z3 terms at different moments and changed the invariant printed.
    strip = lambda s: re.sub(r"\d+\.\d+ s$", "T s", s, flags=re.M)
    first = run("prove", "-v", env={"PYTHONHASHSEED": "1"})
    second = run("prove", "-v", env={"PYTHONHASHSEED": "12345"})
    assert first.returncode == second.returncode == 0
    assert strip(first.stdout) == strip(second.stdout)


def test_indices_is_a_range_when_built_and_a_quantifier_when_symbolic():
    import z3

    from checker import SpecError, indices

    assert indices(3) == range(3)
    with pytest.raises(SpecError, match="expected a number of indices"):
        indices("3")
    q = __import__("checker").all_of(indices(z3.Int("n")), lambda i: i >= 0)
    assert z3.is_quantifier(q) and q.is_forall()
    with pytest.raises(SpecError, match="symbolic length"):
        list(indices(z3.Int("n")))


# --------------------------------------------------------------------------- prove --config, --property

def _prove_args(*argv):
    from checker.cli.main import build_parser
    args, extra = build_parser().parse_known_args(["prove", *argv])
    assert not extra
    args.__dict__.pop("_given_once", None)
    return args


@pytest.mark.parametrize("cfg_id", [c.id for c in __import__("spec.matrix", fromlist=["CONFIGS"]).CONFIGS])
def test_prove_config_is_exactly_the_row(cfg_id):
    # What `prove --config ID` hands to the prover is the row: its model, its parameters,
    # exactly its failure modes and its expected verdicts; never the default model's.
    from checker.cli.main import _prove_instance
    from checker.config import build_config
    from checker.registry import get_config, get_model
    cfg = get_config(cfg_id)
    model, params, on, off, expect, config = _prove_instance(_prove_args("--config", cfg_id))
    assert model.name == cfg.model and config == cfg_id
    assert params == cfg.params and expect == cfg.expect
    system = build_config(cfg, get_model(cfg.model))
    assert model.resolve_failures(on, off) == system.failure_modes == list(cfg.failures)
    # Given with the row's own model it is the same; with another model it is refused.
    assert _prove_instance(_prove_args(cfg.model, "--config", cfg_id))[:5] == (model, params, on, off, expect)
    other = "kafka" if cfg.model != "kafka" else "group"
    r = run("prove", other, "--config", cfg_id)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == f"checker: error: configuration {cfg_id} is of model {cfg.model}, not {other}\n"


def test_prove_config_options_apply_on_top_of_the_row():
    from checker.cli.main import _prove_instance
    model, params, on, off, expect, _ = _prove_instance(
        _prove_args("--config", "offset-expiry-latest", "--without", "shutdown", "-f", "crash", "-p", "messages=2"))
    assert model.resolve_failures(on, off) == ["crash", "offset-expiry"]
    assert params == {"reset": "latest", "messages": "2"}


@pytest.mark.parametrize("args, message", [
    (["--config", "nope"], "unknown configuration 'nope'"),
    (["--config", "at-least-once", "--config", "at-most-once"], "--config is given 2 times"),
    (["--config", "batch-commit", "--unbounded", "batch"],
     "--unbounded batch: configuration batch-commit sets batch=2"),
    (["--config", "at-least-once", "-f", "nope"], "unknown failure mode 'nope' for model group"),
    (["--property", "nope"], "--property nope: kafka has no property 'nope'; its always properties: no-loss"),
    (["--property", "all-processed"], "--property all-processed: all-processed is an eventually property; "
                                      "prove decides always properties only"),
    (["-v", "--json"], "-v adds the refuted candidates to the text output; --json prints none of it"),
])
def test_cli_prove_refuses_what_it_would_ignore(args, message):
    r = run("prove", *args)
    assert r.returncode == 2 and r.stdout == "", r.stdout
    assert r.stderr.startswith("checker: error: ") and message in r.stderr
    assert len(r.stderr.splitlines()) == 1


def test_a_printed_invariant_starts_with_its_property_even_when_another_property_supports_it():
    r = prove(toys.chain, {}, ["bound"])
    inv = {p.name: (p.verdict, p.invariant) for p in r.properties}
    assert inv["b-zero"] == ("proved", ["b-zero", "a-zero"])
    assert inv["a-zero"][0] == "proved" and inv["a-zero"][1][0] == "a-zero"
    ss = symbolic_build(toys.chain, {}, ["bound"])
    assert all(check_invariant(ss, p.support) == [] for p in r.properties)


def test_prove_property_selects_properties():
    r = prove(toys.handoff, properties=["b-below-bound"])
    assert [(p.name, p.verdict) for p in r.properties] == [("b-below-bound", "refuted")]
    assert r.properties[0].trace.actions == ["IncA", "IncB"]
    # a row's expectations replace the model's
    r = prove(toys.handoff, properties=["behind-or-equal"], expect={"behind-or-equal": "violated"})
    (p,) = r.properties
    assert (p.verdict, p.expected, p.as_expected, r.exit_code) == ("proved", "violated", False, 1)


# --------------------------------------------------------------------------- the group's matrix rows

def _row_proof(cfg_id, timeout=90):
    from checker.registry import get_config, get_model
    cfg = get_config(cfg_id)
    model = get_model(cfg.model)
    on = list(cfg.failures)
    off = [f for f in model.failure_modes if f not in on]
    holds = [p for p, v in cfg.expect.items() if v == "holds"]
    # a bound on each row's proof, as `matrix --prove` gives: a row Z3 cannot settle ends unknown
    r = prove(model, dict(cfg.params), None, on, off, properties=holds, expect=cfg.expect, timeout=timeout)
    return model, cfg, on, off, r


def _recheck(model, cfg, on, off, r):
    """Every proved property's printed invariant, checked again pair by pair on a fresh build."""
    ss = symbolic_build(model, dict(cfg.params), r.unbounded, on, off)
    for p in r.properties:
        if p.verdict == "proved":
            assert p.invariant[0] == p.name
            assert check_invariant(ss, p.support) == [], p.name


@pytest.mark.parametrize("cfg_id", ["at-least-once", "at-most-once"])
def test_group_rows_proved_for_every_number_of_messages_and_crashes(cfg_id):
    model, cfg, on, off, r = _row_proof(cfg_id)
    assert r.model == "group" and r.failure_modes == ["crash"]
    assert r.unbounded == ["messages", "max_crashes"] and r.sizes == {"consumers": 1, "batch": 1}
    assert r.claim() == "for every messages >= 1 and max_crashes >= 0; consumers=1 batch=1 as given"
    assert [(p.name, p.verdict, p.as_expected) for p in r.properties] == \
        [(n, "proved", True) for n, v in cfg.expect.items() if v == "holds"]
    _recheck(model, cfg, on, off, r)


# The cells whose proofs need the later template families (invariants._more: a range
# guarded by a phase, a fact above an offset that may be -1, a fact guarded by which
# consumer owns the partition; docs/proofs.md shows each). Each invariant has one of their
# facts, since the other templates' largest inductive set does not prove the cell; which
# one Z3's cores pick may vary with the time left for minimizing, so only that is pinned.
@pytest.mark.parametrize("cfg_id, prop", [
    ("auto-commit-async", "in-order"),
    ("auto-commit-background", "in-order"),
    ("commit-sync-mid-batch", "in-order"),
    ("rebalance-revoke-commits", "no-duplicate-processing"),
    ("offset-expiry-latest", "no-duplicate-processing"),
    ("offset-expiry-latest", "in-order"),
])
def test_cells_proved_with_the_later_templates(cfg_id, prop):
    from checker.registry import get_config, get_model
    cfg = get_config(cfg_id)
    model = get_model(cfg.model)
    on = list(cfg.failures)
    off = [f for f in model.failure_modes if f not in on]
    r = prove(model, dict(cfg.params), None, on, off, properties=[prop], expect=cfg.expect, timeout=120)
    (p,) = r.properties
    assert (p.name, p.verdict, p.expected, p.as_expected) == (prop, "proved", "holds", True)
    assert [c.text for c in p.support if c.guard is not None], p.invariant
    _recheck(model, cfg, on, off, r)


GROUP_HOLDS = [c.id for c in __import__("spec.matrix", fromlist=["CONFIGS"]).CONFIGS
               if c.model == "group" and "holds" in c.expect.values()]


@pytest.mark.slow
@pytest.mark.parametrize("cfg_id", GROUP_HOLDS)
def test_every_proved_group_cell_is_rechecked(cfg_id):
    # Whatever each row's proof decides, a proof is never of a property the row expects
    # to be violated, and every invariant it prints is inductive on its own.
    model, cfg, on, off, r = _row_proof(cfg_id)
    assert r.model == cfg.model and r.failure_modes == list(cfg.failures)
    assert all(p.as_expected is not False for p in r.properties)
    _recheck(model, cfg, on, off, r)


# --------------------------------------------------------------------------- the pipeline's prevention rows

# The pipeline keeps its sizes (2 messages index Send(m)); only the failure budgets are
# symbolic, every array is flattened by cell, and the facts over whole arrays
# (checker/proofs/flat.py) make its prevention rows provable for every budget.
@pytest.mark.parametrize("cfg_id, budgets", [
    ("idempotent-producer", ["max_timeouts"]),
    ("in-flight-idempotent", ["max_timeouts"]),
    pytest.param("acks-all-failover", ["max_broker_failures"], marks=pytest.mark.slow),
    pytest.param("acks-all-min-isr-2", ["max_broker_failures", "max_isr_shrinks"], marks=pytest.mark.slow),
])
def test_pipeline_prevention_rows_proved_for_every_budget(cfg_id, budgets):
    from checker.registry import get_config, get_model
    cfg = get_config(cfg_id)
    model = get_model(cfg.model)
    on = list(cfg.failures)
    off = [f for f in model.failure_modes if f not in on]
    holds = [p for p, v in cfg.expect.items() if v == "holds"]
    r = prove(model, dict(cfg.params), None, on, off, properties=holds, expect=cfg.expect)  # no time limit
    assert r.model == "pipeline" and r.unbounded == budgets and r.sizes["messages"] == 2
    assert sorted((p.name, p.verdict, p.as_expected) for p in r.properties) == sorted((n, "proved", True)
                                                                                      for n in holds)
    assert len(holds) == 5
    _recheck(model, cfg, on, off, r)


PIPELINE_OTHERS = [c.id for c in __import__("spec.matrix", fromlist=["CONFIGS"]).CONFIGS
                   if c.model == "pipeline" and "holds" in c.expect.values() and c.id not in
                   ("idempotent-producer", "in-flight-idempotent", "acks-all-failover", "acks-all-min-isr-2")]


# min-isr-2-unclean@kafka-3.9-client-2.2's in-order takes over 40 s: the matrix's own bound there
BOUNDS = {"min-isr-2-unclean@kafka-3.9-client-2.2": 120}


@pytest.mark.slow
@pytest.mark.parametrize("cfg_id", PIPELINE_OTHERS)
def test_every_proved_pipeline_cell_is_rechecked(cfg_id):
    # The other pipeline rows, as `matrix --prove` proves them (within 40 s where the cells it
    # proves take less): no proof of a cell the row expects violated, every printed invariant
    # inductive alone.
    model, cfg, on, off, r = _row_proof(cfg_id, BOUNDS.get(cfg_id, 40))
    assert r.model == "pipeline" and r.failure_modes == list(cfg.failures) and r.unbounded
    assert all(p.as_expected is not False for p in r.properties)
    assert any(p.verdict == "proved" for p in r.properties)
    _recheck(model, cfg, on, off, r)


def test_flat_templates_say_in_a_state_what_their_formula_says():
    # Each fact over whole arrays has two forms, a Python one for states and a Z3 one for
    # the proof, built from one definition; they agree on reachable states.
    import z3

    from checker.proofs.flat import flat_candidates
    from checker.proofs.invariants import sample_states
    from checker.registry import get_config, get_model
    cfg = get_config("acks-all-failover")
    model = get_model(cfg.model)
    on = list(cfg.failures)
    ss = symbolic_build(model, dict(cfg.params), ["max_broker_failures"], on,
                        [f for f in model.failure_modes if f not in on])
    cands = flat_candidates(ss)
    texts = {c.text for c in cands}
    assert {"forall r: leader = r -> isr[r]", "forall r, q, i < hw: isr[r] and isr[q] -> log[r][i] = log[q][i]",
            "forall m, r: pst[m] = acked and isr[r] -> exists i < hw: log[r][i] = m"} <= texts
    envs = [e for _, es, _, _ in sample_states(ss) for e in es][::97]
    consts = {sv.name: sv.const for sv in ss.variables} | {n: ss.params[n] for n in ss.unbounded}
    for e in envs[:12]:
        sub = [(c, z3.BoolVal(bool(e[n])) if z3.is_bool(c) else z3.IntVal(e[n])) for n, c in consts.items()]
        for c in cands:
            assert z3.is_true(z3.simplify(z3.substitute(c.z, *sub))) == c.py(e), c.text


def test_cli_check_invariant_of_a_pipeline_row(tmp_path):
    out = run("prove", "--config", "idempotent-producer", "--property", "no-duplicate-processing").stdout
    block = out.split("by this inductive invariant:\n")[1].split("(i ranges")[0]
    lines = [x.strip() for x in block.splitlines() if x.strip()]
    assert lines[0] == "no-duplicate-processing" and any(x.startswith("forall m, r") for x in lines)
    inv = tmp_path / "inv.txt"
    inv.write_text("\n".join(lines) + "\n")
    r = run("prove", "--config", "idempotent-producer", "--check-invariant", str(inv))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.rstrip().endswith("verdict: inductive")


@pytest.mark.parametrize("cfg_id", ["unclean-election", "min-isr-2-unclean@kafka-3.9-client-4.1"])
def test_unclean_elections_process_a_record_twice_with_two_broker_failures(cfg_id):
    # What `prove --config unclean-election` finds for no-duplicate-processing, which these
    # rows expect to hold (and does, with their budget of one broker failure): with two, the
    # old leader, back with a record the first unclean election took away, wins the second
    # one; the consumer, moved back by KIP-320 at the first, reads that record again.
    from checker.registry import get_config, get_model
    cfg = get_config(cfg_id)
    model = get_model(cfg.model)
    on = list(cfg.failures)
    system = model.build({**cfg.params, "max_broker_failures": 2}, on,
                         [f for f in model.failure_modes if f not in on])
    p = check(system, EXPLICIT).prop("no-duplicate-processing")
    assert p.verdict == "violated"
    assert p.trace.actions == ["Send(0)", "Append(0)", "ShrinkIsr(1)", "Poll", "Process", "Commit", "BrokerFails(0)",
                               "Elect(1)", "RestartBroker(0)", "BrokerFails(1)", "Elect(0)", "Poll", "Process"]
    assert cfg.expect["no-duplicate-processing"] == "holds"


def test_cli_matrix_prove_json():
    r = run("matrix", "--prove", "--json", "--config", "at-most-once")
    assert r.returncode == 0, r.stderr
    (row,) = json.loads(r.stdout)["rows"]
    cells = row["cells"]
    assert cells["no-loss"] == {"verdict": "violated", "states": 84, "trace_length": 4, "proved": None,
                                "proof": None}
    claim = {"claim": "for every messages >= 1 and max_crashes >= 0; consumers=1 batch=1 as given"}
    assert cells["no-duplicate-processing"] == {"verdict": "holds", "states": 84, "trace_length": None,
                                                "proved": True, "proof": claim}
    assert cells["in-order"]["proved"] is True
    text = run("matrix", "--prove", "--config", "at-most-once").stdout
    assert "holds (84 states)," in text  # the cell; its words wrap within the column
    assert ("at-most-once: no-duplicate-processing, in-order proved for every messages >= 1 and max_crashes >= 0; "
            "consumers=1 batch=1 as given") in " ".join(text.split())


def test_matrix_prove_rows_in_worker_processes_as_in_one():
    """Rows proved at once in worker processes give the cells one process gives; a row
    whose sizes are all fixed is not searched, and says so."""
    from checker.matrix import prove_rows, run_matrix
    from checker.registry import get_config, get_model
    ids = ["at-most-once", "at-least-once", "eos-transactional"]
    alone, together = (run_matrix([get_config(c) for c in ids], get_model) for _ in range(2))
    seen = []
    prove_rows(alone, get_model, 300, progress=lambda cfg, done: seen.append((cfg.id, done)))
    prove_rows(together, get_model, 300, progress=lambda cfg, done: seen.append((cfg.id, done)), jobs=2)
    assert seen[:2] == [("at-most-once", False), ("at-least-once", False)]  # one at a time, as each starts
    assert sorted(seen[2:]) == [("at-least-once", True), ("at-most-once", True)]  # at once, as each ends
    for a, b in zip(alone, together):
        assert [a.cell(c) for c in a.config.expect] == [b.cell(c) for c in b.config.expect]
        assert [(q.name, q.verdict, bool(q.invariant)) for q in a.proof.properties] == \
            [(q.name, q.verdict, bool(q.invariant)) for q in b.proof.properties]
    assert together[1].cell("no-loss")["proved"] is True and together[1].proof.properties[0].invariant
    eos = together[2]
    assert {c: eos.cell(c)["proved"] for c in eos.config.expect} == dict.fromkeys(eos.config.expect, False)
    assert eos.cell("no-loss")["proof"] == {
        "verdict": "unknown", "reason": "no size to prove for every value: every size and budget of this row is "
        "structural or given (messages=2 instances=1 max_crashes=1); the search decided this instance only"}
    assert eos.proofs_agree() is None  # unknown for every size: `matrix --prove` is incomplete (exit 3)
    r = run("matrix", "--jobs", "2")
    assert (r.returncode, r.stderr) == (2, "checker: error: --jobs sets how many rows are proved at once; it needs "
                                            "--prove\n")


def test_report_matrix_shows_the_proofs():
    from checker.matrix import prove_rows, run_matrix
    from checker.registry import get_config, get_model
    from checker.render.html import _matrix_table
    (row,) = run_matrix([get_config("at-most-once")], get_model)
    prove_rows([row], get_model, 300)
    page = _matrix_table({"matrix-at-most-once": row.result}, {"at-most-once": row.proof})
    assert "holds (84 states), proved for every size" in page
    assert 'title="for every messages &gt;= 1 and max_crashes &gt;= 0; consumers=1 batch=1 as given"' in page
    r = run("report", "--prove", "--config", "at-most-once", "-o", "/tmp/checker-report-refused.html")
    assert r.returncode == 2 and r.stderr.startswith("checker: error: --prove proves the matrix of the whole report")


def test_cli_check_invariant(tmp_path):
    out = run("prove").stdout
    block = out.split("by this inductive invariant:\n")[1].split("(i ranges")[0]
    lines = [x.strip() for x in block.splitlines() if x.strip()]
    good = tmp_path / "inv.txt"
    good.write_text("\n".join(lines) + "\n")
    r = run("prove", "--check-invariant", str(good))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith(f"{len(lines)} facts; properties among them: no-loss; checked with fresh solvers")
    assert r.stdout.rstrip().endswith("verdict: inductive")
    # Without the property, or with a fact that is false, it is not an invariant that proves anything.
    weak = tmp_path / "weak.txt"
    weak.write_text("\n".join(lines[1:]) + "\nposition <= 0\n")
    r = run("prove", "--check-invariant", str(weak), "--json")
    d = json.loads(r.stdout)
    assert r.returncode == 1 and d["inductive"] is False and d["properties"] == []
    assert any(f.startswith("Poll does not preserve position <= 0: from ") for f in d["failures"])
    assert any(f.startswith("position <= 0 is false in the reachable state ") for f in d["false_in"])
    bad = tmp_path / "bad.txt"
    bad.write_text("no-loss\nnonsense\n")
    r = run("prove", "--check-invariant", str(bad))
    assert (r.returncode, r.stderr) == (2, "checker: error: invariant line 2: 'nonsense' is not a property of kafka "
                                           "or a fact `prove` writes for it (paste the lines `prove` printed)\n")
    r = run("prove", "--check-invariant", str(good), "--max-depth", "3")
    assert r.returncode == 2 and r.stderr.startswith("checker: error: --max-depth is not used with --check-invariant")
