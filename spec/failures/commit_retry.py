"""commit-retry: a commitAsync() fails and the application retries it from its callback, after a later commit went through.

Real Kafka (C15): commitAsync() returns at once and reports the outcome to a callback.
Commits are sent in the order of the calls, but an application that retries a failed
one from its callback sends the old offset after a newer commit succeeded: the
committed offset goes back, and whoever starts from it next (after a restart or a
rebalance) processes those records again.
Caused by: retrying async commits in the callback. Prevented by: not retrying them (a
later commit covers the offset), or retrying only when no newer commit was sent (a
sequence number); a final commitSync() before close().
Documented: KafkaConsumer.commitAsync javadoc (commits are sent in the order of the calls).
Left out: the commit's latency (it fails at once); more than one failed commit in flight.
"""

from spec.group_ops import NO_OFFSET, PC, STATUS

from checker import Array, Int, Var, when

CATALOGUE = ("C15",)
ORDER = 70


def install(model):
    model.param("max_commit_failures", 1, min=0, doc="commitAsync() calls that fail in one run")
    mode = model.failure_mode("commit-retry", budget="max_commit_failures", counter="commit_failures",
                              doc=__doc__)

    @mode.variables
    def _(p):
        return [Var("retry", Array(p.consumers, Int(NO_OFFSET, p.messages)), """
            The offset of each consumer's failed commitAsync() that its callback will retry
            (-1: none). Real Kafka: the application's own retry in its OffsetCommitCallback.
            Left out: a queue of several failed commits.""",
                    init=[NO_OFFSET] * p.consumers)]

    @mode.action(over="consumers", actor=("consumer {i}", "coordinator"))
    def CommitFails(s, c):
        """commitAsync() of the processed batch is stored, but its callback gets an error.

        Real Kafka: the coordinator writes the offset, the response is lost or late, and
        the callback gets a retriable exception (a timeout). The application polls on.
        Left out: a commit that fails before it is stored (plain at-least-once: a restart
        redelivers the batch, as after a crash).
        """
        when(s.params.commit == "after", s.st[c] == STATUS.member, s.owner == c, s.pc[c] == PC.processed)
        s.committed = s.pos[c]
        s.retry[c] = s.pos[c]
        s.pc[c] = PC.idle

    @mode.action(over="consumers", budget=False, actor=("consumer {i}", "coordinator"))
    def RetryCommit(s, c):
        """The callback retries the failed commit: the committed offset may go back.

        Real Kafka: commitAsync(offsets) called again from OffsetCommitCallback.onComplete,
        possibly after a later commit succeeded. Left out: a retry that fails again.
        """
        when(s.st[c] == STATUS.member, s.retry[c] != NO_OFFSET)
        s.committed = s.retry[c]
        s.retry[c] = NO_OFFSET

    @mode.on("crash", "close")
    def _(s, c):
        s.retry[c] = NO_OFFSET  # the callback dies with the process
