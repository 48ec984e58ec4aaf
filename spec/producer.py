"""The producer of the `pipeline` model: acks, retries, idempotence, requests in flight.

Each message m has one producer-side status `pst[m]`: unsent; on the wire (a
produce request on its way to the leader); waiting (appended by the leader, the
response not yet received); failed (the producer saw an error or a timeout and may
retry; once the retries are used up it stays failed: the application got the error);
acked (the send succeeded, as far as the application knows); dropped (with acks=0,
lost on the wire or with its leader, and the application never learns).

Left out: batching (one message per request), the accumulator's linger and buffer,
delivery.timeout.ms (a failed message is retried while `retries` lasts), keys and
partitioners (one partition), transactions, producer epochs across restarts (P7, P8).
"""

from checker import And, Enum, Not, Or, any_of, ite, when

from .replication import NO_LEADER, append, in_leader_log, isr_size, leader_entry, leader_leo

PST = Enum("unsent", "wire", "waiting", "failed", "acked", "dropped")


def messages(s):
    return range(s.params.messages)


def acked(s, m):
    """The application was told message m is written (with acks=0: as soon as it was sent)."""
    if s.params.acks == "0":
        return Or(s.pst[m] == PST.acked, s.pst[m] == PST.wire, s.pst[m] == PST.dropped)
    return s.pst[m] == PST.acked


def in_flight(s):
    """Requests sent and not yet answered (max.in.flight.requests.per.connection caps them)."""
    return sum(ite(Or(s.pst[m] == PST.wire, s.pst[m] == PST.waiting), 1, 0) for m in messages(s))


def retry_left(s):
    return s.retried < s.params.retries


def Send(s, m):
    """The producer sends message m to the partition leader (in order, within the in-flight cap).

    Real Kafka: KafkaProducer.send() appends to the accumulator and the sender thread
    ships the batch while fewer than max.in.flight.requests.per.connection requests are
    unanswered; a batch to be retried goes back to the front of the queue, so nothing
    new is sent before it. With acks=0 the send is complete at once (the future gets
    offset -1). Left out: batching several messages into one request.
    """
    when(s.pst[m] == PST.unsent, in_flight(s) < s.params.in_flight)
    if m > 0:
        when(s.pst[m - 1] != PST.unsent)
    when(Not(And(retry_left(s), any_of(messages(s), lambda k: s.pst[k] == PST.failed))))
    s.pst[m] = PST.wire
    _on_the_wire(s, m)


def _on_the_wire(s, m):
    """m is now the request sent last (with two in flight, the other one arrives first)."""
    if s.params.in_flight > 1:
        s.last_sent = m


def _arrives_next(s, m):
    """Requests on one connection reach the broker in the order they were sent."""
    if s.params.in_flight > 1:
        others = any_of(messages(s), lambda k: And(k != m, s.pst[k] == PST.wire))
        when(Or(Not(others), s.last_sent != m))


def Append(s, m):
    """The leader handles the produce request of m: appends it, or turns it away.

    Real Kafka: with acks=all and fewer than min.insync.replicas in the ISR the
    request fails with NOT_ENOUGH_REPLICAS (retriable). With enable.idempotence the
    broker keeps the producer's last sequence number (rebuilt from the log): a
    sequence it already has is a duplicate, answered with success and not written
    again; one beyond the next is OUT_OF_ORDER_SEQUENCE_NUMBER, retried by the
    producer. Otherwise the record is written at the log end. With acks=0 nobody
    answers. Left out: the producer id and epoch (one producer session).
    """
    p = s.params
    when(s.pst[m] == PST.wire, s.leader != NO_LEADER)
    _arrives_next(s, m)
    written = PST.acked if p.acks == "0" else PST.waiting
    refused = isr_size(s) < p.min_isr if p.acks == "all" else False
    duplicate = gap = False
    if p.idempotence == "yes":
        n = leader_leo(s)
        last = ite(n == 0, -1, leader_entry(s, n - 1))  # the sequence the broker has last
        duplicate, gap = m <= last, m > last + 1
    s.pst[m] = ite(Or(refused, gap), PST.failed, written)
    append(s, m, And(Not(refused), Not(duplicate), Not(gap)))


def Ack(s, m):
    """The producer gets the success response for m: the send is complete.

    Real Kafka: with acks=1 the leader answers once it has written the record; with
    acks=all it answers once the high watermark covers it, if the ISR still has
    min.insync.replicas members (else NOT_ENOUGH_REPLICAS_AFTER_APPEND, see Expire).
    Left out: the response's latency (it arrives in one step, or is lost: request-timeout).
    """
    p = s.params
    when(s.pst[m] == PST.waiting)
    if p.acks == "all":
        when(in_leader_log(s, m, below=s.hw), isr_size(s) >= p.min_isr)
    s.pst[m] = PST.acked


def Retry(s, m):
    """The producer sends the failed message m again (retries caps how often, in all).

    Real Kafka: a retriable error or request.timeout.ms sends the batch again, up to
    `retries` times (default: unlimited within delivery.timeout.ms). Without
    idempotence the broker cannot tell a resent batch from a new one (P3), and with
    more than one request in flight a retried batch can land behind a later one (P4).
    Left out: retry.backoff.ms.
    """
    when(s.pst[m] == PST.failed, retry_left(s), in_flight(s) < s.params.in_flight)
    s.pst[m] = PST.wire
    s.retried = s.retried + 1
    _on_the_wire(s, m)


def Expire(s, m):
    """A request of m can no longer succeed: the producer gets a retriable error.

    Real Kafka: the leader it was sent to is gone (NOT_LEADER_OR_FOLLOWER, or the
    connection drops), its record was truncated away before the high watermark
    reached it (the request times out), or with acks=all the ISR shrank below
    min.insync.replicas after the append (NOT_ENOUGH_REPLICAS_AFTER_APPEND). With
    acks=0 a request lost with its leader is simply gone (P1).
    These are consequences of failures, not failures, so they are not budgeted.
    Left out: how long the producer waits (request.timeout.ms is not a clock here).
    """
    p = s.params
    wire, waiting = s.pst[m] == PST.wire, s.pst[m] == PST.waiting
    gone = s.leader == NO_LEADER
    stuck = Not(in_leader_log(s, m))
    if p.acks == "all":
        stuck = Or(stuck, isr_size(s) < p.min_isr)
    when(Or(And(wire, gone), And(waiting, Or(gone, stuck))))
    s.pst[m] = PST.dropped if p.acks == "0" else PST.failed
