"""`prove`: every `always` property for every value of the unbounded parameters.

For each property the outcome is `proved` (an inductive invariant implies it, for all
values of the unbounded parameters), `refuted` (bounded model checking over every
value found a violation; the trace is its least shortest run, replayed in the built
instance with the smallest parameter values that allow it) or `unknown` (with what
was tried). See `invariants.py` for how the invariant is found.
"""

from __future__ import annotations

import contextlib
import gc
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from checker.proofs.invariants import (Candidate, HoudiniResult, OnDemandResult, Refutation, candidates,
                                       check_invariant, houdini, houdini_on_demand, readable, sample_states)
from checker.errors import CheckerError
from checker.proofs.flat import flat_pool, is_flat
from checker.lang.model import Model
from checker.result import PropertyResult, Verdict
from checker.engines.symbolic import Unsupported, sym_bmc, symbolic_build

__all__ = ["ProveProperty", "ProveResult", "prove", "default_unbounded", "InvariantCheck", "recheck_invariant",
           "parse_invariant"]


@dataclass
class ProveProperty(PropertyResult):
    """An always property's result over every value of the unbounded parameters.

    verdict: proved, refuted or unknown; expected: holds or violated. The trace of a
    refutation is of the built instance with the smallest parameter values that allow it.
    """

    invariant: list[str] = field(default_factory=list)
    refutation: Refutation | None = None  # why Houdini dropped the property (its CTI)
    support: list[Candidate] = field(default_factory=list)  # the invariant, as candidates
    alone: list[Refutation] = field(default_factory=list)  # why the property alone is not inductive

    @property
    def as_expected(self) -> bool | None:
        if self.verdict == Verdict.UNKNOWN or self.expected is None:
            return None
        return (self.verdict == Verdict.PROVED) == (self.expected == Verdict.HOLDS)

    def json(self) -> dict[str, Any]:
        return {"name": self.name, "expected": self.expected, "verdict": self.verdict,
                "as_expected": self.as_expected, "invariant": self.invariant,
                "trace": self.trace.json() if self.trace else None,
                "trace_params": self.trace.system.params if self.trace else None,
                **({"reason": self.reason} if self.reason else {})}


@dataclass
class ProveResult:
    model: str
    params: dict[str, Any]  # the fixed parameters
    unbounded: list[str]
    failure_modes: list[str]
    seconds: float
    properties: list[ProveProperty]
    houdini: HoudiniResult | None = None
    generated: int = 0  # candidates from the templates
    filtered: int = 0  # of those, true in every sampled state
    states: int = 0  # sampled states
    instances: int = 0  # sampled instances
    ranges: dict[str, str] = field(default_factory=dict)  # unbounded parameter -> its range
    config: str | None = None  # the matrix row proved, if one was named

    def covers(self) -> str:
        """What a proof here covers, after "proved": every value of the unbounded parameters."""
        every = " and ".join(f"{n} {self.ranges.get(n, '')}".strip() for n in self.unbounded)
        return f"for every {every}" if every else "for these parameters only"

    def given(self) -> str:
        """The fixed sizes, as name=value words."""
        return " ".join(f"{k}={v}" for k, v in self.sizes.items())

    def claim(self) -> str:
        """What a proof here covers: every value of the unbounded parameters, the sizes as given."""
        given = self.given()
        return self.covers() + (f"{';' if self.unbounded else ':'} {given} as given" if given else "")

    def summary(self, reason: Callable[[ProveProperty], str]) -> ProveResult:
        """The result without what only this process can hold (Z3 terms, candidates'
        functions, traces): what the matrix shows, sent back from a worker process.
        reason(q): the one line that replaces a property's trace and refutation."""
        props = [ProveProperty(q.name, q.kind, q.expected, q.verdict, reason=q.reason if q.verdict == Verdict.PROVED
                               else reason(q), invariant=list(q.invariant)) for q in self.properties]
        return ProveResult(self.model, dict(self.params), list(self.unbounded), list(self.failure_modes),
                           self.seconds, props, None, self.generated, self.filtered, self.states, self.instances,
                           dict(self.ranges), self.config)

    @property
    def sizes(self) -> dict[str, Any]:
        """The fixed integer parameters: sizes the proof is for as given (2 consumers stay 2)."""
        return {k: v for k, v in self.params.items() if isinstance(v, int) and not isinstance(v, bool)}

    @property
    def exit_code(self) -> int:
        if any(p.as_expected is False for p in self.properties):
            return 1
        return 3 if any(p.verdict == Verdict.UNKNOWN for p in self.properties) else 0

    def json(self) -> dict[str, Any]:
        return {"model": self.model, "config": self.config, "params": self.params, "unbounded": self.unbounded,
                "failure_modes": self.failure_modes, "seconds": round(self.seconds, 3),
                "properties": [p.json() for p in self.properties]}


def default_unbounded(model: Model, given: Iterable[str], failures: Iterable[str] | None = None) -> list[str]:
    """Every integer parameter not set with -p, not indexing actions (over=...), not
    structural, and (when `failures`, the modes on, is given) not the budget of a mode
    that is off."""
    indexing = {a.over for a in model.action_decls if isinstance(a.over, str)}
    off = set() if failures is None else {f.budget for n, f in model.failure_modes.items() if n not in failures}
    return [n for n, p in model.params.items() if not p.choices and n not in given and n not in indexing
            and not p.structural and n not in off]


def prove(model: Model, params: dict[str, Any] | None = None, unbounded: Iterable[str] | None = None,
          enable: Iterable[str] = (), disable: Iterable[str] = (), max_depth: int = 20,
          timeout: float | None = None, max_states: int = 50_000,
          progress: Callable[[str], None] | None = None, properties: Iterable[str] | None = None,
          expect: dict[str, str] | None = None) -> ProveResult:
    """Prove (or refute) the always properties of `model` for every value of `unbounded`.

    properties: the names to decide (None: every always property); a name that is not an
    always property of the model is a CheckerError. expect: expected verdicts that replace
    the model's (a matrix row's), property -> holds or violated.
    """
    with no_cycle_collector():
        return _prove(model, params, unbounded, enable, disable, max_depth, timeout, max_states, progress,
                      None if properties is None else list(properties), dict(expect or {}))


@contextlib.contextmanager
def no_cycle_collector():
    """Z3 reuses the ids of freed terms and its choices (which counterexample, which unsat
    core) follow the ids. Python's cycle collector frees terms at moments that vary with
    the hash seed, so without this pause `prove` could print a different, equally valid
    invariant from run to run. Reference counting alone frees them at the same moments."""
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _prove(model: Model, params: dict[str, Any] | None, unbounded: Iterable[str] | None,
           enable: Iterable[str], disable: Iterable[str], max_depth: int, timeout: float | None,
           max_states: int, progress: Callable[[str], None] | None, only: list[str] | None,
           expect: dict[str, str]) -> ProveResult:
    start = time.perf_counter()
    say = progress or (lambda text: None)
    deadline = None if timeout is None else start + timeout
    params = dict(params or {})
    model.resolve_params(params)  # bad names and values: one-line errors first
    failures = model.resolve_failures(enable, disable)
    unb = default_unbounded(model, params, failures) if unbounded is None else list(unbounded)
    off = {f.budget for n, f in model.failure_modes.items() if n not in failures}
    fixed = {k: v for k, v in model.resolve_params(params).items() if k not in unb and k not in off}
    always = select_properties(model, only)
    ranges = {n: model.params[n].describe_range() for n in unb if n in model.params}
    try:
        ss = symbolic_build(model, params, unb, enable, disable)
    except Unsupported as e:
        expected = _expectations(model, params, enable, disable, None, expect)
        props = [ProveProperty(n, "always", expected[n], Verdict.UNKNOWN, reason=f"cannot be made symbolic: {e}")
                 for n in always]
        return ProveResult(model.name, fixed, unb, failures, time.perf_counter() - start, props, ranges=ranges)

    say("enumerating the reachable states of small instances")
    samples = sample_states(ss, max_states)
    expected = _expectations(model, params, enable, disable, samples, expect)
    envs = [e for _, es, _, _ in samples for e in es]
    # A property violated in a small instance has no proof to look for: straight to BMC.
    violated = {n for _, _, _, v in samples for n in v}
    cands = candidates(ss)
    h = None
    if is_flat(ss):  # arrays of fixed size only: candidates are checked on the states when a proof needs them
        first, late = flat_pool(cands)
        kept = [c for c in first if c.prop is None or (c.prop in always and c.prop not in violated)]
        if any(n not in violated for n in always):
            say(f"Houdini from the properties, taking in what counterexamples to induction need from "
                f"{len(kept) + len(late)} candidate invariants")
            h = houdini_on_demand(ss, kept, envs, deadline, progress, late)
        kept += late
    else:
        kept = [c for c in cands if (c.prop is not None and c.prop in always and c.prop not in violated)
                or (c.prop is None and all(c.py(e) for e in envs)
                   and (c.guard is None or (any(c.guard(e) for e in envs) and not all(c.body(e) for e in envs))))]
        if any(n not in violated for n in always):
            say(f"Houdini on {len(kept)} candidate invariants")
            h = houdini(ss, kept, deadline, progress)

    props = []
    for name in always:
        support = h.support.get(name) if h is not None else None
        if support is not None:
            alone = check_invariant(ss, [c for c in support if c.prop == name])
            props.append(ProveProperty(name, "always", expected[name], Verdict.PROVED, invariant=readable(support),
                                       support=support, alone=alone))
            continue
        why = next((r for r in h.refuted if r.candidate == name), None) if h is not None else None
        say(f"{name} is not proved; bounded model checking up to {max_depth} steps")
        out = sym_bmc(ss, name, max_depth, deadline, progress)
        if out.verdict == Verdict.VIOLATED:
            props.append(ProveProperty(name, "always", expected[name], Verdict.REFUTED, trace=out.trace,
                                       refutation=why))
            continue
        if h is None or name in violated:
            tried = ["violated in a small instance, but no trace was found in time"]
        else:
            tried = [f"Houdini kept {len(h.kept)} of {len(kept)} candidate invariants"
                     + ("" if h.complete else " before the time limit")]
        if why is not None:
            tried.append(why.line())
        tried.append(f"bounded model checking: {out.reason}")
        props.append(ProveProperty(name, "always", expected[name], Verdict.UNKNOWN, reason="; ".join(tried),
                                   refutation=why))
    filtered = h.taken if isinstance(h, OnDemandResult) else len(kept)
    return ProveResult(model.name, fixed, unb, failures, time.perf_counter() - start, props, h,
                       len(cands), filtered, len(envs), len(samples), ranges)


def _expectations(model: Model, params: dict, enable: Iterable[str], disable: Iterable[str],
                  samples: list | None, expect: dict[str, str]) -> dict[str, str]:
    """What each always property is expected to do over every value: as `expect` says
    (a matrix row's word), else violated if some sampled instance expects a violation,
    else holds."""
    systems = [s for _, _, s, _ in samples] if samples else [model.build(params, enable, disable)]
    out: dict[str, str] = {}
    for s in systems:
        for p in s.properties:
            if p.kind == "always" and out.get(p.name) != Verdict.VIOLATED:
                out[p.name] = p.expected
    return {**out, **{k: v for k, v in expect.items() if k in out}}


def select_properties(model: Model, only: list[str] | None) -> list[str]:
    """The always properties to decide: every one, or those named (each must be one)."""
    always = [d.name for d in model.property_decls if d.kind == "always"]
    if only is None:
        return always
    kinds = {d.name: d.kind for d in model.property_decls}
    for name in only:
        if name not in kinds:
            raise CheckerError(f"--property {name}: {model.name} has no property {name!r}; its always "
                               f"properties: {', '.join(always) or 'none'}")
        if kinds[name] != "always":
            raise CheckerError(f"--property {name}: {name} is {'an' if kinds[name] == 'eventually' else 'a'} "
                               f"{kinds[name]} property; prove decides always properties only "
                               f"(`checker verify --property {name}` decides it on one instance)")
    return [n for n in always if n in only]



# --------------------------------------------------------------------------- --check-invariant

def parse_invariant(ss: Any, lines: list[str]) -> list[Candidate]:
    """The facts of a printed invariant (one per line, as `prove` prints them) as candidates.

    Each line must be a property's name or a fact the templates write for this system
    (`x = y + c` stands for `x <= y + c` and `y <= x - c`); anything else is a
    CheckerError naming the line."""
    by_text: dict[str, list[Candidate]] = {}
    cands = candidates(ss)
    for c in cands:
        by_text.setdefault(c.text, []).append(c)
    keys = {c.key: c for c in cands}
    for c in cands:  # the merged forms readable() prints
        for text in readable([c, *[keys[k] for k in _partners(c.key) if k in keys]])[:1]:
            if text != c.text:
                by_text.setdefault(text, [c] + [keys[k] for k in _partners(c.key) if k in keys])
    out: list[Candidate] = []
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        if line not in by_text:
            raise CheckerError(f"invariant line {n}: {line!r} is not a property of {ss.model.name} or a fact "
                               "`prove` writes for it (paste the lines `prove` printed)")
        out += [c for c in by_text[line] if c not in out]
    if not out:
        raise CheckerError("the invariant has no lines: paste the lines `prove` printed, one per line")
    return out


def _partners(key: tuple) -> list[tuple]:
    """The key of the fact that readable() merges with this one into an equality."""
    if not (len(key) == 2 and isinstance(key[0], tuple)):
        return []
    body, guard = key
    if body[0] == "diff":
        return [(("diff", body[2], body[1], -body[3]), guard)]
    if body[0] in ("le", "ge") and len(body) == 3:
        return [(("ge" if body[0] == "le" else "le", body[1], body[2]), guard)]
    return []


@dataclass
class InvariantCheck:
    """`prove --check-invariant`: the invariant checked again from scratch."""

    facts: int
    properties: list[str]  # the properties among its lines
    failures: list[Refutation]  # (action, fact) pairs that fail, initiation included
    states: int  # explicit states of small instances checked
    instances: int
    false_in: list[str]  # facts false in some of those states, with one state
    seconds: float

    @property
    def exit_code(self) -> int:
        return 1 if self.failures or self.false_in or not self.properties else 0


def recheck_invariant(model: Model, lines: list[str], params: dict[str, Any] | None = None,
                      unbounded: Iterable[str] | None = None, enable: Iterable[str] = (),
                      disable: Iterable[str] = (), max_states: int = 50_000) -> InvariantCheck:
    """Check a printed invariant independently of the run that found it: a fresh symbolic
    build and fresh solvers, initiation and every (action, fact) pair, and every fact
    evaluated on every reachable state of small instances (explicit engine)."""
    start = time.perf_counter()
    params = dict(params or {})
    model.resolve_params(params)
    failures = model.resolve_failures(enable, disable)
    unb = default_unbounded(model, params, failures) if unbounded is None else list(unbounded)
    try:
        ss = symbolic_build(model, params, unb, enable, disable)
    except Unsupported as e:
        raise CheckerError(f"cannot be made symbolic: {e}") from None
    cands = parse_invariant(ss, lines)
    with no_cycle_collector():
        bad = check_invariant(ss, cands)
    samples = sample_states(ss, max_states)
    false_in = []
    for c in cands:
        if c.prop is not None:
            continue
        for _, envs, _, _ in samples:
            hit = next((e for e in envs if not c.py(e)), None)
            if hit is not None:
                false_in.append(f"{c.text} is false in the reachable state {hit}")
                break
    props = [c.prop for c in cands if c.prop is not None]
    # a property's own explicit check: it is a line of the invariant, so it must hold in the samples too
    for _, _, _, violated in samples:
        false_in += [f"{n} is violated in a small instance" for n in props if n in violated]
    return InvariantCheck(len(cands), props, bad, sum(len(e) for _, e, _, _ in samples), len(samples),
                          list(dict.fromkeys(false_in)), time.perf_counter() - start)
