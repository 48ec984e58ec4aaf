"""shared-group-id: another consumer using assign() with the same group.id commits its own offset for the partition.

Real Kafka (C11): a consumer that assign()s partitions instead of subscribing is not a
group member; the group coordinator accepts its commits (generation -1) as long as the
group has no members, and does not fence them. Two such instances (two applications,
or two deployments of one) that share a group.id and read the same partition store
their positions under one key, so each overwrites the other's: the next start resumes
from the other instance's offset, behind (duplicates) or ahead (loss) of its own.
Caused by: copying a group.id between applications that use manual assignment.
Prevented by: a unique group.id per instance (or per application) with assign().
Documented: KafkaConsumer javadoc "Manual Partition Assignment" and "Storing Offsets
Outside Kafka"; GroupCoordinator.handleCommitOffsets (a generation -1 commit is taken
while the group is Empty).
Left out: the other instance's own records (only its commits are modelled); a group
with subscribed members, whose coordinator refuses such commits.
"""

from checker import when

CATALOGUE = ("C11",)
ORDER = 80


def install(model):
    model.param("max_foreign_commits", 1, min=0, doc="commits by another instance sharing the group.id in one run")
    mode = model.failure_mode("shared-group-id", budget="max_foreign_commits", counter="foreign_commits",
                              doc=__doc__)

    # The other instance's position is at either end of the log: k=0 its start (it is
    # behind us: a rewind), k=1 its end (it is ahead: an advance); any offset between does
    # one of the two to us, so the ends show both effects with a fixed number of actions.
    @mode.action(over=lambda p: range(2), actor=("other instance", "coordinator"))
    def ForeignCommit(s, k):
        """Another instance with the same group.id commits its own position (k=0: the log start, k=1: the log end).

        Real Kafka: its commitSync()/commitAsync() with generation -1 replaces the
        group's committed offset; nothing ties it to this consumer's progress.
        Left out: which records that instance processed; positions between the ends.
        """
        target = s.sent if k == 1 else s.log_start
        when(s.committed != target)
        s.committed = target
