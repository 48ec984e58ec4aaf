"""The `group` model: one partition, a consumer group of one to three consumers, one strategy.

The Java consumer (KafkaConsumer, classic group protocol) reading one partition in a
group, with a choice of commit strategy (`commit`), batch size (`batch`,
max.poll.records), processing on the polling thread or on a worker (`processing`),
where auto-commit runs (`auto_commit_on`), librdkafka's offset store (`offset_store`),
`auto.offset.reset` (`reset`), committing in onPartitionsRevoked (`commit_on_revoke`),
where the side effect goes (`sink`: the remedies R1 and R2) and a brand-new group
(`new_group`). The perturbations are failure modes, one module each under
spec/failures/, found automatically: crash, max-poll-exceeded (zombie), offset-expiry,
rebalance, retention, shutdown, commit-retry, shared-group-id. Checked against
../shared/kafka-failure-modes.md (C1-C13, C15, C16, B9, and the remedies R1, R2, R3,
R5); `checker matrix` runs the named configurations (spec/matrix.py).

What the model leaves out: one partition; a record is its offset; the producer never
fails (the log holds each message once); fetches, commits and processing are atomic
steps; clients other than the Java classic consumer, except two auto-commit
variants: the AsyncKafkaConsumer's race before KAFKA-18641 (auto_commit_on=background)
and librdkafka's auto-commit (auto_commit_on=librdkafka: the offset is stored *before*
the message is handed to the application and a timer commits it, so auto-commit is
at-most-once there, unless offset_store=manual; `checker conform` replays traces
against that client); transactions; auto.offset.reset=none; a sink that is both keyed
and stores offsets (R1 with R2).

Which Kafka (spec/versions.py): `kafka_version` and `client_version`, 4.1 by default.
`group_protocol=consumer` is the AsyncKafkaConsumer of KIP-848 (brokers from 4.0, Java
clients from 3.7); its auto-commit runs on the background thread before the
KAFKA-18641 fix (clients before 4.0) and like the classic consumer's from 4.0. The
models do not otherwise tell the two protocols apart: a rebalance hands the partition
over in one step either way.
"""

from checker import Array, Bool, CheckerError, Int, Model, Var, all_of, And, Implies, Not, Or, any_of, indices, ite, when

from . import failures, versions
from .group_ops import (NO_OFFSET, PC, STATUS, auto_commit_value, holds_records, in_hand, reset_target,
                        resume_offset, start_position)

COMMITS = ("after", "before", "per-record", "record-offset", "periodic", "auto")
COMMIT_DOC = ("after: commitSync() after processing each batch; before: commitSync() right after "
              "poll, before processing; per-record: no-argument commitSync() after each record; "
              "record-offset: commitSync(record.offset) instead of offset+1; periodic: commitSync() "
              "after processing, only when the app's commit timer fired; auto: enable.auto.commit")

model = Model("group", __doc__)
model.param("messages", 3, min=1, doc="messages the producer sends")
model.param("consumers", 1, min=1, max=3, doc="consumers in the group (the partition has one owner)")
model.param("batch", 1, min=1, structural=True, doc="max.poll.records: records one poll() returns at most")
model.param("commit", "after", choices=COMMITS, doc=COMMIT_DOC)
model.param("processing", "sync", choices=("sync", "worker"),
            doc="process on the polling thread, or hand records to a worker and poll again (auto only)")
model.param("auto_commit_on", "poll", choices=("poll", "background", "librdkafka"),
            doc="commit=auto: inside poll() (Java classic consumer), on a background thread at any time "
                "(AsyncKafkaConsumer before KAFKA-18641), or librdkafka's timer committing the offsets "
                "stored when messages were handed to the application (confluent-kafka and other "
                "librdkafka clients, enable.auto.offset.store=true)")
model.param("reset", "latest", choices=("latest", "earliest"),
            doc="auto.offset.reset when there is no valid committed offset (Kafka's default: latest)")
model.param("commit_on_revoke", "no", choices=("no", "yes"),
            doc="commit the processed offsets in onPartitionsRevoked")
model.param("offset_store", "auto", choices=("auto", "manual"),
            doc="auto_commit_on=librdkafka: enable.auto.offset.store=true (auto: the offset is stored when the "
                "message is handed over) or false (manual: store_offsets() after processing; remedy R3)")
model.param("sink", "plain", choices=("plain", "idempotent", "offsets-in-sink"),
            doc="where the side effect goes: plain (each processing applies it), idempotent (keyed by the "
                "record's offset, applied at most once: remedy R1) or offsets-in-sink (the next offset stored "
                "with the output in one transaction, and sought to on start and assignment: remedy R2)")
model.param("new_group", "no", choices=("no", "yes"),
            doc="the group starts with no committed offset and its consumers not yet started")
model.param("group_protocol", "classic", choices=("classic", "consumer"),
            doc="group.protocol: classic (KafkaConsumer's ClassicKafkaConsumer) or consumer (the "
                "AsyncKafkaConsumer, KIP-848; its auto-commit follows client_version)")
versions.declare(model)


def auto_commit_on(p):
    """Where auto-commit runs: `auto_commit_on`, or for group.protocol=consumer the client version's.

    The AsyncKafkaConsumer commits from its background thread at any moment before the
    KAFKA-18641 fix (C6), and only what earlier polls returned from the fixed release on.
    """
    if p.group_protocol == "consumer":
        return "poll" if versions.switches(p)["async_auto_commit_fixed"] else "background"
    return p.auto_commit_on

# Moments in a consumer's life where a failure mode may run code (FailureMode.on), e.g. to
# reset a variable of its own: the model's actions fire them, the modes hook them.
model.event("restart", "Restart(c): consumer c starts a new process, with nothing in memory")
model.event("crash", "Crash(c) (failure mode crash): consumer c's process dies")
model.event("close", "Close(c) (failure mode shutdown): consumer c calls close() and stops")


@model.variables
def _variables(p):
    M, C = p.messages, p.consumers
    new = p.new_group == "yes"  # C13: nobody has started yet, there is no committed offset
    if p.processing == "worker" and p.commit != "auto":
        raise CheckerError("processing=worker is modelled with commit=auto only; "
                           "use -p commit=auto or -p processing=sync")
    # A parameter that changes nothing under the others is refused, naming what enables it.
    on = versions.switches(p)
    if p.group_protocol == "consumer":
        if not on["consumer_protocol"]:
            raise CheckerError(f"group_protocol=consumer needs kafka_version 4.0 or later (KIP-848 is generally "
                               f"available from 4.0), not {p.kafka_version}; use -p kafka_version=4.0 or later")
        if versions.parse(p.client_version) < versions.parse(versions.CONSUMER_PROTOCOL_CLIENT):
            raise CheckerError(f"group_protocol=consumer needs client_version {versions.CONSUMER_PROTOCOL_CLIENT} "
                               f"or later (the first AsyncKafkaConsumer), not {p.client_version}")
        if p.auto_commit_on != "poll":
            raise CheckerError(f"auto_commit_on={p.auto_commit_on} with group_protocol=consumer: the "
                               "AsyncKafkaConsumer's auto-commit follows client_version; drop auto_commit_on")
    if p.auto_commit_on != "poll" and p.commit != "auto":
        raise CheckerError(f"auto_commit_on={p.auto_commit_on} has no effect without auto-commit; "
                           "add -p commit=auto, or drop auto_commit_on")
    if p.offset_store == "manual" and (p.commit != "auto" or p.auto_commit_on != "librdkafka"):
        raise CheckerError("offset_store=manual (enable.auto.offset.store=false) is a setting of librdkafka's "
                           "auto-commit; add -p commit=auto -p auto_commit_on=librdkafka, or drop offset_store")
    if p.commit_on_revoke == "yes" and p.commit == "auto":
        raise CheckerError("commit_on_revoke=yes has no effect with commit=auto (auto-commit already commits "
                           "on revoke); drop it, or choose another -p commit")
    return [
        Var("sent", Int(0, M), """
            Records appended to the partition (acknowledged to the producer); offset o is
            message o. Real Kafka: the leader's log end offset. Left out: producer failures."""),
        Var("log_start", Int(0, M), """
            The log start offset: records below it were deleted by retention. Real Kafka:
            retention.ms / retention.bytes delete whole segments. Left out: segments."""),
        Var("committed", Int(NO_OFFSET, M), """
            The group's committed offset (-1: none, e.g. a new group or after offset expiry).
            Real Kafka: stored in __consumer_offsets by the group coordinator; the next
            offset to read.""",
            init=NO_OFFSET if new else 0),
        Var("owner", Int(0, C - 1), """
            The member the partition is assigned to. Real Kafka: the assignor's choice in
            the last completed rebalance. Left out: the assignor; the next member takes over."""),
        Var("st", Array(C, STATUS), """
            Each consumer process: down, member, or zombie (evicted by max.poll.interval.ms
            but still running; its commits fail with CommitFailedException).""",
            init=[STATUS.down if new else STATUS.member] * C),
        Var("pos", Array(C, Int(0, M)), """
            Each consumer's fetch position: the next offset poll() returns. Real Kafka:
            KafkaConsumer.position(); set from the committed offset on assignment."""),
        Var("nxt", Array(C, Int(0, M)), """
            The next fetched record the application (or its worker) will process; the
            records nxt..pos-1 are in the consumer's hands. Real Kafka: the app's loop
            over the ConsumerRecords of the last poll(s)."""),
        Var("pc", Array(C, PC), """
            Where each consumer is in its loop: idle (about to poll), fetched, committed
            (commit=before, not processed yet), processed (waiting to commit)."""),
        Var("processed", Array(M, Int(0, 2)), """
            How often each record's side effect took effect in the sink (2 means twice or
            more): with a plain sink every processing, with an idempotent one (R1) the
            first only. Real Kafka: outside Kafka (a database write); what at-least-once
            asks the app to tolerate. Left out: the handler's own runs (retried work that
            leaves no trace is not a duplicate)."""),
        Var("reordered", Bool(), """
            A history flag: some record was first processed after a later offset had
            been. Real Kafka: what a downstream reader of the side effects would observe."""),
    ] + ([
        Var("sink_offset", Int(0, M), """
            sink=offsets-in-sink (R2): the next offset to read, written in the same sink
            transaction as each record's output. Real Kafka: the KafkaConsumer javadoc's
            "Storing Offsets Outside Kafka"; the consumer seek()s to it. Left out: the
            sink's transaction failing (output and offset are written together or not).""")]
        if p.sink == "offsets-in-sink" else [])


@model.action
def Produce(s):
    """The producer appends the next message to the partition.

    Real Kafka: send() with acks=all, acknowledged once appended. Left out: the
    producer side of the catalogue (P1-P9); every message reaches the log once.
    """
    when(s.sent < s.params.messages)
    s.sent += 1


def _fetch(s, c, empty_ok=False):
    """poll()'s fetch: up to `batch` records from the position (reset if out of range)."""
    start = ite(s.pos[c] < s.log_start, reset_target(s), s.pos[c])  # OffsetOutOfRange
    if not empty_ok:
        when(start < s.sent)
    n = ite(s.sent - start < s.params.batch, s.sent - start, s.params.batch)
    if s.params.processing == "worker":
        s.nxt[c] = ite(s.nxt[c] == s.pos[c], start, s.nxt[c])  # the worker's queue grows
    else:
        s.nxt[c] = start
        s.pc[c] = ite(n > 0, PC.fetched, PC.idle)
    s.pos[c] = start + n


def _may_poll(s, c):
    when(s.st[c] == STATUS.member, s.owner == c)
    if s.params.processing == "sync":
        when(s.pc[c] == PC.idle)


@model.action(over="consumers")
def Poll(s, c):
    """poll() returns the next records (up to max.poll.records) and moves the position past them.

    Real Kafka: KafkaConsumer.poll(); the position advances when records are handed to
    the application (FetchCollector). With commit=auto this is a poll in which the
    auto.commit.interval.ms timer has not expired, so nothing is committed. With
    processing=worker the loop polls again at once, before the worker is done.
    Left out: empty polls (they change nothing here), prefetching.
    """
    _may_poll(s, c)
    _fetch(s, c)


def _auto(p, on):
    """The consumers, where auto-commit runs as `on` says (poll or not poll); none elsewhere."""
    return range(p.consumers) if p.commit == "auto" and (auto_commit_on(p) == "poll") == (on == "poll") else []


# An action that cannot happen under the chosen commit strategy is not instantiated (as in
# `pipeline`), so the coverage report's dead actions are real dead ends of the instance.
@model.action(over=lambda p: _auto(p, "poll"))
def PollAutoCommit(s, c):
    """poll() with the auto-commit timer expired: it commits the current position, then fetches.

    Real Kafka (classic consumer): ConsumerCoordinator.poll ends with
    maybeAutoCommitOffsetsAsync, committing allConsumed() = the positions after the
    records returned by *earlier* polls, before this poll fetches (catalogue section 3).
    Left out: the asynchronous commit's latency and failures (it is applied at once);
    an auto-commit in a poll that returns nothing counts as this action too.
    """
    when(s.params.commit == "auto", auto_commit_on(s.params) == "poll")
    _may_poll(s, c)
    s.committed = s.pos[c]
    _fetch(s, c, empty_ok=True)


@model.action(over=lambda p: _auto(p, "background"))
def BackgroundAutoCommit(s, c):
    """A background thread (auto_commit_on=background or librdkafka) commits the position at any moment.

    Real Kafka (C6): the AsyncKafkaConsumer (group.protocol=consumer) auto-commits
    allConsumed() from its background thread; before the KAFKA-18641 fix (clients
    before 4.0) that could happen right after the application thread's poll() advanced
    the position, covering records not yet processed (group_protocol=consumer with
    client_version before 4.0, or auto_commit_on=background). The fixed clients behave
    like the classic consumer (PollAutoCommit).
    librdkafka (auto_commit_on=librdkafka): with enable.auto.offset.store=true (the
    default) the consumer stores a message's offset+1 when it hands the message to the
    application ("Automatically store offset of last message provided to
    application", CONFIGURATION.md), and with enable.auto.commit=true a timer thread
    commits the stored offsets every auto.commit.interval.ms, whatever the application
    is doing (confluentinc/librdkafka#1122; wiki "Consumer offset management"). The
    stored offset is the position, so the step is the same as the AsyncKafkaConsumer's.
    With offset_store=manual (enable.auto.offset.store=false, remedy R3) the application
    calls store_offsets() after processing a message, and the timer commits what was
    stored: the offset after the records processed. close() and a revoke commit the
    stored offsets too, as Close and Rebalance do here.
    Left out: the timer's period (a commit may come at any moment), failed commits.
    """
    value = auto_commit_value(s, c)
    when(s.params.commit == "auto", auto_commit_on(s.params) != "poll",
         s.st[c] == STATUS.member, s.owner == c, s.committed != value)
    s.committed = value


@model.action(over="consumers")
def Process(s, c):
    """The application (or its worker) processes the next record in hand; its side effect runs.

    Real Kafka: application code between poll() and the commit; a zombie keeps
    processing its batch after eviction. With sink=idempotent (R1) the side effect is
    keyed by the offset (an upsert or a unique key), so running it again changes
    nothing: `processed` counts the effects the sink applied, not the handler's runs.
    With sink=offsets-in-sink (R2) the output and the next offset are written in one
    sink transaction, unconditionally (the javadoc's pattern: nothing compares the
    stored offset first). Left out: processing that fails half way.
    """
    p = s.params
    when(s.st[c] != STATUS.down, s.nxt[c] < s.pos[c])
    if p.processing == "sync":
        when(s.pc[c] == (PC.committed if p.commit == "before" else PC.fetched))
    o = s.nxt[c]
    first = s.processed[o] == 0
    later = any_of(indices(p.messages), lambda k: And(k > o, s.processed[k] >= 1))
    s.reordered = Or(s.reordered, And(first, later))
    if p.sink == "idempotent":  # R1: an upsert keyed by the offset; a second run changes nothing
        s.processed[o] = ite(s.processed[o] >= 1, s.processed[o], 1)
    else:
        s.processed[o] = ite(s.processed[o] >= 2, 2, s.processed[o] + 1)
    s.nxt[c] = o + 1
    if p.sink == "offsets-in-sink":  # R2: the output and the next offset, in one transaction
        s.sink_offset = o + 1
    if p.processing == "worker":
        return
    last = s.nxt[c] == s.pos[c]
    if p.commit == "before" or p.commit == "auto":
        s.pc[c] = ite(last, PC.idle, s.pc[c])
    elif p.commit == "per-record":
        s.pc[c] = PC.processed
    else:  # after, record-offset, periodic: commit once the batch is done
        s.pc[c] = ite(last, PC.processed, PC.fetched)


@model.action(over=lambda p: range(p.consumers) if p.commit != "auto" else [])
def Commit(s, c):
    """The application calls commitSync(); it fails with CommitFailedException for a zombie.

    Real Kafka: commit=after/periodic commit the position (the offset after the batch);
    before commits right after poll(); per-record calls the no-argument commitSync()
    after each record, which commits the position after the *whole* batch (javadoc:
    "offsets returned on the last poll()"); record-offset commits the last record's
    offset instead of offset+1. A zombie's commit is rejected (its generation is
    stale) and the exception abandons the rest of its batch.
    Left out: commitAsync (sent in call order, so it commits as commitSync does here;
    the failure mode commit-retry adds a failed one retried late, C15).
    """
    p = s.params
    when(p.commit != "auto", s.st[c] != STATUS.down)
    if p.commit == "before":
        when(s.pc[c] == PC.fetched)
        value, done = s.pos[c], PC.committed
    else:
        when(s.pc[c] == PC.processed)
        value = s.nxt[c] - 1 if p.commit == "record-offset" else s.pos[c]
        done = ite(s.nxt[c] == s.pos[c], PC.idle, PC.fetched) if p.commit == "per-record" else PC.idle
    ok = And(s.st[c] == STATUS.member, s.owner == c)
    s.committed = ite(ok, value, s.committed)
    s.pc[c] = ite(ok, done, PC.idle)
    s.nxt[c] = ite(ok, s.nxt[c], s.pos[c])


@model.action(over=lambda p: range(p.consumers) if p.commit == "periodic" else [])
def SkipCommit(s, c):
    """commit=periodic: the batch is processed but the commit timer has not fired; poll again.

    Real Kafka: an application committing every N records or every few seconds (a
    common way to cut commit traffic); between two commits, processed records are
    uncommitted. Left out: the timer itself (either outcome may happen after any batch).
    """
    when(s.params.commit == "periodic", s.st[c] != STATUS.down, s.pc[c] == PC.processed)
    s.pc[c] = PC.idle


def _can_stop(p):
    """A consumer can be down: not started yet (new_group), or stopped by a failure mode."""
    return p.new_group == "yes" or "crash" in p.failure_modes or "shutdown" in p.failure_modes


@model.action(over=lambda p: range(p.consumers) if _can_stop(p) else [])
def Restart(s, c):
    """A stopped (or not yet started) consumer starts at the committed offset (or auto.offset.reset).

    Real Kafka: a new process joins the group and fetches the committed offset; with
    none (a new group, expired offsets) or one that retention has deleted,
    auto.offset.reset applies. Consumers are stopped only by failure modes (crash,
    shutdown) or not started yet (new_group=yes); starting heals, so it is not budgeted.
    Left out: the join round trip; a restarted consumer that does not own the partition waits.
    """
    when(s.st[c] == STATUS.down)
    s.st[c] = STATUS.member
    s.pos[c] = start_position(s)
    s.nxt[c] = s.pos[c]
    model.fire("restart", s, c)


# The failure modes: every module of spec/failures/ whose MODEL is "group", in ORDER.
failures.install_all(model)


# How `diagrams` and `report` draw the group (presentation only: no verdict depends on
# it): the producer appends to the log, poll() carries records to a consumer, commits go
# to the group coordinator. Each failure mode gives its own actions' lanes (`actor=`).
ACTORS = {"Produce": ("producer", "log"), "Poll": ("log", "consumer {i}"),
          "PollAutoCommit": ("consumer {i}", "coordinator"),
          "BackgroundAutoCommit": ("consumer {i}", "coordinator"), "Process": "consumer {i}",
          "Commit": ("consumer {i}", "coordinator"), "SkipCommit": "consumer {i}",
          "Restart": "consumer {i}"}


def _message_state(s):
    """Each record: deleted, unsent, in the log, in a consumer's hands, processed n times."""
    out = []
    for o, n in enumerate(s.processed):
        what = "unsent" if o >= s.sent else f"processed {n}x" if n else "in log"
        if o < s.log_start and not n:
            what = "deleted"
        hands = [f"c{c}" for c in range(len(s.pos)) if s.nxt[c] <= o < s.pos[c]]
        if hands:
            what += ", in hand of " + " and ".join(hands)
        out.append(f"m{o} {what}")
    return "; ".join(out)


def _offset_commit(s):
    committed = "none" if s.committed == NO_OFFSET else str(s.committed)
    positions = ", ".join(f"c{c} position {s.pos[c]} ({s.st[c]})" for c in range(len(s.pos)))
    return f"committed {committed}; {positions}"


COLUMNS = {"message state": _message_state, "offset commit": _offset_commit}


model.pictures(project=("committed", "pc"), actors=ACTORS, columns=COLUMNS, instances=({},))


# --------------------------------------------------------------------------- properties

def _run_ended(s):
    """Every message is sent and the partition's owner is live, idle and caught up; nobody holds records."""
    C = s.params.consumers
    return And(s.sent == s.params.messages,
               any_of(range(C), lambda c: And(s.owner == c, s.st[c] == STATUS.member,
                                              s.pc[c] == PC.idle, s.pos[c] == s.sent)),
               all_of(range(C), lambda c: Not(holds_records(s, c))))


def no_loss(s):
    """No committed offset (the sink's, with R2) or deletion covers an unprocessed record outside a live consumer's hands, and a finished run processed every record."""
    end = _run_ended(s)
    # indices(): a range here, a quantifier over every offset when `prove` leaves messages symbolic.
    return all_of(indices(s.params.messages), lambda o: Implies(
        And(s.processed[o] == 0, o < s.sent, Not(in_hand(s, o))),
        Not(Or(o < resume_offset(s), o < s.log_start, end))))


def no_duplicate(s):
    """No record's side effect ran twice."""
    return all_of(s.processed, lambda n: n <= 1)


def in_order(s):
    """Records are first processed in offset order (no record is first processed after a later one)."""
    return Not(s.reordered)


# The model states no expectation of its own (expect=None): what the catalogue expects is
# given per configuration, by the matrix rows (spec/matrix.py), and `checker check` reports
# verdicts as findings.
model.always(no_loss, name="no-loss", expect=None)
model.always(no_duplicate, name="no-duplicate-processing", expect=None)
model.always(in_order, name="in-order", expect=None)
