"""`check`'s answer as text and as JSON: the settings, the faults, each guarantee with its trace and its verified fixes."""

from __future__ import annotations

import json
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from checker.engines.replay import replay_command
from checker.render.text import execution_table
from checker.setup import Answer

__all__ = ["print_answer", "answer_json", "requirement"]


def requirement(answer: Answer, word: str | None) -> tuple[str, list[str]] | None:
    """(met, violated or unknown guarantees) of `--require word`: met is yes, no or unknown."""
    if word is None:
        return None
    needed = answer.setup.requirements.get(word, ())
    by = {g.name: g.verdict for g in answer.guarantees}
    bad = [g for g in needed if by.get(g) == "violated"]
    if bad:
        return "no", bad
    unknown = [g for g in needed if by.get(g) != "holds"]
    return ("unknown", unknown) if unknown else ("yes", [])


def _change(change: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in change.items())


def _models(answer: Answer) -> str:
    return " and ".join(dict.fromkeys(r.model for r in answer.setup.runs))


def print_answer(con: Console, answer: Answer, require: str | None) -> None:
    s = answer.setup
    con.print(s.model_line)
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="settings", title_justify="left")
    for col in ("key", "value", "source"):
        t.add_column(col, overflow="fold")
    for key, (value, source) in s.settings.items():
        t.add_row(key, value, source)
    con.print(t)
    for note in s.notes:
        con.print(f"note: {note}")
    if s.ignored:
        con.print("no effect on delivery semantics: " + ", ".join(s.ignored))
    for key, why in s.not_modelled:
        con.print(f"not modelled: {key}: {why}")
    con.print("faults considered (budget per run): " + (", ".join(f"{n} {b}" for n, b in s.faults) or "none"))
    for run, res in zip(s.runs, answer.results):
        word = "complete" if res.complete else f"incomplete ({res.stopped})"
        con.print(f"{run.model}: {res.states:,} states, {word}")
    con.print()
    g_table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("guarantee", "verdict", "trace", "catalogue", "fixes"):
        g_table.add_column(col, overflow="fold")
    for g in answer.guarantees:
        steps = f"{len(g.result.trace.steps) - 1} steps" if g.result is not None and g.result.trace else "-"
        fixes = str(len(g.fixes)) if g.verdict == "violated" else "-"
        g_table.add_row(g.name, g.verdict, steps, ", ".join(g.catalogue) or "-", fixes)
    con.print(g_table)
    for g in answer.guarantees:
        if g.verdict != "violated" or g.result is None or g.result.trace is None:
            continue
        trace = g.result.trace
        ids = ", ".join(g.catalogue) if g.catalogue else "no catalogue id (beyond the failure catalogue)"
        con.print()
        con.print(Text(f"{g.name} violated in {len(trace.steps) - 1} steps ({g.model} model; {ids})", "bold"))
        con.print(execution_table(trace))
        con.print("replay: " + replay_command(trace), soft_wrap=True)
        if g.fixes:
            con.print(f"fixes (each re-checked by a new search, with the faults its settings allow: {g.name} "
                      "then holds):")
            for f in g.fixes:
                con.print(f"  -s {' -s '.join(f'{k}={v}' for k, v in f.change.items())}", soft_wrap=True)
        else:
            con.print(f"fixes: none of the catalogue's remedies makes {g.name} hold in a re-run")
        for change, ids, steps in g.further:
            con.print(f"behind it: with {_change(change)}, {g.name} is still violated ({', '.join(ids)}, "
                      f"{steps} steps)", soft_wrap=True)
    con.print()
    req = requirement(answer, require)
    if req is not None:
        met, which = req
        tail = {"yes": "met", "no": "NOT MET: " + ", ".join(f"{g} violated" for g in which),
                "unknown": "unknown: " + ", ".join(which) + " not decided"}[met]
        con.print(f"requirement {require}: {tail}")
    else:
        bad = [g.name for g in answer.guarantees if g.verdict == "violated"]
        con.print("verdict: " + (f"{', '.join(bad)} violated" if bad else "every guarantee holds")
                  + ("" if answer.complete else "; incomplete"))


def answer_json(answer: Answer, require: str | None) -> str:
    s = answer.setup
    out: dict[str, Any] = {
        "settings": {k: {"value": v, "source": src} for k, (v, src) in s.settings.items()},
        "ignored": s.ignored,
        "not_modelled": [{"key": k, "reason": why} for k, why in s.not_modelled],
        "model": _models(answer),
        "model_line": s.model_line,
        "notes": s.notes,
        "faults": [{"name": n, "budget": b} for n, b in s.faults],
        "complete": answer.complete,
        "guarantees": [{
            "name": g.name, "verdict": g.verdict, "catalogue": g.catalogue,
            "model": g.model,
            "trace": g.result.trace.json() if g.result is not None and g.result.trace is not None else None,
            "fixes": [{"change": f.change, "verdict": f.verdict} for f in g.fixes],
            "further": [{"change": c, "catalogue": ids, "steps": n} for c, ids, n in g.further],
        } for g in answer.guarantees],
    }
    req = requirement(answer, require)
    if req is not None:
        out["require"] = {"name": require, "met": req[0], "guarantees": list(s.requirements.get(require, ()))}
    return json.dumps(out, indent=2)
