"""max-poll-exceeded: an EOS instance exceeds max.poll.interval.ms mid-transaction and goes on as a zombie.

Real Kafka (T1, C9 in an EOS loop): the evicted instance does not know yet and
finishes its transaction, while the input partition is reassigned to another instance,
which starts at the committed offset. Both can commit output for the same input record
unless the zombie is fenced: with KIP-447 (fencing=group-metadata) its
sendOffsetsToTransaction(offsets, consumer.groupMetadata()) carries the stale
generation and fails, so its transaction aborts, and the new owner's offset fetch
waits for the zombie's pending offsets (require_stable); in the older scheme
(fencing=static-id) the new owner's initTransactions() with the partition's
transactional.id fences the zombie's producer; with neither (fencing=none) nothing
stops the zombie.
Caused by: long processing, large max.poll.records. Prevented by: KIP-447
(sendOffsetsToTransaction with consumer.groupMetadata(), brokers >= 2.5) or a static
transactional.id per input partition.
Documented: KIP-447; KafkaProducer.sendOffsetsToTransaction javadoc; KafkaConsumer
javadoc "Detecting Consumer Failures".
Left out: the zombie rejoining the group and getting a partition again.
"""

from spec.eos_ops import PC, ST, hand_over

from checker import Not, Or, when

CATALOGUE = ("T1", "C9")
MODEL = "eos"
ORDER = 20


def install(model):
    model.param("max_rebalances", 1, min=0, structural=True,
                doc="evictions in one run")
    mode = model.failure_mode("max-poll-exceeded", budget="max_rebalances", counter="rebalances", doc=__doc__)

    # Instance c owns the partition only after c hand-overs, each from the budget: Evict(c) needs one more.
    @mode.action(over=lambda p: range(min(p.max_rebalances, p.instances)) if p.instances > 1 else [],
                 actor=("group coordinator", "instance {i}"))
    def Evict(s, c):
        """The owner exceeds max.poll.interval.ms mid-transaction; the partition moves, it becomes a zombie.

        Real Kafka: the member is removed from the group (a new generation) and a
        rebalance gives its partition to another member; the zombie keeps its record
        and its open transaction. Left out: evictions between transactions (nothing is
        in flight then: a plain hand-over).
        """
        when(s.st[c] == ST.member, s.owner == c, Not(Or(s.pc[c] == PC.idle, s.pc[c] == PC.starting)))
        s.st[c] = ST.zombie
        hand_over(s, c)
