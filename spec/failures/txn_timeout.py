"""txn-timeout: a transaction outlives transaction.timeout.ms; the coordinator aborts it and fences the producer.

Real Kafka (T5): when processing takes longer than transaction.timeout.ms (default
60 s), the transaction coordinator aborts the transaction itself and bumps the
producer epoch; the producer's next request fails with ProducerFencedException (or
InvalidProducerEpochException), which is fatal: the application closes and restarts.
With read_committed readers nothing is lost or duplicated: the input is processed
again by the restarted instance. A read_uncommitted reader saw the aborted output.
Caused by: long transactions. Prevented by: shorter batches, a larger
transaction.timeout.ms (up to the broker's transaction.max.timeout.ms).
Documented: ProducerConfig TRANSACTION_TIMEOUT_DOC; KIP-98.
Left out: KIP-360's recovery of the producer without a restart.
"""

from spec.eos_ops import abort_txn, bump_epoch, tids

from checker import when

CATALOGUE = ("T5",)
MODEL = "eos"
ORDER = 40


def install(model):
    model.param("max_txn_timeouts", 1, min=0, structural=True,
                doc="transactions aborted by transaction.timeout.ms in one run")
    mode = model.failure_mode("txn-timeout", budget="max_txn_timeouts", counter="txn_timeouts", doc=__doc__)

    @mode.action(over=lambda p: range(tids(p)), actor="txn coordinator")
    def TxnTimeout(s, k):
        """The coordinator aborts transactional.id k's transaction after transaction.timeout.ms and bumps its epoch.

        Real Kafka: TransactionCoordinator's abortTimedOutTransactions: abort markers to
        every partition of the transaction, a new epoch, so the old producer is fenced.
        Left out: the timer (the abort may happen at any point of an ongoing transaction).
        """
        when(s.ongoing[k])
        abort_txn(s, k)
        bump_epoch(s, k)
