"""Every setting `checker check` understands: Kafka's own keys, the `app.` keys, and what each does here.

A key is `modelled` (it chooses the model instance), `not-modelled` (it bears on
delivery, but the models do not cover it; the reason says how the answer treats it) or
`no-effect` (it does not bear on delivery semantics: addresses, serializers, security,
tuning). Defaults are those of the client chosen by `app.client`, per its documentation:
Java (ProducerConfig, ConsumerConfig; 3.0 and later, and before 3.0 by `app.client.version`:
acks=1, enable.idempotence=false, KIP-679), librdkafka (CONFIGURATION.md).
With `transactional.id` the producer is idempotent with acks=all, and `isolation.level` is
the isolation of the output topic's readers (the eos model); `app.txn.fencing` says how a
zombie instance of the transactional loop is fenced (KIP-447 group metadata, one
transactional.id per input partition, or none).
Topic keys default to the broker's defaults (default.replication.factor=1,
min.insync.replicas=1, unclean.leader.election.enable=false, retention.ms 7 days).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..versions import CURRENT

__all__ = ["Key", "KEYS", "NO_EFFECT", "NO_EFFECT_PREFIXES", "CLIENTS"]

CLIENTS = ("java-classic", "java-consumer", "librdkafka")
INT_MAX = "2147483647"


@dataclass(frozen=True)
class Key:
    """One key: where it belongs, what values it takes, its default per client, what the model does with it."""

    name: str
    side: str  # consumer, producer, topic, app
    kind: str  # bool, int, choice, text, version
    choices: tuple[str, ...] = ()
    default: str | dict[str, str] | None = None  # one value, or by client; None: no default (unset)
    status: str = "modelled"  # modelled, not-modelled
    reason: str = ""  # not-modelled: why, and how the answer treats it
    aliases: dict[str, str] = field(default_factory=dict)  # a value Kafka also accepts -> its canonical one
    minimum: int | None = None

    def default_for(self, client: str) -> str | None:
        return self.default.get(client) if isinstance(self.default, dict) else self.default


def _keys(*keys: Key) -> dict[str, Key]:
    return {k.name: k for k in keys}


KEYS = _keys(
    # --- consumer
    Key("enable.auto.commit", "consumer", "bool", default="true"),
    Key("enable.auto.offset.store", "consumer", "bool", default={"librdkafka": "true"}),
    Key("max.poll.records", "consumer", "int", default={"java-classic": "500", "java-consumer": "500"}, minimum=1),
    Key("auto.offset.reset", "consumer", "choice", ("earliest", "latest", "none"), default="latest",
        aliases={"smallest": "earliest", "beginning": "earliest", "largest": "latest", "end": "latest",
                 "error": "none"}),
    Key("group.protocol", "consumer", "choice", ("classic", "consumer"), default="classic"),
    Key("auto.commit.interval.ms", "consumer", "int", default={"java-classic": "5000", "java-consumer": "5000",
                                                                "librdkafka": "5000"}, minimum=0,
        status="not-modelled", reason="the model has no clock: an auto-commit may come at any poll() (or, in the "
        "background, at any moment), whatever the interval"),
    Key("max.poll.interval.ms", "consumer", "int", default="300000", minimum=1, status="not-modelled",
        reason="the model has no clock: processing may outlast any interval (the fault max-poll-exceeded)"),
    Key("session.timeout.ms", "consumer", "int", default="45000", minimum=1, status="not-modelled",
        reason="the model has no clock: a crashed member's partition moves on after some time (faults crash, "
        "rebalance)"),
    Key("isolation.level", "consumer", "choice", ("read_uncommitted", "read_committed"),
        default="read_uncommitted", status="not-modelled",
        reason="without transactional.id the input has no transactions: both levels read the same records (with "
        "transactional.id it is the isolation of the output topic's readers)"),
    Key("group.id", "consumer", "text", status="not-modelled",
        reason="the model is one group on one partition; two applications sharing a group.id (C11) is not "
        "modelled"),
    Key("group.instance.id", "consumer", "text", status="not-modelled",
        reason="static membership is not modelled (a restarted member is a new member)"),
    Key("partition.assignment.strategy", "consumer", "text", status="not-modelled",
        reason="the assignor is not modelled: a rebalance hands the partition to another member (eager)"),
    # --- producer
    Key("acks", "producer", "choice", ("0", "1", "all"), default={"java-classic": "all", "java-consumer": "all",
                                                                   "librdkafka": "all"}, aliases={"-1": "all"}),
    Key("retries", "producer", "int", default=INT_MAX, minimum=0),
    Key("enable.idempotence", "producer", "bool",
        default={"java-classic": "true", "java-consumer": "true", "librdkafka": "false"}),
    Key("max.in.flight.requests.per.connection", "producer", "int",
        default={"java-classic": "5", "java-consumer": "5", "librdkafka": "1000000"}, minimum=1),
    Key("delivery.timeout.ms", "producer", "int", default={"java-classic": "120000", "java-consumer": "120000",
                                                            "librdkafka": "300000"}, minimum=0,
        status="not-modelled", reason="the model has no clock: a request may fail (fault request-timeout) and is "
        "retried while retries last; giving up after the timeout (P5) is not modelled"),
    Key("request.timeout.ms", "producer", "int", minimum=0, status="not-modelled",
        reason="the model has no clock: any request may time out (fault request-timeout)"),
    Key("transactional.id", "producer", "text"),  # the eos model: the consume-transform-produce loop
    Key("transaction.timeout.ms", "producer", "int", default="60000", minimum=1, status="not-modelled",
        reason="the model has no clock: any transaction may outlive the timeout (fault txn-timeout)"),
    # --- topic (and the broker defaults for it)
    Key("replication.factor", "topic", "int", default="1", minimum=1),
    Key("default.replication.factor", "topic", "int", default="1", minimum=1),
    Key("min.insync.replicas", "topic", "int", default="1", minimum=1),
    Key("unclean.leader.election.enable", "topic", "bool", default="false"),
    Key("retention.ms", "topic", "int", default="604800000", minimum=-1),
    Key("log.retention.ms", "topic", "int", minimum=-1),
    Key("retention.bytes", "topic", "int", minimum=-1, status="not-modelled",
        reason="retention by size deletes the oldest records as retention.ms does: the fault retention stands "
        "for both (set retention.ms=-1 to turn it off)"),
    Key("cleanup.policy", "topic", "text", default="delete", status="not-modelled",
        reason="log compaction (which keeps only the last record per key) is not modelled"),
    Key("offsets.retention.minutes", "topic", "int", default="10080", minimum=1, status="not-modelled",
        reason="the model has no clock: an empty group's offsets may expire whatever the retention (fault "
        "offset-expiry)"),
    # --- the application, which Kafka has no key for
    Key("app.client", "app", "choice", CLIENTS, default="java-classic"),
    Key("app.kafka.version", "app", "version", default=CURRENT),  # the brokers' release (spec/versions.py)
    Key("app.client.version", "app", "version", default=CURRENT),  # the Java clients' release
    Key("app.commit", "app", "choice", ("after-each-record", "after-batch", "before-processing", "periodic", "none")),
    Key("app.processing", "app", "choice", ("poll-thread", "worker"), default="poll-thread"),
    Key("app.sink", "app", "choice", ("plain", "idempotent", "offsets-in-sink"), default="plain"),
    Key("app.commit.on.revoke", "app", "bool", default="false"),
    Key("app.consumers", "app", "int", default="2", minimum=1),
    Key("app.messages", "app", "int", minimum=1),
    Key("app.txn.fencing", "app", "choice", ("group-metadata", "static-id", "none"), default="group-metadata"),
)

# Kafka keys that do not bear on delivery semantics: accepted and listed as such.
NO_EFFECT = frozenset("""
bootstrap.servers client.id client.rack client.dns.lookup key.serializer value.serializer key.deserializer
value.deserializer security.protocol linger.ms batch.size buffer.memory compression.type compression.level
send.buffer.bytes receive.buffer.bytes retry.backoff.ms retry.backoff.max.ms reconnect.backoff.ms
reconnect.backoff.max.ms metadata.max.age.ms max.request.size max.block.ms partitioner.class
partitioner.ignore.keys partitioner.adaptive.partitioning.enable interceptor.classes metric.reporters
metrics.num.samples metrics.sample.window.ms metrics.recording.level fetch.min.bytes fetch.max.bytes
fetch.max.wait.ms max.partition.fetch.bytes heartbeat.interval.ms check.crcs connections.max.idle.ms
default.api.timeout.ms exclude.internal.topics allow.auto.create.topics auto.include.jmx.reporter
socket.connection.setup.timeout.ms socket.connection.setup.timeout.max.ms statistics.interval.ms debug
queued.max.messages.kbytes queued.min.messages queue.buffering.max.ms queue.buffering.max.messages
queue.buffering.max.kbytes message.max.bytes log.level enable.partition.eof segment.bytes segment.ms
max.message.bytes message.timestamp.type
""".split())
NO_EFFECT_PREFIXES = ("ssl.", "sasl.", "metrics.", "socket.")
