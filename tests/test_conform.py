"""Conformance: the model's traces replayed on confluent-kafka against librdkafka's mock cluster.

The mock cluster runs inside the test process (no network, no broker to install). Every
client call has a timeout (conform/cluster.py CALL_TIMEOUT), every test a time budget,
and every consumer process is gone when a replay returns.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

# confluent-kafka comes with the `test` extra (pyproject.toml, ./setup.sh --test): no skip.
from checker import Options, Step, Trace, check
from checker.cli.main import main
from checker.registry import get_config, get_model
from conform import traces
from conform.cluster import MockCluster, wait_for
from conform.harness import replay_on_client

EXPLICIT = Options(engine="explicit")  # the reference engine

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUDGET = 60.0  # seconds any one test here may take


@pytest.fixture(autouse=True)
def bounded():
    start = time.monotonic()
    yield
    took = time.monotonic() - start
    assert took < BUDGET, f"took {took:.1f} s, more than the {BUDGET:.0f} s budget"
    assert _workers() == [], "a consumer process outlived its test"


def _workers() -> list[int]:
    """Child processes of this test process that run conform.worker (Linux /proc)."""
    me, out = os.getpid(), []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue  # gone meanwhile
        if ppid == me and b"conform.worker" in cmd:
            out.append(int(pid))
    return out


def _jobs(row: str):
    jobs, skipped = traces.plan([row], walks=0, length=1, seed=1)
    assert not skipped
    return jobs


# The rows whose shortest traces are replayed, with those traces: what the checker finds
# (pinned) must also be what the client does at every step.
ROWS = {
    "at-least-once": [["Produce", "Poll(0)", "Process(0)", "Crash(0)", "Restart(0)", "Poll(0)", "Process(0)"]],
    "at-most-once": [["Produce", "Poll(0)", "Commit(0)", "Crash(0)"]],
    "batch-commit": [["Produce", "Poll(0)", "Process(0)", "Crash(0)", "Restart(0)", "Poll(0)", "Process(0)"]],
    "auto-commit-sync": [["Produce", "Poll(0)", "BackgroundAutoCommit(0)", "Crash(0)"],
                         ["Produce", "Poll(0)", "Process(0)", "Crash(0)", "Restart(0)", "Poll(0)", "Process(0)"]],
    "auto-commit-close": [["Produce", "Poll(0)", "Close(0)"]],
    "commit-sync-mid-batch": [["Produce", "Produce", "Poll(0)", "Process(0)", "Commit(0)", "Crash(0)"],
                              ["Produce", "Poll(0)", "Process(0)", "Crash(0)", "Restart(0)", "Poll(0)", "Process(0)"]],
    "commit-off-by-one": [["Produce", "Poll(0)", "Process(0)", "Commit(0)", "Close(0)", "Restart(0)", "Poll(0)",
                           "Process(0)"]],
    "rebalance-uncommitted": [["Produce", "Poll(0)", "Process(0)", "SkipCommit(0)", "Rebalance(0)", "Poll(1)",
                               "Process(1)"]],
    "new-group-latest": [["Produce", "Produce", "Produce", "Restart(0)"]],
    "librdkafka-manual-store": [["Produce", "Poll(0)", "Process(0)", "Crash(0)", "Restart(0)", "Poll(0)",
                                 "Process(0)"]],
    "shared-group-assign": [["Produce", "ForeignCommit(1)"],
                            ["Produce", "Poll(0)", "Process(0)", "Commit(0)", "Close(0)", "ForeignCommit(0)",
                             "Restart(0)", "Poll(0)", "Process(0)"]],
}


def test_kafka_duplicate_delivery_and_commit_before_loss_match_the_client():
    jobs = _jobs("kafka")
    assert [(j.title, j.trace.actions) for j in jobs] == [
        ("commit=after: duplicate-delivery witness, 6 steps", ["Produce", "Poll", "Process", "Crash", "Poll", "Process"]),
        ("commit=before: no-loss counterexample, 4 steps", ["Produce", "Poll", "Commit", "Crash"]),
    ]
    for j in jobs:
        out = replay_on_client(j.trace, record=True)
        assert out.matched, (j.title, out.mismatch, out.error)
        assert out.steps == len(j.trace.actions)
    # The seed's duplicate, as the client showed it: record 0 processed twice, committed 0.
    dup = replay_on_client(jobs[0].trace, record=True)
    assert dup.matched
    n, action, model, observed = dup.rows[6]
    assert (n, action, observed["processed[0]"], observed["committed"]) == (6, "Process", 2, 0)


@pytest.mark.parametrize("row", sorted(ROWS))
def test_matrix_row_shortest_traces_match_the_client(row):
    jobs = _jobs(row)
    assert [j.trace.actions for j in jobs] == ROWS[row]
    for j in jobs:
        out = replay_on_client(j.trace)
        assert out.matched, (row, j.title, out.mismatch and out.mismatch.line(), out.error)
        assert out.steps == len(j.trace.actions) and out.compared > out.steps


def test_auto_commit_rows_run_as_the_librdkafka_variant():
    system, note = traces.row_system(get_config("auto-commit-sync"))
    assert system.params["auto_commit_on"] == "librdkafka" and note == "as auto_commit_on=librdkafka"
    system, note = traces.row_system(get_config("at-least-once"))
    assert system.params["auto_commit_on"] == "poll" and note == ""


def test_rows_the_mock_cluster_cannot_drive_are_named_with_the_reason():
    jobs, skipped = traces.plan(["rebalance-zombie", "offset-expiry-latest", "retention-lag"], 1, 5, 1)
    assert jobs == []
    assert [(s.row, s.reason.split(":")[0]) for s in skipped] == [
        ("rebalance-zombie", "Evict"), ("offset-expiry-latest", "ExpireOffsets"), ("retention-lag", "DeleteRecords")]


def test_rows_of_other_versions_are_not_driven_on_the_real_cluster():
    # planning needs no cluster: the reasons come from the rows and the backends alone
    from conform.backends import JAVA_CONSUMER, LIBRDKAFKA
    row = "min-isr-2-unclean@kafka-3.9-client-2.2"
    _, skipped = traces.plan([row], 0, 5, 1, LIBRDKAFKA)
    assert [(s.row, s.reason) for s in skipped] == [
        (row, "the row is Kafka 3.9 with client 2.2; the real cluster and client are 4.1 (Kafka 4.1.1)")]
    row = "async-auto-commit@kafka-4.1-client-3.9"
    _, skipped = traces.plan([row], 0, 5, 1, JAVA_CONSUMER)
    assert [(s.row, s.reason) for s in skipped] == [
        (row, "the row is Kafka 4.1 with Java client 3.9; the real cluster and client are 4.1 (Kafka 4.1.1)")]


def test_rows_of_other_models_are_not_driven(monkeypatch):
    from checker import Config
    other = Config("replica-row", "a row of a replication model", "pipeline")
    monkeypatch.setattr(traces, "configs", lambda: {"replica-row": other})
    monkeypatch.setattr(traces, "get_config", lambda name: other)
    jobs, skipped = traces.plan(["replica-row"], 1, 5, 1)
    assert jobs == [] and [s.row for s in skipped] == ["replica-row"]
    assert skipped[0].reason.startswith("the pipeline rows run on the real broker (the librdkafka backend): the "
                                        "replica's log is read from its log segments on disk")


def test_random_walks_are_seeded_and_bounded():
    system, _ = traces.row_system(get_config("at-least-once"))
    w = traces.walk(system, "1:at-least-once", 10)
    assert w.actions == ["Crash(0)", "Restart(0)", "Produce", "Poll(0)", "Process(0)", "Commit(0)", "Produce",
                         "Produce", "Poll(0)", "Process(0)"]
    assert traces.walk(system, "1:at-least-once", 10).actions == w.actions
    assert len(traces.walk(system, "2:at-least-once", 4).actions) <= 4
    out = replay_on_client(w)
    assert out.matched, (out.mismatch, out.error)


def _tampered(row: str, step: int, variable: str, value: int) -> Trace:
    """The row's first shortest trace with one model value changed at one step: a wrong model."""
    trace = _jobs(row)[0].trace
    s = trace.system
    i = [v.name for v in s.variables].index(variable)
    steps = list(trace.steps)
    state = list(steps[step].state)
    state[i] = value
    steps[step] = Step(steps[step].action, tuple(state))
    return Trace(s, steps)


def test_a_wrong_model_value_is_a_mismatch_with_step_model_and_observed():
    out = replay_on_client(_tampered("at-least-once", 3, "committed", 1))
    assert not out.matched and out.error == ""
    m = out.mismatch
    assert (m.step, m.action, m.variable, m.model, m.observed) == (3, "Process(0)", "committed", 1, 0)
    assert m.line() == "step 3 (Process(0)): committed: model 1, observed 0"


def test_cli_replays_and_exits_0_when_every_step_matches(capsys):
    code = main(["conform", "--config", "at-most-once", "--walks", "0"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "  at-most-once: no-loss counterexample, 4 steps: match (4 steps," in out
    assert out.rstrip().endswith("verdict: conforms")


def test_cli_mismatch_prints_step_model_observed_and_exits_1(capsys, monkeypatch):
    bad = _tampered("at-most-once", 4, "processed[0]", 1)  # the model claims record 0 was processed
    job = traces.Job("at-most-once", "tampered", bad)
    monkeypatch.setattr(traces, "plan", lambda *a, **k: ([job], []))
    code = main(["conform", "--config", "at-most-once"])
    out = capsys.readouterr().out
    assert code == 1
    assert ("  at-most-once: tampered: MISMATCH at step 4 (Crash(0)): processed[0]: model 1, observed 0\n"
            "    replay: checker replay group Produce 'Poll(0)' 'Commit(0)' 'Crash(0)'") in out
    assert out.rstrip().endswith("verdict: MISMATCH")


def test_cli_verbose_shows_each_steps_values(capsys):
    assert main(["conform", "kafka", "--walks", "0", "-v"]) == 0
    out = capsys.readouterr().out
    assert "      4 Crash            sent 1, committed 0, processed[0] 1, processed[1] 0, processed[2] 0, " \
           "in hand [], position 0 (client: none yet)" in out


def test_a_client_that_does_not_answer_is_incomplete_not_a_mismatch(capsys, monkeypatch):
    from conform import cluster
    monkeypatch.setattr(cluster, "CALL_TIMEOUT", 0.001)  # no consumer process starts that fast
    assert main(["conform", "--config", "at-most-once", "--walks", "0"]) == 3
    out = capsys.readouterr().out
    assert "  at-most-once: no-loss counterexample, 4 steps: CLIENT ERROR at setting up: the consumer did not " \
           "answer start within 0.001 s" in out
    assert out.rstrip().endswith("verdict: incomplete")


def test_cli_not_driven_rows_only_is_incomplete(capsys):
    assert main(["conform", "--config", "retention-lag"]) == 3
    out = capsys.readouterr().out
    assert "  retention-lag: not driven: DeleteRecords: " in out
    assert out.rstrip().endswith("verdict: nothing replayed")


@pytest.mark.parametrize("args, message", [
    (["--config", "no-such-row"], "checker: error: unknown configuration 'no-such-row'"),
    (["group"], "checker: error: conform drives the kafka model itself and the group and pipeline models through their "
                "matrix rows"),
    (["--walks", "0", "--seed", "3"], "checker: error: --length and --seed shape the random walks"),
    (["--walks", "-1"], "checker: error: argument --walks: expected a whole number, got '-1'"),
    (["--length", "0"], "checker: error: --length must be at least 1 (or use --walks 0)"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    r = subprocess.run([sys.executable, "-m", "checker", "conform", *args], capture_output=True, text=True,
                       cwd=ROOT, timeout=BUDGET)
    assert r.returncode == 2
    assert r.stdout == "" and r.stderr.count("\n") == 1 and r.stderr.startswith(message), r.stderr


def test_the_checker_does_not_import_the_client():
    code = ("import sys; from checker.cli.main import build_parser; p = build_parser(); "
            "print('conform' in p._subparsers._group_actions[0].choices, 'confluent_kafka' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=BUDGET)
    assert r.stdout.split() == ["True", "False"], r.stderr


# ------------------------------------------------------------ the librdkafka variant

def test_librdkafka_auto_commit_variant_verdicts_and_traces():
    """auto_commit_on=librdkafka: loses a record even with processing on the polling thread."""
    model = get_model("group")
    res = check(model.build({"commit": "auto", "auto_commit_on": "librdkafka"}), EXPLICIT)
    assert res.states == 248
    got = {p.name: (p.verdict, p.trace.actions if p.trace else None) for p in res.properties}
    assert got == {
        "no-loss": ("violated", ["Produce", "Poll(0)", "BackgroundAutoCommit(0)", "Crash(0)"]),
        "no-duplicate-processing": ("violated", ["Produce", "Poll(0)", "Process(0)", "Crash(0)", "Restart(0)",
                                                 "Poll(0)", "Process(0)"]),
        "in-order": ("holds", None),
    }
    java = check(model.build({"commit": "auto"}), EXPLICIT)  # the classic consumer: no loss here (C3 only)
    assert java.prop("no-loss").verdict == "holds"


def test_librdkafka_real_timer_commits_a_record_nobody_processed():
    """The step the harness drives with commit(): the real 100 ms timer commits the stored offset too."""
    cluster = MockCluster(0)
    try:
        cluster.produce()
        conf = {"enable.auto.commit": True, "auto.commit.interval.ms": 100, "auto.offset.reset": "latest"}
        c = cluster.consumer(conf)
        c.call("assign")
        assert c.call("poll", max=1, first=5, end=1)["offsets"] == [0]  # handed over, not processed
        assert wait_for(lambda: cluster.committed() == 1, 5.0), cluster.committed()
        c.kill()  # the crash: record 0 was never processed
        c = cluster.consumer(conf)
        c.call("assign")
        assert c.call("poll", max=1, first=1.0, end=1)["offsets"] == []  # and it never comes back
    finally:
        cluster.close()


def test_close_without_auto_commit_commits_nothing():
    """close() is not a commit unless enable.auto.commit is on (the harness's Close and Crash rely on it)."""
    cluster = MockCluster(0)
    try:
        cluster.produce()
        c = cluster.consumer({"enable.auto.commit": False, "auto.offset.reset": "latest"})
        c.call("assign")
        assert c.call("poll", max=1, first=5, end=1)["offsets"] == [0]
        c.close()
        assert cluster.committed() == 0
        c = cluster.consumer({"enable.auto.commit": True, "auto.commit.interval.ms": 86_400_000,
                              "auto.offset.reset": "latest"})
        c.call("assign")
        assert c.call("poll", max=1, first=5, end=1)["offsets"] == [0]
        c.close()
        assert cluster.committed() == 1  # librdkafka's close() commits the stored offset, as Java's does
    finally:
        cluster.close()



# ------------------------------------------------------------ the remedies on the client

def _replay(params, modes, actions):
    from checker.engines.replay import replay
    m = get_model("group")
    return replay_on_client(replay(m.build(params, modes, [f for f in m.failure_modes if f not in modes]), actions),
                            record=True)


def test_r3_store_offsets_after_processing_commits_only_what_was_processed():
    """enable.auto.offset.store=false: the timer's commit (commit() with no offsets) covers what
    store_offsets() stored after processing, so a crash after a poll loses nothing (C16's loss gone)."""
    params = {"commit": "auto", "auto_commit_on": "librdkafka", "offset_store": "manual"}
    out = _replay(params, ["crash"], ["Produce", "Poll(0)", "Process(0)", "BackgroundAutoCommit(0)", "Produce",
                                      "Poll(0)", "Crash(0)", "Restart(0)", "Poll(0)", "Process(0)"])
    assert out.matched, (out.mismatch and out.mismatch.line(), out.error)
    after_commit = out.rows[4][3]
    assert after_commit["committed"] == 1 and out.rows[10][3]["processed[1]"] == 1


def test_r1_a_sink_keyed_by_offset_absorbs_the_client_s_redelivery():
    out = _replay({"sink": "idempotent"}, ["crash"],
                  ["Produce", "Poll(0)", "Process(0)", "Crash(0)", "Restart(0)", "Poll(0)", "Process(0)"])
    assert out.matched, (out.mismatch and out.mismatch.line(), out.error)
    assert out.rows[6][3]["in hand c0"] == [0] and out.rows[7][3]["processed[0]"] == 1  # same offset again


def test_r2_the_consumer_seeks_to_the_sink_s_offset_not_the_committed_one():
    out = _replay({"consumers": 2, "commit": "periodic", "sink": "offsets-in-sink"}, ["crash", "rebalance"],
                  ["Produce", "Poll(0)", "Process(0)", "SkipCommit(0)", "Crash(0)", "Restart(0)", "Produce",
                   "Poll(0)", "Process(0)"])
    assert out.matched, (out.mismatch and out.mismatch.line(), out.error)
    last = out.rows[9][3]
    assert last["committed"] == 0 and last["processed[0]"] == 1 and last["processed[1]"] == 1


def test_backend_kafka_without_java_or_maven_is_one_line_exit_2(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no java, javac or mvn
    monkeypatch.setenv("CONFORM_KAFKA_CACHE", str(tmp_path / "cache"))
    assert main(["conform", "--backend", "kafka", "--config", "at-most-once", "--walks", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no java or javac on PATH" in err


def test_eos_rows_each_have_their_backend_and_reason():
    """The crash, send-error and txn-timeout rows are driven on librdkafka on the real broker; every other
    eos row names the mechanism it lacks; the mock cluster and the Java driver say why not at all."""
    from conform import eos
    from conform.backends import JAVA_CLASSIC, LIBRDKAFKA, MOCK
    rows = ["eos-transactional", "read-committed", "read-uncommitted", "eos-abort-no-rewind", "eos-abort-rewind",
            "eos-commit-timeout-abort", "eos-commit-timeout-abort-kip890", "eos-zombie-fenced", "eos-txn-timeout",
            "eos-auto-commit"]
    jobs, skipped = traces.plan(rows, 1, 8, 1, LIBRDKAFKA)
    assert sorted({j.row for j in jobs}) == ["eos-abort-no-rewind", "eos-abort-rewind", "eos-transactional",
                                             "eos-txn-timeout", "read-committed", "read-uncommitted"]
    assert [(s.row, s.reason.split(":")[0]) for s in skipped] == [
        ("eos-commit-timeout-abort", "the row is Kafka 3.5 with client 3.5; the real cluster and client are 4.1 "
                                     "(Kafka 4.1.1)"),
        ("eos-commit-timeout-abort-kip890", "commit-timeout"), ("eos-zombie-fenced", "max-poll-exceeded"),
        ("eos-auto-commit", "commit=auto")]
    for backend, reason in ((MOCK, eos.MOCK_REASON), (JAVA_CLASSIC, eos.JAVA_REASON)):
        jobs, skipped = traces.plan(rows, 1, 8, 1, backend)
        assert jobs == [] and {s.reason for s in skipped} == {reason}
    # commit-timeout: its actions are driven, the reason is librdkafka's refusal of the Abort after a
    # timed-out commit; the Kafka 3.5 row says what KIP-890 is on the real cluster and then the same
    assert {"CommitTimesOut", "LateEndTxn"} <= eos.DRIVEN
    _, skipped = traces.plan(rows, 1, 8, 1, LIBRDKAFKA)
    why = {s.row: s.reason for s in skipped}
    assert why["eos-commit-timeout-abort-kip890"] == eos.FAULT_REASONS["commit-timeout"]
    assert "abort_transaction() fails with _CONFLICT" in why["eos-commit-timeout-abort-kip890"]
    assert "which Kafka 3.5 does not" in why["eos-commit-timeout-abort"]
    assert why["eos-commit-timeout-abort"].endswith("; and " + eos.FAULT_REASONS["commit-timeout"])
    # commit=auto: PollAutoCommit is the Java consumer's commit inside poll(), which librdkafka has not
    assert why["eos-auto-commit"] == eos.AUTO_COMMIT_REASON and "never commits inside poll()" in why["eos-auto-commit"]
    # a walk of a driven row uses the actions conform/eos.py performs and nothing else
    jobs, _ = traces.plan(["eos-transactional", "eos-txn-timeout", "eos-abort-rewind"], 3, 12, 1, LIBRDKAFKA)
    assert {a.split("(")[0] for j in jobs for a in j.trace.actions} <= eos.DRIVEN
    assert {"TxnTimeout(0)", "Close(0)", "SendFails(0)", "Abort(0)"} <= {a for j in jobs for a in j.trace.actions}


def test_the_proxy_holds_the_next_end_txn_and_its_response_until_the_harness_forwards_them():
    """conform/proxy.py against a loopback stand-in for the broker that answers every request with
    its correlation id: armed with hold_next(END_TXN), the gate holds the next EndTxn request
    (the frames behind it go on), forwards it when told, holds its response in turn (matched by
    connection and correlation id) and holds only that one EndTxn."""
    import socket
    import struct
    import threading

    from conform.proxy import END_TXN, PRODUCE, Proxy

    def frame(key, corr):
        body = struct.pack(">hhi", key, 1, corr) + b"request"
        return struct.pack(">i", len(body)) + body

    def read(sock):
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
            chunk = sock.recv(65536)
            assert chunk, "connection closed"
            data += chunk
        return data

    seen = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)

    def broker():
        conn, _ = server.accept()
        with conn:
            while True:
                try:
                    data = read(conn)
                except (AssertionError, OSError):
                    return
                while data:
                    size = struct.unpack(">i", data[:4])[0]
                    key, _, corr = struct.unpack(">hhi", data[4:12])
                    seen.append((key, corr))
                    conn.sendall(struct.pack(">ii", 4, corr))
                    data = data[4 + size:]

    threading.Thread(target=broker, daemon=True).start()
    proxy = Proxy(server.getsockname()[1])
    try:
        with pytest.raises(RuntimeError):  # armed only with the gate on
            proxy.hold_next(END_TXN)
        proxy.gate_produce(lambda frame: frozenset())
        proxy.hold_next(END_TXN)
        client = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
        with client:
            client.sendall(frame(END_TXN, 7) + frame(3, 8))  # EndTxn, then a Metadata request behind it
            assert struct.unpack(">i", read(client)[4:8])[0] == 8  # the Metadata request went on
            held = proxy.wait_held("request", None, 5, key=END_TXN)
            assert held is not None and held.corr == 7 and seen == [(3, 8)]
            assert proxy.wait_held("request", None, 0) is None  # a Produce request's search does not find it
            proxy.decide(held, forward=True)
            response = proxy.wait_held("response", None, 5, key=END_TXN)
            assert response is not None and response.corr == 7 and seen == [(3, 8), (END_TXN, 7)]
            proxy.decide(response, forward=True)
            assert struct.unpack(">i", read(client)[4:8])[0] == 7
            client.sendall(frame(END_TXN, 9))  # the next EndTxn is not held: the gate was armed for one
            assert struct.unpack(">i", read(client)[4:8])[0] == 9 and proxy.held() == []
            client.sendall(frame(PRODUCE, 10))  # Produce requests are held as before, and their responses
            held = proxy.wait_held("request", None, 5)
            assert held is not None and held.key == PRODUCE and held.corr == 10
            proxy.decide(held, forward=True)
            response = proxy.wait_held("response", None, 5)
            assert response is not None and response.corr == 10 and proxy.wait_held("response", None, 0,
                                                                                     key=END_TXN) is None
            proxy.decide(response, forward=True)
            assert struct.unpack(">i", read(client)[4:8])[0] == 10
    finally:
        proxy.close()
        server.close()


def _segment_varint(n):
    """A zigzag varint, as Kafka writes record fields."""
    n = (n << 1) ^ (n >> 63)
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def _segment_batch(base, values, producer=-1, attributes=0, key=None):
    """A v2 record batch as the broker writes it to a segment file (the fields the reader reads)."""
    import struct as st
    v = _segment_varint
    recs = b""
    for d, value in enumerate(values):
        k = v(-1) if key is None else v(len(key)) + key
        body = b"\0" + v(0) + v(d) + k + v(len(value)) + value + v(0)
        recs += v(len(body)) + body
    tail = st.pack(">ibIhiqqqhii", 0, 2, 0, attributes, len(values) - 1, 0, 0, producer, -1, -1, len(values)) + recs
    return st.pack(">qi", base, len(tail)) + tail


def test_the_log_reader_parses_record_batches():
    """conform/pipeline.py reads a replica's log from its segment files: offsets and values of
    v2 record batches, a torn tail ignored, no folder no records."""
    import tempfile

    from conform import pipeline

    with tempfile.TemporaryDirectory() as d:
        assert pipeline.read_log(os.path.join(d, "absent")) == []
        with open(os.path.join(d, "00000000000000000000.log"), "wb") as f:
            f.write(_segment_batch(0, [b"pipeline-message-0"]) + _segment_batch(1, [b"pipeline-message-1", b"x"])
                    + b"\0\0\0")
        assert pipeline.read_log(d) == [(0, b"pipeline-message-0"), (1, b"pipeline-message-1"), (2, b"x")]


def test_eos_log_reader_finds_markers_and_pending_offsets():
    """conform/eos.py reads the output partition and __consumer_offsets from segment files: each
    data record's outcome is its producer's next marker (commit, abort) or open, and the pending
    offset is the group's last transactional offset record no marker of its producer follows."""
    import struct as st
    import tempfile

    from conform import eos

    def batch(base, producer, attributes, key, value):
        return _segment_batch(base, [value], producer, attributes, key)

    txn, control = 0x10, 0x30
    abort, commit = st.pack(">hh", 0, 0), st.pack(">hh", 0, 1)
    okey = st.pack(">h", 1) + st.pack(">h", 1) + b"g" + st.pack(">h", 2) + b"in" + st.pack(">i", 0)
    with tempfile.TemporaryDirectory() as d:
        assert eos.read_batches(os.path.join(d, "absent")) == []
        with open(os.path.join(d, "00000000000000000000.log"), "wb") as f:
            f.write(batch(0, 7, txn, b"", b"eos-out-0@o.") + batch(1, 7, control, abort, b"")
                    + batch(2, 7, txn, b"", b"eos-out-0@o.") + batch(3, 7, control, commit, b"")
                    + batch(4, 7, txn, b"", b"eos-out-1@o.") + b"\0\0")
        recs = eos.read_batches(d)
        assert [(r["offset"], r["producer"], r["control"]) for r in recs] == [
            (0, 7, False), (1, 7, True), (2, 7, False), (3, 7, True), (4, 7, False)]
        assert [(r["offset"], s) for r, s in eos.outcomes(recs)] == [(0, "aborted"), (2, "committed"), (4, "open")]
    with tempfile.TemporaryDirectory() as d:
        value = st.pack(">hq", 3, 5)
        with open(os.path.join(d, "00000000000000000000.log"), "wb") as f:
            f.write(batch(0, 9, txn, okey, value))
        assert eos.pending_offset(eos.read_batches(d), "g", "in") == 5
        assert eos.pending_offset(eos.read_batches(d), "g", "other") == -1
        with open(os.path.join(d, "00000000000000000000.log"), "ab") as f:
            f.write(batch(1, 9, control, commit, b""))
        assert eos.pending_offset(eos.read_batches(d), "g", "in") == -1
