"""The delivery-guarantee matrix: named configurations of the `group`, `pipeline` and `eos` models.

Each row names the failure ids of the catalogue (spec/catalogue.py) it reproduces and
the effect the catalogue gives them there (L loss, D duplicate, R reorder, A aborted
read; "-" for a row that shows the catalogue's prevention). The expected verdicts follow
from those effects; `checker matrix` computes the actual ones by search and says where
they disagree. A row may apply remedies (`remedies`, the catalogue's R ids): an effect
a remedy prevents is expected not to reach the application, and `FIXES` tells the
checker which violated cells of other rows such a row addresses (its "fixed by").
"""

from checker import Config

from . import versions
from .catalogue import check, check_remedies, remedies as catalogue_remedies

# The property each effect letter of the catalogue breaks.
EFFECT_PROPERTY = {"L": "no-loss", "D": "no-duplicate-processing", "R": "in-order"}
COLUMNS = list(EFFECT_PROPERTY.values())


# In the pipeline (producer to processing) each effect shows twice: in the leader's log
# and in what the consumer processes.
PIPELINE_PROPERTY = {"L": ("no-acked-loss", "no-loss"), "D": ("no-duplicate-in-log", "no-duplicate-processing"),
                     "R": ("in-order",)}
LOG_PROPERTIES = ("no-acked-loss", "no-duplicate-in-log")


# In the exactly-once loop (model `eos`) the properties read what a read_committed reader
# of the output sees. A loss there is always an input offset committed without its output
# (the loop commits nothing else), so it breaks atomic-offsets too; an aborted read (A,
# the catalogue's G1a) is what a reader of the output delivered.
EOS_PROPERTY = {"L": ("no-loss", "atomic-offsets"), "D": ("no-duplicate-processing",), "A": ("no-aborted-read",)}
EOS_COLUMNS = ("no-loss", "no-duplicate-processing", "no-aborted-read", "atomic-offsets")

# Each row's catalogue ids and the effects it shows, by row id, for FIXES.
CITED: dict[str, dict[str, str]] = {}


def properties_of(model: str) -> dict[str, tuple[str, ...]]:
    """Effect letter -> the properties of `model` it breaks."""
    if model == "pipeline":
        return PIPELINE_PROPERTY
    if model == "eos":
        return EOS_PROPERTY
    return {e: (p,) for e, p in EFFECT_PROPERTY.items()}


def _prevented(remedies: tuple[str, ...], failure: str, effect: str) -> bool:
    return any(effect in catalogue_remedies()[r].prevents.get(failure, ()) for r in remedies)


def row(id: str, description: str, catalogue: dict[str, str], failures: tuple[str, ...], *,
        model: str = "group", remedies: tuple[str, ...] = (), consumer_only: bool = False,
        changes: tuple[str, ...] = (), **params) -> Config:
    """A configuration of a model; `catalogue` maps ids to the effects shown ("-": prevented);
    `remedies` are the catalogue's remedies the row applies.

    An id the failure catalogue does not have is refused when the row is declared. An effect
    a remedy of the row prevents (for that failure) is expected to hold in what the
    application processes (its EFFECT_PROPERTY); in the pipeline the log still shows it.
    consumer_only (pipeline): the effect shows in what the consumer processes, not in
    the leader's log. changes: the version switches (spec/versions.py) the answer
    depends on, cited in the source with the row's kafka_version and client_version.
    """
    where = f"matrix row {id!r} (spec/matrix.py)"
    check(catalogue, where)
    check_remedies(remedies, where)
    props = properties_of(model)
    broken = {p for k, v in catalogue.items() for e in v if e != "-" for p in props[e]
              if not (_prevented(remedies, k, e) and p == EFFECT_PROPERTY.get(e))
              and not (consumer_only and p in LOG_PROPERTIES)}
    expect = {p: "violated" if p in broken else "holds" for names in props.values() for p in names}
    if model == "eos":
        expect = {p: expect[p] for p in EOS_COLUMNS}
    source = ", ".join(f"{k} ({'prevented' if v == '-' else v})" for k, v in catalogue.items())
    if remedies:
        source += "; remedy " + ", ".join(remedies)
    if changes:
        source += "; " + versions.cite(changes, params.get("kafka_version", versions.CURRENT),
                                       params.get("client_version", versions.CURRENT))
    CITED[id] = dict(catalogue)
    return Config(id, description, model, params, failures, expect, source, tuple(remedies))


def FIXES(row: Config, fix: Config) -> set[str]:
    """The properties of `row` that the remedies of `fix` address: a failure both rows cite, which
    `row` shows with an effect that a remedy `fix` applies prevents (catalogue section 2.5).

    Both must cite the failure, so `fix` runs the failure's setting with the remedy on; the
    checker keeps a property only where the search finds it violated in `row` and holding in `fix`.
    """
    shown, ran = CITED.get(row.id, {}), CITED.get(fix.id, {})
    return {p for k, v in shown.items() if k in ran for e in v if e != "-" and _prevented(fix.remedies, k, e)
            for p in properties_of(row.model)[e]}


def eos(id: str, description: str, catalogue: dict[str, str], failures: tuple[str, ...], **params) -> Config:
    """A configuration of the exactly-once loop (transactional producer, consumer, readers of the output)."""
    return row(id, description, catalogue, failures, model="eos", **params)


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
        {"C10": "-"}, ("rebalance",), consumers=2, commit="periodic", commit_on_revoke="yes", remedies=("R5",)),
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
    row("librdkafka-auto-commit", "librdkafka (confluent-kafka) auto-commit, enable.auto.offset.store=true; crash",
        {"C16": "L", "C3": "D"}, ("crash",), commit="auto", auto_commit_on="librdkafka"),
    row("librdkafka-manual-store", "as librdkafka-auto-commit, enable.auto.offset.store=false, store_offsets() "
        "after processing", {"C16": "-", "C3": "D"}, ("crash",), commit="auto", auto_commit_on="librdkafka",
        offset_store="manual", remedies=("R3",)),
    row("async-commit-retry", "commitAsync() after each batch; a failed commit retried from its callback after "
        "a newer one; close() and restart", {"C15": "D"}, ("shutdown", "commit-retry"), commit="after"),
    row("shared-group-assign", "assign() with a group.id another instance shares; its commits replace ours; "
        "close() and restart", {"C11": "LD"}, ("shutdown", "shared-group-id"), commit="after",
        max_foreign_commits=1),
    # The remedies users adopt (catalogue section 2.5), each on the setting of a row above.
    row("idempotent-sink", "as at-least-once, the side effect keyed by the offset and applied at most once",
        {"C2": "-"}, ("crash",), commit="after", sink="idempotent", remedies=("R1",)),
    row("idempotent-sink-auto-commit", "as auto-commit-sync, with the sink keyed by the offset",
        {"C3": "-"}, ("crash",), commit="auto", sink="idempotent", remedies=("R1",)),
    row("idempotent-sink-off-by-one", "as commit-off-by-one, with the sink keyed by the offset",
        {"C8": "-"}, ("shutdown",), commit="record-offset", sink="idempotent", remedies=("R1",)),
    row("idempotent-sink-zombie", "as rebalance-zombie, with the sink keyed by the offset",
        {"C9": "-"}, ("max-poll-exceeded",), consumers=2, commit="after", sink="idempotent", remedies=("R1",)),
    row("idempotent-sink-offset-expiry", "as offset-expiry-earliest, with the sink keyed by the offset",
        {"C12": "-"}, ("offset-expiry", "shutdown"), reset="earliest", sink="idempotent", remedies=("R1",)),
    row("offsets-in-sink", "two consumers, commits on a timer, crash and rebalance; the next offset stored with "
        "the output, sought to on start and assignment", {"C2": "-", "C10": "-"}, ("crash", "rebalance"),
        consumers=2, commit="periodic", sink="offsets-in-sink", remedies=("R2",)),
    row("offsets-in-sink-commit-before", "as at-most-once, with the next offset stored with the output",
        {"C1": "-"}, ("crash",), commit="before", sink="offsets-in-sink", remedies=("R2",)),
    row("offsets-in-sink-mid-batch", "as commit-sync-mid-batch, with the next offset stored with the output",
        {"C7": "-", "C2": "-"}, ("crash",), commit="per-record", batch=2, sink="offsets-in-sink", remedies=("R2",)),
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
             acks="all", replicas=2, unclean="yes", max_broker_failures=1),
    pipeline("producer-retry", "retries, no idempotence, one request in flight; a response is lost",
             {"P3": "D", "P4": "-"}, ("request-timeout",), retries=1),
    pipeline("idempotent-producer", "as producer-retry, with enable.idempotence",
             {"P3": "-"}, ("request-timeout",), retries=1, idempotence="yes"),
    pipeline("in-flight-reorder", "retries, no idempotence, two requests in flight; a request or response is lost",
             {"P4": "R", "P3": "D"}, ("request-timeout",), retries=1, in_flight=2),
    pipeline("in-flight-idempotent", "as in-flight-reorder, with enable.idempotence",
             {"P4": "-", "P3": "-"}, ("request-timeout",), retries=1, in_flight=2, idempotence="yes"),
    # Exactly-once (T1-T7, C14): the consume-transform-produce loop in transactions; each row
    # one fault, a budget of one, one or two input records.
    eos("eos-transactional", "consume-transform-produce in transactions, read_committed downstream (R4); an "
        "instance crashes mid-transaction", {"C2": "-"}, ("crash",), remedies=("R4",)),
    eos("eos-abort-no-rewind", "a send fails; abortTransaction() without seeking back to consumer.committed()",
        {"T2": "L"}, ("send-error",), rewind="no"),
    eos("eos-abort-rewind", "as eos-abort-no-rewind, seeking back to consumer.committed() after the abort",
        {"T2": "-"}, ("send-error",)),
    eos("eos-commit-timeout-abort", "commitTransaction() times out and the application aborts; before KIP-890 "
        "(Kafka before 3.6), the delayed EndTxn lands in the next transaction", {"T3": "L"}, ("commit-timeout",),
        messages=1, kafka_version="3.5", client_version="3.5", changes=("verification", "kip890")),
    eos("eos-commit-timeout-abort-kip890", "as eos-commit-timeout-abort, with KIP-890 (Kafka 4.x)",
        {"T3": "-"}, ("commit-timeout",), messages=1, changes=("verification", "kip890")),
    eos("eos-zombie-unfenced", "two instances; the owner exceeds max.poll.interval.ms mid-transaction; offsets "
        "sent with the group id only", {"T1": "D"}, ("max-poll-exceeded",), messages=1, instances=2,
        fencing="none"),
    eos("eos-zombie-fenced", "as eos-zombie-unfenced, sendOffsetsToTransaction(offsets, "
        "consumer.groupMetadata()) (KIP-447)", {"T1": "-", "C9": "-"}, ("max-poll-exceeded",), messages=1,
        instances=2, remedies=("R4",)),
    eos("eos-zombie-static-id", "as eos-zombie-unfenced, one transactional.id per input partition (the "
        "scheme before KIP-447)", {"T1": "-", "C9": "-"}, ("max-poll-exceeded",), messages=1, instances=2,
        fencing="static-id"),
    eos("eos-txn-timeout", "a transaction outlives transaction.timeout.ms; the fenced instance closes and "
        "restarts", {"T5": "-"}, ("txn-timeout",), messages=1),
    eos("eos-auto-commit", "as eos-txn-timeout, with enable.auto.commit in the EOS loop",
        {"T7": "L"}, ("txn-timeout",), messages=1, commit="auto"),
    eos("read-uncommitted", "a read_uncommitted reader of the output topic; an instance crashes mid-transaction",
        {"C14": "A"}, ("crash",), messages=1, isolation="read_uncommitted"),
    eos("read-committed", "as read-uncommitted, with isolation.level=read_committed",
        {"C14": "-"}, ("crash",), messages=1),
    pipeline("idempotent-sink-producer-id", "as producer-retry, the consumer's sink keyed by the producer's "
             "message id", {"P3": "D"}, ("request-timeout",), retries=1, sink="idempotent", remedies=("R1",)),
    pipeline("idempotent-sink-by-offset", "as producer-retry, the consumer's sink keyed by the record's offset "
             "(R1's caveat: a resent copy has a new offset)", {"P3": "D"}, ("request-timeout",), retries=1,
             sink="idempotent-by-offset"),
]

# Rows whose answer depends on the Kafka release (spec/versions.py): one row per version
# where the answer changes, side by side, the id suffixed with the versions it runs
# (`@kafka-X-client-Y`) and the source citing each change on or off.
# The unclean rows fix one broker failure, the failover their catalogue entries describe
# (`prove` keeps a given budget as given): with two, a second unclean election can bring
# back a record the consumer moved back past, a duplicate with no producer retry
# (docs/proofs.md, "Budgets the rows fix").
_MIN_ISR_2_UNCLEAN = dict(acks="all", replicas=2, min_isr=2, unclean="yes", max_broker_failures=1)
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
