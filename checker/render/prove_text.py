"""Text rendering of `prove` results: the verdict table, invariants, traces, what was tried."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from checker.proofs.invariants import OnDemandResult
from checker.proofs.prove import ProveProperty, ProveResult
from checker.render.text import print_trace

__all__ = ["print_prove", "prove_header"]

_STYLE = {"proved": "green", "refuted": "red", "unknown": "magenta"}


def prove_header(r: ProveResult) -> str:
    sizes = r.sizes
    fixed = " ".join(f"{k}={v}" for k, v in r.params.items() if k not in sizes)
    unb = ", ".join(f"{n} ({r.ranges[n]})" if n in r.ranges else n for n in r.unbounded) or "none"
    given = r.given()
    fm = ", ".join(r.failure_modes) or "none"
    row = f"configuration {r.config}: " if r.config else ""
    return (f"{row}model {r.model}  {fixed}{'  ' if fixed else ''}unbounded: {unb}  "
            f"{f'as given: {given}  ' if given else ''}failure modes: {fm}")


def print_prove(con: Console, r: ProveResult, verbose: bool = False) -> None:
    con.print(prove_header(r))
    h = r.houdini
    if isinstance(h, OnDemandResult):  # no array of symbolic size: candidates taken in on demand
        con.print(f"{r.generated:,} candidate invariants from templates; from the properties, {r.filtered:,} taken "
                  f"in at counterexamples to induction, each true in all {r.states:,} states of {r.instances} small "
                  f"instances; {len(h.kept):,} inductive (Houdini, {h.queries:,} Z3 queries), {r.seconds:.2f} s")
    elif h is not None:
        con.print(f"{r.generated:,} candidate invariants from templates, {r.filtered:,} true in all "
                  f"{r.states:,} states of {r.instances} small instances, {len(h.kept):,} inductive "
                  f"(Houdini, {h.queries:,} Z3 queries), {r.seconds:.2f} s")
    elif r.instances:
        con.print(f"every property is violated in a small instance (of {r.instances} explored, {r.states:,} states): "
                  f"nothing to prove; bounded model checking, {r.seconds:.2f} s")
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("property", "expected", "verdict", "as expected", "evidence"):
        t.add_column(col)
    for p in r.properties:
        ok = {True: Text("yes", "green"), False: Text("NO", "bold red"), None: Text("-")}[p.as_expected]
        evidence = (f"invariant of {len(p.invariant)} facts" if p.verdict == "proved"
                    else f"{len(p.trace.steps) - 1}-step trace" if p.trace else "-")
        t.add_row(p.name, p.expected or "-", Text(p.verdict, _STYLE[p.verdict]), ok, evidence)
    con.print(t)
    for n, p in enumerate(r.properties):
        if n:
            con.print()  # the table ends with a blank line already
        _print_property(con, r, p, verbose)
    if verbose and h is not None:
        con.print()
        con.print(Text(f"refuted candidates ({len(h.refuted)}), each with its counterexample to induction:", "bold"))
        for ref in h.refuted:
            con.print("  " + ref.line())
    word = {0: "as expected", 1: "NOT AS EXPECTED", 3: "unknown"}[r.exit_code]
    con.print(Text(f"verdict: {word}", "bold"))


def _print_property(con: Console, r: ProveResult, p: ProveProperty, verbose: bool) -> None:
    if p.verdict == "proved":
        con.print(Text(f"{p.name} is proved {r.covers()}, by this inductive invariant:", "bold"))
        for line in p.invariant:
            con.print(f"  {line}")
        con.print("(i ranges over the indices of the array it indexes; every line holds initially, and "
                  "every action preserves their conjunction)")
        if p.alone:
            actions = ", ".join(dict.fromkeys(f.action or "the initial state" for f in p.alone))
            con.print(f"{p.name} alone is not inductive: not preserved by {actions}"
                      + ("" if verbose else " (-v shows the counterexamples to induction)"))
            if verbose:
                for f in p.alone:
                    con.print("  " + f.line())
        return
    if p.verdict == "refuted":
        assert p.trace is not None
        where = " ".join(f"{n}={p.trace.system.params[n]}" for n in r.unbounded)
        if p.refutation is not None and p.refutation.action is not None:
            con.print(f"{p.refutation.action} does not preserve {p.name}"
                      + (f": from {p.refutation.state}" if verbose else ""))
        print_trace(con, f"{p.name} violated in {len(p.trace.steps) - 1} steps (a shortest trace over every "
                         f"value; shown at {where or 'the given parameters'})", p.trace)
        return
    con.print(f"{p.name} is unknown: {p.reason}")
