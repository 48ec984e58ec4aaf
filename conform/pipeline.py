"""The `pipeline` model's traces on a real broker: librdkafka's producer behind the proxy, a consumer.

Each action of spec/pipeline.py and of its failure mode request-timeout becomes real
operations on the real cluster (conform/realcluster.py), with the producer
(confluent_kafka's, in this process) talking to the broker only through the loopback
proxy's produce gate (conform/proxy.py), which holds every Produce request and response
until the step that moves it:

- Send(m): `produce()` of the record whose value names message m; the step ends when
  the request carrying it is held at the proxy (on the wire).
- Append(m): the proxy forwards the request; the broker writes it (or, idempotent,
  recognises the duplicate sequence and does not); the step ends when the broker's
  response is held at the proxy (acks=0, which has no response: when the record is in
  the broker's log and its high watermark has reached its log end).
- Ack(m): the proxy forwards the response; the step ends at the delivery report.
- LoseRequest(m) / LoseResponse(m): the proxy drops the held request (the broker never
  sees it) or response (the broker wrote the record) and closes the producer's
  connection; the producer sees a transport error, and while it has a retry left its
  reconnection waits in the proxy's listen backlog.
- Retry(m): the proxy accepts connections again; librdkafka resends m by itself (its
  `retries`), and the step ends when that request is held at the proxy.
- Poll, Process, Commit: a librdkafka consumer process (conform/worker.py) polls one
  record (its value names the message), the harness counts the side effect (by message,
  by message id for sink=idempotent, by offset for sink=idempotent-by-offset), and
  `commit()` commits the position.

What is compared after each step, all read from the cluster or the clients: each
message's producer-side status (`producer mK`: the delivery report, or where the proxy
holds or lost its request or response), the replica's log (`log r0`: the message ids in
the broker's log segments, parsed from its data folder), the high watermark (ListOffsets
latest), the group's committed offset, the consumer's position, what it holds and how
often each message was processed.

Rows not driven (`row_not_driven`) say why: on the three-broker cluster a follower held
back by SIGSTOP is fenced by the controller before the leader's failure is through, and
the partition passes through states the model does not have (measured, see the reason);
with two requests in flight, librdkafka resends both when one is lost, and the broker
takes an idempotent producer's second request first (both measured).
`partition_state` reads the partition's leader and ISR from one broker's metadata, which
the measurement behind that reason uses (tests/test_realkafka.py).
"""

from __future__ import annotations

import os
import re
import struct
import time
from typing import Any

from checker.result import Trace

from .cluster import CALL_TIMEOUT, PARTITION, ClientFailure, ConsumerProcess, quiet_logger
from .segments import read_batches

__all__ = ["DRIVEN", "PipelineDriver", "row_not_driven", "read_log", "MOCK_REASON", "JAVA_REASON"]

# Each record's value names its message (the model's message id) and its trace's topic, so a
# frame a finished trace's producer still sends is not taken for this trace's.
VALUE = "pipeline-message-{}@{}."
STEP_TIMEOUT = 20.0  # seconds a step may wait for the frame or report it forces
POLL_FIRST = 5.0  # seconds a poll waits for a record the high watermark covers
POLL_NOTHING = 1.0  # ... when the model says there is none (the end-of-trace check)

# The actions this driver performs (the base names of the model's actions).
DRIVEN = frozenset({"Send", "Append", "Ack", "Retry", "LoseRequest", "LoseResponse", "Poll", "Process", "Commit"})

MOCK_REASON = ("the pipeline rows run on the real broker (the librdkafka backend): the replica's log is read from "
               "its log segments on disk and lost produce requests and responses are forced by the proxy in front "
               "of a broker's socket; the mock cluster keeps its log in memory inside the client")
JAVA_REASON = ("the pipeline rows drive librdkafka's producer and consumer (the librdkafka backend); the Java "
               "driver (conform/kafka/Conform.java) has consumer commands only")


def row_not_driven(params: dict[str, Any], failures: tuple[str, ...]) -> str | None:
    """Why the pipeline row with these parameters cannot be driven on the real broker, or None."""
    if int(params.get("replicas", 1)) > 1:
        # Measured on the three-broker cluster (docs/conformance.md, "The pipeline rows").
        return ("replicas>1: a follower held back by SIGSTOP stops heartbeating to the controller too; measured "
                "(Kafka 4.1.1, broker.session.timeout.ms=30000): the leader's controlled shutdown waited 28-33 s "
                "until the paused follower was fenced, the partition went offline with an empty ISR (KIP-966), "
                "and the resumed follower was elected, without the acknowledged record or, when the leader had "
                "answered its fetch request sent before the pause, with it; the model's steps BrokerFails (the "
                "follower alive and in the ISR) then Elect have no real counterpart in that order, nor its Fetch "
                "of one record where a follower fetches every batch the leader has")
    if int(params.get("in_flight", 1)) > 1 and params.get("idempotence") == "yes":
        # Measured with the proxy swallowing m0's request alone (tests/test_realkafka.py pins it).
        return ("max.in.flight.requests.per.connection=2 with enable.idempotence: a mismatch of the model with "
                "Kafka 4.1.1; after Send(0), Send(1), LoseRequest(0) (the proxy swallows m0's request and keeps "
                "the connection), Append(1) writes m1, sequence 1, although sequence 0 never reached the broker "
                "(it has no state for the producer on the partition yet and takes any first sequence), where "
                "the model's Append refuses it (OUT_OF_ORDER_SEQUENCE_NUMBER)")
    if int(params.get("in_flight", 1)) > 1:
        return ("max.in.flight.requests.per.connection=2: measured, after Send(0), Send(1), LoseRequest(0) (the "
                "proxy swallows m0's request and keeps the connection) and Append(1) (the broker writes m1), "
                "librdkafka resends m0 only when it times the request out (about 60 s later, with "
                "request.timeout.ms=5000), and then resends "
                "m1 too, whose response was on its way: the model's lost request alone, with the other one "
                "answered, has no librdkafka counterpart")
    return None


# --------------------------------------------------------------------------- the broker's log on disk

def read_log(folder: str) -> list[tuple[int, bytes]]:
    """(offset, value) of every message in a partition's log segments; transaction markers hold none."""
    return [(r["offset"], r["value"]) for r in read_batches(folder) if not r["control"]]


def tag(topic: str) -> re.Pattern[bytes]:
    """The values of `topic`'s trace: the message id is the group."""
    return re.compile(rb"pipeline-message-(\d+)@" + re.escape(topic.encode()) + rb"\.")


def message_of(value: bytes | str, pattern: re.Pattern[bytes]) -> int:
    m = pattern.search(value.encode() if isinstance(value, str) else value)
    if m is None:
        raise ClientFailure(f"a record that no message of the trace wrote: {value[:60]!r}")
    return int(m.group(1))


# --------------------------------------------------------------------------- the driver

class PipelineDriver:
    """One pipeline trace on the real cluster: a topic, the producer behind the proxy's gate, one consumer."""

    def __init__(self, trace: Trace, kafka: Any):
        from .cluster import import_client
        from confluent_kafka.admin import AdminClient, NewTopic

        s = trace.system
        self.system, self.p = s, s.params
        self.by_name = {a.name: a for a in s.actions}
        self.ck = ck = import_client()
        self.kafka = kafka
        self.proxy = kafka.proxy
        n = kafka.next_id()
        self.topic, self.group = f"conform-pipeline-{n}", f"conform-pipeline-group-{n}"
        broker = kafka.cluster.broker_nodes[0]
        self.folder = os.path.join(broker.dir, "data", f"{self.topic}-{PARTITION}")
        self.bootstrap = kafka.cluster.bootstrap
        self.tp = ck.TopicPartition(self.topic, PARTITION)
        self.tag = tag(self.topic)
        self.producer = self.observer = self.consumer = None
        self.delivered: dict[int, str] = {}  # message -> "ok" or the delivery report's error
        self.produced: set[int] = set()
        self.retried = 0  # Retry steps taken: the producer's retries used
        self.in_hand: list[tuple[int, int]] = []  # (offset, message) polled, not processed
        self.processed: dict[int, int] = {}
        self.applied: set[int] = set()  # sink=idempotent-by-offset: offsets whose effect ran
        self.admin = AdminClient({"bootstrap.servers": self.bootstrap, "logger": quiet_logger()})
        try:
            fut = self.admin.create_topics([NewTopic(self.topic, 1, 1)], operation_timeout=CALL_TIMEOUT)
            fut[self.topic].result(CALL_TIMEOUT)
            self.proxy.gate_produce(lambda frame: frozenset(int(x) for x in self.tag.findall(frame)))
            conf = {"bootstrap.servers": f"127.0.0.1:{self.proxy.port}", "acks": {"0": "0", "1": "1"}.get(
                        self.p["acks"], "all"), "enable.idempotence": self.p["idempotence"] == "yes",
                    "message.send.max.retries": self.p["retries"],
                    "max.in.flight.requests.per.connection": self.p["in_flight"], "linger.ms": 0,
                    "logger": quiet_logger()}
            self.producer = ck.Producer(conf)
            self.observer = ck.Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.group,
                                         "enable.auto.commit": False, "logger": quiet_logger()})
            # The model starts with committed offset 0: the group commits it, as a real group that read nothing.
            self.observer.commit(offsets=[ck.TopicPartition(self.topic, PARTITION, 0)], asynchronous=False)
            self.consumer = ConsumerProcess(self.bootstrap, {"group.id": self.group, "enable.auto.commit": False,
                                                             "auto.offset.reset": "earliest"}, topic=self.topic)
            self.consumer.call("assign")
        except self._errors() as e:
            self.close()
            raise ClientFailure(f"setting up the pipeline session: {e}") from None
        except BaseException:
            self.close()
            raise

    def _errors(self) -> tuple[type, ...]:
        return (self.ck.KafkaException, BufferError)

    # --------------------------------------------------------------- steps
    def do(self, name: str) -> None:
        a = self.by_name[name]
        if a.base not in DRIVEN:
            raise ValueError(f"{name} is not driven")  # replay_on_client checks first: a bug if reached
        getattr(self, f"_op_{a.base}")(name, a.index if a.index is not None else 0)

    def _held(self, kind: str, m: int, name: str):
        h = self.proxy.wait_held(kind, m, STEP_TIMEOUT)
        if h is None:
            raise ClientFailure(f"{name}: no produce {kind} carrying message {m} reached the proxy "
                                f"within {STEP_TIMEOUT:g} s")
        return h

    def _report(self, m: int) -> None:
        self.delivered[m] = "ok"

    def _serve(self, seconds: float = 0.0) -> None:
        self.producer.poll(seconds)  # delivery reports arrive through poll()

    def _op_Send(self, name: str, m: int) -> None:
        def report(err, msg, m=m):
            self.delivered[m] = "ok" if err is None else str(err)

        try:
            self.producer.produce(self.topic, value=VALUE.format(m, self.topic).encode(), partition=PARTITION, on_delivery=report)
        except self._errors() as e:
            raise ClientFailure(f"{name}: produce: {e}") from None
        self.produced.add(m)
        self._held("request", m, name)
        self._serve()

    def _op_Append(self, name: str, m: int) -> None:
        before = len(read_log(self.folder))
        self.proxy.decide(self._held("request", m, name), forward=True)
        if self.p["acks"] != "0":
            self._held("response", m, name)
            return
        # acks=0: the broker answers nothing; the step ends when it has handled the request: the
        # record in its log and its high watermark at its log end (the leader moves it after the
        # write; read between the two, a run in eight saw the record with the watermark behind).
        end = time.monotonic() + STEP_TIMEOUT
        while True:
            written = len(read_log(self.folder))
            if written > before and self._hw() >= written:
                return
            if time.monotonic() > end:
                raise ClientFailure(f"{name}: the broker did not handle message {m} within {STEP_TIMEOUT:g} s")
            time.sleep(0.02)

    def _op_Ack(self, name: str, m: int) -> None:
        self.proxy.decide(self._held("response", m, name), forward=True)
        end = time.monotonic() + STEP_TIMEOUT
        while m not in self.delivered:
            if time.monotonic() > end:
                raise ClientFailure(f"{name}: no delivery report for message {m} within {STEP_TIMEOUT:g} s")
            self._serve(0.05)

    def _lose(self, kind: str, name: str, m: int) -> None:
        # librdkafka resends a failed request by itself while it has retries (acks=0 never does):
        # its reconnection is held in the proxy's backlog, so the resend waits for the model's Retry.
        retry = self.p["acks"] != "0" and self.retried < self.p["retries"]
        alone = self.p["in_flight"] > 1  # the other request on the connection lives on
        self.proxy.decide(self._held(kind, m, name), forward=False, hold_reconnect=retry and not alone,
                          close=not alone)
        self._serve()

    def _op_LoseRequest(self, name: str, m: int) -> None:
        self._lose("request", name, m)

    def _op_LoseResponse(self, name: str, m: int) -> None:
        self._lose("response", name, m)

    def _op_Retry(self, name: str, m: int) -> None:
        self.retried += 1
        self.proxy.open_gate()
        end = time.monotonic() + STEP_TIMEOUT
        while self.proxy.wait_held("request", m, 0.05) is None:  # librdkafka resends by itself
            if time.monotonic() > end:
                raise ClientFailure(f"{name}: the producer did not resend message {m} within {STEP_TIMEOUT:g} s")
            self._serve()

    def _op_Poll(self, name: str, c: int) -> None:
        reply = self.consumer.call("poll", max=1, first=POLL_FIRST, end=self._hw())
        self.in_hand = [(o, message_of(v, self.tag)) for o, v in zip(reply["offsets"], reply["values"])]

    def _op_Process(self, name: str, c: int) -> None:
        if not self.in_hand:
            raise ClientFailure(f"{name}: the consumer has no record in hand to process")
        offset, m = self.in_hand.pop(0)
        n = self.processed.get(m, 0)
        sink = self.p["sink"]
        if sink == "idempotent":  # keyed by the message id: a second copy changes nothing
            self.processed[m] = max(n, 1)
        elif sink == "idempotent-by-offset":  # keyed by the record's offset: a copy at a new offset applies
            if offset not in self.applied:
                self.applied.add(offset)
                self.processed[m] = n + 1
        else:
            self.processed[m] = n + 1

    def _op_Commit(self, name: str, c: int) -> None:
        self.consumer.call("commit", offset=None)

    # --------------------------------------------------------------- observations
    def _hw(self) -> int:
        try:
            return self.observer.get_watermark_offsets(self.tp, timeout=CALL_TIMEOUT, cached=False)[1]
        except self._errors() as e:
            raise ClientFailure(f"reading the high watermark: {e}") from None

    def _status(self, m: int) -> str:
        """Message m on the producer side, from the delivery report and what the proxy did with its frames."""
        report, event = self.delivered.get(m), self.proxy.events.get(m)
        if report not in (None, "ok"):
            return "failed"
        if event == "held request":
            return "wire"
        if event == "held response":
            return "waiting"
        if event in ("lost request", "lost response"):
            return "dropped" if self.p["acks"] == "0" else "failed"
        if report == "ok":
            return "acked"
        return "unsent" if m not in self.produced else f"sent ({event or 'not at the proxy'})"

    def model_view(self, state: tuple[int, ...]) -> dict[str, Any]:
        j = self.system.as_json_state(state)
        v: dict[str, Any] = {f"producer m{m}": st for m, st in enumerate(j["pst"])}
        v["log r0"] = [f"m{x}" for x in j["log"][0][:j["leo"][0]]]
        v["hw"] = j["hw"]
        v["committed"] = j["committed"]
        for m, n in enumerate(j["processed"]):
            v[f"processed[{m}]"] = n
        v["in hand"] = [f"m{j['cur']}"] if j["pc"] in ("fetched", "committed") else []
        v["position"] = j["position"]
        return v

    def observed_view(self, keys: list[str]) -> dict[str, Any]:
        self._serve()
        v: dict[str, Any] = {f"producer m{m}": self._status(m) for m in range(self.p["messages"])}
        v["log r0"] = [f"m{message_of(val, self.tag)}" for _, val in read_log(self.folder)]
        v["hw"] = self._hw()
        try:
            committed = self.observer.committed([self.tp], timeout=CALL_TIMEOUT)[0].offset
        except self._errors() as e:
            raise ClientFailure(f"reading the committed offset: {e}") from None
        v["committed"] = committed
        for m in range(self.p["messages"]):
            v[f"processed[{m}]"] = self.processed.get(m, 0)
        v["in hand"] = [f"m{m}" for _, m in self.in_hand]
        pos = self.consumer.call("position")["position"]
        v["position"] = None if pos < 0 else pos  # none: librdkafka has handed out nothing since assign()
        return v

    def next_poll(self, state: tuple[int, ...]) -> tuple[str, list[str], list[str]] | None:
        """After the last step: the record the consumer's next poll returns, per the model and for real."""
        j = self.system.as_json_state(state)
        if j["pc"] != "idle":
            return None
        pos, hw = j["position"], j["hw"]
        expect = [f"m{j['log'][j['leader']][pos]}"] if pos < hw else []
        reply = self.consumer.call("poll", max=1, first=POLL_FIRST if expect else POLL_NOTHING, end=self._hw())
        return "next poll", expect, [f"m{message_of(v, self.tag)}" for v in reply["values"]]

    def close(self) -> None:
        if self.consumer is not None:
            self.consumer.kill()
            self.consumer = None
        if self.proxy is not None:
            self.proxy.reset_gate()  # whatever is held goes on, so the producer can be flushed
        if self.observer is not None:
            self.observer.close()
            self.observer = None
        if self.producer is not None:
            self.producer.purge()  # nothing of this trace is resent into the next one's
            self.producer.flush(1)
            self.producer = None


# --------------------------------------------------------------------------- the partition's state from one broker

def _string(b: bytes, i: int) -> tuple[str | None, int]:
    n = struct.unpack(">h", b[i:i + 2])[0]
    i += 2
    return (None, i) if n < 0 else (b[i:i + n].decode(), i + n)


def _ints(b: bytes, i: int) -> tuple[list[int], int]:
    n = struct.unpack(">i", b[i:i + 4])[0]
    i += 4
    return list(struct.unpack(f">{n}i", b[i:i + 4 * n])), i + 4 * n


def partition_state(port: int, topic: str, timeout: float = CALL_TIMEOUT) -> tuple[int, list[int]]:
    """(leader, ISR) of partition 0 of `topic` in the metadata of the broker at `port`.

    A Metadata request (version 8) on a socket of its own: a client library sends its
    metadata requests to whichever broker it likes, and a paused broker would hold them."""
    import socket

    name = topic.encode()
    body = struct.pack(">i", 1) + struct.pack(">h", len(name)) + name + b"\x00\x00\x00"
    client = b"conform"
    req = struct.pack(">hhih", 3, 8, 1, len(client)) + client + body
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(struct.pack(">i", len(req)) + req)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                raise ClientFailure(f"broker at port {port} closed the metadata connection")
            data += chunk
    b, i = data[4:], 8  # correlation id, throttle time
    n = struct.unpack(">i", b[i:i + 4])[0]
    i += 4
    for _ in range(n):  # brokers: id, host, port, rack
        i += 4
        _, i = _string(b, i)
        i += 4
        _, i = _string(b, i)
    _, i = _string(b, i)  # cluster id
    i += 4  # controller id
    n = struct.unpack(">i", b[i:i + 4])[0]
    i += 4
    for _ in range(n):
        i += 2  # error
        tname, i = _string(b, i)
        i += 1  # is_internal
        parts = struct.unpack(">i", b[i:i + 4])[0]
        i += 4
        for _ in range(parts):
            _, index, leader, _ = struct.unpack(">hiii", b[i:i + 14])
            i += 14
            _, i = _ints(b, i)  # replicas
            isr, i = _ints(b, i)
            _, i = _ints(b, i)  # offline replicas
            if tname == topic and index == PARTITION:
                return leader, sorted(isr)
        i += 4  # topic authorized operations
    raise ClientFailure(f"broker at port {port} has no metadata for {topic}-{PARTITION}")
