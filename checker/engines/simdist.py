"""Simulation on Ray (`simulate --distributed`): simulate.py's walks, taken in batches by Ray tasks.

Walk i draws from its own random stream (`walk_rng(seed, i)`), so a task takes walks lo..hi-1
exactly as the single process would. Each task runs `take_walks` on its batch with the
properties the initial state leaves open, and returns what its walks reached, their steps
and fired counts, and the first walk in the batch that decides each property; it stops
early at the first walk that would end the run from its own view (a broken `always`, a
deadlock with `deadlock`, or every property decided), which is never before the walk that
ends the whole run.

The driver merges the batches in walk order, never in the order they finish: batch b
counts only once every batch before it has, and a batch's first witness of a property is
the run's when no earlier batch had one. The run ends at the first walk that breaks an
`always` property (or deadlocks), or, with only `sometimes` properties, at the walk that
witnesses the last of them; when that walk is inside a batch that went on past it (the
batch did not know what the earlier batches had decided), the driver takes that batch's
walks again itself, with the properties still open, and stops where the single process
stops. A task that meets a model error is taken again by the driver the same way, so the
error is raised, with the single process's message, only when the single process meets
it. Once a batch shows that the run ends at walk v, the batches after v are cancelled and
no more are sent. So the walks counted, the distinct states, steps, deepest walk, fired
counts, verdicts and traces are `simulate`'s with the same seed, walks and depth.

With a time limit each task stops after the walk in which its share of the time runs
out; the run then holds the walks 0..k-1 that every batch up to the first cut-short one
took (so it is `simulate --walks k`'s, stopped at the time limit).
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable

from checker.engines.raycluster import Cluster, StateError, fail_at
from checker.engines.simulate import Walks, open_at_start, simulation_result, take_walks
from checker.lang.compile import compiled, load
from checker.lang.system import System
from checker.result import Result

__all__ = ["simulate_distributed", "batch_size"]

_LOADED: dict[str, tuple] = {}  # in a worker: the compiled code, loaded once per process


def batch_size(walks: int, workers: int) -> int:
    """Walks per task: about four batches per worker, at most 1,000 walks each (a task that
    breaks a property stops there itself, and the batches after it are cancelled)."""
    return max(1, min(1000, math.ceil(walks / (4 * workers))))


def _batch(code: str, name: str, must: list[bool], n_actions: int, init: int, open_props: list[int],
           deadlock: bool, seed: int, depth: int, lo: int, hi: int, seconds: float | None) -> Walks | None:
    """One Ray task: walks lo..hi-1 (None: a model error, which the driver words)."""
    fns = _LOADED.get(code)
    if fns is None:
        fns = _LOADED[code] = load(code, len(must), fail_at, name)
    expand, preds = fns
    deadline = None if seconds is None else time.monotonic() + seconds
    try:
        return take_walks(expand, preds, must, n_actions, init, open_props, deadlock, seed, depth, lo, hi,
                          None if deadline is None else lambda w: time.monotonic() > deadline)
    except StateError:
        return None


def simulate_distributed(system: System, *, walks: int, depth: int, seed: int, workers: int | None = None,
                         address: str | None = None, timeout: float | None = None, deadlock: bool = False,
                         progress: Callable[..., None] | None = None, progress_every: float = 0.5) -> Result:
    """`simulate` with its walks shared out over `workers` Ray tasks at a time: the same result.

    address: a running Ray cluster to join (None: the one this process is connected to, else a
    local one, started and stopped here)."""
    start = time.perf_counter()  # the time limit counts from here; the seconds reported, once Ray is up
    comp = compiled(system)
    cluster = Cluster(workers, address)
    try:
        return _run(system, comp, cluster, start, walks, depth, seed, timeout, deadlock, progress, progress_every)
    finally:
        cluster.close()


def _run(system: System, comp, cluster: Cluster, start: float, walks: int, depth: int, seed: int,
         timeout: float | None, deadlock: bool, progress: Callable[..., None] | None,
         progress_every: float) -> Result:
    ray, N = cluster.ray, cluster.workers
    began = time.perf_counter()
    A = len(system.actions)
    kinds = [p.kind for p in system.properties]
    must = [k == "always" for k in kinds]
    judged = [i for i, k in enumerate(kinds) if k != "eventually"]
    init = system.layout.pack(system.init)
    open0, decided = open_at_start(comp.predicates, must, judged, init)
    found: dict[int, Any] = {i: [(-1, init)] for i in decided}
    open_g = list(open0)
    seen: set[int] = {init}
    fired = [0] * A
    steps = deepest = done = 0
    dead = None
    stopped = ""
    next_report = start + progress_every

    def left() -> float | None:
        return None if timeout is None else max(0.0, timeout - (time.perf_counter() - start))

    def out_of_time() -> bool:
        return timeout is not None and time.perf_counter() - start > timeout

    def merge(w: Walks) -> bool:
        """Count batch w (walks w.lo..w.end-1, with open_g open when they began); whether the run ends."""
        nonlocal steps, deepest, done, dead, open_g
        seen.update(w.seen)
        fired[:] = [x + y for x, y in zip(fired, w.fired)]
        steps += w.steps
        deepest = max(deepest, w.deepest)
        done = w.end
        for i in open_g:
            if i in w.found:
                found[i] = w.found[i][1]
        open_g = [i for i in open_g if i not in found]
        if w.dead is not None:
            dead = w.dead[1]
        return w.violated(must) or not (open_g or deadlock)

    def again(lo: int, hi: int) -> Walks:
        """Walks lo..hi-1 taken here, with the properties still open: where the single process stops."""
        return take_walks(comp.expand, comp.predicates, must, A, init, open_g, deadlock, seed, depth, lo, hi)

    def ends_at(w: Walks) -> int | None:
        """The walk of batch w at which the whole run ends (given open_g), if it ends in w."""
        if w.dead is not None:
            return w.dead[0]
        broke = [w.found[i][0] for i in open_g if must[i] and i in w.found]
        if broke:
            return min(broke)
        if not deadlock and not any(must[i] for i in open_g) and open_g and all(i in w.found for i in open_g):
            return max(w.found[i][0] for i in open_g)
        return None

    if not any(must[i] for i in decided) and (open_g or deadlock):
        task = ray.remote(num_cpus=1, max_retries=0)(_batch)
        code = ray.put(comp.source)
        size = batch_size(walks, N)
        starts = list(range(0, walks, size))
        refs: dict[int, Any] = {}  # batch start -> its task, while running
        results: dict[int, Walks | None] = {}
        bound = walks  # no walk after this one can be counted
        nxt = 0  # the next batch to send
        at = 0  # the next batch to merge
        finished = False
        while not finished:
            while nxt < len(starts) and len(refs) < N and starts[nxt] < bound and not out_of_time():
                lo = starts[nxt]
                refs[lo] = task.remote(code, system.model, must, A, init, open0, deadlock, seed, depth, lo,
                                       min(walks, lo + size), left())
                nxt += 1
            lo = starts[at]
            if lo not in results:
                if lo not in refs:  # not sent: the time ran out before it was
                    stopped = f"time limit of {timeout:g} s"
                    break
                ready, _ = ray.wait(list(refs.values()), num_returns=1,
                                    timeout=None if timeout is None else left() + 5.0)
                if not ready:  # the tasks did not stop at their deadline (a cluster too busy to run them)
                    stopped = f"time limit of {timeout:g} s"
                    break
                for b, r in list(refs.items()):
                    if r in ready:
                        results[b] = w = ray.get(r)
                        del refs[b]
                        if w is not None and w.end < min(walks, b + size) and not w.timed_out:
                            bound = min(bound, w.end - 1)  # the run ends at or before this batch's stop
                for b, r in list(refs.items()):
                    if b > bound:
                        ray.cancel(r)
                        del refs[b]
                continue
            w = results.pop(lo)
            hi = min(walks, lo + size)
            end = None if w is None else ends_at(w)
            if w is None or end is not None and end != w.end - 1:
                w = again(lo, hi)  # raises the model error, or stops where the single process does
            finished = merge(w)
            if not finished and w.timed_out:
                stopped = f"time limit of {timeout:g} s"
                finished = True
            at += 1
            if at == len(starts):
                finished = True
            now = time.perf_counter()
            if progress is not None and now >= next_report and not finished:
                progress(len(seen), done, deepest, now - began)
                next_report = now + progress_every
        for r in refs.values():
            ray.cancel(r)
    if stopped and done == walks:
        stopped = ""
    seconds = time.perf_counter() - began
    if progress is not None:
        progress(len(seen), done, deepest, seconds)
    return simulation_result(system, walks=walks, depth=depth, seed=seed, deadlock=deadlock, done=done,
                             seen=len(seen), steps=steps, deepest=deepest, fired=fired, found=found, dead=dead,
                             stopped=stopped, seconds=seconds, workers=N)
