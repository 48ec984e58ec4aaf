"""The command line: `main.py` builds the parser and runs each subcommand; `bench.py`
is the `bench` command's ladder; `progress.py` shows what a long command is doing."""

from checker.cli.main import VERSION, build_parser, main, run

__all__ = ["VERSION", "build_parser", "main", "run"]
