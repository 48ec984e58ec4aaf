"""The delivery-guarantee matrix: named configurations of the `group` model.

Each row names the failure ids of ../shared/kafka-failure-modes.md it reproduces and
the effect the catalogue gives them there (L loss, D duplicate, R reorder; "-" for a
row that shows the catalogue's prevention). The expected verdicts follow from those
effects; `python -m checker matrix` computes the actual ones by search and says where
they disagree.
"""

from checker.matrix import Config

# The property each effect letter of the catalogue breaks.
EFFECT_PROPERTY = {"L": "no-loss", "D": "no-duplicate-processing", "R": "in-order"}
COLUMNS = list(EFFECT_PROPERTY.values())


def row(id: str, description: str, catalogue: dict[str, str], failures: tuple[str, ...], **params) -> Config:
    """A configuration of the group model; `catalogue` maps ids to the effects shown ("-": prevented)."""
    effects = {e for v in catalogue.values() for e in v if e != "-"}
    expect = {prop: "violated" if e in effects else "holds" for e, prop in EFFECT_PROPERTY.items()}
    source = ", ".join(f"{k} ({'prevented' if v == '-' else v})" for k, v in catalogue.items())
    return Config(id, description, "group", params, failures, expect, source)


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
]
