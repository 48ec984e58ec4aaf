"""Entry point: `python -m checker`."""

from checker.cli.main import run

run()
