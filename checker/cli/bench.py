"""`checker bench`: the `partitions` ladder, one whole process per size.

Each size runs as its own `python -m checker verify ... --json` so the figures are
honest: the process's wall time includes start-up, building the model and compiling
it, and the peak memory is that process's alone (from wait4's resource usage). The
search's own `seconds`, the liveness check's seconds and the bytes per state come
from the run's JSON. A benchmark, not a test: it prints figures and never fails on a
slow machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from rich import box
from rich.table import Table

from checker import interrupt
from checker.errors import CheckerError
from checker.lang.declare import MAX_ARRAY_SIZE

__all__ = ["LADDER", "BIG", "Row", "measure", "parse_size", "run", "table"]

LADDER = [(2, 3, 2), (3, 3, 2), (3, 4, 2)]  # (partitions, messages, max_crashes)
BIG = [(3, 5, 3)]


@dataclass
class Row:
    size: tuple[int, int, int]
    states: int
    transitions: int
    search_seconds: float
    process_seconds: float
    peak_rss: int  # bytes
    bytes_per_state: float | None
    complete: bool
    full_states: int | None = None
    liveness_seconds: float | None = None  # deciding the eventually properties, after the search

    @property
    def rate(self) -> float | None:
        # A tiny model can finish inside the clock's resolution; no rate beats a made-up one.
        return self.states / self.search_seconds if self.search_seconds > 0 else None

    def json(self) -> dict:
        p, m, k = self.size
        return {"partitions": p, "messages": m, "max_crashes": k, "states": self.states,
                "transitions": self.transitions, "search_seconds": round(self.search_seconds, 3),
                "process_seconds": round(self.process_seconds, 3), "states_per_second": round(self.rate) if self.rate is not None else None,
                "peak_rss_mb": round(self.peak_rss / 2**20, 1),
                "bytes_per_state": round(self.bytes_per_state, 1) if self.bytes_per_state else None,
                "complete": self.complete,
                **({"liveness_seconds": round(self.liveness_seconds, 3)} if self.liveness_seconds is not None else {}),
                **({"states_without_symmetry": self.full_states} if self.full_states else {})}


def parse_size(text: str) -> tuple[int, int, int]:
    """`--size P,M,K`: three ASCII whole numbers, P and M from 1 to the longest array (one per
    partition, one per message), K from 0."""
    parts = text.split(",")
    if len(parts) != 3 or not all(x.isascii() and x.isdigit() and len(x) <= 19 for x in parts):
        raise CheckerError(f"--size {text!r}: write PARTITIONS,MESSAGES,MAX_CRASHES, e.g. --size 3,4,2")
    p, m, k = (int(x) for x in parts)
    if not (1 <= p <= MAX_ARRAY_SIZE and 1 <= m <= MAX_ARRAY_SIZE):
        raise CheckerError(f"--size {text!r}: partitions and messages must be from 1 to {MAX_ARRAY_SIZE}, "
                           "max_crashes at least 0")
    return p, m, k


# The safety properties of `partitions`: what TLC and SPIN check in the reference figures.
SAFETY = ["no-loss", "duplicate-delivery"]


def measure(size: tuple[int, int, int], engine: str, symmetry: bool = False,
            extra: list[str] | None = None, liveness: bool = False) -> Row:
    """Run one size in a fresh process and measure it: the safety properties only, or with
    liveness every property (all-processed too, which needs the transition graph)."""
    p, m, k = size
    only = [] if liveness else [a for name in SAFETY for a in ("--property", name)]
    cmd = [sys.executable, "-m", "checker", "verify", "partitions", "-p", f"partitions={p}",
           "-p", f"messages={m}", "-p", f"max_crashes={k}", "--engine", engine, "--json",
           *only, *(["--symmetry"] if symmetry else []), *(extra or [])]
    code, out, err, wall, rss = _run_child(cmd)
    if code not in (0, 1, 3):  # 1 and 3 still print a result: a verdict against expectation, a limit
        last = err.strip().splitlines()[-1] if err.strip() else f"exit code {code}"
        raise CheckerError(f"bench: `{' '.join(cmd[1:])}` failed: {last}")
    d = json.loads(out)
    return Row(size, d["states"], d["transitions"], d["seconds"], wall, rss, d.get("bytes_per_state"),
               d["complete"], d.get("states_without_symmetry"), d.get("liveness_seconds"))


def _run_child(cmd: list[str]) -> tuple[int, str, str, float, int]:
    """Run cmd; return its exit code, stdout, stderr, wall seconds and peak RSS in bytes."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        interrupt.adopt(proc)  # an interrupted bench leaves no run behind
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            interrupt.release(proc)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: tell Popen
        out.seek(0)
        err.seek(0)
        rss = usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024
        return proc.returncode, out.read(), err.read(), wall, rss


def table(rows: list[Row], title: str) -> Table:
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=title, title_justify="left")
    for col in ("P,M,K", "states", "transitions", "search s", "liveness s", "process s",
                "states/s", "peak RSS MB", "bytes/state"):
        t.add_column(col, justify="left" if col == "P,M,K" else "right")
    for r in rows:
        states = f"{r.states:,}" + (f" (of {r.full_states:,})" if r.full_states else "")
        t.add_row(",".join(map(str, r.size)), states + ("" if r.complete else " INCOMPLETE"),
                  f"{r.transitions:,}", f"{r.search_seconds:.2f}",
                  f"{r.liveness_seconds:.2f}" if r.liveness_seconds is not None else "-", f"{r.process_seconds:.2f}",
                  f"{r.rate:,.0f}" if r.rate is not None else "-", f"{r.peak_rss / 2**20:,.0f}",
                  f"{r.bytes_per_state:.1f}" if r.bytes_per_state else "-")
    return t


def run(sizes: list[tuple[int, int, int]], engine: str, repeat: int, symmetry: bool,
        progress=None, liveness: bool = False) -> list[Row]:
    """Each size `repeat` times; keep the run with the shortest whole-process time."""
    rows = []
    for size in sizes:
        best = None
        for _ in range(repeat):
            if progress:
                progress(size)
            r = measure(size, engine, symmetry, liveness=liveness)
            if best is None or r.process_seconds < best.process_seconds:
                best = r
        rows.append(best)
    return rows
