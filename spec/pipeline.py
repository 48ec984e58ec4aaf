"""The `pipeline` model: a producer, a replicated partition and one consumer, end to end.

The producer (spec/producer.py) sends with `acks` 0, 1 or all, retries failed
requests (`retries`), optionally idempotently, with one or two requests in flight.
The partition (spec/replication.py) has `replicas` brokers: a leader and followers
with their own logs, an ISR, a high watermark, `min.insync.replicas`, clean or
unclean elections and the truncation that follows. The consumer runs the reference
poll-process-commit loop (shared/reference-model.md) on what the leader serves below
its high watermark. Perturbations are budgeted failure modes: request-timeout,
broker-failure, isr-shrink (spec/failures/) and the consumer's crash; healing
(fetching, elections, restarts, retries within `retries`) is not budgeted.
Checked against ../shared/kafka-failure-modes.md (P1-P4, B1, B2); the rows are in
spec/matrix.py.

With every producer and broker feature off (one replica, no producer failure), the
consumer sees exactly the reference model: its states, projected on the reference
variables, are those of `kafka` (a test checks it).

Which Kafka (spec/versions.py): `kafka_version` and `client_version`, 4.1 by default.
Brokers from 4.1 keep the high watermark still while the ISR is smaller than
min.insync.replicas (KIP-966); Java consumers from 2.3 detect the truncation an
unclean election makes and move back to where their log diverged (KIP-320).

What the model leaves out: batches (a request carries one message); one partition
and one producer session (no producer epochs, P7, P8); the consumer's
OffsetOutOfRange; delivery.timeout.ms; disk loss; the controller as a process; the
Eligible Leader Replicas set (only strict min ISR, its high-watermark rule).
"""

from checker import And, Array, Bool, CheckerError, Enum, Int, Model, Not, Or, Var, all_of, any_of, ite, when

from . import failures, versions
from .producer import PST, Ack, Append, Expire, Retry, Send, acked
from .replication import (EMPTY, NO_LEADER, Elect, Fetch, RestartBroker, Truncate, at_leader, capacity,
                          describe_log, in_leader_log, leader_entry, leaders_change)

ACKS = ("0", "1", "all")
# Where the consumer is in its loop: commit=after goes idle, fetched, processed;
# commit=before idle, fetched, committed (as in the reference model).
PC = Enum("idle", "fetched", "processed", "committed")


def most(p):
    """How often one message can be processed: each copy in the log, once per consumer crash."""
    return (1 + p.retries) * (1 + p.max_crashes)


model = Model("pipeline", __doc__)
model.param("messages", 2, min=1, max=4, doc="messages the producer sends")
model.param("replicas", 1, min=1, max=3, structural=True, doc="replication factor: brokers holding the partition")
model.param("acks", "all", choices=ACKS,
            doc="acks: 0 (fire and forget), 1 (the leader wrote it), all (the ISR has it; Kafka's default)")
model.param("min_isr", 1, min=1, max=3, structural=True,
            doc="min.insync.replicas: ISR members an acks=all write needs (Kafka's default: 1)")
model.param("unclean", "no", choices=("no", "yes"),
            doc="unclean.leader.election.enable: elect a replica outside the ISR when no ISR member is alive")
model.param("retries", 0, min=0, max=2, structural=True, doc="retries: how often, in all, the producer resends a failed request")
model.param("idempotence", "no", choices=("no", "yes"),
            doc="enable.idempotence: the broker drops a resent duplicate (needs acks=all, retries >= 1)")
model.param("in_flight", 1, min=1, max=2, structural=True, doc="max.in.flight.requests.per.connection")
model.param("commit", "after", choices=("after", "before"),
            doc="the consumer commits after processing (at-least-once) or before (at-most-once)")
model.param("sink", "plain", choices=("plain", "idempotent", "idempotent-by-offset"),
            doc="where the side effect goes: plain (each processing applies it), idempotent (keyed by the "
                "message's id, assigned by the producer, applied at most once: remedy R1) or "
                "idempotent-by-offset (keyed by the record's offset, which a resent copy does not share)")
model.param("max_crashes", 1, min=0, doc="consumer crashes allowed in one run")
versions.declare(model)


@model.variables
def _variables(p):
    M, R, L = p.messages, p.replicas, capacity(p)
    if p.min_isr > R:
        raise CheckerError(f"min_isr={p.min_isr} is more than replicas={R}; "
                           f"use -p min_isr=1..{R} (Kafka would refuse every acks=all write)")
    strict = versions.switches(p)["strict_min_isr"]
    if p.min_isr > 1 and p.acks != "all" and not strict:
        raise CheckerError(f"min_isr={p.min_isr} has no effect with acks={p.acks} and kafka_version="
                           f"{p.kafka_version} (min.insync.replicas bounds acks=all writes only before strict min "
                           "ISR, KIP-966, 4.1); add -p acks=all, or drop min_isr")
    if p.idempotence == "yes" and (p.acks != "all" or p.retries < 1):
        raise CheckerError("enable.idempotence needs acks=all and retries >= 1 (Kafka's producer "
                           "refuses the configuration); use -p acks=all -p retries=1, or -p idempotence=no")
    return [
        Var("pst", Array(M, PST), """
            Each message on the producer side: unsent, on the wire, waiting for the
            response, failed (retriable while retries last), acked, or dropped (acks=0:
            lost unnoticed). Real Kafka: the state of the batch and of the future send()
            returned. Left out: batching."""),
        Var("retried", Int(0, p.retries), """
            Retries used so far, against `retries`. Real Kafka: the retries setting (the
            default, 2147483647, leaves delivery.timeout.ms as the only bound)."""),
    ] + ([
        Var("last_sent", Int(0, M - 1), """
            With two requests in flight: the message sent (or resent) last; the other
            one on the wire reaches the leader first. Real Kafka: requests on one
            connection are handled in order.""")] if p.in_flight > 1 else []) + [
        Var("up", Array(R, Bool()), """
            Whether each broker holding a replica is alive. Real Kafka: a live broker
            session with the controller.""", init=[True] * R),
        Var("isr", Array(R, Bool()), """
            The in-sync replica set. Real Kafka: the partition's ISR in the controller's
            metadata; never empty (its last member stays even when it dies).""", init=[True] * R),
        Var("leader", Int(NO_LEADER, R - 1), """
            The replica that leads the partition (-1: offline). Real Kafka: the leader in
            the partition state; producers and consumers talk to it alone.""", init=0),
        Var("leo", Array(R, Int(0, L)), """
            Each replica's log end offset. Real Kafka: Log.logEndOffset."""),
        Var("log", Array(R, Array(L, Int(EMPTY, M - 1))), """
            Each replica's log: the message id at each offset below its log end (-1
            beyond). Real Kafka: the partition's log segments on that broker.""",
            init=[[EMPTY] * L for _ in range(R)]),
        Var("hw", Int(0, L), """
            The leader's high watermark: consumers read only below it. Real Kafka: the
            offset every ISR member has replicated (the "committed" log)."""),
    ] + ([
        Var("epoch_start", Int(0, L), """
            The leader's log end when it was elected: the start offset of its leader
            epoch, which a follower must reach to rejoin the ISR. Real Kafka: the leader
            epoch cache's start offset of the current epoch (KAFKA-7128). Kept only
            where leadership can move.""")] if leaders_change(p) else []) + [
        Var("position", Int(0, L), """
            The consumer's fetch position: the next offset poll() returns. Real Kafka:
            KafkaConsumer.position(); lost with the process."""),
        Var("committed", Int(0, L), """
            The group's committed offset. Real Kafka: __consumer_offsets, written by
            commitSync. Left out: offset retention, rebalances."""),
        Var("pc", PC, """
            Where the consumer is in its loop (as in the reference model)."""),
        Var("cur", Int(0, M - 1), """
            The message in the consumer's hands (0 when idle). Real Kafka: the
            ConsumerRecord being processed; here its message id, since the same offset
            can hold another message after an unclean election."""),
        Var("processed", Array(M, Int(0, most(p))), """
            How often each message's side effect ran. Real Kafka: outside Kafka (a
            database write)."""),
        Var("reordered", Bool(), """
            A history flag: some message was first processed after a later one had been.
            Real Kafka: what a downstream reader of the side effects sees."""),
    ] + ([
        Var("applied", Array(L, Bool()), """
            sink=idempotent-by-offset: the offsets whose side effect the sink has applied.
            Real Kafka: a unique key on (topic, partition, offset) in the sink. Left out:
            the sink's own failures.""")] if p.sink == "idempotent-by-offset" else [])


def _isr_shrinks(p):
    return "isr-shrink" in p.failure_modes or (leaders_change(p) and p.replicas > 1)


# An action that cannot happen in a configuration is not instantiated there (no
# followers, no retries, no failure to heal from), so coverage reports stay about
# the configuration's real dead ends.
model.action(Send, over="messages")
model.action(Append, over="messages")
model.action(Ack, over=lambda p: range(p.messages) if p.acks != "0" else [])
model.action(Retry, over=lambda p: range(p.messages) if p.retries and p.acks != "0" else [])
model.action(Expire, over=lambda p: range(p.messages) if leaders_change(p) or _isr_shrinks(p) else [])
model.action(Fetch, over=lambda p: range(p.replicas) if p.replicas > 1 else [])
model.action(Truncate, over=lambda p: range(p.replicas) if p.replicas > 1 and leaders_change(p) else [])
for fn in (Elect, RestartBroker):
    model.action(fn, over=lambda p: range(p.replicas) if leaders_change(p) else [])


@model.action
def Poll(s):
    """The consumer's poll() returns the record at its position below the high watermark.

    Real Kafka: the consumer fetches from the leader, which serves only offsets below
    the high watermark. Left out: one record per poll; OffsetOutOfRange.
    """
    when(s.pc == PC.idle, s.leader != NO_LEADER, s.position < s.hw)
    s.cur = leader_entry(s, s.position)
    s.position += 1
    s.pc = PC.fetched


@model.action
def Process(s):
    """The application processes the message in hand (its side effect runs).

    Real Kafka: application code between poll() and the commit; with commit=before it
    runs after the commit. With sink=idempotent (R1) the side effect is keyed by the
    message's producer-assigned id, so a second copy changes nothing; with
    sink=idempotent-by-offset it is keyed by the record's offset, so a redelivery of the
    same record changes nothing but a copy the producer wrote again, at a new offset,
    does. `processed` counts the effects the sink applied. Left out: processing that
    fails or is only half done.
    """
    after = s.params.commit == "after"
    when(s.pc == (PC.fetched if after else PC.committed))
    m = s.cur
    first = s.processed[m] == 0
    later = any_of(range(s.params.messages), lambda k: And(k > m, s.processed[k] >= 1))
    s.reordered = Or(s.reordered, And(first, later))
    if s.params.sink == "idempotent":  # R1, keyed by the message id: a copy at a new offset changes nothing
        s.processed[m] = ite(s.processed[m] >= 1, s.processed[m], 1)
    elif s.params.sink == "idempotent-by-offset":  # keyed by the offset of the record in hand
        off = s.position - 1
        new = Not(any_of(range(capacity(s.params)), lambda i: And(i == off, s.applied[i])))
        s.processed[m] = ite(And(new, s.processed[m] < most(s.params)), s.processed[m] + 1, s.processed[m])
        for i in range(capacity(s.params)):
            s.applied[i] = Or(s.applied[i], off == i)
    else:
        s.processed[m] = ite(s.processed[m] >= most(s.params), most(s.params), s.processed[m] + 1)
    s.pc = PC.processed if after else PC.idle
    if not after:
        s.cur = 0


@model.action
def Commit(s):
    """The consumer commits its position (commitSync): after processing, or before it.

    Real Kafka: commitSync() stores the next offset to read in __consumer_offsets.
    Left out: commit failures, rebalances, auto-commit (see the `group` model).
    """
    if s.params.commit == "after":
        when(s.pc == PC.processed)
        s.committed = s.position
        s.pc = PC.idle
        s.cur = 0
    else:
        when(s.pc == PC.fetched)
        s.committed = s.position
        s.pc = PC.committed


crash = model.failure_mode("crash", budget="max_crashes", counter="crashes", default=True,
                           doc="The consumer crashes at any point of its loop and restarts from the "
                               "committed offset (as in the reference model).")


@crash.action
def Crash(s):
    """The consumer process dies and restarts from the committed offset (as in the reference model).

    Real Kafka: a new consumer instance resumes at the group's committed offset; what
    it had fetched but not committed is delivered again. Left out: the session timeout
    and rebalance in between.
    """
    s.pc = PC.idle
    s.cur = 0
    s.position = s.committed


# The failure modes of spec/failures/ whose MODEL is "pipeline", in ORDER.
failures.install_all(model)


# --------------------------------------------------------------------------- properties

def no_acked_loss(s):
    """Every message acknowledged to the producer is in the leader's log (while there is a leader)."""
    return all_of(range(s.params.messages), lambda m: Or(
        Not(acked(s, m)), s.leader == NO_LEADER, in_leader_log(s, m), s.pst[m] == PST.wire))


def _copies(s, m):
    return at_leader(s, lambda r: sum(ite(And(i < s.leo[r], s.log[r][i] == m), 1, 0)
                                      for i in range(capacity(s.params))))


def no_duplicate_in_log(s):
    """No message is written twice in the leader's log."""
    return all_of(range(s.params.messages), lambda m: Or(s.leader == NO_LEADER, _copies(s, m) <= 1))


def no_loss(s):
    """Every acknowledged message was processed, is in the consumer's hands, or is still to be read."""
    return all_of(range(s.params.messages), lambda m: Or(
        Not(acked(s, m)), s.pst[m] == PST.wire, s.processed[m] >= 1, And(s.pc != PC.idle, s.cur == m),
        s.leader == NO_LEADER, in_leader_log(s, m, since=s.committed)))


def no_duplicate(s):
    """No message's side effect ran twice."""
    return all_of(s.processed, lambda n: n <= 1)


def in_order(s):
    """Messages are first processed in the order they were sent."""
    return Not(s.reordered)


# ------------------------------------------------ what the catalogue says each property does

def _can(p, mode, budget):
    """The failure mode is on with a budget of at least one."""
    return _budget(p, mode, budget) >= 1


def expect_no_acked_loss(p):
    """P1: acks=0 loses what the network or a dying leader drops. P2: acks=1 loses what a
    failed leader wrote alone. B1/B2: unclean election of a replica that left the ISR before
    an acks=all write loses it, once every replica that had it (min.insync.replicas of
    them at least) is down. Clean elections with acks=all lose nothing."""
    failures = _budget(p, "broker-failure", "max_broker_failures")
    if p.acks == "0":
        lost = _can(p, "request-timeout", "max_timeouts") or failures >= 1
    elif p.acks == "1":
        lost = failures >= 1 and p.replicas >= 2
    else:
        # An acks=all write is on every ISR member of its time (min_isr of them at least):
        # all of them must die, and a replica outside that ISR (dropped by isr-shrink,
        # or by an earlier failure it restarted from) must take over.
        dropped = min(_budget(p, "isr-shrink", "max_isr_shrinks"), p.replicas - p.min_isr)
        lost = (p.unclean == "yes" and p.replicas > p.min_isr and failures >= p.replicas - dropped)
    return "violated" if lost else "holds"


def _budget(p, mode, budget):
    return getattr(p, budget) if mode in p.failure_modes else 0


def _refused(p):
    """acks=all writes are refused once the ISR can shrink below min.insync.replicas."""
    followers = min(_budget(p, "isr-shrink", "max_isr_shrinks"), p.replicas - 1)  # the leader stays
    return p.acks == "all" and followers > p.replicas - p.min_isr


def _written_but_failed(p):
    """A write the producer is told failed (or never hears about) although it is in the log."""
    return (_can(p, "request-timeout", "max_timeouts") or _can(p, "broker-failure", "max_broker_failures")
            or _refused(p))


def expect_no_duplicate_in_log(p):
    """P3: without idempotence, a retried write that had in fact succeeded is written again."""
    dup = p.acks != "0" and p.retries >= 1 and p.idempotence == "no" and _written_but_failed(p)
    return "violated" if dup else "holds"


def _unclean_takes_back_read_records(p):
    """B1: an unclean election can take back records below the high watermark, which the
    consumer may have read (the ISR shrank to the leader, whatever min.insync.replicas
    says). KIP-966 (broker 4.1): a record below the high watermark is on
    min.insync.replicas replicas, so taking it back needs as many failures as losing an
    acks=all write."""
    failures = _budget(p, "broker-failure", "max_broker_failures")
    stay = p.min_isr if versions.switches(p)["strict_min_isr"] else 1  # replicas with every readable record
    dropped = min(_budget(p, "isr-shrink", "max_isr_shrinks"), p.replicas - stay)
    return p.unclean == "yes" and p.replicas >= 2 and failures >= p.replicas - dropped


def _unclean_truncates_read_records(p):
    """B1's offset reuse: new messages take the offsets of records the consumer read, behind
    its position, and it never reads them. An idempotent producer's next message does not:
    its sequence number no longer follows the new leader's log, and the broker refuses it
    until the lost one is written again. KIP-320 (client 2.3): the consumer detects the
    truncation, moves back and reads them."""
    return (not versions.switches(p)["truncation_detection"] and p.idempotence == "no" and p.messages >= 2
            and _unclean_takes_back_read_records(p))


def _reads_again_after_truncation(p):
    """B1's "+D via reset": a consumer that detects the truncation (KIP-320) moves back to the
    divergence and reads again a record it had processed, when the producer, whose write the
    election took back before its acknowledgement, sends it again."""
    return (versions.switches(p)["truncation_detection"] and p.acks != "0" and p.retries >= 1
            and _unclean_takes_back_read_records(p))


def expect_no_loss(p):
    """End to end: what the log loses is never processed; B1: a consumer that read records an
    unclean election took back skips the new messages at their offsets (before KIP-320's
    truncation detection); C1: commit-before loses one crash's record."""
    consumer = p.commit == "before" and _can(p, "crash", "max_crashes")
    lost = expect_no_acked_loss(p) == "violated" or _unclean_truncates_read_records(p)
    return "violated" if consumer or lost else "holds"


def expect_no_duplicate(p):
    """A record written twice is processed twice; C2: a crash before the commit redelivers;
    B1 with KIP-320: the consumer reads a rewritten record again after the truncation;
    R1: a sink keyed by the message id applies each message once, whatever is delivered
    twice; one keyed by the offset only absorbs redeliveries of the same record."""
    consumer = p.commit == "after" and _can(p, "crash", "max_crashes") and p.sink == "plain"
    copies = expect_no_duplicate_in_log(p) == "violated" or _reads_again_after_truncation(p)
    return "violated" if consumer or (copies and p.sink != "idempotent") else "holds"


def expect_in_order(p):
    """P4: two requests in flight, the first retried after the second landed (no idempotence)."""
    lost_request = _written_but_failed(p)  # the same causes fail a request before it is written
    r = (p.in_flight > 1 and p.messages > 1 and p.retries >= 1 and p.idempotence == "no"
         and p.acks != "0" and lost_request)
    return "violated" if r else "holds"


model.always(no_acked_loss, name="no-acked-loss", expect=expect_no_acked_loss)
model.always(no_duplicate_in_log, name="no-duplicate-in-log", expect=expect_no_duplicate_in_log)
model.always(no_loss, name="no-loss", expect=expect_no_loss)
model.always(no_duplicate, name="no-duplicate-processing", expect=expect_no_duplicate)
model.always(in_order, name="in-order", expect=expect_in_order)


ACTORS = {"Send": ("producer", "leader"), "Append": "leader", "Ack": ("leader", "producer"),
          "Retry": ("producer", "leader"), "Expire": "producer", "Fetch": ("leader", "replica {i}"),
          "Truncate": "replica {i}", "Elect": ("controller", "replica {i}"), "RestartBroker": "replica {i}",
          "Poll": ("leader", "consumer"), "Process": "consumer", "Commit": ("consumer", "coordinator"),
          "Crash": "consumer"}  # the failure modes of spec/failures/ give their actions' lanes (`actor=`)


def _producer_column(s):
    return "; ".join(f"m{m} {s.pst[m]}" for m in range(len(s.pst)))


def _logs_column(s):
    lead = "offline" if s.leader == NO_LEADER else f"leader r{s.leader}"
    return f"{lead}, hw {s.hw}: " + "; ".join(describe_log(s, r) for r in range(len(s.up)))


def _consumer_column(s):
    done = ", ".join(f"m{m} {n}x" for m, n in enumerate(s.processed) if n)
    return f"position {s.position}, committed {s.committed}, {s.pc}" + (f"; processed {done}" if done else "")


COLUMNS = {"producer": _producer_column, "replicas": _logs_column, "consumer": _consumer_column}


model.pictures(project=("leader", "hw", "pc"), actors=ACTORS, columns=COLUMNS, instances=({},))
