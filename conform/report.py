"""Output of `conform`: one line per replayed trace, the mismatch in full, the row-by-backend
table (with more than one backend), a summary line; or all of it as JSON (`--json`)."""

from __future__ import annotations

import json
from typing import Any

from checker import replay_command

from .harness import Outcome, show_value


def _label(job: Any) -> str:
    note = f" ({job.note})" if job.note else ""
    return f"{job.row}: {job.title}{note}"


def print_outcome(job: Any, out: Outcome, verbose: bool = False) -> None:
    if verbose:
        print(f"  {_label(job)}: {' '.join(job.trace.actions) or '(no steps)'}")
        for n, action, model, observed in out.rows:
            parts = []
            for k, mv in model.items():
                ov = observed.get(k, "absent")
                if k.startswith("position") and ov is None:
                    parts.append(f"{k} {show_value(mv)} (client: none yet)")
                elif ov == mv:
                    parts.append(f"{k} {show_value(mv)}")
                else:
                    parts.append(f"{k} {show_value(mv)} (OBSERVED {show_value(ov)})")
            print(f"    {n:>3} {action:<16} " + ", ".join(parts))
    if out.mismatch is not None:
        print(f"  {_label(job)}: MISMATCH at {out.mismatch.line()}")
        print(f"    replay: {replay_command(job.trace)}")
    elif out.not_driven:
        print(f"  {_label(job)}: not driven: {out.not_driven}")
    elif out.error:
        print(f"  {_label(job)}: CLIENT ERROR at {out.error}")
    else:
        print(f"  {_label(job)}: match ({out.steps} steps, {out.compared} values compared)")


def _n(k: int, noun: str) -> str:
    return f"{k} {noun}" + ("" if k == 1 else "s")


def print_summary(outcomes: list[tuple[Any, Outcome]], skipped: list[Any], seconds: float,
                  incomplete: bool = False) -> None:
    bad = sum(1 for _, o in outcomes if o.mismatch)
    errors = sum(1 for _, o in outcomes if o.error or o.not_driven)
    steps = sum(o.steps for _, o in outcomes)
    values = sum(o.compared for _, o in outcomes)
    rows = len({j.row for j, _ in outcomes})
    verdict = ("nothing replayed" if not outcomes else "every step matched" if not bad and not errors else
               f"{bad} mismatched" + (f", {errors} with client errors" if errors else ""))
    print(f"{_n(len(outcomes), 'trace')} of {_n(rows, 'instance')} replayed ({_n(steps, 'step')}, "
          f"{_n(values, 'value')} compared): {verdict}; {_n(len(skipped), 'row')} not driven; {seconds:.1f} s")
    if not outcomes:
        print("verdict: " + ("incomplete" if incomplete else "nothing replayed"))
    else:
        print("verdict: " + ("MISMATCH" if bad else "incomplete" if errors or incomplete else "conforms"))


def print_header(backend: Any) -> None:
    print(f"{backend.name}: {backend.title}")


def row_status(outcomes: list[Outcome], skipped: bool) -> str:
    """One cell of the row-by-backend table."""
    if skipped:
        return "not driven"
    if not outcomes:
        return "-"
    if any(o.mismatch for o in outcomes):
        return "MISMATCH"
    if any(o.error or o.not_driven for o in outcomes):
        return "incomplete"
    return f"match ({len(outcomes)})"


def _rows(results: list[tuple[Any, list[tuple[Any, Outcome]], list[Any]]]) -> list[str]:
    order: dict[str, None] = {}
    for _, outs, sks in results:
        for j, _ in outs:
            order.setdefault(j.row, None)
        for sk in sks:
            order.setdefault(sk.row, None)
    return list(order)


def print_table(results: list[tuple[Any, list[tuple[Any, Outcome]], list[Any]]]) -> None:
    """Every row against every backend: match (traces replayed), MISMATCH, incomplete or not driven."""
    rows = _rows(results)
    head = ["row"] + [b.name for b, _, _ in results]
    cells = [head]
    for r in rows:
        line = [r]
        for _, outs, sks in results:
            line.append(row_status([o for j, o in outs if j.row == r], any(sk.row == r for sk in sks)))
        cells.append(line)
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    print("rows by backend (match (N): N traces replayed, every step matched):")
    for c in cells:
        print("  " + "  ".join(x.ljust(w) for x, w in zip(c, widths)).rstrip())


def print_json(results: list[tuple[Any, list[tuple[Any, Outcome]], list[Any]]], failure: str,
               seconds: float) -> None:
    """Per row, per backend: the status, the reason when not driven, each trace with its steps."""
    rows: dict[str, dict[str, Any]] = {r: {} for r in _rows(results)}
    for b, outs, sks in results:
        for sk in sks:
            rows[sk.row][b.name] = {"status": "not driven", "reason": sk.reason}
        for j, o in outs:
            cell = rows[j.row].setdefault(b.name, {"status": "", "traces": []})
            cell["traces"].append({
                "title": j.title, "note": j.note, "actions": j.trace.actions,
                "status": ("mismatch" if o.mismatch else "incomplete" if o.error or o.not_driven else "match"),
                "steps": [{"step": n, "action": a, "model": m, "observed": ob} for n, a, m, ob in o.rows],
                "mismatch": None if o.mismatch is None else {
                    "step": o.mismatch.step, "action": o.mismatch.action, "variable": o.mismatch.variable,
                    "model": o.mismatch.model, "observed": o.mismatch.observed,
                    "replay": replay_command(j.trace)},
                "error": o.error or o.not_driven or None})
        for r in rows:
            cell = rows[r].get(b.name)
            if cell is not None and "traces" in cell:
                st = {t["status"] for t in cell["traces"]}
                cell["status"] = "mismatch" if "mismatch" in st else "incomplete" if "incomplete" in st else "match"
    every = [o for _, outs, _ in results for _, o in outs]
    verdict = ("MISMATCH" if any(o.mismatch for o in every) else
               "incomplete" if failure or not every or any(o.error or o.not_driven for o in every) else "conforms")
    print(json.dumps({"backends": [{"name": b.name, "client": b.client, "title": b.title} for b, _, _ in results],
                      "rows": rows, "error": failure or None, "seconds": round(seconds, 1), "verdict": verdict},
                     indent=2, sort_keys=False))
