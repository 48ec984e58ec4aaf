"""Text rendering of results: the verdict table, traces as execution tables, trackers.

A trace reads like a textbook table: step, action and its description, what changed,
and the value of every property at that step; then a variable tracker with the
variables down and the steps across. Everything is derived from `Result` objects.
"""

from __future__ import annotations

import io
import json
import sys
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .compile import compiled
from .lang import Model
from .replay import replay_command
from .result import PropertyResult, Result, Trace
from .system import System

__all__ = ["make_console", "finish", "print_result", "print_trace", "print_models", "result_json",
           "params_line", "final_word", "trace_title"]


def make_console(stderr: bool = False) -> Console:
    """A console for tables; off a terminal it writes to a buffer that `finish` flushes."""
    c = Console(stderr=stderr, markup=False, highlight=False, soft_wrap=False)
    if not c.is_terminal:
        # A fixed width keeps piped output the same on every machine; the buffer lets
        # `finish` drop the padding rich puts at the end of table lines.
        c = Console(file=io.StringIO(), markup=False, highlight=False, soft_wrap=False, width=120)
        c._plain_target = sys.stderr if stderr else sys.stdout  # type: ignore[attr-defined]
    return c


def finish(con: Console) -> None:
    """Write out what a buffered console holds, without trailing spaces."""
    target = getattr(con, "_plain_target", None)
    if target is not None:
        text = con.file.getvalue()  # type: ignore[attr-defined]
        target.write("".join(line.rstrip() + "\n" for line in text.splitlines()))
        target.flush()


def params_line(system: System) -> str:
    ps = " ".join(f"{k}={v}" for k, v in system.params.items())
    fm = ", ".join(system.failure_modes) or "none"
    return f"model {system.model}  {ps}  failure modes: {fm}"


_STYLE = {"holds": "green", "reachable": "green", "unreachable": "yellow", "violated": "red",
          "unknown": "magenta"}


def final_word(result: Result) -> str:
    return {0: "as expected", 1: "NOT AS EXPECTED", 3: "incomplete"}[result.exit_code]


def print_result(con: Console, result: Result, traces: bool = True) -> None:
    s = result.system
    con.print(params_line(s))
    status = "complete" if result.complete else f"INCOMPLETE (stopped at the {result.stopped})"
    con.print(f"{result.states:,} distinct states, {result.transitions:,} transitions, "
              f"depth {result.depth}, {status}, {result.seconds:.2f} s ({result.engine} engine)")
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("property", "kind", "expected", "verdict", "as expected", "trace"):
        t.add_column(col)
    for p in result.properties:
        ok = {True: Text("yes", "green"), False: Text("NO", "bold red"), None: Text("-")}[p.as_expected]
        steps = f"{len(p.trace.steps) - 1} steps" if p.trace else "-"
        t.add_row(p.name, p.kind, p.expected, Text(p.verdict, _STYLE[p.verdict]), ok, steps)
    con.print(t)
    for p in result.properties:
        if p.reason:
            con.print(f"{p.name} is {p.verdict}: {p.reason}", soft_wrap=True)
    if traces:
        for p in result.properties:
            if p.trace is not None:
                print_trace(con, trace_title(p), p.trace)
    con.print(Text(f"verdict: {final_word(result)}", "bold"))


def trace_title(p: PropertyResult) -> str:
    what = {"violated": "violated", "reachable": "reached"}.get(p.verdict, p.verdict)
    return f"{p.name} {what} in {len(p.trace.steps) - 1} steps (a shortest trace)"  # type: ignore[union-attr]


def print_trace(con: Console, title: str, trace: Trace, replay_line: bool = True) -> None:
    """The execution table and the variable tracker of a trace, and how to replay it."""
    con.print()
    con.print(Text(title, "bold"))
    con.print(execution_table(trace))
    con.print(variable_tracker(trace))
    if trace.actions and replay_line:
        con.print("replay: " + replay_command(trace), soft_wrap=True)  # one line, to paste


def _prop_values(trace: Trace) -> list[list[bool]]:
    s = trace.system
    comp = compiled(s)
    idx = [i for i, p in enumerate(s.properties) if p.kind != "eventually"]
    return [[bool(comp.predicates[i](s.layout.pack(st.state))) for i in idx] for st in trace.steps]


def execution_table(trace: Trace) -> Table:
    s = trace.system
    by_name = {a.name: a for a in s.actions}
    props = [p for p in s.properties if p.kind != "eventually"]
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    t.add_column("step", justify="right")
    t.add_column("action")
    t.add_column("description", overflow="fold")
    t.add_column("what changed", overflow="fold")
    for p in props:
        t.add_column(p.name)
    values = _prop_values(trace)
    prev = None
    for n, step in enumerate(trace.steps):
        if prev is None:
            action, desc, changed = "(initial)", "the initial state", ""
        else:
            a = by_name[step.action]  # type: ignore[index]
            action, desc = a.name, a.description
            changed = ", ".join(f"{v.name} {v.show(x)}->{v.show(y)}"
                                for v, x, y in zip(s.variables, prev, step.state) if x != y) or "nothing"
        cells = [Text(str(b).lower(), "" if b == (p.kind == "always") else "bold")
                 for p, b in zip(props, values[n])]
        t.add_row(str(n), action, desc, changed, *cells)
        prev = step.state
    return t


def variable_tracker(trace: Trace) -> Table:
    """Variables down, steps across; a value that just changed is marked with '*'."""
    s = trace.system
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    t.add_column("variable")
    for n in range(len(trace.steps)):
        t.add_column(str(n), justify="right")
    for i, v in enumerate(s.variables):
        row: list[Any] = [v.name]
        for n, step in enumerate(trace.steps):
            x = step.state[i]
            if n and trace.steps[n - 1].state[i] != x:
                row.append(Text(v.show(x) + "*", "bold yellow"))
            else:
                row.append(v.show(x))
        t.add_row(*row)
    return t


def result_json(result: Result) -> str:
    return json.dumps(result.json(), indent=2)


def print_models(con: Console, models: dict[str, Model]) -> None:
    """`list`: every model with its parameters, failure modes and properties."""
    for m in models.values():
        con.print(Text(m.name, "bold"), "-", m.doc.splitlines()[0] if m.doc else "")
        t = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="parameters", title_justify="left")
        for col in ("name", "default", "range", "meaning"):
            t.add_column(col)
        for p in m.params.values():
            t.add_row(p.name, str(p.default), p.describe_range(), p.doc)
        con.print(t)
        t = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="failure modes", title_justify="left")
        for col in ("name", "default", "budget", "what it is"):
            t.add_column(col)
        for f in m.failure_modes.values():
            t.add_row(f.name, "on" if f.default else "off", f.budget, f.doc.splitlines()[0])
        con.print(t)
        s = m.build()  # defaults: shows expectations and the actual action instances
        t = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="properties (expectations at the defaults)",
                  title_justify="left")
        for col in ("name", "kind", "expected", "meaning"):
            t.add_column(col)
        for p in s.properties:
            t.add_row(p.name, p.kind, p.expected, p.description)
        con.print(t)
        t = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="actions", title_justify="left")
        t.add_column("name")
        t.add_column("description")
        seen = set()
        for a in s.actions:
            if a.base not in seen:
                seen.add(a.base)
                t.add_row(a.base + ("(i)" if a.index is not None else ""), a.description)
        con.print(t)
