"""`python -m checker`: verify, trace, replay, list, prove.

Exit codes: 0 every property as expected; 1 some property decided against its
expectation; 2 bad input (one line on stderr, no traceback); 3 incomplete (a limit hit).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, NoReturn

from .bmc import bmc
from .errors import CheckerError
from .explicit import explore
from .registry import get_model, models
from .replay import NotEnabled, replay
from .report import (describe_models, finish, make_console, params_line, print_models, print_result, print_trace,
                     result_json, trace_title)

__all__ = ["main"]

DEFAULT_MODEL = "kafka"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, as for every bad input
        sys.stderr.write(f"checker: error: {message} (see `{self.prog} --help`)\n")
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


def _positive(kind: type, what: str):
    """An argparse type: a positive int or float, with a message naming what is expected."""
    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not v > 0:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return v
    return parse


def _instance_args(p: argparse.ArgumentParser) -> None:
    """Options that choose the model instance: parameters and failure modes."""
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="set a model parameter (repeatable); `list` shows them")
    p.add_argument("--with", dest="enable", action="append", default=[], metavar="FAILURE",
                   help="turn a failure mode on (repeatable)")
    p.add_argument("--without", dest="disable", action="append", default=[], metavar="FAILURE",
                   help="turn a failure mode off (repeatable)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")


def _model_args(p: argparse.ArgumentParser) -> None:
    """Options of the commands that search: the instance, limits, output."""
    _instance_args(p)
    p.add_argument("--max-states", type=_positive(int, "a positive integer"), metavar="N",
                   help="stop after N distinct states; the run is then incomplete (exit 3)")
    p.add_argument("--timeout", type=_positive(float, "a positive number of seconds"), metavar="S",
                   help="stop after S seconds; the run is then incomplete (exit 3)")
    p.add_argument("--deadlock", action="store_true",
                   help="report a state with no enabled action as a violation of NoDeadlock")
    p.add_argument("--progress", action="store_true",
                   help="print progress to stderr even when it is not a terminal")


def build_parser() -> argparse.ArgumentParser:
    top = _Parser(prog="python -m checker",
                  description="Model-check protocol specifications: every reachable state, shortest traces.")
    sub = top.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")

    v = sub.add_parser("verify", help="check every property of a model",
                       description="Explore every reachable state and decide every property.")
    v.add_argument("model", nargs="?", default=DEFAULT_MODEL, help=f"model name (default {DEFAULT_MODEL})")
    v.add_argument("--no-traces", action="store_true", help="print the verdict table only")
    _model_args(v)

    t = sub.add_parser("trace", help="print the shortest trace of one property",
                       description="Print the shortest trace that violates (always) or witnesses "
                                   "(sometimes) one property: trace [MODEL] PROPERTY.")
    t.add_argument("names", nargs="+", metavar="[MODEL] PROPERTY")
    t.add_argument("--engine", choices=("explicit", "bmc"), default="explicit",
                   help="explicit-state search (default) or Z3 bounded model checking")
    t.add_argument("--max-depth", type=_positive(int, "a positive integer"), default=30, metavar="N",
                   help="deepest trace the bmc engine looks for (default 30)")
    _model_args(t)

    r = sub.add_parser("replay", help="replay a trace given as action names",
                       description="Take the named actions in order from the initial state and print "
                                   "the trace: replay [MODEL] ACTION... (as printed after every trace).")
    r.add_argument("names", nargs="+", metavar="[MODEL] ACTION")
    _instance_args(r)

    pr = sub.add_parser("prove", help="prove always properties for every size (Z3, inferred invariants)",
                        description="Prove every always property for every value of the unbounded parameters "
                                    "(by default every integer parameter that does not index actions), with an "
                                    "invariant inferred automatically, or refute it with a shortest trace.")
    pr.add_argument("model", nargs="?", default=DEFAULT_MODEL, help=f"model name (default {DEFAULT_MODEL})")
    pr.add_argument("--unbounded", action="append", default=None, metavar="NAME",
                    help="leave this integer parameter symbolic (repeatable; replaces the default set)")
    pr.add_argument("--max-depth", type=_positive(int, "a positive integer"), default=20, metavar="N",
                    help="deepest trace bounded model checking looks for when a proof fails (default 20)")
    pr.add_argument("--timeout", type=_positive(float, "a positive number of seconds"), default=300.0, metavar="S",
                    help="give up after S seconds (default 300); what is not decided is unknown (exit 3)")
    pr.add_argument("--progress", action="store_true",
                    help="print what is being done to stderr even when it is not a terminal")
    pr.add_argument("-v", "--verbose", action="store_true",
                    help="also show every refuted candidate invariant with its counterexample to induction")
    _instance_args(pr)

    ls = sub.add_parser("list", help="list models, parameters, failure modes and properties",
                        description="List every model (or one) with its parameters, failure modes, "
                                    "variables, actions and properties.")
    ls.add_argument("model", nargs="?", help="only this model")
    ls.add_argument("--json", action="store_true", help="print a JSON list instead of tables")
    return top


def _progress_printer(force: bool):
    err = make_console(stderr=True)
    if not (err.is_terminal or force):
        return None, lambda: None
    live = err.is_terminal

    def show(states: int, frontier: int, depth: int, seconds: float) -> None:
        rate = states / seconds if seconds > 0 else 0.0
        line = f"explored {states:,} states, frontier {frontier:,}, depth {depth}, {rate:,.0f} states/s"
        if live:
            sys.stderr.write("\r" + line + "\033[K")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def done() -> None:
        if live:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()

    return show, done


def _build(args: argparse.Namespace, model_name: str):
    model = get_model(model_name)
    return model.build(_parse_params(args.param), args.enable, args.disable)


def _explore(args: argparse.Namespace, system):
    show, done = _progress_printer(args.progress)
    try:
        return explore(system, max_states=args.max_states, timeout=args.timeout,
                       deadlock=args.deadlock, progress=show)
    finally:
        done()


def cmd_verify(args: argparse.Namespace) -> int:
    system = _build(args, args.model)
    result = _explore(args, system)
    if args.json:
        print(result_json(result))
    else:
        con = make_console()
        print_result(con, result, traces=not args.no_traces)
        finish(con)
    return result.exit_code


def cmd_trace(args: argparse.Namespace) -> int:
    if len(args.names) > 2:
        raise CheckerError("trace takes [MODEL] PROPERTY: at most two names")
    model_name, prop = (DEFAULT_MODEL, args.names[0]) if len(args.names) == 1 else args.names
    system = _build(args, model_name)
    if args.deadlock and prop != "NoDeadlock":
        raise CheckerError("--deadlock goes with the property NoDeadlock")
    if prop == "NoDeadlock" and not args.deadlock:
        args.deadlock = True
    if prop != "NoDeadlock":
        system.prop(prop)  # unknown property: a one-line error before any search
    start = time.perf_counter()
    if args.engine == "bmc":
        if prop == "NoDeadlock":
            raise CheckerError("the bmc engine does not check NoDeadlock; use --engine explicit")
        res = bmc(system, prop, max_depth=args.max_depth, timeout=args.timeout)
        complete = res.verdict != "unknown"
    else:
        result = _explore(args, system)
        res, complete = result.prop(prop), result.complete
    seconds = time.perf_counter() - start
    if args.json:
        print(json.dumps({"model": system.model, "params": system.params,
                          "failure_modes": system.failure_modes, "engine": args.engine,
                          "seconds": round(seconds, 3), "complete": complete, **res.json()}, indent=2))
    else:
        con = make_console()
        con.print(params_line(system))
        if res.trace is not None:
            print_trace(con, trace_title(res), res.trace)
        else:
            why = f": {res.reason}" if res.reason else ""
            con.print(f"{res.name} {res.verdict} (expected {res.expected}); no trace to show{why}",
                      soft_wrap=True)
        word = {True: "as expected", False: "NOT AS EXPECTED", None: "unknown"}[res.as_expected]
        con.print(f"verdict: {res.verdict}, {word}")
        finish(con)
    if res.as_expected is False:
        return 1
    return 3 if res.as_expected is None else 0


def cmd_replay(args: argparse.Namespace) -> int:
    names = list(args.names)
    model_name = names.pop(0) if names[0] in models() else DEFAULT_MODEL
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
        con.print(f"verdict: {failure}" if failure else "verdict: every step is enabled", soft_wrap=True)
        finish(con)
    return 1 if failure else 0


def cmd_list(args: argparse.Namespace) -> int:
    chosen = {args.model: get_model(args.model)} if args.model else models()
    if args.json:
        print(json.dumps(describe_models(chosen), indent=2))
        return 0
    con = make_console()
    print_models(con, chosen)
    finish(con)
    return 0


def cmd_prove(args: argparse.Namespace) -> int:
    from .prove import prove
    from .prove_report import print_prove

    model = get_model(args.model)
    err = make_console(stderr=True)
    live = err.is_terminal
    started = time.perf_counter()

    def say(text: str) -> None:
        line = f"prove: {text} ({time.perf_counter() - started:.1f} s)"
        sys.stderr.write(("\r" + line + "\033[K") if live else line + "\n")
        sys.stderr.flush()

    show = say if (live or args.progress) else None
    try:
        result = prove(model, _parse_params(args.param), args.unbounded, args.enable, args.disable,
                       max_depth=args.max_depth, timeout=args.timeout, progress=show)
    finally:
        if live:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
    if args.json:
        print(json.dumps(result.json(), indent=2))
    else:
        con = make_console()
        print_prove(con, result, verbose=args.verbose)
        finish(con)
    return result.exit_code


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return {"verify": cmd_verify, "trace": cmd_trace, "replay": cmd_replay,
                "list": cmd_list, "prove": cmd_prove}[args.command](args)
    except CheckerError as e:
        sys.stderr.write(f"checker: error: {e}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("checker: interrupted; no verdict\n")
        return 130


def run() -> Any:
    raise SystemExit(main())
