"""The counter without its guard: Inc at the bound sets n outside its domain (a malformed model)."""

from checker import Model

from .counter import at_bound, in_range, variables

model = Model("overflow", __doc__)
model.param("bound", 3, min=1, doc="how far to count")
model.variables(variables)


@model.action
def Inc(s):
    """Add one."""
    s.n += 1


model.always(in_range)
model.sometimes(at_bound)
