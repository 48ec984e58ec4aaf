"""A user's own settings, checked: what a model package's settings reader returns, and what `check` does with it.

A model package may publish `SETUP`, a reader of the settings its users keep (files
in their own vocabulary) with `read(files, overrides, faults) -> Setup`. The Setup
names the model instances (`Run`) that answer, the faults they consider, and each
setting with where it came from; `label` names the causes of a violation and
`remedies` the changes to try against them. `answer` runs every instance, and re-runs
the whole check with each candidate change: a fix is offered only when that re-run
shows the guarantee holding. Everything here is about models and settings in
general; the package knows what the settings mean.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from checker.errors import CheckerError

__all__ = ["Run", "Setup", "Guarantee", "Fix", "Answer", "answer", "MAX_RERUNS"]

MAX_RERUNS = 24  # re-runs spent looking for the fixes of one check (each is a whole check)
MAX_COMBINED = 4  # remedies one fix may combine (one per cause shown on the way)


@dataclass(frozen=True)
class Run:
    """One model instance of a setup and the guarantees (its properties) it answers."""

    model: str
    params: dict[str, Any]
    failures: tuple[str, ...]
    guarantees: tuple[str, ...]


@dataclass
class Setup:
    """What a settings reader made of the files: the settings, the instances to run, the faults."""

    settings: dict[str, tuple[str, str]]  # key -> (value, source: file, override or default)
    ignored: list[str]  # keys that do not bear on what the models decide
    not_modelled: list[tuple[str, str]]  # (key, why it is not modelled and how the answer treats it)
    model_line: str  # which model answers, one line
    runs: list[Run]
    faults: list[tuple[str, int]]  # (fault, budget) considered
    requirements: dict[str, tuple[str, ...]]  # --require word -> the guarantees it needs
    notes: list[str] = field(default_factory=list)  # defaults derived from other settings, in one line each
    # (run, the trace's actions (without index) and their failure modes, guarantee) -> the causes' ids
    label: Callable[[Run, list[str], str], list[str]] = lambda run, events, g: []
    # (guarantee, causes' ids, settings) -> candidate changes, each {KEY: VALUE}
    remedies: Callable[[str, list[str], dict[str, str]], list[dict[str, str]]] = lambda g, ids, s: []


@dataclass
class Fix:
    change: dict[str, str]
    verdict: str


@dataclass
class Guarantee:
    name: str
    verdict: str
    model: str | None = None  # the model whose trace is shown
    result: Any = None  # its PropertyResult (with the trace), when violated
    catalogue: list[str] = field(default_factory=list)
    fixes: list[Fix] = field(default_factory=list)
    # causes the fix search met behind this one: (the change that removed the earlier ones, ids, trace steps)
    further: list[tuple[dict[str, str], list[str], int]] = field(default_factory=list)


@dataclass
class Answer:
    setup: Setup
    guarantees: list[Guarantee]
    results: list[Any]  # one Result per run
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return all(r.complete for r in self.results)


def _search(run: Run, get_model: Callable[[str], Any], check: Callable[..., Any], options: Any) -> Any:
    model = get_model(run.model)
    off = [f for f in model.failure_modes if f not in run.failures]
    system = model.build(dict(run.params), list(run.failures), off)
    return check(system, options)


def _guarantees(setup: Setup, results: list[Any]) -> list[Guarantee]:
    """Each guarantee once: violated when any run violates it (the shortest trace shown), else unknown
    when any run did not decide it, else holds."""
    names = list(dict.fromkeys(g for run in setup.runs for g in run.guarantees))
    out = []
    for name in names:
        found = [(run, res.prop(name)) for run, res in zip(setup.runs, results) if name in run.guarantees]
        bad = [(run, p) for run, p in found if p.verdict == "violated"]
        if bad:
            run, p = min(bad, key=lambda rp: len(rp[1].trace.steps) if rp[1].trace else 10**9)
            events: list[str] = []  # each step's action (without its index) and its failure mode
            if p.trace is not None:
                by_name = {a.name: a for a in p.trace.system.actions}
                for st in p.trace.steps[1:]:
                    a = by_name[st.action]
                    events += [a.base] + ([a.failure] if a.failure else [])
            out.append(Guarantee(name, "violated", run.model, p, setup.label(run, events, name)))
        elif any(p.verdict == "unknown" for _, p in found):
            out.append(Guarantee(name, "unknown"))
        else:
            out.append(Guarantee(name, "holds"))
    return out


def answer(reader: Any, files: list[tuple[str, str]], overrides: list[tuple[str, str]],
           faults: list[str] | None, get_model: Callable[[str], Any], check: Callable[..., Any],
           options: Any, fixes: bool = True) -> Answer:
    """Read the settings, run every instance, answer each guarantee and find the fixes that make it hold."""
    start = time.perf_counter()
    setup = reader.read(files, overrides, faults)
    results = [_search(run, get_model, check, options) for run in setup.runs]
    guarantees = _guarantees(setup, results)
    if fixes:
        _find_fixes(reader, files, overrides, faults, setup, guarantees, get_model, check, options)
    return Answer(setup, guarantees, results, time.perf_counter() - start)


def _find_fixes(reader: Any, files: list[tuple[str, str]], overrides: list[tuple[str, str]],
                faults: list[str] | None, setup: Setup, guarantees: list[Guarantee],
                get_model: Callable[[str], Any], check: Callable[..., Any], options: Any) -> None:
    """For each violated guarantee, re-run the check with each remedy of its causes; when a remedy
    removes this cause but another one shows, try it together with that one's remedies (one level)."""
    current = {k: v for k, (v, _) in setup.settings.items()}
    cache: dict[tuple, dict[str, Guarantee] | None] = {}
    budget = [MAX_RERUNS]

    def rerun(change: dict[str, str]) -> dict[str, Guarantee] | None:
        key = tuple(sorted(change.items()))
        if key not in cache:
            if budget[0] <= 0:
                return None
            budget[0] -= 1
            try:
                s = reader.read(files, overrides + list(change.items()), faults)
            except CheckerError:  # a change the settings refuse (Kafka would not accept it) is no fix
                cache[key] = None
            else:
                rs = [_search(run, get_model, check, options) for run in s.runs]
                cache[key] = {g.name: g for g in _guarantees(s, rs)} if all(r.complete for r in rs) else None
        return cache[key]

    def useful(change: dict[str, str]) -> bool:
        return any(current.get(k) != v for k, v in change.items())

    for g in guarantees:
        if g.verdict != "violated":
            continue
        offered: list[dict[str, str]] = []
        # Breadth first over combined remedies: a change that removes this cause but shows another
        # one is extended with that one's remedies, up to MAX_COMBINED changes.
        frontier: list[tuple[dict[str, str], Guarantee]] = [({}, g)]
        for _ in range(MAX_COMBINED):
            grown: list[tuple[dict[str, str], Guarantee]] = []
            for base, seen in frontier:
                for more in setup.remedies(g.name, seen.catalogue, {**current, **base}):
                    change = {**base, **more}
                    if change == base or not useful(change) or any(
                            set(change.items()) >= set(o.items()) for o in offered):
                        continue
                    after = rerun(change)
                    if after is None or g.name not in after:
                        continue
                    if after[g.name].verdict == "holds":
                        offered.append(change)
                    elif after[g.name].verdict == "violated" and set(after[g.name].catalogue) != set(seen.catalogue):
                        grown.append((change, after[g.name]))
                        ids = after[g.name].catalogue
                        if ids and not any(set(ids) == set(f[1]) for f in g.further) and set(ids) != set(g.catalogue):
                            trace = after[g.name].result.trace
                            g.further.append((change, ids, len(trace.steps) - 1 if trace else 0))
            frontier = grown
        # the smallest changes first; one that contains another offered fix adds nothing
        offered.sort(key=lambda c: (len(c), sorted(c.items())))
        kept: list[dict[str, str]] = []
        for c in offered:
            if not any(set(c.items()) >= set(k.items()) for k in kept) and c not in kept:
                kept.append(c)
        g.fixes = [Fix(c, "holds") for c in kept]
