"""Replay a trace given as action names: the pasted form of every printed trace.

Each step must be enabled where it is taken; the result is the same Trace object the
engines return, so it prints with the same tables.
"""

from __future__ import annotations

from checker.lang.compile import compiled
from checker.result import Step, Trace
from checker.lang.system import System

__all__ = ["replay", "replay_command", "NotEnabled"]


class NotEnabled(Exception):
    """A step of the replayed trace is not enabled; `trace` holds the steps before it."""

    def __init__(self, message: str, trace: Trace):
        super().__init__(message)
        self.trace = trace


def replay(system: System, names: list[str]) -> Trace:
    """The trace that takes the named actions in order from the initial state."""
    expand = compiled(system).expand
    indices = [system.action_index(n) for n in names]  # unknown names: bad input, exit 2
    st = system.layout.pack(system.init)
    steps = [Step(None, system.init)]
    for n, (name, ai) in enumerate(zip(names, indices), start=1):
        nxt = [t for a, t in expand(st) if a == ai]
        if not nxt:
            raise NotEnabled(f"step {n}: {name} is not enabled in the state "
                             f"{system.show_state(steps[-1].state)}", Trace(system, steps))
        st = nxt[0]
        steps.append(Step(name, system.layout.unpack(st)))
    return Trace(system, steps)


def replay_command(trace: Trace) -> str:
    """A command line that replays this trace."""
    s = trace.system
    # Names first, options last: argparse cannot take positionals on both sides of options.
    parts = ["checker replay", s.model, *(_quote(a) for a in trace.actions), *s.command_args()]
    return " ".join(parts)


def _quote(name: str) -> str:
    return f"'{name}'" if any(c in name for c in "()[] ") else name
