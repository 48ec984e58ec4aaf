"""The trap with its goal and an implication written with `%`, which numpy does not
evaluate here, so the checker falls back to the compiled predicates."""

from checker import Implies, Model

from .trap import Fall, Go, variables

model = Model("modulo", __doc__)
model.variables(variables)
model.action(Go)
model.action(Fall)


@model.eventually(fair=["Go", "Fall"], expect="violated")
def arrives(s):
    """x reaches 1 (written: x is odd)."""
    return s.x % 2 == 1


@model.always
def odd(s):
    """An implication whose premise never holds."""
    return Implies(s.x % 5 == 4, s.x == 0)
