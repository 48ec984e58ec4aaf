"""What every engine returns: verdicts, traces and the figures of a run.

`checker.check` returns a `Result` for every engine; the renderers and the CLI read
only these objects, never an engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checker.lang.system import System
from checker.verdict import Verdict

__all__ = ["Step", "Trace", "PropertyResult", "Result", "Verdict", "verdict_for", "DEADLOCK"]

DEADLOCK = "no-deadlock"  # the pseudo-property a run with `deadlock` adds: some action is always enabled


@dataclass(frozen=True)
class Step:
    action: str | None  # None for the initial state
    state: tuple[int, ...]


@dataclass
class Trace:
    """A path from the initial state; with the engines here, always a shortest one."""

    system: System
    steps: list[Step]

    @property
    def actions(self) -> list[str]:
        return [s.action for s in self.steps[1:]]  # type: ignore[misc]

    def json(self) -> list[dict[str, Any]]:
        return [{"action": s.action, "state": self.system.as_json_state(s.state)} for s in self.steps]


@dataclass
class PropertyResult:
    name: str
    kind: str
    expected: str | None  # None: the model states no expectation for this instance
    verdict: Verdict  # holds, violated, reachable, unreachable or unknown (prove: proved, refuted, unknown)
    trace: Trace | None = None
    reason: str = ""  # why the verdict is unknown, when it is
    loop: int | None = None  # a lasso (eventually): steps after this one repeat forever
    notes: list[str] = field(default_factory=list)  # eventually: how a lasso is fair, or what fairness ruled out
    shortest: bool = True  # the trace is a shortest one (False: a simulation's walk, its loops cut out)

    def __post_init__(self) -> None:
        self.verdict = Verdict(self.verdict)  # a word given by hand becomes the enum member; a bad one is refused

    @property
    def as_expected(self) -> bool | None:
        """None when the verdict is unknown (nothing was decided either way) or nothing is expected."""
        if self.verdict == Verdict.UNKNOWN or self.expected is None:
            return None
        return self.verdict == self.expected

    def json(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "expected": self.expected,
            "verdict": self.verdict, "as_expected": self.as_expected,
            "trace": self.trace.json() if self.trace else None,
            **({"reason": self.reason} if self.reason else {}),
            **({"loop": self.loop} if self.loop is not None else {}),
            **({"fairness": self.notes} if self.notes else {}),
            **({"shortest": False} if self.trace and not self.shortest else {}),
        }


@dataclass
class Result:
    """One run of one engine on one system (`checker.check`).

    states, transitions: None for the bmc engine, which counts neither (it unrolls the
    transition relation instead of enumerating states); depth is then the deepest
    unrolling it searched.
    """

    system: System
    engine: str  # fast, explicit, bmc, simulate or distributed
    states: int | None
    transitions: int | None
    depth: int
    seconds: float
    complete: bool
    stopped: str = ""  # which limit ended the run, when it is incomplete
    properties: list[PropertyResult] = field(default_factory=list)
    fired: dict[str, int] = field(default_factory=dict)  # action instance -> transitions it took
    bytes_per_state: float | None = None  # memory of the search's tables per state (fast engine)
    symmetry: str = ""  # the symmetry the states were reduced by ("" = none): states counts orbits
    full_states: int | None = None  # under symmetry: the states the orbits hold (sum of orbit sizes)
    vacuous: list[str] = field(default_factory=list)  # one sentence per vacuous property part
    cover: dict[str, Trace | None] | None = None  # action instance -> shortest trace taking it (--cover)
    liveness_seconds: float | None = None  # None when no eventually property was decided
    peak_bytes_search: int | None = None  # the process's peak resident memory after the search
    peak_bytes: int | None = None  # ... and at the end (after liveness)
    workers: int | None = None  # distributed, simulate --distributed: the workers that searched (took walks)
    bytes_sent: int | None = None  # distributed: bytes of successor batches sent from worker to worker

    @property
    def dead(self) -> list[str]:
        """Action instances never enabled in an explored state."""
        return [a for a, n in self.fired.items() if n == 0]

    def prop(self, name: str) -> PropertyResult:
        for p in self.properties:
            if p.name == name:
                return p
        self.system.prop(name)  # raises the one-line unknown-property error
        raise KeyError(f"{name} was not checked in this run")

    @property
    def exit_code(self) -> int:
        """0 all as expected, 1 something decided against expectation, 3 incomplete (a
        simulation, which is never complete, or the distributed engine: some property it
        could not decide)."""
        if any(p.as_expected is False for p in self.properties):
            return 1
        if self.engine == "simulate":
            return 3 if any(p.verdict == Verdict.UNKNOWN for p in self.properties) else 0
        if self.engine == "distributed":  # complete, it still leaves eventually properties unknown
            return 3 if not self.complete or any(p.verdict == Verdict.UNKNOWN for p in self.properties) else 0
        return 0 if self.complete else 3

    def json(self) -> dict[str, Any]:
        s = self.system
        return {
            "model": s.model, "params": s.params, "failure_modes": s.failure_modes,
            "engine": self.engine, "states": self.states, "transitions": self.transitions,
            "depth": self.depth, "seconds": round(self.seconds, 3), "complete": self.complete,
            **({"stopped": self.stopped} if self.stopped else {}),
            **({"fired": self.fired} if self.fired else {}),
            **({"bytes_per_state": round(self.bytes_per_state, 1)} if self.bytes_per_state else {}),
            **({"symmetry": self.symmetry, "states_without_symmetry": self.full_states}
               if self.symmetry else {}),
            "properties": [p.json() for p in self.properties],
            "fired": self.fired, "never_enabled": self.dead, "vacuous": self.vacuous,
            **({"liveness_seconds": round(self.liveness_seconds, 3)} if self.liveness_seconds is not None else {}),
            "peak_bytes_search": self.peak_bytes_search, "peak_bytes": self.peak_bytes,
            **({"workers": self.workers} if self.workers else {}),
            **({"bytes_sent": self.bytes_sent} if self.bytes_sent is not None else {}),
            **({"cover": {a: t.json() if t else None for a, t in self.cover.items()}}
               if self.cover is not None else {}),
        }


def verdict_for(kind: str, found: bool, complete: bool) -> Verdict:
    """The verdict of a safety property from whether a bad/goal state was found."""
    if kind == "always":
        return Verdict.VIOLATED if found else (Verdict.HOLDS if complete else Verdict.UNKNOWN)
    return Verdict.REACHABLE if found else (Verdict.UNREACHABLE if complete else Verdict.UNKNOWN)
