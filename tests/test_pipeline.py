"""The `pipeline` model: with every producer and broker feature off it is the reference
model, and its producer and replication steps behave as Kafka documents them."""

import pytest

from checker import Options, check
from checker.render.graph import state_graph, view
from checker.registry import get_model

EXPLICIT = Options(engine="explicit")  # the reference engine

REFERENCE = {1: 80, 2: 193}  # shared/reference-model.md, kafka with M=3


def _off(model, keep=("crash",)):
    return [f for f in model.failure_modes if f not in keep]


def _reference_states(system):
    return {(s.sent, s.position, s.committed, s.pc, s.cur, s.processed, s.crashes)
            for s in (view(g, n) for g in [state_graph(system)] for n in g)}


def _projected_states(system):
    """The pipeline's states seen through the reference variables: `sent` is what the consumer can read."""
    return {(s.hw, s.position, s.committed, s.pc, s.cur, s.processed, s.crashes)
            for s in (view(g, n) for g in [state_graph(system)] for n in g)}


@pytest.mark.parametrize("crashes", [1, 2])
@pytest.mark.parametrize("commit", ["after", "before"])
def test_all_features_off_is_exactly_the_reference_model(crashes, commit):
    kafka, pipeline = get_model("kafka"), get_model("pipeline")
    params = {"messages": 3, "max_crashes": crashes, "commit": commit}
    ref = kafka.build(params, ["crash"], [])
    if commit == "after":  # the published counts, unchanged
        assert check(ref, EXPLICIT).states == REFERENCE[crashes]
    pipe = pipeline.build(params, ["crash"], _off(pipeline))
    assert pipe.params["replicas"] == 1 and pipe.params["retries"] == 0 and pipe.params["acks"] == "all"
    assert _projected_states(pipe) == _reference_states(ref)


def _row(row_id, **params):
    from checker import build_config
    from checker.registry import get_config
    return build_config(get_config(row_id), get_model("pipeline"), params)


def _last(system, actions):
    from checker.render.graph import StateView
    from checker import replay
    trace = replay(system, actions.split())
    return StateView(system, trace.steps[-1].state)


def test_the_old_leader_truncates_what_only_it_had_on_its_return():
    # P2's last step: the acks=1 write survives only on the failed leader, which drops it.
    r = check(_row("acks-1-failover"), Options(engine="explicit", cover=True))
    assert " ".join(r.cover["Truncate(0)"].actions) == (
        "Send(0) Append(0) BrokerFails(0) Elect(1) RestartBroker(0) Truncate(0)")
    s = _last(r.system, "Send(0) Append(0) Ack(0) BrokerFails(0) Elect(1) RestartBroker(0) Truncate(0) Fetch(0)")
    assert s.leo == (0, 0) and s.isr == (True, True) and s.pst[0] == "acked"  # acked, and in no log


def test_acks_all_with_too_small_an_isr_is_refused_not_lost():
    from checker.render.graph import shortest_trace
    m = get_model("pipeline")
    system = m.build({"replicas": 2, "min_isr": 2}, ["isr-shrink"], ["crash"])
    trace = shortest_trace(state_graph(system), None, lambda v: v.pst[0] == "failed")
    assert trace.actions == ["Send(0)", "ShrinkIsr(1)", "Append(0)"]
    assert _last(system, "Send(0) ShrinkIsr(1) Append(0)").leo == (0, 0)  # NOT_ENOUGH_REPLICAS: not written
    # Written, then the ISR shrank below min.insync.replicas: NOT_ENOUGH_REPLICAS_AFTER_APPEND. Under
    # strict min ISR (KIP-966, Kafka 4.1, the default) the high watermark stays below the failed write.
    after = _last(system, "Send(0) Append(0) ShrinkIsr(1) Expire(0)")
    assert after.leo == (1, 0) and after.hw == 0 and after.pst[0] == "failed"
    # Before it (Kafka 3.9) the ISR alone moves the high watermark: consumers can read the failed write.
    old = m.build({"replicas": 2, "min_isr": 2, "kafka_version": "3.9"}, ["isr-shrink"], ["crash"])
    after = _last(old, "Send(0) Append(0) ShrinkIsr(1) Expire(0)")
    assert after.leo == (1, 0) and after.hw == 1 and after.pst[0] == "failed"
    # The follower fetches the write and rejoins (its log end is at or above the high watermark and
    # the leader epoch's start); only then does the high watermark cover the write.
    back = _last(system, "Send(0) Append(0) ShrinkIsr(1) Expire(0) Fetch(1)")
    assert back.isr == (True, True) and back.hw == 1


def test_the_idempotent_broker_answers_a_resent_batch_without_writing_it_again():
    resent = "Send(0) Append(0) LoseResponse(0) Retry(0) Append(0)"
    plain = _last(_row("producer-retry"), resent)
    assert plain.log[0][:2] == (0, 0) and plain.leo[0] == 2
    dedup = _last(_row("idempotent-producer"), resent + " Ack(0)")
    assert dedup.log[0][0] == 0 and dedup.leo[0] == 1 and dedup.pst[0] == "acked"


def test_two_requests_in_flight_reach_the_leader_in_the_order_sent():
    from checker import NotEnabled
    system = _row("in-flight-reorder")
    assert _last(system, "Send(0) Send(1) Append(0) Append(1)").log[0][:2] == (0, 1)
    with pytest.raises(NotEnabled, match="Append.1. is not enabled"):
        _last(system, "Send(0) Send(1) Append(1)")


@pytest.mark.parametrize("params, message", [
    (["-p", "idempotence=yes"], "enable.idempotence needs acks=all and retries >= 1"),
    (["-p", "min_isr=2"], "min_isr=2 is more than replicas=1"),
    (["-p", "acks=2"], "acks"),
    (["-p", "replicas=4"], "replicas=4 is out of range"),
])
def test_bad_settings_are_one_line_errors(params, message):
    from test_cli import run
    r = run("verify", "pipeline", *params)
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1
    assert message in r.stderr


def test_verify_pipeline_at_its_defaults_is_as_expected():
    from test_cli import run
    r = run("verify", "pipeline", "--no-traces")
    assert r.returncode == 0, r.stdout
    assert "90 distinct states" in r.stdout and "no dead actions" in r.stdout


# The versions whose changes the expectations read: the default, and each of strict min ISR
# (KIP-966) and truncation detection (KIP-320) off.
GRID_VERSIONS = (("4.1", "4.1"), ("3.9", "2.2"), ("3.9", "4.1"), ("4.1", "2.2"))


def _grid():
    """Every valid setting at two messages and up to two replicas, under each of GRID_VERSIONS,
    with each set of the producer and broker failure modes (the consumer's crash, which the
    reference model already covers, alone)."""
    import itertools
    m = get_model("pipeline")
    modes = ["request-timeout", "broker-failure", "isr-shrink"]
    sets = [()] + [s for k in (1, 2, 3) for s in itertools.combinations(modes, k)] + [("crash",)]
    for (kafka, client), R, acks, min_isr, unclean, retries, idem, in_flight in itertools.product(
            GRID_VERSIONS, [1, 2], ["0", "1", "all"], [1, 2], ["no", "yes"], [0, 1], ["no", "yes"], [1, 2]):
        if min_isr > R or (R == 1 and unclean == "yes") or (min_isr > 1 and acks != "all" and kafka != "4.1"):
            continue  # before strict min ISR, min.insync.replicas only matters to acks=all
        if idem == "yes" and (acks != "all" or retries < 1):
            continue
        for on in sets:
            yield m, {"messages": 2, "replicas": R, "acks": acks, "min_isr": min_isr, "unclean": unclean,
                      "retries": retries, "idempotence": idem, "in_flight": in_flight, "kafka_version": kafka,
                      "client_version": client}, on


def _disagreements(k):
    """The properties of the k-th grid configuration whose expectation the search contradicts."""
    m, params, on = list(_grid())[k]
    result = check(m.build(params, list(on), [f for f in m.failure_modes if f not in on]), EXPLICIT)
    return [(params, on, p.name, p.expected, p.verdict) for p in result.properties if p.as_expected is False]


@pytest.mark.slow
def test_every_expectation_agrees_with_the_search_on_a_grid_of_settings():
    import multiprocessing
    import os
    n = len(list(_grid()))
    # Independent searches: one process per core (forked, so the models are built once).
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 1) as pool:
        wrong = [w for ws in pool.map(_disagreements, range(n), chunksize=8) for w in ws]
    assert n == 2232 and not wrong, wrong[:5]
