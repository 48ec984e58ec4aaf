"""`checker conform`: the command plugin (entry-point group `checker.commands`).

The checker builds its parser from this module on every run, so it imports nothing
heavy: the client, the harness and the search are imported inside run().
Exit codes (EXIT_CODES, listed by `--help`): 0 every step of every replayed trace
matched; 1 a mismatch; 2 bad input (one line); 3 incomplete: the client failed or timed
out, so some trace was neither matched nor not, or nothing could be replayed (only rows
that are not driven).
"""

from __future__ import annotations

import argparse
import sys
import time

HELP = "replay the model's traces on a real Kafka client (confluent-kafka on a mock cluster)"
DESCRIPTION = ("Replay the shortest traces of the kafka model and of the group model's matrix rows, and "
               "seeded random walks, on confluent-kafka (librdkafka) against its in-process mock "
               "cluster, comparing after every step what the client shows (log end, committed offset, "
               "records processed and in hand, position) with the model's state. By default the kafka "
               "model and every matrix row; `kafka` and --config ID choose.")
EXIT_CODES = [(0, "every step of every replayed trace matched"), (1, "a mismatch: a step where the client "
              "shows another value than the model"), (2, "bad input (a one-line message on stderr, no traceback)"),
              (3, "incomplete: the client failed or timed out, or nothing could be replayed")]
DEFAULT_WALKS, DEFAULT_LENGTH, DEFAULT_SEED = 1, 10, 1


def _count(text: str) -> int:
    """A whole number in ASCII digits (no sign, `_` or spaces), at most 10^18."""
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    if len(text.lstrip("0")) > 19 or int(text) > 10**18:
        raise argparse.ArgumentTypeError(f"expected a whole number up to 10^18, got {text!r}")
    return int(text)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", nargs="?", metavar="kafka",
                   help="the kafka model's traces (with --config: these rows too; default: everything)")
    p.add_argument("--config", action="append", default=[], metavar="ID",
                   help="only this matrix row (repeatable; default: every row the harness can drive)")
    p.add_argument("--walks", type=_count, default=DEFAULT_WALKS, metavar="N",
                   help=f"random walks per instance (default {DEFAULT_WALKS})")
    p.add_argument("--length", type=_count, default=None, metavar="N",
                   help=f"steps per random walk (default {DEFAULT_LENGTH})")
    p.add_argument("--seed", type=_count, default=None, metavar="N",
                   help=f"seed of the first walk; walk k uses seed+k (default {DEFAULT_SEED})")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print every step's values, the model's and the client's")


def run(args: argparse.Namespace) -> int:
    from checker import CheckerError

    from .cluster import client_version
    from .harness import replay_on_client
    from .report import print_outcome, print_summary
    from .traces import KAFKA, plan

    if args.model not in (None, KAFKA):
        raise CheckerError(f"conform drives the {KAFKA} model itself and the group model through its matrix "
                           f"rows: give {KAFKA} or --config ID, not {args.model!r}")
    if args.walks == 0 and (args.length is not None or args.seed is not None):
        raise CheckerError("--length and --seed shape the random walks; with --walks 0 there are none: drop them")
    length = DEFAULT_LENGTH if args.length is None else args.length
    if length == 0 and args.walks:
        raise CheckerError("--length must be at least 1 (or use --walks 0)")
    version = client_version()  # no client: a one-line error before any search
    ids = ([KAFKA] if args.model else []) + args.config
    jobs, skipped = plan(ids, args.walks, length, DEFAULT_SEED if args.seed is None else args.seed)

    print(f"conformance: model traces replayed on {version}, in-process mock cluster (1 broker)")
    start = time.perf_counter()
    outcomes = []
    for job in jobs:
        out = replay_on_client(job.trace, record=args.verbose)
        outcomes.append((job, out))
        print_outcome(job, out, verbose=args.verbose)
        sys.stdout.flush()
    for s in skipped:
        print(f"  {s.row}: not driven: {s.reason}")
    print_summary(outcomes, skipped, time.perf_counter() - start)
    if any(o.mismatch for _, o in outcomes):
        return 1
    # Nothing replayed (only rows that cannot be driven) confirms nothing: incomplete, like a client error.
    return 3 if not outcomes or any(o.error for _, o in outcomes) else 0
