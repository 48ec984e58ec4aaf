"""crash: an application instance of the EOS loop dies mid-transaction and later starts again.

Real Kafka: the process dies (OOM, deploy, node loss) at any point of its
consume-transform-produce loop. Its open transaction stays open at the coordinator
until the restarted instance calls initTransactions() with the same transactional.id,
which aborts it and bumps the epoch (or until transaction.timeout.ms). The restarted
consumer resumes at the committed offset, so the input record is processed again
(C2's redelivery); its first output is aborted, invisible to read_committed readers
but delivered to read_uncommitted ones (C14).
Caused by: anything that kills a process. Prevented (its effects): the transaction
(remedy R4): output and offsets commit together or not at all; read_committed readers.
Documented: KafkaProducer javadoc (transactions, initTransactions); design.html
section 4.6; KIP-98.
Left out: the session timeout in between (the restarted instance keeps its
assignment). The restart is the model's Restart action (not budgeted: restarting heals).
"""

from spec.eos_ops import PC, ST

from checker import when

CATALOGUE = ("C2", "C14")
MODEL = "eos"
ORDER = 10


def install(model):
    model.param("max_crashes", 1, min=0, structural=True,
                doc="instance crashes allowed in one run")
    mode = model.failure_mode("crash", budget="max_crashes", counter="crashes", doc=__doc__, default=True)

    @mode.action(over="instances", actor="instance {i}")
    def Crash(s, c):
        """The instance's process dies; its transaction stays open at the coordinator.

        Real Kafka: kill -9 of the JVM: the consumer's position and the producer's
        state are gone; the transaction coordinator still has the transaction as
        Ongoing, and the output partition its open records. Left out: a crash half way
        through a request (requests are atomic here).
        """
        when(s.st[c] != ST.down)
        s.st[c] = ST.down
        s.pc[c] = PC.idle
