"""The delivery-guarantee matrix: named configurations of the `group` and `pipeline` models.

Each row names the failure ids of the catalogue (spec/catalogue.py) it reproduces and
the effect the catalogue gives them there (L loss, D duplicate, R reorder; "-" for a
row that shows the catalogue's prevention). The expected verdicts follow from those
effects; `checker matrix` computes the actual ones by search and says where
they disagree.
"""

from checker import Config

from . import versions
from .catalogue import check

# The property each effect letter of the catalogue breaks.
EFFECT_PROPERTY = {"L": "no-loss", "D": "no-duplicate-processing", "R": "in-order"}
COLUMNS = list(EFFECT_PROPERTY.values())


# In the pipeline (producer to processing) each effect shows twice: in the leader's log
# and in what the consumer processes.
PIPELINE_PROPERTY = {"L": ("no-acked-loss", "no-loss"), "D": ("no-duplicate-in-log", "no-duplicate-processing"),
                     "R": ("in-order",)}
LOG_PROPERTIES = ("no-acked-loss", "no-duplicate-in-log")


def row(id: str, description: str, catalogue: dict[str, str], failures: tuple[str, ...], *,
        model: str = "group", consumer_only: bool = False, changes: tuple[str, ...] = (), **params) -> Config:
    """A configuration of a model; `catalogue` maps ids to the effects shown ("-": prevented).

    An id the failure catalogue does not have is refused when the row is declared.
    consumer_only (pipeline): the effect shows in what the consumer processes, not in
    the leader's log. changes: the version switches (spec/versions.py) the answer
    depends on, cited in the source with the row's kafka_version and client_version.
    """
    check(catalogue, f"matrix row {id!r} (spec/matrix.py)")
    effects = {e for v in catalogue.values() for e in v if e != "-"}
    props = PIPELINE_PROPERTY if model == "pipeline" else {e: (p,) for e, p in EFFECT_PROPERTY.items()}
    expect = {prop: "violated" if e in effects and not (consumer_only and prop in LOG_PROPERTIES) else "holds"
              for e, names in props.items() for prop in names}
    source = ", ".join(f"{k} ({'prevented' if v == '-' else v})" for k, v in catalogue.items())
    if changes:
        source += "; " + versions.cite(changes, params.get("kafka_version", versions.CURRENT),
                                       params.get("client_version", versions.CURRENT))
    return Config(id, description, model, params, failures, expect, source)


def pipeline(id: str, description: str, catalogue: dict[str, str], failures: tuple[str, ...], **params) -> Config:
    """A configuration of the pipeline model (producer, replicated partition, consumer)."""
    return row(id, description, catalogue, failures, model="pipeline", **params)


CONFIGS = [
    row("at-least-once", "commitSync() after processing each record; the consumer may crash",
        {"C2": "D"}, ("crash",), commit="after"),
    row("at-most-once", "commitSync() right after poll(), before processing; the consumer may crash",
        {"C1": "L"}, ("crash",), commit="before"),
    row("batch-commit", "max.poll.records=2, commitSync() after processing the whole batch; crash",
        {"C2": "D"}, ("crash",), commit="after", batch=2),
    row("auto-commit-sync", "enable.auto.commit, processing on the polling thread; crash",
        {"C3": "D"}, ("crash",), commit="auto"),
    row("auto-commit-async", "enable.auto.commit, records handed to a worker, the loop polls again; crash",
        {"C4": "L", "C3": "D"}, ("crash",), commit="auto", processing="worker"),
    row("auto-commit-background", "enable.auto.commit in the AsyncKafkaConsumer before KAFKA-18641; crash",
        {"C6": "L", "C3": "D"}, ("crash",), commit="auto", auto_commit_on="background"),
    row("auto-commit-close", "enable.auto.commit with a worker; close() while the worker has records",
        {"C5": "L"}, ("shutdown",), commit="auto", processing="worker"),
    row("commit-sync-mid-batch", "max.poll.records=2, no-argument commitSync() after each record; crash",
        {"C7": "L", "C2": "D"}, ("crash",), commit="per-record", batch=2),
    row("commit-off-by-one", "commitSync(record.offset) instead of offset+1; a clean close() and restart",
        {"C8": "D"}, ("shutdown",), commit="record-offset"),
    row("rebalance-zombie", "two consumers; the owner exceeds max.poll.interval.ms mid-batch",
        {"C9": "D"}, ("max-poll-exceeded",), consumers=2, commit="after"),
    row("rebalance-commit-on-revoke", "as rebalance-zombie, committing in onPartitionsRevoked",
        {"C9": "D"}, ("max-poll-exceeded",), consumers=2, commit="after", commit_on_revoke="yes"),
    row("rebalance-uncommitted", "two consumers, commits on a timer; a rebalance at poll() moves the partition",
        {"C10": "D"}, ("rebalance",), consumers=2, commit="periodic"),
    row("rebalance-revoke-commits", "as rebalance-uncommitted, committing in onPartitionsRevoked",
        {"C10": "-"}, ("rebalance",), consumers=2, commit="periodic", commit_on_revoke="yes"),
    row("offset-expiry-latest", "the group is empty until its offsets expire; auto.offset.reset=latest",
        {"C12": "L"}, ("offset-expiry", "shutdown"), reset="latest"),
    row("offset-expiry-earliest", "the group is empty until its offsets expire; auto.offset.reset=earliest",
        {"C12": "D"}, ("offset-expiry", "shutdown"), reset="earliest"),
    row("new-group-latest", "a new group starts after records were written; auto.offset.reset=latest",
        {"C13": "L"}, (), new_group="yes", reset="latest"),
    row("new-group-earliest", "a new group starts after records were written; auto.offset.reset=earliest",
        {"C13": "-"}, (), new_group="yes", reset="earliest"),
    row("retention-lag", "retention deletes records the consumer has not read yet",
        {"B9": "L"}, ("retention",)),
    # Producer and broker (P1-P4, B1, B2): the pipeline model, the consumer never crashes,
    # so every loss or duplicate comes from before the consumer.
    pipeline("acks-0", "acks=0: the producer does not wait for the leader; a request is lost on the way",
             {"P1": "L"}, ("request-timeout",), acks="0"),
    pipeline("acks-1-failover", "acks=1, two replicas: the leader dies before its follower fetched",
             {"P2": "L"}, ("broker-failure",), acks="1", replicas=2),
    pipeline("acks-all-failover", "acks=all, two replicas: the leader dies; a follower from the ISR takes over",
             {"P2": "-"}, ("broker-failure",), acks="all", replicas=2),
    pipeline("acks-all-min-isr-2", "acks=all, three replicas, min.insync.replicas=2; followers drop out, brokers die",
             {"B2": "-"}, ("broker-failure", "isr-shrink"), acks="all", replicas=3, min_isr=2),
    pipeline("unclean-election", "acks=all, min.insync.replicas=1, unclean election; the ISR shrinks to the "
             "leader, which dies", {"B1": "L", "B2": "L"}, ("broker-failure", "isr-shrink"),
             acks="all", replicas=2, unclean="yes"),
    pipeline("producer-retry", "retries, no idempotence, one request in flight; a response is lost",
             {"P3": "D", "P4": "-"}, ("request-timeout",), retries=1),
    pipeline("idempotent-producer", "as producer-retry, with enable.idempotence",
             {"P3": "-"}, ("request-timeout",), retries=1, idempotence="yes"),
    pipeline("in-flight-reorder", "retries, no idempotence, two requests in flight; a request or response is lost",
             {"P4": "R", "P3": "D"}, ("request-timeout",), retries=1, in_flight=2),
    pipeline("in-flight-idempotent", "as in-flight-reorder, with enable.idempotence",
             {"P4": "-", "P3": "-"}, ("request-timeout",), retries=1, in_flight=2, idempotence="yes"),
]

# Rows whose answer depends on the Kafka release (spec/versions.py): one row per version
# where the answer changes, side by side, the id suffixed with the versions it runs
# (`@kafka-X-client-Y`) and the source citing each change on or off.
_MIN_ISR_2_UNCLEAN = dict(acks="all", replicas=2, min_isr=2, unclean="yes")
_UNCLEAN_FAULTS = ("broker-failure", "isr-shrink")
_ASYNC = dict(commit="auto", group_protocol="consumer")
CONFIGS += [
    pipeline("min-isr-2-unclean@kafka-3.9-client-2.2", "min.insync.replicas=2, unclean election: the "
             "consumer reads a write that failed after its append, the election takes it back, the next "
             "message reuses its offset", {"B1": "L"}, _UNCLEAN_FAULTS, consumer_only=True,
             changes=("strict_min_isr", "truncation_detection"), **_MIN_ISR_2_UNCLEAN, kafka_version="3.9",
             client_version="2.2"),
    pipeline("min-isr-2-unclean@kafka-3.9-client-4.1", "as above, with a consumer that detects the "
             "truncation and reads the reused offset again", {"B1": "-"}, _UNCLEAN_FAULTS,
             changes=("strict_min_isr", "truncation_detection"), **_MIN_ISR_2_UNCLEAN, kafka_version="3.9",
             client_version="4.1"),
    pipeline("min-isr-2-unclean@kafka-4.1-client-2.2", "as above, with brokers that keep the high watermark "
             "still while the ISR is below min.insync.replicas", {"B1": "-"}, _UNCLEAN_FAULTS,
             changes=("strict_min_isr", "truncation_detection"), **_MIN_ISR_2_UNCLEAN, kafka_version="4.1",
             client_version="2.2"),
    row("async-auto-commit@kafka-4.1-client-3.9", "group.protocol=consumer (AsyncKafkaConsumer), "
        "enable.auto.commit; crash", {"C6": "L", "C3": "D"}, ("crash",), changes=("async_auto_commit_fixed",),
        **_ASYNC, kafka_version="4.1", client_version="3.9"),
    row("async-auto-commit@kafka-4.1-client-4.1", "as above, with the KAFKA-18641 fix",
        {"C6": "-", "C3": "D"}, ("crash",), changes=("async_auto_commit_fixed",), **_ASYNC, kafka_version="4.1",
        client_version="4.1"),
]
