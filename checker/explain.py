"""A trace explained once: per step, the action taken and the failure mode it belongs
to, what changed, and the value of every property in the state reached.

Every renderer of a trace (the text tables, the markdown and sequence pictures, the
HTML report, the matrix's trace pages) formats this and computes none of it. It is
computed once per trace and kept while the trace lives.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from checker.lang.compile import compiled
from checker.lang.system import ActionInst, FlatVar, System
from checker.result import Trace

__all__ = ["Change", "StepExplanation", "explain", "property_values", "notable"]


@dataclass(frozen=True)
class Change:
    """One variable that a step changed."""

    index: int  # the variable's place in `system.variables` (and in a state)
    variable: FlatVar
    before: int
    after: int

    def __str__(self) -> str:
        v = self.variable
        return f"{v.name} {v.show(self.before)}->{v.show(self.after)}"


@dataclass(frozen=True)
class StepExplanation:
    """One step of a trace: how it was reached and what holds there."""

    step: int  # 0 is the initial state
    action: ActionInst | None  # None for the initial state
    state: tuple[int, ...]  # every variable's value, in `system.variables` order
    packed: int  # the state as the engines store it (a node of the state graph)
    changes: tuple[Change, ...]  # in variable order; () for the initial state
    values: tuple[bool, ...]  # each property's formula in this state, in `system.properties` order
    results: tuple[str, ...]  # "no-loss violated", "goal reached": see `notable`

    @property
    def name(self) -> str | None:
        """The action instance's name, None for the initial state."""
        return None if self.action is None else self.action.name

    @property
    def description(self) -> str:
        return "the initial state" if self.action is None else self.action.description

    @property
    def failure(self) -> str | None:
        """The failure mode the action belongs to, None for a normal action or the start."""
        return None if self.action is None else self.action.failure

    @property
    def changed(self) -> list[str]:
        """Each change as `name before->after`."""
        return [str(c) for c in self.changes]

    def changes_variable(self, index: int) -> bool:
        """Whether this step changed the variable at `index`."""
        return any(c.index == index for c in self.changes)


def property_values(system: System, packed: int) -> tuple[bool, ...]:
    """Each property's formula in a packed state, in `system.properties` order."""
    return tuple(bool(f(packed)) for f in compiled(system).predicates)


def notable(system: System, values: tuple[bool, ...]) -> list[tuple[str, str]]:
    """(property, "violated") for each always property false in a state and (property,
    "reached") for each sometimes property true there, in property order; an eventually
    property is a claim about runs, so its formula alone says neither."""
    out = []
    for p, value in zip(system.properties, values):
        if p.kind == "always" and not value:
            out.append((p.name, "violated"))
        elif p.kind == "sometimes" and value:
            out.append((p.name, "reached"))
    return out


# Explanations by id of their trace; an entry goes when its trace does (see `explain`).
_explained: dict[int, tuple[weakref.ref, tuple[StepExplanation, ...]]] = {}


def explain(trace: Trace) -> tuple[StepExplanation, ...]:
    """Every step of the trace explained; computed on the first call for a trace."""
    key = id(trace)
    hit = _explained.get(key)
    if hit is not None and hit[0]() is trace:
        return hit[1]
    s = trace.system
    out: list[StepExplanation] = []
    prev: tuple[int, ...] | None = None
    for n, step in enumerate(trace.steps):
        packed = s.layout.pack(step.state)
        values = property_values(s, packed)
        results = tuple(f"{name} {what}" for name, what in notable(s, values))
        if prev is None:
            action, changes = None, ()
        else:
            action = s.actions[s.action_index(step.action)]  # type: ignore[arg-type]
            changes = tuple(Change(i, v, x, y) for i, (v, x, y) in enumerate(zip(s.variables, prev, step.state))
                            if x != y)
        out.append(StepExplanation(n, action, step.state, packed, changes, values, results))
        prev = step.state
    explained = tuple(out)
    _explained[key] = (weakref.ref(trace, lambda _: _explained.pop(key, None)), explained)
    return explained
