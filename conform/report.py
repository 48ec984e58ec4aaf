"""Text output of `conform`: one line per replayed trace, the mismatch in full, a summary line."""

from __future__ import annotations

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


def print_summary(outcomes: list[tuple[Any, Outcome]], skipped: list[Any], seconds: float) -> None:
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
        print("verdict: nothing replayed")
    else:
        print("verdict: " + ("conforms" if not bad and not errors else "MISMATCH" if bad else "incomplete"))
