"""Glitches, limited or not: a failure mode whose budget may be `unbounded`, and then it
keeps no counter."""

from checker import Int, Model, Var

model = Model("budget", __doc__)
model.param("max_glitches", 1, min=0, unbounded=True, doc="how many glitches")


@model.variables
def _(p):
    return [Var("on", Int(0, 1), "a switch")]


@model.action
def Toggle(s):
    """Flip the switch."""
    s.on = 1 - s.on


glitch = model.failure_mode("glitch", budget="max_glitches", counter="glitches", doc="A glitch.",
                            default=True)


@glitch.action
def Glitch(s):
    """Turn it off."""
    s.on = 0


@model.sometimes
def on(s):
    """It is on."""
    return s.on == 1
