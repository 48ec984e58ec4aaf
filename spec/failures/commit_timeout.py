"""commit-timeout: commitTransaction() times out while its EndTxn request is delayed, and the application aborts.

Real Kafka (T3): the EndTxn(commit) request is delayed on the network; the client's
commitTransaction() throws TimeoutException, and an application that then calls
abortTransaction() (or a client that lets it) goes on with the next transaction. The
delayed EndTxn arrives later. Before KIP-890 part 2 the next transaction has the same
producer epoch, so the coordinator applies the old commit to it: the next transaction
is committed early. Without produce verification (KIP-890 part 1, verification=off)
output produced after that is appended outside any transaction the coordinator knows,
hangs open (T4: the LSO is stuck) and is never made visible, while the offsets, added
afterwards, commit: the input record is lost. With verification alone (Kafka 3.6 to
3.9) the early commit takes the output already produced, and the offsets commit in a
transaction of their own: the two disagree for a while (a torn transaction), and a
crash in between duplicates the record. With KIP-890 (kip890=on, Kafka 4.x) every
EndTxn bumps the epoch, so the delayed request is refused.
Caused by: network delays, aborting after a commit timeout. Prevented by: KIP-890
(transaction verification since 3.6, the epoch bump per transaction with transaction
version 2 in 4.0); on a commit timeout, retrying commitTransaction() or closing the
producer instead of aborting.
Documented: Jepsen Bufstream section 5.4 (KAFKA-17754); KIP-890;
KafkaProducer.commitTransaction javadoc.
Left out: a delayed produce request (the other way into the next transaction). The
Java client refuses abortTransaction() after a commit timeout (TransactionManager
allows ABORTING_TRANSACTION only from IN_TRANSACTION or ABORTABLE_ERROR): the mode
models an application on a client that lets it abort.
"""

from spec.eos_ops import PC, commit_txn, live, tid

from checker import Array, Bool, Var, when

CATALOGUE = ("T3", "T4")
MODEL = "eos"
ORDER = 50


def install(model):
    model.param("max_commit_timeouts", 1, min=0, structural=True,
                doc="commitTransaction() calls that time out in one run")
    mode = model.failure_mode("commit-timeout", budget="max_commit_timeouts", counter="commit_timeouts",
                              doc=__doc__)

    @mode.variables
    def _(p):
        return [Var("late", Array(p.instances, Bool()), """
            Each instance has an EndTxn(commit) still on the network, with the epoch it was
            sent with. Real Kafka: a request the client gave up on, which the coordinator
            may still receive; an epoch bump makes it stale (refused on arrival, so it is
            dropped here). Left out: more than one delayed request.""")]

    @mode.action(over="instances", actor=("instance {i}", "txn coordinator"))
    def CommitTimesOut(s, c):
        """commitTransaction() sends EndTxn(commit), which is delayed; the call times out.

        Real Kafka: the request outlives max.block.ms (or request.timeout.ms); the
        application gets a TimeoutException although the request may still arrive.
        Left out: the client's own retries of the request.
        """
        when(s.pc[c] == (PC.synced if s.params.commit == "sync" else PC.offsets), live(s, c))
        s.late[c] = True
        s.pc[c] = PC.timedout

    @mode.action(over="instances", budget=False, actor=("network", "txn coordinator"))
    def LateEndTxn(s, c):
        """The delayed EndTxn(commit) reaches the coordinator and commits whatever transaction is ongoing.

        Real Kafka: TransactionCoordinator.handleEndTransaction checks only the producer
        id and epoch; a transaction ongoing with that epoch is committed (PrepareCommit,
        markers). With KIP-890 part 2 the epoch has moved on and the request is refused.
        Left out: the error answer to a request nobody waits for.
        """
        when(s.late[c])
        s.late[c] = False
        commit_txn(s, tid(s.params, c))
