"""Steps of the `group` model shared by its base actions and its failure modes.

Kept apart from spec/group.py so that a failure-mode module (spec/failures/) can use
them without importing the model it is installed into.
"""

from checker import Enum, And, any_of, ite, when

# A consumer process: down (crashed, not yet restarted), a member of the group, or a
# zombie (evicted for exceeding max.poll.interval.ms but still running its batch).
STATUS = Enum("down", "member", "zombie")
# Where a consumer is in its loop (see the actions of spec/group.py for each strategy).
PC = Enum("idle", "fetched", "committed", "processed")
NO_OFFSET = -1  # the group has no committed offset for the partition


def reset_target(s):
    """Where auto.offset.reset puts a consumer: the log start (earliest) or its end (latest)."""
    return s.log_start if s.params.reset == "earliest" else s.sent


def resume_offset(s):
    """The offset a consumer resumes from: the group's committed offset, or with
    sink=offsets-in-sink (R2) the offset stored in the sink with the output."""
    return s.sink_offset if s.params.sink == "offsets-in-sink" else s.committed


def start_position(s):
    """The position a consumer starts at when it gets the partition.

    Real Kafka: the group's committed offset if there is one and it is still in the
    log; otherwise (no offset, or OffsetOutOfRange after retention) auto.offset.reset.
    With offsets stored in the sink (R2) the application seeks to the sink's offset on
    start and in onPartitionsAssigned, and Kafka's committed offset goes unused.
    Left out: auto.offset.reset=none (the consumer throws and stops).
    """
    start = resume_offset(s)
    return ite(start >= s.log_start, start, reset_target(s))


def auto_commit_value(s, c):
    """What an auto-commit of consumer c commits: its position, or with librdkafka's
    offset_store=manual (enable.auto.offset.store=false) the offset the application
    stored with store_offsets() after processing, i.e. past the records processed."""
    return s.nxt[c] if s.params.offset_store == "manual" else s.pos[c]


def other(s, c):
    """The consumer that takes the partition over from c (the next one, round robin)."""
    return (c + 1) % s.params.consumers


def hand_over(s, c):
    """The partition moves from consumer c to the next member, which starts afresh.

    Real Kafka: the group coordinator completes a rebalance and the assignor gives
    the partition to another member, which fetches the committed offset. Left out: the
    join/sync round trips and the assignor (the next consumer always gets it).
    """
    d = other(s, c)
    when(s.st[d] == STATUS.member)
    s.owner = d
    s.pos[d] = start_position(s)
    s.nxt[d] = s.pos[d]
    s.pc[d] = PC.idle


def holds_records(s, c):
    """Consumer c is alive and has fetched records it has not processed yet."""
    return And(s.st[c] != STATUS.down, s.nxt[c] < s.pos[c])


def in_hand(s, o):
    """Record o is in a live consumer's hands (fetched, not yet processed)."""
    return any_of(range(s.params.consumers),
                  lambda c: And(s.st[c] != STATUS.down, s.nxt[c] <= o, o < s.pos[c]))
