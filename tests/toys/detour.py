"""A goal that does not last, and a way around it: `passing` plus 0 -Side-> 3 <-Turn-> 4.

The side loop is a violation: Up is disabled there, so fairness does not force the goal.
"""

from checker import Model, when

from .passing import Down, Stay, Turn, Up, reaches, variables

model = Model("detour", __doc__)
model.variables(variables)
model.action(Up)
model.action(Down)
model.action(Stay)


@model.action
def Side(s):
    """Around the goal."""
    when(s.x == 0)
    s.x = 3


model.action(Turn)
model.fairness(["Up", "Down", "Stay", "Turn"])
model.eventually(reaches, expect="violated")
