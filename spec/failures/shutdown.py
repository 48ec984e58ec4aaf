"""shutdown: a consumer closes cleanly (close()) between polls and stays down for a while.

Real Kafka: KafkaConsumer.close() leaves the group; with enable.auto.commit it first
commits allConsumed() synchronously (ConsumerCoordinator.close), i.e. the positions
after *every* record returned so far, processed or not. With processing on the
polling thread that is everything processed; with records handed to a worker that
has not finished them, close() commits records nobody processed (C5, loss).
A long shutdown also leaves the group empty, which lets its offsets expire (C12).
Caused by: deploys, scaling down, shutdown hooks. Prevented by: finishing (or
draining the worker of) the last batch before close(), or disabling auto-commit.
Documented: KafkaConsumer.close() javadoc; ConsumerCoordinator.close (L976-981).
Left out: close() timing out, closing mid-batch on the polling thread.
"""

from spec.group_ops import PC, STATUS, auto_commit_value

from checker import when

CATALOGUE = ("C5", "C12")
ORDER = 60


def install(model):
    model.param("max_shutdowns", 1, min=0, doc="clean consumer shutdowns in one run")
    mode = model.failure_mode("shutdown", budget="max_shutdowns", counter="shutdowns", doc=__doc__)

    @mode.action(over="consumers", actor=("consumer {i}", "coordinator"))
    def Close(s, c):
        """The consumer calls close() between polls; with auto-commit, close() commits its position.

        Real Kafka: close() runs maybeAutoCommitOffsetsSync(allConsumed()) when
        enable.auto.commit=true, then leaves the group; a worker's queue dies with it.
        Left out: close() from another thread mid-batch on the polling thread.
        """
        when(s.st[c] == STATUS.member, s.pc[c] == PC.idle)
        if s.params.commit == "auto":
            when(s.owner == c)
            s.committed = auto_commit_value(s, c)
        s.st[c] = STATUS.down
        s.nxt[c] = s.pos[c]
        model.fire("close", s, c)
