"""The real side: librdkafka's in-process mock cluster, a producer, an observer, consumer processes.

A client created with `test.mock.num.brokers=1` starts a mock cluster inside its own
process (librdkafka CONFIGURATION.md, `test.mock.num.brokers`); the bootstrap address
comes from list_topics(), and any client, in this process or another, can use it. The
mock implements the Kafka protocol (produce, fetch, offset commit and fetch, groups)
but is not a broker: one replica, no retention, no offset expiry, no failures unless
injected. Every object here has close(); `MockCluster` closes all it made.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import time
from typing import Any

from checker import CheckerError, interrupt

TOPIC = "conform"
PARTITION = 0  # the models have one partition; the mock creates 4 per topic, the rest stay empty
GROUP = "conform-group"
NO_OFFSET = -1001  # librdkafka's OFFSET_INVALID: no committed offset, or no position yet
CALL_TIMEOUT = 20.0  # seconds one request to a consumer process may take before the run is abandoned


class ClientFailure(Exception):
    """The real client failed or did not answer in time: the run is incomplete, not a mismatch."""


def quiet_logger() -> logging.Logger:
    log = logging.getLogger("conform.librdkafka")
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    log.propagate = False  # librdkafka's notices (e.g. "Mock cluster enabled") stay off stderr
    return log


def import_client():
    try:
        import confluent_kafka
    except ImportError:
        raise CheckerError("conform needs the confluent-kafka client; install it with "
                           "pip install 'kafka-semantics-checker[conform]' (./setup.sh does)") from None
    return confluent_kafka


def client_version() -> str:
    ck = import_client()
    v = ck.version()  # a string in recent releases, a (string, int) pair in older ones
    return f"confluent-kafka {v if isinstance(v, str) else v[0]} (librdkafka {ck.libversion()[0]})"


@contextlib.contextmanager
def client_failures(ck: Any, what: str):
    """A client error or timeout inside makes the run incomplete (exit 3), never a traceback:
    confluent_kafka's exceptions, a full producer queue, and an admin future's timeout or
    KafkaError raised from result()."""
    try:
        yield
    except (ck.KafkaException, BufferError) as e:
        raise ClientFailure(f"{what}: {e}") from None
    except Exception as e:
        if type(e).__module__.startswith(("concurrent", "confluent_kafka", "cimpl")):
            raise ClientFailure(f"{what}: {e}") from None
        raise


class ConsumerProcess:
    """One consumer in a child process (conform/worker.py); kill() is the model's crash."""

    def __init__(self, bootstrap: str, conf: dict[str, Any], topic: str = TOPIC,
                 producer: dict[str, Any] | None = None):
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        self.proc = subprocess.Popen([sys.executable, "-m", "conform.worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
        interrupt.adopt(self.proc)  # an interrupted run kills it (checker/interrupt.py)
        try:
            self.call("start", conf={"bootstrap.servers": bootstrap, **conf}, topic=topic, partition=PARTITION,
                      producer=producer)
        except BaseException:
            self.kill()  # no half-started process is left behind
            raise

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def call(self, op: str, **args: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise ClientFailure(f"the consumer process died before {op}") from None
        ready, _, _ = select.select([self.proc.stdout], [], [], CALL_TIMEOUT)
        if not ready:
            self.kill()
            raise ClientFailure(f"the consumer did not answer {op} within {CALL_TIMEOUT:g} s")
        line = self.proc.stdout.readline()
        if not line:
            raise ClientFailure(f"the consumer process died during {op}")
        try:
            reply = json.loads(line)
        except ValueError:
            raise ClientFailure(f"the consumer answered {op} with something else than JSON: {line[:200]!r}") from None
        if "error" in reply:
            raise ClientFailure(f"the consumer failed {op}: {reply['error']}")
        return reply

    def kill(self) -> None:
        """kill -9: no close(), no commit, the in-memory position and stored offsets are gone."""
        if self.alive:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        interrupt.release(self.proc)
        self._release()

    def close(self) -> None:
        """consumer.close(), then the process exits."""
        if self.alive:
            self.call("close")
            try:
                self.proc.wait(CALL_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
        interrupt.release(self.proc)
        self._release()

    def _release(self) -> None:
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None and not f.closed:
                try:
                    f.close()
                except BrokenPipeError:
                    pass


class MockCluster:
    """A fresh mock cluster with a producer and an observer of the group's committed offset."""

    def __init__(self, committed: int | None):
        ck = import_client()
        self._ck = ck
        self.consumers: list[ConsumerProcess] = []
        # The producer creates the cluster and keeps it alive: the cluster lives as long as it.
        self.producer = ck.Producer({"test.mock.num.brokers": 1, "logger": quiet_logger()})
        self.observer = None
        try:
            md = self.producer.list_topics(timeout=10)
            self.bootstrap = ",".join(f"{b.host}:{b.port}" for b in md.brokers.values())
            # Never assigned nor subscribed: it only reads the group's committed offset and
            # the log end, so it takes no part in the group.
            self.observer = ck.Consumer({"bootstrap.servers": self.bootstrap, "group.id": GROUP,
                                         "enable.auto.commit": False, "logger": quiet_logger()})
            self.tp = ck.TopicPartition(TOPIC, PARTITION)
            self.producer.list_topics(TOPIC, timeout=10)  # the mock creates the topic on first use
            if committed is not None:  # the model's initial committed offset (a group that ran before)
                self.observer.commit(offsets=[ck.TopicPartition(TOPIC, PARTITION, committed)], asynchronous=False)
        except Exception as e:
            self.close()
            if isinstance(e, ck.KafkaException):
                raise ClientFailure(f"starting the mock cluster: {e}") from None
            raise

    def produce(self) -> None:
        with self._failures("produce"):
            self.producer.produce(TOPIC, value=b"m", partition=PARTITION)
            left = self.producer.flush(CALL_TIMEOUT)
        if left != 0:
            raise ClientFailure("the producer did not deliver within the timeout")

    def log_end(self) -> int:
        with self._failures("reading the log end offset"):
            return self.observer.get_watermark_offsets(self.tp, timeout=CALL_TIMEOUT)[1]

    def log_start(self) -> int:
        with self._failures("reading the log start offset"):
            return self.observer.get_watermark_offsets(self.tp, timeout=CALL_TIMEOUT)[0]

    def committed(self) -> int:
        """The group's committed offset, -1001 (librdkafka's OFFSET_INVALID) when there is none."""
        with self._failures("reading the committed offset"):
            return self.observer.committed([self.tp], timeout=CALL_TIMEOUT)[0].offset

    def commit(self, offset: int) -> None:
        """Commit `offset` for the partition from the observer: another client with the same
        group.id that never joined the group, as a consumer using assign() is (C11)."""
        with self._failures("committing from another client of the group"):
            self.observer.commit(offsets=[self._ck.TopicPartition(TOPIC, PARTITION, offset)], asynchronous=False)

    def _failures(self, what: str):
        return client_failures(self._ck, what)

    def consumer(self, conf: dict[str, Any]) -> ConsumerProcess:
        c = ConsumerProcess(self.bootstrap, {"group.id": GROUP, **conf})
        self.consumers.append(c)
        return c

    def close(self) -> None:
        for c in self.consumers:
            c.kill()  # at the end of a run every consumer is just stopped: nothing is observed any more
        self.consumers = []
        if self.observer is not None:
            self.observer.close()
            self.observer = None
        if self.producer is not None:
            self.producer.flush(1)
            self.producer = None  # the mock cluster goes with the last reference to its client


def wait_for(predicate, seconds: float, every: float = 0.05) -> bool:
    """Poll `predicate` until it is true or `seconds` have passed (for the real timer test)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(every)
    return predicate()
