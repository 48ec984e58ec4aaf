"""The `eos` model's traces on a real broker: a transactional consume-transform-produce loop.

One application instance runs in its own process (conform/worker.py): a librdkafka
consumer of the input partition (isolation.level=read_committed, no auto-commit) and a
transactional producer (its transactional.id the trace's) that talks to the broker only
through the loopback proxy's produce gate (conform/proxy.py). The model's actions:

- Poll(c): `poll()` of one input record, then `begin_transaction()`.
- AddPartition(c): `produce()` of the output record; librdkafka first adds the output
  partition to the transaction (AddPartitionsToTxn), then sends the Produce request, and
  the step ends when the proxy holds that request.
- Produce(c): the proxy forwards the request and then the broker's response; the step
  ends at the delivery report.
- SendOffsets(c): `send_offsets_to_transaction(position, consumer_group_metadata())`.
- Commit(c): `commit_transaction()`.
- CommitTimesOut(c): `commit_transaction()` with a timeout of COMMIT_TIMEOUT_S while the
  proxy holds its EndTxn request (armed with `hold_next(END_TXN)`): the call fails with
  `_TIMED_OUT` (retriable: the commit goes on in the background), and the step ends when
  the proxy holds the request.
- LateEndTxn(c): the proxy forwards the held EndTxn; the coordinator commits, its response
  (held in turn) is forwarded to the producer, which was still waiting for it, and the step
  ends when the coordinator has written the markers.
- TxnTimeout(k): the coordinator's own timer, set short: with txn-timeout the producer's
  transaction.timeout.ms is TXN_TIMEOUT_MS (6 s; the transaction's earlier steps take well
  under a second) and the broker checks for timed-out transactions every 100 ms
  (conform/realcluster.py); the step waits until DescribeTransactions shows the transaction
  aborted (CompleteAbort) under a bumped epoch.
- Close(c): the fenced producer's next request, by the loop's stage: the held Produce request
  forwarded (stage added; librdkafka may have given it up already by its own
  message.timeout.ms, which it caps at transaction.timeout.ms), AddOffsetsToTxn (sent) or
  EndTxn (offsets); the step requires it to fail, then the instance closes both clients and
  its process ends.
- With commit=auto the instance's consumer runs with enable.auto.commit and its timer at a
  day (it never fires in a run), so close() commits the position as the model's Close does;
  the row is not driven (AUTO_COMMIT_REASON), tests/test_realkafka.py pins its counterexample.
- Crash(c): kill -9 of the instance's process; a Produce request the proxy holds for it
  is dropped (the process that sent it is gone).
- Restart(c): a new process with the same transactional.id calls `init_transactions()`.
- FetchOffset(c): `committed()` of the group (librdkafka asks for stable offsets, as
  read_committed consumers do) and `assign()` at that offset.
- Read: the downstream reader (a consumer of the output partition with the row's
  isolation.level, in this process) polls until it delivers a record or its position
  passes the next output record.
- SendFails(c): the proxy swallows the held Produce request and keeps its connection open,
  so the request's timeout, the record's message.timeout.ms (SEND_TIMEOUT_MS), expires on
  the partition leader's broker thread: the delivery report is _MSG_TIMED_OUT, and the step
  ends when librdkafka's statistics show the transaction AbortableError (an epoch bump
  required, KIP-360). Dropping the connection instead hands the partition to librdkafka's
  internal broker until a metadata refresh, and a record timed out there leaves the
  transaction InTransaction with the same epoch, so the next send's sequence skips the
  timed-out one (OUT_OF_ORDER_SEQUENCE_NUMBER, then purged: _PURGE_QUEUE).
- Abort(c): `abort_transaction()`, which bumps the producer epoch (InitProducerId) after
  the abortable error. The commit-timeout rows are not driven: librdkafka refuses their
  Abort after CommitTimesOut.

What is compared after every step, read from the cluster and the clients: the group's
committed offset (OffsetFetch), the transaction coordinator's state of the
transactional.id (DescribeTransactions, on a socket of its own: `ongoing t0` is state
Ongoing, `added t0` the output partition in its partitions), the pending transactional
offset (`pend t0`: the last offset record of the group in __consumer_offsets' log
segments that no marker follows yet), the output partition read from the broker's log
segments (each data record's input record from its value, its producer id as the
transactional.id's index, its outcome from the marker of that producer that follows it),
the reader's position as a count of output records, and per instance its process (alive:
member), its loop's stage, its consumer's position and whether its producer had a fatal
error or an epoch the coordinator bumped since the producer's last accepted call (fenced).
A coordinator abort that no TxnTimeout step asked for bumps the epoch under a live
instance: the comparison reports it (`ongoing t0`, `i0 fenced`), also when it made the
step's own request fail.
"""

from __future__ import annotations

import os
import re
import socket
import struct
import subprocess
import time
from typing import Any

from checker.result import Trace
from spec import versions

from .cluster import CALL_TIMEOUT, PARTITION, ClientFailure, ConsumerProcess, quiet_logger, wait_for
from .proxy import END_TXN
from .segments import read_batches, read_uvarint

__all__ = ["DRIVEN", "EosDriver", "row_not_driven", "versions_not_driven", "read_batches", "describe_transaction",
           "MOCK_REASON", "JAVA_REASON"]

DRIVEN = frozenset({"Poll", "AddPartition", "Produce", "SendOffsets", "Commit", "Crash", "Restart", "FetchOffset",
                    "Read", "SendFails", "Abort", "CommitTimesOut", "LateEndTxn", "TxnTimeout", "Close"})
SEND_TIMEOUT_MS = 3000  # message.timeout.ms with send-error: the client's deadline on a request the proxy dropped
STATS_MS = 50  # statistics.interval.ms with send-error: how often SendFails sees librdkafka's transaction state
TXN_TIMEOUT_MS = 6000  # transaction.timeout.ms with txn-timeout: longer than the steps of a transaction take
AUTO_COMMIT_NEVER_MS = 86_400_000  # commit=auto: librdkafka's longest auto-commit timer, so it never fires in a run
COMMIT_TIMEOUT_S = 2.0  # commit_transaction()'s timeout at CommitTimesOut, while the proxy holds its EndTxn
VALUE = "eos-out-{}@{}."  # an output record's value: its input record and its trace's output topic
STEP_TIMEOUT = 20.0  # seconds a step may wait for the frame, report or state it forces
CLIENT_TIMEOUT = 15.0  # seconds a client call of the worker may take (under the worker's 20 s limit)

MOCK_REASON = ("model eos: librdkafka's mock cluster runs transactions but returns an aborted transaction's "
               "records to read_committed consumers (no aborted-transaction filtering), so what the eos rows "
               "check cannot be observed there")
JAVA_REASON = ("model eos: the eos rows drive librdkafka's transactional producer and consumer (the librdkafka "
               "backend); the Java driver (conform/kafka/Conform.java) has no producer")

# Why eos-auto-commit (commit=auto) is not driven: the model's PollAutoCommit is the Java consumer's.
AUTO_COMMIT_REASON = ("commit=auto: the model's PollAutoCommit is the Java consumer's auto-commit inside poll() "
                      "(ConsumerCoordinator.poll commits the positions of the earlier polls before it fetches); "
                      "librdkafka never commits inside poll(): its auto-commit is a timer of its own "
                      "(auto.commit.interval.ms, firing between any two calls), which the eos model has no action "
                      "for (the group model has it as auto_commit_on=librdkafka), and the Java driver, whose poll() "
                      "has the model's commit, has no transactional producer")

# Why the actions of the eos rows not driven are not performed (each lacks a forced mechanism).
ACTION_REASONS = {
    "ProduceTimesOut": "a delayed produce needs the proxy to hold a Produce request past the client's timeout "
                       "and forward it into a later transaction; not built",
    "LateProduce": "a delayed produce needs the proxy to hold a Produce request past the client's timeout and "
                   "forward it into a later transaction; not built",
    "PollAutoCommit": "the Java consumer's auto-commit inside poll(); librdkafka never commits inside poll() (its "
                      "auto-commit is a timer of its own, auto_commit_on=librdkafka in the group model)",
    "CommitSync": "commitSync() beside the transaction is not built",
    "Evict": "the eviction's trigger is measured (tests/test_realkafka.py: paused polling keeps librdkafka's "
             "max.poll.interval.ms timer, stopping it evicts the member) but the worker assigns its partition "
             "(assign(), no generations) and has no subscribe() mode with that keep-alive; not built",
}


# The fault of each eos row that is not driven, and the mechanism it lacks on the real broker.
FAULT_REASONS = {
    # Measured with confluent-kafka 2.16.1 (librdkafka 2.16.0) on Kafka 4.1.1; tests/test_realkafka.py pins it.
    "commit-timeout": "commit-timeout: CommitTimesOut and LateEndTxn are forced (the proxy holds the EndTxn "
                      "request until commit_transaction() fails with _TIMED_OUT, retriable; then forwards it, and "
                      "the coordinator commits) and match, but librdkafka refuses the model's Abort after a commit "
                      "timeout, as the Java client does: abort_transaction() fails with _CONFLICT (\"Conflicting "
                      "commit_transaction API call is already in progress\", at every try measured) while the "
                      "EndTxn is held and after it was answered alike; it accepts only commit_transaction() again, "
                      "whereas the model's only way on from a timed-out commit is LateEndTxn and that Abort",
    "produce-timeout": "produce-timeout: a delayed produce needs the proxy to hold a Produce request past the "
                       "client's timeout and forward it into a later transaction; not built",
    "max-poll-exceeded": "max-poll-exceeded: the trigger is measured, the row is not built: a subscribe()d "
                         "librdkafka consumer that polls with its partitions paused keeps its max.poll.interval.ms "
                         "timer reset (three intervals of 6 s, no rebalance), and once the harness stops that "
                         "polling librdkafka's own timer leaves the group and the other member is assigned the "
                         "partition in a new generation 6.4 to 6.7 s later (three runs; tests/test_realkafka.py pins it); the eos "
                         "worker assigns its partition (assign(), no generations, which the group-metadata "
                         "fencing needs) and has no subscribe() mode with that keep-alive and an Evict step "
                         "waiting for the new generation",
}


def versions_not_driven(params: dict[str, Any], failures: tuple[str, ...], other: str) -> str:
    """Why an eos row of other Kafka or client versions is not driven: `other` (the versions), with what
    KIP-890 is on the real cluster and librdkafka where the row's fault depends on it, then the fault's
    own reason: the versions alone are no physical reason (a broker setting turns part 1 off)."""
    if "commit-timeout" not in failures:
        return other
    kafka = params.get("kafka_version", versions.CURRENT)
    part1 = ("its broker verifies every transactional produce (KIP-890 part 1; transaction.partition."
             f"verification.enable, true by default, is left so), which Kafka {kafka} does not; "
             if not versions.has("verification", kafka) else "")
    return (f"{other}: {part1}librdkafka has no KIP-890 part 2 (it sends EndTxn v1, and the producer epoch "
            "stays the same across commits and aborts, measured); and " + FAULT_REASONS["commit-timeout"])


def row_not_driven(params: dict[str, Any], failures: tuple[str, ...]) -> str | None:
    """Why an eos row is not driven on the real broker with librdkafka, or None (its actions are checked apart).

    The row's fault decides (conform/eos.py drives crash and txn-timeout), then its commit setting."""
    for f in failures:
        if f in FAULT_REASONS:
            return FAULT_REASONS[f]
    if params.get("commit", "txn") == "auto":
        return AUTO_COMMIT_REASON
    if params.get("commit", "txn") != "txn":
        return f"commit={params['commit']}: commitSync() beside the transaction is not built"
    return None


# --------------------------------------------------------------------------- the broker's log on disk

def outcomes(records: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    """Each data record with its outcome: the type of the first marker of its producer after it
    (committed, aborted), or open; a non-transactional record is committed."""
    out = []
    for n, r in enumerate(records):
        if r["control"]:
            continue
        st = "committed" if not r["transactional"] else "open"
        if r["transactional"]:
            for m in records[n + 1:]:
                if m["control"] and m["producer"] == r["producer"] and len(m["key"]) >= 4:
                    st = "committed" if struct.unpack(">h", m["key"][2:4])[0] == 1 else "aborted"
                    break
        out.append((r, st))
    return out


def pending_offset(records: list[dict[str, Any]], group: str, topic: str) -> int:
    """The offset of the group's last transactional offset commit for `topic` partition 0 in
    __consumer_offsets that no marker of its producer follows (-1: none)."""
    g, t = group.encode(), topic.encode()
    want = struct.pack(">h", len(g)) + g + struct.pack(">h", len(t)) + t + struct.pack(">i", PARTITION)
    for n in range(len(records) - 1, -1, -1):
        r = records[n]
        if r["control"] or not r["transactional"] or r["key"][2:] != want or len(r["value"]) < 10:
            continue
        if any(m["control"] and m["producer"] == r["producer"] for m in records[n + 1:]):
            return -1
        return struct.unpack(">q", r["value"][2:10])[0]
    return -1


# --------------------------------------------------------------------------- DescribeTransactions

def _uvarint(n: int) -> bytes:
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def _cstring(b: bytes, i: int) -> tuple[str, int]:
    n, i = read_uvarint(b, i)
    return b[i:i + n - 1].decode(), i + n - 1


def _skip_tags(b: bytes, i: int) -> int:
    n, i = read_uvarint(b, i)
    for _ in range(n):
        _, i = read_uvarint(b, i)
        size, i = read_uvarint(b, i)
        i += size
    return i


def describe_transaction(port: int, tid: str, timeout: float = CALL_TIMEOUT) -> dict[str, Any]:
    """The transaction coordinator's view of transactional.id `tid` (DescribeTransactions v0, KIP-664):
    error, state, producer id and epoch, the partitions of its transaction as "topic-N", its
    transaction.timeout.ms and the start of its transaction (ms since the epoch, -1: none).

    On a socket of its own: confluent-kafka has no DescribeTransactions."""
    name = tid.encode()
    body = _uvarint(2) + _uvarint(len(name) + 1) + name + b"\x00"
    client = b"conform"
    req = struct.pack(">hhih", 65, 0, 1, len(client)) + client + b"\x00" + body
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(struct.pack(">i", len(req)) + req)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                raise ClientFailure(f"broker at port {port} closed the DescribeTransactions connection")
            data += chunk
    b = data[4:]
    i = _skip_tags(b, 4)  # correlation id, the header's tags
    i += 4  # throttle time
    n, i = read_uvarint(b, i)
    if n != 2:
        raise ClientFailure(f"DescribeTransactions answered {n - 1} transactional ids for one")
    error = struct.unpack(">h", b[i:i + 2])[0]
    _, i = _cstring(b, i + 2)
    state, i = _cstring(b, i)
    timeout_ms, start_ms, producer, epoch = struct.unpack(">iqqh", b[i:i + 22])
    i += 22
    parts = []
    topics, i = read_uvarint(b, i)
    for _ in range(topics - 1):
        tname, i = _cstring(b, i)
        k, i = read_uvarint(b, i)
        for _ in range(k - 1):
            parts.append(f"{tname}-{struct.unpack('>i', b[i:i + 4])[0]}")
            i += 4
        i = _skip_tags(b, i)
    return {"error": error, "state": state, "producer": producer, "epoch": epoch, "partitions": sorted(parts),
            "timeout_ms": timeout_ms, "start_ms": start_ms}


# --------------------------------------------------------------------------- the driver

class EosDriver:
    """One eos trace on the real cluster: input and output topics, one instance process, the reader."""

    def __init__(self, trace: Trace, kafka: Any):
        from .cluster import import_client
        from confluent_kafka.admin import AdminClient, NewTopic

        s = trace.system
        self.system, self.p = s, s.params
        self.by_name = {a.name: a for a in s.actions}
        self.ck = ck = import_client()
        self.kafka, self.proxy = kafka, kafka.proxy
        n = kafka.next_id()
        self.input, self.output = f"conform-eos-in-{n}", f"conform-eos-out-{n}"
        self.group, self.tid = f"conform-eos-group-{n}", f"conform-eos-txn-{n}"
        broker = kafka.cluster.broker_nodes[0]
        self.port = broker.port
        self.out_folder = os.path.join(broker.dir, "data", f"{self.output}-{PARTITION}")
        self.offsets_folder = os.path.join(broker.dir, "data", "__consumer_offsets-0")
        self.bootstrap = kafka.cluster.bootstrap
        self.pattern = re.compile(rb"eos-out-(\d+)@" + re.escape(self.output.encode()) + rb"\.")
        self.instances: list[ConsumerProcess | None] = [None] * self.p["instances"]
        self.epochs: list[tuple[int, int] | None] = [None] * self.p["instances"]
        self.asked: set[tuple[int, int]] = set()  # the producer ids and epochs the TxnTimeout steps' aborts gave
        self.closed_with: list[dict[str, Any]] = []  # what each Close's request got (the fenced producer's error)
        self.failed_with: list[dict[str, Any]] = []  # each SendFails's report and librdkafka's transaction state
        self.observer = self.reader = None
        self.admin = AdminClient({"bootstrap.servers": self.bootstrap, "logger": quiet_logger()})
        try:
            fut = self.admin.create_topics([NewTopic(t, 1, 1) for t in (self.input, self.output)],
                                           operation_timeout=CALL_TIMEOUT)
            for f in fut.values():
                f.result(CALL_TIMEOUT)
            # The input partition holds the model's records from the start, as plain records.
            seed = ck.Producer({"bootstrap.servers": self.bootstrap, "acks": "all", "logger": quiet_logger()})
            for m in range(self.p["messages"]):
                seed.produce(self.input, value=f"eos-in-{m}".encode(), partition=PARTITION)
            if seed.flush(CALL_TIMEOUT):
                raise ClientFailure("the input records were not written")
            # read_uncommitted: its committed() does not wait for pending transactional offsets.
            self.observer = ck.Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.group,
                                         "enable.auto.commit": False, "isolation.level": "read_uncommitted",
                                         "logger": quiet_logger()})
            # The model starts with committed offset 0: the group commits it, as a real group that read nothing.
            self.observer.commit(offsets=[ck.TopicPartition(self.input, PARTITION, 0)], asynchronous=False)
            self.reader = ck.Consumer({"bootstrap.servers": self.bootstrap, "group.id": f"{self.group}-reader",
                                       "enable.auto.commit": False, "isolation.level": self.p["isolation"],
                                       "auto.offset.reset": "earliest", "logger": quiet_logger()})
            self.reader.assign([ck.TopicPartition(self.output, PARTITION, 0)])
            self.proxy.gate_produce(lambda frame: frozenset(int(x) for x in self.pattern.findall(frame)))
            for c in range(self.p["instances"]):
                self._start(c)
                self.instances[c].call("txn_seek", offset=0, timeout=CLIENT_TIMEOUT)  # the model's start
        except ck.KafkaException as e:
            self.close()
            raise ClientFailure(f"setting up the eos session: {e}") from None
        except BaseException:
            self.close()
            raise

    def _start(self, c: int) -> None:
        """Instance c's process: its consumer and its transactional producer, initTransactions() done."""
        self.instances[c] = ConsumerProcess(
            self.bootstrap, {"group.id": self.group, "isolation.level": "read_committed", "auto.offset.reset": "earliest",
                             **({"enable.auto.commit": True, "auto.commit.interval.ms": AUTO_COMMIT_NEVER_MS}
                                if self.p["commit"] == "auto" else {"enable.auto.commit": False})}, topic=self.input,
            producer={"bootstrap.servers": f"127.0.0.1:{self.proxy.port}", "transactional.id": self.tid,
                      "linger.ms": 0, **({"message.timeout.ms": SEND_TIMEOUT_MS, "statistics.interval.ms": STATS_MS}
                                         if "send-error" in self.system.failure_modes else {}),
                      **({"transaction.timeout.ms": TXN_TIMEOUT_MS}
                         if "txn-timeout" in self.system.failure_modes else {})})
        self.instances[c].call("txn_init", timeout=CLIENT_TIMEOUT)
        self._epoch_seen(c)

    def _epoch_seen(self, c: int) -> None:
        """Instance c's producer id and epoch: the coordinator's, right after a call of the producer
        that the coordinator accepted (a later bump it did not ask for makes it stale: fenced)."""
        txn = describe_transaction(self.port, self.tid)
        self.epochs[c] = (txn["producer"], txn["epoch"])

    def _instance(self, c: int, name: str) -> ConsumerProcess:
        w = self.instances[c]
        if w is None or not w.alive:
            raise ClientFailure(f"{name}: instance {c} has no process")
        return w

    # --------------------------------------------------------------- steps
    def do(self, name: str) -> None:
        a = self.by_name[name]
        if a.base not in DRIVEN:
            raise ValueError(f"{name} is not driven")  # replay_on_client checks first: a bug if reached
        try:
            getattr(self, f"_op_{a.base}")(name, a.index if a.index is not None else 0)
        except ClientFailure:
            # A coordinator abort no TxnTimeout step asked for (a transaction that outlived its
            # transaction.timeout.ms) fails the step's request; the comparison after it reports the abort.
            if a.base == "TxnTimeout" or not self._bumped_unasked():
                raise

    def _bumped_unasked(self) -> bool:
        """Whether the coordinator bumped the epoch under a live instance since its last accepted call,
        and no TxnTimeout step asked for that epoch."""
        txn = describe_transaction(self.port, self.tid)
        now = (txn["producer"], txn["epoch"])
        return now not in self.asked and any(w is not None and w.alive and self.epochs[c] != now
                                             for c, w in enumerate(self.instances))

    def _op_Poll(self, name: str, c: int) -> None:
        self.polled = self._instance(c, name).call("txn_poll", timeout=CLIENT_TIMEOUT)["offset"]

    def _op_AddPartition(self, name: str, c: int) -> None:
        self._instance(c, name).call("txn_send", topic=self.output, value=VALUE.format(self.polled, self.output))
        if self.proxy.wait_held("request", self.polled, STEP_TIMEOUT) is None:
            raise ClientFailure(f"{name}: no Produce request for input {self.polled} reached the proxy "
                                f"within {STEP_TIMEOUT:g} s")

    def _op_Produce(self, name: str, c: int) -> None:
        h = self.proxy.wait_held("request", self.polled, 0)
        if h is None:
            raise ClientFailure(f"{name}: the proxy holds no Produce request for input {self.polled}")
        self._forward(name, h)
        self._instance(c, name).call("txn_deliver", timeout=CLIENT_TIMEOUT)
        self._epoch_seen(c)

    def _forward(self, name: str, h: Any) -> None:
        """The held Produce request on to the broker, and its response on to the producer."""
        self.proxy.decide(h, forward=True)
        r = self.proxy.wait_held("response", self.polled, STEP_TIMEOUT)
        if r is None:
            raise ClientFailure(f"{name}: no Produce response within {STEP_TIMEOUT:g} s")
        self.proxy.decide(r, forward=True)

    def _op_SendFails(self, name: str, c: int) -> None:
        # The proxy swallows the request on a live connection: a dropped connection would make
        # librdkafka hand the partition to its internal broker, where the timeout bumps no epoch.
        h = self.proxy.wait_held("request", self.polled, 0)
        if h is None:
            raise ClientFailure(f"{name}: the proxy holds no Produce request for input {self.polled}")
        self.proxy.decide(h, forward=False, close=False)
        self.failed_with.append(self._instance(c, name).call("txn_fail", timeout=SEND_TIMEOUT_MS / 1000 * 3))

    def _op_Abort(self, name: str, c: int) -> None:
        self._instance(c, name).call("txn_abort", timeout=CLIENT_TIMEOUT, rewind=self.p["rewind"] == "yes")
        self._settled(name)
        self._epoch_seen(c)

    def _op_SendOffsets(self, name: str, c: int) -> None:
        self._instance(c, name).call("txn_offsets", timeout=CLIENT_TIMEOUT)
        self._epoch_seen(c)

    def _op_Commit(self, name: str, c: int) -> None:
        self._instance(c, name).call("txn_commit", timeout=CLIENT_TIMEOUT)
        self._settled(name)
        self._epoch_seen(c)

    def _op_CommitTimesOut(self, name: str, c: int) -> None:
        # The proxy holds the next EndTxn: the one commit_transaction() sends to the coordinator
        # (through the proxy: the broker's PROXIED listener is what FindCoordinator answers there).
        self.proxy.hold_next(END_TXN)
        self._instance(c, name).call("txn_commit_times_out", timeout=COMMIT_TIMEOUT_S)
        if self.proxy.wait_held("request", None, STEP_TIMEOUT, key=END_TXN) is None:
            raise ClientFailure(f"{name}: no EndTxn request reached the proxy within {STEP_TIMEOUT:g} s")

    def _op_LateEndTxn(self, name: str, c: int) -> None:
        h = self.proxy.wait_held("request", None, 0, key=END_TXN)
        if h is None:
            raise ClientFailure(f"{name}: the proxy holds no EndTxn request")
        self.proxy.decide(h, forward=True)
        # The response says the coordinator has decided (PrepareCommit written); the producer,
        # still waiting for it in the background, gets it; then the markers.
        r = self.proxy.wait_held("response", None, STEP_TIMEOUT, key=END_TXN)
        if r is None:
            raise ClientFailure(f"{name}: no EndTxn response within {STEP_TIMEOUT:g} s")
        self.proxy.decide(r, forward=True)
        self._settled(name)

    def _settled(self, name: str) -> None:
        """Wait until the coordinator has written the markers: commit_transaction() returns at
        PrepareCommit (the decision), the markers follow (the model's step is both)."""
        end = time.monotonic() + STEP_TIMEOUT
        while describe_transaction(self.port, self.tid)["state"] in ("PrepareCommit", "PrepareAbort"):
            if time.monotonic() > end:
                raise ClientFailure(f"{name}: the transaction's markers were not written within {STEP_TIMEOUT:g} s")
            time.sleep(0.02)

    def _op_TxnTimeout(self, name: str, k: int) -> None:
        # The coordinator's own timer, set short (TXN_TIMEOUT_MS, checked every 100 ms): the step waits
        # for its observed effect, the transaction aborted under a bumped epoch. Had it fired before this
        # step, an earlier step's `ongoing t0` or `i0 fenced` would have mismatched.
        before = describe_transaction(self.port, self.tid)
        if before["state"] != "Ongoing" or before["timeout_ms"] != TXN_TIMEOUT_MS:
            raise ClientFailure(f"{name}: the coordinator has no ongoing transaction with transaction.timeout.ms "
                                f"{TXN_TIMEOUT_MS} (state {before['state']}, timeout {before['timeout_ms']} ms)")
        seen: dict[str, Any] = {}

        def aborted() -> bool:
            txn = seen["txn"] = describe_transaction(self.port, self.tid)
            return txn["epoch"] != before["epoch"] and txn["state"] not in ("Ongoing", "PrepareAbort")
        left = max(0.0, before["start_ms"] + TXN_TIMEOUT_MS - time.time() * 1000) / 1000  # until the timer is due
        if not wait_for(aborted, left + STEP_TIMEOUT):
            txn = seen["txn"]
            raise ClientFailure(f"{name}: the coordinator did not abort the transaction within {STEP_TIMEOUT:g} s "
                                f"of its {TXN_TIMEOUT_MS} ms timeout (state {txn['state']}, epoch {txn['epoch']})")
        txn = seen["txn"]
        self.asked.add((txn["producer"], txn["epoch"]))
        self.timed_out = {"before": before, "after": txn, "at_ms": time.time() * 1000}

    def _op_Close(self, name: str, c: int) -> None:
        # The fenced producer's next request (the held Produce request, forwarded, at stage added;
        # AddOffsetsToTxn at sent; EndTxn at offsets) must fail; then the instance closes both clients.
        w = self._instance(c, name)
        h = self.proxy.wait_held("request", getattr(self, "polled", None), 0)
        gone = None
        if h is not None:
            gone = h.src.fileno() == -1  # the client gave up on the request and closed its connection
            if gone:
                self.proxy.decide(h, forward=False, close=True)
            else:
                self._forward(name, h)
        view = w.call("txn_view")
        reply = {**w.call("txn_close", timeout=CLIENT_TIMEOUT), "connection_gone": gone, "before": view}
        self.closed_with.append(reply)
        try:
            w.proc.wait(CLIENT_TIMEOUT)
        except subprocess.TimeoutExpired:  # a process that does not exit after close() is killed below
            pass
        w.kill()
        self.instances[c] = None
        if not reply["failed"]:
            raise ClientFailure(f"{name}: the fenced producer's next request (stage {reply['stage']}) succeeded")

    def _op_Crash(self, name: str, c: int) -> None:
        self._instance(c, name).kill()
        self.instances[c] = None
        for h in self.proxy.held():  # what the dead process sent and the proxy holds never arrives
            self.proxy.decide(h, forward=False, close=True)

    def _op_Restart(self, name: str, c: int) -> None:
        self._start(c)  # init_transactions() returns once the old epoch's transaction is aborted
        self._settled(name)

    def _op_FetchOffset(self, name: str, c: int) -> None:
        self._instance(c, name).call("txn_seek", offset=None, timeout=CLIENT_TIMEOUT)

    def _op_Read(self, name: str, c: int) -> None:
        before = self._reader_position()
        data = [r["offset"] for r, _ in outcomes(read_batches(self.out_folder))]
        nxt = next((o for o in data if o >= before), None)
        if nxt is None:
            raise ClientFailure(f"{name}: no output record at or after the reader's position {before}")
        end = time.monotonic() + STEP_TIMEOUT
        while True:
            m = self.reader.poll(0.2)
            if m is not None and m.error() is None:
                self.read_values = getattr(self, "read_values", []) + [m.value()]
                return
            if self._reader_position() > nxt:
                return
            if time.monotonic() > end:
                raise ClientFailure(f"{name}: the reader neither delivered nor passed offset {nxt} "
                                    f"within {STEP_TIMEOUT:g} s")

    # --------------------------------------------------------------- observations
    def _reader_position(self) -> int:
        pos = self.reader.position([self.ck.TopicPartition(self.output, PARTITION)])[0].offset
        return max(pos, 0)

    def model_view(self, state: tuple[int, ...]) -> dict[str, Any]:
        j = self.system.as_json_state(state)
        v: dict[str, Any] = {"committed": j["committed"], "owner": j["owner"]}
        for k in range(len(j["ongoing"])):
            v[f"ongoing t{k}"] = j["ongoing"][k]
            v[f"added t{k}"] = j["added"][k]
            v[f"pend t{k}"] = j["pend"][k]
        v["output"] = [f"out{j['out_val'][o]}/t{j['out_tid'][o]} {j['out_st'][o]}" for o in range(j["out_len"])]
        v["reader at"] = j["rd"]
        for c in range(len(j["st"])):
            v[f"i{c}"] = j["st"][c]
            if j["st"][c] != "down":  # a dead process has no loop, position or producer
                v[f"i{c} stage"] = j["pc"][c]
                v[f"i{c} fenced"] = j["fenced"][c]
                if j["pc"][c] != "starting":  # before FetchOffset the restarted consumer has no position
                    v[f"i{c} position"] = j["pos"][c]
        return v

    def observed_view(self, keys: list[str]) -> dict[str, Any]:
        try:
            committed = self.observer.committed([self.ck.TopicPartition(self.input, PARTITION)],
                                                timeout=CALL_TIMEOUT)[0].offset
        except self.ck.KafkaException as e:
            raise ClientFailure(f"reading the committed offset: {e}") from None
        txn = describe_transaction(self.port, self.tid)
        owners = [c for c, w in enumerate(self.instances) if w is not None and w.alive]
        v: dict[str, Any] = {"committed": committed, "owner": owners[0] if owners else 0}
        v["ongoing t0"] = txn["state"] == "Ongoing"
        v["added t0"] = f"{self.output}-{PARTITION}" in txn["partitions"]
        v["pend t0"] = pending_offset(read_batches(self.offsets_folder), self.group, self.input)
        out, data = [], outcomes(read_batches(self.out_folder))
        for r, st in data:
            m = self.pattern.search(r["value"])
            if m is None:
                raise ClientFailure(f"an output record no step wrote: {r['value'][:60]!r}")
            t = 0 if r["producer"] == txn["producer"] else f"producer {r['producer']}"
            out.append(f"out{int(m.group(1))}/t{t} {st}")
        v["output"] = out
        pos = self._reader_position()
        v["reader at"] = sum(1 for r, _ in data if r["offset"] < pos)
        for c, w in enumerate(self.instances):
            if w is None or not w.alive:
                v[f"i{c}"] = "down"
                continue
            view = w.call("txn_view")
            v[f"i{c}"] = "member"
            v[f"i{c} stage"] = view["stage"]
            # fenced: a fatal error, or an epoch the coordinator bumped since the producer's last accepted call
            v[f"i{c} fenced"] = view["fatal"] is not None or self.epochs[c] != (txn["producer"], txn["epoch"])
            if view["stage"] != "starting":
                v[f"i{c} position"] = view["position"]
        return v

    def next_poll(self, state: tuple[int, ...]) -> None:
        return None  # the reader's next record is compared by the model's Read steps

    def close(self) -> None:
        for c, w in enumerate(self.instances):
            if w is not None:
                w.kill()
                self.instances[c] = None
        if self.proxy is not None:
            for h in self.proxy.held():  # nothing of this trace reaches the broker after it
                self.proxy.decide(h, forward=False, close=True)
            self.proxy.reset_gate()
        for client in (self.observer, self.reader):
            if client is not None:
                client.close()
        self.observer = self.reader = None
