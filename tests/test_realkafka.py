"""Conformance on a real Apache Kafka broker: librdkafka and the Java consumer, classic and KIP-848.

One single-broker KRaft cluster (conform/realcluster.py) serves the module; each trace
gets its own topic and group. Marked `kafka` (and `slow`); skipped with the reason when
Java or Maven is missing. Every JVM is gone when a test ends, also after Ctrl-C on the
command and after the harness itself is killed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from checker import replay
from checker.cli.main import main
from checker.registry import get_config
from conform import backends, pipeline, traces
from conform.backends import JAVA_CLASSIC, JAVA_CONSUMER, LIBRDKAFKA
from conform.harness import replay_on_client
from conform.realcluster import have_tools

pytestmark = [pytest.mark.kafka, pytest.mark.slow,
              pytest.mark.skipif(have_tools() is not None, reason=f"real Kafka: {have_tools()}")]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUDGET = 120.0  # seconds any one test here may take


def _jvms() -> list[int]:
    """Descendant processes of this test process that run a JVM (Linux /proc)."""
    me, parent, cmd = os.getpid(), {}, {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                parent[int(pid)] = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd[int(pid)] = f.read()
        except OSError:
            continue
    out, todo = [], [me]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += [k for k in kids if b"java" in cmd.get(k, b"")]
        todo += kids
    return out


@pytest.fixture(scope="module")
def kafka(request):
    failed = request.session.testsfailed
    k = backends.RealKafka().start()
    yield k
    k.failed = request.session.testsfailed > failed  # a failed test keeps the cluster's logs
    kept = k.stop()
    if kept:
        print(f"\nthe Kafka cluster's logs are kept in {kept}")
    assert _jvms() == [], "a Kafka JVM outlived the module"


@pytest.fixture(autouse=True)
def bounded(request):
    start = time.monotonic()
    before = set(_jvms())
    yield
    took = time.monotonic() - start
    assert took < BUDGET, f"took {took:.1f} s, more than the {BUDGET:.0f} s budget"
    left = set(_jvms()) - before
    cluster = request.node.funcargs.get("kafka")
    if cluster is not None:
        left -= {n.proc.pid for n in cluster.cluster.nodes if n.proc is not None}
    assert not left, "a consumer JVM outlived its test"


def _replay_row(row: str, backend, kafka) -> list[tuple[str, list[str]]]:
    jobs, skipped = traces.plan([row], walks=1, length=8, seed=1, backend=backend)
    assert not skipped, skipped
    seen = []
    for j in jobs:
        out = replay_on_client(j.trace, backend=backend, kafka=kafka)
        assert out.matched, (backend.name, row, j.title, out.mismatch and out.mismatch.line(), out.error)
        assert out.steps == len(j.trace.actions) and out.compared > out.steps
        seen.append((j.title, j.trace.actions))
    return seen


# Every group row the Java consumer defines that the harness drives; each row's shortest
# traces and one random walk must match the Java classic consumer at every step.
JAVA_ROWS = ["at-least-once", "at-most-once", "batch-commit", "auto-commit-sync", "auto-commit-async",
             "auto-commit-background", "auto-commit-close", "commit-sync-mid-batch", "commit-off-by-one",
             "rebalance-uncommitted", "rebalance-revoke-commits", "offset-expiry-latest", "offset-expiry-earliest",
             "new-group-latest", "new-group-earliest", "retention-lag", "shared-group-assign", "idempotent-sink",
             "idempotent-sink-auto-commit", "idempotent-sink-off-by-one", "idempotent-sink-offset-expiry",
             "offsets-in-sink", "offsets-in-sink-commit-before", "offsets-in-sink-mid-batch"]


@pytest.mark.parametrize("row", JAVA_ROWS)
def test_java_classic_consumer_matches_every_row_it_defines(row, kafka):
    _replay_row(row, JAVA_CLASSIC, kafka)


@pytest.mark.parametrize("row", ["at-least-once", "auto-commit-async", "commit-sync-mid-batch",
                                 "rebalance-uncommitted", "offset-expiry-latest", "retention-lag",
                                 "shared-group-assign"])
def test_java_consumer_protocol_matches(row, kafka):
    _replay_row(row, JAVA_CONSUMER, kafka)


@pytest.mark.parametrize("row", ["at-most-once", "librdkafka-auto-commit", "offset-expiry-earliest",
                                 "retention-lag", "new-group-latest"])
def test_librdkafka_on_the_real_broker_matches(row, kafka):
    _replay_row(row, LIBRDKAFKA, kafka)


def test_the_rows_the_mock_could_not_drive_have_their_real_traces(kafka):
    assert _replay_row("retention-lag", JAVA_CLASSIC, kafka)[0] == (
        "no-loss counterexample, 2 steps", ["Produce", "DeleteRecords"])
    assert _replay_row("offset-expiry-latest", JAVA_CLASSIC, kafka)[0] == (
        "no-loss counterexample, 6 steps", ["Produce", "Produce", "Produce", "Close(0)", "ExpireOffsets", "Restart(0)"])
    assert _replay_row("auto-commit-async", JAVA_CLASSIC, kafka)[0] == (
        "no-loss counterexample, 4 steps", ["Produce", "Poll(0)", "PollAutoCommit(0)", "Crash(0)"])


@pytest.mark.parametrize("backend", [JAVA_CLASSIC, JAVA_CONSUMER], ids=lambda b: b.name)
def test_java_auto_commit_runs_inside_poll_and_close_commits(backend, kafka):
    """The Java consumer's auto-commit (classic, and the AsyncKafkaConsumer after KAFKA-18641):
    nothing at a poll before the timer expires; at the poll after, the positions of earlier
    polls; close() commits synchronously."""
    system, note = traces.row_system(get_config("auto-commit-sync"), backend)
    assert system.params["auto_commit_on"] == "poll" and note == ""
    trace = replay(system, ["Produce", "Produce", "Poll(0)", "Process(0)", "PollAutoCommit(0)", "Process(0)"])
    out = replay_on_client(trace, record=True, backend=backend, kafka=kafka)
    assert out.matched, (out.mismatch and out.mismatch.line(), out.error)
    committed = [observed["committed"] for _, _, _, observed in out.rows if "committed" in observed]
    assert committed == [0, 0, 0, 0, 0, 1, 1]
    close = traces.row_system(get_config("auto-commit-close"), backend)[0]
    out = replay_on_client(replay(close, ["Produce", "Poll(0)", "Close(0)"]), record=True, backend=backend,
                           kafka=kafka)
    assert out.matched and out.rows[-1][3]["committed"] == 1  # close() committed the record never processed


def test_librdkafka_prefetch_is_dropped_at_a_deletion(kafka):
    """librdkafka fetches a record as soon as it is produced; after DeleteRecords the harness
    makes it fetch again, so the next poll follows auto.offset.reset as the model's does."""
    jobs, _ = traces.plan(["retention-lag"], 0, 1, 1, LIBRDKAFKA)
    out = replay_on_client(jobs[0].trace, record=True, backend=LIBRDKAFKA, kafka=kafka)
    assert out.matched, (out.mismatch and out.mismatch.line(), out.error)
    assert out.rows[-1][1:] == ("(next poll)", {"next poll c0": []}, {"next poll c0": []})


def test_a_wrong_model_value_is_a_mismatch_on_the_real_broker(kafka):
    from checker import Step, Trace

    trace = traces.plan(["at-most-once"], 0, 1, 1, JAVA_CLASSIC)[0][0].trace
    s = trace.system
    i = [v.name for v in s.variables].index("processed[0]")
    steps = list(trace.steps)
    state = list(steps[4].state)
    state[i] = 1
    steps[4] = Step(steps[4].action, tuple(state))
    out = replay_on_client(Trace(s, steps), backend=JAVA_CLASSIC, kafka=kafka)
    assert out.mismatch is not None and out.mismatch.line() == "step 4 (Crash(0)): processed[0]: model 1, observed 0"


def test_rows_not_driven_say_why_per_backend():
    rows = ["rebalance-zombie", "librdkafka-manual-store", "auto-commit-sync", "acks-1-failover"]
    _, skipped = traces.plan(rows, 0, 1, 1, JAVA_CONSUMER)
    assert [(s.row, s.reason.split(":")[0]) for s in skipped] == [
        ("librdkafka-manual-store", "a librdkafka row (auto_commit_on=librdkafka)"),
        ("acks-1-failover", pipeline.JAVA_REASON)]
    _, skipped = traces.plan(rows, 0, 1, 1, LIBRDKAFKA)
    assert [(s.row, s.reason.split(":")[0]) for s in skipped] == [
        ("rebalance-zombie", "Evict"), ("acks-1-failover", "replicas>1")]


def test_cli_backend_kafka_json_has_every_step_per_backend(capsys):
    code = main(["conform", "--backend", "kafka", "--config", "at-most-once", "--config", "rebalance-zombie",
                 "--walks", "0", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["verdict"] == "conforms"
    assert [b["name"] for b in doc["backends"]] == ["librdkafka", "java-classic", "java-consumer"]
    row = doc["rows"]["at-most-once"]
    for name in ("librdkafka", "java-classic", "java-consumer"):
        (t,) = row[name]["traces"]
        assert row[name]["status"] == t["status"] == "match"
        assert [s["action"] for s in t["steps"]] == ["(initial)", "Produce", "Poll(0)", "Commit(0)", "Crash(0)"]
        assert [s["observed"]["committed"] for s in t["steps"]] == [0, 0, 0, 1, 1]
        assert t["steps"][-1]["model"] == t["steps"][-1]["observed"]  # the loss: committed 1, processed 0
    zombie = doc["rows"]["rebalance-zombie"]
    assert [zombie[b]["status"] for b in ("librdkafka", "java-classic", "java-consumer")] == [
        "not driven", "match", "match"]
    assert zombie["librdkafka"]["reason"].startswith("Evict: a zombie needs the group protocol")


def test_cli_bad_input_is_one_line_exit_2(capsys):
    assert main(["conform", "--backend", "kafka", "--json", "-v"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--json" in err


def _spawned_jvms(tag: str) -> list[int]:
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if tag.encode() in f.read():
                    out.append(int(pid))
        except OSError:
            continue
    return out


@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_no_jvm_outlives_an_interrupted_or_killed_command(how):
    """Ctrl-C on `conform --backend kafka` kills every JVM it started; so does kill -9 of the
    command itself (each JVM dies with its parent, PR_SET_PDEATHSIG)."""
    with tempfile.TemporaryDirectory(prefix="conform-reap-") as tmp:
        env = dict(os.environ, TMPDIR=tmp, PYTHONPATH=ROOT)
        proc = subprocess.Popen([sys.executable, "-m", "checker", "conform", "--backend", "kafka", "--walks", "0",
                                 "--config", "at-least-once"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        end = time.monotonic() + 60
        while time.monotonic() < end and len(_spawned_jvms(tmp)) < 2:  # the broker and a consumer
            time.sleep(0.1)
        assert _spawned_jvms(tmp), "no JVM started"
        proc.send_signal(getattr(signal, how))
        proc.communicate(timeout=30)
        end = time.monotonic() + 15
        while time.monotonic() < end and _spawned_jvms(tmp):
            time.sleep(0.1)
        assert _spawned_jvms(tmp) == []


@pytest.mark.parametrize("backend", [JAVA_CLASSIC, JAVA_CONSUMER], ids=lambda b: b.name)
@pytest.mark.parametrize("row", ["rebalance-zombie", "rebalance-commit-on-revoke", "idempotent-sink-zombie"])
def test_a_zombie_is_a_real_eviction_with_a_new_generation(row, backend, kafka):
    """Evict: the owner's poll timer expired (forced), it leaves the group, the other member
    takes the partition in a rebalance; the zombie's commit is rejected."""
    _replay_row(row, backend, kafka)


@pytest.mark.parametrize("backend", [JAVA_CLASSIC, JAVA_CONSUMER], ids=lambda b: b.name)
def test_the_zombies_commit_is_rejected_and_its_batch_abandoned(backend, kafka):
    system = traces.row_system(get_config("rebalance-zombie"), backend)[0]
    trace = replay(system, ["Produce", "Poll(0)", "Process(0)", "Evict(0)", "Commit(0)", "Poll(1)", "Process(1)"])
    out = replay_on_client(trace, record=True, backend=backend, kafka=kafka)
    assert out.matched, (out.mismatch and out.mismatch.line(), out.error)
    after_commit = out.rows[5][3]
    assert after_commit["committed"] == 0 and after_commit["in hand c1"] == []
    assert out.rows[7][3]["processed[0]"] == 2  # processed by the zombie and again by the new owner


def test_three_brokers_start_and_take_the_faults_the_replication_rows_need():
    """The replication cluster: a controller and three brokers; a broker paused (SIGSTOP)
    and resumed, one killed (kill -9) and restarted, each back in the cluster's metadata."""
    from conform.realcluster import KafkaCluster

    c = KafkaCluster(3)
    try:
        c.start()
        assert len(c.broker_nodes) == 3 and len(c.bootstrap.split(",")) == 3
        b = c.broker_nodes[1]
        c.pause(b.node_id)
        assert open(f"/proc/{b.proc.pid}/stat").read().rsplit(")", 1)[1].split()[0] == "T"  # stopped
        c.resume(b.node_id)
        c.kill(b.node_id)
        assert b.proc is None
        c.restart(b.node_id)
        c.wait_ready()
    finally:
        c.stop()
    assert not os.path.exists(c.dir)


@pytest.mark.parametrize("backend", [JAVA_CLASSIC, JAVA_CONSUMER], ids=lambda b: b.name)
def test_a_lost_commit_response_is_forced_by_the_proxy_and_the_retry_goes_back(backend, kafka):
    """async-commit-retry (C15): the proxy drops the OffsetCommit response after the broker
    stored it; the callback fails; a later commit goes through; the retry from the callback
    moves the committed offset back, and the restarted consumer processes record 1 again."""
    seen = _replay_row("async-commit-retry", backend, kafka)
    assert seen[0] == ("no-duplicate-processing counterexample, 13 steps", [
        "Produce", "Produce", "Poll(0)", "Process(0)", "CommitFails(0)", "Poll(0)", "Process(0)", "Commit(0)",
        "RetryCommit(0)", "Close(0)", "Restart(0)", "Poll(0)", "Process(0)"])
    trace = traces.plan(["async-commit-retry"], 0, 1, 1, backend)[0][0].trace
    out = replay_on_client(trace, record=True, backend=backend, kafka=kafka)
    assert out.matched and [o["committed"] for _, _, _, o in out.rows if "committed" in o][5:11] == [1, 1, 1, 2, 1, 1]


# --------------------------------------------------------------------------- the pipeline rows

PIPELINE_ROWS = ["producer-retry", "idempotent-producer", "acks-0", "idempotent-sink-producer-id",
                 "idempotent-sink-by-offset"]


@pytest.mark.parametrize("row", PIPELINE_ROWS)
def test_pipeline_rows_match_librdkafkas_producer_behind_the_proxy(row, kafka):
    """Each pipeline row with one replica: its shortest traces and a walk, every step matched
    (the producer's status per message, the replica's log on disk, the high watermark, the
    consumer's committed offset, position, record in hand and processing counts)."""
    seen = _replay_row(row, LIBRDKAFKA, kafka)
    if row == "producer-retry":
        assert seen[0] == ("no-duplicate-in-log counterexample, 5 steps",
                           ["Send(0)", "Append(0)", "LoseResponse(0)", "Retry(0)", "Append(0)"])
    if row == "acks-0":
        assert seen[0] == ("no-acked-loss counterexample, 2 steps", ["Send(0)", "LoseRequest(0)"])


@pytest.mark.parametrize("row, log", [("producer-retry", ["m0", "m0"]), ("idempotent-producer", ["m0"])])
def test_a_lost_produce_response_is_written_twice_unless_the_producer_is_idempotent(row, log, kafka):
    """P3, forced: the proxy drops the broker's response after the write; librdkafka resends
    the record; the broker writes it again, or (enable.idempotence) knows its sequence and
    does not. The model says the same, and the broker's log on disk shows it."""
    from checker import build_config
    from checker.registry import get_model

    system = build_config(get_config(row), get_model("pipeline"))
    trace = replay(system, ["Send(0)", "Append(0)", "LoseResponse(0)", "Retry(0)", "Append(0)", "Ack(0)",
                            "Poll", "Process", "Commit"])
    out = replay_on_client(trace, record=True, backend=LIBRDKAFKA, kafka=kafka)
    assert out.matched, (out.mismatch and out.mismatch.line(), out.error)
    observed = {action: o for _, action, _, o in out.rows}
    assert observed["LoseResponse(0)"]["producer m0"] == "failed" and observed["LoseResponse(0)"]["log r0"] == ["m0"]
    assert observed["Retry(0)"]["producer m0"] == "wire"
    assert observed["Ack(0)"]["producer m0"] == "acked" and observed["Ack(0)"]["log r0"] == log
    assert observed["Commit"]["committed"] == 1 and observed["Commit"]["processed[0]"] == 1


def test_a_wrong_pipeline_model_value_is_a_mismatch(kafka):
    """The observed values come from the broker: a model state claiming one copy where the
    broker wrote two is caught at that step."""
    from checker import Step, Trace

    trace = traces.plan(["producer-retry"], 0, 1, 1, LIBRDKAFKA)[0][0].trace
    s = trace.system
    names = [v.name for v in s.variables]
    steps = list(trace.steps)
    state = list(steps[5].state)
    state[names.index("hw")] = 1
    steps[5] = Step(steps[5].action, tuple(state))
    out = replay_on_client(Trace(s, steps), backend=LIBRDKAFKA, kafka=kafka)
    assert out.mismatch is not None and out.mismatch.line() == "step 5 (Append(0)): hw: model 1, observed 2"


def test_an_idempotent_producers_second_request_is_written_when_the_first_never_arrived(kafka):
    """in-flight-idempotent's mismatch (conform/pipeline.py row_not_driven): two requests in
    flight, the proxy swallows the first and keeps the connection; the broker, with no state
    for the producer on the partition yet, writes the second (sequence 1), where the
    model's Append refuses it (OUT_OF_ORDER_SEQUENCE_NUMBER)."""
    from checker import build_config
    from checker.registry import get_model

    system = build_config(get_config("in-flight-idempotent"), get_model("pipeline"))
    trace = replay(system, ["Send(0)", "Send(1)", "LoseRequest(0)", "Append(1)"])
    d = pipeline.PipelineDriver(trace, kafka)
    try:
        for step in trace.steps[1:]:
            d.do(step.action)
        model = d.model_view(trace.steps[-1].state)
        seen = d.observed_view(list(model))
    finally:
        d.close()
    assert model["producer m1"] == "failed" and model["log r0"] == [] and model["hw"] == 0
    assert seen["producer m0"] == "failed" and seen["producer m1"] == "waiting"
    assert seen["log r0"] == ["m1"] and seen["hw"] == 1


def test_a_follower_held_back_by_sigstop_is_fenced_before_the_leaders_shutdown_completes():
    """Why the replicated pipeline rows are not driven (conform/pipeline.py row_not_driven):
    with the follower paused, the leader acknowledges an acks=1 record; its controlled
    shutdown completes only once the controller has fenced the paused follower too, the
    partition is then offline with an empty ISR (KIP-966), and the resumed follower is
    elected, with or without the record. The model's BrokerFails keeps the follower alive
    in the ISR until its Elect, and a follower that has not fetched has not the record."""
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    from conform.realcluster import KafkaCluster

    session = 10.0
    c = KafkaCluster(3, config={"replica.lag.time.max.ms": "5000"},
                     controller_config={"broker.session.timeout.ms": str(int(session * 1000))})
    try:
        c.start()
        leader, follower, bystander = c.broker_nodes
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        admin.create_topics([NewTopic("held", num_partitions=1,
                                      replica_assignment=[[leader.node_id, follower.node_id]])])["held"].result(30)
        assert _until(lambda: pipeline.partition_state(bystander.port, "held") ==
                      (leader.node_id, [leader.node_id, follower.node_id]))
        c.pause(follower.node_id)
        paused = time.monotonic()
        p = Producer({"bootstrap.servers": f"127.0.0.1:{leader.port}", "acks": "1", "linger.ms": 0})
        p.produce("held", b"pipeline-message-0", partition=0)
        assert p.flush(20) == 0  # acknowledged by the leader alone
        c.shutdown(leader.node_id)
        assert time.monotonic() - paused > session * 0.8  # it waited for the follower's fence
        assert pipeline.partition_state(bystander.port, "held") == (-1, [])  # offline, no ISR member
        c.resume(follower.node_id)
        assert _until(lambda: pipeline.partition_state(bystander.port, "held") == (follower.node_id,
                                                                                   [follower.node_id]))
        watch = Consumer({"bootstrap.servers": f"127.0.0.1:{bystander.port}", "group.id": "held"})
        hw = watch.get_watermark_offsets(TopicPartition("held", 0), timeout=20, cached=False)[1]
        watch.close()
        assert [v for _, v in pipeline.read_log(os.path.join(leader.dir, "data", "held-0"))] == [
            b"pipeline-message-0"]
        # The follower's fetch request, sent before the pause, may be answered with the record into
        # its socket; on resume it appends it, or learns first that it leads: the record is kept or
        # lost (P2) from run to run, where the model's follower that has not fetched always loses it.
        kept = [v for _, v in pipeline.read_log(os.path.join(follower.dir, "data", "held-0"))]
        assert kept in ([], [b"pipeline-message-0"]) and hw == len(kept)
    finally:
        for n in c.nodes:
            if n.paused and n.proc is not None:
                c.resume(n.node_id)
        c.stop()


def _until(predicate, seconds: float = 30.0) -> bool:
    """Whether `predicate` holds within `seconds` (a broker that does not know the topic yet: not yet)."""
    from conform.cluster import ClientFailure

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if predicate():
                return True
        except (ClientFailure, OSError):
            pass
        time.sleep(0.2)
    return False


# --------------------------------------------------------------------------- the eos rows

EOS_ROWS = ["eos-transactional", "read-committed", "read-uncommitted", "eos-txn-timeout"]


@pytest.mark.parametrize("row", EOS_ROWS)
def test_eos_rows_match_librdkafkas_transactional_loop(row, kafka):
    """Each driven eos row (crash; txn-timeout): its shortest traces and a walk, every step matched
    (the transaction coordinator's state, the pending offset in __consumer_offsets, the output
    partition's records and markers on disk, the committed offset, the reader's position, the
    instance's process, stage, position and fenced producer)."""
    seen = _replay_row(row, LIBRDKAFKA, kafka)
    if row == "read-uncommitted":
        assert seen[0] == ("no-aborted-read counterexample, 6 steps",
                           ["Poll(0)", "AddPartition(0)", "Produce(0)", "Read", "Crash(0)", "Restart(0)"])
    if row == "eos-txn-timeout":  # the row holds: its walk, which takes the timeout and the close
        assert seen == [("walk, seed 1", ["Poll(0)", "AddPartition(0)", "Produce(0)", "SendOffsets(0)",
                                          "TxnTimeout(0)", "Read", "Close(0)", "Restart(0)"])]


def _eos_steps(row: str, actions: list[str], kafka, each=None):
    """`actions` of eos row `row` on the real broker, every step compared; the observed values and the driver.
    each(d): called after every step's comparison, while the driver runs."""
    from checker import build_config
    from checker.registry import get_model
    from conform import eos
    from conform.harness import _compare

    trace = replay(build_config(get_config(row), get_model("eos")), actions)
    d = eos.EosDriver(trace, kafka)
    seen = []
    try:
        for n, step in enumerate(trace.steps):
            if step.action is not None:
                d.do(step.action)
            model = d.model_view(step.state)
            observed = d.observed_view(list(model))
            assert _compare(model, observed)[1] is None, (n, step.action, _compare(model, observed)[1])
            seen.append(observed)
            if each is not None:
                each(d)
    finally:
        d.close()
    return seen, d


def test_a_transaction_timeout_forced_short_aborts_and_fences_and_the_restart_processes_again(kafka):
    """T5, forced: with transaction.timeout.ms 6 s (and the coordinator's check every 100 ms) the
    coordinator aborts the ongoing transaction and bumps the epoch, which the TxnTimeout step waits
    for (DescribeTransactions); the read_committed reader passes the aborted record; the fenced
    producer's EndTxn fails with librdkafka's fatal _FENCED and the instance closes; the restarted
    one processes the record again and commits it. Every step matched."""
    seen, d = _eos_steps("eos-txn-timeout", [
        "Poll(0)", "AddPartition(0)", "Produce(0)", "SendOffsets(0)", "TxnTimeout(0)", "Read", "Close(0)",
        "Restart(0)", "FetchOffset(0)", "Poll(0)", "AddPartition(0)", "Produce(0)", "SendOffsets(0)", "Commit(0)"],
        kafka)
    before, after = d.timed_out["before"], d.timed_out["after"]
    assert before["state"] == "Ongoing" and before["timeout_ms"] == 6000
    assert after["state"] == "CompleteAbort" and after["epoch"] == before["epoch"] + 1
    assert d.timed_out["at_ms"] - before["start_ms"] >= 6000  # the coordinator's timer, not earlier
    assert seen[4]["ongoing t0"] and seen[4]["pend t0"] == 1 and not seen[4]["i0 fenced"]
    assert seen[5]["output"] == ["out0/t0 aborted"] and seen[5]["pend t0"] == -1 and seen[5]["i0 fenced"]
    assert seen[5]["committed"] == 0 and seen[6]["reader at"] == 1 and seen[7]["i0"] == "down"
    assert [(c["stage"], c["code"], c["fatal"]) for c in d.closed_with] == [("offsets", "_FENCED", True)]
    assert seen[14]["output"] == ["out0/t0 aborted", "out0/t0 committed"] and seen[14]["committed"] == 1


def test_the_fenced_producers_next_request_fails_and_nothing_of_it_is_written(kafka):
    """After the coordinator's timeout abort: at stage sent the producer's AddOffsetsToTxn fails with
    the fatal _FENCED; at stage added its in-flight Produce request fails either by librdkafka's own
    message.timeout.ms (which librdkafka caps at transaction.timeout.ms and starts at produce(), before
    the transaction begins at the coordinator) or, when the coordinator aborted first, by the broker's
    refusal of the old epoch (fatal _FENCED); the record is never written. Every step matched."""
    seen, d = _eos_steps("eos-txn-timeout", ["Poll(0)", "AddPartition(0)", "Produce(0)", "TxnTimeout(0)", "Close(0)",
                                             "Restart(0)"], kafka)
    assert [(c["stage"], c["code"], c["fatal"]) for c in d.closed_with] == [("sent", "_FENCED", True)]
    assert seen[6]["output"] == ["out0/t0 aborted"] and not seen[6]["i0 fenced"]
    seen, d = _eos_steps("eos-txn-timeout", ["Poll(0)", "AddPartition(0)", "TxnTimeout(0)", "Close(0)", "Restart(0)",
                                             "FetchOffset(0)"], kafka)
    (c,) = d.closed_with
    assert c["stage"] == "added" and (c["code"], c["fatal"]) in (("_MSG_TIMED_OUT", False), ("_FENCED", True)), c
    assert all(o["output"] == [] for o in seen) and seen[6]["i0 position"] == 0


@pytest.mark.parametrize("early", ["_op_Produce", "_op_SendOffsets"])
def test_a_transaction_aborted_before_its_txntimeout_step_is_a_mismatch(early, kafka, monkeypatch):
    """A coordinator abort that no TxnTimeout step asked for is reported, never passed over: the
    harness is made to wait for the 6 s timer inside a step of a trace without TxnTimeout, after
    the step's request (the observation after Produce sees it) or before it (SendOffsets' request
    fails, and the comparison after the step reports the abort)."""
    from checker import build_config
    from checker.registry import get_model
    from conform import eos

    def abort_first(self, name, c, op=getattr(eos.EosDriver, early)):
        epoch = eos.describe_transaction(self.port, self.tid)["epoch"]
        if early == "_op_Produce":
            op(self, name, c)
        assert _until(lambda: eos.describe_transaction(self.port, self.tid)["epoch"] != epoch, 20)
        if early == "_op_SendOffsets":
            op(self, name, c)

    monkeypatch.setattr(eos.EosDriver, early, abort_first)
    system = build_config(get_config("eos-txn-timeout"), get_model("eos"))
    trace = replay(system, ["Poll(0)", "AddPartition(0)", "Produce(0)", "SendOffsets(0)", "Commit(0)"])
    out = replay_on_client(trace, backend=LIBRDKAFKA, kafka=kafka)
    n, action = (3, "Produce(0)") if early == "_op_Produce" else (4, "SendOffsets(0)")
    assert not out.error and out.mismatch is not None, (out.error, out.mismatch)
    assert out.mismatch.line() == f"step {n} ({action}): ongoing t0: model True, observed False"


def test_a_crashed_transaction_is_aborted_by_the_restart_and_its_record_processed_again(kafka):
    """C2 under R4, forced by kill -9: the crashed instance's transaction stays Ongoing with
    its offset pending; the restarted producer's init_transactions() aborts it (an abort
    marker after the output record on disk), the group's offset stays 0, the consumer starts
    there again, and a read_committed reader passes the aborted record without delivering it."""
    from checker import build_config
    from checker.registry import get_model

    system = build_config(get_config("read-committed"), get_model("eos"))
    trace = replay(system, ["Poll(0)", "AddPartition(0)", "Produce(0)", "SendOffsets(0)", "Crash(0)", "Restart(0)",
                            "Read", "FetchOffset(0)", "Poll(0)", "AddPartition(0)", "Produce(0)", "SendOffsets(0)",
                            "Commit(0)", "Read"])
    out = replay_on_client(trace, record=True, backend=LIBRDKAFKA, kafka=kafka)
    assert out.matched, (out.mismatch and out.mismatch.line(), out.error)
    seen = [o for _, _, _, o in out.rows]
    assert seen[5]["i0"] == "down" and seen[5]["ongoing t0"] and seen[5]["pend t0"] == 1
    assert seen[5]["output"] == ["out0/t0 open"] and seen[5]["committed"] == 0
    assert seen[6]["output"] == ["out0/t0 aborted"] and seen[6]["pend t0"] == -1 and not seen[6]["ongoing t0"]
    assert seen[7]["reader at"] == 1 and seen[8]["i0 position"] == 0
    assert seen[13]["output"] == ["out0/t0 aborted", "out0/t0 committed"] and seen[13]["committed"] == 1
    assert seen[14]["reader at"] == 2


def test_a_wrong_eos_model_value_is_a_mismatch(kafka):
    """The observed values come from the cluster: a model state whose commit marker did not
    make the offset committed is caught at that step."""
    from checker import Step, Trace

    jobs, _ = traces.plan(["eos-transactional"], 1, 12, 1, LIBRDKAFKA)
    trace = jobs[0].trace
    n = trace.actions.index("Commit(0)") + 1
    names = [v.name for v in trace.system.variables]
    steps = list(trace.steps)
    state = list(steps[n].state)
    state[names.index("committed")] = 0
    steps[n] = Step(steps[n].action, tuple(state))
    out = replay_on_client(Trace(trace.system, steps), backend=LIBRDKAFKA, kafka=kafka)
    assert out.mismatch is not None and out.mismatch.line() == f"step {n} (Commit(0)): committed: model 0, observed 1"


def test_a_send_failure_forced_by_the_proxy_is_aborted_and_its_record_skipped(kafka):
    """T2, forced: the proxy swallows the output record's Produce request on a live connection
    until librdkafka's message.timeout.ms expires (_MSG_TIMED_OUT, an abortable error);
    abort_transaction() without a rewind leaves the consumer past the record, which
    no transaction ever commits: eos-abort-no-rewind's no-loss counterexample, every step
    matched."""
    seen, _ = _eos_steps("eos-abort-no-rewind", ["Poll(0)", "AddPartition(0)", "Produce(0)", "SendOffsets(0)",
                                                 "Commit(0)", "Poll(0)", "AddPartition(0)", "SendFails(0)",
                                                 "Abort(0)"], kafka)
    assert seen[8]["i0 stage"] == "failed" and seen[8]["ongoing t0"] and seen[8]["output"] == ["out0/t0 committed"]
    assert not seen[9]["ongoing t0"] and seen[9]["i0 stage"] == "idle"
    assert seen[9]["committed"] == 1 and seen[9]["i0 position"] == 2  # input record 1: past it, never committed


@pytest.mark.parametrize("row, actions", [
    ("eos-abort-no-rewind", ["Poll(0)", "AddPartition(0)", "SendFails(0)", "Abort(0)", "Poll(0)", "AddPartition(0)",
                             "Produce(0)", "SendOffsets(0)", "Commit(0)", "Read"]),
    ("eos-abort-rewind", ["Poll(0)", "AddPartition(0)", "SendFails(0)", "Abort(0)", "FetchOffset(0)", "Poll(0)",
                          "AddPartition(0)", "Produce(0)", "SendOffsets(0)", "Commit(0)", "Read"])])
def test_the_send_after_an_aborted_send_failure_is_written_under_a_bumped_epoch(kafka, row, actions):
    """SendFails forced: the proxy swallows the Produce request on a live connection, so the record's
    message.timeout.ms expires on the leader's broker thread (_MSG_TIMED_OUT) and librdkafka's
    statistics show the transaction AbortableError; abort_transaction() then bumps the producer
    epoch, and the next send is written and committed under it. Every step matched, on both rows:
    without a rewind the committed record is input 1 (input 0 skipped, T2's loss), with it input 0."""
    from conform import eos

    epochs = []
    seen, d = _eos_steps(row, actions, kafka,
                         each=lambda d: epochs.append(eos.describe_transaction(d.port, d.tid)["epoch"]))
    assert [(f["report"].split(",")[0], f["txn_state"]) for f in d.failed_with] == [
        ("KafkaError{code=_MSG_TIMED_OUT", "AbortableError")]
    assert seen[3]["i0 stage"] == "failed" and seen[3]["output"] == []
    assert epochs[4] == epochs[3] + 1  # the abort's InitProducerId bumped the epoch
    first = "0" if row == "eos-abort-rewind" else "1"
    assert seen[-2]["output"] == [f"out{first}/t0 committed"] and seen[-1]["reader at"] == 1


def test_a_commit_timeout_forced_by_the_proxy_and_the_late_endtxn_match_but_abort_is_refused(kafka):
    """eos-commit-timeout-abort-kip890's commit timeout, forced: the proxy holds the EndTxn
    request, so commit_transaction() fails with _TIMED_OUT (retriable) while the transaction
    stays Ongoing with its offset pending; forwarded later, the EndTxn commits it (LateEndTxn).
    Every step matches. The model's Abort after the timeout is what librdkafka refuses:
    abort_transaction() fails with _CONFLICT while the EndTxn is held and after it was
    answered alike, and commit_transaction() again is what it accepts (the row is not driven,
    see conform/eos.py FAULT_REASONS). librdkafka sends EndTxn v1: no KIP-890 part 2, the
    producer epoch stays the same after the commit."""
    import struct

    from checker import build_config
    from checker.registry import get_model
    from conform import eos
    from conform.cluster import ClientFailure
    from conform.harness import _compare
    from conform.proxy import END_TXN

    system = build_config(get_config("eos-commit-timeout-abort-kip890"), get_model("eos"))
    trace = replay(system, ["Poll(0)", "AddPartition(0)", "Produce(0)", "SendOffsets(0)", "CommitTimesOut(0)",
                            "LateEndTxn(0)", "Read"])
    d = eos.EosDriver(trace, kafka)
    seen, refused = [], []

    def abort_refused() -> None:
        with pytest.raises(ClientFailure) as e:
            d.instances[0].call("txn_abort", timeout=eos.CLIENT_TIMEOUT, rewind=True)
        refused.append(str(e.value))

    try:
        for n, step in enumerate(trace.steps):
            if step.action is not None:
                d.do(step.action)
            if step.action == "CommitTimesOut(0)":
                held = kafka.proxy.wait_held("request", None, 0, key=END_TXN)
                assert held is not None and struct.unpack(">h", held.frame[6:8])[0] == 1  # EndTxn v1
                epoch = eos.describe_transaction(d.port, d.tid)["epoch"]
            model = d.model_view(step.state)
            observed = d.observed_view(list(model))
            assert _compare(model, observed)[1] is None, (n, step.action, _compare(model, observed)[1])
            seen.append(observed)
            if step.action in ("CommitTimesOut(0)", "LateEndTxn(0)"):
                abort_refused()
        d.instances[0].call("txn_commit", timeout=eos.CLIENT_TIMEOUT)  # librdkafka's way on: the commit resumed
        after = eos.describe_transaction(d.port, d.tid)
    finally:
        d.close()
    assert seen[5]["i0 stage"] == "timedout" and seen[5]["ongoing t0"] and seen[5]["pend t0"] == 1
    assert seen[5]["output"] == ["out0/t0 open"] and seen[5]["committed"] == 0
    assert seen[6]["output"] == ["out0/t0 committed"] and seen[6]["committed"] == 1 and not seen[6]["ongoing t0"]
    assert seen[6]["i0 stage"] == "timedout" and seen[7]["reader at"] == 1
    assert len(refused) == 2 and all("_CONFLICT" in r and "Conflicting commit_transaction API call is already in "
                                     "progress" in r for r in refused), refused
    assert after["state"] == "CompleteCommit" and after["epoch"] == epoch


def test_eos_auto_commits_close_commits_past_a_timed_out_transaction(kafka):
    """T7 on librdkafka: eos-auto-commit's no-loss and atomic-offsets counterexample (Poll,
    AddPartition, TxnTimeout, Close), which takes no PollAutoCommit, every step matched: with
    enable.auto.commit (its timer at a day, so it never fires in the run) the fenced instance's
    close() commits the position, offset 1, past the record whose transaction the coordinator
    aborted; nothing else writes it. (The row is not driven: its PollAutoCommit is the Java
    consumer's commit inside poll(), see conform/eos.py AUTO_COMMIT_REASON.)"""
    seen, d = _eos_steps("eos-auto-commit", ["Poll(0)", "AddPartition(0)", "TxnTimeout(0)", "Close(0)"], kafka)
    assert seen[3]["committed"] == 0 and seen[3]["i0 fenced"] and seen[3]["output"] == []
    assert seen[4]["committed"] == 1 and seen[4]["i0"] == "down" and seen[4]["output"] == []
    assert [c["stage"] for c in d.closed_with] == ["added"]


def test_paused_polling_keeps_librdkafkas_max_poll_timer_and_stopping_it_evicts(kafka):
    """The zombie rows' eviction mechanism (conform/eos.py FAULT_REASONS): a consumer that
    polls with its partitions paused resets librdkafka's max.poll.interval.ms timer and stays
    in the group past three intervals; once it stops polling, librdkafka's own timer leaves the
    group (LeaveGroup) and the other member gets the partitions in a new generation, within
    the interval plus a rebalance of the moment the harness chose."""
    from confluent_kafka import Consumer
    from confluent_kafka.admin import AdminClient, NewTopic

    interval = 6.0  # the broker's group.min.session.timeout.ms, and librdkafka needs max.poll >= session
    boot = kafka.cluster.bootstrap
    admin = AdminClient({"bootstrap.servers": boot})
    admin.create_topics([NewTopic("zombie-in", num_partitions=2, replication_factor=1)])["zombie-in"].result(30)
    conf = {"bootstrap.servers": boot, "group.id": "zombie", "enable.auto.commit": False,
            "session.timeout.ms": int(interval * 1000), "max.poll.interval.ms": int(interval * 1000),
            "heartbeat.interval.ms": 500, "partition.assignment.strategy": "range"}
    owned: dict[str, list[int]] = {"a": [], "b": []}

    def track(name):
        return lambda c, parts: owned.__setitem__(name, sorted(p.partition for p in parts))
    a, b = Consumer(conf), Consumer(conf)
    try:
        a.subscribe(["zombie-in"], on_assign=track("a"), on_revoke=lambda c, parts: owned.__setitem__("a", []))
        b.subscribe(["zombie-in"], on_assign=track("b"), on_revoke=lambda c, parts: owned.__setitem__("b", []))
        assert _until(lambda: [a.poll(0.1), b.poll(0.1)] and len(owned["a"]) == len(owned["b"]) == 1)
        a.pause(a.assignment())
        kept_until = time.monotonic() + 3 * interval
        while time.monotonic() < kept_until:
            assert a.poll(0.1) is None  # paused: no record handed out, the timer reset
            b.poll(0.1)
        assert len(owned["a"]) == 1 and len(owned["b"]) == 1  # no rebalance in three intervals
        stopped = time.monotonic()
        assert _until(lambda: b.poll(0.1) is None and owned["b"] == [0, 1], 3 * interval)
        took = time.monotonic() - stopped
        print(f"\nstop to the other member's new assignment: {took:.1f} s (max.poll.interval.ms {interval:.0f} s)")
        assert interval - 1 < took < 2 * interval
        msg = a.poll(1.0)
        assert msg is not None and msg.error() is not None and msg.error().name() == "_MAX_POLL_EXCEEDED"
    finally:
        a.close()
        b.close()
