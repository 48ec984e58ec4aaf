"""Distributed exploration on Ray: the explicit engine's breadth-first search over N actors.

Each actor (a `Shard`) owns the states whose hash (`owner`) is its number: their part of
the visited set, and their share of every level. A level is two rounds:

1. expand: each shard runs the compiled `expand` (the code `compile.py` generates, loaded
   from its source, so workers hold no Z3 term) on its frontier, and batches every
   successor, with its key, per owner: one pickled pair of int lists per destination,
   handed from worker to worker through Ray's object store;
2. receive: each owner drops the successors it has seen, keeps for each new state the
   least key, checks the properties on its new states and returns their keys, sorted.

The key of a successor is (rank of its parent in its level) * actions + action. The
explicit engine numbers a level's states in that order (parents in discovery order,
actions in declaration order) and links each new state to the first parent that reaches
it, so the least key is that parent, and the order of the keys is the discovery order.
The driver merges each level's sorted keys into ranks (8 bytes up and 8 down per
state) and hands each shard its states' ranks, the parents' ranks of the next level.
The first state found to decide a property is the one with the least key at the first
level that has one; its trace is rebuilt backwards, one level at a time, by asking the
shards which state has the parent's rank. So states, transitions, depth, verdicts and
the least shortest traces are those of `explicit.py`.

`eventually` properties need the whole transition graph in one place and are left
unknown, with the reason; the limits are checked between levels (a timeout also inside
a level), so an incomplete run ends at a level's end.
"""

from __future__ import annotations

import os
import pickle
import time
from typing import Callable

import numpy as np

from checker.engines.postsearch import premises, property_results, vacuity
from checker.engines.raycluster import INSTALL, Cluster, StateError, fail_at
from checker.errors import SpecError
from checker.lang.compile import compiled, formulas_source, load, load_formulas
from checker.lang.system import System, model_error
from checker.result import Result, Step, Trace

__all__ = ["distributed", "owner", "Shard", "INSTALL", "LIVENESS_NOT_DISTRIBUTED"]

LIVENESS_NOT_DISTRIBUTED = ("the distributed engine decides always and sometimes properties only (an eventually "
                            "property needs the whole transition graph in one process); run without --distributed")
_MIX = 0x9E3779B97F4A7C15  # Fibonacci hashing: packed states differ in their low fields, owners must not


def owner(state: int, n: int) -> int:
    """The shard that owns a packed state: the same in every process, on every machine."""
    return ((state ^ (state >> 32)) * _MIX >> 20) % n


def _resident() -> int:
    """This process's resident memory in bytes (0 where /proc does not say)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class Shard:
    """One actor's part of the search: its visited states and, per level, its states in
    rank order with their ranks and keys (the parent's rank and the action)."""

    def __init__(self, me: int, n: int, code: str, kinds: list[str], premise_code: str, n_premises: int,
                 n_actions: int, name: str) -> None:
        self.me, self.n, self.A = me, n, n_actions
        self.expand_fn, self.preds = load(code, len(kinds), fail_at, name)
        self.must = [k == "always" for k in kinds]
        self.premises = load_formulas(premise_code, n_premises, name) if n_premises else []
        self.held = [False] * n_premises
        self.seen: set[int] = set()
        self.levels: list[tuple[list[int], np.ndarray, np.ndarray]] = []  # states, ranks, keys
        self.pending: tuple[list[int], list[int]] = ([], [])

    def seed(self, state: int) -> list[bool]:
        """Own the initial state (level 0, rank 0); the premises it makes true."""
        self.seen.add(state)
        self.levels.append(([state], np.zeros(1, dtype=np.int64), np.full(1, -1, dtype=np.int64)))
        self._premises([state])
        return self.held

    def empty(self) -> None:
        self.levels.append(([], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)))

    def expand(self, seconds: float | None) -> tuple:
        """Expand this shard's part of the last level; return one batch per shard, then the
        level's figures: transitions, fired per action, the first state with no successor,
        the first model error, bytes sent to other shards, and whether time ran out."""
        states, ranks, keys = self.levels[-1]
        deadline = None if seconds is None else time.monotonic() + seconds
        n, A, expand = self.n, self.A, self.expand_fn
        best: dict[int, int] = {}  # successor -> least key, before it is told to its owner
        fired = [0] * A
        transitions = 0
        dead = error = None
        stopped = False
        for i, (st, r) in enumerate(zip(states, ranks.tolist())):
            try:
                succ = expand(st)
            except StateError as e:  # states go in rank order: this is the shard's first
                error = (r, e.state)
                break
            if not succ and dead is None:
                dead = (r, st, int(keys[i]))
            base = r * A
            transitions += len(succ)
            for a, t in succ:
                fired[a] += 1
                if t not in best:  # keys grow in this loop's order: the first is the least
                    best[t] = base + a
            if deadline is not None and i & 1023 == 1023 and time.monotonic() > deadline:
                stopped = True
                break
        out: list[tuple[list[int], list[int]]] = [([], []) for _ in range(n)]
        me, seen = self.me, self.seen
        for t, k in best.items():  # in key order, so each batch is sorted by key too
            o = ((t ^ (t >> 32)) * _MIX >> 20) % n  # owner(t, n), inline: once per distinct successor
            if o == me and t in seen:  # known here: no need to send it to itself
                continue
            ts, ks = out[o]
            ts.append(t)
            ks.append(k)
        blobs = [pickle.dumps(b, protocol=5) for b in out]
        sent = sum(len(b) for d, b in enumerate(blobs) if d != self.me)
        return (*blobs, (transitions, fired, dead, error, sent, stopped))

    def receive(self, open_props: list[int], *blobs: bytes) -> tuple:
        """Keep the new states among this level's successors, each with its least key; return
        their keys sorted, the first of them (least key) deciding each open property, the
        premises made true so far, how many states this shard holds, and its resident bytes."""
        seen = self.seen
        best: dict[int, int] = {}
        get = best.get
        for blob in blobs:
            ts, ks = pickle.loads(blob)
            for t, k in zip(ts, ks):
                if t in seen:
                    continue
                c = get(t)
                if c is None or k < c:
                    best[t] = k
        ordered = sorted(best.items(), key=lambda item: item[1])
        states = [t for t, _ in ordered]
        keys = [k for _, k in ordered]
        seen.update(states)
        found = {}
        for i in open_props:
            pred, must = self.preds[i], self.must[i]
            for t, k in ordered:
                if bool(pred(t)) != must:
                    found[i] = (k, t)
                    break
        self._premises(states)
        self.pending = (states, keys)
        return np.array(keys, dtype=np.int64), found, self.held, len(seen), _resident()

    def rank(self, ranks: np.ndarray) -> None:
        """The global ranks of the states received last, in their order: they become a level."""
        states, keys = self.pending
        self.levels.append((states, ranks, np.array(keys, dtype=np.int64)))
        self.pending = ([], [])

    def find(self, level: int, rank: int) -> tuple[int, int] | None:
        """The state of that rank in that level, with its key, if this shard owns it."""
        states, ranks, keys = self.levels[level]
        i = int(np.searchsorted(ranks, rank))
        if i < len(ranks) and int(ranks[i]) == rank:
            return states[i], int(keys[i])
        return None

    def _premises(self, states: list[int]) -> None:
        for j, f in enumerate(self.premises):
            if not self.held[j] and any(f(t) for t in states):
                self.held[j] = True


def distributed(system: System, *, workers: int | None = None, address: str | None = None,
                max_states: int | None = None, timeout: float | None = None, max_memory: int | None = None,
                deadlock: bool = False, progress: Callable[..., None] | None = None,
                progress_every: float = 0.5) -> Result:
    """Explore every reachable state of `system` over `workers` Ray actors and decide its
    safety properties, with the explicit engine's counts, verdicts and traces.

    address: a running Ray cluster to join (None: the one this process is connected to,
    else a local one, started and stopped here). max_memory: bytes of resident memory
    each worker may use; past it the run stops after the level, incomplete.
    """
    start = time.perf_counter()  # the time limit counts from here; the seconds reported, once Ray is up
    comp = compiled(system)  # also checks, once, that the model compiles
    cluster = Cluster(workers, address)
    try:
        return _search(system, comp, cluster, start, max_states, timeout, max_memory, deadlock, progress,
                       progress_every)
    finally:
        cluster.close()


def _search(system: System, comp, cluster: Cluster, start: float, max_states: int | None,
            timeout: float | None, max_memory: int | None, deadlock: bool,
            progress: Callable[..., None] | None, progress_every: float) -> Result:
    ray, N = cluster.ray, cluster.workers
    A = len(system.actions)
    props = system.properties
    kinds = [p.kind for p in props]
    prem = [f for _, f in premises(system)]
    actor = ray.remote(num_cpus=1)(Shard)
    shards = [actor.remote(w, N, comp.source, kinds, formulas_source(system, prem) if prem else "", len(prem),
                           A, system.model) for w in range(N)]
    try:
        return _levels(system, comp, ray, shards, start, max_states, timeout, max_memory, deadlock,
                       progress, progress_every)
    finally:
        for s in shards:
            ray.kill(s)


def _levels(system: System, comp, ray, shards: list, start: float, max_states: int | None,
            timeout: float | None, max_memory: int | None, deadlock: bool,
            progress: Callable[..., None] | None, progress_every: float) -> Result:
    searching = time.perf_counter()
    N, A = len(shards), len(system.actions)
    props = system.properties
    init = system.layout.pack(system.init)
    found: dict[int, tuple[int, int, int]] = {}  # property index -> (level, key, state)
    for i, p in enumerate(props):
        if p.kind != "eventually" and bool(comp.predicates[i](init)) != (p.kind == "always"):
            found[i] = (0, -1, init)
    home = owner(init, N)
    held = ray.get([s.seed.remote(init) if w == home else s.empty.remote() for w, s in enumerate(shards)])[home]
    states, transitions, depth, level = 1, 0, 0, 0
    fired = [0] * A
    dead: tuple[int, int, int] | None = None  # (level, key, state) of the first state with no successor
    complete, stopped = True, ""
    sent = 0
    held_by = [held] * N
    resident = [0] * N
    next_report = start + progress_every

    def left() -> float | None:
        return None if timeout is None else max(0.0, timeout - (time.perf_counter() - start))

    while True:
        refs = [s.expand.options(num_returns=N + 1).remote(left()) for s in shards]
        figures = ray.get([r[N] for r in refs])
        errors = [f[3] for f in figures if f[3] is not None]
        if errors:  # the first state, in the explicit engine's order, whose expansion fails
            _, bad = min(errors)
            state = system.layout.unpack(bad)
            raise model_error(system, state) or SpecError(
                f"a check failed in the state {system.show_state(state)} that Z3's evaluation does not "
                "confirm; please report this model")
        if any(f[5] for f in figures):
            complete, stopped = False, f"time limit of {timeout:g} s"
            break
        for t, f, d, _, out, _ in figures:
            transitions += t
            fired = [x + y for x, y in zip(fired, f)]
            sent += out
        deads = [f[2] for f in figures if f[2] is not None]
        if deadlock and dead is None and deads:
            r, st, key = min(deads)
            dead = (level, key, st)
        open_props = [i for i, p in enumerate(props) if p.kind != "eventually" and i not in found]
        got = ray.get([s.receive.remote(open_props, *[refs[src][w] for src in range(N)])
                       for w, s in enumerate(shards)])
        keys = [g[0] for g in got]
        new = sum(len(k) for k in keys)
        held_by = [g[2] for g in got]
        resident = [max(r, g[4]) for r, g in zip(resident, got)]
        if new == 0:
            break
        level += 1
        depth = level
        states += new
        for i in open_props:
            hits = [g[1][i] for g in got if i in g[1]]
            if hits:
                k, st = min(hits)
                found[i] = (level, k, st)
        merged = np.sort(np.concatenate(keys))
        for s, k in zip(shards, keys):
            s.rank.remote(np.searchsorted(merged, k).astype(np.int64))
        now = time.perf_counter()
        if progress is not None and now >= next_report:
            progress(states, new, depth, now - searching)
            next_report = now + progress_every
        if max_states is not None and states > max_states:
            complete, stopped = False, f"state limit of {max_states}"
            break
        if timeout is not None and now - start > timeout:
            complete, stopped = False, f"time limit of {timeout:g} s"
            break
        if max_memory is not None and max(resident) > max_memory:
            complete, stopped = False, (f"memory limit of {max_memory / 2**20:,.0f} MB per worker, after "
                                        f"{states:,} states to depth {depth}")
            break
    seconds = time.perf_counter() - searching

    def trace_to(at: tuple[int, int, int]) -> Trace:
        """Back from (level, key, state) to the initial state, a level at a time."""
        lvl, key, st = at
        chain = [(None, st)]
        while lvl > 0:
            parent, a = divmod(key, A)
            lvl -= 1
            hit = [h for h in ray.get([s.find.remote(lvl, parent) for s in shards]) if h is not None]
            chain[-1] = (a, chain[-1][1])
            st, key = hit[0]
            chain.append((None, st))
        return Trace(system, [Step(None if a is None else system.actions[a].name, system.layout.unpack(s))
                              for a, s in reversed(chain)])

    names = [a.name for a in system.actions]
    fired_by = dict(zip(names, fired))
    held = [any(h[j] for h in held_by) for j in range(len(held_by[0]))]
    results = property_results(system, found, dead, deadlock, trace_to, complete, stopped, {},
                               LIVENESS_NOT_DISTRIBUTED)
    if progress is not None:
        progress(states, 0, depth, seconds)
    result = Result(system, "distributed", states, transitions, depth, seconds, complete, stopped, results,
                    fired=fired_by, vacuous=vacuity(system, fired_by, held, complete), workers=N, bytes_sent=sent)
    result.resident_per_worker = resident  # type: ignore[attr-defined]  # for the measurements in docs
    return result
