"""Two counters: x, y in 0..2 with IncX and IncY, 9 states; several shortest paths to each corner."""

from checker import And, Int, Model, Var, when

model = Model("grid", __doc__)


@model.variables
def _(p):
    return [Var("x", Int(0, 2), "x"), Var("y", Int(0, 2), "y")]


@model.action
def IncX(s):
    """x + 1."""
    when(s.x < 2)
    s.x += 1


@model.action
def IncY(s):
    """y + 1."""
    when(s.y < 2)
    s.y += 1


@model.sometimes
def corner(s):
    """x = 2 and y = 1."""
    return And(s.x == 2, s.y == 1)


@model.always(expect="violated")
def small_sum(s):
    """x + y stays below 3."""
    return s.x + s.y < 3
