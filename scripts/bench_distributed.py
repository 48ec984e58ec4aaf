"""Benchmark the distributed engine on `partitions` against the single-process fast engine.

`python scripts/bench_distributed.py --size 3,4,2 --workers 2` runs, in a child process
each (so each peak is its own): the fast engine (`checker verify` with the safety
properties), then a local Ray cluster of `--workers` workers searching the same instance.
It prints states, transitions, the search seconds on the running cluster, states per
second per worker, the bytes sent from worker to worker and to and from the command per
state, each worker's peak resident memory (of which its states' arrays) and its ratio to
the fast engine's whole process, and the command's peak. A benchmark: it measures and
never fails on a slow machine (speed is measured here, never by a timed test).
"""

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

SAFETY = ("no-loss", "duplicate-delivery")

_CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, {root!r})
from checker import Options, check
from spec import partitions
params = {params!r}
system = partitions.build(params)
if {workers} == 0:
    r = check(system, Options(properties={safety!r}))
    extra = {{}}
else:
    import ray
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus={workers}, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    r = check(system, Options(engine="distributed", workers={workers}, properties={safety!r}))
    extra = {{"resident": r.resident_per_worker, "arrays": r.arrays_per_worker, "sent": r.bytes_sent}}
    ray.shutdown()
print(json.dumps({{"states": r.states, "transitions": r.transitions, "seconds": r.seconds,
                  "complete": r.complete, "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  **extra}}))
"""


def _run(params: dict, workers: int) -> dict:
    code = _CHILD.format(root=ROOT, params=params, workers=workers, safety=SAFETY)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        sys.exit(f"bench_distributed: the run failed:\n{out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="3,4,2", metavar="P,M,K")
    ap.add_argument("--workers", type=int, default=2, metavar="N")
    args = ap.parse_args()
    try:
        p, m, k = (int(x) for x in args.size.split(","))
    except ValueError:
        sys.exit(f"bench_distributed: --size takes P,M,K (three integers), not {args.size!r}")
    if args.workers < 1:
        sys.exit("bench_distributed: --workers takes a positive number")
    params = {"partitions": p, "messages": m, "max_crashes": k}
    load = os.getloadavg()[0]
    print(f"partitions P,M,K={args.size}, safety properties, {args.workers} local workers, "
          f"load average {load:.1f} at the start")
    fast = _run(params, 0)
    dist = _run(params, args.workers)
    states = dist["states"]
    mb = 2 ** 20
    rows = [
        ("states, transitions", f"{states:,}, {dist['transitions']:,} (fast engine: {fast['states']:,}, "
                                f"{fast['transitions']:,})"),
        ("search on the running cluster", f"{dist['seconds']:.1f} s (fast engine: {fast['seconds']:.1f} s)"),
        ("states per second per worker", f"{states / max(dist['seconds'], 1e-9) / args.workers:,.0f}"),
        ("bytes sent from worker to worker per state", f"{dist['sent'] / max(states, 1):.1f}"),
        ("bytes to and from the command per state", "16 (the keys and ranks)"),
        ("peak resident memory per worker", ", ".join(f"{r / mb:,.0f} MB" for r in dist["resident"])),
        ("of which the states' arrays", ", ".join(f"{a / mb:,.0f} MB" for a in dist["arrays"])
         + f" ({sum(dist['arrays']) / max(states, 1):.1f} bytes per state)"),
        ("fast engine's whole process", f"{fast['peak'] / mb:,.0f} MB"),
        ("largest worker / fast engine", f"{max(dist['resident']) / fast['peak']:.2f}"),
        ("the command's peak resident memory", f"{dist['peak'] / mb:,.0f} MB"),
    ]
    if not (dist["complete"] and fast["complete"]):
        rows.append(("complete", f"distributed {dist['complete']}, fast {fast['complete']}"))
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


if __name__ == "__main__":
    main()
