"""crash: a consumer process dies, and later restarts from the group's committed offset.

Real Kafka: the process dies (OOM, deploy, node loss) at any point of its loop; the
group coordinator keeps the last committed offset, and the restarted consumer resumes
there (or at auto.offset.reset if there is none). Whatever it had processed but not
committed is delivered again (C2, C3, C8: duplicates); whatever it had committed but
not processed is never delivered again (C1, C4, C7: loss).
Caused by: anything that kills a process. Prevented: never, only tolerated: commit
after processing (at-least-once) and make processing idempotent.
Documented: KafkaConsumer javadoc "Manual Offset Control"; design.html section 4.6.
Left out: the session timeout in between (the restarted process keeps its partition).
The restart is the model's Restart action (not budgeted: restarting heals).
"""

from spec.group_ops import PC, STATUS

from checker import when

CATALOGUE = ("C1", "C2", "C3", "C4", "C7", "C8")
ORDER = 10


def install(model):
    model.param("max_crashes", 1, min=0, doc="consumer crashes allowed in one run")
    mode = model.failure_mode("crash", budget="max_crashes", counter="crashes", doc=__doc__, default=True)

    @mode.action(over="consumers", actor="consumer {i}")
    def Crash(s, c):
        """The consumer process dies; what it had fetched is gone with it.

        Real Kafka: kill -9 of the JVM; its in-memory position and any records in its
        (or its worker's) hands are lost; the committed offset survives.
        Left out: a crash half way through a side effect (processing is atomic).
        """
        when(s.st[c] != STATUS.down)
        s.st[c] = STATUS.down
        s.pc[c] = PC.idle
        s.nxt[c] = s.pos[c]
        model.fire("crash", s, c)
