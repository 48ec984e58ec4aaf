"""Two ways out of 0: Go leads to the goal (1) and Fall to a dead end (2), a terminal state."""

from checker import Int, Model, Var, when

model = Model("trap", __doc__)


@model.variables
def variables(p):
    return [Var("x", Int(0, 2), "where we are")]


@model.action
def Go(s):
    """To the goal."""
    when(s.x == 0)
    s.x = 1


@model.action
def Fall(s):
    """Into the dead end."""
    when(s.x == 0)
    s.x = 2


@model.eventually(fair=["Go", "Fall"], expect="violated")
def arrives(s):
    """x reaches 1."""
    return s.x == 1
