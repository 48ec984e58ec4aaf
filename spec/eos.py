"""The `eos` model: exactly-once consume-transform-produce with Kafka transactions.

One or two application instances in a consumer group read one input partition (its
records are there from the start) and, for each input record, write one output record
to one output partition and the next input offset to __consumer_offsets in one
transaction: beginTransaction(), send(), sendOffsetsToTransaction(offsets,
consumer.groupMetadata()), commitTransaction(). Each instance's transactional producer
has a transactional.id, a producer id and an epoch; the transaction coordinator adds
partitions to the transaction and writes commit or abort markers to the output
partition and to __consumer_offsets; initTransactions() aborts what an older epoch left
open and fences it. A downstream reader of the output topic reads with
isolation.level `isolation` up to the log end (read_uncommitted) or the last stable
offset (read_committed). Settings: how zombies are fenced (`fencing`: KIP-447 group
metadata, the older transactional.id per input partition, or none), whether the
application rewinds after abortTransaction() (`rewind`), offsets committed outside the
transaction as well (`commit`: auto-commit or commitSync, T7), and whether the
brokers and clients have KIP-890 (`kip890`: the epoch bump per transaction, part 2;
`verification`: produce requests verified against the coordinator, part 1), which by
default follows `kafka_version` and `client_version` (spec/versions.py). The
faults are failure modes (spec/failures/, MODEL "eos"): crash, max-poll-exceeded (a
zombie), send-error, txn-timeout, commit-timeout, produce-timeout. Checked against the catalogue's section 2.4 (T1-T7), C14 and section 4;
the rows are in spec/matrix.py.

The properties read what a downstream read_committed reader of the output topic sees:
`no-loss` (every input record's output becomes visible, unless a live instance still
holds the record in a transaction), `no-duplicate-processing` (no input record's output
is visible twice), `no-aborted-read` (the downstream reader delivered no record of an
aborted transaction), `atomic-offsets` (an input record is below the committed offset
exactly when its output is visible). There is no `in-order`: one input partition feeds
one output partition, and reordering across transactions is what Kafka allows (T6);
a duplicate is reported as such.

What the model leaves out: one input and one output partition; one record per
transaction (max.poll.records=1); requests other than a delayed EndTxn or produce are
atomic; the replication of the output partition and of the coordinators' logs; an
input topic written by transactions (the input is plain records); the transaction
coordinator's timeouts other than transaction.timeout.ms; side effects outside Kafka.
"""

from checker import And, Array, Bool, CheckerError, Int, Model, Not, Or, Var, all_of, ite, when

from . import failures, versions
from .eos_ops import (NO_OFFSETS, kip890, PC, REC, ST, abort_txn, bump_epoch, capacity, commit_txn, holds, init_transactions, live,
                      no_pending_offsets, tid, tids, visible)

model = Model("eos", __doc__)
model.param("messages", 2, min=1, max=3, structural=True, doc="records in the input partition")
model.param("instances", 1, min=1, max=2, structural=True,
            doc="application instances in the consumer group (the input partition has one owner)")
model.param("fencing", "group-metadata", choices=("group-metadata", "static-id", "none"),
            doc="how a zombie instance is fenced: group-metadata (one transactional.id per instance, "
                "sendOffsetsToTransaction(offsets, consumer.groupMetadata()), KIP-447, brokers >= 2.5), "
                "static-id (the older scheme: one transactional.id per input partition, initTransactions() "
                "by the new owner fences the old one) or none (one transactional.id per instance, "
                "sendOffsetsToTransaction(offsets, groupId): no generation check)")
model.param("rewind", "yes", choices=("yes", "no"),
            doc="after abortTransaction(), seek the consumer to consumer.committed() (yes) or keep its "
                "position (no, T2)")
model.param("commit", "txn", choices=("txn", "auto", "sync"),
            doc="how input offsets are committed: txn (only through sendOffsetsToTransaction), auto "
                "(enable.auto.commit=true as well, T7) or sync (commitSync() as well, after "
                "sendOffsetsToTransaction and before commitTransaction, T7)")
model.param("isolation", "read_committed", choices=("read_committed", "read_uncommitted"),
            doc="isolation.level of the downstream reader of the output topic (C14)")
model.param("kip890", "version", choices=("version", "off", "on"),
            doc="version (the default): as kafka_version and client_version have it; on: Kafka 4.x brokers and "
                "clients (KIP-890: produce requests verified against the "
                "coordinator, the epoch bumped at the end of every transaction, so a delayed EndTxn or "
                "produce of an earlier transaction is refused); off: before KIP-890 part 2 (before 4.0), "
                "where a delayed EndTxn or produce lands in the next transaction of the same epoch (part 1 "
                "is the setting verification)")
model.param("verification", "version", choices=("version", "off", "on"),
            doc="version (the default): as kafka_version has it; on: transaction.partition.verification.enable "
                "(KIP-890 part 1, Kafka >= 3.6, default true): the "
                "partition leader accepts a transactional produce only if the coordinator has the partition "
                "in an ongoing transaction of the producer; off: before 3.6, or disabled (kip890=off only)")
versions.declare(model)


def _can_go_down(p):
    """An instance's process can stop: it crashes, or its producer is fenced and it closes."""
    return "crash" in p.failure_modes or _can_be_fenced(p)


def _can_be_fenced(p):
    """A live producer's epoch can be bumped under it: a transaction timeout, or the next
    owner's initTransactions() of the partition's transactional.id."""
    return "txn-timeout" in p.failure_modes or (p.fencing == "static-id" and "max-poll-exceeded" in p.failure_modes)


def _can_fail(p):
    """A transaction can end in an abortable error, which the application answers with abortTransaction()."""
    return ("send-error" in p.failure_modes or "commit-timeout" in p.failure_modes
            or "produce-timeout" in p.failure_modes
            or (p.fencing == "group-metadata" and "max-poll-exceeded" in p.failure_modes and p.instances > 1))


@model.variables
def _variables(p):
    M, I, T, L = p.messages, p.instances, tids(p), capacity(p)
    verified, bumped = kip890(p, "verification"), kip890(p, "kip890")  # refuses an on the versions lack
    if not verified and bumped:
        raise CheckerError(f"verification=off has no effect while KIP-890 part 2 is on (kafka_version="
                           f"{p.kafka_version} client_version={p.client_version}: it verifies every transactional "
                           "produce); add -p kip890=off, or drop verification")
    if I == 2 and p.fencing == "group-metadata" and not versions.switches(p)["kip447"]:
        raise CheckerError(f"fencing=group-metadata needs KIP-447 (Kafka and clients 2.5), not kafka_version="
                           f"{p.kafka_version} client_version={p.client_version}; use -p fencing=static-id "
                           "-p instances=2, or later versions")
    if I == 1 and p.fencing != "group-metadata":
        raise CheckerError(f"fencing={p.fencing} has no effect with one instance (there is nobody to fence); "
                           "add -p instances=2 -f max-poll-exceeded, or drop fencing")
    return [
        Var("committed", Int(0, M), """
            The group's committed offset of the input partition: the next input offset to
            process. Real Kafka: __consumer_offsets, written by the group coordinator when
            a transaction's commit marker lands (or by a plain commit, commit=auto/sync).
            Left out: offset retention."""),
        Var("owner", Int(0, I - 1), """
            The instance the input partition is assigned to. Real Kafka: the assignor's
            choice in the group's last completed rebalance (its generation). Left out:
            the assignor; the next instance takes over."""),
        Var("st", Array(I, ST), """
            Each instance's process: down, member, or zombie (evicted for exceeding
            max.poll.interval.ms but still running its transaction, on a stale generation).""",
            init=[ST.member] * I),
        Var("pos", Array(I, Int(0, M)), """
            Each instance's consumer position: the next input offset poll() returns. Real
            Kafka: KafkaConsumer.position(); set by seek() or from the committed offset."""),
        Var("pc", Array(I, PC), """
            Where each instance is in its loop: idle, starting (fetching the committed
            offset), fetched, added (AddPartitionsToTxn), sent, offsets
            (sendOffsetsToTransaction), synced (commitSync, commit=sync), timedout
            (commitTransaction timed out) or failed (abortable error). Real Kafka: the
            application's loop and the producer's TransactionManager state.""",
            init=[PC.idle] * I),
        Var("fenced", Array(I, Bool()), """
            Each instance's producer has a stale epoch: its next request fails with
            ProducerFencedException (fatal). Real Kafka: the coordinator bumped the epoch
            of its transactional.id (initTransactions() elsewhere, transaction timeout).
            Left out: epochs as numbers (only stale or current matters)."""),
        Var("ongoing", Array(T, Bool()), """
            Each transactional.id has an ongoing transaction at the transaction coordinator.
            Real Kafka: TransactionMetadata state Ongoing (begun by the first
            AddPartitionsToTxn or AddOffsetsToTxn; Empty, CompleteCommit or CompleteAbort
            otherwise). Left out: the Prepare states (see the commit step)."""),
        Var("added", Array(T, Bool()), """
            The output partition is part of the ongoing transaction of each transactional.id.
            Real Kafka: TransactionMetadata.topicPartitions; the coordinator writes markers
            only to the partitions listed there."""),
        Var("pend", Array(T, Int(NO_OFFSETS, M)), """
            The input offset each transactional.id's ongoing transaction will commit (-1:
            none). Real Kafka: the pending transactional offset commit the group
            coordinator holds after TxnOffsetCommit, applied by the commit marker.""",
            init=[NO_OFFSETS] * T),
        Var("out_len", Int(0, L), """
            The output partition's log end offset. Real Kafka: the leader's log end; every
            record is replicated (acks=all, the transactional producer's default). Left out:
            control records (markers) take no offsets here."""),
        Var("out_val", Array(L, Int(-1, M - 1)), """
            The input record each output record was computed from (-1: beyond the log end).
            Real Kafka: the output record's content.""", init=[-1] * L),
        Var("out_st", Array(L, REC), """
            Each output record's transaction outcome: open, committed or aborted (none:
            beyond the log end). Real Kafka: the marker after it in the partition, and the
            aborted-transactions index a read_committed fetch returns."""),
        Var("out_tid", Array(L, Int(0, T - 1)), """
            The transactional.id (producer id) that wrote each output record. Real Kafka:
            the producer id in the record batch header."""),
        Var("rd", Int(0, L), """
            The downstream reader's position in the output partition: it has delivered the
            records below it to its application (read_uncommitted: all of them;
            read_committed: the committed ones). Real Kafka: a consumer of the output
            topic with isolation.level=`isolation`."""),
    ]


@model.action(over="instances")
def Poll(s, c):
    """The owner's poll() returns the next input record; it calls beginTransaction().

    Real Kafka: KafkaConsumer.poll() with max.poll.records=1, then
    KafkaProducer.beginTransaction() (local to the client: the coordinator learns of the
    transaction at its first AddPartitionsToTxn). With commit=auto this is a poll whose
    auto.commit.interval.ms timer has not expired. Left out: empty polls.
    """
    when(s.st[c] == ST.member, s.owner == c, s.pc[c] == PC.idle, s.pos[c] < s.params.messages, Not(s.fenced[c]))
    s.pos[c] += 1
    s.pc[c] = PC.fetched


@model.action(over=lambda p: range(p.instances) if p.commit == "auto" else [])
def PollAutoCommit(s, c):
    """poll() with the auto-commit timer expired: it commits the position first, outside any transaction.

    Real Kafka (T7): enable.auto.commit=true in the EOS loop; ConsumerCoordinator.poll
    commits allConsumed() (the position after the records of earlier polls) before it
    fetches (catalogue section 3). Left out: the commit's latency and failures.
    """
    when(s.params.commit == "auto")
    when(s.st[c] == ST.member, s.owner == c, s.pc[c] == PC.idle, s.pos[c] < s.params.messages, Not(s.fenced[c]))
    s.committed = s.pos[c]
    s.pos[c] += 1
    s.pc[c] = PC.fetched


@model.action(over="instances")
def AddPartition(s, c):
    """send() of the output record first adds the output partition to the transaction.

    Real Kafka: the producer's TransactionManager sends AddPartitionsToTxn before the
    first produce to a partition; the coordinator begins the transaction if none is
    ongoing for this transactional.id and records the partition. A stale epoch fails
    with PRODUCER_FENCED. Left out: the request's latency.
    """
    when(s.pc[c] == PC.fetched, live(s, c))
    k = tid(s.params, c)
    s.ongoing[k] = True
    s.added[k] = True
    s.pc[c] = PC.added


@model.action(over="instances")
def Produce(s, c):
    """The output record is appended to the output partition, open until a marker follows it.

    Real Kafka: the produce request with the transactional producer id and epoch. With
    verification=on the partition leader first verifies with the coordinator that the
    partition is in an ongoing transaction of this producer (KIP-890 part 1) and refuses
    it otherwise (an abortable error); with verification=off it appends whatever the
    coordinator knows, so a record can join no transaction at all (a hanging
    transaction, T4) or a later one. Left out: the produce request's own delay.
    """
    when(s.pc[c] == PC.added, live(s, c), s.out_len < capacity(s.params))
    k = tid(s.params, c)
    ok = True if not kip890(s.params, "verification") else And(s.ongoing[k], s.added[k])
    n = s.out_len
    s.out_val[n] = ite(ok, s.pos[c] - 1, s.out_val[n])
    s.out_st[n] = ite(ok, REC.open, s.out_st[n])
    s.out_tid[n] = ite(ok, k, s.out_tid[n])
    s.out_len = ite(ok, n + 1, n)
    s.pc[c] = ite(ok, PC.sent, PC.failed)


@model.action(over="instances")
def SendOffsets(s, c):
    """sendOffsetsToTransaction() adds the next input offset to the transaction (KIP-447: with the group generation).

    Real Kafka: AddOffsetsToTxn to the transaction coordinator (which begins a
    transaction if none is ongoing), then TxnOffsetCommit to the group coordinator,
    held as a pending offset until the marker. With fencing=group-metadata (KIP-447) the
    group coordinator checks the generation: a zombie's request fails
    (CommitFailedException, abortable). With fencing=static-id or none the application
    passes only the group id, which nobody checks. Left out: several input partitions.
    """
    when(s.pc[c] == PC.sent, live(s, c))
    p = s.params
    k = tid(p, c)
    ok = s.st[c] == ST.member if p.fencing == "group-metadata" else True
    s.ongoing[k] = True
    s.pend[k] = ite(ok, s.pos[c], s.pend[k])
    s.pc[c] = ite(ok, PC.offsets, PC.failed)


@model.action(over=lambda p: range(p.instances) if p.commit == "sync" else [])
def CommitSync(s, c):
    """The application also calls consumer.commitSync(), outside the transaction.

    Real Kafka (T7): commitSync() commits the position at once through the group
    coordinator, whatever becomes of the transaction; a zombie's fails with
    CommitFailedException (stale generation) and the application goes on to
    commitTransaction(). Left out: commitAsync.
    """
    when(s.params.commit == "sync", s.pc[c] == PC.offsets, s.st[c] != ST.down)
    s.committed = ite(And(s.st[c] == ST.member, s.owner == c), s.pos[c], s.committed)
    s.pc[c] = PC.synced


@model.action(over="instances")
def Commit(s, c):
    """commitTransaction(): the coordinator commits; markers make the output visible and the offset committed.

    Real Kafka: EndTxn(commit) for the producer id and epoch; the coordinator writes
    PrepareCommit, answers, and writes commit markers to the output partition and to
    __consumer_offsets. With no ongoing transaction (one a delayed EndTxn already
    completed, kip890=off) the coordinator treats the request as a retry of that commit
    and answers success. Left out: the Prepare state as a step of its own.
    """
    when(s.pc[c] == (PC.synced if s.params.commit == "sync" else PC.offsets), live(s, c))
    commit_txn(s, tid(s.params, c))
    s.pc[c] = PC.idle


@model.action(over=lambda p: range(p.instances) if _can_fail(p) else [])
def Abort(s, c):
    """After an abortable error or a commit timeout, abortTransaction(); with rewind=yes, seek back to committed().

    Real Kafka: EndTxn(abort): abort markers to every partition added to the
    transaction, its pending offsets dropped. The consumer's position is not rewound by
    Kafka (KAFKA-17582): the application seeks to committed() (rewind=yes, as Apache's
    ExactlyOnceMessageProcessor does) or polls on after the aborted record (rewind=no, T2).
    Left out: an abort request that itself fails.
    """
    when(Or(s.pc[c] == PC.failed, s.pc[c] == PC.timedout), live(s, c))
    k = tid(s.params, c)
    abort_txn(s, k)
    if kip890(s.params, "kip890"):  # KIP-890 part 2: every EndTxn ends the epoch; the client gets the next one
        bump_epoch(s, k, keep=c)
    s.pc[c] = PC.starting if s.params.rewind == "yes" else PC.idle


def _can_start(p):
    """An instance can come to fetch the committed offset: after a restart, a hand-over or a rewind."""
    return (_can_go_down(p) or (p.instances > 1 and "max-poll-exceeded" in p.failure_modes)
            or (_can_fail(p) and p.rewind == "yes"))


@model.action(over=lambda p: range(p.instances) if _can_start(p) else [])
def FetchOffset(s, c):
    """The owner fetches the group's committed offset and seeks there (after a start, a hand-over or a rewind).

    Real Kafka: OffsetFetch with require_stable (KIP-447): while a transaction holds
    offsets for the partition that are neither committed nor aborted, the coordinator
    answers UNSTABLE_OFFSET_COMMIT and the consumer waits. Left out: auto.offset.reset
    (the group always has an offset, 0 at first).
    """
    when(s.st[c] == ST.member, s.owner == c, s.pc[c] == PC.starting, no_pending_offsets(s))
    s.pos[c] = s.committed
    s.pc[c] = PC.idle


@model.action(over=lambda p: range(p.instances) if _can_be_fenced(p) else [])
def Close(s, c):
    """The producer's next request fails with ProducerFencedException; the application closes both clients.

    Real Kafka: a fenced producer is fatal: the application closes the producer and the
    consumer (catalogue section 4, step 4). With commit=auto, KafkaConsumer.close()
    commits the position synchronously (C5) unless the instance was evicted.
    Left out: a fenced instance that keeps its consumer and creates a new producer.
    """
    when(s.st[c] != ST.down, s.fenced[c])
    if s.params.commit == "auto":
        s.committed = ite(And(s.st[c] == ST.member, s.owner == c), s.pos[c], s.committed)
    s.st[c] = ST.down
    s.pc[c] = PC.idle


@model.action(over=lambda p: range(p.instances) if _can_go_down(p) else [])
def Restart(s, c):
    """A stopped instance starts again: initTransactions() fences older epochs and aborts their transaction.

    Real Kafka: the new process creates its producer with the same transactional.id
    and calls initTransactions(): the coordinator aborts the transaction the old epoch
    left open and bumps the epoch. Its consumer rejoins the group; the owner then
    fetches the committed offset. In the per-partition scheme only the partition's
    owner uses the partition's transactional.id. Left out: the join round trip (a
    restarted instance keeps its assignment); starting heals, so it is not budgeted.
    """
    when(s.st[c] == ST.down)
    s.st[c] = ST.member
    s.pc[c] = PC.starting
    s.fenced[c] = False
    init_transactions(s, c, cond=(s.owner == c) if s.params.fencing == "static-id" else True)


@model.action
def Read(s):
    """The downstream reader of the output topic fetches the next record (read_committed: below the LSO).

    Real Kafka: a consumer with isolation.level=read_uncommitted reads up to the high
    watermark, open and aborted transactions included (C14); with read_committed it
    reads only below the last stable offset (the first offset of a transaction still
    open) and drops the records of aborted transactions. Left out: the reader's own
    offsets and failures (it never reads a record twice).
    """
    p = s.params
    when(s.rd < s.out_len)
    if p.isolation == "read_committed":  # the LSO: no open transaction at or below the record
        when(all_of(range(capacity(p)), lambda o: Or(o > s.rd, s.out_st[o] != REC.open)))
    s.rd += 1


# The failure modes: every module of spec/failures/ whose MODEL is "eos", in ORDER.
failures.install_all(model)


ACTORS = {"Poll": ("input", "instance {i}"), "PollAutoCommit": ("instance {i}", "group coordinator"),
          "AddPartition": ("instance {i}", "txn coordinator"), "Produce": ("instance {i}", "output"),
          "SendOffsets": ("instance {i}", "group coordinator"), "CommitSync": ("instance {i}", "group coordinator"),
          "Commit": ("instance {i}", "txn coordinator"), "Abort": ("instance {i}", "txn coordinator"),
          "FetchOffset": ("group coordinator", "instance {i}"), "Close": "instance {i}",
          "Restart": ("instance {i}", "txn coordinator"), "Read": ("output", "reader")}


def _output(s):
    """The output partition: each record's input, transactional.id and outcome; the LSO and the reader."""
    recs = [f"out{s.out_val[o]}/t{s.out_tid[o]} {s.out_st[o]}" for o in range(s.out_len)]
    lso = next((o for o in range(s.out_len) if s.out_st[o] == "open"), s.out_len)
    return ("; ".join(recs) or "empty") + f"; LSO {lso}; reader at {s.rd}"


def _offsets(s):
    pend = ", ".join(f"t{k} {'none' if v == NO_OFFSETS else v}" for k, v in enumerate(s.pend))
    return f"committed {s.committed}; pending {pend}"


def _instances(s):
    return "; ".join(f"i{c} {s.st[c]} {s.pc[c]} position {s.pos[c]}" + (" fenced" if s.fenced[c] else "")
                     for c in range(len(s.pos)))


COLUMNS = {"output partition": _output, "offsets": _offsets, "instances": _instances}

model.pictures(project=("committed", "pc"), actors=ACTORS, columns=COLUMNS, instances=({},))


# --------------------------------------------------------------------------- properties

def _run_ended(s):
    """The owner is live, idle and past every input record: nothing more will be processed."""
    p = s.params
    return Or(*[And(s.owner == c, s.st[c] == ST.member, s.pc[c] == PC.idle, s.pos[c] == p.messages,
                    Not(s.fenced[c])) for c in range(p.instances)])


def no_loss(s):
    """Every input record below the committed offset, and every one once the run is over, has visible output, unless a live instance still holds it in a transaction."""
    end = _run_ended(s)
    return all_of(range(s.params.messages), lambda i: Or(
        visible(s, i) >= 1, holds(s, i), And(i >= s.committed, Not(end))))


def no_duplicate(s):
    """No input record's output is visible twice to a read_committed reader."""
    return all_of(range(s.params.messages), lambda i: visible(s, i) <= 1)


def no_aborted_read(s):
    """The downstream reader delivered no record of an aborted transaction (read_committed: it passed only records with a marker)."""
    p = s.params
    bad = REC.aborted if p.isolation == "read_uncommitted" else REC.open
    return all_of(range(capacity(p)), lambda o: Or(o >= s.rd, s.out_st[o] != bad))


def atomic_offsets(s):
    """An input record is below the committed offset exactly when its output is visible."""
    return all_of(range(s.params.messages), lambda i: (i < s.committed) == (visible(s, i) >= 1))


# The model states no expectation of its own (expect=None): the matrix rows carry the
# catalogue's (spec/matrix.py).
model.always(no_loss, name="no-loss", expect=None)
model.always(no_duplicate, name="no-duplicate-processing", expect=None)
model.always(no_aborted_read, name="no-aborted-read", expect=None)
model.always(atomic_offsets, name="atomic-offsets", expect=None)
