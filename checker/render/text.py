"""Text rendering of results: the verdict table, traces as execution tables, trackers.

A trace reads like a textbook table: step, action and its description, what changed,
and the value of every property at that step; then a variable tracker with the
variables down and the steps across. Everything is derived from `Result` objects and,
for a trace, from its explanation (`checker/explain.py`).
"""

from __future__ import annotations

import io
import json
import os
import sys
from typing import Any, Iterable

from rich import box
from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from checker.lang.model import Model
from checker.engines.replay import replay_command
from checker.explain import explain
from checker.result import PropertyResult, Result, Trace
from checker.lang.system import System

__all__ = ["make_console", "finish", "describe_models", "print_result", "print_trace", "print_models", "result_json",
           "params_line", "final_word", "trace_title", "print_matrix", "print_configs", "print_property_trace",
           "print_coverage"]


PIPED_WIDTH = 120  # columns of output that goes to a file or a pipe when COLUMNS is not set


def _columns() -> int | None:
    """COLUMNS, when it is set to a width."""
    text = os.environ.get("COLUMNS", "")
    return int(text) if text.isdigit() and int(text) > 0 else None


class _Console(Console):
    """A rich Console whose tables never split a word.

    rich narrows a table that is too wide by shrinking its widest columns, whatever
    their words; here a table is printed as it is when it fits, with each column at
    least as wide as its longest word when it fits that way, and stacked otherwise
    (`fit_table`).
    """

    def print(self, *objects: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super().print(*(fit_table(o, self.width, self) if isinstance(o, Table) else o for o in objects),
                      **kwargs)


def make_console(stderr: bool = False) -> Console:
    """A console at the output's width: COLUMNS when set, else the terminal's, else PIPED_WIDTH.

    Off a terminal it writes to a buffer that `finish` flushes."""
    c = _Console(stderr=stderr, markup=False, highlight=False, soft_wrap=False)
    if c.is_terminal:
        if _columns() is not None:
            c.size = (_columns(), c.height)  # rich itself reads COLUMNS, but not on a dumb terminal
        return c
    # Never the width of a terminal on another stream: piped output is the same on every
    # machine unless COLUMNS says otherwise. The buffer lets `finish` drop the padding
    # rich puts at the end of table lines.
    c = _Console(file=io.StringIO(), markup=False, highlight=False, soft_wrap=False,
                 width=_columns() or PIPED_WIDTH)
    c._plain_target = sys.stderr if stderr else sys.stdout  # type: ignore[attr-defined]
    return c


def finish(con: Console) -> None:
    """Write out what a buffered console holds, without trailing spaces."""
    target = getattr(con, "_plain_target", None)
    if target is not None:
        text = con.file.getvalue()  # type: ignore[attr-defined]
        target.write("".join(line.rstrip() + "\n" for line in text.splitlines()))
        target.flush()


_WIDE = 1 << 20  # a width no table reaches: measures a table's widest form


def fit_table(table: Table, width: int, console: Console) -> RenderableType:
    """The table at most `width` columns wide with no word split, or stacked when it cannot be."""
    if table.width is not None or not table.columns:
        return table
    wide = console.options.update_width(_WIDE)
    if Measurement.get(console, wide, table).maximum <= width:
        return table
    least, most = [], []
    for col in table.columns:
        cells = ([col.header] if table.show_header else []) + list(col.cells)
        sizes = [Measurement.get(console, wide, c) for c in cells] or [Measurement(1, 1)]
        hi = max(m.maximum for m in sizes)
        lo = max(hi if col.no_wrap else max(m.minimum for m in sizes), col.min_width or 1)
        least.append(lo)
        most.append(max(lo, min(hi, col.max_width or hi)))
    for col, w in zip(table.columns, least):
        col.width = w
    room = width - (Measurement.get(console, wide, table).maximum - sum(least))  # less padding and rules
    if room < sum(least):  # not even every column at its longest word fits
        return stack(table, width, console)
    # Like rich, take the room from the widest columns first; unlike rich, never below a
    # column's longest word.
    widths = list(most)
    for _ in range(sum(most) - room):
        i = max((i for i in range(len(widths)) if widths[i] > least[i]), key=lambda i: widths[i])
        widths[i] -= 1
    for col, w in zip(table.columns, widths):
        col.width = w
    return table


def stack(table: Table, width: int, console: Console) -> RenderableType:
    """A table too wide for the width, as blocks: a row's first cell heads its block (with
    its header when it is a bare number, `step 3`), then one indented `header: value` line
    per other cell, wrapped at words under its value."""
    headers = [str(c.header) if table.show_header else "" for c in table.columns]
    columns = [list(c.cells) for c in table.columns]
    lines: list[Text] = []
    if table.title:
        lines.append(Text(str(table.title), "bold"))
    for r in range(table.row_count):
        head = _as_text(columns[0][r])
        if headers[0] and head.plain.split(" ")[0].isdigit():
            head = Text.assemble(f"{headers[0]} ", head)
        fields = [(0, head)] + [(2, Text.assemble(f"{h}: " if h else "", _as_text(col[r])))
                                for h, col in zip(headers[1:], columns[1:])]
        for indent, field in fields:
            for n, line in enumerate(field.wrap(console, max(width - indent - 2, 1))):
                lines.append(Text(" " * (indent + (2 if n else 0))) + line)
    return Group(*lines)


def _as_text(cell: Any) -> Text:
    return cell if isinstance(cell, Text) else Text(str(cell))


def params_line(system: System) -> str:
    ps = " ".join(f"{k}={v}" for k, v in system.params.items())
    fm = ", ".join(system.failure_modes) or "none"
    return f"model {system.model}  {ps}  failure modes: {fm}"


_STYLE = {"holds": "green", "reachable": "green", "unreachable": "yellow", "violated": "red",
          "unknown": "magenta"}


def final_word(result: Result) -> str:
    if result.exit_code == 0 and result.properties and all(p.expected is None for p in result.properties):
        return "decided (the model states no expectation for this instance: the verdicts are findings)"
    return {0: "as expected", 1: "NOT AS EXPECTED", 3: "incomplete"}[result.exit_code]


def engine_note(result: Result) -> str:
    """`fast engine, 18.2 bytes/state`: the engine and its memory (distributed: its workers and traffic)."""
    note = f"{result.engine} engine"
    if result.bytes_per_state:
        note += f", {result.bytes_per_state:,.1f} bytes/state"
    if result.workers:
        note += (f", {result.workers} workers, {result.bytes_sent / max(1, result.states or 1):,.1f} bytes "
                 "sent/state")
    return note


def print_result(con: Console, result: Result, traces: bool = True) -> None:
    s = result.system
    con.print(params_line(s))
    if result.engine == "simulate":
        on = f" on {result.workers} workers" if result.workers else ""
        con.print(f"simulated: {result.stopped}; {result.states:,} distinct states seen, {result.transitions:,} "
                  f"steps, deepest walk {result.depth}, {result.seconds:.2f} s{on}")
    else:
        status = "complete" if result.complete else f"INCOMPLETE (stopped at the {result.stopped})"
        con.print(f"{result.states:,} distinct states, {result.transitions:,} transitions, "
                  f"depth {result.depth}, {status}, {result.seconds:.2f} s ({engine_note(result)})")
    if result.symmetry:
        con.print(f"symmetry: the {result.symmetry} are interchangeable; the {result.states:,} states are "
                  f"orbits of {result.full_states:,} states")
    if result.liveness_seconds is not None:
        n = sum(p.kind == "eventually" for p in result.properties)
        con.print(f"liveness: {n} eventually {'property' if n == 1 else 'properties'} on that graph, "
                  f"{result.liveness_seconds:.2f} s" + _memory(result))
    elif result.peak_bytes is not None:
        con.print(f"peak memory {result.peak_bytes / 2**20:,.0f} MB")
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("property", "kind", "expected", "verdict", "as expected", "trace"):
        t.add_column(col)
    for p in result.properties:
        ok = {True: Text("yes", "green"), False: Text("NO", "bold red"), None: Text("-")}[p.as_expected]
        steps = _trace_size(p) if p.trace else "-"
        t.add_row(p.name, p.kind, p.expected or "-", Text(p.verdict, _STYLE[p.verdict]), ok, steps)
    con.print(t)
    for p in result.properties:
        if p.reason:
            con.print(f"{p.name} is {p.verdict}: {p.reason}")
        elif p.notes and p.trace is None:  # why an eventually property holds
            con.print(f"{p.name} holds: " + "; ".join(p.notes))
    print_coverage(con, result)
    if traces:
        for p in result.properties:
            if p.trace is not None:
                print_property_trace(con, p)
    if result.cover is not None:
        for name, trace in result.cover.items():
            if trace is None:
                con.print()
                con.print(Text(f"{name} is never enabled: no trace takes it", "bold"))
            else:
                n = len(trace.steps) - 1
                print_trace(con, f"{name} first taken in {n} step{'' if n == 1 else 's'} (a shortest trace)", trace)
    con.print(Text(f"verdict: {final_word(result)}", "bold"))


def _memory(result: Result) -> str:
    if result.peak_bytes is None or result.peak_bytes_search is None:
        return ""
    return (f" (peak memory {result.peak_bytes / 2**20:,.0f} MB, "
            f"{result.peak_bytes_search / 2**20:,.0f} MB after the search)")


def print_coverage(con: Console, result: Result) -> None:
    """What the run exercised: each action's firings, dead actions, vacuous properties."""
    so_far = " in the walks" if result.engine == "simulate" else "" if result.complete else " (so far)"
    groups: dict[str, list[str]] = {}  # one line per indexed action, its instances together
    for a in result.system.actions:
        if a.name in result.fired:
            groups.setdefault(a.base if a.index is not None else "", []).append(f"{a.name} {result.fired[a.name]:,}")
    head = f"actions fired{so_far}: "
    lines = [", ".join(g) for g in groups.values()]
    for i, line in enumerate(lines):
        con.print((head if i == 0 else " " * len(head)) + line)
    if result.engine == "simulate":
        taken = sum(1 for n in result.fired.values() if n)
        con.print(f"{taken} of {len(result.fired)} actions taken; dead actions and vacuity are not judged "
                  "by a simulation")
        return
    if not result.complete:
        con.print("dead actions and vacuity are not judged: the search stopped early")
        return
    if result.symmetry:
        # An instance may fire only from states that are not their orbit's representative.
        con.print("dead actions and vacuity are not judged under --symmetry: the search saw one state per orbit")
        return
    for dead in result.dead:
        con.print(Text(f"warning: {dead} is never enabled in a reachable state (a dead action)", "yellow"))
    for v in result.vacuous:
        con.print(Text(f"warning: vacuous: {v}", "yellow"))
    if not result.dead and not result.vacuous:
        con.print("no dead actions; no implication premise or fairness condition is vacuous")


def _trace_size(p: PropertyResult) -> str:
    n = len(p.trace.steps) - 1  # type: ignore[union-attr]
    if p.loop is None:
        return f"{n} steps"
    cycle = n - p.loop
    return f"{p.loop} steps, stops" if cycle == 0 else f"{p.loop} + {cycle}-step cycle"


def trace_title(p: PropertyResult) -> str:
    what = {"violated": "violated", "reachable": "reached"}.get(p.verdict, p.verdict)
    n = len(p.trace.steps) - 1  # type: ignore[union-attr]
    if p.loop is not None:
        if n == p.loop:
            return f"{p.name} violated: a fair run of {n} steps that stops short of it (a shortest lasso)"
        return f"{p.name} violated: {p.loop} steps, then a {n - p.loop}-step cycle forever (a shortest lasso)"
    if not p.shortest:
        return f"{p.name} {what} in {n} steps (a random walk with its loops cut out; a shorter trace may exist)"
    return f"{p.name} {what} in {n} steps (a shortest trace)"


def print_property_trace(con: Console, p: PropertyResult) -> None:
    """A property's trace; a lasso also says where its cycle starts and how it is fair."""
    assert p.trace is not None
    print_trace(con, trace_title(p), p.trace, loop=p.loop, notes=p.notes,
                show=p.name if p.kind == "eventually" else None)


def print_trace(con: Console, title: str, trace: Trace, replay_line: bool = True,
                loop: int | None = None, notes: list[str] | None = None, show: str | None = None) -> None:
    """The execution table and the variable tracker of a trace, and how to replay it.

    loop: the step a lasso's cycle starts from (marked `@`); notes: lines printed under
    the tables; show: an eventually property to give a column of its own.
    """
    con.print()
    con.print(Text(title, "bold"))
    con.print(execution_table(trace, loop, show))
    con.print(variable_tracker(trace))
    for line in notes or ():
        con.print(line)
    if trace.actions and replay_line:
        con.print("replay: " + replay_command(trace), soft_wrap=True)  # one line, to paste


def execution_table(trace: Trace, loop: int | None = None, show: str | None = None) -> Table:
    s = trace.system
    idx = [i for i, p in enumerate(s.properties) if p.kind != "eventually" or p.name == show]
    props = [s.properties[i] for i in idx]
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    t.add_column("step", justify="right")
    t.add_column("action")
    t.add_column("description", overflow="fold")
    t.add_column("what changed", overflow="fold")
    for p in props:
        t.add_column(p.name)
    for st in explain(trace):
        changed = "" if st.action is None else ", ".join(st.changed) or "nothing"
        # bold: an always property false, any other true (what the step is shown for)
        cells = [Text(str(st.values[i]).lower(), "" if st.values[i] == (p.kind == "always") else "bold")
                 for i, p in zip(idx, props)]
        mark = " @" if loop is not None and (st.step == loop or st.step == len(trace.steps) - 1) else ""
        t.add_row(f"{st.step}{mark}", st.name or "(initial)", st.description, changed, *cells)
    return t


def variable_tracker(trace: Trace) -> Table:
    """Variables down, steps across; a value that just changed is marked with '*'."""
    s = trace.system
    steps = explain(trace)
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    t.add_column("variable")
    for n in range(len(steps)):
        t.add_column(str(n), justify="right")
    for i, v in enumerate(s.variables):
        row: list[Any] = [v.name]
        for st in steps:
            shown = v.show(st.state[i])
            row.append(Text(shown + "*", "bold yellow") if st.changes_variable(i) else shown)
        t.add_row(*row)
    return t


def result_json(result: Result) -> str:
    return json.dumps(result.json(), indent=2)


def describe_models(models: dict[str, Model], enable: Iterable[str] = ()) -> list[dict[str, Any]]:
    """What `list` shows, as data: each model at its default parameters, with the failure modes
    `enable` turns on; the actions of the modes that stay off are listed too, marked off."""
    out = []
    for m in models.values():
        s = m.build({}, enable)  # the defaults: actual domains, expectations and action instances
        bases: dict[str, Any] = {}
        for a in s.actions:
            bases.setdefault(a.base, {"name": a.base, "indexed": a.index is not None,
                                      "description": a.description, "failure_mode": a.failure, "on": True})
        for f in m.failure_modes.values():
            if f.name not in s.failure_modes:
                for name, description, indexed in f.actions():
                    bases.setdefault(name, {"name": name, "indexed": indexed, "description": description,
                                            "failure_mode": f.name, "on": False})
        out.append({
            "name": m.name,
            "description": m.doc.splitlines()[0] if m.doc else "",
            "params": [{"name": p.name, "default": p.default, "range": p.describe_range(), "doc": p.doc}
                       for p in m.params.values()],
            "failure_modes": [{"name": f.name, "default": f.default, "on": f.name in s.failure_modes,
                               "budget": f.budget, "doc": _first_sentence(f.doc)}
                              for f in m.failure_modes.values()],
            "variables": [{"name": n, "domain": d, "doc": _first_sentence(doc)} for n, d, doc in s.roots],
            "actions": list(bases.values()),
            "properties": [{"name": p.name, "kind": p.kind, "expected": p.expected,
                            "description": p.description, "fairness": _fairness(p.fairness)}
                           for p in s.properties],
        })
    return out


def print_models(con: Console, models: dict[str, Model], enable: Iterable[str] = ()) -> None:
    """`list`: every model with its parameters, failure modes, variables, actions, properties."""
    def table(title: str, rows: list[dict[str, Any]], cols: list[tuple[str, str]]) -> Table:
        t = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=title, title_justify="left")
        for header, _ in cols:
            t.add_column(header, overflow="fold")
        for r in rows:
            t.add_row(*(_cell(r[key]) for _, key in cols))
        return t

    for d in describe_models(models, enable):
        con.print(Text(d["name"], "bold"), "-", d["description"])
        con.print(table("parameters", d["params"],
                        [("name", "name"), ("default", "default"), ("range", "range"), ("meaning", "doc")]))
        con.print(table("failure modes (on: at the defaults, or turned on with -f MODE)",
                        d["failure_modes"], [("name", "name"), ("on", "on"), ("budget", "budget"),
                                             ("what it is", "doc")]))
        con.print(table("variables (domains at the defaults)", d["variables"],
                        [("name", "name"), ("domain", "domain"), ("meaning", "doc")]))
        actions = [dict(a, name=a["name"] + ("(i)" if a["indexed"] else ""),
                        failure_mode=(a["failure_mode"] or "") + ("" if a["on"] else " (off)"))
                   for a in d["actions"]]
        con.print(table("actions", actions, [("name", "name"), ("failure mode", "failure_mode"),
                                             ("description", "description")]))
        con.print(table("properties (expectations at the defaults)", d["properties"],
                        [("name", "name"), ("kind", "kind"), ("expected", "expected"),
                         ("meaning", "description"), ("fairness assumed", "fairness")]))


def _fairness(pairs: tuple[tuple[str, str], ...]) -> str:
    """`weak: Produce, Poll; strong: Commit`, or "" for none."""
    parts = [f"{kind}: " + ", ".join(n for n, k in pairs if k == kind)
             for kind in ("weak", "strong") if any(k == kind for _, k in pairs)]
    return "; ".join(parts)


def _first_sentence(doc: str) -> str:
    text = " ".join(doc.split())
    end = text.find(". ")
    return text if end < 0 else text[:end + 1]


def _cell(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def print_matrix(con: Console, rows: list, columns: list[str]) -> None:
    """`matrix`: one line per configuration, one column per property, and agreement with the source
    (one table per model, each with the properties of its model)."""
    from checker.matrix import by_model, cell_text, fixed_by_text  # matrix imports the engine; report stays light without it

    parts = by_model(rows, columns)
    for model, part, cols in parts:
        t = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1, 0, 0),
                  title=f"model {model}" if len(parts) > 1 else None, title_justify="left")
        t.add_column("configuration", no_wrap=True)
        for c in cols:
            t.add_column(c, overflow="fold", min_width=len(c))  # property ids stay whole
        t.add_column("source", overflow="fold", max_width=15)
        t.add_column("agrees", min_width=6)
        for r in part:
            cells = []
            for c in cols:
                cell = r.cell(c)
                cells.append(Text(cell_text(cell), _STYLE.get(cell["verdict"], "") if cell else ""))
            agree = {True: Text("yes", "green"), False: Text("NO", "bold red"), None: Text("-")}[r.agrees()]
            t.add_row(r.config.id, *cells, r.config.source, agree)
        con.print(t)
        fixed = [(r.config.id, fixed_by_text(r, cols)) for r in part]
        for row_id, text in fixed:  # a violated cell, and the rows whose remedy makes it hold
            if text:
                con.print(f"  {row_id} fixed by: {text}", soft_wrap=True, highlight=False)
    bad = [r.config.id for r in rows if r.agrees() is False]
    undecided = [r.config.id for r in rows if r.agrees() is None]
    con.print(f"{len(rows)} configurations, {sum(r.result.states for r in rows):,} states in all; "
              + (f"DISAGREE with their source: {', '.join(bad)}" if bad else
                 f"undecided: {', '.join(undecided)}" if undecided else "every cell agrees with its source"))
    proved = [r for r in rows if r.proof is not None]
    for r in proved:
        names = [q.name for q in r.proof.properties if q.verdict == "proved"]
        if names:
            con.print(f"{r.config.id}: {', '.join(names)} proved {r.proof.claim()} ({r.proof.seconds:.1f} s)")
        from checker.matrix import proof_reason
        why: dict[str, list[str]] = {}  # cells with the same reason share a line
        for q in r.proof.properties:
            if q.verdict != "proved":
                why.setdefault(proof_reason(q), []).append(q.name)
        for reason, names in why.items():
            con.print(f"{r.config.id}: {', '.join(names)} not proved: {reason}")
    con.print("traces: checker verify --config ID" + ("; proofs: checker prove --config ID" if proved else ""))


def print_configs(con: Console, configs: list) -> None:
    """The matrix configurations, one line each (for `list`)."""
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="matrix configurations (checker matrix)",
              title_justify="left")
    for col in ("id", "model", "settings", "description"):
        t.add_column(col, overflow="fold")
    for c in configs:
        t.add_row(c.id, c.model, c.settings_line(), c.description)
    con.print(t)
