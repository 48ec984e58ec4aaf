"""The backends a trace replays on: which client, against which cluster.

- `mock`: confluent-kafka (librdkafka) against librdkafka's in-process mock cluster
  (conform/cluster.py), a fresh one per trace.
- `librdkafka`: the same client against a real Apache Kafka broker (conform/realcluster.py).
- `java-classic`: the Java KafkaConsumer (kafka-clients) with group.protocol=classic, on
  the real broker.
- `java-consumer`: the Java KafkaConsumer with group.protocol=consumer (KIP-848; the
  AsyncKafkaConsumer), on the real broker.

The three real backends share one single-broker cluster per run; each trace gets its own
topic and group (`conform-N`, `conform-group-N`), so traces do not see each other.
`--backend kafka` is the three real ones, `all` every one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from .cluster import (CALL_TIMEOUT, GROUP, PARTITION, TOPIC, ClientFailure, ConsumerProcess, client_failures,
                      import_client, quiet_logger)

__all__ = ["Backend", "BACKENDS", "CHOICES", "chosen", "RealKafka", "RealSession", "MOCK", "LIBRDKAFKA",
           "JAVA_CLASSIC", "JAVA_CONSUMER"]


@dataclass(frozen=True)
class Backend:
    name: str
    client: str  # "librdkafka" or "java": which model variant a row runs as (conform/traces.py)
    real: bool  # a real broker (RealKafka) or the mock cluster
    protocol: str = ""  # the Java consumer's group.protocol
    title: str = ""


MOCK = Backend("mock", "librdkafka", False, title="librdkafka on its in-process mock cluster")
LIBRDKAFKA = Backend("librdkafka", "librdkafka", True, title="librdkafka on Apache Kafka")
JAVA_CLASSIC = Backend("java-classic", "java", True, "classic", "the Java consumer (group.protocol=classic) on Apache Kafka")
JAVA_CONSUMER = Backend("java-consumer", "java", True, "consumer",
                        "the Java consumer (group.protocol=consumer, KIP-848) on Apache Kafka")
BACKENDS = {b.name: b for b in (MOCK, LIBRDKAFKA, JAVA_CLASSIC, JAVA_CONSUMER)}
CHOICES = {"mock": [MOCK], "kafka": [LIBRDKAFKA, JAVA_CLASSIC, JAVA_CONSUMER],
           "all": [MOCK, LIBRDKAFKA, JAVA_CLASSIC, JAVA_CONSUMER]}


def chosen(choice: str) -> list[Backend]:
    return CHOICES[choice]


class RealKafka:
    """A real single-broker cluster shared by the traces of a run; `session()` opens one trace's view."""

    def __init__(self, brokers: int = 1):
        from .realcluster import KafkaCluster, runtime

        self.rt = runtime()
        self.cluster = KafkaCluster(brokers, rt=self.rt, proxied=True)
        self.proxy = None
        self._n = itertools.count(1)
        self.failed = False

    def start(self) -> "RealKafka":
        from .proxy import Proxy

        try:
            self.cluster.start()
            assert self.cluster.proxied is not None
            self.proxy = Proxy(self.cluster.proxied[0], self.cluster.proxied[1])
        except BaseException:
            self.failed = True  # its logs are kept (stop() names the folder)
            raise
        return self

    def session(self, backend: Backend, committed: int | None, proxied: bool = False) -> "RealSession":
        """A fresh topic and group; with `proxied`, the consumers talk to the broker through
        the proxy (conform/proxy.py), which can lose a response on cue."""
        return RealSession(self, backend, self.next_id(), committed, proxied)

    def next_id(self) -> int:
        """A number no other trace of the run has: its topic's and group's suffix."""
        return next(self._n)

    def stop(self) -> str | None:
        if self.proxy is not None:
            self.proxy.close()
            self.proxy = None
        return self.cluster.stop(keep_logs=self.failed)


class RealSession:
    """One trace's topic and group on the real cluster: a producer, an observer, consumer processes.

    The same operations as MockCluster (conform/cluster.py), plus what only a broker does:
    DeleteRecords (the log start moves up, as retention moves it) and DeleteGroups (the
    group's committed offsets are gone, as when they expire)."""

    def __init__(self, kafka: RealKafka, backend: Backend, n: int, committed: int | None, proxied: bool = False):
        ck = import_client()
        from confluent_kafka.admin import AdminClient, NewTopic

        self._ck, self.kafka, self.backend = ck, kafka, backend
        self.topic, self.group = f"{TOPIC}-{n}", f"{GROUP}-{n}"
        self.bootstrap = kafka.cluster.bootstrap
        self.proxy = kafka.proxy if proxied else None
        self.consumer_bootstrap = f"127.0.0.1:{self.proxy.port}" if self.proxy is not None else self.bootstrap
        self.consumers: list[ConsumerProcess] = []
        self.producer = self.observer = None
        self.admin = AdminClient({"bootstrap.servers": self.bootstrap, "logger": quiet_logger()})
        try:
            with self._failures("creating the topic"):
                fut = self.admin.create_topics([NewTopic(self.topic, 1, 1)], operation_timeout=CALL_TIMEOUT)
                fut[self.topic].result(CALL_TIMEOUT)
            self.producer = ck.Producer({"bootstrap.servers": self.bootstrap, "acks": "all",
                                         "logger": quiet_logger()})
            self.observer = ck.Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.group,
                                         "enable.auto.commit": False, "logger": quiet_logger()})
            self.tp = ck.TopicPartition(self.topic, PARTITION)
            if committed is not None:
                self.commit(committed)
        except BaseException:
            self.close()
            raise

    def _failures(self, what: str):
        return client_failures(self._ck, what)

    def produce(self) -> None:
        with self._failures("produce"):
            self.producer.produce(self.topic, value=b"m", partition=PARTITION)
            left = self.producer.flush(CALL_TIMEOUT)
        if left != 0:
            raise ClientFailure("the producer did not deliver within the timeout")

    def log_end(self) -> int:
        with self._failures("reading the log end offset"):
            return self.observer.get_watermark_offsets(self.tp, timeout=CALL_TIMEOUT, cached=False)[1]

    def log_start(self) -> int:
        with self._failures("reading the log start offset"):
            return self.observer.get_watermark_offsets(self.tp, timeout=CALL_TIMEOUT, cached=False)[0]

    def committed(self) -> int:
        with self._failures("reading the committed offset"):
            return self.observer.committed([self.tp], timeout=CALL_TIMEOUT)[0].offset

    def commit(self, offset: int) -> None:
        """A commit by another client of the group.id that never joined it (C11)."""
        with self._failures("committing from another client of the group"):
            self.observer.commit(offsets=[self._ck.TopicPartition(self.topic, PARTITION, offset)],
                                 asynchronous=False)

    def delete_records(self, before: int) -> None:
        """Admin DeleteRecords: the log start moves to `before` (what retention does to a segment)."""
        with self._failures("deleting records"):
            fut = self.admin.delete_records([self._ck.TopicPartition(self.topic, PARTITION, before)],
                                            request_timeout=CALL_TIMEOUT)
            for f in fut.values():
                f.result(CALL_TIMEOUT)

    def expire_offsets(self) -> None:
        """Admin DeleteGroups on the empty group: its committed offsets are gone, as after
        offsets.retention.minutes (the coordinator's expiry deletes the same records)."""
        with self._failures("deleting the group's offsets"):
            self.observer.close()  # it holds no membership, but DeleteGroups wants no client in the way
            self.observer = None
            fut = self.admin.delete_consumer_groups([self.group], request_timeout=CALL_TIMEOUT)
            fut[self.group].result(CALL_TIMEOUT)
            self.observer = self._ck.Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.group,
                                               "enable.auto.commit": False, "logger": quiet_logger()})

    def lose_next_commit_response(self) -> None:
        """The proxy drops the broker's response to the next OffsetCommit (after it is stored)."""
        from .proxy import OFFSET_COMMIT

        if self.proxy is None:
            raise ClientFailure("losing a commit response needs the proxied session")
        self.proxy.lose_next_response(OFFSET_COMMIT)

    def consumer(self, conf: dict[str, Any]) -> ConsumerProcess:
        if self.backend.client == "java":
            from .realcluster import JavaConsumerProcess

            c: ConsumerProcess = JavaConsumerProcess(self.kafka.rt, self.consumer_bootstrap,
                                                     {"group.id": self.group, "group.protocol": self.backend.protocol,
                                                      **conf}, self.topic, PARTITION)
        else:
            c = ConsumerProcess(self.consumer_bootstrap, {"group.id": self.group, **conf}, topic=self.topic)
        self.consumers.append(c)
        return c

    def close(self) -> None:
        for c in self.consumers:
            c.kill()
        self.consumers = []
        if self.observer is not None:
            self.observer.close()
            self.observer = None
        if self.producer is not None:
            self.producer.flush(1)
            self.producer = None
