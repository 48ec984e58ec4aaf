"""The poll-process-commit loop of one consumer on one partition, written once.

`kafka` declares these definitions on its state directly; `partitions` runs one copy
per partition through the view `s.at(p)`, which indexes every array variable by p. Each
model declares the parts it takes by direct calls (`model.action(loop.Poll)`). The
semantics are exactly those of shared/reference-model.md; its NoLoss, DuplicateDelivery
and AllProcessed are no_loss, duplicate_delivery and all_processed here, which the models
declare as the properties no-loss, duplicate-delivery and all-processed.

What the whole loop leaves out: a record is identified by its offset (message o sits
at offset o, one record per produce request); the log never loses or reorders records
(no replication, no retention); fetching, processing and committing are each atomic
steps with no partial effects; the commit is synchronous (`commitSync`) and succeeds.
"""

from checker import Array, Enum, Int, Var, all_of, any_of, indices, And, Implies, Or, is_unbounded, ite, when

# Where the consumer is in its loop. The at-least-once loop (commit=after) goes idle,
# fetched, processed; the at-most-once loop (commit=before) idle, fetched, committed.
PC_AFTER = Enum("idle", "fetched", "processed")
PC_BEFORE = Enum("idle", "fetched", "committed")
IDLE, FETCHED = PC_AFTER.idle, PC_AFTER.fetched  # the same numbers in both loops
assert (IDLE, FETCHED) == (PC_BEFORE.idle, PC_BEFORE.fetched)


def saturating(p):
    """With unlimited crashes a record can be processed any number of times; the count
    then stops at 2, "more than once", which is all the properties ask, so the state
    space stays finite."""
    return is_unbounded(p.max_crashes)


def pc_values(p):
    return PC_AFTER if p.commit == "after" else PC_BEFORE


def variables(p, per=lambda domain: domain):
    """The loop's variables; `per` wraps each domain (in an array per partition, say)."""
    M = p.messages
    most = 2 if saturating(p) else p.max_crashes + 1  # each crash can add one redelivery
    return [
        Var("sent", per(Int(0, M)), """
            Records appended to the partition's log; the record at offset o is message o.
            Real Kafka: the leader appends a produce request and assigns the next offset.
            Left out: batching, keys, record contents, acks and producer retries."""),
        Var("position", per(Int(0, M)), """
            The consumer's in-memory fetch position: the next offset poll() returns.
            Real Kafka: KafkaConsumer.position(); lost with the process, so a restarted
            consumer starts from the committed offset. Left out: prefetching."""),
        Var("committed", per(Int(0, M)), """
            The offset stored for the group by the group coordinator: the next offset to
            read after a restart. Real Kafka: __consumer_offsets, written by commitSync.
            Left out: offset retention, failed or asynchronous commits, rebalances."""),
        Var("pc", per(pc_values(p)), """
            Where the consumer is in its loop: idle, fetched, then processed (commit=after)
            or committed (commit=before). Real Kafka: the application's own code around
            poll(). Left out: max.poll.records > 1 (one record per poll)."""),
        Var("cur", per(Int(0, M - 1)), """
            Offset of the record in hand, 0 whenever pc = idle. Real Kafka: the
            ConsumerRecord the application is working on."""),
        Var("processed", per(Array(M, Int(0, most))), """
            How many times the application processed each record (its side effect ran).
            Real Kafka: outside Kafka entirely (a database write, an email); this is the
            count a user of at-least-once delivery must tolerate being above 1. With
            max_crashes=unbounded it stops at 2, meaning "twice or more"."""),
    ]


def Produce(c):
    """The producer appends the next message to the log.

    Real Kafka: send() to the partition leader, acknowledged once appended. Left out:
    the producer can neither fail nor retry here, so every message reaches the log once.
    """
    when(c.sent < c.params.messages)
    c.sent += 1


def Poll(c):
    """The consumer's poll() returns the record at its position and advances it.

    Real Kafka: poll() returns up to max.poll.records records and moves the position
    past them. Left out: one record per poll, no auto-commit inside poll().
    """
    when(c.pc == IDLE, c.position < c.sent)
    c.cur = c.position
    c.position += 1
    c.pc = FETCHED


def Process(c):
    """The application processes the record in hand (its side effect happens).

    Real Kafka: application code between poll() and the commit; with commit=before it
    runs after the commit. Left out: processing that fails or is only half done.
    """
    if c.params.commit == "after":
        when(c.pc == FETCHED)
        _count(c)
        c.pc = PC_AFTER.processed
    else:
        when(c.pc == PC_BEFORE.committed)
        _count(c)
        c.pc = IDLE
        c.cur = 0


def _count(c):
    n = c.processed[c.cur]
    c.processed[c.cur] = ite(n >= 2, 2, n + 1) if saturating(c.params) else n + 1


def Commit(c):
    """The consumer commits its position: commitSync() stores the next offset to read.

    Real Kafka: commitSync() with no arguments commits the positions of the last
    poll(). commit=after runs it after processing (at-least-once), commit=before before
    processing (at-most-once). Left out: commit failures and rebalances.
    """
    if c.params.commit == "after":
        when(c.pc == PC_AFTER.processed)
        c.committed = c.position
        c.pc = IDLE
        c.cur = 0
    else:
        when(c.pc == FETCHED)
        c.committed = c.position
        c.pc = PC_BEFORE.committed


def Crash(c):
    """The consumer process dies and restarts from the committed offset.

    Real Kafka: a new consumer instance (or the same one after restart) fetches the
    group's committed offset and resumes there; whatever it had fetched but not
    committed is delivered again. Left out: the session timeout and rebalance in between,
    auto.offset.reset (there is always a committed offset, 0 at first).
    """
    c.pc = IDLE
    c.cur = 0
    c.position = c.committed


# The loop's steps, the actions its fairness is about (Crash is not one of them).
LOOP = tuple(fn.__name__ for fn in (Produce, Poll, Process, Commit))

# The fairness all-processed assumes, by the `fairness` parameter (kafka). Fairness says
# the consumer keeps running its loop: a step that stays possible (weak) or keeps
# becoming possible (strong) is eventually taken. Crash is never fair: it may happen or not.
FAIRNESS = {
    "weak": (),  # every loop step weakly fair
    "strong-commit": ("Commit",),
    "strong": ("Poll", "Process", "Commit"),
}
FAIRNESS_DOC = ("fairness all-processed assumes: weak (every loop step weakly fair), strong-commit "
                "(Commit strongly fair), strong (Poll, Process, Commit strongly fair)")


def fairness(p):
    """Weak fairness of Produce, Poll, Process, Commit; strong for those `fairness` names."""
    strong = FAIRNESS[getattr(p, "fairness", "weak")]
    return {a: "strong" if a in strong else "weak" for a in LOOP}

CRASH_DOC = """The consumer crashes at any point of its loop (budget: max_crashes).

Real Kafka: the process dies (OOM, deploy, node loss); the group coordinator keeps the
last committed offset, and the restarted consumer resumes there. Caused by anything
that kills a process; the at-least-once loop tolerates it by committing only after
processing (KafkaConsumer javadoc, "Manual Offset Control"; design.html section 4.6).
"""


def no_loss(c):
    """Every offset below the committed offset was processed, or is in the consumer's hands."""
    # indices(): a range here, a quantifier over every offset when `prove` leaves messages symbolic.
    return all_of(indices(c.params.messages), lambda o: Implies(
        o < c.committed, Or(c.processed[o] >= 1, And(c.pc != IDLE, c.cur == o))))


def duplicate_delivery(c):
    """Some record was processed twice or more."""
    return any_of(c.processed, lambda n: n >= 2)


def all_processed(c):
    """Every message has been processed at least once."""
    return all_of(c.processed, lambda n: n >= 1)


def crashes_possible(p):
    return "crash" in p.failure_modes and (saturating(p) or p.max_crashes >= 1)


def expect_no_loss(p):
    """At-most-once (commit before processing) loses a record when a crash can happen."""
    return "violated" if p.commit == "before" and crashes_possible(p) else "holds"


def expect_duplicate(p):
    """At-least-once redelivers after a crash between processing and committing."""
    return "reachable" if p.commit == "after" and crashes_possible(p) else "unreachable"


def expect_all_processed(p):
    """At-most-once loses a record to one crash. At-least-once reaches every record while
    crashes are finite; with unlimited crashes a crash can come before every commit
    (weak fairness) or between every poll and process (strong fairness of Commit alone),
    and only strong fairness of Poll, Process and Commit forces progress."""
    if not crashes_possible(p):
        return "holds"
    if p.commit == "before":
        return "violated"
    if not saturating(p):
        return "holds"
    return "holds" if getattr(p, "fairness", "weak") == "strong" else "violated"


# How `diagrams` and `report` draw the loop (presentation only: no verdict depends on
# it). Who acts in each step: the producer appends to the log, poll() carries a record
# from the log to the consumer, a commit goes from the consumer to the group
# coordinator; processing and crashing happen in the consumer.
ACTORS = {"Produce": ("producer", "log"), "Poll": ("log", "consumer"), "Process": "consumer",
          "Commit": ("consumer", "coordinator"), "Crash": "consumer"}
# In `partitions` every partition has its own producer, log and consumer; one coordinator.
ACTORS_AT = {"Produce": ("producer {i}", "log {i}"), "Poll": ("log {i}", "consumer {i}"),
             "Process": "consumer {i}", "Commit": ("consumer {i}", "coordinator"), "Crash": "consumer {i}"}


class _One:
    """One partition's variables, read out of a state of `partitions` (arrays by partition)."""

    def __init__(self, s, p):
        self._s, self._p = s, p

    def __getattr__(self, name):
        v = getattr(self._s, name)
        return v[self._p] if name != "crashes" else v


def message_state(s):
    """Each record: unsent, in the log, in the consumer's hands, processed n times."""
    out = []
    for o, n in enumerate(s.processed):
        what = "unsent" if o >= s.sent else f"processed {n}x" if n else "in log"
        if s.pc != "idle" and s.cur == o:
            what += ", in hand"
        out.append(f"m{o} {what}")
    return "; ".join(out)


def offset_commit(s):
    return f"committed {s.committed}, position {s.position}"


COLUMNS = {"message state": message_state, "offset commit": offset_commit}
COLUMNS_AT = {title: (lambda s, fn=fn: " | ".join(f"p{p}: {fn(_One(s, p))}" for p in range(len(s.sent))))
              for title, fn in COLUMNS.items()}
