"""Broken from the start: an invariant false in the initial state, so its trace has no steps."""

from checker import Int, Model, Var

model = Model("badinit", __doc__)


@model.variables
def _(p):
    return [Var("x", Int(0, 1), "x")]


@model.action
def Flip(s):
    """Flip x."""
    s.x = 1 - s.x


@model.always
def positive(s):
    """x is positive."""
    return s.x > 0
