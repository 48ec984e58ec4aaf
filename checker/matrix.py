"""The matrix: named configurations down, properties across, every cell decided by search.

A model package may publish `CONFIGS`, a list of `Config` (`config.py`): a model,
parameters and failure modes, plus the verdict its source (a catalogue, a paper)
expects for some properties. `run_matrix` checks each configuration once (the
explicit engine unless told otherwise); a cell is "holds" (with the states explored)
or "violated" (with the shortest trace), and the row says whether the search agrees
with the source. A configuration may apply remedies (`Config.remedies`); `fixed_by`
names, for every violated cell, the rows whose remedies the model package says address
it (its `FIXES`) and where the search shows the same cell holding. Nothing here knows
what the properties or the remedies mean.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from checker.api import Options, check
from checker.config import Config, build_config
from checker.errors import CheckerError
from checker.engines.replay import replay_command
from checker.explain import explain
from checker.outputs import Staging
from checker.result import Result, Trace, Verdict

__all__ = ["Config", "Row", "build_config", "columns_of", "by_model", "run_matrix", "fixed_by", "prove_rows",
           "matrix_json", "fixed_by_text",
           "matrix_markdown", "trace_page", "write_trace_pages", "TRACE_DIR"]

TRACE_DIR = "docs/traces"  # where `matrix --markdown` links point (relative to the README)


def columns_of(configs: Iterable[Config]) -> list[str]:
    """The properties the configurations have expectations for, in first-seen order."""
    out: list[str] = []
    for c in configs:
        out += [p for p in c.expect if p not in out]
    return out


@dataclass
class Row:
    config: Config
    result: Result
    proof: Any = None  # the row's ProveResult (checker/proofs/prove.py) after `prove_rows`
    fixed_by: dict[str, list[str]] = field(default_factory=dict)  # violated column -> rows that hold it (`fixed_by`)

    def cell(self, column: str) -> dict[str, Any] | None:
        """verdict, states, trace_length and proved: None unless the row was proved
        (`prove_rows`); then a cell that holds has proved true or false and `proof`, the
        size claim or the reason it is not proved."""
        try:
            p = self.result.prop(column)
        except (CheckerError, KeyError):
            return None  # this row's model has no such property
        out = {"verdict": p.verdict, "states": self.result.states,
               "trace_length": len(p.trace.steps) - 1 if p.trace else None, "proved": None}
        if self.proof is not None:
            out["proof"] = None
            q = next((q for q in self.proof.properties if q.name == column), None)
            if q is not None:
                out["proved"] = q.verdict == Verdict.PROVED
                out["proof"] = {"claim": self.proof.claim()} if out["proved"] else \
                    {"verdict": q.verdict, "reason": proof_reason(q)}
        return out

    def proofs_agree(self) -> bool | None:
        """After `prove_rows`: False if a cell that holds was refuted for some size, None if
        one is unknown, True when every such cell is proved (or there was none)."""
        if self.proof is None:
            return True
        got = [q.verdict for q in self.proof.properties]
        if Verdict.REFUTED in got:
            return False
        return None if Verdict.UNKNOWN in got else True


    def agrees(self) -> bool | None:
        """True when every expected verdict was found, False on a disagreement, None if undecided."""
        got = [self.result.prop(name).as_expected for name in self.config.expect]
        if any(g is False for g in got):
            return False
        return None if any(g is None for g in got) else True


def proof_reason(q: Any) -> str:
    """Why a cell that holds is not proved, in one line."""
    if q.verdict == Verdict.REFUTED and q.trace is not None:
        shown = " ".join(f"{k}={v}" for k, v in q.trace.system.params.items() if isinstance(v, int))
        return f"refuted: violated in {len(q.trace.steps) - 1} steps at {shown}"
    return q.reason or "not proved"


def prove_rows(rows: list[Row], get_model: Callable[[str], Any], timeout: float,
               progress: Callable[[Config, bool], None] | None = None,
               say: Callable[[str], None] | None = None, jobs: int = 1) -> None:
    """Prove every cell that holds, for every size (`prove` with the row's model,
    parameters, failure modes and expectations; `timeout` seconds per row).

    jobs > 1: that many rows at once, each in a fresh worker process (spawned, one row
    each), so a row's proof is the same whichever rows ran before it. progress(cfg, done):
    as a row's proof starts (done False; one row at a time) or arrives (done True, in the
    order they end, with jobs > 1, where `say` is not used). A row with
    no size to make symbolic (every parameter structural or given) is not searched: its
    cells are unknown for every size, with that reason."""
    from checker.proofs.prove import default_unbounded

    todo = []
    for r in rows:
        holds = [p.name for p in r.result.properties
                 if p.verdict == Verdict.HOLDS and p.kind == "always" and p.name in r.config.expect]
        if not holds:
            continue
        model = get_model(r.config.model)
        if not default_unbounded(model, r.config.params, r.config.failures):
            r.proof = _fixed_sizes(model, r.config, holds)
            continue
        todo.append((r, holds))
    if jobs <= 1 or len(todo) < 2:
        for r, holds in todo:
            if progress is not None:
                progress(r.config, False)
            r.proof = prove_row(get_model, r.config, holds, timeout, say)
        return
    import multiprocessing
    # spawn, not fork: the parent holds Z3 and threads; one row per process keeps Z3's term ids,
    # and with them the invariant printed, independent of which rows a worker proved before
    pool = multiprocessing.get_context("spawn").Pool(min(jobs, len(todo)), maxtasksperchild=1)
    try:
        # the rows with the most states first, so that a long proof does not start last
        order = sorted(range(len(todo)), key=lambda k: -todo[k][0].result.states)
        pending = {k: pool.apply_async(_prove_summary, ((get_model, todo[k][0].config, todo[k][1], timeout),))
                   for k in order}
        while pending:  # as each proof arrives, whichever row it is
            done = [k for k in order if k in pending and pending[k].ready()]
            if not done:
                pending[next(k for k in order if k in pending)].wait(0.2)
            for k in done:
                todo[k][0].proof = pending.pop(k).get()
                if progress is not None:
                    progress(todo[k][0].config, True)
    finally:
        pool.terminate()
        pool.join()


def prove_row(get_model: Callable[[str], Any], cfg: Config, holds: list[str], timeout: float,
              say: Callable[[str], None] | None = None) -> Any:
    """One row's proof of the cells that hold (its ProveResult)."""
    from checker.proofs.prove import prove

    model = get_model(cfg.model)
    on = list(cfg.failures)
    off = [f for f in model.failure_modes if f not in on]
    proof = prove(model, dict(cfg.params), None, on, off, timeout=timeout, progress=say, properties=holds,
                  expect=cfg.expect)
    proof.config = cfg.id
    return proof


def _prove_summary(job: tuple) -> Any:
    """A worker's row: its proof as the matrix shows it (picklable)."""
    return prove_row(*job).summary(proof_reason)


def _fixed_sizes(model: Any, cfg: Config, holds: list[str]) -> Any:
    """The proof of a row whose every integer parameter is structural or given: nothing
    for every size, each cell unknown with the reason (the search decided the instance)."""
    from checker.proofs.prove import ProveProperty, ProveResult

    off = {f.budget for n, f in model.failure_modes.items() if n not in cfg.failures}
    params = {k: v for k, v in model.resolve_params(dict(cfg.params)).items() if k not in off}
    out = ProveResult(model.name, params, [], list(cfg.failures), 0.0, [], config=cfg.id)
    why = (f"no size to prove for every value: every size and budget of this row is structural or given "
           f"({out.given()}); the search decided this instance only")
    out.properties = [ProveProperty(n, "always", cfg.expect.get(n), Verdict.UNKNOWN, reason=why) for n in holds]
    return out


def run_matrix(configs: list[Config], get_model: Callable[[str], Any],
               progress: Callable[[Config], None] | None = None, options: Options | None = None,
               fixes: Callable[[Config, Config], Iterable[str]] | None = None) -> list[Row]:
    """Check every configuration once (options: the engine and limits; default the explicit engine),
    then fill each row's `fixed_by` (fixes: default the model packages' `FIXES`)."""
    options = Options(engine="explicit") if options is None else options
    if options.engine == "bmc":  # a cell that holds says how many states were explored
        raise CheckerError("the matrix needs an explicit-state engine (fast or explicit): its cells count states")
    rows = []
    for cfg in configs:
        if progress is not None:
            progress(cfg)
        rows.append(Row(cfg, check(build_config(cfg, get_model(cfg.model)), options)))
    if fixes is None:
        from checker.registry import fixes as registered
        fixes = registered()
    fixed_by(rows, fixes)
    return rows


def _verdict(row: Row, column: str) -> str | None:
    cell = row.cell(column)
    return None if cell is None else cell["verdict"]


def fixed_by(rows: list[Row], fixes: Callable[[Config, Config], Iterable[str]]) -> None:
    """Set each row's `fixed_by`: for every violated cell, the rows that apply a remedy `fixes`
    says addresses that cell, and whose same cell (the same property, whichever model the row
    is of) the search found holding.

    Only rows of this run count (a verdict, never a table's word): `matrix --config A` alone
    names no fixes.
    """
    for x in rows:
        x.fixed_by = {}
        for column in x.result.properties:
            if column.verdict != Verdict.VIOLATED:
                continue
            x.fixed_by[column.name] = [
                y.config.id for y in rows
                if y is not x and y.config.remedies
                and column.name in set(fixes(x.config, y.config)) and _verdict(y, column.name) == Verdict.HOLDS]


def fixed_by_text(row: Row, columns: list[str], code: str = "") -> str:
    """`no-loss: a, b; in-order: c` for the row's violated cells that some row fixes ("" if none);
    `code` wraps each name (a backquote in markdown)."""
    return "; ".join(f"{code}{c}{code}: " + ", ".join(f"{code}{y}{code}" for y in row.fixed_by[c])
                     for c in columns if row.fixed_by.get(c))


def by_model(rows: list[Row], columns: list[str]) -> list[tuple[str, list[Row], list[str]]]:
    """The rows split by model (first-seen order), each part with the columns its model has."""
    out: list[tuple[str, list[Row], list[str]]] = []
    for model in dict.fromkeys(r.config.model for r in rows):
        part = [r for r in rows if r.config.model == model]
        cols = [c for c in columns if any(r.cell(c) is not None for r in part)]
        out.append((model, part, cols))
    return out


def matrix_json(rows: list[Row], columns: list[str]) -> dict[str, Any]:
    return {"columns": columns,
            "rows": [{"id": r.config.id, "description": r.config.description,
                      "settings": r.config.settings(), "remedies": list(r.config.remedies),
                      "cells": {c: r.cell(c) for c in columns},
                      "fixed_by": {c: r.fixed_by[c] for c in columns if c in r.fixed_by}} for r in rows]}


def trace_link(config_id: str, column: str, trace_dir: str = TRACE_DIR) -> str:
    return f"{trace_dir}/{config_id}.md#{column}"


def cell_text(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return "-"
    if cell["verdict"] == Verdict.HOLDS:
        proof = {True: ", proved for every size", False: ", not proved for every size"}.get(cell["proved"], "")
        return f"holds ({cell['states']:,} states)" + proof
    if cell["trace_length"] is not None:
        return f"{cell['verdict']}, {cell['trace_length']} steps"
    return cell["verdict"]


def matrix_markdown(rows: list[Row], columns: list[str], trace_dir: str = TRACE_DIR) -> str:
    """The matrix as markdown, one table per model; a violated cell links to its trace page."""
    parts = by_model(rows, columns)
    if len(parts) == 1:
        return _markdown_table(rows, parts[0][2], trace_dir)
    return "\n".join(f"Model `{model}`:\n\n" + _markdown_table(part, cols, trace_dir) for model, part, cols in parts)


def _markdown_table(rows: list[Row], columns: list[str], trace_dir: str) -> str:
    lines = ["| configuration | settings | " + " | ".join(f"`{c}`" for c in columns) + " | source | fixed by |",
             "|---|---|" + "---|" * len(columns) + "---|---|"]
    for r in rows:
        cells = []
        for c in columns:
            cell = r.cell(c)
            text = cell_text(cell)
            if cell is not None and cell["trace_length"] is not None:
                text = f"[{text}]({trace_link(r.config.id, c, trace_dir)})"
            if c in r.config.expect and r.result.prop(c).as_expected is False:
                text += f" **(source: {r.config.expect[c]})**"
            cells.append(text)
        lines.append(f"| `{r.config.id}`: {r.config.description} | `{r.config.settings_line()}` | "
                     + " | ".join(cells) + f" | {r.config.source} | {fixed_by_text(r, columns, '`')} |")
    return "\n".join(lines) + "\n"


def trace_page(row: Row) -> str:
    """A markdown page with the shortest trace of every violated property of one row."""
    cfg, res = row.config, row.result
    out = [f"# `{cfg.id}`", "", cfg.description, "",
           f"Settings: `{cfg.settings_line()}` (model `{cfg.model}`); source: {cfg.source}.", "",
           f"Re-run: `checker verify --config {cfg.id}`", ""]
    for p in res.properties:
        if p.trace is None:
            continue
        out += [f"## {p.name}", "", f"{p.verdict} in {len(p.trace.steps) - 1} steps (a shortest trace).", ""]
        out += _trace_table(p.trace)
        out += ["", f"Replay: `{replay_command(p.trace)}`", ""]
    if not any(p.trace for p in res.properties):
        out += ["Every property holds: there is no trace to show.", ""]
    return "\n".join(out)


def _trace_table(trace: Trace) -> list[str]:
    lines = ["| step | action | description | what changed |", "|---|---|---|---|"]
    for st in explain(trace):
        if st.action is None:
            lines.append(f"| 0 | (initial) | {st.description} | {trace.system.show_state(st.state)} |")
        else:
            lines.append(f"| {st.step} | `{st.name}` | {st.description} | {', '.join(st.changed) or 'nothing'} |")
    return lines


def write_trace_pages(rows: list[Row], directory: str) -> list[str]:
    """Write one trace page per row into `directory`, all renamed into place together
    (`checker/outputs.py`: a failure or an interrupt leaves the pages there as they were);
    return the paths written."""
    with Staging(directory, f"the previous {directory}") as staging:
        for r in rows:
            staging.file(f"{r.config.id}.md", trace_page(r))
        staging.commit()
    return [os.path.join(directory, f"{r.config.id}.md") for r in rows]
