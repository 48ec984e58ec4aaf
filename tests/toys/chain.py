"""A chain of two properties: b copies a, and a changes only by b.

b-zero is inductive only with a-zero beside it, and a-zero is declared first: the
printed invariant of b-zero must still start with b-zero itself.
"""

from checker import Int, Model, Var, when

model = Model("chain", __doc__)
model.param("bound", 3, min=1, doc="the largest value a and b can hold")


@model.variables
def variables(p):
    return [Var("a", Int(0, p.bound), "stays 0"), Var("b", Int(0, p.bound), "copies a")]


@model.action
def Copy(s):
    """b takes a's value."""
    s.b = s.a


@model.action
def Grow(s):
    """a grows by b (by 0 in every reachable state)."""
    when(s.a + s.b <= 0)
    s.a = s.a + s.b


@model.always
def a_zero(s):
    """a stays 0."""
    return s.a == 0


@model.always
def b_zero(s):
    """b stays 0: inductive only together with a-zero."""
    return s.b == 0
