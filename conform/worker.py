"""One real consumer in its own process, driven over stdin/stdout (`python -m conform.worker`).

Each consumer of a replayed trace runs here, not in the harness's process, so that the
model's Crash can be what it says: kill -9 of the process. close() would not do: with
enable.auto.commit=true librdkafka's close() commits the stored offsets first (measured on
the mock cluster), which is the model's Close, not its Crash.

Protocol: one JSON object per line each way. A request is {"op": ..., ...}; the reply is
{"ok": true, ...} or {"error": "..."}. The consumer uses assign() (the harness plays the
group coordinator, see conform/harness.py), so a killed consumer leaves no group member
behind whose session must first time out.
"""

from __future__ import annotations

import json
import logging
import re
import signal
import sys
import time
from typing import Any


def _serve(line: str, state: dict[str, Any]) -> dict[str, Any]:
    from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

    req = json.loads(line)
    op = req["op"]
    if op == "start":
        quiet = logging.getLogger("conform.worker.librdkafka")
        quiet.addHandler(logging.NullHandler())
        quiet.propagate = False  # librdkafka's log lines would interleave with the protocol
        state["tp"] = TopicPartition(req["topic"], req["partition"])
        state["consumer"] = Consumer({**req["conf"], "logger": quiet})
        if req.get("producer") is not None:  # the eos rows: a transactional producer in the same process
            _start_producer(req["producer"], quiet, state)
        return {"ok": True}
    c, tp = state["consumer"], state["tp"]
    if op.startswith("txn_"):
        return _serve_txn(op, req, c, tp, state)
    if op == "assign":
        # No offset given: librdkafka starts at the group's committed offset, or at
        # auto.offset.reset when there is none (as the Java consumer does on assignment).
        # An offset (offsets stored in the sink, R2) is where the application seeks instead.
        if req.get("offset") is None:
            c.assign([TopicPartition(tp.topic, tp.partition)])
        else:
            c.assign([TopicPartition(tp.topic, tp.partition, req["offset"])])
        return {"ok": True}
    if op == "store":
        # enable.auto.offset.store=false: the application stores the next offset after processing (R3).
        c.store_offsets(offsets=[TopicPartition(tp.topic, tp.partition, req["offset"])])
        return {"ok": True}
    if op == "unassign":
        c.unassign()
        return {"ok": True}
    if op == "poll":
        # poll() hands out one message at a time; a batch (max.poll.records) is up to
        # `max` of them. The first may take `first` seconds; after it, the batch is every
        # record up to `max` that the log held when the step began (`end`, the log end
        # offset): a fetch that brought only some of them yet is waited for, since the
        # model's Poll takes min(batch, available) at once (a shorter poll is its Poll as
        # if the rest were produced later; without the wait, 3 runs in 10 mismatched).
        offsets: list[int] = []
        values: list[str] = []  # the records' values (the pipeline rows name the message in it)
        m = c.poll(req["first"])
        while m is not None:
            if m.error():
                return {"error": f"poll: {m.error()}"}
            offsets.append(m.offset())
            values.append((m.value() or b"").decode("ascii", "replace"))
            want = min(req["max"], req["end"] - offsets[0])
            if len(offsets) >= want:
                break
            m = c.poll(req["first"])
        return {"ok": True, "offsets": offsets, "values": values}
    if op == "commit":
        try:
            if req.get("offset") is None:
                # No offsets: librdkafka commits the stored offsets, which with
                # enable.auto.offset.store=true are the positions (Java's commitSync()).
                c.commit(asynchronous=False)
            else:
                c.commit(offsets=[TopicPartition(tp.topic, tp.partition, req["offset"])], asynchronous=False)
        except KafkaException as e:
            if req.get("offset") is None and e.args[0].code() == KafkaError._NO_OFFSET:
                # Nothing stored since the last commit (or since assign): librdkafka
                # raises "No offset stored" where Java's commitSync() re-commits the same
                # positions; either way the committed offset stays as it is.
                return {"ok": True, "nothing": True}
            return {"error": f"commit: {e.args[0]}"}
        return {"ok": True}
    if op == "refetch":
        # Drop what was fetched ahead (seek to where the application is), so that the next
        # poll() fetches from the broker again: after DeleteRecords, a prefetched copy of
        # a deleted record is not what the model's later Poll reads (it has no prefetch).
        pos = c.position([tp])[0].offset
        if pos < 0:  # nothing handed out since assign(): the start is the committed offset
            pos = c.committed([tp], timeout=10)[0].offset
        if pos >= 0:
            c.seek(TopicPartition(tp.topic, tp.partition, pos))
        return {"ok": True}
    if op == "position":
        return {"ok": True, "position": c.position([tp])[0].offset}
    if op == "close":
        c.close()
        state["closed"] = True
        return {"ok": True}
    return {"error": f"unknown op {op!r}"}


def _start_producer(conf: dict[str, Any], quiet: logging.Logger, state: dict[str, Any]) -> None:
    from confluent_kafka import Producer

    def on_error(err: Any) -> None:  # a fatal error (ProducerFenced) ends the producer: the model's fenced
        if err.fatal():
            state["fatal"] = str(err)

    def on_stats(text: str) -> None:  # the transaction manager's state, which confluent-kafka has no call for
        state["eos"] = json.loads(text).get("eos", {})

    stats = {"stats_cb": on_stats} if "statistics.interval.ms" in conf else {}
    state["producer"] = Producer({**conf, "logger": quiet, "error_cb": on_error, **stats})
    state["stage"] = "starting"
    state["delivered"] = []


def _serve_txn(op: str, req: dict[str, Any], c: Any, tp: Any, state: dict[str, Any]) -> dict[str, Any]:
    """One operation of the eos rows' consume-transform-produce loop (conform/eos.py); `stage`
    is where the loop is, set only when the client call returned."""
    from confluent_kafka import KafkaError, KafkaException, TopicPartition

    p = state["producer"]
    if op == "txn_init":  # initTransactions(): aborts what an older epoch left open, bumps the epoch
        p.init_transactions(req["timeout"])
        return {"ok": True}
    if op == "txn_seek":  # the application starts at `offset` (the group's committed offset)
        offset = req["offset"]
        if offset is None:
            offset = c.committed([TopicPartition(tp.topic, tp.partition)], timeout=req["timeout"])[0].offset
        c.assign([TopicPartition(tp.topic, tp.partition, offset)])
        state["seeked"], state["stage"] = offset, "idle"
        return {"ok": True, "offset": offset}
    if op == "txn_poll":  # poll() of one input record, then beginTransaction()
        m = c.poll(req["timeout"])
        if m is None:
            return {"error": f"poll: no input record within {req['timeout']} s"}
        if m.error():
            return {"error": f"poll: {m.error()}"}
        p.begin_transaction()
        state["stage"] = "fetched"
        return {"ok": True, "offset": m.offset()}
    if op == "txn_send":  # send(): librdkafka adds the partition to the transaction, then produces
        n = len(state["delivered"])
        state["delivered"].append(None)

        def report(err: Any, msg: Any, n: int = n) -> None:  # each send's own report, however late
            state["delivered"][n] = "ok" if err is None else str(err)

        p.produce(req["topic"], value=req["value"].encode(), partition=tp.partition, on_delivery=report)
        p.poll(0)
        state["stage"] = "added"
        return {"ok": True}
    if op == "txn_deliver":  # the send's delivery report
        p.flush(req["timeout"])
        if not state["delivered"] or state["delivered"][-1] is None:
            return {"error": f"no delivery report within {req['timeout']} s"}
        if state["delivered"][-1] != "ok":
            return {"error": f"delivery: {state['delivered'][-1]} (reports so far: {state['delivered']})"}
        state["stage"] = "sent"
        return {"ok": True}
    if op == "txn_fail":  # the send's delivery report is an error (the proxy kept the request from the broker)
        p.flush(req["timeout"])
        if not state["delivered"] or state["delivered"][-1] in (None, "ok"):
            return {"error": f"no failed delivery report within {req['timeout']} s"}
        state.pop("eos", None)  # only statistics emitted after the report count
        # The error makes the transaction abortable only once librdkafka's transaction manager says so
        # (its statistics' txn_state); the report alone can come first.
        end = time.monotonic() + req["timeout"]
        while state.get("eos", {}).get("txn_state") != "AbortableError" and time.monotonic() < end:
            p.poll(0.05)
        eos = state.get("eos", {})
        if eos.get("txn_state") != "AbortableError":
            return {"error": f"delivery {state['delivered'][-1]}, but the transaction is not abortable within "
                             f"{req['timeout']} s (librdkafka's txn_state {eos.get('txn_state')}, idemp_state "
                             f"{eos.get('idemp_state')})"}
        state["stage"] = "failed"
        return {"ok": True, "report": state["delivered"][-1], "txn_state": eos["txn_state"],
                "idemp_state": eos.get("idemp_state")}
    if op == "txn_abort":  # abortTransaction(); with rewind the application then seeks to committed()
        p.abort_transaction(req["timeout"])
        state["stage"] = "starting" if req["rewind"] else "idle"
        return {"ok": True}
    if op == "txn_offsets":  # sendOffsetsToTransaction(position, consumer.groupMetadata())
        p.send_offsets_to_transaction(c.position([TopicPartition(tp.topic, tp.partition)]),
                                      c.consumer_group_metadata(), req["timeout"])
        state["stage"] = "offsets"
        return {"ok": True}
    if op == "txn_commit":
        p.commit_transaction(req["timeout"])
        state["stage"] = "idle"
        return {"ok": True}
    if op == "txn_commit_times_out":  # commitTransaction() whose EndTxn does not arrive: the call times out
        try:
            p.commit_transaction(req["timeout"])
        except KafkaException as e:
            err = e.args[0]
            if err.code() != KafkaError._TIMED_OUT or not err.retriable():
                return {"error": f"commit_transaction: {err}"}
            state["stage"] = "timedout"
            return {"ok": True, "timed_out": err.str()}
        return {"error": "commit_transaction() returned within its timeout: its EndTxn was not held"}
    if op == "txn_close":  # Close: the fenced producer's next request (by the loop's stage), then both clients closed
        err = None
        try:
            if state["stage"] == "added":  # the output record's Produce request, in flight
                p.flush(req["timeout"])
                err = state["delivered"][-1] if state["delivered"][-1] != "ok" else None
            elif state["stage"] == "sent":
                p.send_offsets_to_transaction(c.position([TopicPartition(tp.topic, tp.partition)]),
                                              c.consumer_group_metadata(), req["timeout"])
            elif state["stage"] == "offsets":
                p.commit_transaction(req["timeout"])
        except KafkaException as e:
            err = e.args[0]
        except SystemError as e:  # confluent-kafka raises a fatal error met inside flush() as the cause of one
            if not isinstance(e.__cause__, KafkaException):
                raise
            err = e.__cause__.args[0]
        text = None if err is None else str(err)  # KafkaError{FATAL,code=_FENCED,...}: its code and fatality
        code = re.search(r"code=(\w+)", text or "")
        reply = {"ok": True, "stage": state["stage"], "failed": err is not None, "failure": text,
                 "code": code.group(1) if code else None, "fatal": "FATAL," in (text or "")}
        c.close()
        try:  # what is still queued goes (a fenced producer raises its fatal error on every call)
            p.purge()
        except KafkaException:
            pass
        state["closed"] = True
        return reply
    if op == "txn_view":
        pos = c.position([TopicPartition(tp.topic, tp.partition)])[0].offset if c.assignment() else -1
        if pos < 0:  # nothing handed out since the seek: librdkafka reports no position; the seek's offset
            pos = state.get("seeked", -1)
        return {"ok": True, "stage": state["stage"], "position": pos, "fatal": state.get("fatal"),
                "delivered": state["delivered"][-1] if state["delivered"] else None}
    return {"error": f"unknown op {op!r}"}


def main() -> int:
    # Ctrl-C on a terminal reaches the whole process group: the harness's process decides
    # (it kills this one, checker/interrupt.py); a worker ends when killed or at the end of stdin.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    state: dict[str, Any] = {}
    for line in sys.stdin:
        try:
            reply = _serve(line, state)
        except Exception as e:  # reported to the harness, which says which step failed
            reply = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
        if state.get("closed"):
            return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
