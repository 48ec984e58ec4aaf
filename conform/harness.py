"""Drive a model trace on the real client, step by step, and compare what it observes with the model's state.

The `pipeline` model's actions are conform/pipeline.py's (librdkafka's producer behind the
proxy's produce gate, on the real broker). Each action of the `kafka` and `group` models
becomes client operations on a backend
(conform/backends.py): a fresh mock cluster (conform/cluster.py), or a fresh topic and
group on the real broker (conform/realcluster.py) with librdkafka or the Java consumer
(conform/kafka/Conform.java, the same operations over the same line protocol):

- Produce: the producer sends one record to the partition and waits for it to be delivered.
- Poll(c): consumer c's poll() hands out up to max.poll.records (`batch`) records; the
  harness waits for every one of them that the log holds (a poll that returns fewer,
  because the client has fetched only some yet, is the model's Poll as if the rest
  had been produced after it: README, "Conformance").
- Process(c): the application processes the next record in hand: the harness records it
  (its side effect is a count per offset, which is what the models count). With
  sink=idempotent (R1) the count is kept by offset and applied at most once, so what is
  compared is whether the client redelivers the same offsets; with sink=offsets-in-sink
  (R2) the harness keeps the next offset with the count and assign()s at it; with
  offset_store=manual (R3, enable.auto.offset.store=false) the consumer then calls
  store_offsets(offset + 1).
- Commit(c): commit(asynchronous=False), Java's commitSync(): no offsets (the stored
  offsets, i.e. the position) for every strategy but record-offset, which commits
  record.offset() itself.
- SkipCommit(c): nothing (the application's commit timer did not fire).
- Crash(c): kill -9 of c's process (conform/worker.py); `kafka`'s Crash also restarts it.
- Restart(c): a new consumer process; the partition's owner assign()s it, and librdkafka
  starts at the committed offset or at auto.offset.reset.
- Close(c): close(); with enable.auto.commit librdkafka commits the stored offsets first.
- Rebalance(c): the harness plays the group coordinator: with commit_on_revoke the
  owner commits what it processed, then unassign() on it and assign() on the next consumer.
- ForeignCommit(k) (C11): the harness's observer, a client of the same group.id that
  never joined the group (as an assign()ing consumer), commits the log start (k=0) or
  the log end offset (k=1).
- BackgroundAutoCommit(c) (auto_commit_on=librdkafka): the consumer runs with
  enable.auto.commit=true and auto.commit.interval.ms at its maximum (a day), so the timer
  never fires on its own inside a run and commits happen only where the trace has them;
  the step calls commit() with no offsets, which commits what the timer commits: the
  stored offsets (librdkafka's rd_kafka_commit with no offsets "commits the current
  assignment's stored offsets"; tests/test_conform.py checks, with a 100 ms timer, that
  the real timer commits a record nobody processed).

Not driven (the mock cluster is not a broker, or the harness cannot make it happen on
cue): Evict (a zombie needs group generations and max.poll.interval.ms), ExpireOffsets,
DeleteRecords, and PollAutoCommit (the Java classic consumer's auto-commit in poll();
librdkafka has none: rows with commit=auto run as auto_commit_on=librdkafka); and any
action the harness has no operation for, such as the action of a new failure mode
(`not_driven` says so, with the reason; a `_op_<Action>` method of `_Driver` drives it).

On the real broker (NOT_DRIVEN_REAL says what stays undriven per client):
- DeleteRecords: the admin client's DeleteRecords moves the log start past the oldest
  record; the owner then drops what it fetched ahead (a seek to its position), since
  the model has no prefetch.
- ExpireOffsets: DeleteGroups on the empty group (what offset expiry removes).
- PollAutoCommit (the Java classic consumer): the auto-commit timer is expired in place,
  then poll() commits the positions of earlier polls and fetches.
- Evict (the Java classic consumer): the consumers subscribe(); the owner's poll timer
  is expired in place, its heartbeat thread leaves the group, and the harness waits
  (bounded) until the other member owns the partition after a real rebalance; the
  zombie's commitSync() is rejected (CommitFailedException) and its batch abandoned.
- CommitFails (the Java consumer): commitAsync() through the proxy (conform/proxy.py),
  which drops the broker's response after the offset is stored; RetryCommit is the
  callback's commitAsync(offsets) of the failed commit's offset.

After every step the harness compares, variable by variable: `sent` (the log end offset),
`committed` (the group's committed offset; -1 when there is none), `processed[o]` (how
often the harness processed record o; the group model counts up to 2, "twice or more"),
the records in each live consumer's hands (what its polls returned, minus what was
processed) and the owner's position (librdkafka's position() is -1001, "none", until the
consumer has handed out a record since it was assigned; that is compared from then on,
and the records a poll returns pin where it started). After the last step, if the owner
is idle, one more poll checks what the model says comes next (nothing, after a loss; "nothing" means
nothing within POLL_NOTHING seconds, while the mock cluster delivers in milliseconds).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from checker.result import Trace

from . import eos, pipeline
from .backends import MOCK, Backend
from .cluster import NO_OFFSET, ClientFailure, ConsumerProcess, MockCluster

__all__ = ["NOT_DRIVEN", "DRIVEN", "not_driven", "Mismatch", "Outcome", "replay_on_client", "show_value"]

# Actions the harness cannot perform on the mock cluster, with the reason it prints.
NOT_DRIVEN = {
    "CommitFails": "a commitAsync() whose response is lost needs the proxy in front of a real broker",
    "Evict": "a zombie (max.poll.interval.ms exceeded) needs the group protocol's generations and real "
             "timeouts; the harness assigns the partition itself and the mock cluster takes seconds per rebalance",
    "ExpireOffsets": "offset expiry is a broker timer (offsets.retention.minutes, days); the mock cluster "
                     "neither expires offsets nor implements DeleteGroups (unsupported feature, measured)",
    "DeleteRecords": "retention deletes segments on a broker timer (retention.ms); the mock cluster neither "
                     "applies retention nor implements DeleteRecords (unsupported feature, measured)",
    "PollAutoCommit": "the Java classic consumer's auto-commit inside poll(); librdkafka has none "
                      "(commit=auto rows run as auto_commit_on=librdkafka)",
}

# ... on a real broker, per client (conform/backends.py): the broker has DeleteRecords and
# DeleteGroups, so only what the client itself lacks, and what the harness does not force yet.
_EVICT_REAL = ("a zombie needs the group protocol (subscribe(), generations, max.poll.interval.ms) and a forced "
               "expiry of the poll timer; the harness has one for the Java consumer only (librdkafka's, polling "
               "with paused partitions and then stopping, is measured in tests/test_realkafka.py, not built)")
NOT_DRIVEN_REAL = {
    "librdkafka": {"Evict": _EVICT_REAL, "PollAutoCommit": NOT_DRIVEN["PollAutoCommit"],
                   "CommitFails": "the harness drives commitAsync() with its callback on the Java consumer only"},
    "java-classic": {"BackgroundAutoCommit": "the Java consumer has no background auto-commit after KAFKA-18641 "
                                             "(commit=auto rows run as auto_commit_on=poll)"},
    "java-consumer": {"BackgroundAutoCommit": "the Java consumer has no background auto-commit after KAFKA-18641 "
                                              "(commit=auto rows run as auto_commit_on=poll)"},
}

POLL_FIRST = 10.0  # seconds a poll waits for each record the log holds (reached only on a loaded machine)
POLL_NOTHING = 1.0  # ... when the model says nothing is there (the end-of-trace check)
POLL_EMPTY = 0.3  # a PollAutoCommit with nothing to fetch: the commit happens at the start of poll()
RESET_SETTLE = 1.0  # seconds to let librdkafka resolve auto.offset.reset after assign() (5x the 0.2 s measured)
JOIN_TIMEOUT = 30.0  # seconds a rebalance may take (joins, and the hand-over after an eviction)
AUTO_COMMIT_NEVER_MS = 86_400_000  # librdkafka's maximum auto.commit.interval.ms: no timer commit within a run


@dataclass(frozen=True)
class Mismatch:
    step: int
    action: str
    variable: str
    model: Any
    observed: Any

    def line(self) -> str:
        return (f"step {self.step} ({self.action}): {self.variable}: model {show_value(self.model)}, "
                f"observed {show_value(self.observed)}")


@dataclass
class Outcome:
    """What replaying one trace on the client gave: every step matched, a mismatch, or client trouble."""

    steps: int = 0  # steps performed on the client
    compared: int = 0  # values compared (over all steps)
    mismatch: Mismatch | None = None
    error: str = ""  # the client failed or timed out: neither a match nor a mismatch
    not_driven: str = ""  # an action of the trace the harness cannot perform, and why (nothing was run)
    rows: list[tuple[int, str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)  # step, action, model, observed

    @property
    def matched(self) -> bool:
        return self.mismatch is None and not self.error and not self.not_driven


def show_value(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, list):
        return "[" + ", ".join(map(str, v)) + "]"
    return str(v)


class _Driver:
    """The client side of one trace: a fresh cluster, one consumer process per live consumer."""

    def __init__(self, trace: Trace, backend: Backend = MOCK, kafka: Any = None):
        s = trace.system
        self.backend = backend
        self.java = backend.client == "java"
        self.system = s
        self.kafka = s.model == "kafka"
        self.p = s.params
        why = _instance_not_driven(s, backend)
        if why is not None:
            raise ValueError(why)  # replay_on_client checks first: a bug if reached
        self.by_name = {a.name: a for a in s.actions}
        self.retention = "retention" in s.failure_modes  # the log start is compared too
        # Evictions need the group protocol: the consumers subscribe() and the coordinator
        # assigns the partition (the Java classic consumer; see _op_Evict).
        self.group_mode = self.java and "max-poll-exceeded" in s.failure_modes
        init = s.as_json_state(s.init)
        self.cap = None if self.kafka else 2  # the group model counts "twice or more" as 2
        self.processed: dict[int, int] = {}
        self.hands: dict[int, list[int]] = {}
        self.last: dict[int, int] = {}  # the offset each consumer processed last
        self.sink = "plain" if self.kafka else self.p["sink"]
        self.sink_offset = 0  # sink=offsets-in-sink: the next offset, written with each output
        self.workers: dict[int, ConsumerProcess | None] = {}
        self.owner = 0 if self.kafka else init["owner"]
        committed = None if init["committed"] == -1 else init["committed"]
        self.retry: dict[int, int] = {}  # commit-retry: the offset of each consumer's failed commitAsync()
        self.cluster = (MockCluster(committed) if not backend.real else
                        kafka.session(backend, committed, proxied="commit-retry" in s.failure_modes))
        try:
            members = [0] if self.kafka else [c for c, st in enumerate(init["st"]) if st == "member"]
            for c in range(1 if self.kafka else self.p["consumers"]):
                self.workers[c] = None
                self.hands[c] = []
            for c in members:
                self._start(c)
            if self.group_mode:
                self._join(members)
        except BaseException:
            self.cluster.close()
            raise

    # --------------------------------------------------------------- client operations
    def _conf(self) -> dict[str, Any]:
        auto = not self.kafka and self.p["commit"] == "auto"
        if self.java:  # the Java consumer: auto-commit in poll() only when the harness expires its timer
            return {"enable.auto.commit": str(auto).lower(), "auto.commit.interval.ms": str(AUTO_COMMIT_NEVER_MS),
                    "auto.offset.reset": "earliest" if self.kafka else self.p["reset"],
                    "max.poll.records": str(1 if self.kafka else self.p["batch"])}
        manual_store = not self.kafka and self.p["offset_store"] == "manual"
        return {"enable.auto.commit": auto, "auto.commit.interval.ms": AUTO_COMMIT_NEVER_MS,
                "enable.auto.offset.store": not manual_store,
                "auto.offset.reset": "earliest" if self.kafka else self.p["reset"]}

    def _start(self, c: int) -> None:
        if self.group_mode:
            # client.id orders the members (the range assignor gives the one partition to the
            # first member id, "c0-..."), heartbeats every 100 ms so a rebalance is quick, and
            # max.poll.interval.ms stays at its default: only _op_Evict makes it expire.
            classic = {"heartbeat.interval.ms": "100",
                       "partition.assignment.strategy": "org.apache.kafka.clients.consumer.RangeAssignor"}
            # group.protocol=consumer: the broker sets the heartbeat interval and assigns (KIP-848);
            # the member that joins first keeps the partition when the second joins.
            self.workers[c] = self.cluster.consumer({**self._conf(), "client.id": f"c{c}",
                                                     **(classic if self.backend.protocol == "classic" else {})})
            self.workers[c].call("subscribe")
            self.hands[c] = []
            return
        self.workers[c] = self.cluster.consumer(self._conf())
        self.hands[c] = []
        if c == self.owner:
            self._assign(c)

    def _join(self, members: list[int]) -> None:
        """The members join the group one by one, each rebalance completed inside their polls
        (the partition paused on assignment, so these polls hand out nothing); the first
        member ends up owning the partition, as the model's initial state has it."""
        joined: list[int] = []
        for c in members:
            joined.append(c)
            done = {m: self._worker(m).call("join", ms=0)["assignments"] for m in joined}
            end = time.monotonic() + JOIN_TIMEOUT
            while True:
                got = {m: self._worker(m).call("join", ms=100) for m in joined}
                # The new member has completed a rebalance (onPartitionsAssigned runs for an empty
                # share too); with the classic (eager) protocol every member has rejoined, while with
                # the consumer protocol a member whose assignment does not change gets no callback.
                settled = all(got[m]["assignments"] > done[m] for m in joined
                              if m == c or self.backend.protocol == "classic")
                # With the consumer protocol the second member's join bumps the group epoch; a member
                # whose assignment is unchanged hears the new epoch in a later heartbeat, and a commit
                # it sends before that is refused as stale. Settled means every member has it.
                if self.backend.protocol == "consumer":
                    settled = settled and len({got[m]["epoch"] for m in joined}) == 1
                if settled and got[self.owner]["assigned"] == [0] and \
                        all(got[m]["assigned"] == [] for m in joined if m != self.owner):
                    break
                if time.monotonic() > end:
                    raise ClientFailure(f"the group did not settle within {JOIN_TIMEOUT:g} s with c{self.owner} "
                                        f"owning the partition: {got}")

    def _assign(self, c: int) -> None:
        """assign(); with no committed offset, wait while librdkafka resolves auto.offset.reset.

        The model's Restart (and hand-over) fixes the start position at once. librdkafka
        looks the log end up in the background 0.1-0.2 s after assign() (measured on the
        mock cluster; the Java consumer does it in its first poll()), so a record produced
        in between is skipped by `latest`, as in the model's run with the Restart after
        that Produce (README, "Conformance"). The harness lets it settle, so the client
        follows the given trace. With a committed offset only another client of the group
        (ForeignCommit, C11) can move it in between, and librdkafka fetches the committed
        offset in the background too, so with that mode on the harness lets it settle as well.
        """
        if self.sink == "offsets-in-sink":  # R2: seek to the sink's offset, Kafka's is unused
            self._worker(c).call("assign", offset=self.sink_offset)
            return
        if self.java:  # the Java driver resolves the start (position()) inside assign: no wait
            self._worker(c).call("assign")
            return
        no_offset = self.cluster.committed() == NO_OFFSET
        self._worker(c).call("assign")
        if no_offset or "shared-group-id" in self.system.failure_modes:
            time.sleep(RESET_SETTLE)

    def _worker(self, c: int) -> ConsumerProcess:
        w = self.workers[c]
        if w is None:
            raise ClientFailure(f"consumer {c} is not running")
        return w

    def _poll(self, c: int, most: int, first: float = POLL_FIRST) -> list[int]:
        end = self.cluster.log_end()  # what the log holds now: the most a poll can hand out
        return self._worker(c).call("poll", max=most, first=first, end=end)["offsets"]

    def do(self, name: str) -> None:
        """Perform the model action `name` (e.g. "Poll(1)") on the client."""
        a = self.by_name[name]
        why = not_driven(a.base, self.backend)
        if why is not None:
            raise ValueError(f"{name} is not driven: {why}")  # replay_on_client checks first: a bug if reached
        getattr(self, f"_op_{a.base}")(name, a.index if a.index is not None else 0)

    # One method per model action the harness drives, named _op_<action>: DRIVEN is read off them.
    def _op_Produce(self, name: str, c: int) -> None:
        self.cluster.produce()

    def _op_Poll(self, name: str, c: int, first: float = POLL_FIRST) -> None:
        got = self._poll(c, 1 if self.kafka else self.p["batch"], first)
        worker_thread = not self.kafka and self.p["processing"] == "worker"
        self.hands[c] = (self.hands[c] + got) if worker_thread else got

    def _op_Process(self, name: str, c: int) -> None:
        if not self.hands[c]:
            raise ClientFailure(f"{name}: consumer {c} has no record in hand to process")
        o = self.hands[c].pop(0)
        n = self.processed.get(o, 0)
        self.processed[o] = min(n + 1, 1) if self.sink == "idempotent" else n + 1  # R1: an upsert keyed by offset
        self.last[c] = o
        if self.sink == "offsets-in-sink":
            self.sink_offset = o + 1
        if not self.kafka and self.p["offset_store"] == "manual":
            self._worker(c).call("store", offset=o + 1)

    def _op_Commit(self, name: str, c: int) -> None:
        offset = self.last[c] if not self.kafka and self.p["commit"] == "record-offset" else None
        if self._worker(c).call("commit", offset=offset).get("rejected"):
            self.hands[c] = []  # CommitFailedException (a zombie): the rest of its batch is abandoned

    def _op_PollAutoCommit(self, name: str, c: int) -> None:
        # The Java classic consumer: the auto-commit timer is expired (by the driver, not by
        # waiting), so this poll() commits the positions before it fetches; the commit is
        # asynchronous, and the consumer's own committed() is answered after it.
        w = self._worker(c)
        w.call("auto_commit_due")
        ahead = self.cluster.log_end() > w.call("position")["position"]
        self._op_Poll(name, c, POLL_FIRST if ahead else POLL_EMPTY)
        w.call("committed")

    def _op_Evict(self, name: str, c: int) -> None:
        # max.poll.interval.ms exceeded mid-batch, forced: the owner's poll timer is expired
        # (not waited out), its heartbeat thread leaves the group, and the next member takes
        # the partition in a real rebalance (a new generation) from the committed offset.
        # The harness waits for that rebalance (bounded), polling the next member.
        self._worker(c).call("expire_poll_timer")
        d = (c + 1) % self.p["consumers"]
        end = time.monotonic() + JOIN_TIMEOUT
        while self._worker(d).call("join", ms=100)["assigned"] != [0]:
            if time.monotonic() > end:
                raise ClientFailure(f"{name}: c{d} did not get the partition within {JOIN_TIMEOUT:g} s")
        self.owner = d
        self.hands[d] = []

    def _op_CommitFails(self, name: str, c: int) -> None:
        # commitAsync() whose response is lost, forced: the proxy in front of the broker drops
        # the OffsetCommit response after the broker stored the offset and closes the
        # connection; the callback gets a retriable error, and the application keeps the
        # offset to retry from it (the model's retry).
        w = self._worker(c)
        pos = w.call("position")["position"]
        self.cluster.lose_next_commit_response()
        if not w.call("commit_async", offset=None).get("failed"):
            raise ClientFailure(f"{name}: the commitAsync() whose response was lost did not fail")
        self.retry[c] = pos

    def _op_RetryCommit(self, name: str, c: int) -> None:
        # The callback's retry: commitAsync(offsets) of the failed commit's offset, now.
        reply = self._worker(c).call("commit_async", offset=self.retry.pop(c))
        if reply.get("failed"):
            raise ClientFailure(f"{name}: the retried commit failed: {reply['failed']}")

    def _op_DeleteRecords(self, name: str, c: int) -> None:
        self.cluster.delete_records(self.cluster.log_start() + 1)  # retention deletes the oldest record
        # A consumer may hold the record already, fetched ahead of its next poll() (librdkafka
        # fetches as soon as it is assigned); the model has no prefetch, so its next Poll
        # fetches after the deletion: each live owner drops what it fetched ahead.
        w = self.workers.get(self.owner)
        if w is not None and w.alive:
            w.call("refetch")

    def _op_ExpireOffsets(self, name: str, c: int) -> None:
        self.cluster.expire_offsets()

    def _op_BackgroundAutoCommit(self, name: str, c: int) -> None:
        self._worker(c).call("commit", offset=None)  # what the timer does (see the module docstring)

    def _op_ForeignCommit(self, name: str, k: int) -> None:
        self.cluster.commit(self.cluster.log_end() if k == 1 else self.cluster.log_start())

    def _op_SkipCommit(self, name: str, c: int) -> None:
        pass  # the application's commit timer did not fire: nothing reaches the client

    def _op_Crash(self, name: str, c: int) -> None:
        self.retry.pop(c, None)  # the callback dies with the process
        self._worker(c).kill()
        self.workers[c] = None
        self.hands[c] = []
        if self.kafka:  # the kafka model's crash is a restart too
            self._start(c)

    def _op_Restart(self, name: str, c: int) -> None:
        self._start(c)

    def _op_Close(self, name: str, c: int) -> None:
        self.retry.pop(c, None)
        self._worker(c).close()
        self.workers[c] = None
        self.hands[c] = []

    def _op_Rebalance(self, name: str, c: int) -> None:
        w = self._worker(c)
        if self.java and self.p["commit"] == "auto":
            # The classic protocol's onJoinPrepare commits the positions synchronously before
            # the revoke (maybeAutoCommitOffsetsSync); the harness plays the coordinator.
            w.call("commit", offset=None)
        if self.p["commit_on_revoke"] == "yes" and self.p["commit"] != "auto":
            # onPartitionsRevoked commits what was processed: the first record still in
            # hand, or (nothing in hand) the position, which commit() with no offsets commits.
            w.call("commit", offset=self.hands[c][0] if self.hands[c] else None)
        w.call("unassign")  # with enable.auto.commit librdkafka commits the stored offsets here (measured)
        self.hands[c] = []
        self.owner = (c + 1) % self.p["consumers"]
        self._assign(self.owner)
        self.hands[self.owner] = []

    # --------------------------------------------------------------- observations
    def model_view(self, state: tuple[int, ...]) -> dict[str, Any]:
        j = self.system.as_json_state(state)
        v: dict[str, Any] = {"sent": j["sent"], "committed": j["committed"]}
        if self.retention:
            v["log start"] = j["log_start"]
        for o, n in enumerate(j["processed"]):
            v[f"processed[{o}]"] = n
        if self.kafka:
            v["in hand"] = [j["cur"]] if j["pc"] in ("fetched", "committed") else []
            v["position"] = j["position"]
            return v
        for c, st in enumerate(j["st"]):
            if st != "down":
                v[f"in hand c{c}"] = list(range(j["nxt"][c], j["pos"][c]))
        if j["st"][j["owner"]] == "member":
            v[f"position c{j['owner']}"] = j["pos"][j["owner"]]
        return v

    def observed_view(self, keys: list[str]) -> dict[str, Any]:
        v: dict[str, Any] = {"sent": self.cluster.log_end()}
        if self.retention:
            v["log start"] = self.cluster.log_start()
        committed = self.cluster.committed()
        v["committed"] = -1 if committed == NO_OFFSET else committed
        for o in range(self.p["messages"]):
            n = self.processed.get(o, 0)
            v[f"processed[{o}]"] = n if self.cap is None else min(n, self.cap)
        for c, w in self.workers.items():
            if w is not None:
                v["in hand" if self.kafka else f"in hand c{c}"] = list(self.hands[c])
        for k in keys:
            if k.startswith("position"):
                c = 0 if self.kafka else int(k.split("c")[-1])
                w = self.workers.get(c)
                pos = w.call("position")["position"] if w is not None else NO_OFFSET
                v[k] = None if pos == NO_OFFSET else pos  # none: librdkafka has not handed out a record yet
        return v

    def next_poll(self, state: tuple[int, ...]) -> tuple[str, list[int], list[int]] | None:
        """After the last step: what the owner's next poll returns, per the model and for real."""
        j = self.system.as_json_state(state)
        if self.kafka:
            if j["pc"] != "idle":
                return None
            c, pos, batch = 0, j["position"], 1
        else:
            c = j["owner"]
            if j["st"][c] != "member" or (self.p["processing"] == "sync" and j["pc"][c] != "idle"):
                return None
            pos, batch = j["pos"][c], self.p["batch"]
            if pos < j["log_start"]:  # OffsetOutOfRange: auto.offset.reset, as the model's next Poll does
                pos = j["log_start"] if self.p["reset"] == "earliest" else j["sent"]
        expect = list(range(pos, min(j["sent"], pos + batch)))
        got = self._poll(c, batch, POLL_FIRST if expect else POLL_NOTHING)
        return ("next poll" if self.kafka else f"next poll c{c}"), expect, got

    def close(self) -> None:
        self.cluster.close()


def _compare(model: dict[str, Any], observed: dict[str, Any]) -> tuple[int, tuple[str, Any, Any] | None]:
    n = 0
    for k, mv in model.items():
        ov = observed.get(k, "absent")
        if k.startswith("position") and ov is None:
            continue  # the client reports no position before its first record (module docstring)
        n += 1
        if ov != mv:
            return n, (k, mv, ov)
    for k in observed:  # a live consumer the model does not have
        if k not in model and not k.startswith("position"):
            return n + 1, (k, "absent", observed[k])
    return n, None


DRIVEN = frozenset(n[len("_op_"):] for n in vars(_Driver) if n.startswith("_op_"))


# The models with a driver of their own on the real broker, librdkafka only.
DRIVERS = {"pipeline": pipeline, "eos": eos}


def backend_not_driven(model: str, backend: Backend) -> str | None:
    """Why no row of a DRIVERS model runs on `backend`, or None."""
    driver = DRIVERS[model]
    if not backend.real:
        return driver.MOCK_REASON
    if backend.client != "librdkafka":
        return driver.JAVA_REASON
    return None


def _instance_not_driven(s: Any, backend: Backend = MOCK) -> str | None:
    """Why the harness cannot drive any trace of the built system `s` on `backend`, or None."""
    if s.model in DRIVERS:
        return backend_not_driven(s.model, backend) or DRIVERS[s.model].row_not_driven(s.params,
                                                                                       tuple(s.failure_modes))
    if s.model not in ("kafka", "group"):
        return f"model {s.model}: the harness drives the kafka, group and pipeline models only"
    if s.model != "group" or s.params["commit"] != "auto":
        return None
    variant = "poll" if backend.client == "java" else "librdkafka"
    if s.params["auto_commit_on"] != variant:
        return f"commit=auto is driven on {backend.name} only as auto_commit_on={variant}"
    return None


def not_driven(action: str, backend: Backend = MOCK, model: str = "group") -> str | None:
    """Why the harness cannot perform the model action `action` (a base name, e.g. "Evict") on `backend`, or None.

    `model` "pipeline": the actions conform/pipeline.py performs."""
    if model == "pipeline":
        if action not in pipeline.DRIVEN:
            return (f"the harness has no client operation for {action} (conform/pipeline.py drives "
                    f"{', '.join(sorted(pipeline.DRIVEN))})")
        return None
    if model == "eos":
        if action not in eos.DRIVEN:
            return eos.ACTION_REASONS.get(action, f"the harness has no client operation for {action} (conform/eos.py "
                                                  f"drives {', '.join(sorted(eos.DRIVEN))})")
        return None
    table = NOT_DRIVEN_REAL[backend.name] if backend.real else NOT_DRIVEN
    if action in table:
        return table[action]
    if action not in DRIVEN:
        return (f"the harness has no client operation for {action} (conform/harness.py drives "
                f"{', '.join(sorted(DRIVEN))})")
    return None


def replay_on_client(trace: Trace, record: bool = False, backend: Backend = MOCK, kafka: Any = None) -> Outcome:
    """Perform `trace` on a fresh mock cluster; stop at the first mismatch.

    A trace with an action the harness cannot perform is not run at all: the outcome
    says which action and why (`not_driven`). `record` keeps every step's model and
    observed values (for --verbose).
    """
    out = Outcome()
    out.not_driven = _instance_not_driven(trace.system, backend) or ""
    if out.not_driven:
        return out
    for step in trace.steps[1:]:
        why = not_driven(trace.system.actions[trace.system.action_index(step.action)].base, backend,
                         trace.system.model)
        if why is not None:
            out.not_driven = f"{step.action}: {why}"
            return out
    try:
        driver: Any = (pipeline.PipelineDriver(trace, kafka) if trace.system.model == "pipeline"
                       else eos.EosDriver(trace, kafka) if trace.system.model == "eos"
                       else _Driver(trace, backend, kafka))
    except ClientFailure as e:
        out.error = f"setting up: {e}"
        return out
    try:
        for n, step in enumerate(trace.steps):
            action = step.action or "(initial)"
            if step.action is not None:
                driver.do(step.action)
                out.steps += 1
            model = driver.model_view(step.state)
            observed = driver.observed_view(list(model))
            if record:
                out.rows.append((n, action, model, observed))
            k, bad = _compare(model, observed)
            out.compared += k
            if bad is not None:
                out.mismatch = Mismatch(n, action, *bad)
                return out
        probe = driver.next_poll(trace.steps[-1].state)
        if probe is not None:
            name, expect, got = probe
            out.compared += 1
            if record:
                out.rows.append((len(trace.steps), "(next poll)", {name: expect}, {name: got}))
            if expect != got:
                out.mismatch = Mismatch(len(trace.steps), "(next poll, after the last step)", name, expect, got)
    except ClientFailure as e:
        out.error = f"step {out.steps + 1}: {e}"
    finally:
        driver.close()
    return out
