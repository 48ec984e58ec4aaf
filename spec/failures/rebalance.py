"""rebalance: a member joins or leaves, and the partition moves to another consumer at a poll().

Real Kafka (C10): with the classic (eager) protocol a rebalance runs inside poll():
the consumer calls onPartitionsRevoked (and, with enable.auto.commit, commits
allConsumed() in onJoinPrepare), then the partition goes to another member, which
starts at the last committed offset. Records processed but not yet committed (an
application that commits every N records or on a timer) are processed again.
Caused by: scaling, deploys, members leaving. Prevented by: committing the processed
offsets in onPartitionsRevoked (`commit_on_revoke=yes`; auto-commit does it itself).
Documented: KafkaConsumer javadoc and ConsumerRebalanceListener javadoc;
ConsumerCoordinator.onJoinPrepare.
Left out: cooperative (incremental) rebalancing, the assignor.
"""

from spec.group_ops import PC, STATUS, auto_commit_value, hand_over

from checker import when

CATALOGUE = ("C10",)
ORDER = 40


def install(model):
    if "max_rebalances" not in model.params:
        model.param("max_rebalances", 1, min=0, doc="rebalances (evictions or member changes) in one run")
    mode = model.failure_mode("rebalance", budget="max_rebalances", counter="rebalances", doc=__doc__)

    # Consumer c owns the partition only after c hand-overs, each from the shared budget.
    @mode.action(over=lambda p: range(min(p.consumers, p.max_rebalances)), actor=("coordinator", "consumer {i}"))
    def Rebalance(s, c):
        """At its next poll() the owner takes part in a rebalance and its partition moves.

        Real Kafka: onPartitionsRevoked runs first (the app may commit there; auto-commit
        commits the position), then the new owner starts from the committed offset.
        Left out: the old owner getting the partition back in a later rebalance.
        """
        p = s.params
        when(s.st[c] == STATUS.member, s.owner == c)
        if p.processing == "sync":
            when(s.pc[c] == PC.idle)
        if p.commit == "auto" or p.commit_on_revoke == "yes":
            s.committed = s.nxt[c] if p.commit != "auto" else auto_commit_value(s, c)
        hand_over(s, c)
