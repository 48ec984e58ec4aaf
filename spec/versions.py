"""Which Kafka: the broker and Java client versions, and the behaviour each selects.

The `group`, `pipeline` and `eos` models take `kafka_version` (the brokers) and
`client_version` (the Java clients), both defaulting to the current release, 4.1.
Each entry of `CHANGES` is one place where Kafka changed a behaviour the models
distinguish: its switch, the side it belongs to, the first release that has it (per
release line where a fix was backported), what it changes and its source. A model
reads only `switches(p)`; `checker check` reads `app.kafka.version` and
`app.client.version` through `parse`. Versions are release lines ("3.9"): the
behaviours here change between lines, except the producer's idempotence default,
which `check` reads with its patch release.

Left out: versions before 2.1 (the ISR rejoin rule of KAFKA-7128 is assumed), other
clients' versions (librdkafka has its own numbering), and cluster features turned on
by hand (ELR in a 4.0 cluster, or off in an upgraded one): model those with the
version whose default they match.
"""

from __future__ import annotations

from dataclasses import dataclass

from checker import CheckerError

__all__ = ["CURRENT", "KAFKA_VERSIONS", "CLIENT_VERSIONS", "CHANGES", "Change", "parse", "line", "has",
           "switches", "check_pair", "cite", "declare"]

CURRENT = "4.1"  # the current Kafka release, the default of both settings
KAFKA_VERSIONS = tuple(f"2.{n}" for n in range(1, 9)) + tuple(f"3.{n}" for n in range(10)) + ("4.0", "4.1")
CLIENT_VERSIONS = ("2.0",) + KAFKA_VERSIONS


@dataclass(frozen=True)
class Change:
    """One behaviour Kafka changed: on from `since` (the first release of each line that has it)."""

    switch: str
    name: str  # the KIP or JIRA it is known by
    side: str  # "broker" or "client" (or "both": needs both at least `since`)
    since: tuple[str, ...]
    what: str
    source: str


CHANGES = (
    Change("strict_min_isr", "KIP-966", "broker", ("4.1",),
           "the high watermark does not advance while the ISR is smaller than min.insync.replicas, so a "
           "record the ISR alone has is never read (Eligible Leader Replicas: available from 4.0 with "
           "eligible.leader.replicas.version=1, on by default for new clusters from 4.1)",
           "KIP-966 part 1; Kafka docs, operations, \"Eligible Leader Replicas\" (4.0, 4.1)"),
    Change("truncation_detection", "KIP-320", "client", ("2.3",),
           "the consumer validates its position after a leader change (OffsetsForLeaderEpoch) and, finding "
           "its records truncated, resets to the first offset known to diverge (with auto.offset.reset=none "
           "it raises LogTruncationException), so it does not skip the new records at reused offsets",
           "KIP-320; KAFKA-7747 (Java consumer 2.3.0); SubscriptionState.maybeCompleteValidation"),
    Change("retries_default", "KIP-91", "client", ("2.1",),
           "the producer retries up to delivery.timeout.ms, retries=2147483647 by default (0 before)",
           "KIP-91; KAFKA-5886 (2.1.0)"),
    Change("producer_defaults", "KIP-679", "client", ("3.0",),
           "the producer defaults to acks=all and enable.idempotence=true (acks=1 and false before)",
           "KIP-679; KAFKA-10619 (3.0.0)"),
    Change("idempotence_default", "KAFKA-13598", "client", ("3.0.1", "3.1.1", "3.2.0"),
           "the default enable.idempotence=true takes effect (in 3.0.0 and 3.1.0 it was not applied unless set)",
           "KAFKA-13598 (3.0.1, 3.1.1, 3.2.0)"),
    Change("consumer_protocol", "KIP-848", "broker", ("4.0",),
           "group.protocol=consumer (the AsyncKafkaConsumer with broker-side assignment) is generally "
           "available; the client has it from 3.7 (early access), the brokers need 4.0",
           "KIP-848 (early access 3.7, GA 4.0)"),
    Change("async_auto_commit_fixed", "KAFKA-18641", "client", ("4.0",),
           "the AsyncKafkaConsumer's auto-commit covers only records poll() returned before, as the classic "
           "consumer's does; before, its background thread could commit past records not yet processed (C6)",
           "KAFKA-18641, apache/kafka PR #18737 (merged February 2025, before 4.0.0)"),
    Change("kip447", "KIP-447", "both", ("2.5",),
           "transactions: sendOffsetsToTransaction(offsets, consumer.groupMetadata()) carries the group's "
           "generation, so a zombie's offsets are refused and one transactional.id per instance is safe",
           "KIP-447; Apache Kafka 2.5.0 release notes"),
    Change("verification", "KIP-890 part 1", "broker", ("3.6",),
           "transactions: the partition leader accepts a transactional produce only if the coordinator has "
           "the partition in an ongoing transaction of the producer (transaction.partition.verification.enable, "
           "true by default)",
           "KIP-890 part 1; KAFKA-14402 (3.6.0)"),
    Change("kip890", "KIP-890 part 2", "both", ("4.0",),
           "transactions: the producer epoch is bumped on every transaction (transaction.version=2, finalized "
           "on upgrade to 4.0, with 4.0 producer clients), so a delayed EndTxn or produce of an earlier "
           "transaction is refused",
           "KIP-890 part 2; Kafka 4.0 upgrade notes"),
)
_BY_SWITCH = {c.switch: c for c in CHANGES}
CONSUMER_PROTOCOL_CLIENT = "3.7"  # the first Java client with group.protocol=consumer (KIP-848 early access)
PROTOCOL_BASELINE = "2.1"  # KIP-896: 4.0 brokers refuse the request versions of clients before 2.1


def parse(text: str) -> tuple[int, ...]:
    """A version "X.Y" or "X.Y.Z" as a tuple of ints; anything else is a CheckerError."""
    parts = text.split(".")
    if not 2 <= len(parts) <= 3 or not all(p.isascii() and p.isdigit() for p in parts):
        raise CheckerError(f"{text!r} is not a Kafka version: write it as MAJOR.MINOR, e.g. {CURRENT}")
    return tuple(int(p) for p in parts)


def line(text: str, known: tuple[str, ...], what: str) -> str:
    """The release line ("3.9") of a version the models know; an unknown one is a CheckerError."""
    v = parse(text)
    minor = f"{v[0]}.{v[1]}"
    if minor not in known:
        newest = known[-1]
        why = f"newer than {newest}, the newest the models know" if v[:2] > parse(newest) else \
            f"older than {known[0]}, the oldest the models know"
        raise CheckerError(f"{what} {text} is not supported: {why} (supported: {known[0]} to {newest})")
    return minor


def _at_least(version: str, since: tuple[str, ...]) -> bool:
    """True if `version` has a change first released in `since` (one first release per line)."""
    v = parse(version)
    for first in since:
        f = parse(first)
        if v[:2] == f[:2]:
            return v + (0,) * (3 - len(v)) >= f + (0,) * (3 - len(f))
    return v[:2] > parse(since[-1])[:2]


def has(switch: str, kafka: str = CURRENT, client: str = CURRENT) -> bool:
    """Whether the change named `switch` is on with these versions."""
    c = _BY_SWITCH[switch]
    broker_ok, client_ok = _at_least(kafka, c.since), _at_least(client, c.since)
    return {"broker": broker_ok, "client": client_ok, "both": broker_ok and client_ok}[c.side]


def check_pair(kafka: str, client: str) -> None:
    """Refuse a client the brokers do not talk to (KIP-896: 4.0 dropped request versions before 2.1)."""
    if parse(kafka)[:2] >= (4, 0) and parse(client)[:2] < parse(PROTOCOL_BASELINE):
        raise CheckerError(f"client_version={client} cannot talk to kafka_version={kafka}: Kafka 4.0 brokers "
                           f"refuse clients older than {PROTOCOL_BASELINE} (KIP-896); use client_version="
                           f"{PROTOCOL_BASELINE} or later, or kafka_version=3.9")


def switches(p) -> dict[str, bool]:
    """Every switch of `CHANGES` for a build's parameters `p` (its kafka_version and client_version)."""
    check_pair(p.kafka_version, p.client_version)
    return {c.switch: has(c.switch, p.kafka_version, p.client_version) for c in CHANGES}


def cite(names: tuple[str, ...], kafka: str, client: str) -> str:
    """The changes `names` (switches) as they stand under these versions, for a matrix row's source."""
    out = []
    for n in names:
        c = _BY_SWITCH[n]
        who = {"broker": "Kafka", "client": "client", "both": "Kafka and client"}[c.side]
        state = "on" if has(n, kafka, client) else f"off (on from {who} {c.since[-1]})"
        out.append(f"{c.name} {state}")
    return f"Kafka {kafka}, client {client}: " + ", ".join(out)


def declare(model) -> None:
    """The two version parameters, on a model."""
    model.param("kafka_version", CURRENT, choices=KAFKA_VERSIONS,
                doc=f"the brokers' Kafka release (default {CURRENT}): selects strict min ISR (KIP-966), "
                    "the consumer group protocol (KIP-848) and transaction verification (KIP-890); see spec/versions.py")
    model.param("client_version", CURRENT, choices=CLIENT_VERSIONS,
                doc=f"the Java clients' release (default {CURRENT}): selects truncation detection (KIP-320) "
                    "and the AsyncKafkaConsumer's auto-commit fix (KAFKA-18641); see spec/versions.py")
