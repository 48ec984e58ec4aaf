"""Which Kafka: the version table (spec/versions.py), each change selected by version in the models,
bad versions as one-line errors, and the rows that do not depend on the version."""

import pytest

from checker import CheckerError, Options, check
from checker.config import build_config
from checker.registry import configs, get_model
from spec import versions

EXPLICIT = Options(engine="explicit")


@pytest.mark.parametrize("switch, kafka, client, on", [
    ("strict_min_isr", "4.1", "2.0", True), ("strict_min_isr", "4.0", "4.1", False),
    ("strict_min_isr", "3.9", "4.1", False),
    ("truncation_detection", "4.1", "2.3", True), ("truncation_detection", "4.1", "2.2", False),
    ("producer_defaults", "4.1", "3.0", True), ("producer_defaults", "4.1", "2.8", False),
    ("idempotence_default", "4.1", "3.0.0", False), ("idempotence_default", "4.1", "3.0.1", True),
    ("idempotence_default", "4.1", "3.1", False), ("idempotence_default", "4.1", "3.1.1", True),
    ("idempotence_default", "4.1", "3.2", True),
    ("consumer_protocol", "4.0", "3.7", True), ("consumer_protocol", "3.9", "4.1", False),
    ("async_auto_commit_fixed", "4.1", "4.0", True), ("async_auto_commit_fixed", "4.1", "3.9", False),
    ("kip890", "4.0", "4.0", True), ("kip890", "3.9", "4.1", False), ("kip890", "4.1", "3.9", False),
    ("verification", "3.6", "2.0", True), ("verification", "3.5", "4.1", False),
    ("kip447", "2.5", "2.5", True), ("kip447", "2.4", "4.1", False), ("kip447", "4.1", "2.4", False),
])
def test_the_table_selects_each_change_by_version(switch, kafka, client, on):
    assert versions.has(switch, kafka, client) is on


def test_every_change_is_cited_and_the_default_is_the_current_release():
    assert versions.CURRENT == "4.1" == versions.KAFKA_VERSIONS[-1] == versions.CLIENT_VERSIONS[-1]
    for c in versions.CHANGES:
        assert c.source and c.what and c.name.startswith(("KIP-", "KAFKA-")), c
        assert c.name in c.source
    for model in ("group", "pipeline", "eos"):
        params = get_model(model).params
        assert params["kafka_version"].default == params["client_version"].default == versions.CURRENT


@pytest.mark.parametrize("text, message", [
    ("5.0", "newer than 4.1, the newest the models know"), ("1.1", "older than 2.0, the oldest"),
    ("4", "is not a Kafka version"), ("4.1.x", "is not a Kafka version"), ("", "is not a Kafka version"),
])
def test_unknown_versions_are_refused(text, message):
    with pytest.raises(CheckerError, match=message):
        versions.line(text, versions.CLIENT_VERSIONS, "app.client.version")


def test_kafka_4_refuses_clients_before_2_1():
    with pytest.raises(CheckerError, match="KIP-896"):
        versions.check_pair("4.0", "2.0")
    versions.check_pair("3.9", "2.0")


def _pipeline(params, failures):
    m = get_model("pipeline")
    return m.build(params, failures, [f for f in m.failure_modes if f not in failures])


def _last(system, actions):
    """The state after the named actions, read by variable name."""
    from checker import replay
    from checker.render.graph import StateView
    return StateView(system, replay(system, actions.split()).steps[-1].state)


def test_strict_min_isr_keeps_the_high_watermark_below_a_write_the_isr_alone_has():
    # acks=1 with min.insync.replicas=2 is accepted from Kafka 4.1: min ISR then bounds what consumers read.
    system = _pipeline({"replicas": 2, "min_isr": 2, "acks": "1"}, ["isr-shrink"])
    s = _last(system, "Send(0) Append(0) ShrinkIsr(1) Ack(0)")
    assert s.pst[0] == "acked" and s.leo == (1, 0) and s.hw == 0  # acknowledged, not readable
    old = _last(_pipeline({"replicas": 2, "acks": "1", "kafka_version": "3.9"}, ["isr-shrink"]),
                "Send(0) Append(0) ShrinkIsr(1) Ack(0)")
    assert old.hw == 1  # before KIP-966 the leader alone moves the high watermark
    with pytest.raises(CheckerError, match="min_isr=2 has no effect with acks=1 and kafka_version=3.9"):
        _pipeline({"replicas": 2, "min_isr": 2, "acks": "1", "kafka_version": "3.9"}, ["isr-shrink"])


def test_truncation_detection_moves_the_consumer_back_to_the_divergence():
    trace = "Send(0) Append(0) ShrinkIsr(1) Expire(0) Send(1) Poll Process Commit BrokerFails(0) Elect(1)"
    params = {"replicas": 2, "min_isr": 2, "unclean": "yes", "kafka_version": "3.9"}
    old = _last(_pipeline({**params, "client_version": "2.2"}, ["isr-shrink", "broker-failure"]), trace)
    new = _last(_pipeline({**params, "client_version": "2.3"}, ["isr-shrink", "broker-failure"]), trace)
    assert (old.position, old.committed) == (1, 1)  # past the new leader's log end: offset 0 is reused unseen
    assert (new.position, new.committed) == (0, 0) and new.leo == (1, 0)  # KIP-320: back to the divergence


def test_a_follower_rejoins_at_the_high_watermark_and_the_epoch_start():
    system = _pipeline({"replicas": 2, "acks": "1"}, ["broker-failure"])
    # r1 fetched m0 and leads after r0 dies: its epoch starts at 1. m1 is written; r0 comes back with m0
    # (log end 1, the epoch start) but below the high watermark (2): not in the ISR until it has m1.
    s = _last(system, "Send(0) Append(0) Ack(0) Fetch(1) BrokerFails(0) Elect(1) RestartBroker(0) Send(1) Append(1)")
    assert s.epoch_start == 1 and s.leo == (1, 2) and s.hw == 2 and s.isr == (False, True)
    s = _last(system, "Send(0) Append(0) Ack(0) Fetch(1) BrokerFails(0) Elect(1) RestartBroker(0) Send(1) Append(1) "
                      "Fetch(0)")
    assert s.leo == (2, 2) and s.isr == (True, True)
    # A new leader's epoch starts at its log end, which may be above the high watermark (r2 lags).
    s = _last(_pipeline({"replicas": 3, "acks": "1"}, ["broker-failure"]),
              "Send(0) Append(0) Fetch(1) BrokerFails(0) Elect(1)")
    assert s.epoch_start == 1 and s.hw == 0


@pytest.mark.parametrize("params, message", [
    ({"group_protocol": "consumer", "kafka_version": "3.9"}, "needs kafka_version 4.0 or later"),
    ({"group_protocol": "consumer", "client_version": "3.6"}, "needs client_version 3.7 or later"),
    ({"group_protocol": "consumer", "commit": "auto", "auto_commit_on": "background"},
     "auto-commit follows client_version"),
    ({"client_version": "2.0"}, "cannot talk to kafka_version=4.1"),
])
def test_group_protocol_needs_its_versions(params, message):
    m = get_model("group")
    with pytest.raises(CheckerError, match=message):
        m.build(params, ["crash"], [f for f in m.failure_modes if f != "crash"])


def test_the_async_consumer_before_the_fix_is_auto_commit_on_background():
    m = get_model("group")
    off = [f for f in m.failure_modes if f != "crash"]
    before = check(m.build({"commit": "auto", "group_protocol": "consumer", "client_version": "3.9"}, ["crash"], off),
                   EXPLICIT)
    background = check(m.build({"commit": "auto", "auto_commit_on": "background"}, ["crash"], off), EXPLICIT)
    fixed = check(m.build({"commit": "auto", "group_protocol": "consumer"}, ["crash"], off), EXPLICIT)
    classic = check(m.build({"commit": "auto"}, ["crash"], off), EXPLICIT)
    assert before.states == background.states and fixed.states == classic.states
    assert before.prop("no-loss").verdict == "violated" and fixed.prop("no-loss").verdict == "holds"


# Rows whose answer changes with the versions: run under the versions each names (the matrix
# cites the changes in their source); every other row is version-independent.
VERSIONED = {"eos-commit-timeout-abort", "eos-commit-timeout-abort-kip890"}


def _eos(params, failures):
    m = get_model("eos")
    return check(m.build({"messages": 1, **params}, failures, [f for f in m.failure_modes if f not in failures]),
                 EXPLICIT)


@pytest.mark.parametrize("kafka, client, violated", [
    ("3.5", "3.5", {"no-loss": 13, "atomic-offsets": 11}),  # neither part: the delayed EndTxn commits the retry
    ("3.9", "3.9", {"atomic-offsets": 11}),  # part 1 alone: the retry's output is refused, its offsets torn
    ("4.0", "3.9", {"atomic-offsets": 11}),  # part 2 needs 4.0 clients as well
    ("4.0", "4.0", {}), ("4.1", "4.1", {}),
])
def test_kip890_follows_the_versions_in_the_eos_model(kafka, client, violated):
    r = _eos({"kafka_version": kafka, "client_version": client}, ["commit-timeout"])
    assert {p.name: len(p.trace.steps) - 1 for p in r.properties if p.verdict == "violated"} == violated
    # the same instance as the explicit switches
    on = {"verification": "on" if kafka >= "3.6" else "off", "kip890": "on" if min(kafka, client) >= "4.0" else "off"}
    assert r.states == _eos(on, ["commit-timeout"]).states


@pytest.mark.parametrize("params, message", [
    ({"kip890": "on", "kafka_version": "3.9"}, "kip890=on needs a Kafka with KIP-890 part 2"),
    ({"verification": "on", "kafka_version": "3.5"}, "verification=on needs a Kafka with KIP-890 part 1"),
    ({"verification": "off"}, "verification=off has no effect while KIP-890 part 2 is on"),
    ({"instances": 2, "kafka_version": "2.4", "client_version": "2.4"}, "fencing=group-metadata needs KIP-447"),
])
def test_eos_refuses_a_transaction_feature_its_versions_lack(params, message):
    with pytest.raises(CheckerError, match=message):
        _eos(params, ["max-poll-exceeded"])


def test_the_commit_timeout_rows_cite_the_versions_they_run_under():
    rows = configs()
    assert "Kafka 3.5, client 3.5: KIP-890 part 1 off" in rows["eos-commit-timeout-abort"].source
    assert "Kafka 4.1, client 4.1: KIP-890 part 1 on, KIP-890 part 2 on" in \
        rows["eos-commit-timeout-abort-kip890"].source


@pytest.mark.slow
def test_rows_without_a_version_suffix_give_the_same_verdicts_in_every_version():
    fast = Options(engine="fast")
    for cfg in configs().values():
        if "@" in cfg.id or cfg.id in VERSIONED:
            continue
        model = get_model(cfg.model)
        base = {p.name: p.verdict for p in check(build_config(cfg, model), fast).properties}
        # transactions with KIP-447 fencing start at 2.5
        pairs = (("2.5", "2.5"), ("3.5", "3.5"), ("3.9", "3.9")) if cfg.model == "eos" else \
            (("2.1", "2.0"), ("3.9", "2.2"), ("4.0", "4.0"))
        for kafka, client in pairs:
            got = check(build_config(cfg, model, {"kafka_version": kafka, "client_version": client}), fast)
            assert {p.name: p.verdict for p in got.properties} == base, (cfg.id, kafka, client)


def test_conformance_does_not_drive_the_async_consumer_rows():
    from conform import traces
    jobs, skipped = traces.plan(["async-auto-commit@kafka-4.1-client-3.9"], 0, 1, 1)
    assert jobs == [] and skipped[0].reason.startswith("group_protocol=consumer is the Java AsyncKafkaConsumer")
