"""A goal that does not last: 0 -Up-> 1 (the goal) -Down-> 2, which stays.

State 2 is short of the goal, but every run to 2 passed it, so it is no violation.
Turn (between 3 and 4) is dead here; `detour` adds the way there.
"""

from checker import Int, Model, Var, when

model = Model("passing", __doc__)


@model.variables
def variables(p):
    return [Var("x", Int(0, 4), "where we are")]


@model.action
def Up(s):
    """To the goal."""
    when(s.x == 0)
    s.x = 1


@model.action
def Down(s):
    """Past the goal."""
    when(s.x == 1)
    s.x = 2


@model.action
def Stay(s):
    """Stay at 2."""
    when(s.x == 2)
    s.x = 2


@model.action
def Turn(s):
    """Between 3 and 4."""
    when(s.x >= 3)
    s.x = 7 - s.x


model.fairness(["Up", "Down", "Stay", "Turn"])


@model.eventually
def reaches(s):
    """x is 1 at some point."""
    return s.x == 1
