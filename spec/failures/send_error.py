"""send-error: a send() of the transaction fails, and the application has to abort the transaction.

Real Kafka (T2): a produce that fails for good (delivery.timeout.ms expired, a
non-retriable error) puts the transactional producer in an abortable error state:
commitTransaction() would fail, so the application calls abortTransaction(). Kafka
does not rewind the consumer: unless the application seeks back to
consumer.committed(), its next poll() continues after the aborted record and a later
commit skips it (KAFKA-17582).
Caused by: broker or network faults outlasting delivery.timeout.ms. Prevented (its
effect): after abortTransaction(), seek to consumer.committed() (`rewind=yes`), as
Apache's ExactlyOnceMessageProcessor does, or restart the consumer.
Documented: Jepsen Bufstream section 5.3 (KAFKA-17582); KafkaProducer javadoc
(abortable errors); examples/.../ExactlyOnceMessageProcessor.java.
Left out: a failed send whose record the leader did write (the abort marker hides it
from read_committed readers all the same).
"""

from spec.eos_ops import PC, live

from checker import when

CATALOGUE = ("T2",)
MODEL = "eos"
ORDER = 30


def install(model):
    model.param("max_send_errors", 1, min=0, structural=True,
                doc="failed sends in one run")
    mode = model.failure_mode("send-error", budget="max_send_errors", counter="send_errors", doc=__doc__)

    @mode.action(over="instances", actor=("instance {i}", "output"))
    def SendFails(s, c):
        """The produce of the output record fails; the transaction is in an abortable error.

        Real Kafka: the send's callback gets a KafkaException and the
        TransactionManager enters ABORTABLE_ERROR. Left out: retriable errors the
        producer retries by itself within delivery.timeout.ms (they change nothing here).
        """
        when(s.pc[c] == PC.added, live(s, c))
        s.pc[c] = PC.failed
