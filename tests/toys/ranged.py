"""A property written with range(bound): fine when built, not symbolic for `prove`."""

from checker import Array, Int, Model, Var, all_of

model = Model("ranged", __doc__)
model.param("bound", 2, min=1, doc="array size")


@model.variables
def _(p):
    return [Var("a", Array(p.bound, Int(0, 1)), "cells")]


@model.action
def Set(s):
    """Set the first cell."""
    s.a[0] = 1


@model.always
def small(s):
    """Every cell is 0 or 1."""
    return all_of(range(s.params.bound), lambda i: s.a[i] <= 1)
