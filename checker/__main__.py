"""Entry point: `python -m checker`."""

from .cli import run

run()
