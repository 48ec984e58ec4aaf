"""`checker check FILE...`: a user's own settings files, read by the model package's settings reader, checked.

Arguments and exit codes only; the reading is the package's (`SETUP`), the running and
the fixes are checker/setup.py's, the output checker/render/check_text.py's.
"""

from __future__ import annotations

import argparse

from checker import interrupt
from checker.api import Options, check
from checker.errors import CheckerError
from checker.registry import get_model, setup_reader
from checker.render.check_text import answer_json, print_answer, requirement
from checker.render.text import finish, make_console
from checker.setup import answer

__all__ = ["add_arguments", "run", "read_file", "EXIT_CODES", "REQUIRE"]

REQUIRE = ("at-least-once", "at-most-once", "exactly-once")
EXIT_CODES = [(0, "answered (without --require, whatever the verdicts), or the requirement is met"),
              (1, "the --require'd guarantee is violated"),
              (2, "bad input (a one-line message on stderr, no traceback): a key that is not the "
                  "settings', a value or a combination they refuse"),
              (3, "incomplete: a limit was hit; a guarantee not decided is unknown, never holds")]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="a settings file (Java .properties: consumer, producer, topic or broker settings); "
                        "several merge, later ones win")
    p.add_argument("-s", "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="set one key on top of the files (repeatable)")
    p.add_argument("--require", choices=REQUIRE, default=None,
                   help="what the application needs: exit 1 when it is violated")
    p.add_argument("--faults", metavar="LIST", default=None,
                   help="consider only these faults (comma-separated; the output lists the faults considered)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")


def read_file(path: str) -> tuple[str, str]:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise CheckerError(f"cannot read {path}: {e.strerror or e}; give a readable .properties file") from None
    # Properties.load(InputStream), which Kafka uses, reads ISO 8859-1: every byte is a character.
    return path, data.decode("latin-1")


def _overrides(items: list[str]) -> list[tuple[str, str]]:
    out = []
    for it in items:
        key, eq, value = it.partition("=")
        if not eq or not key.strip():
            raise CheckerError(f"-s {it!r}: write a setting as KEY=VALUE, e.g. -s enable.auto.commit=false")
        out.append((key.strip(), value))
    return out


def _faults(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [f.strip() for f in text.split(",")]
    if not all(names):
        raise CheckerError(f"--faults {text!r}: give fault names separated by commas, e.g. --faults crash,rebalance")
    return list(dict.fromkeys(names))


def run(args: argparse.Namespace) -> int:
    reader = setup_reader()
    files = [read_file(p) for p in args.files]
    overrides, faults = _overrides(args.overrides), _faults(args.faults)
    interrupt.phase("checking the settings")
    ans = answer(reader, files, overrides, faults, get_model, check, Options(engine="explicit"))
    interrupt.decided()
    if args.json:
        print(answer_json(ans, args.require))
    else:
        con = make_console()
        print_answer(con, ans, args.require)
        finish(con)
    req = requirement(ans, args.require)
    if req is not None:
        return {"yes": 0, "no": 1, "unknown": 3}[req[0]]
    return 0 if ans.complete else 3
