"""Steps of the `eos` model shared by its base actions and its failure modes.

Kept apart from spec/eos.py so that a failure-mode module (spec/failures/) can use them
without importing the model it is installed into. Each helper is one protocol step of
the transaction coordinator or of the group coordinator, written once.
"""

from checker import And, CheckerError, Enum, Not, Or, all_of, ite, when

from . import versions

# An application instance's process: down (crashed or closed), a member of the group, or
# a zombie (evicted for exceeding max.poll.interval.ms but still running its transaction).
ST = Enum("down", "member", "zombie")
# Where an instance is in its consume-transform-produce loop (one input record per transaction):
# starting: fetching the committed offset (after a start, a rewind or a hand-over); fetched: the
# record is in hand and beginTransaction() was called; added: AddPartitionsToTxn for the output
# partition done; sent: the output record acknowledged; offsets: sendOffsetsToTransaction done;
# synced: commitSync() done as well (commit=sync); timedout: commitTransaction() timed out;
# failed: the transaction is in an abortable error.
PC = Enum("idle", "starting", "fetched", "added", "sent", "offsets", "synced", "timedout", "failed")
# A record of the output partition: none (beyond the log end), open (its transaction has no
# marker yet), committed or aborted (a marker was written after it).
REC = Enum("none", "open", "committed", "aborted")
NO_OFFSETS = -1  # the transaction carries no consumer offsets


def tid(p, c):
    """The transactional.id instance c uses (an index): its own (KIP-447 scheme), or the input
    partition's (the older per-partition scheme, fencing=static-id; one input partition)."""
    return 0 if p.fencing == "static-id" else c


def tids(p):
    """How many transactional.ids there are."""
    return 1 if p.fencing == "static-id" else p.instances


def capacity(p):
    """Output records one run can write: one per attempt at an input record. A record is
    tried again only after a fault (each unit of a failure mode's budget causes at most
    one more attempt, a zombie's included), so this bound is never what stops a run."""
    budgets = {"crash": "max_crashes", "max-poll-exceeded": "max_rebalances", "send-error": "max_send_errors",
               "txn-timeout": "max_txn_timeouts", "commit-timeout": "max_commit_timeouts",
               "produce-timeout": "max_produce_timeouts"}
    return p.messages + sum(getattr(p, b) for m, b in budgets.items() if m in p.failure_modes)


def _end_txn(s, k, outcome, cond=True):
    """The coordinator completes transaction k with `outcome` (REC.committed or REC.aborted), where `cond` holds.

    Real Kafka: EndTxn moves the transaction to PrepareCommit/PrepareAbort in the
    transaction log (the decision), then WriteTxnMarkers puts a marker in every partition
    added to it: the output partition (every open record of the producer there, including
    records appended while the coordinator knew of no transaction) and __consumer_offsets
    (the pending offsets become the group's committed offset, or are dropped).
    Left out: the markers are written after the decision, not with it; a read_committed
    reader (LSO) and a consumer fetching stable offsets (KIP-447) wait for them, so to
    them the step is atomic.
    """
    marked = And(cond, s.ongoing[k], s.added[k])
    for o in range(capacity(s.params)):
        mine = And(marked, s.out_st[o] == REC.open, s.out_tid[o] == k)
        s.out_st[o] = ite(mine, outcome, s.out_st[o])
    if outcome == REC.committed:
        s.committed = ite(And(cond, s.ongoing[k], s.pend[k] != NO_OFFSETS), s.pend[k], s.committed)
    s.ongoing[k] = ite(cond, False, s.ongoing[k])
    s.added[k] = ite(cond, False, s.added[k])
    s.pend[k] = ite(cond, NO_OFFSETS, s.pend[k])


def commit_txn(s, k):
    """Commit markers for transactional.id k's ongoing transaction (nothing if none is ongoing)."""
    _end_txn(s, k, REC.committed)


def abort_txn(s, k, cond=True):
    """Abort markers for transactional.id k's ongoing transaction (nothing if none is ongoing)."""
    _end_txn(s, k, REC.aborted, cond)


def bump_epoch(s, k, keep=None, cond=True):
    """The coordinator bumps the producer epoch of transactional.id k: every instance using
    k, except `keep` (the one that asked, which gets the new epoch), is fenced, and its
    requests still on the network will be refused (PRODUCER_FENCED)."""
    p = s.params
    for c in range(p.instances):
        # Per input partition, only the owner and a zombie still have a producer with that id.
        uses = Or(s.owner == c, s.st[c] == ST.zombie) if p.fencing == "static-id" else True
        if tid(p, c) == k and c != keep:
            s.fenced[c] = ite(And(cond, uses), True, s.fenced[c])
        # The delayed requests of the commit-timeout and produce-timeout modes carry the old
        # epoch: refused from now on.
        if tid(p, c) == k and "commit-timeout" in p.failure_modes:
            s.late[c] = ite(cond, False, s.late[c])
        if tid(p, c) == k and "produce-timeout" in p.failure_modes:
            s.late_rec[c] = ite(cond, -1, s.late_rec[c])


def init_transactions(s, c, cond=True):
    """initTransactions() by instance c (where `cond` holds): the coordinator aborts any
    ongoing transaction of its transactional.id and bumps the epoch, fencing older
    producers with that id.

    Real Kafka: InitProducerId; an ongoing transaction is aborted (its markers written)
    before the new epoch is returned (KafkaProducer.initTransactions javadoc).
    """
    k = tid(s.params, c)
    abort_txn(s, k, cond)
    bump_epoch(s, k, keep=c, cond=cond)


def no_pending_offsets(s):
    """No transaction holds offsets for the group's partition that are not yet committed or aborted."""
    return all_of(range(tids(s.params)), lambda k: s.pend[k] == NO_OFFSETS)


def hand_over(s, c):
    """The input partition moves from instance c to the next member, which starts afresh.

    Real Kafka: a rebalance assigns the partition to another member; it fetches the
    committed offset (FetchOffset). In the older per-partition scheme it also creates the
    producer of the partition's transactional.id and calls initTransactions(), which
    aborts c's open transaction and fences c's producer. Left out: the join round trips,
    the assignor (the next instance always gets it).
    """
    p = s.params
    d = (c + 1) % p.instances
    when(s.st[d] == ST.member)
    s.owner = d
    s.pc[d] = PC.starting
    if p.fencing == "static-id":
        init_transactions(s, d)
        s.fenced[d] = False


def visible(s, i):
    """How many output records of input record i a read_committed reader of the output sees."""
    return sum(ite(And(s.out_val[o] == i, s.out_st[o] == REC.committed), 1, 0) for o in range(capacity(s.params)))


def holds(s, i):
    """Input record i is in the hands of a live instance, inside a transaction that may still commit."""
    return Or(*[And(s.st[c] != ST.down, s.pc[c] != PC.idle, s.pc[c] != PC.starting, s.pos[c] == i + 1)
                for c in range(s.params.instances)])


def live(s, c):
    """Instance c's process runs and its producer has not been fenced."""
    return And(s.st[c] != ST.down, Not(s.fenced[c]))


def kip890(p, part: str) -> bool:
    """Whether KIP-890 `part` ("verification", part 1; "kip890", part 2) is on: the parameter
    of that name when set to on or off, else what kafka_version and client_version have.

    An explicit on that the versions do not have is refused; an explicit off is a cluster
    that turned the feature off (transaction.partition.verification.enable=false, or
    transaction.version=1 on a 4.x cluster)."""
    value = getattr(p, part)
    has = versions.switches(p)[part]
    if value == "version":
        return has
    if value == "on" and not has:
        which = "part 1 (3.6)" if part == "verification" else "part 2 (4.0, with 4.0 clients)"
        raise CheckerError(f"{part}=on needs a Kafka with KIP-890 {which}, "
                           f"not kafka_version={p.kafka_version} client_version={p.client_version}; "
                           f"drop -p {part}=on or choose later versions")
    return value == "on"
