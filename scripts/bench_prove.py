"""Benchmark the proofs of the matrix: seconds per row, each cell proved or why not.

`python scripts/bench_prove.py` proves every cell that holds in the `group` rows (as
`checker matrix --prove` does) and prints one line per cell: row, property, verdict,
the row's proof seconds (wall clock and CPU), then the total. `--model pipeline` (or
`--model all`) takes the pipeline's rows; `--config ID` (repeatable) only those rows;
`--timeout S` bounds each row's proof (default 120). A benchmark: it measures and never
fails on a slow machine (speed is measured here, never by a timed test).
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from checker.proofs.prove import prove  # noqa: E402
from checker.registry import configs, get_model  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="group", choices=("group", "pipeline", "all"))
    ap.add_argument("--config", action="append", default=[], metavar="ID")
    ap.add_argument("--timeout", type=float, default=120.0, metavar="S")
    args = ap.parse_args()
    known = configs()
    for c in args.config:
        if c not in known:
            sys.exit(f"bench_prove: unknown configuration {c!r}")
    rows = [known[c] for c in args.config] if args.config else \
        [c for c in known.values() if args.model in ("all", c.model)]
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for cfg in rows:
        holds = [p for p, v in cfg.expect.items() if v == "holds"]
        if not holds:
            continue
        model = get_model(cfg.model)
        on = list(cfg.failures)
        off = [f for f in model.failure_modes if f not in on]
        w, c = time.perf_counter(), time.process_time()
        r = prove(model, dict(cfg.params), None, on, off, timeout=args.timeout, properties=holds, expect=cfg.expect)
        w, c = time.perf_counter() - w, time.process_time() - c
        for p in r.properties:
            print(f"{cfg.id:28s} {p.name:26s} {p.verdict:8s} {w:7.1f} s wall {c:7.1f} s cpu  {r.claim()}", flush=True)
    print(f"total {time.perf_counter() - wall0:.1f} s wall, {time.process_time() - cpu0:.1f} s cpu")


if __name__ == "__main__":
    main()
