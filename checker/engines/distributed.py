"""Distributed exploration on Ray: the explicit engine's breadth-first search over N actors.

Each actor (a `Shard`) owns the states whose hash (`owner`) is its number: their part of
the visited set, and their share of every level. A level is two rounds:

1. expand: each shard runs the compiled `expand` (the code `compile.py` generates, loaded
   from its source, so workers hold no Z3 term) on its frontier, a chunk of states at a
   time, keeps every successor once with its least key, and batches them per owner: one
   pair of numpy arrays per destination (the packed states as rows of bytes, the keys),
   handed from worker to worker through Ray's object store (its own batch stays with it);
2. receive: each owner drops the successors it has seen, keeps for each new state the
   least key, checks the properties on its new states and returns their keys, sorted.

The key of a successor is (rank of its parent in its level) * actions + action. The
explicit engine numbers a level's states in that order (parents in discovery order,
actions in declaration order) and links each new state to the first parent that reaches
it, so the least key is that parent, and the order of the keys is the discovery order.
The driver merges each level's sorted keys into ranks (8 bytes up and 8 down per
state) and hands each shard its states' ranks, the parents' ranks of the next level.
The first state found to decide a property is the one with the least key at the first
level that has one; its trace is rebuilt backwards, one level at a time: the parent's
rank is its place among the level's keys, which the driver gathers from the shards, and
the shard holding that key names the state. So states, transitions, depth, verdicts and
the least shortest traces are those of `explicit.py`.

A shard holds its states in numpy arrays: each packed state (`System.layout`'s integer,
any width) as a row of ceil(bits / 8) little-endian bytes, level after level, each level
in key order; a hash table of their positions (`_States`: 4 bytes a slot, 45% to 70%
full); the key of each (4 bytes while keys fit, else 8); and the ranks of the last level
only. The compiled code reads Python integers, made from a chunk of rows at a time, and
a level's successors and new states pass through level-local tables of the same kind,
so that what a level adds to a worker's memory follows its new states.

`eventually` properties need the whole transition graph in one place and are left
unknown, with the reason; the limits are checked between levels (a timeout also inside
a level), so an incomplete run ends at a level's end.
"""

from __future__ import annotations

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
_MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: packed states differ in their low fields
_MIX2 = np.uint64(0xBF58476D1CE4E5B9)  # splitmix64's finalizer: every bit of a state moves every bit of the hash
_MIX3 = np.uint64(0x94D049BB133111EB)
_WORD = np.dtype("<u8")  # a row's bytes read as words, the same on every machine
_CHUNK = 1 << 13  # states expanded, or made Python integers, at a time: bounds a level's transient memory


def _row_bytes(bits: int) -> int:
    """The bytes of a row holding a packed state of `bits` bits."""
    return max(1, -(-bits // 8))


def _rows(states: list[int], nb: int) -> np.ndarray:
    """Packed states (Python integers) as rows of nb little-endian bytes."""
    return np.frombuffer(b"".join([t.to_bytes(nb, "little") for t in states]), np.uint8).reshape(-1, nb)


def _ints(rows: np.ndarray) -> list[int]:
    """Rows back to packed states, the integers the compiled code reads."""
    nb = rows.shape[1]
    b = rows.tobytes()
    frm = int.from_bytes
    return [frm(b[i:i + nb], "little") for i in range(0, len(b), nb)]


def _hash(rows: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row (uint64), from its bytes read as little-endian words."""
    m, nb = rows.shape
    w = -(-nb // 8)
    if nb == 8 * w:
        words = np.ascontiguousarray(rows).view(_WORD)
    else:
        buf = np.zeros((m, 8 * w), np.uint8)
        buf[:, :nb] = rows
        words = buf.view(_WORD)
    x = words[:, 0] * _MIX
    for j in range(1, w):
        x = (x ^ (x >> np.uint64(31)) ^ words[:, j]) * _MIX
    x ^= x >> np.uint64(30)
    x *= _MIX2
    x ^= x >> np.uint64(27)
    x *= _MIX3
    x ^= x >> np.uint64(31)
    return x


def _owners(h: np.ndarray, n: int) -> np.ndarray:
    """The shard owning each row, from its hash h (uint32): bits the hash table's parts
    (the top 3) and slots (the hash modulo a prime) do not follow."""
    return ((h >> np.uint64(40)) % np.uint64(n)).astype(np.uint32)


def owner(state: int, n: int, bits: int) -> int:
    """The shard that owns a packed state of `bits` bits: the same in every process, on every machine."""
    return int(_owners(_hash(_rows([state], _row_bytes(bits))), n)[0])


def _peak() -> int:
    """This process's peak resident memory in bytes (0 where /proc does not say)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _libc():
    """glibc, to tune and trim the C heap (None elsewhere)."""
    global _LIBC
    if _LIBC is None:
        try:
            import ctypes
            _LIBC = ctypes.CDLL("libc.so.6")
            _LIBC.malloc_trim, _LIBC.mallopt  # noqa: B018  # both there, or it is not glibc
        except (OSError, AttributeError):
            _LIBC = False
    return _LIBC or None


_LIBC = None


def _heap() -> None:
    """Blocks of 256 KB and more (numpy's arrays but the smallest) mapped on their own, so
    that an array freed leaves this process's memory at once: glibc would otherwise raise
    that threshold to the largest array freed (up to 32 MB) and keep its pages."""
    libc = _libc()
    if libc:
        libc.mallopt(-3, 1 << 18)  # M_MMAP_THRESHOLD


def _trim() -> None:
    """Hand the C heap's free pages back to the system after a level's work."""
    libc = _libc()
    if libc:
        libc.malloc_trim(0)


def _grow(a: np.ndarray, n: int) -> np.ndarray:
    """`a` with room for n elements: resized in place (realloc, which moves a large array's
    pages without copying them), never shared, so no view outlives it."""
    a.resize((n, *a.shape[1:]), refcheck=False)
    return a


def _store(a: np.ndarray, at: int, values: np.ndarray) -> np.ndarray:
    """Write values (non-negative) at a[at:], the array grown to fit and widened from
    uint32 to int64 the first time a value does not fit in 4 bytes."""
    if a.dtype == np.uint32 and len(values) and int(values.max()) >= 1 << 32:
        a = a.astype(np.int64)
    a = _grow(a, at + len(values))
    a[at:] = values
    return a


def _prime_at_least(x: int) -> int:
    """The least prime >= x (Miller-Rabin with the bases that decide every n < 3.3 * 10**24)."""
    def prime(n: int) -> bool:
        if n < 2:
            return False
        bases = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)
        if n in bases:
            return True
        if any(n % b == 0 for b in bases):
            return False
        d, r = n - 1, 0
        while d % 2 == 0:
            d, r = d // 2, r + 1
        for b in bases:
            y = pow(b, d, n)
            if y in (1, n - 1):
                continue
            for _ in range(r - 1):
                y = y * y % n
                if y == n - 1:
                    break
            else:
                return False
        return True
    while not prime(x):
        x += 1
    return x


class _States:
    """A shard's states: rows of nb bytes in the order they came (`rows`, `n` of them), and a
    hash table of their positions + 1 (0: an empty slot), open addressing with double
    hashing (a prime number of slots, the step from the hash's high half), in SEGMENTS parts
    chosen by the hash's top bits. A part grows alone, to hold its states at GROW_TO when
    it passes GROW_AT: growing holds one part twice, never the whole table."""

    SEGMENT_BITS = 3
    SEGMENTS = 1 << SEGMENT_BITS
    GROW_AT, GROW_TO = 0.7, 0.45
    BATCH = 1 << 17  # rows looked up or put at a time: bounds the transient arrays

    def __init__(self, nb: int, expect: int = 0) -> None:
        self.nb, self.n = nb, 0
        self.rows = np.zeros((0, nb), dtype=np.uint8)
        cap = _prime_at_least(max(64, int(expect / self.SEGMENTS / self.GROW_TO)))
        self.tables = [np.zeros(cap, dtype=np.uint32) for _ in range(self.SEGMENTS)]
        self.used = [0] * self.SEGMENTS

    def nbytes(self) -> int:
        return self.rows.nbytes + sum(t.nbytes for t in self.tables)

    def _parts(self, h: np.ndarray) -> list[np.ndarray]:
        """The positions in h of the hashes in each part."""
        seg = (h >> np.uint64(64 - self.SEGMENT_BITS)).astype(np.intp)
        order = np.argsort(seg, kind="stable")
        ends = np.cumsum(np.bincount(seg, minlength=self.SEGMENTS))
        return np.split(order, ends[:-1])

    @staticmethod
    def _probe(h: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
        """The first slot and the step (1 to cap - 1: every slot in cap steps, cap prime)."""
        c = np.uint64(cap)
        return (h % c).astype(np.int64), ((h >> np.uint64(32)) % (c - np.uint64(1))).astype(np.int64) + 1

    def index(self, rows: np.ndarray, hashes: np.ndarray | None = None) -> np.ndarray:
        """Each row's position among the states held, or -1 (int64); hashes: the rows' `_hash`."""
        out = np.full(len(rows), -1, dtype=np.int64)
        if not self.n:
            return out
        for b in range(0, len(rows), self.BATCH):
            part = rows[b:b + self.BATCH]
            h = _hash(part) if hashes is None else hashes[b:b + self.BATCH]
            for s, sel in enumerate(self._parts(h)):
                if len(sel) and self.used[s]:
                    out[b + sel] = self._find(self.tables[s], h[sel], part[sel])
        return out

    def _find(self, table: np.ndarray, h: np.ndarray, rows: np.ndarray) -> np.ndarray:
        cap = len(table)
        out = np.full(len(rows), -1, dtype=np.int64)
        pos, step = self._probe(h, cap)
        todo = np.arange(len(rows))
        while len(todo):
            e = table[pos].astype(np.int64) - 1
            occupied = e >= 0  # an empty slot ends the search: not held
            todo, pos, step, e = todo[occupied], pos[occupied], step[occupied], e[occupied]
            other = (self.rows[e] != rows[todo]).any(axis=1)
            out[todo[~other]] = e[~other]
            todo, step = todo[other], step[other]
            pos = pos[other] + step
            pos[pos >= cap] -= cap
        return out

    def add(self, rows: np.ndarray, hashes: np.ndarray | None = None) -> None:
        """Hold new rows, distinct and none held yet, after the others; hashes: their `_hash`."""
        n, m = self.n, len(rows)
        if n + m >= (1 << 32) - 1 and self.tables[0].dtype == np.uint32:
            self.tables = [t.astype(np.uint64) for t in self.tables]
        self.rows = _grow(self.rows, n + m)
        self.rows[n:] = rows
        self.n = n + m
        for b in range(0, m, self.BATCH):
            h = _hash(rows[b:b + self.BATCH]) if hashes is None else hashes[b:b + self.BATCH]
            for s, sel in enumerate(self._parts(h)):
                if not len(sel):
                    continue
                need = self.used[s] + len(sel)
                if need > self.GROW_AT * len(self.tables[s]):
                    self._regrow(s, need)
                self._put(self.tables[s], h[sel], n + b + sel)
                self.used[s] = need

    def _regrow(self, s: int, need: int) -> None:
        """Part s, made big enough to hold `need` states at GROW_TO, its states put back."""
        old = self.tables[s]
        ids = old[old != 0]
        self.tables[s] = table = np.zeros(_prime_at_least(int(need / self.GROW_TO) + 1), dtype=old.dtype)
        del old
        for b in range(0, len(ids), self.BATCH):
            at = ids[b:b + self.BATCH].astype(np.int64) - 1
            self._put(table, _hash(self.rows[at]), at)

    def _put(self, table: np.ndarray, h: np.ndarray, at: np.ndarray) -> None:
        """Put the positions `at` of states not in the table, with hashes h, in the table."""
        cap = len(table)
        pos, step = self._probe(h, cap)
        ids = (at + 1).astype(table.dtype)
        while len(ids):
            free = table[pos] == 0
            fp, fi = pos[free], ids[free]
            table[fp] = fi  # states landing on the same free slot: one of them takes it
            took = np.zeros(len(ids), dtype=bool)
            took[free] = table[fp] == fi
            ids, step = ids[~took], step[~took]
            pos = pos[~took] + step
            pos[pos >= cap] -= cap


def _nothing(nb: int) -> tuple[np.ndarray, np.ndarray]:
    """An empty batch: no rows, no keys."""
    return np.zeros((0, nb), dtype=np.uint8), np.zeros(0, dtype=np.uint32)


class Shard:
    """One actor's part of the search: its states (`_States`), the key of each (the parent's
    rank and the action), the levels as ranges of them, and the last level's ranks."""

    def __init__(self, me: int, n: int, code: str, kinds: list[str], premise_code: str, n_premises: int,
                 n_actions: int, name: str, bits: int) -> None:
        _heap()
        self.me, self.n, self.A = me, n, n_actions
        self.expand_fn, self.preds = load(code, len(kinds), fail_at, name)
        self.must = [k == "always" for k in kinds]
        self.premises = load_formulas(premise_code, n_premises, name) if n_premises else []
        self.held = [False] * n_premises
        self.nb = _row_bytes(bits)
        self.states = _States(self.nb)
        self.keys = np.zeros(0, dtype=np.uint32)  # by position, as the states; level 0's stands for -1
        self.levels: list[tuple[int, int]] = []  # positions [start, end) of each level's states, in key order
        self.ranks = np.zeros(0, dtype=np.int64)  # the last level's states' ranks
        self.pending = (0, 0)  # the states received last, waiting for their ranks
        self.own = _nothing(self.nb)  # the last level's successors this shard owns: rows, keys

    def seed(self, state: int) -> list[bool]:
        """Own the initial state (level 0, rank 0); the premises it makes true."""
        self.states.add(_rows([state], self.nb))
        self.keys = _store(self.keys, 0, np.zeros(1, dtype=np.int64))
        self.levels.append((0, 1))
        self.ranks = np.zeros(1, dtype=np.int64)
        self._premises([state])
        return self.held

    def empty(self) -> None:
        self.levels.append((0, 0))

    def expand(self, seconds: float | None) -> tuple:
        """Expand this shard's part of the last level; return one batch per shard (the
        successors it owns, each once, as rows, and their least keys, in key order; this
        shard's own batch stays here and an empty one goes out), then the level's figures:
        transitions, fired per action, the first state with no successor, the first model
        error, bytes sent to other shards, and whether time ran out."""
        start, end = self.levels[-1]
        deadline = None if seconds is None else time.monotonic() + seconds
        n, A, expand, me = self.n, self.A, self.expand_fn, self.me
        fired = [0] * A
        transitions = 0
        dead = error = None
        stopped = False
        succ = _States(self.nb, 2 * (end - start))  # the level's successors, each once
        keys, owners = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint32)  # of each: least key, owner
        done = 0
        for c in range(start, end, _CHUNK):
            best: dict[int, int] = {}  # successor -> least key, in this chunk
            c_end = min(end, c + _CHUNK)
            ranks = self.ranks[c - start:c_end - start].tolist()
            for i, (st, r) in enumerate(zip(_ints(self.states.rows[c:c_end]), ranks)):
                try:
                    nxt = expand(st)
                except StateError as e:  # states go in rank order: this is the shard's first
                    error = (r, e.state)
                    break
                if not nxt and dead is None:
                    dead = (r, st, -1 if len(self.levels) == 1 else int(self.keys[c + i]))
                base = r * A
                transitions += len(nxt)
                for a, t in nxt:
                    fired[a] += 1
                    if t not in best:  # keys grow in this loop's order: the first is the least
                        best[t] = base + a
                done += 1
                if deadline is not None and done & 1023 == 1023 and time.monotonic() > deadline:
                    stopped = True
                    break
            ts = _rows(list(best), self.nb)
            ks = np.fromiter(best.values(), dtype=np.int64, count=len(best))
            del best
            h = _hash(ts)
            new = succ.index(ts, h) < 0  # one found in an earlier chunk has a lesser key
            succ.add(ts[new], h[new])
            keys = _store(keys, len(keys), ks[new])
            owners = _store(owners, len(owners), _owners(h[new], n))
            del ts, ks, h, new
            if error is not None or stopped:
                break
        rows = succ.rows
        del succ
        if len(keys) and keys[-1] < 1 << 32:  # in key order: the last is the greatest
            keys = keys.astype(np.uint32)
        out = []
        for d in range(n):
            sel = owners == d
            out.append((rows[sel], keys[sel]))
        del rows, keys, owners
        self.own, out[me] = out[me], _nothing(self.nb)  # kept here, not handed through the object store
        sent = sum(ts.nbytes + ks.nbytes for ts, ks in out)
        _trim()
        return (*out, (transitions, fired, dead, error, sent, stopped))

    def receive(self, open_props: list[int], *batches: tuple[np.ndarray, np.ndarray]) -> tuple:
        """Keep the new states among this level's successors, each with its least key; return
        their keys sorted, the first of them (least key) deciding each open property, the
        premises made true so far, how many states this shard holds, its peak resident bytes
        and the bytes of its states' arrays."""
        parts = [*batches, self.own]  # each sender's successors, each once
        self.own = _nothing(self.nb)
        # The level's new states, each once with its least key so far: a level-local table
        # fed a slice at a time, so that the transient arrays follow one slice.
        level = _States(self.nb, sum(len(k) for _, k in parts) // 4)
        lk = np.zeros(0, dtype=np.int64)
        for rows, keys in parts:
            for b in range(0, len(keys), _States.BATCH):
                t, k = rows[b:b + _States.BATCH], keys[b:b + _States.BATCH].astype(np.int64)
                h = _hash(t)
                new = self.states.index(t, h) < 0
                t, k, h = t[new], k[new], h[new]
                at = level.index(t, h)
                seen = at >= 0
                np.minimum.at(lk, at[seen], k[seen])
                level.add(t[~seen], h[~seen])
                lk = _store(lk, len(lk), k[~seen])
                del t, k, h, new, at, seen
        del parts
        order = np.argsort(lk)  # keys are distinct: one per transition
        ts, ks = level.rows[order], lk[order]
        del level, lk, order
        at = self.states.n
        self.states.add(ts)
        self.keys = _store(self.keys, at, ks)
        self.pending = (at, at + len(ks))
        found = {}
        todo = list(open_props)
        for c in range(0, len(ks), _CHUNK):
            if not todo and all(self.held):
                break
            states = _ints(ts[c:c + _CHUNK])
            for i in todo:
                pred, must = self.preds[i], self.must[i]
                for j, t in enumerate(states):
                    if bool(pred(t)) != must:
                        found[i] = (int(ks[c + j]), t)
                        break
            todo = [i for i in todo if i not in found]
            self._premises(states)
        del ts
        _trim()
        return ks, found, self.held, self.states.n, _peak(), self.states.nbytes() + self.keys.nbytes

    def rank(self, ranks: np.ndarray) -> None:
        """The global ranks of the states received last, in their order: they become a level."""
        self.levels.append(self.pending)
        self.ranks = ranks
        self.pending = (self.pending[1], self.pending[1])

    def level_keys(self, level: int) -> np.ndarray:
        """The keys of this shard's states in that level (int64, ascending)."""
        start, end = self.levels[level]
        return np.full(end - start, -1, dtype=np.int64) if level == 0 else self.keys[start:end].astype(np.int64)

    def find(self, level: int, key: int) -> int | None:
        """The state with that key in that level, if this shard owns it."""
        start, end = self.levels[level]
        i = start if level == 0 else start + int(np.searchsorted(self.keys[start:end], key))
        if i < end and (level == 0 or int(self.keys[i]) == key):
            return _ints(self.states.rows[i:i + 1])[0]
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
                           A, system.model, system.layout.bits) for w in range(N)]
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
    home = owner(init, N, system.layout.bits)
    held = ray.get([s.seed.remote(init) if w == home else s.empty.remote() for w, s in enumerate(shards)])[home]
    states, transitions, depth, level = 1, 0, 0, 0
    fired = [0] * A
    dead: tuple[int, int, int] | None = None  # (level, key, state) of the first state with no successor
    complete, stopped = True, ""
    sent = 0
    held_by = [held] * N
    resident = [0] * N  # peak resident bytes per worker
    arrays = [0] * N  # bytes of each worker's states' arrays
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
        arrays = [g[5] for g in got]
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
            parent, a = divmod(key, A)  # the parent's rank in the level before: the rank-th least key there
            lvl -= 1
            key = int(np.sort(np.concatenate(ray.get([s.level_keys.remote(lvl) for s in shards])))[parent])
            chain[-1] = (a, chain[-1][1])
            st = next(h for h in ray.get([s.find.remote(lvl, key) for s in shards]) if h is not None)
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
    result.arrays_per_worker = arrays  # type: ignore[attr-defined]
    return result
