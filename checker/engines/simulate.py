"""Simulation: seeded random walks over the compiled transitions (TLC's `-simulate`).

For instances too big to enumerate. Each walk starts in the initial state and takes a
uniformly random enabled action at every step, up to a depth; every state it reaches is
checked against the safety properties, and the first violation (or witness of a
`sometimes`) gives a trace whose loops are cut out, so that it replays with `checker
replay`; the first violation ends the run. A simulation decides only what it finds: a property it never sees
broken stays `unknown`, never `holds`, and `eventually` properties are not judged.

The walks are a function of the seed: walk i draws from its own `random.Random(f"{seed}/{i}")`
and picks among the successors in the order `expand` lists them, so walk i is the same
whichever process takes it, and the same command finds the same trace. The walks are taken
in index order; the run stops after the first walk that breaks an `always` property (or ends
in a deadlock, with `deadlock`), or after the walk that decides the last open property.
What a run reports (distinct states, steps, deepest walk, fired counts) counts the walks up
to and including that one, so `simdist.py`, which takes the walks in batches
on Ray, reports the same figures and the same traces.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable

from checker.lang.compile import compiled
from checker.lang.system import System
from checker.result import DEADLOCK, PropertyResult, Result, Step, Trace, Verdict

__all__ = ["simulate", "loop_free", "walk_rng", "Walks", "take_walks", "open_at_start", "simulation_result"]

Path = list[tuple[int, int]]  # (action index, packed state); the first action is -1


def loop_free(path: Path) -> Path:
    """The path with every loop cut out (a state met again continues from its first visit):
    each step is still a transition of the system, and the trace is as short as the walk allows."""
    out: Path = []
    at: dict[int, int] = {}
    for a, st in path:
        j = at.get(st)
        if j is not None:
            for _, dropped in out[j + 1:]:
                del at[dropped]
            del out[j + 1:]
            continue
        at[st] = len(out)
        out.append((a, st))
    return out


def walk_rng(seed: int, walk: int) -> random.Random:
    """Walk `walk`'s random choices: a function of the seed and the walk's index only."""
    return random.Random(f"{seed}/{walk}")


@dataclass
class Walks:
    """What walks lo, lo+1, ... took, up to `end` (excluded): the states they reached, their
    steps and fired counts, and the first walk (with its path) to decide each property."""

    lo: int
    end: int
    seen: set[int]
    fired: list[int]
    steps: int = 0
    deepest: int = 0
    found: dict[int, tuple[int, Path]] = field(default_factory=dict)  # property -> (walk, path)
    dead: tuple[int, Path] | None = None  # (walk, path) of the first walk ending in a deadlock
    timed_out: bool = False  # stopped by `tick` before hi

    def violated(self, must: list[bool]) -> bool:
        return self.dead is not None or any(must[i] for i in self.found)


def open_at_start(preds: list, must: list[bool], judged: list[int], init: int) -> tuple[list[int], list[int]]:
    """The judged properties the initial state leaves open, and those it decides."""
    decided = [i for i in judged if bool(preds[i](init)) != must[i]]
    return [i for i in judged if i not in decided], decided


def take_walks(expand: Callable, preds: list, must: list[bool], n_actions: int, init: int,
               open_props: list[int], deadlock: bool, seed: int, depth: int, lo: int, hi: int,
               tick: Callable[[Walks], bool] | None = None) -> Walks:
    """Take walks lo .. hi-1 in order, with `open_props` open at the start; stop after a walk
    that breaks an always property or deadlocks (with `deadlock`), or once no property is left
    open, or when `tick` (called after each walk) says so."""
    w = Walks(lo, lo, set(), [0] * n_actions)
    fired, seen = w.fired, w.seen
    found = w.found
    open_ = list(open_props)
    violated = False
    walk = lo
    while walk < hi and (open_ or deadlock) and not violated:
        rng = walk_rng(seed, walk)
        path: Path = [(-1, init)]
        st = init
        for _ in range(depth):
            succ = expand(st)
            if not succ:
                if deadlock:
                    w.dead = (walk, list(path))
                    violated = True
                break
            a, st = succ[rng.randrange(len(succ))]
            fired[a] += 1
            seen.add(st)
            path.append((a, st))
            if open_:
                hit = [i for i in open_ if bool(preds[i](st)) != must[i]]
                if hit:
                    for i in hit:
                        found[i] = (walk, list(path))
                    open_ = [i for i in open_ if i not in found]
                    if any(must[i] for i in hit):
                        violated = True
                        break
        w.steps += len(path) - 1
        w.deepest = max(w.deepest, len(path) - 1)
        walk += 1
        w.end = walk
        if violated or not (open_ or deadlock):  # the walk that ends the run
            break
        if tick is not None and walk < hi and tick(w):
            w.timed_out = True
            break
    return w


def simulation_result(system: System, *, walks: int, depth: int, seed: int, deadlock: bool, done: int,
                      seen: int, steps: int, deepest: int, fired: list[int], found: dict[int, Path],
                      dead: Path | None, stopped: str, seconds: float, workers: int | None = None) -> Result:
    """The Result of walks 0 .. done-1: the verdicts, traces and counts, worded alike in both modes."""
    names = [a.name for a in system.actions]
    kinds = [p.kind for p in system.properties]
    violated = dead is not None or any(kinds[i] == "always" for i in found)

    def trace_of(path: Path) -> Trace:
        return Trace(system, [Step(None if a < 0 else names[a], system.layout.unpack(s))
                              for a, s in loop_free(path)])

    ran = f"{done:,} random walk{'' if done == 1 else 's'} of up to {depth:,} step{'' if depth == 1 else 's'} (seed {seed})"

    def undecided(what: str) -> str:
        if violated:
            return f"the simulation stopped at the first violation, after {ran}"
        if stopped:
            return f"no walk {what} in {ran}, stopped at the {stopped}"
        return f"no walk {what} in {ran}; a simulation proves nothing"

    results = []
    for i, p in enumerate(system.properties):
        if p.kind == "eventually":
            results.append(PropertyResult(p.name, p.kind, p.expected, Verdict.UNKNOWN,
                                          reason="a simulation does not judge eventually properties; "
                                                 "checker verify does"))
        elif i in found:
            verdict = Verdict.VIOLATED if p.kind == "always" else Verdict.REACHABLE
            results.append(PropertyResult(p.name, p.kind, p.expected, verdict, trace_of(found[i]), shortest=False))
        else:
            results.append(PropertyResult(p.name, p.kind, p.expected, Verdict.UNKNOWN,
                                          reason=undecided("broke it" if p.kind == "always" else "reached it")))
    if deadlock:
        results.append(PropertyResult(DEADLOCK, "always", Verdict.HOLDS,
                                      Verdict.VIOLATED if dead is not None else Verdict.UNKNOWN,
                                      trace_of(dead) if dead is not None else None,
                                      "" if dead is not None else undecided("ended in a deadlock"), shortest=False))
    return Result(system, "simulate", seen, steps, deepest, seconds, False,
                  f"{ran}, stopped at the {stopped}" if stopped else ran, results,
                  fired={n: k for n, k in zip(names, fired)}, workers=workers)


def simulate(system: System, *, walks: int, depth: int, seed: int, timeout: float | None = None,
             deadlock: bool = False, progress: Callable[..., None] | None = None,
             progress_every: float = 0.5) -> Result:
    """Run up to `walks` random walks of at most `depth` steps; stop at the first violation
    (or deadlock, with `deadlock`), or once every property a walk can decide is decided."""
    start = time.perf_counter()
    comp = compiled(system)
    kinds = [p.kind for p in system.properties]
    must = [k == "always" for k in kinds]
    judged = [i for i, k in enumerate(kinds) if k != "eventually"]
    init = system.layout.pack(system.init)
    open_props, decided = open_at_start(comp.predicates, must, judged, init)
    found: dict[int, Path] = {i: [(-1, init)] for i in decided}
    next_report = start + progress_every
    stopped = ""

    def tick(w: Walks) -> bool:
        nonlocal next_report, stopped
        now = time.perf_counter()
        if timeout is not None and now - start > timeout:
            stopped = f"time limit of {timeout:g} s"
            return True
        if progress is not None and now >= next_report:
            progress(len(w.seen) + (init not in w.seen), w.end, w.deepest, now - start)
            next_report = now + progress_every
        return False

    if any(must[i] for i in decided):
        w = Walks(0, 0, set(), [0] * len(system.actions))
    else:
        w = take_walks(comp.expand, comp.predicates, must, len(system.actions), init, open_props, deadlock, seed,
                       depth, 0, walks, tick)
    found.update({i: path for i, (_, path) in w.found.items()})
    states = len(w.seen | {init})
    seconds = time.perf_counter() - start
    if progress is not None:
        progress(states, w.end, w.deepest, seconds)
    return simulation_result(system, walks=walks, depth=depth, seed=seed, deadlock=deadlock, done=w.end,
                             seen=states, steps=w.steps, deepest=w.deepest, fired=w.fired, found=found,
                             dead=None if w.dead is None else w.dead[1], stopped=stopped, seconds=seconds)
