"""produce-timeout: a produce request of the transaction is delayed; the send fails, and the application aborts.

Real Kafka (T3, T4): the produce request of an output record is held up on the
network; the send times out (delivery.timeout.ms), the transaction is in an abortable
error, and the application aborts it and processes the record again in a new
transaction. The delayed request then reaches the partition leader. Before KIP-890
part 1 (verification=off) the leader appends it whatever the coordinator knows: with
no transaction of the producer on the partition it hangs open and the last stable
offset is stuck (T4) until a later transaction's marker ends it; with the next
transaction on the partition (same epoch before part 2) it joins that transaction.
Verification alone (Kafka 3.6 to 3.9) refuses the first case but not the second. With
KIP-890 part 2 (kip890=on) the abort bumped the epoch, and the request is refused.
Caused by: network delays longer than the client's timeouts. Prevented by: KIP-890
(both parts: transaction version 2 in Kafka 4.0).
Documented: KIP-890 wiki (hanging transactions, a delayed produce joining the next
transaction); Jepsen Bufstream section 5.4; docs/upgrade.html 3.6.0 notes.
Left out: a delayed request of a record whose transaction commits (it is then only late).
"""

from spec.eos_ops import PC, REC, capacity, kip890, live, tid

from checker import And, Array, Int, Var, ite, when

CATALOGUE = ("T3", "T4")
MODEL = "eos"
ORDER = 60


def install(model):
    model.param("max_produce_timeouts", 1, min=0, structural=True,
                doc="produce requests delayed past the send's timeout in one run")
    mode = model.failure_mode("produce-timeout", budget="max_produce_timeouts", counter="produce_timeouts",
                              doc=__doc__)

    @mode.variables
    def _(p):
        return [Var("late_rec", Array(p.instances, Int(-1, p.messages - 1)), """
            Each instance's produce request still on the network: the input record its
            output record was computed from (-1: none). Real Kafka: a request the
            producer gave up on, which the partition leader may still receive; an epoch
            bump makes it stale (refused on arrival, so it is dropped here).
            Left out: more than one delayed request.""", init=[-1] * p.instances)]

    @mode.action(over="instances", actor=("instance {i}", "output"))
    def ProduceTimesOut(s, c):
        """The produce of the output record is delayed on the network; the send times out.

        Real Kafka: the batch outlives delivery.timeout.ms; its callback gets a
        TimeoutException and the TransactionManager enters ABORTABLE_ERROR, while the
        request may still arrive. Left out: the producer's own retries before that.
        """
        when(s.pc[c] == PC.added, live(s, c))
        s.late_rec[c] = s.pos[c] - 1
        s.pc[c] = PC.failed

    @mode.action(over="instances", budget=False, actor=("network", "output"))
    def LateProduce(s, c):
        """The delayed produce request reaches the partition leader, which appends it unless refused.

        Real Kafka: the leader checks the producer epoch (a bumped epoch refuses it)
        and, with verification=on, asks the coordinator whether the partition is in an
        ongoing transaction of the producer. Appended, the record belongs to whatever
        transaction of the producer next writes a marker to the partition.
        Left out: the error answer to a request nobody waits for.
        """
        p = s.params
        when(s.late_rec[c] != -1, s.out_len < capacity(p))
        k = tid(p, c)
        ok = True if not kip890(p, "verification") else And(s.ongoing[k], s.added[k])
        n = s.out_len
        s.out_val[n] = ite(ok, s.late_rec[c], s.out_val[n])
        s.out_st[n] = ite(ok, REC.open, s.out_st[n])
        s.out_tid[n] = ite(ok, k, s.out_tid[n])
        s.out_len = ite(ok, n + 1, n)
        s.late_rec[c] = -1
