"""Progress on stderr: a rich status line on a terminal, plain lines when asked, else nothing.

On an interactive terminal (rich's `is_interactive`: a terminal that is not TERM=dumb)
one status line with a spinner is updated in place and erased at the end; with
`--progress` anywhere else each update is one line; piped, redirected or on a dumb
terminal without `--progress`, nothing is written, so stderr stays clean for scripts.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Callable

from rich.console import Console
from rich.status import Status

from checker import interrupt

__all__ = ["Progress"]


class Progress:
    """What a long command is doing. Use as a context manager; `on` says whether it shows anything.

    It is the engines' progress callable (states, frontier, depth, seconds[, memory]) and
    has `phase(text)`, which the engines call for the work after the search (liveness).
    """

    def __init__(self, force: bool, prefix: str = "", clock: bool = False):
        self.console = Console(stderr=True, markup=False, highlight=False)
        self.live = self.console.is_interactive
        self.on = self.live or force
        self.prefix = prefix  # e.g. "prove: "
        self.clock = clock  # append the seconds since the start to every update
        self.started = time.perf_counter()
        self._status: Status | None = None

    def __enter__(self) -> Progress:
        if self.live:
            self._status = self.console.status(self.prefix + "starting", spinner="dots")
            self._status.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._status is not None:
            self._status.stop()  # transient: the line goes, the output that follows starts clean
            self._status = None

    def say(self, text: str) -> None:
        if not self.on:
            return
        line = self.prefix + text
        if self.clock:
            line += f" ({time.perf_counter() - self.started:.1f} s)"
        if self._status is not None:
            self._status.update(line)
        else:
            self.console.print(line, soft_wrap=True)  # one line per update, never wrapped

    def __call__(self, states: int, frontier: int, depth: int, seconds: float, memory: int | None = None) -> None:
        rate = states / seconds if seconds > 0 else 0.0
        line = f"explored {states:,} states, frontier {frontier:,}, depth {depth}, {rate:,.0f} states/s"
        if memory is not None:
            line += f", {memory / 2**20:,.0f} MB"
        self.say(line)

    def phase(self, text: str) -> None:
        interrupt.phase(f"checking {text}")  # what a time limit or a test names
        self.say(text)

    @property
    def walks(self) -> Callable[..., None] | None:
        """What to hand simulate: (distinct states seen, walks done, deepest walk, seconds)."""
        if not self.on:
            return None

        def report(states: int, walks: int, deepest: int, seconds: float) -> None:
            self.say(f"simulated {walks:,} walks, {states:,} distinct states seen, deepest walk {deepest} steps")
        return report

    @property
    def search(self) -> Progress | None:
        """What to hand an engine: this reporter when it shows anything (the engines skip None)."""
        return self if self.on else None
