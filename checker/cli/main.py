"""`checker` (or `python -m checker`): verify, trace, replay, list, matrix, prove, bench, diagrams, report, and plugins (conform).

Exit codes: 0 every property as expected; 1 some property decided against its
expectation; 2 bad input (one line on stderr, no traceback); 3 incomplete (a limit hit);
130 and 143 interrupted by SIGINT and SIGTERM (`checker/interrupt.py`), with no verdict.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import tempfile
import textwrap
import time
from contextlib import contextmanager
from typing import Any, Iterator, NoReturn

from checker import interrupt
from checker.api import DEFAULT_WALK_DEPTH, DEFAULT_WALKS, Options, check
from checker.config import build_config
from checker.errors import CheckerError
from checker.outputs import write_file
from checker.matrix import (TRACE_DIR, columns_of, matrix_json, matrix_markdown, prove_rows, run_matrix,
                            write_trace_pages)
from checker.registry import commands, configs, get_config, get_model, models, setup_reader
from checker.engines.replay import NotEnabled, replay
from checker.cli.progress import Progress
from checker.cli import check as check_cmd
from checker.render.text import (describe_models, finish, make_console, params_line, print_configs, print_matrix, print_models,
                     print_property_trace, print_result, print_trace, result_json)

__all__ = ["main"]

DEFAULT_MODEL = "kafka"
VERSION = "0.1.0"  # pyproject.toml's version; `--version` says it when the package is not installed


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("kafka-semantics-checker")
    except PackageNotFoundError:
        return VERSION


DEFAULT_PROVE_TIMEOUT = 300.0  # seconds for `prove`
DEFAULT_PROVE_ROW_TIMEOUT = 120.0  # seconds for each row's proof in `matrix --prove`
DEFAULT_MAX_DEPTH = 20  # deepest trace bounded model checking looks for (`trace --engine bmc`, `prove`)

# Exit codes and what each means for a command; `--help` lists them in its epilog.
BAD_INPUT = "bad input (a one-line message on stderr, no traceback)"
EXIT_CODES: dict[str | None, list[tuple[int, str]]] = {
    None: [(0, "every property as expected"), (1, "some property decided against its expectation"),
           (2, BAD_INPUT), (3, "incomplete: a limit was hit; whatever was not decided is unknown, never holds"),
           (130, "interrupted by SIGINT (Ctrl-C); no verdict, no output half-written"),
           (143, "interrupted by SIGTERM; no verdict, no output half-written")],
    "verify": [(0, "every property as expected"), (1, "some property decided against its expectation"),
               (2, BAD_INPUT), (3, "incomplete: a limit was hit; whatever was not decided is unknown")],
    "trace": [(0, "the property's verdict is as expected"), (1, "the verdict is against its expectation"),
              (2, BAD_INPUT), (3, "incomplete: a limit or --max-depth was hit; the verdict is unknown")],
    "replay": [(0, "every step is enabled"), (1, "a step is not enabled (the trace stops before it)"),
               (2, BAD_INPUT)],
    "list": [(0, "listed"), (2, BAD_INPUT)],
    "matrix": [(0, "every cell agrees with its source"), (1, "some cell disagrees with its source"),
               (2, BAD_INPUT), (3, "incomplete: a limit was hit; some cell is unknown")],
    "prove": [(0, "every property as expected"), (1, "some property decided against its expectation"),
              (2, BAD_INPUT), (3, "some property unknown (not proved and not refuted)")],
    "simulate": [(0, "every property decided, as expected (a walk found each violation or witness)"),
                 (1, "some property decided against its expectation"), (2, BAD_INPUT),
                 (3, "some property not decided: no walk broke it (a simulation never says holds)")],
    "bench": [(0, "measured (a benchmark: a slow machine is no failure)"), (2, BAD_INPUT)],
    "diagrams": [(0, "drawn"), (2, BAD_INPUT)],
    "report": [(0, "written"), (2, BAD_INPUT)],
}
EXIT_CODES["check"] = check_cmd.EXIT_CODES


def exit_epilog(codes: list[tuple[int, str]]) -> str:
    """The `--help` epilog listing a command's exit codes, one per line."""
    return "exit codes:\n" + "\n".join(f"  {code:<3}  {meaning}" for code, meaning in codes)


class _Formatter(argparse.HelpFormatter):
    """argparse's layout, except that the exit codes (lines that start with a space) keep their
    own lines, wrapped under their meaning."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent + " " * 7)
                         if line.startswith(" ") else super(_Formatter, self)._fill_text(line, width, indent)
                         for line in text.splitlines())


def one_line(message: str) -> str:
    """An error message as one line: a line break a user typed into a value shows as \\n."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


# A token after an option that reads as a negative or non-finite number is the option's value
# (`--max-states -5`, `--timeout -inf`), so that the option's own check says what is wrong with it.
_NEGATIVE = re.compile(r"^-(\d|\.\d|inf|nan)", re.IGNORECASE)


class _Once:
    """Mixed into argparse's store actions: an option that holds one value is refused when given twice."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[no-untyped-def]
        given = namespace.__dict__.setdefault("_given_once", set())
        if self.dest in given:
            raise argparse.ArgumentError(self, "given twice; give it once")
        given.add(self.dest)
        super().__call__(parser, namespace, values, option_string)  # type: ignore[misc]


class _StoreOnce(_Once, argparse._StoreAction):
    pass


class _StoreTrueOnce(_Once, argparse._StoreTrueAction):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse with the checker's rules: one-line errors that point at this command's --help,
    no abbreviations, single-valued options given at most once, negative numbers as values, and
    (in a command) options anywhere among the positionals (`replay kafka --json Poll(0)`)."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("formatter_class", _Formatter)
        kwargs.setdefault("allow_abbrev", False)  # no option answers to a prefix of its name (`--out`)
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE
        self.register("action", None, _StoreOnce)
        self.register("action", "store", _StoreOnce)
        self.register("action", "store_true", _StoreTrueOnce)
        self._mixing = False

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        # A command's parser (one without subcommands) lets options and positionals mix.
        if self._subparsers is None and not self._mixing:
            self._mixing = True
            try:
                return self.parse_known_intermixed_args(args, namespace)
            finally:
                self._mixing = False
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:  # one line, exit 2, as for every bad input
        if message.endswith("expected one argument"):
            message += " (a value that starts with - is written as --OPTION=VALUE)"
        sys.stderr.write(f"checker: error: {one_line(message)} (see `{self.prog} --help`)\n")
        raise SystemExit(2)


def _parse_params(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for it in items:
        name, eq, value = it.partition("=")
        if not eq or not name or not value:
            raise CheckerError(f"-p {it!r}: write parameters as NAME=VALUE, e.g. -p messages=3")
        if name in out:
            raise CheckerError(f"parameter {name!r} is given twice")
        out[name] = value
    return out


# The bounds of the numeric options (docs/cli.md, "What the options accept"): a count is ASCII digits,
# a number ASCII digits with an optional decimal point and exponent; no sign, no `_`, no spaces.
MAX_COUNT = 10**18           # --max-states, --max-depth, --max-nodes, --repeat
MAX_SECONDS = 10**9          # --timeout (about 31 years; every timer below takes it)
MIN_MEGABYTES = 1            # --max-memory: the search's tables start at a few kilobytes and are checked
                             # only as they grow, so a smaller bound would not bound the run it names
MAX_MEGABYTES = 10**9        # --max-memory (a petabyte)
_COUNT = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def _power(n: float) -> str:
    """10**9 as `10^9` (every bound above is a power of ten), else as written."""
    text = f"{n:g}"
    return f"10^{len(str(int(n))) - 1}" if n >= 10**6 and str(int(n)).rstrip("0") == "1" else text


def _count(what: str = "a positive integer", lo: int = 1, hi: int = MAX_COUNT):
    """An argparse type: a whole number lo..hi in ASCII digits, with a message naming what is expected."""
    def parse(text: str) -> int:
        if _COUNT.fullmatch(text) is None or len(text.lstrip("0")) > 19 or not lo <= int(text) <= hi:
            raise argparse.ArgumentTypeError(f"expected {what} from {lo} to {_power(hi)}, got {text!r}")
        return int(text)
    return parse


def _amount(what: str, lo: float, hi: float, low_ok: bool = False):
    """An argparse type: a finite number above lo (at least lo when low_ok) and at most hi."""
    def parse(text: str) -> float:
        v = float(text) if _NUMBER.fullmatch(text) else math.nan
        if not (v >= lo if low_ok else v > lo) or not v <= hi:
            bound = f"at least {lo:g}" if low_ok else f"above {lo:g}"
            raise argparse.ArgumentTypeError(f"expected {what}, {bound} and at most {_power(hi)}, got {text!r}")
        return v
    return parse


MAX_WORKERS = 10**6          # --workers
_ADDRESS = re.compile(r"auto|(?:ray://)?(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}")


def _address(text: str) -> str:
    """An argparse type: a Ray cluster's address, host:port (ray://host:port for Ray Client) or auto."""
    if _ADDRESS.fullmatch(text) is None:
        raise argparse.ArgumentTypeError(f"expected a Ray cluster's address, host:port or auto, got {text!r}")
    return text


_seconds = _amount("a positive number of seconds", 0, MAX_SECONDS)
_megabytes = _amount("a positive number of megabytes", MIN_MEGABYTES, MAX_MEGABYTES, low_ok=True)


def _instance_args(p: argparse.ArgumentParser, config: bool = True,
                   json_help: str = "print one JSON object instead of tables") -> None:
    """Options that choose the model instance: parameters, failure modes and (config) a matrix row."""
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="set a model parameter (repeatable); `list` shows them")
    p.add_argument("-f", "--with", dest="enable", action="append", default=[], metavar="FAILURE",
                   help="turn a failure mode on (repeatable)")
    p.add_argument("--without", dest="disable", action="append", default=[], metavar="FAILURE",
                   help="turn a failure mode off (repeatable)")
    if config:
        p.add_argument("--config", action="append", default=[], metavar="ID",
                       help="start from this matrix row (model, parameters, failure modes, expected "
                            "verdicts); -p, -f and --without apply on top")
    p.add_argument("--json", action="store_true", help=json_help)


def _max_depth(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--max-depth", type=_count(), default=None, metavar="N",
                   help=f"deepest trace bounded model checking looks for{what} (default {DEFAULT_MAX_DEPTH})")


def _progress_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--progress", action="store_true",
                   help="print progress to stderr also when it is not an interactive terminal (piped, "
                        "redirected, TERM=dumb); on a terminal it is shown anyway")


def _model_args(p: argparse.ArgumentParser) -> None:
    """Options of the commands that search: the instance, limits, output."""
    _instance_args(p)
    p.add_argument("--max-states", type=_count(), metavar="N",
                   help="stop after N distinct states; the run is then incomplete (exit 3)")
    p.add_argument("--timeout", type=_seconds, metavar="S",
                   help="stop after S seconds; the run is then incomplete (exit 3)")
    p.add_argument("--deadlock", action="store_true",
                   help="report a state with no enabled action as a violation of no-deadlock")
    _progress_arg(p)
    p.add_argument("--max-memory", type=_megabytes, metavar="MB",
                   help="fast engine: stop before the search's tables exceed MB megabytes; --distributed: "
                        "once a worker's resident memory does; the run is then incomplete (exit 3)")
    p.add_argument("--symmetry", action="store_true",
                   help="fast engine: explore one state per orbit of the model's declared symmetry "
                        "(fewer states; counts are of orbits)")


def _setup_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--setup", nargs="+", default=None, metavar="FILE",
                   help="the instances `check` runs for these settings files (e.g. Kafka .properties), every "
                        "fault they allow on: one page answering what can go wrong with them")


def _setup_jobs(args: argparse.Namespace) -> tuple[list, str]:
    """The (model, system, directory, title) of each instance `check` runs for --setup FILE...,
    and the command that makes them; any other way of choosing an instance is refused."""
    if args.model is not None or args.param or args.enable or args.disable or args.config or getattr(args, "all", False):
        raise CheckerError("--setup chooses the instances from the settings files; drop MODEL, -p, --with, "
                           "--without, --config and --all")
    interrupt.phase("reading the settings")
    setup = setup_reader().read([check_cmd.read_file(p) for p in args.setup], [], None)
    jobs = []
    for i, run in enumerate(setup.runs):
        model = get_model(run.model)
        system = model.build(dict(run.params), list(run.failures),
                             [f for f in model.failure_modes if f not in run.failures])
        n = sum(r.model == run.model for r in setup.runs[:i])  # a model run twice: setup-eos, setup-eos-2
        jobs.append((model, system, f"setup-{run.model}" + (f"-{n + 1}" if n else ""),
                     f"{run.model} for {' '.join(args.setup)}: {setup.model_line}"))
    return jobs, " ".join(["checker report --setup", *args.setup])


def build_parser() -> argparse.ArgumentParser:
    top = _Parser(prog="checker",
                  description="Model-check protocol specifications: every reachable state, shortest traces. "
                              "`checker COMMAND --help` describes each command and its exit codes.",
                  epilog=exit_epilog(EXIT_CODES[None]))
    top.add_argument("--version", action="version", version=f"checker {_version()}",
                     help="print the version and exit")
    sub = top.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")

    def command(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, epilog=exit_epilog(EXIT_CODES[name]), **kwargs)

    v = command("verify", help="check every property of a model",
                description="Explore every reachable state and decide every property.")
    v.add_argument("model", nargs="?", help=f"model name (default {DEFAULT_MODEL}, or the --config's)")
    v.add_argument("--property", action="append", default=[], metavar="NAME",
                   help="check only this property (repeatable; default: every property of the model)")
    v.add_argument("--no-traces", action="store_true", help="print the verdict table only")
    v.add_argument("--engine", choices=("fast", "explicit"), default=None,
                   help="fast: the search compiled to machine code (the default; it records the "
                        "transition graph when eventually properties or --cover need it); explicit: the "
                        "reference engine in Python (same states, verdicts and traces)")
    v.add_argument("--cover", action="store_true",
                   help="also print, for each action, the shortest trace that takes it")
    v.add_argument("--distributed", action="store_true",
                   help="search on a Ray cluster (a local one unless --address): the states shared out by "
                        "hash over the workers, the same states, verdicts and traces; always and sometimes "
                        "properties only (needs the `distributed` extra)")
    v.add_argument("--address", type=_address, default=None, metavar="ADDR",
                   help="with --distributed: join the running Ray cluster at ADDR (host:port, or auto) instead "
                        "of starting a local one")
    v.add_argument("--workers", type=_count("a positive number of workers", hi=MAX_WORKERS), default=None,
                   metavar="N", help="with --distributed: how many workers (default: one per CPU of the cluster)")
    _model_args(v)

    t = command("trace", help="print the shortest trace of one property",
                description="Print the shortest trace that violates (always) or witnesses "
                            "(sometimes) one property, or the shortest fair lasso on which an "
                            "eventually property never comes true.")
    t.add_argument("model", nargs="?", help=f"model name (default {DEFAULT_MODEL}, or the --config's)")
    t.add_argument("--property", action="append", default=[], metavar="NAME", required=True,
                   help="the property whose trace to print (NoDeadlock: a state with no enabled action)")
    t.add_argument("--engine", choices=("fast", "explicit", "bmc"), default=None,
                   help="compiled explicit-state search (the default), the reference explicit-state "
                        "engine in Python, or Z3 bounded model checking")
    _max_depth(t, " with --engine bmc")
    _model_args(t)

    sm = command("simulate", help="random walks for instances too big to enumerate",
                 description="Take seeded random walks from the initial state, checking every state a walk "
                             "reaches, and stop at the first violation with a replayable trace (its loops cut "
                             "out). A simulation decides only what it finds: a property no walk breaks stays "
                             "unknown, never holds.")
    sm.add_argument("model", nargs="?", help=f"model name (default {DEFAULT_MODEL}, or the --config's)")
    sm.add_argument("--property", action="append", default=[], metavar="NAME",
                    help="check only this property (repeatable; default: every property of the model)")
    sm.add_argument("--walks", type=_count(), default=None, metavar="N",
                    help=f"how many random walks at most (default {DEFAULT_WALKS})")
    sm.add_argument("--depth", type=_count(), default=None, metavar="D",
                    help=f"how many steps a walk takes at most (default {DEFAULT_WALK_DEPTH})")
    sm.add_argument("--seed", type=_count("a whole number", lo=0), default=0, metavar="S",
                    help="the random seed: the same seed takes the same walks (default 0)")
    sm.add_argument("--no-traces", action="store_true", help="print the verdict table only")
    _instance_args(sm)
    sm.add_argument("--timeout", type=_seconds, metavar="S",
                    help="stop after S seconds; what no walk decided is unknown (exit 3)")
    sm.add_argument("--deadlock", action="store_true",
                    help="report a walk that ends in a state with no enabled action as a violation of no-deadlock")
    sm.add_argument("--distributed", action="store_true",
                    help="take the walks in batches as Ray tasks (a local cluster unless --address): the same "
                         "walks, counts, verdicts and traces as in one process (needs the `distributed` extra)")
    sm.add_argument("--address", type=_address, default=None, metavar="ADDR",
                    help="with --distributed: join the running Ray cluster at ADDR (host:port, or auto) instead "
                         "of starting a local one")
    sm.add_argument("--workers", type=_count("a positive number of workers", hi=MAX_WORKERS), default=None,
                    metavar="N", help="with --distributed: how many tasks at a time (default: one per CPU of the "
                                      "cluster)")
    _progress_arg(sm)

    r = command("replay", help="replay a trace given as action names",
                description="Take the named actions in order from the initial state and print "
                            "the trace: replay [MODEL] ACTION... (as printed after every trace).")
    r.add_argument("names", nargs="+", metavar="[MODEL] ACTION")
    _instance_args(r)

    bn = command("bench", help="measure the partitions ladder: states/s, seconds, peak memory",
                 description="Run `verify partitions` at growing sizes, each in its own process, and "
                             "print states, seconds (search and whole process), states/s, peak "
                             "memory and bytes per state. A benchmark: it never fails on a slow machine.")
    bn.add_argument("--big", action="store_true",
                    help="also run partitions=3 messages=5 max_crashes=3 (25.8 million states, about 1 GB)")
    bn.add_argument("--size", action="append", default=[], metavar="P,M,K",
                    help="run these sizes instead of the ladder (repeatable), e.g. --size 3,4,2")
    bn.add_argument("--engine", choices=("fast", "explicit"), default="fast", help="engine to measure")
    bn.add_argument("--symmetry", action="store_true", help="measure with symmetry reduction")
    bn.add_argument("--liveness", action="store_true",
                    help="check every property, all-processed too (the search then records the transition "
                         "graph); by default only the safety properties no-loss and duplicate-delivery")
    bn.add_argument("--repeat", type=_count(), default=1, metavar="N",
                    help="run each size N times and keep the fastest whole-process run (default 1)")
    bn.add_argument("--spin", action="store_true",
                    help="also search each size with SPIN (the Promela the checker writes; needs spin and cc) "
                         "and print both with the ratio of the whole-process times")
    bn.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    _progress_arg(bn)

    pr = command("prove", help="prove always properties for every size (Z3, inferred invariants)",
                 description="Prove every always property for every value of the unbounded parameters "
                             "(by default every integer parameter that does not index actions), with an "
                             "invariant inferred automatically, or refute it with a shortest trace.")
    pr.add_argument("model", nargs="?", help=f"model name (default {DEFAULT_MODEL}, or the --config's)")
    pr.add_argument("--property", action="append", default=[], metavar="NAME",
                    help="prove only this always property (repeatable; default: every always property)")
    pr.add_argument("--unbounded", action="append", default=None, metavar="NAME",
                    help="leave this integer parameter symbolic (repeatable; replaces the default set)")
    _max_depth(pr, " when a proof fails")
    pr.add_argument("--timeout", type=_seconds, default=None, metavar="S",
                    help="give up after S seconds (default 300); what is not decided is unknown (exit 3)")
    pr.add_argument("--check-invariant", metavar="FILE",
                    help="check the invariant in FILE (the lines `prove` printed, one per line; - reads "
                         "stdin) again from scratch: fresh solvers, initiation and every (action, fact) "
                         "pair, and every fact on every reachable state of small instances; exit 0 when "
                         "it is inductive and names a property, 1 when not")
    _progress_arg(pr)
    pr.add_argument("-v", "--verbose", action="store_true",
                    help="also show every refuted candidate invariant with its counterexample to induction")
    _instance_args(pr)  # --config: the row's model, parameters, failure modes and expected verdicts

    ls = command("list", help="list models, parameters, failure modes and properties",
                 description="List every model (or one) with its parameters, failure modes, "
                             "variables, actions and properties, and the matrix rows.")
    ls.add_argument("model", nargs="?", help="only this model")
    ls.add_argument("-f", "--with", dest="enable", action="append", default=[], metavar="FAILURE",
                    help="list MODEL with this failure mode on: its actions, variables and counter (repeatable)")
    ls.add_argument("--json", action="store_true", help="print a JSON list instead of tables")

    mx = command("matrix", help="the delivery-guarantee matrix: configurations x properties",
                 description="Explore every named configuration (matrix row) and decide each property: "
                             "holds (states explored) or violated (shortest trace).")
    mx.add_argument("--config", action="append", default=[], metavar="ID",
                    help="only this matrix row (repeatable; default: every row)")
    out = mx.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON object")
    out.add_argument("--markdown", action="store_true", help="print a markdown table (as in docs/matrix.md)")
    mx.add_argument("-o", "--output", metavar="DIR",
                    help=f"also write one markdown trace page per row into DIR (the table's links point to "
                         f"{TRACE_DIR})")
    mx.add_argument("--max-states", type=_count(), metavar="N",
                    help="stop each configuration after N distinct states (its undecided cells are unknown, exit 3)")
    mx.add_argument("--timeout", type=_seconds, metavar="S",
                    help="stop each configuration after S seconds (its undecided cells are unknown, exit 3); with "
                         "--prove, also each row's proof (default 120 there)")
    mx.add_argument("--prove", action="store_true",
                    help="also prove every cell that holds for every size (`checker prove --config ID`): "
                         "proved, with the sizes it covers, or not, with the reason")
    mx.add_argument("--jobs", type=_count("a number of processes", hi=256), default=None, metavar="N",
                    help="with --prove, prove N rows at once, each in a process of its own (default: the "
                         "number of CPUs this process may use)")
    _progress_arg(mx)

    d = command("diagrams", help="draw the state graph and every trace (SVG, DOT, markdown)",
                description="Draw a model instance: its state graph with each property's shortest "
                            "trace highlighted, a sequence diagram and tables per trace, and an index "
                            "page. --all draws every instance the models declare and every matrix row "
                            "(the committed diagrams/).")
    d.add_argument("model", nargs="?", help=f"model name (default {DEFAULT_MODEL}, or the --config's)")
    d.add_argument("--all", action="store_true",
                   help="draw every model at the instances it declares for pictures, and every matrix row")
    d.add_argument("-o", "--output", default="diagrams", metavar="DIR",
                   help="where to write, one directory per instance and an index (default diagrams/)")
    d.add_argument("--project", metavar="VARS",
                   help="draw the graph merged over these variables (comma-separated), whatever its size")
    d.add_argument("--max-nodes", type=_count(), default=None, metavar="N",
                   help="draw the full graph up to N states, a projection above (default 100)")
    _instance_args(d, json_help="print a JSON list, one object per instance drawn, instead of lines")
    _setup_arg(d)

    rp = command("report", help="write one self-contained HTML report: verdicts, traces, pictures",
                 description="Write one HTML file (no network needed) with the verdicts of every "
                             "instance the models declare for pictures and every matrix row, or of "
                             "MODEL with -p or of one --config, and each trace stepping forward and "
                             "back with its sequence diagram and its place on the state graph.")
    rp.add_argument("model", nargs="?", help="only this model (default: every declared instance)")
    rp.add_argument("-o", "--output", default="report.html", metavar="FILE",
                    help="where to write the HTML (default report.html)")
    rp.add_argument("--max-nodes", type=_count(), default=None, metavar="N",
                    help="draw the full graph up to N states, a projection above (default 100)")
    rp.add_argument("--prove", action="store_true",
                    help="also prove the matrix's cells that hold for every size (as `matrix --prove`; "
                         "the whole report only)")
    _instance_args(rp, json_help="print one JSON object (file, instances, bytes) instead of a line")
    _setup_arg(rp)

    ck = command("check", help="check your own settings files: verdicts, traces and verified fixes",
                 description="Read settings files in the model package's vocabulary (for the Kafka models: "
                             "client and topic .properties files), run the models they describe with every "
                             "realistic fault at a budget of one, and answer each guarantee: its verdict, "
                             "the shortest trace of a violation, and the fixes a re-run shows to work.")
    check_cmd.add_arguments(ck)

    # Plugins (registry.commands): e.g. `conform`, which drives a real Kafka client the
    # checker itself knows nothing about.
    for name, plugin in commands().items():
        pp = sub.add_parser(name, help=plugin.HELP, description=plugin.DESCRIPTION,
                            epilog=exit_epilog(plugin.EXIT_CODES))
        plugin.add_arguments(pp)
        pp.set_defaults(plugin=plugin)
    return top


def _check_modes(args: argparse.Namespace) -> None:
    """A failure mode turned both on and off is refused: which one was meant?"""
    both = [m for m in dict.fromkeys(args.enable) if m in getattr(args, "disable", [])]
    if both:
        raise CheckerError(f"failure mode {both[0]} is turned both on (-f {both[0]}) and off (--without "
                           f"{both[0]}): drop one of them")


def _build(args: argparse.Namespace, model_name: str | None):
    """The instance the options name; model_name None means the default (or the config's)."""
    interrupt.phase("building the model")
    system = _build_instance(args, model_name)
    interrupt.check_time()
    return system


def _build_instance(args: argparse.Namespace, model_name: str | None):
    if len(args.config) > 1:
        raise CheckerError(f"--config is given {len(args.config)} times; {args.command} runs one matrix row "
                           "(`checker matrix --config ID ...` runs several)")
    _check_modes(args)
    if args.config:
        cfg = get_config(args.config[0])
        if model_name is not None and model_name != cfg.model:
            raise CheckerError(f"configuration {cfg.id} is of model {cfg.model}, not {model_name}")
        return build_config(cfg, get_model(cfg.model), _parse_params(args.param), args.enable, args.disable)
    model = get_model(DEFAULT_MODEL if model_name is None else model_name)
    return model.build(_parse_params(args.param), args.enable, args.disable)


def _search(args: argparse.Namespace, system, engine: str, **more: Any):
    """verify's and trace's run: one Options from the search options they share, plus `more`.
    The fast engine unless told otherwise: it records the transition graph itself when the
    run needs it (eventually properties, --cover). The search gets the time left of the
    command's --timeout; once it returns, the answer is known."""
    left = interrupt.remaining()
    interrupt.phase("searching")
    with Progress(args.progress and engine != "bmc") as progress:
        result = check(system, Options(
            engine=engine, max_states=args.max_states, timeout=None if left is None else max(0.01, round(left, 2)),
            deadlock=args.deadlock, max_memory=int(args.max_memory * 2**20) if args.max_memory else None,
            symmetry=args.symmetry, progress=progress.search if engine != "bmc" else None, **more))
    interrupt.decided()
    return result


def cmd_verify(args: argparse.Namespace) -> int:
    if args.json and args.no_traces:
        raise CheckerError("--no-traces shortens the tables; --json always holds the traces: drop one of them")
    more: dict[str, Any] = {}
    if args.distributed:
        if args.engine is not None:
            raise CheckerError("--distributed is an engine of its own (the explicit engine's search on Ray); "
                               "drop --engine")
        more = {"workers": args.workers, "address": args.address}
        # The options checked before the model is built: Ray installed, no --cover or --symmetry.
        Options(engine="distributed", cover=args.cover, symmetry=args.symmetry, **more)
    elif args.address is not None or args.workers is not None:
        raise CheckerError("--address and --workers are options of --distributed")
    interrupt.start_clock(args.timeout)
    system = _build(args, args.model)
    engine = "distributed" if args.distributed else args.engine or "fast"
    result = _search(args, system, engine, cover=args.cover, properties=args.property or None, **more)
    if args.json:
        print(result_json(result))
    else:
        con = make_console()
        print_result(con, result, traces=not args.no_traces)
        finish(con)
    return result.exit_code


def cmd_simulate(args: argparse.Namespace) -> int:
    if args.json and args.no_traces:
        raise CheckerError("--no-traces shortens the tables; --json always holds the traces: drop one of them")
    more: dict[str, Any] = {}
    if args.distributed:
        more = {"distributed": True, "workers": args.workers, "address": args.address}
        Options(engine="simulate", **more)  # Ray installed: checked before the model is built
    elif args.address is not None or args.workers is not None:
        raise CheckerError("--address and --workers are options of --distributed")
    interrupt.start_clock(args.timeout)
    system = _build(args, args.model)
    left = interrupt.remaining()
    interrupt.phase("simulating")
    with Progress(args.progress) as progress:
        result = check(system, Options(
            engine="simulate", properties=args.property or None, walks=args.walks, max_depth=args.depth,
            seed=args.seed, deadlock=args.deadlock, timeout=None if left is None else max(0.01, round(left, 2)),
            progress=progress.walks, **more))
    interrupt.decided()
    if args.json:
        print(result_json(result))
    else:
        con = make_console()
        print_result(con, result, traces=not args.no_traces)
        finish(con)
    return result.exit_code


def cmd_trace(args: argparse.Namespace) -> int:
    if len(args.property) > 1:
        raise CheckerError("trace prints the trace of one property: give --property once "
                           "(`checker verify --property A --property B` checks several)")
    prop = args.property[0]
    interrupt.start_clock(args.timeout)
    system = _build(args, args.model)
    if args.deadlock and prop != "no-deadlock":
        raise CheckerError("--deadlock goes with the property no-deadlock")
    if prop == "no-deadlock" and not args.deadlock:
        args.deadlock = True
    if prop != "no-deadlock":
        system.prop(prop)  # unknown property: a one-line error before any search
    engine = args.engine or "fast"
    if engine != "bmc" and args.max_depth is not None:
        raise CheckerError("--max-depth bounds the bmc engine's traces (--engine bmc); the explicit-state "
                           "engines search every depth")
    start = time.perf_counter()
    # bmc looks for this property only; the explicit-state engines decide every property in one search.
    if engine == "bmc":
        if args.max_states or args.progress:
            raise CheckerError("--max-states and --progress are options of the explicit-state search; "
                               "the bmc engine takes --max-depth and --timeout")
        result = _search(args, system, engine, properties=[prop], max_depth=args.max_depth or DEFAULT_MAX_DEPTH)
    else:
        result = _search(args, system, engine)
    res, complete = result.prop(prop), result.complete
    seconds = time.perf_counter() - start
    if args.json:
        print(json.dumps({"model": system.model, "params": system.params,
                          "failure_modes": system.failure_modes, "engine": engine,
                          "seconds": round(seconds, 3), "complete": complete, **res.json()}, indent=2))
    else:
        con = make_console()
        con.print(params_line(system))
        if res.trace is not None:
            print_property_trace(con, res)
        else:
            why = f": {res.reason}" if res.reason else ""
            expected = f"expected {res.expected}" if res.expected is not None else "no expectation"
            con.print(f"{res.name} {res.verdict} ({expected}); no trace to show{why}")
        word = {True: "as expected", False: "NOT AS EXPECTED",
                None: "unknown" if res.verdict == "unknown" else "no expectation"}[res.as_expected]
        con.print(f"verdict: {res.verdict}, {word}")
        finish(con)
    if res.as_expected is False:
        return 1
    return 3 if res.verdict == "unknown" else 0


def cmd_replay(args: argparse.Namespace) -> int:
    names = list(args.names)
    model_name = names.pop(0) if names[0] in models() else None
    system = _build(args, model_name)
    try:
        trace, failure = replay(system, names), ""
    except NotEnabled as e:
        trace, failure = e.trace, str(e)
    if args.json:
        print(json.dumps({"model": system.model, "params": system.params,
                          "failure_modes": system.failure_modes, "trace": trace.json(),
                          "error": failure or None}, indent=2))
    else:
        con = make_console()
        con.print(params_line(system))
        print_trace(con, f"replayed {len(trace.steps) - 1} of {len(names)} steps", trace, replay_line=False)
        con.print(f"verdict: {failure}" if failure else "verdict: every step is enabled")
        finish(con)
    return 1 if failure else 0


def cmd_bench(args: argparse.Namespace) -> int:
    from checker.cli import bench  # only this command needs it
    sizes = [bench.parse_size(s) for s in args.size] or bench.LADDER + (bench.BIG if args.big else [])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None

    with Progress(args.progress, prefix="bench: ") as progress:
        def note(size) -> None:
            progress.say(f"partitions,messages,crashes = {','.join(map(str, size))} ...")
        rows = bench.run(sizes, args.engine, args.repeat, args.symmetry, progress=note if progress.on else None,
                         liveness=args.liveness)
    spins = []
    if args.spin:
        if args.liveness or args.symmetry or args.engine != "fast":
            raise CheckerError("bench --spin compares the fast engine's safety search with SPIN's; drop "
                               "--liveness, --symmetry and --engine explicit")
        with Progress(args.progress, prefix="bench: ") as progress:
            for r in rows:
                progress.say(f"SPIN on {','.join(map(str, r.size))} ...")
                spins.append(bench.measure_spin(r.size, r))
    if args.json:
        out = [r.json() | (sp.json() if spins else {}) for r, sp in zip(rows, spins or rows)]
        print(json.dumps(out, indent=2))
        return 0
    con = make_console()
    if spins:
        load = f", load average {load:.1f} at the start" if load is not None else ""
        con.print(bench.spin_table(rows, spins, f"partitions ladder beside SPIN (no-loss and duplicate-delivery; SPIN "
                                                f"checks no-loss; {os.cpu_count()} cores{load})"))
        finish(con)
        return 0
    what = "every property, liveness included" if args.liveness else "safety properties"
    cond = f"{what}, {args.engine} engine{', symmetry' if args.symmetry else ''}, best of {args.repeat}, " \
           f"{os.cpu_count()} cores" + (f", load average {load:.1f} at the start" if load is not None else "")
    con.print(bench.table(rows, f"partitions ladder ({cond})"))
    finish(con)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    if args.enable and args.model is None:
        raise CheckerError(f"list -f {args.enable[0]} needs a model: list MODEL -f {args.enable[0]}")
    chosen = {args.model: get_model(args.model)} if args.model is not None else models()
    if args.json:
        print(json.dumps(describe_models(chosen, args.enable), indent=2))
        return 0
    con = make_console()
    print_models(con, chosen, args.enable)
    if args.model is None:
        print_configs(con, list(configs().values()))
    finish(con)
    return 0


def _nearest_existing(path: str) -> str:
    """The absolute path itself or its nearest ancestor that exists."""
    path = os.path.abspath(path)
    while not os.path.lexists(path):
        path = os.path.dirname(path)
    return path


def _writable(directory: str, path: str, what: str) -> None:
    """Refuse `path` unless a file can be created in `directory` (tried, not guessed: permissions,
    a read-only file system, /proc)."""
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as e:
        raise CheckerError(f"cannot write {path}: no file can be created in {directory} ({e.strerror}); "
                           f"choose another {what} with -o") from None


def _check_output_dir(path: str, example: str) -> None:
    """An -o DIR the command can create and write into, checked before any search."""
    if not path:
        raise CheckerError(f"-o is empty: give a directory, e.g. -o {example}")
    there = _nearest_existing(path)
    if not os.path.isdir(there):
        why = "it is" if there == os.path.abspath(path) else f"{there} is"
        raise CheckerError(f"cannot write {path}: {why} not a directory; choose a directory with -o")
    _writable(there, path, "directory")


def _check_output_file(path: str, example: str) -> None:
    """An -o FILE the command can write (a new or regular file in a directory that exists),
    checked before any search."""
    if not path:
        raise CheckerError(f"-o is empty: give a file name, e.g. -o {example}")
    if os.path.isdir(path):
        raise CheckerError(f"cannot write {path}: it is a directory; give a file name, e.g. -o "
                           f"{os.path.join(path, example)}")
    if os.path.lexists(path) and not os.path.isfile(path):
        raise CheckerError(f"cannot write {path}: it is not a regular file; give a file name, e.g. -o {example}")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        there = _nearest_existing(parent)
        why = f"{there} is not a directory" if not os.path.isdir(there) else f"the directory {parent} does not exist"
        raise CheckerError(f"cannot write {path}: {why}; choose a file in an existing directory with -o")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise CheckerError(f"cannot write {path}: the file is read-only; choose another file with -o")
    _writable(parent, path, "file")


@contextmanager
def _written(path: str, what: str) -> Iterator[None]:
    """A one-line error for an OSError while writing the output at `path`."""
    try:
        yield
    except OSError as e:
        raise CheckerError(f"cannot write {e.filename or path}: {e.strerror or e}; choose another {what} "
                           "with -o") from None


def _cpus() -> int:
    """The CPUs this process may run on (what `matrix --prove` spreads its rows over)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def cmd_matrix(args: argparse.Namespace) -> int:
    if args.jobs is not None and not args.prove:
        raise CheckerError("--jobs sets how many rows are proved at once; it needs --prove")
    if args.output is not None:
        _check_output_dir(args.output, TRACE_DIR)
    known = configs()
    for c in args.config:
        get_config(c)  # unknown ids: a one-line error before any search
    chosen = [known[c] for c in dict.fromkeys(args.config)] if args.config else list(known.values())
    if not chosen:
        raise CheckerError("no configurations are published by the model packages")
    with Progress(args.progress) as progress:
        def show(cfg: Any) -> None:
            interrupt.phase(f"checking {cfg.id}")
            progress.say(f"checking {cfg.id}")
        rows = run_matrix(chosen, get_model, progress=show,
                          options=Options(engine="explicit", max_states=args.max_states, timeout=args.timeout))
        if args.prove:
            def proving(cfg: Any, done: bool) -> None:
                interrupt.phase(f"{'proved' if done else 'proving'} {cfg.id}")
                progress.say(f"{'proved' if done else 'proving'} {cfg.id}")
            prove_rows(rows, get_model, args.timeout or DEFAULT_PROVE_ROW_TIMEOUT, progress=proving,
                       jobs=args.jobs or _cpus())
    columns = columns_of(chosen)
    if args.output is not None:
        interrupt.phase(f"writing {args.output}")
        with _written(args.output, "directory"):
            write_trace_pages(rows, args.output)
    if args.json:
        print(json.dumps(matrix_json(rows, columns), indent=2))
    elif args.markdown:
        sys.stdout.write(matrix_markdown(rows, columns))
    else:
        con = make_console()
        print_matrix(con, rows, columns)
        finish(con)
    agree = [r.agrees() for r in rows] + [r.proofs_agree() for r in rows]
    if any(a is False for a in agree):
        return 1
    return 3 if any(a is None for a in agree) else 0


def _matrix_jobs() -> list:
    """Every matrix configuration as a named instance to draw: directory matrix-ID."""
    jobs = []
    for cfg in configs().values():
        model = get_model(cfg.model)
        jobs.append((model, build_config(cfg, model), f"matrix-{cfg.id}",
                     f"matrix row {cfg.id}: {cfg.description}"))
    return jobs


def cmd_diagrams(args: argparse.Namespace) -> int:
    from checker.render.diagrams import write_diagrams  # graphviz is needed only here
    from checker.render.graph import check_projection
    _check_output_dir(args.output, "diagrams")
    project = None
    if args.project is not None:
        project = tuple(v.strip() for v in args.project.split(",") if v.strip())
        if not project:
            raise CheckerError("--project takes variable names separated by commas, e.g. --project pc,committed")
    if args.setup is not None:
        jobs = _setup_jobs(args)[0]
        for job in jobs:
            check_projection(job[1], project or ())
    elif args.all:
        if args.model is not None or args.param or args.enable or args.disable or args.project or args.config:
            raise CheckerError("--all draws the instances the models declare and every matrix row; drop MODEL, "
                               "-p, --with, --without, --config and --project")
        interrupt.phase("building the models")
        jobs = [(m, m.build(inst)) for m in models().values() for inst in m.picture_spec.instances]
        jobs += _matrix_jobs()
    else:
        system = _build(args, args.model)
        check_projection(system, project or ())  # before the search, not after it
        jobs = [(get_model(system.model), system)]
    with _written(args.output, "directory"):
        drawn = write_diagrams(args.output, jobs, project=project, max_nodes=args.max_nodes, replace_all=args.all)
    if args.json:
        print(json.dumps([dict(summary, directory=path) for path, summary in drawn], indent=2))
    else:
        for path, summary in drawn:
            print(f"{path}: {summary['model']} {summary['states']:,} states, drew the {summary['graph']}")
        print(f"index: {os.path.join(args.output, 'README.md')}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from checker.render.diagrams import DEFAULT_MAX_NODES
    from checker.render.html import render_report
    _check_output_file(args.output, "report.html")
    if args.prove and (args.model is not None or args.config or args.setup is not None):
        raise CheckerError("--prove proves the matrix of the whole report; drop MODEL, --config and --setup "
                           "(`checker prove --config ID` proves one row)")
    if args.setup is not None:
        setup_jobs, command = _setup_jobs(args)
        jobs = [(m, s) for m, s, _, _ in setup_jobs]
    elif args.model is None and not args.config:
        if args.param or args.enable or args.disable:
            raise CheckerError("-p, --with and --without need a MODEL: report MODEL -p NAME=VALUE")
        interrupt.phase("building the models")
        jobs = [(m, m.build(inst)) for m in models().values() for inst in m.picture_spec.instances]
        jobs += _matrix_jobs()
        command = "checker report"
    else:
        system = _build(args, args.model)
        jobs = [(get_model(system.model), system)]
        command = " ".join(["checker report", system.model, *system.command_args()])
    proofs = None
    if args.prove:
        interrupt.phase("proving the matrix")
        rows = run_matrix(list(configs().values()), get_model, options=Options(engine="explicit"))
        prove_rows(rows, get_model, DEFAULT_PROVE_ROW_TIMEOUT,
                   progress=lambda cfg, done: interrupt.phase(f"{'proved' if done else 'proving'} {cfg.id}"),
                   jobs=_cpus())
        proofs = {r.config.id: r.proof for r in rows}
        command += " --prove"
    interrupt.phase("drawing the report")
    page = render_report(jobs, command, max_nodes=args.max_nodes or DEFAULT_MAX_NODES,
                         matrix=args.model is None and not args.config and args.setup is None, proofs=proofs)
    interrupt.phase(f"writing {args.output}")
    write_file(args.output, page)  # whole or not at all: a failure leaves the previous file
    if args.json:
        print(json.dumps({"output": args.output, "instances": len(jobs), "bytes": len(page.encode())}))
    else:
        print(f"wrote {args.output} ({len(jobs)} instance{'s' if len(jobs) != 1 else ''}, "
              f"{len(page.encode()) // 1024} KB); open it in a browser")
    return 0


def _prove_instance(args: argparse.Namespace):
    """What `prove` proves: the model, parameters, failure modes on and off, and expected
    verdicts, from MODEL or from the --config row with -p, -f and --without on top. Every
    option it accepts is used; a combination it could not honour is refused."""
    _check_modes(args)
    if args.json and args.verbose:
        raise CheckerError("-v adds the refuted candidates to the text output; --json prints none of it: "
                           "give one of them")
    params = _parse_params(args.param)
    if not args.config:
        model = get_model(DEFAULT_MODEL if args.model is None else args.model)
        return model, params, args.enable, args.disable, {}, None
    if len(args.config) > 1:
        raise CheckerError(f"--config is given {len(args.config)} times; prove proves one matrix row "
                           "(`checker matrix --prove --config ID ...` proves several)")
    cfg = get_config(args.config[0])
    if args.model is not None and args.model != cfg.model:
        raise CheckerError(f"configuration {cfg.id} is of model {cfg.model}, not {args.model}")
    model = get_model(cfg.model)
    for n in args.unbounded or []:
        if n in cfg.params and n not in params:
            raise CheckerError(f"--unbounded {n}: configuration {cfg.id} sets {n}={cfg.params[n]}; "
                               f"prove the row as it is, or set -p {n}=VALUE on top of it")
    model.resolve_failures(args.enable, args.disable)  # unknown names: one-line errors first
    on = [f for f in cfg.failures if f not in args.disable] + [f for f in args.enable if f not in cfg.failures]
    off = [f for f in model.failure_modes if f not in on]
    return model, {**cfg.params, **params}, on, off, dict(cfg.expect), cfg.id


def _check_invariant(args: argparse.Namespace, model: Any, params: dict, enable: list, disable: list) -> int:
    from checker.proofs.prove import recheck_invariant
    for given, option in ((args.property, "--property"), (args.max_depth, "--max-depth"),
                          (args.timeout, "--timeout"), (args.verbose, "-v")):
        if given:
            raise CheckerError(f"{option} is not used with --check-invariant (it checks the invariant given, "
                               "prints every failing pair and keeps no time limit); drop it")
    path = args.check_invariant
    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    except (OSError, UnicodeDecodeError) as e:
        raise CheckerError(f"cannot read the invariant {path}: {getattr(e, 'strerror', None) or e}") from None
    interrupt.phase("checking the invariant")
    c = recheck_invariant(model, text.splitlines(), params, args.unbounded, enable, disable)
    if args.json:
        print(json.dumps({"model": model.name, "facts": c.facts, "properties": c.properties,
                          "failures": [f.line() for f in c.failures], "false_in": c.false_in,
                          "states": c.states, "instances": c.instances, "seconds": round(c.seconds, 3),
                          "inductive": c.exit_code == 0}, indent=2))
        return c.exit_code
    print(f"{c.facts} facts; properties among them: {', '.join(c.properties) or 'none'}; "
          f"checked with fresh solvers and on {c.states:,} states of {c.instances} small instances, {c.seconds:.2f} s")
    for f in c.failures:
        print("  " + f.line())
    for f in c.false_in:
        print("  " + f)
    if not c.properties:
        print("  no line is a property: the invariant proves nothing")
    print("verdict: " + ("inductive" if c.exit_code == 0 else "NOT INDUCTIVE"))
    return c.exit_code


def cmd_prove(args: argparse.Namespace) -> int:
    from checker.proofs.prove import prove
    from checker.render.prove_text import print_prove

    model, params, enable, disable, expect, config = _prove_instance(args)
    if args.check_invariant is not None:
        return _check_invariant(args, model, params, enable, disable)
    if args.timeout is None:
        args.timeout = DEFAULT_PROVE_TIMEOUT
    # prove keeps its own time, its Z3 queries given whole minutes; the watcher bounds the rest
    interrupt.start_clock(args.timeout, checked=False, grace=60.0)
    with Progress(args.progress, prefix="prove: ", clock=True) as progress:
        def say(text: str) -> None:
            interrupt.phase(f"proving: {text}")
            progress.say(text)
        interrupt.phase("proving")
        result = prove(model, params, args.unbounded, enable, disable,
                       max_depth=args.max_depth or DEFAULT_MAX_DEPTH, timeout=args.timeout, progress=say,
                       properties=args.property or None, expect=expect)
    result.config = config
    interrupt.decided()
    if args.json:
        print(json.dumps(result.json(), indent=2))
    else:
        con = make_console()
        print_prove(con, result, verbose=args.verbose)
        finish(con)
    return result.exit_code


def main(argv: list[str] | None = None) -> int:
    """Run one command. SIGINT and SIGTERM end it from a watcher thread (`checker/interrupt.py`):
    one line, exit 130 or 143, no child process and no half-written output left."""
    with interrupt.guarded():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    args.__dict__.pop("_given_once", None)  # _Once's bookkeeping
    if extra:  # refused by the command's parser, so the message points to its --help
        given = getattr(args, "model", None)
        why = f" ({args.command} takes one MODEL, and {given!r} comes first)" \
            if isinstance(given, str) and not extra[0].startswith("-") else ""
        next(a for a in parser._actions if a.dest == "command").choices[args.command].error(
            f"unrecognized arguments: {' '.join(extra)}{why}")
    try:
        if getattr(args, "plugin", None) is not None:
            return args.plugin.run(args)
        return {"verify": cmd_verify, "trace": cmd_trace, "replay": cmd_replay, "simulate": cmd_simulate,
                "list": cmd_list, "matrix": cmd_matrix, "prove": cmd_prove, "bench": cmd_bench,
                "diagrams": cmd_diagrams, "report": cmd_report, "check": check_cmd.run}[args.command](args)
    except CheckerError as e:
        sys.stderr.write(f"checker: error: {one_line(str(e))}\n")
        return 2
    except interrupt.TimeLimit as e:
        sys.stderr.write(f"checker: incomplete: {e}; no verdict\n")
        return 3
    except KeyboardInterrupt:  # raised by hand where no handler is installed (a thread, a test)
        sys.stderr.write(f"checker: {interrupt.INTERRUPTED}\n")
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: not an error of ours
        sys.stderr.close()
        return 0


def run() -> Any:
    """The console script: the handlers stay installed until the process exits, which it
    does right after the command (`interrupt.exit`), so no signal meets a default handler."""
    interrupt.install()
    try:
        code = main()
    except SystemExit as e:  # argparse: --help, --version, a usage error
        if not isinstance(e.code, int) and e.code is not None:
            raise
        code = e.code or 0
    interrupt.exit(code)
