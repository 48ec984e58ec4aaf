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
import re
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

__all__ = ["LADDER", "BIG", "Row", "SpinRow", "measure", "measure_spin", "parse_size", "run", "table",
           "spin_table"]

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
    depth: int = 0

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
               d["complete"], d.get("states_without_symmetry"), d.get("liveness_seconds"), d["depth"])


@dataclass
class SpinRow:
    """SPIN on the same instance: the Promela the checker writes (checker/render/promela.py),
    `spin -a`, the C compiler, then `pan`; its stored states should equal the checker's."""

    size: tuple[int, int, int]
    states: int
    pan_seconds: float  # the search alone (pan's process)
    whole_seconds: float  # spin -a, cc and pan: SPIN's whole way from the model to the answer
    peak_rss: int  # pan's, bytes
    errors: int

    def json(self) -> dict:
        p, m, k = self.size
        return {"partitions": p, "messages": m, "max_crashes": k, "spin_states": self.states,
                "pan_seconds": round(self.pan_seconds, 3), "spin_whole_seconds": round(self.whole_seconds, 3),
                "spin_peak_rss_mb": round(self.peak_rss / 2**20, 1), "spin_errors": self.errors}


def measure_spin(size: tuple[int, int, int], ours: Row) -> SpinRow:
    """Export `partitions` at `size` to Promela and search it with SPIN (no partial-order
    reduction: one process; hash table sized from our state count, depth from our depth)."""
    import shutil

    from checker.registry import get_model
    from checker.render.promela import promela
    missing = [t for t in ("spin", "cc") if shutil.which(t) is None]
    if missing:
        raise CheckerError(f"bench --spin needs {' and '.join(missing)}: install SPIN and a C compiler "
                           "(e.g. `apt-get install spin gcc`)")
    p, m, k = size
    system = get_model("partitions").build({"partitions": p, "messages": m, "max_crashes": k})
    with tempfile.TemporaryDirectory(prefix="bench-spin-") as work:
        with open(os.path.join(work, "model.pml"), "w") as f:
            f.write(promela(system.only(["no-loss"])))
        start = time.perf_counter()
        for cmd in (["spin", "-a", "model.pml"], ["cc", "-O2", "-DSAFETY", "-DNOREDUCE", "-DMEMLIM=100000",
                                                   "-o", "pan", "pan.c"]):
            done = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
            if done.returncode != 0:
                raise CheckerError(f"bench: `{' '.join(cmd)}` failed: {(done.stderr or done.stdout).strip()[-300:]}")
        w = max(18, ours.states.bit_length())
        code, out, err, pan_wall, rss = _run_child([os.path.join(work, "pan"), f"-m{ours.depth + 10}", f"-w{w}"],
                                                   cwd=work)
        whole = time.perf_counter() - start
    stored = re.search(r"(\d+) states, stored", out)
    errors = re.search(r"errors: (\d+)", out)
    if stored is None or errors is None:
        raise CheckerError(f"bench: pan printed no state count (exit {code}): {(err or out).strip()[-300:]}")
    return SpinRow(size, int(stored.group(1)), pan_wall, whole, rss, int(errors.group(1)))


def spin_table(rows: list[Row], spins: list[SpinRow], title: str) -> Table:
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=title, title_justify="left")
    for col in ("P,M,K", "states", "SPIN states", "checker process s", "SPIN pan s", "SPIN whole s",
                "checker / SPIN whole", "checker MB", "SPIN MB"):
        t.add_column(col, justify="left" if col == "P,M,K" else "right")
    for r, sp in zip(rows, spins):
        same = "" if sp.states == r.states else " DIFFERS"
        t.add_row(",".join(map(str, r.size)), f"{r.states:,}", f"{sp.states:,}{same}", f"{r.process_seconds:.2f}",
                  f"{sp.pan_seconds:.2f}", f"{sp.whole_seconds:.2f}", f"{r.process_seconds / sp.whole_seconds:.2f}",
                  f"{r.peak_rss / 2**20:,.0f}", f"{sp.peak_rss / 2**20:,.0f}")
    return t


def _run_child(cmd: list[str], cwd: str | None = None) -> tuple[int, str, str, float, int]:
    """Run cmd; return its exit code, stdout, stderr, wall seconds and peak RSS in bytes."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, cwd=cwd)
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
