"""Simulation: seeded random walks over the compiled transitions (TLC's `-simulate`).

For instances too big to enumerate. Each walk starts in the initial state and takes a
uniformly random enabled action at every step, up to a depth; every state it reaches is
checked against the safety properties, and the first violation (or witness of a
`sometimes`) gives a trace whose loops are cut out, so that it replays with `checker
replay`; the first violation ends the run. A simulation decides only what it finds: a property it never sees
broken stays `unknown`, never `holds`, and `eventually` properties are not judged.

The walks are a function of the seed: `random.Random(seed)` picks among the successors
in the order `expand` lists them, so the same command finds the same trace.
"""

from __future__ import annotations

import random
import time
from typing import Callable

from checker.lang.compile import compiled
from checker.lang.system import System
from checker.result import DEADLOCK, PropertyResult, Result, Step, Trace, Verdict

__all__ = ["simulate", "loop_free"]

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


def simulate(system: System, *, walks: int, depth: int, seed: int, timeout: float | None = None,
             deadlock: bool = False, progress: Callable[..., None] | None = None,
             progress_every: float = 0.5) -> Result:
    """Run up to `walks` random walks of at most `depth` steps; stop at the first violation
    (or deadlock, with `deadlock`), or once every property a walk can decide is decided."""
    start = time.perf_counter()
    comp = compiled(system)
    expand = comp.expand
    names = [a.name for a in system.actions]
    rng = random.Random(seed)
    # Safety properties still open: (index, predicate, whether the predicate must hold).
    open_props = [(i, comp.predicates[i], p.kind == "always")
                  for i, p in enumerate(system.properties) if p.kind != "eventually"]
    found: dict[int, Path] = {}
    dead: Path | None = None
    init = system.layout.pack(system.init)
    seen = {init}
    fired = [0] * len(names)
    steps_taken = deepest = done = 0
    stopped = ""
    next_report = start + progress_every

    def check(path: Path) -> None:
        nonlocal open_props
        st = path[-1][1]
        hit = [c for c in open_props if bool(c[1](st)) != c[2]]
        for i, _, _ in hit:
            found[i] = list(path)
        if hit:
            open_props = [c for c in open_props if c[0] not in found]

    check([(-1, init)])
    kinds = [p.kind for p in system.properties]

    def violated() -> bool:
        return dead is not None or any(kinds[i] == "always" for i in found)

    while done < walks and (open_props or (deadlock and dead is None)) and not violated():
        path: Path = [(-1, init)]
        st = init
        for _ in range(depth):
            succ = expand(st)
            if not succ:
                if deadlock and dead is None:
                    dead = list(path)
                break
            a, st = succ[rng.randrange(len(succ))]
            fired[a] += 1
            seen.add(st)
            path.append((a, st))
            if open_props:
                check(path)
                if violated():
                    break
        steps_taken += len(path) - 1
        deepest = max(deepest, len(path) - 1)
        done += 1
        now = time.perf_counter()
        if timeout is not None and now - start > timeout and done < walks:
            stopped = f"time limit of {timeout:g} s"
            break
        if progress is not None and now >= next_report:
            progress(len(seen), done, deepest, now - start)
            next_report = now + progress_every

    def trace_of(path: Path) -> Trace:
        return Trace(system, [Step(None if a < 0 else names[a], system.layout.unpack(s))
                              for a, s in loop_free(path)])

    ran = f"{done:,} random walk{'' if done == 1 else 's'} of up to {depth:,} steps (seed {seed})"

    def undecided(what: str) -> str:
        if violated():
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
    seconds = time.perf_counter() - start
    if progress is not None:
        progress(len(seen), done, deepest, seconds)
    return Result(system, "simulate", len(seen), steps_taken, deepest, seconds, False,
                  f"{ran}, stopped at the {stopped}" if stopped else ran, results,
                  fired={n: k for n, k in zip(names, fired)})
