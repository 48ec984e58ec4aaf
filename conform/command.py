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

HELP = "replay the model's traces on real Kafka clients (librdkafka's mock cluster, or a real broker)"
DESCRIPTION = ("Replay the shortest traces of the kafka model and of the group and pipeline models' matrix rows, and "
               "seeded random walks, on confluent-kafka (librdkafka) against its in-process mock "
               "cluster, comparing after every step what the client shows (log end, committed offset, "
               "records processed and in hand, position) with the model's state. By default the kafka "
               "model and every matrix row; `kafka` and --config ID choose. --backend kafka replays them on a real "
               "Apache Kafka broker with librdkafka and the Java consumer, --backend all on every backend.")
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
    p.add_argument("--backend", choices=("mock", "kafka", "all"), default="mock",
                   help="mock: librdkafka on its in-process mock cluster (default); kafka: librdkafka and the "
                        "Java consumer (group.protocol classic and consumer) on a real Apache Kafka broker the "
                        "command starts (Java 17 and Maven; the jars are resolved once into .cache/); all: both")
    p.add_argument("--json", action="store_true",
                   help="print JSON: per row and backend, each trace's steps with the model's and the observed values")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print every step's values, the model's and the client's")


def run(args: argparse.Namespace) -> int:
    from checker import CheckerError

    from .backends import chosen
    from .cluster import ClientFailure, client_version
    from .harness import replay_on_client
    from .report import print_header, print_json, print_outcome, print_summary, print_table
    from .traces import KAFKA, plan

    if args.model not in (None, KAFKA):
        raise CheckerError(f"conform drives the {KAFKA} model itself and the group and pipeline models through "
                           f"their matrix rows: give {KAFKA} or --config ID, not {args.model!r}")
    if args.walks == 0 and (args.length is not None or args.seed is not None):
        raise CheckerError("--length and --seed shape the random walks; with --walks 0 there are none: drop them")
    if args.json and args.verbose:
        raise CheckerError("--json has every step's values already: drop -v")
    length = DEFAULT_LENGTH if args.length is None else args.length
    if length == 0 and args.walks:
        raise CheckerError("--length must be at least 1 (or use --walks 0)")
    version = client_version()  # no client: a one-line error before any search
    backends = chosen(args.backend)
    ids = ([KAFKA] if args.model else []) + args.config
    seed = DEFAULT_SEED if args.seed is None else args.seed
    plans = [(b, *plan(ids, args.walks, length, seed, b)) for b in backends]  # bad ids: exit 2 before a cluster

    kafka, failure = None, ""
    if any(b.real for b in backends):
        from .backends import RealKafka
        from .realcluster import KAFKA_VERSION

        kafka = RealKafka()  # the jars resolved (once) and the harness compiled, or a one-line error
    text = not args.json
    if text:
        print(f"conformance: model traces replayed on {version}" +
              (", in-process mock cluster (1 broker)" if args.backend == "mock" else
               f" and Apache Kafka {KAFKA_VERSION}'s Java client, against "
               + ("librdkafka's mock cluster and " if args.backend == "all" else "")
               + f"Apache Kafka {KAFKA_VERSION} (KRaft, 1 broker)"))
    start = time.perf_counter()
    results = []  # (backend, [(job, outcome)], skipped)
    try:
        if kafka is not None:
            try:
                kafka.start()
            except ClientFailure as e:
                failure = f"starting the Kafka cluster: {e}"
        for b, jobs, skipped in plans:
            outcomes = []
            if text and len(backends) > 1:
                print_header(b)
            for job in jobs:
                if b.real and failure:
                    break
                out = replay_on_client(job.trace, record=args.verbose or args.json, backend=b, kafka=kafka)
                outcomes.append((job, out))
                if kafka is not None and (out.mismatch or out.error):
                    kafka.failed = True
                if text:
                    print_outcome(job, out, verbose=args.verbose)
                    sys.stdout.flush()
            if text:
                for sk in skipped:
                    print(f"  {sk.row}: not driven: {sk.reason}")
            results.append((b, outcomes, skipped))
    finally:
        if kafka is not None:
            kept = kafka.stop()
            if kept and text:
                print(f"the Kafka cluster's logs are kept in {kept}")
    seconds = time.perf_counter() - start
    everything = [o for _, outs, _ in results for o in outs]
    if args.json:
        print_json(results, failure, seconds)
    else:
        if failure:
            print(f"  CLIENT ERROR: {failure}")
        if len(backends) > 1:
            print_table(results)
        print_summary(everything, [sk for _, _, sks in results for sk in sks], seconds,
                      incomplete=bool(failure))
    if any(o.mismatch for _, o in everything):
        return 1
    # Nothing replayed (only rows that cannot be driven) confirms nothing: incomplete, like a client error.
    return 3 if failure or not everything or any(o.error for _, o in everything) else 0
