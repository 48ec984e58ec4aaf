"""offset-expiry: the group stays empty longer than offsets.retention.minutes and its committed offsets are deleted.

Real Kafka (C12): once a group has no members, its committed offsets expire after
offsets.retention.minutes (7 days since 2.0, KIP-211). The next consumer to start has
no committed offset and applies auto.offset.reset: `latest` skips every record
written meanwhile (loss), `earliest` re-reads the whole log (duplicates).
Caused by: an outage longer than the retention. Prevented by: a longer
offsets.retention.minutes, auto.offset.reset=none (fail instead of guessing).
Documented: OFFSETS_RETENTION_MINUTES_DOC (GroupCoordinatorConfig); KIP-211;
AUTO_OFFSET_RESET_DOC.
"""

from spec.group_ops import NO_OFFSET, STATUS

from checker import all_of, when

CATALOGUE = ("C12",)
ORDER = 30


def install(model):
    model.param("max_expiries", 1, min=0, doc="offset expiries in one run")
    mode = model.failure_mode("offset-expiry", budget="max_expiries", counter="expiries", doc=__doc__)

    @mode.action(actor="coordinator")
    def ExpireOffsets(s):
        """Every consumer is down; the coordinator deletes the group's committed offset.

        Real Kafka: the group coordinator's periodic offset-expiration task removes
        offsets of an empty group older than offsets.retention.minutes.
        Left out: the clock; the outage is assumed long enough whenever everyone is down.
        """
        when(all_of(range(s.params.consumers), lambda c: s.st[c] == STATUS.down),
             s.committed != NO_OFFSET)
        s.committed = NO_OFFSET
