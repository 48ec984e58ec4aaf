"""broker-failure: a broker holding a replica of the partition dies.

Real Kafka: the broker process or host fails; the controller drops it from the ISR
(unless it is the last member: the ISR never becomes empty) and, if it led the
partition, elects a new leader from the ISR (Elect). With acks=1 a record the old
leader acknowledged before any follower fetched it is lost when a follower takes
over, and the old leader truncates it on its return (P2). With unclean election a
replica outside the ISR may take over and lose what only the ISR had (B1, B2).
Caused by: crashes, host loss, deploys. Prevented (its effects): acks=all with
min.insync.replicas >= 2 and unclean.leader.election.enable=false (the default).
Documented: ProducerConfig ACKS_DOC ("the record will be lost"); design.html
"Replicated Logs", "Unclean leader election", "Availability and Durability
Guarantees"; Vanlightly kafka-tlaplus kip-966 description 7.1.
Left out: the disk survives (the broker comes back with its log); the controller's
own failures.
"""

from spec.replication import NO_LEADER, advance_hw, isr_size

from checker import And, ite, when

CATALOGUE = ("P1", "P2", "B1", "B2")
MODEL = "pipeline"
ORDER = 10


def install(model):
    model.param("max_broker_failures", 1, min=0, doc="broker failures in one run")
    mode = model.failure_mode("broker-failure", budget="max_broker_failures", counter="broker_failures",
                              doc=__doc__)

    @mode.action(over="replicas", actor="replica {i}")
    def BrokerFails(s, r):
        """Broker r dies; it leaves the ISR (unless it is the last member) and, if leader, its leadership.

        Real Kafka: the controller notices the lost session and shrinks the ISR; a
        partition whose leader died has no leader until the controller elects one.
        Left out: the session timeout (the controller notices at once); a lost disk.
        """
        when(s.up[r])
        last = And(s.isr[r], isr_size(s) == 1)
        s.up[r] = False
        s.isr[r] = last
        s.leader = ite(s.leader == r, NO_LEADER, s.leader)
        advance_hw(s)
