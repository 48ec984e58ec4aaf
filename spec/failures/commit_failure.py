"""commit-failure: a commitAsync() fails with a retriable error, and the application's callback retries it later.

Real Kafka (C15): commitAsync() sends commits in the order called, so on its own it
never moves the committed offset back; but an application that retries a failed
commitAsync(o1) from its callback can send it after a newer commitAsync(o2) went
through, and the committed offset rewinds to o1. The next owner (here: the same
consumer after a clean close() and restart) processes o1..o2-1 again.
Caused by: retrying asynchronous commits in the callback. Prevented by: not retrying
async commits (or guarding the retry by a sequence number), and a final commitSync()
on close.
Documented: KafkaConsumer.commitAsync javadoc ("Offsets committed through multiple
calls to this API are guaranteed to be sent in the same order as the invocations");
OffsetCommitCallback javadoc.
Left out: commit=after only (an application committing after each batch); one
pending retry in all; a failure that is not retriable.
"""

from spec.group_ops import NO_OFFSET, PC, STATUS

from checker import Int, Var, ite, when

CATALOGUE = ("C15",)
ORDER = 70


def install(model):
    model.param("max_commit_failures", 1, min=0, doc="failed asynchronous commits in one run")
    mode = model.failure_mode("commit-failure", budget="max_commit_failures", counter="commit_failures",
                              doc=__doc__)

    @mode.variables
    def _variables(p):
        return [Var("retry_at", Int(NO_OFFSET, p.messages), """
            The offset of a failed commitAsync() that the application's callback will send
            again (-1: none). Real Kafka: an OffsetCommitCallback that calls commitAsync
            with the offsets it was given.""", init=NO_OFFSET)]

    @mode.action(over=lambda p: range(p.consumers) if p.commit == "after" else [],
                 actor=("consumer {i}", "coordinator"))
    def FailCommit(s, c):
        """The batch is processed and commitAsync(position) fails; the callback will retry it.

        Real Kafka: the commit response carries a retriable error (a coordinator
        moving, a request timeout); the loop goes on polling while the callback waits.
        Left out: how long the retry waits.
        """
        when(s.params.commit == "after", s.st[c] == STATUS.member, s.owner == c, s.pc[c] == PC.processed,
             s.retry_at == NO_OFFSET)
        s.retry_at = s.pos[c]
        s.pc[c] = PC.idle

    @mode.action(over=lambda p: range(p.consumers) if p.commit == "after" else [], budget=False,
                 actor=("consumer {i}", "coordinator"))
    def RetryCommit(s, c):
        """The callback sends the failed commit again, whatever was committed since.

        Real Kafka: commitAsync(o1) from OffsetCommitCallback.onComplete, after a newer
        commitAsync(o2) succeeded: the committed offset goes back to o1. A process that
        has left the group has its commit rejected. Left out: the retry failing too.
        """
        when(s.retry_at != NO_OFFSET, s.st[c] == STATUS.member, s.owner == c)
        s.committed = s.retry_at
        s.retry_at = NO_OFFSET

    @mode.on("close")
    def _close(s, c):
        # close() waits for pending async commits and runs their callbacks, so the retry goes out.
        s.committed = ite(s.retry_at != NO_OFFSET, s.retry_at, s.committed)
        s.retry_at = NO_OFFSET

    @mode.on("crash")
    def _crash(s, c):
        # The process is gone, and with it the callback that would have retried.
        s.retry_at = NO_OFFSET
