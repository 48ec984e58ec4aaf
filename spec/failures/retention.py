"""retention: log retention deletes the oldest records, whether or not the group has read them.

Real Kafka (B9): retention.ms / retention.bytes delete whole segments from the start
of the log regardless of consumers. A record deleted before the group processed it
is gone (loss); a lagging consumer's next fetch gets OffsetOutOfRange and jumps by
auto.offset.reset (earliest: past the deleted range; latest: to the log end, skipping
everything in between).
Caused by: short retention and a slow or stopped consumer. Prevented by: longer
retention, lag alerting, auto.offset.reset=none.
Documented: AUTO_OFFSET_RESET_DOC ("...does not exist any more on the server (e.g.
because that data has been deleted)"); TopicConfig RETENTION_MS_DOC.
Left out: segments (one record is deleted at a time); compaction (B10).
"""

from checker import when

CATALOGUE = ("B9",)
ORDER = 50


def install(model):
    model.param("max_deletions", 1, min=0, doc="records retention may delete in one run")
    mode = model.failure_mode("retention", budget="max_deletions", counter="deletions", doc=__doc__)

    @mode.action(actor="log")
    def DeleteRecords(s):
        """Retention deletes the oldest record still in the log (the log start moves up).

        Real Kafka: the log cleaner deletes the oldest segment once it is older than
        retention.ms; the log start offset moves past it.
        Left out: segment sizes and times; any record still in the log may be the oldest one.
        """
        when(s.log_start < s.sent)
        s.log_start += 1
