"""isr-shrink: a live follower falls behind and the leader drops it from the ISR.

Real Kafka: a follower that has not caught up for replica.lag.time.max.ms (30 s) —
a slow disk, a GC pause, a stuck fetcher — is removed from the ISR; the high
watermark then needs only the remaining members, so acks=all is satisfied by fewer
copies. With min.insync.replicas=1 the leader alone may acknowledge (B2), and an
unclean election of the dropped follower loses what it missed (B1).
Caused by: slow or stuck followers. Prevented (its effects): min.insync.replicas >= 2
with acks=all (writes are refused instead), unclean.leader.election.enable=false.
Documented: design.html "Replicated Logs" (the ISR); ReplicationConfigs
REPLICA_LAG_TIME_MAX_MS_DOC; TopicConfig MIN_IN_SYNC_REPLICAS_DOC.
Left out: the lag timer (any live follower may be dropped at any moment).
"""

from spec.replication import NO_LEADER, advance_hw

from checker import when

CATALOGUE = ("B1", "B2")
MODEL = "pipeline"
ORDER = 20


def install(model):
    model.param("max_isr_shrinks", 1, min=0, doc="followers dropped from the ISR in one run")
    mode = model.failure_mode("isr-shrink", budget="max_isr_shrinks", counter="isr_shrinks", doc=__doc__)

    @mode.action(over="replicas", actor=("leader", "replica {i}"))
    def ShrinkIsr(s, r):
        """The leader drops follower r from the ISR; the high watermark may move up.

        Real Kafka: Partition.maybeShrinkIsr, then an AlterPartition request to the
        controller. Left out: the round trip to the controller (the shrink is at once).
        """
        when(s.leader != NO_LEADER, s.leader != r, s.up[r], s.isr[r])
        s.isr[r] = False
        advance_hw(s)
