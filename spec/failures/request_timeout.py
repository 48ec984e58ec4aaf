"""request-timeout: a produce request, or its response, is lost; the producer times out.

Real Kafka: the connection drops or a broker stalls, and request.timeout.ms (30 s)
expires. A request lost before the leader wrote it leaves nothing in the log; a
response lost after the write leaves the record written although the producer saw
an error. With acks=0 the producer never learns either way: the record is simply
gone (P1). With retries the producer sends it again: a lost response then writes it
twice unless the producer is idempotent (P3), and with two requests in flight a
retried request can land behind a later one (P4).
Caused by: network faults, broker pauses. Prevented (its effects): acks=all for P1,
enable.idempotence=true for P3 and P4 (or max.in.flight.requests.per.connection=1
for P4).
Documented: ProducerConfig ACKS_DOC, RETRIES_DOC, ENABLE_IDEMPOTENCE_DOC,
MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION_DOC; design.html section 4.6.
Left out: a request delayed rather than lost (it arrives after its retry).
"""

from spec.producer import PST

from checker import when

CATALOGUE = ("P1", "P3", "P4")
MODEL = "pipeline"
ORDER = 30


def install(model):
    model.param("max_timeouts", 1, min=0, doc="produce requests or responses lost in one run")
    mode = model.failure_mode("request-timeout", budget="max_timeouts", counter="timeouts", doc=__doc__)

    @mode.action(over="messages", actor="producer")
    def LoseRequest(s, m):
        """The request carrying m is lost before the leader writes it.

        Real Kafka: the connection breaks while the request is in flight; the producer's
        request.timeout.ms expires (acks=1/all: a retriable error; acks=0: unnoticed).
        Left out: a request that arrives late, after its timeout.
        """
        when(s.pst[m] == PST.wire)
        s.pst[m] = PST.dropped if s.params.acks == "0" else PST.failed

    # acks=0 has no response to lose
    @mode.action(over=lambda p: range(p.messages) if p.acks != "0" else [], actor=("leader", "producer"))
    def LoseResponse(s, m):
        """The leader wrote m, but its response is lost; the producer sees a timeout.

        Real Kafka: the produce response never arrives (connection drop, broker stall);
        the record is in the log while the producer treats the send as failed.
        Left out: the response's latency (it is lost or not, at once).
        """
        when(s.params.acks != "0", s.pst[m] == PST.waiting)
        s.pst[m] = PST.failed
