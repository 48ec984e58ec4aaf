"""A counter: n counts 0..bound, bound+1 states on a straight line."""

from checker import Int, Model, Var, when

model = Model("counter", __doc__)
model.param("bound", 3, min=1, doc="how far to count")


@model.variables
def variables(p):
    return [Var("n", Int(0, p.bound), "the count")]


@model.action
def Inc(s):
    """Add one."""
    when(s.n < s.params.bound)
    s.n += 1


@model.always
def in_range(s):
    """n never exceeds the bound."""
    return s.n <= s.params.bound


@model.sometimes
def at_bound(s):
    """n reaches the bound."""
    return s.n == s.params.bound
