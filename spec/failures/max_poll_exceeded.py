"""max-poll-exceeded: a consumer takes longer than max.poll.interval.ms, is evicted, and goes on as a zombie.

Real Kafka (C9): if poll() is not called within max.poll.interval.ms (default 5 min),
the heartbeat thread leaves the group; the partition is reassigned to another member,
which starts at the last committed offset. The evicted consumer does not know yet: it
finishes its batch (side effects run a second time) and its commitSync() fails with
CommitFailedException. Committing in onPartitionsRevoked does not help here: the
evicted consumer learns of the loss only at its next poll(), through onPartitionsLost
(by default onPartitionsRevoked), and that commit is rejected too (stale generation).
Caused by: long processing, large max.poll.records. Prevented by: smaller batches,
a larger max.poll.interval.ms, idempotent side effects; EOS fences zombies (KIP-447).
Documented: KafkaConsumer javadoc "Detecting Consumer Failures"; CommitFailedException;
MAX_POLL_INTERVAL_MS_DOC; ConsumerRebalanceListener.onPartitionsLost.
Left out: the evicted consumer rejoining and getting a partition again.
"""

from spec.group_ops import PC, STATUS, hand_over

from checker import when

CATALOGUE = ("C9",)
ORDER = 20


def install(model):
    if "max_rebalances" not in model.params:
        model.param("max_rebalances", 1, min=0, doc="rebalances (evictions or member changes) in one run")
    mode = model.failure_mode("max-poll-exceeded", budget="max_rebalances", counter="rebalances",
                              doc=__doc__)

    # A worker-thread loop keeps polling and is never evicted: no Evict there. Consumer c owns
    # the partition only after c hand-overs, each from the shared budget: Evict(c) needs one more.
    @mode.action(over=lambda p: range(min(p.consumers, p.max_rebalances)) if p.processing == "sync" else [],
                 actor=("coordinator", "consumer {i}"))
    def Evict(s, c):
        """The owner exceeds max.poll.interval.ms mid-batch; its partition moves, it becomes a zombie.

        Real Kafka: the member is removed from the group and a rebalance hands its
        partition to another member from the committed offset; the zombie keeps its
        batch. Left out: worker-thread loops, which keep polling and are not evicted.
        """
        when(s.params.processing == "sync", s.st[c] == STATUS.member, s.owner == c, s.pc[c] != PC.idle)
        s.st[c] = STATUS.zombie
        hand_over(s, c)
