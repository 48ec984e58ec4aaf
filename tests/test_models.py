"""The Kafka models: the published counts of reference-model.md, exact shortest traces."""

import pytest

from checker import Options, check
from spec import kafka, partitions

EXPLICIT = Options(engine="explicit")  # the reference engine

SEED_DUPLICATE = ["Produce", "Poll", "Process", "Crash", "Poll", "Process"]


@pytest.mark.parametrize("model, params, states", [
    (kafka, {"messages": 3, "max_crashes": 1}, 80),
    (kafka, {"messages": 3, "max_crashes": 2}, 193),
    (partitions, {"partitions": 2, "messages": 3, "max_crashes": 2}, 8336),
    (partitions, {"partitions": 1, "messages": 3, "max_crashes": 2}, 193),  # P=1 is kafka
])
def test_published_state_counts(model, params, states):
    r = check(model.build(params), EXPLICIT)
    assert r.complete and r.states == states


@pytest.mark.slow
def test_benchmark_size_count():
    r = check(partitions.build({"partitions": 3, "messages": 4, "max_crashes": 2}), EXPLICIT)
    assert r.states == 1_617_000
    assert r.prop("all-processed").verdict == "holds"  # liveness on the million-state graph
    assert sum(r.fired.values()) == r.transitions == 7_965_300


def test_at_least_once_story():
    r = check(kafka.build(), EXPLICIT)
    assert r.prop("no-loss").verdict == "holds"
    dup = r.prop("duplicate-delivery")
    assert dup.verdict == "reachable" and dup.trace.actions == SEED_DUPLICATE
    assert r.exit_code == 0
    # The trace itself: the crash undoes the uncommitted position, the record comes back.
    states = [kafka_state(r, s) for s in dup.trace.steps]
    assert states[3]["processed"] == [1, 0, 0] and states[3]["pc"] == "processed"
    assert states[4]["position"] == 0 and states[4]["committed"] == 0 and states[4]["crashes"] == 1
    assert states[6]["processed"] == [2, 0, 0]


def kafka_state(result, step):
    return result.system.as_json_state(step.state)


def test_at_most_once_loses_a_record():
    r = check(kafka.build({"commit": "before"}), EXPLICIT)
    loss = r.prop("no-loss")
    assert loss.verdict == "violated" and loss.expected == "violated"
    assert loss.trace.actions == ["Produce", "Poll", "Commit", "Crash"]
    last = r.system.as_json_state(loss.trace.steps[-1].state)
    assert last == {"sent": 1, "position": 1, "committed": 1, "pc": "idle", "cur": 0,
                    "processed": [0, 0, 0], "crashes": 1}
    assert r.prop("duplicate-delivery").verdict == "unreachable"
    assert r.exit_code == 0


def test_no_crashes_no_duplicates():
    for params in ({"max_crashes": 0}, {"max_crashes": 0, "commit": "before"}):
        r = check(kafka.build(params), EXPLICIT)
        assert r.prop("duplicate-delivery").verdict == "unreachable"
        assert r.prop("no-loss").verdict == "holds"
        assert r.exit_code == 0
    r = check(kafka.build(disable=["crash"]), EXPLICIT)
    assert r.system.failure_modes == [] and "crashes" not in [v.name for v in r.system.variables]
    assert r.prop("duplicate-delivery").expected == "unreachable" and r.exit_code == 0


def test_partitions_traces_name_the_partition():
    r = check(partitions.build(), EXPLICIT)
    assert r.prop("duplicate-delivery").trace.actions == [a + "(0)" for a in SEED_DUPLICATE]
    r = check(partitions.build({"commit": "before"}), EXPLICIT)
    assert r.prop("no-loss").trace.actions == ["Produce(0)", "Poll(0)", "Commit(0)", "Crash(0)"]


def test_every_variable_and_action_carries_a_note():
    for m in (kafka, partitions):
        s = m.build()
        for name, _domain, note in s.roots:
            assert len(note) > 20, f"{m.name}.{name} needs a note"
        for a in s.actions:
            assert a.description and "Real Kafka" in a.note and "Left out" in a.note, a.name
