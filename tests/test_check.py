"""`checker check`: Kafka .properties files in, verdicts, traces and verified fixes out.

Each example of examples/ is pinned (verdicts, catalogue ids, the shortest trace's actions,
the fixes offered); every key the issue names is understood or reported as not modelled;
bad input is one line and exit 2; --require decides the exit code.
"""

import glob
import json
import os

import pytest

from checker.cli.main import main
from spec.settings import read
from spec.settings.properties import parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def check(capsys, *args):
    code = main(["check", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def example(name):
    return sorted(glob.glob(os.path.join(ROOT, "examples", name, "*.properties")))


# name -> guarantee -> (verdict, catalogue ids, actions of the shortest trace, fixes offered)
EXPECTED = {
    "java-auto-commit": {
        "no-loss": ("violated", ["B9"], ["Produce", "DeleteRecords"], [{"retention.ms": "-1"}]),
        "no-duplicate-processing": ("violated", ["C9"], ["Produce", "Poll(0)", "Evict(0)", "Poll(1)", "Process(0)",
                                                         "Process(1)"], [{"app.sink": "idempotent"}]),
        "in-order": ("violated", ["C9"], ["Produce", "Produce", "Poll(0)", "Evict(0)", "DeleteRecords", "Poll(1)",
                                          "Process(1)", "Process(0)"], []),
    },
    "java-auto-commit-worker": {
        "no-loss": ("violated", ["B9"], ["Produce", "DeleteRecords"],
                    [{"retention.ms": "-1", "app.processing": "poll-thread"}]),
        "no-duplicate-processing": ("violated", ["C3"], ["Produce", "Poll(0)", "Process(0)", "Crash(0)", "Restart(0)",
                                                         "Poll(0)", "Process(0)"], [{"app.sink": "idempotent"}]),
        "in-order": ("violated", [], ["Produce", "Poll(0)", "Produce", "Rebalance(0)", "Poll(1)", "Process(1)",
                                      "Process(0)"], []),
    },
    "librdkafka-defaults": {
        "no-loss": ("violated", ["B9"], ["Produce", "DeleteRecords"],
                    [{"retention.ms": "-1", "enable.auto.offset.store": "false"},
                     {"retention.ms": "-1", "enable.auto.commit": "false", "app.commit": "after-each-record"}]),
        "no-duplicate-processing": ("violated", ["C9"], ["Produce", "Poll(0)", "Evict(0)", "Poll(1)", "Process(0)",
                                                         "Process(1)"], [{"app.sink": "idempotent"}]),
        "in-order": ("violated", ["C9"], ["Produce", "Produce", "Poll(0)", "BackgroundAutoCommit(0)", "Evict(0)",
                                          "Poll(1)", "Process(1)", "Process(0)"], []),
    },
    "manual-batch-commit": {
        "no-loss": ("violated", ["B9"], ["Produce", "DeleteRecords"], [{"retention.ms": "-1"}]),
        "no-duplicate-processing": ("violated", ["C9"], ["Produce", "Poll(0)", "Process(0)", "Evict(0)", "Poll(1)",
                                                         "Process(1)"], [{"app.sink": "idempotent"}]),
        "in-order": ("violated", ["C9"], ["Produce", "Produce", "Poll(0)", "Evict(0)", "DeleteRecords", "Poll(1)",
                                          "Process(1)", "Process(0)"], []),
    },
    "producer-acks-1": {
        "no-acked-loss": ("violated", ["P2"], ["Send(0)", "Append(0)", "Ack(0)", "BrokerFails(0)", "Elect(1)"],
                          [{"acks": "all"}]),
        "no-duplicate-in-log": ("violated", ["P3"], ["Send(0)", "Append(0)", "LoseResponse(0)", "Retry(0)",
                                                     "Append(0)"], [{"enable.idempotence": "true", "acks": "all"}]),
        "no-loss": ("violated", ["P2"], ["Send(0)", "Append(0)", "Ack(0)", "BrokerFails(0)", "Elect(1)"],
                    [{"acks": "all"}]),
        "no-duplicate-processing": ("violated", ["P3"], ["Send(0)", "Append(0)", "BrokerFails(1)", "Poll", "Process",
                                                         "Commit", "LoseResponse(0)", "Retry(0)", "Append(0)", "Poll",
                                                         "Process"],
                                    [{"app.sink": "idempotent"}, {"enable.idempotence": "true", "acks": "all"}]),
        "in-order": ("violated", ["P4"], ["Send(0)", "Send(1)", "BrokerFails(1)", "LoseRequest(0)", "Append(1)",
                                          "Retry(0)", "Append(0)", "Poll", "Process", "Commit", "Poll", "Process"],
                     [{"max.in.flight.requests.per.connection": "1"}, {"enable.idempotence": "true", "acks": "all"}]),
    },
    "producer-durable": {g: ("holds", [], None, []) for g in
                         ("no-acked-loss", "no-duplicate-in-log", "no-loss", "no-duplicate-processing", "in-order")},
    "transactional-service": {g: ("holds", [], None, []) for g in
                              ("no-loss", "no-duplicate-processing", "no-aborted-read", "atomic-offsets",
                               "no-acked-loss", "no-duplicate-in-log", "in-order")},
    "transactional-auto-commit": {
        "no-loss": ("violated", ["T7"], ["Poll(0)", "AddPartition(0)", "TxnTimeout(0)", "Close(0)"],
                    [{"enable.auto.commit": "false"}]),
        "no-duplicate-processing": ("holds", [], None, []),
        "no-aborted-read": ("holds", [], None, []),
        "atomic-offsets": ("violated", ["T7"], ["Poll(0)", "AddPartition(0)", "TxnTimeout(0)", "Close(0)"],
                           [{"enable.auto.commit": "false"}]),
    },
}


def test_every_example_is_pinned():
    found = sorted(os.path.basename(d.rstrip("/")) for d in glob.glob(os.path.join(ROOT, "examples", "*/")))
    assert found == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example(capsys, name):
    # No test measures speed (docs/tests.md): docs/check.md gives the seconds measured per file set.
    code, out, err = check(capsys, *example(name), "--json")
    assert (code, err) == (0, "")
    got = json.loads(out)
    answers = {g["name"]: (g["verdict"], g["catalogue"],
                           [s["action"] for s in g["trace"][1:]] if g["trace"] else None,
                           [f["change"] for f in g["fixes"]]) for g in got["guarantees"]}
    assert answers == EXPECTED[name]
    assert all(f["verdict"] == "holds" for g in got["guarantees"] for f in g["fixes"])


def test_a_fix_is_offered_only_when_its_rerun_holds(capsys):
    # acks=1: idempotence alone is refused by Kafka (acks must be all), so it is not offered alone
    code, out, _ = check(capsys, *example("producer-acks-1"), "--json")
    fixes = {g["name"]: [f["change"] for f in g["fixes"]] for g in json.loads(out)["guarantees"]}
    assert {"enable.idempotence": "true"} not in fixes["no-duplicate-in-log"]
    # and each offered fix, applied, makes that guarantee hold
    code, out, _ = check(capsys, *example("producer-acks-1"), "-s", "acks=all", "--json")
    verdicts = {g["name"]: g["verdict"] for g in json.loads(out)["guarantees"]}
    assert verdicts["no-acked-loss"] == "holds" and verdicts["no-loss"] == "holds"


def test_text_output_names_model_faults_defaults_and_fixes(capsys):
    code, out, _ = check(capsys, *example("producer-acks-1"))
    assert code == 0
    assert "answered by the pipeline model" in out
    assert "faults considered (budget per run): request-timeout 1, broker-failure 1, isr-shrink 1" in out
    assert "no effect on delivery semantics: bootstrap.servers, compression.type, key.serializer, linger.ms, " \
           "value.serializer" in out
    assert "note: enable.idempotence=false: the default true is turned off because acks=1" in out
    assert "no-acked-loss violated in 5 steps (pipeline model; P2)" in out
    assert "  -s acks=all\n" in out
    assert out.rstrip().endswith("verdict: no-acked-loss, no-duplicate-in-log, no-loss, no-duplicate-processing, "
                                 "in-order violated")


def test_defaults_per_client_are_listed(tmp_path, capsys):
    f = tmp_path / "producer.properties"
    f.write_text("bootstrap.servers=b:9092\nretries=3\n")
    s = json.loads(check(capsys, str(f), "--json")[1])["settings"]
    assert s["acks"] == {"value": "all", "source": "default"}
    assert s["enable.idempotence"] == {"value": "true", "source": "default"}
    assert s["retries"] == {"value": "3", "source": "file"}
    f.write_text("group.id=g\napp.client=librdkafka\n")
    s = json.loads(check(capsys, str(f), "--json", "--faults", "crash")[1])["settings"]
    assert s["enable.auto.offset.store"] == {"value": "true", "source": "default"}
    assert s["enable.auto.commit"] == {"value": "true", "source": "default"}


ISSUE_KEYS = {  # every key the issue names, with a value Kafka accepts
    "enable.auto.commit": "true", "auto.commit.interval.ms": "1000", "enable.auto.offset.store": "true",
    "max.poll.records": "10", "max.poll.interval.ms": "60000", "session.timeout.ms": "10000",
    "auto.offset.reset": "earliest", "isolation.level": "read_committed", "group.protocol": "classic",
    "group.id": "g", "acks": "all", "retries": "3", "enable.idempotence": "true",
    "max.in.flight.requests.per.connection": "5", "delivery.timeout.ms": "120000", "transactional.id": "tx-1",
    "replication.factor": "3", "min.insync.replicas": "2", "unclean.leader.election.enable": "false",
    "retention.ms": "86400000", "offsets.retention.minutes": "10080",
}


@pytest.mark.parametrize("key", sorted(ISSUE_KEYS))
def test_every_issue_key_is_understood_or_not_modelled_with_a_reason(key):
    base = [("acks", "all")] if key != "acks" else []
    if key == "enable.auto.offset.store":  # librdkafka's key; the Java client ignores it
        base.append(("app.client", "librdkafka"))
    if key == "min.insync.replicas":
        base.append(("replication.factor", "3"))
    setup = read([("f.properties", f"{key}={ISSUE_KEYS[key]}\n")], base, None)
    reasons = dict(setup.not_modelled)
    assert key not in setup.ignored
    assert key in setup.settings or key in reasons
    if key in reasons:
        assert len(reasons[key]) > 20


EOS = os.path.join(ROOT, "examples", "transactional-service")


def test_transactional_id_is_answered_by_the_eos_model(capsys):
    got = json.loads(check(capsys, os.path.join(EOS, "consumer.properties"), os.path.join(EOS, "producer.properties"),
                           "--json")[1])
    assert got["model"] == "eos"
    assert got["model_line"].startswith("answered by the eos model (the consume-transform-produce loop in "
                                        "transactions)")
    assert got["settings"]["transactional.id"] == {"value": "enrichment-service-0", "source": "file"}
    assert got["settings"]["isolation.level"] == {"value": "read_committed", "source": "file"}
    assert got["settings"]["app.txn.fencing"] == {"value": "group-metadata", "source": "default"}
    assert [n["key"] for n in got["not_modelled"]] == ["auto.offset.reset", "delivery.timeout.ms", "group.id",
                                                       "max.poll.records", "transaction.timeout.ms"]
    assert [f["name"] for f in got["faults"]] == ["crash", "max-poll-exceeded", "send-error", "txn-timeout",
                                                  "commit-timeout", "produce-timeout"]
    assert all(f["budget"] == 1 for f in got["faults"])
    assert any(n.startswith("isolation.level=read_committed is read as the output topic's readers'")
               for n in got["notes"])
    assert any(n.startswith("app.consumers=2 runs the eos model twice") for n in got["notes"])
    assert [(g["name"], g["verdict"], g["trace"], g["fixes"]) for g in got["guarantees"]] == [
        (g, "holds", None, []) for g in ("no-loss", "no-duplicate-processing", "no-aborted-read", "atomic-offsets")]
    assert got["complete"] is True


def test_the_eos_runs_follow_the_settings():
    setup = read([("c", "group.id=g\nenable.auto.commit=false\n"), ("p", "transactional.id=t\n")],
                 [("app.kafka.version", "3.9")], None)
    assert [(r.model, r.params["instances"], r.params["messages"]) for r in setup.runs] == [("eos", 1, 2),
                                                                                          ("eos", 2, 1)]
    assert setup.runs[0].params["commit"] == "txn" and setup.runs[0].params["isolation"] == "read_uncommitted"
    assert setup.runs[1].params["fencing"] == "group-metadata" and setup.runs[1].params["kafka_version"] == "3.9"
    assert setup.settings["acks"] == ("all", "default") and setup.settings["enable.idempotence"] == ("true", "default")
    one = read([("c", "group.id=g\napp.commit=after-batch\nenable.auto.commit=false\napp.consumers=1\n"
                      "app.messages=3\n"), ("p", "transactional.id=t\n")], [], ["crash"])
    assert [(r.params["instances"], r.params["messages"], r.params["commit"], r.failures) for r in one.runs] == [
        (1, 3, "sync", ("crash",))]
    assert "app.txn.fencing" not in one.settings  # nobody to fence: the default is not something the answer rests on
    assert read([("p", "transactional.id=t\n")], [], None).runs[0].params["commit"] == "auto"  # the Java default
    assert read([("p", "transactional.id=t\n")], [], None).requirements["exactly-once"] == (
        "no-loss", "no-duplicate-processing", "no-aborted-read", "atomic-offsets")


@pytest.mark.parametrize("change, guarantee, expected", [
    # T1: offsets sent with the group id only; the evicted instance commits the record's output a second time
    ({"app.txn.fencing": "none"}, "no-duplicate-processing",
     ("violated", ["T1"], ["Poll(0)", "AddPartition(0)", "Produce(0)", "Evict(0)", "FetchOffset(1)", "Poll(1)",
                           "AddPartition(1)", "Produce(1)", "SendOffsets(0)", "SendOffsets(1)", "Commit(0)",
                           "Commit(1)"],
      [{"app.txn.fencing": "group-metadata"}, {"app.txn.fencing": "static-id"}])),
    # T7 with commitSync(): the offset is committed before the transaction is
    ({"app.commit": "after-batch"}, "atomic-offsets",
     ("violated", ["T7"], ["Poll(0)", "AddPartition(0)", "Produce(0)", "SendOffsets(0)", "CommitSync(0)"],
      [{"app.commit": "none"}])),
    # C14: a read_uncommitted reader of the output delivers the record of a transaction that then aborts (T5)
    ({"isolation.level": "read_uncommitted"}, "no-aborted-read",
     ("violated", ["T5", "C14"], ["Poll(0)", "AddPartition(0)", "Produce(0)", "Read", "TxnTimeout(0)"],
      [{"isolation.level": "read_committed"}])),
])
def test_eos_causes_and_fixes(capsys, change, guarantee, expected):
    args = [os.path.join(EOS, "consumer.properties"), os.path.join(EOS, "producer.properties")]
    for k, v in change.items():
        args += ["-s", f"{k}={v}"]
    got = json.loads(check(capsys, *args, "--json")[1])
    g = {g["name"]: g for g in got["guarantees"]}[guarantee]
    assert (g["verdict"], g["catalogue"], [s["action"] for s in g["trace"][1:]],
            [f["change"] for f in g["fixes"]]) == expected


def test_eos_commit_timeout_before_kip_890_is_t3(capsys):
    got, a = answers(capsys, os.path.join(EOS, "consumer.properties"), os.path.join(EOS, "producer.properties"),
                     "-s", "app.kafka.version=3.5", "-s", "app.client.version=3.5", "-s", "app.consumers=1",
                     "--faults", "commit-timeout")
    assert a["no-loss"] == ("violated", ["T3"], [{"app.kafka.version": "4.1"}])
    g = {g["name"]: g for g in got["guarantees"]}["no-loss"]
    assert [s["action"] for s in g["trace"][1:]] == [
        "Poll(0)", "AddPartition(0)", "Produce(0)", "SendOffsets(0)", "CommitTimesOut(0)", "Abort(0)",
        "FetchOffset(0)", "Poll(0)", "AddPartition(0)", "LateEndTxn(0)", "Produce(0)", "SendOffsets(0)", "Commit(0)"]


def test_require_exactly_once_includes_the_eos_guarantees(capsys):
    code, out, _ = check(capsys, *example("transactional-auto-commit"), "--require", "exactly-once")
    assert code == 1 and "no-loss" in out
    got = json.loads(check(capsys, *example("transactional-service"), "--require", "exactly-once", "--json")[1])
    assert got["require"]["met"] == "yes"
    assert got["require"]["guarantees"] == ["no-loss", "no-acked-loss", "no-duplicate-processing",
                                            "no-duplicate-in-log", "no-aborted-read", "atomic-offsets"]


@pytest.mark.parametrize("text, message", [
    ("enable.auto.comit=true\n", "'enable.auto.comit' is not a Kafka setting; did you mean 'enable.auto.commit'?"),
    ("app.comit=none\n", "did you mean 'app.commit'?"),
    ("acks=1\nenable.idempotence=true\n", "Must set acks to all in order to use the idempotent producer"),
    ("retries=0\nenable.idempotence=true\n", "Must set retries to non-zero when using the idempotent producer"),
    ("acks=2\n", "invalid value '2' for configuration acks: string must be one of: 0, 1, all"),
    ("max.poll.records=0\n", "value must be at least 1"),
    ("enable.auto.commit=yes\n", "expected value to be either true or false"),
    ("replication.factor=2\nmin.insync.replicas=3\n", "NotEnoughReplicasException"),
    ("enable.auto.commit=false\n", "say how the application commits with app.commit"),
    ("bootstrap.servers=b:9092\n", "nothing to check"),
    ("acks=all\napp.kafka.version=5.0\n", "app.kafka.version 5.0 is not supported: newer than 4.1"),
    ("acks=all\napp.client.version=1.1\n", "app.client.version 1.1 is not supported: older than 2.0"),
    ("acks=all\napp.kafka.version=four\n", "'four' is not a Kafka version"),
    ("acks=all\napp.client.version=2.0\n", "app.client.version=2.0 cannot talk to app.kafka.version=4.1"),
    ("group.id=g\ngroup.protocol=consumer\napp.kafka.version=3.9\n", "needs app.kafka.version 4.0 or later"),
    ("group.id=g\napp.client=librdkafka\napp.client.version=4.1\n", "librdkafka's versions are not mapped"),
    ("transactional.id=t\nenable.idempotence=false\n",
     'Kafka refuses transactional.id with enable.idempotence=false: "Cannot set a transactional.id without also '
     'enabling idempotence."'),
    ("transactional.id=t\nacks=1\n", "Cannot set a transactional.id without also enabling idempotence."),
    ("transactional.id=t\nacks=1\nenable.idempotence=true\n", "Must set acks to all in order to use the "
                                                                 "idempotent producer"),
    ("transactional.id=t\napp.consumers=3\n", "app.consumers=3: the eos model has at most 2 instances"),
    ("transactional.id=t\nenable.auto.commit=false\napp.commit=before-processing\n",
     "app.commit=before-processing with transactional.id is not modelled"),
    ("transactional.id=t\napp.commit=after-batch\n", "the model has one commit strategy"),
    ("transactional.id=t\napp.messages=4\n", "the eos model checks at most 3 input records"),
    ("transactional.id=t\napp.consumers=1\napp.txn.fencing=static-id\n", "has no effect with app.consumers=1"),
    ("transactional.id=t\napp.kafka.version=2.4\n", "app.txn.fencing=group-metadata (sendOffsetsToTransaction("
                                                      "offsets, consumer.groupMetadata()), KIP-447) needs"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, text, message):
    f = tmp_path / "c.properties"
    f.write_text(text)
    code, out, err = check(capsys, str(f))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and message in err, err


def test_options_bad_input(tmp_path, capsys):
    f = tmp_path / "c.properties"
    f.write_text("enable.auto.commit=true\n")
    assert check(capsys, str(tmp_path / "missing.properties"))[0] == 2
    code, _, err = check(capsys, str(f), "--faults", "crash,lightning")
    assert code == 2 and "unknown fault 'lightning'" in err
    code, _, err = check(capsys, str(f), "--faults", "broker-failure")
    assert code == 2 and "unknown fault 'broker-failure'" in err
    code, _, err = check(capsys, str(f), "-s", "novalue")
    assert code == 2 and "KEY=VALUE" in err
    f.write_text("transactional.id=t\napp.consumers=1\n")
    code, _, err = check(capsys, str(f), "--faults", "max-poll-exceeded")
    assert code == 2 and "max-poll-exceeded cannot happen with these settings" in err
    code, _, err = check(capsys, str(f), "--faults", "rebalance")
    assert code == 2 and "unknown fault 'rebalance'" in err


def test_faults_narrow_and_only_those_are_named(tmp_path, capsys):
    f = tmp_path / "c.properties"
    f.write_text("enable.auto.commit=true\n")
    got = json.loads(check(capsys, str(f), "--faults", "crash", "--json")[1])
    assert got["faults"] == [{"name": "crash", "budget": 1}]
    verdicts = {g["name"]: g["verdict"] for g in got["guarantees"]}
    assert verdicts == {"no-loss": "holds", "no-duplicate-processing": "violated", "in-order": "holds"}


def test_require_decides_the_exit_code(capsys):
    assert check(capsys, *example("producer-acks-1"), "--require", "at-least-once")[0] == 1
    code, out, _ = check(capsys, *example("producer-durable"), "--require", "exactly-once")
    assert code == 0 and "requirement exactly-once: met" in out


def test_overrides_win_over_files(capsys):
    got = json.loads(check(capsys, *example("producer-acks-1"), "-s", "acks=all", "-s", "replication.factor=3",
                           "-s", "min.insync.replicas=2", "--json")[1])
    assert got["settings"]["acks"] == {"value": "all", "source": "override"}
    assert {g["name"]: g["verdict"] for g in got["guarantees"]}["no-acked-loss"] == "holds"


def test_properties_syntax():
    text = ("# comment\n! comment\n  a = 1\nb:2\nc 3\nd=multi \\\n    line\ne\\=x=y\nf=\\u0041\\t\ng\n"
            "h=ends with backslash \\\\\n")
    assert parse(text, "t") == [("a", "1", 3), ("b", "2", 4), ("c", "3", 5), ("d", "multi line", 6),
                                ("e=x", "y", 8), ("f", "A\t", 9), ("g", "", 10),
                                ("h", "ends with backslash \\", 11)]


def answers(capsys, *args):
    code, out, err = check(capsys, *args, "--json")
    assert code == 0, err
    got = json.loads(out)
    return got, {g["name"]: (g["verdict"], g["catalogue"], [f["change"] for f in g["fixes"]])
                 for g in got["guarantees"]}


def test_group_protocol_consumer_is_the_async_consumer_before_kafka_18641(tmp_path, capsys):
    f = tmp_path / "c.properties"
    f.write_text("group.id=g\ngroup.protocol=consumer\napp.client.version=3.9\n")
    got, a = answers(capsys, str(f), "--faults", "crash")
    assert got["settings"]["app.client"] == {"value": "java-consumer", "source": "default"}
    assert a["no-loss"] == ("violated", ["C6"], [{"app.client.version": "4.1"},
                                                 {"app.client": "java-classic", "group.protocol": "classic"},
                                                 {"enable.auto.commit": "false", "app.commit": "after-each-record"}])
    # The 4.1 client (the default) has the fix: its auto-commit is the classic consumer's.
    f.write_text("group.id=g\ngroup.protocol=consumer\n")
    got, a = answers(capsys, str(f), "--faults", "crash")
    assert a["no-loss"] == ("holds", [], []) and any("has the KAFKA-18641 fix" in n for n in got["notes"])


def test_the_versions_assumed_are_said(tmp_path, capsys):
    f = tmp_path / "p.properties"
    f.write_text("acks=all\n")
    got = json.loads(check(capsys, str(f), "--json", "--faults", "request-timeout")[1])
    assert got["notes"][0] == ("versions assumed: Kafka 4.1 (app.kafka.version, the default), Java clients 4.1 "
                               "(app.client.version, the default)")
    assert got["settings"]["app.kafka.version"] == {"value": "4.1", "source": "default"}
    code, out, _ = check(capsys, str(f), "-s", "app.kafka.version=3.9", "-s", "app.client.version=2.8.2",
                         "--faults", "request-timeout")
    assert "versions assumed: Kafka 3.9 (app.kafka.version), Java clients 2.8.2 (app.client.version)" in out


def test_retries_default_to_zero_before_kip_91(tmp_path, capsys):
    f = tmp_path / "p.properties"
    f.write_text("acks=all\napp.kafka.version=3.9\napp.client.version=2.0\n")
    s = json.loads(check(capsys, str(f), "--json", "--faults", "request-timeout")[1])["settings"]
    assert s["retries"] == {"value": "0", "source": "default"}


@pytest.mark.parametrize("version, acks, idempotence", [
    ("2.8", "1", "false"), ("3.0.0", "all", "false"), ("3.0.1", "all", "true"), ("3.1.0", "all", "false"),
    ("3.1.1", "all", "true"), ("3.2", "all", "true"), ("4.1", "all", "true")])
def test_producer_defaults_follow_the_client_version(tmp_path, capsys, version, acks, idempotence):
    # KIP-679 (3.0): acks=all and enable.idempotence=true; KAFKA-13598: idempotence applied from 3.0.1, 3.1.1, 3.2.0
    f = tmp_path / "p.properties"
    f.write_text(f"retries=3\napp.client.version={version}\n")
    s = json.loads(check(capsys, str(f), "--json", "--faults", "request-timeout")[1])["settings"]
    assert (s["acks"]["value"], s["enable.idempotence"]["value"]) == (acks, idempotence)


def test_offset_reuse_depends_on_the_versions(tmp_path, capsys):
    # B1 with min.insync.replicas=2: the consumer skips a reused offset only before KIP-320 and KIP-966.
    f = tmp_path / "t.properties"
    f.write_text("acks=all\nreplication.factor=2\nmin.insync.replicas=2\nunclean.leader.election.enable=true\n"
                 "enable.idempotence=false\n")
    base = (str(f), "--faults", "broker-failure,isr-shrink")
    _, a = answers(capsys, *base, "-s", "app.kafka.version=3.9", "-s", "app.client.version=2.2")
    assert a["no-acked-loss"][0] == "holds"
    assert a["no-loss"] == ("violated", ["B1"], [{"app.client.version": "4.1"}, {"app.kafka.version": "4.1"},
                                                 {"unclean.leader.election.enable": "false"}])
    for versions in (("3.9", "4.1"), ("4.1", "2.2")):
        _, a = answers(capsys, *base, "-s", f"app.kafka.version={versions[0]}", "-s",
                       f"app.client.version={versions[1]}")
        assert a["no-loss"][0] == "holds", versions


def test_librdkafka_store_after_processing_is_r3(capsys):
    got, a = answers(capsys, *example("librdkafka-defaults"), "-s", "enable.auto.offset.store=false",
                     "--faults", "crash")
    assert a["no-loss"] == ("holds", [], []) and a["no-duplicate-processing"][0] == "violated"
    assert any("store_offsets()" in n for n in got["notes"])


def test_consumer_and_producer_files_together_use_both_models(capsys):
    got, a = answers(capsys, *example("java-auto-commit"), *example("producer-acks-1"))
    assert got["model"] == "group and pipeline"
    assert [f["name"] for f in got["faults"]] == ["crash", "shutdown", "rebalance", "max-poll-exceeded",
                                                  "offset-expiry", "retention", "request-timeout",
                                                  "broker-failure", "isr-shrink"]
    assert a["no-loss"] == ("violated", ["B9"], [{"retention.ms": "-1", "acks": "all"}])
    assert a["no-acked-loss"] == ("violated", ["P2"], [{"acks": "all"}])


def test_output_is_deterministic(capsys):
    first = check(capsys, *example("java-auto-commit-worker"), "--faults", "crash,shutdown")
    assert check(capsys, *example("java-auto-commit-worker"), "--faults", "crash,shutdown") == first


def test_the_docs_page_shows_what_check_prints(capsys):
    page = open(os.path.join(ROOT, "docs", "check.md"), encoding="utf-8").read()
    shown = page[page.index("```text\n") + len("```text\n"):]
    shown = shown[:shown.index("```\n")]
    code, out, _ = check(capsys, os.path.join(ROOT, "examples", "java-auto-commit-worker", "consumer.properties"),
                         "--faults", "crash,shutdown")
    assert code == 0 and out.startswith(shown.replace("examples/", os.path.join(ROOT, "examples") + "/")), \
        "docs/check.md is out of date: paste what the command prints"
    listed = open(os.path.join(ROOT, "examples", "java-auto-commit-worker", "consumer.properties")).read()
    assert listed in page  # the page starts from the real file


def test_report_and_diagrams_take_the_same_files(tmp_path, capsys):
    out = tmp_path / "report.html"
    code = main(["report", "--setup", *example("java-auto-commit-worker"), "-o", str(out)])
    assert code == 0 and "(1 instance," in capsys.readouterr().out
    page = out.read_text()
    assert "checker report --setup" in page and "no-duplicate-processing" in page
    code = main(["diagrams", "--setup", *example("java-auto-commit"), "-o", str(tmp_path / "d")])
    assert code == 0 and "setup-group: group" in capsys.readouterr().out
    code = main(["report", "group", "--setup", *example("java-auto-commit"), "-o", str(out)])
    assert code == 2 and "--setup chooses the instances from the settings files" in capsys.readouterr().err


def test_offsets_in_the_sink_are_r2(capsys):
    # R2: the restart seeks to the sink's offset, so a crash neither loses nor repeats an output.
    got, a = answers(capsys, *example("manual-batch-commit"), "-s", "app.sink=offsets-in-sink", "--faults", "crash")
    assert a["no-loss"][0] == "holds" and a["no-duplicate-processing"][0] == "holds"
    # the pipeline's consumer does not crash: the sink runs as plain there, and the note says so
    got, a = answers(capsys, *example("manual-batch-commit"), *example("producer-acks-1"),
                     "-s", "app.sink=offsets-in-sink")
    assert any("app.sink=offsets-in-sink runs as a plain sink" in n for n in got["notes"])


def test_librdkafka_store_after_processing_with_a_worker_is_modelled(capsys):
    got, a = answers(capsys, *example("librdkafka-defaults"), "-s", "enable.auto.offset.store=false",
                     "-s", "app.processing=worker", "-s", "retention.ms=-1", "--faults", "crash,shutdown")
    assert a["no-loss"][0] == "holds"  # close() and the timer commit only what store_offsets() stored
