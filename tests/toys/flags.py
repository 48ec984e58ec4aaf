"""Flags, a pointer, an enum and a failure mode: three flags set one at a time by a pointer
that cycles, 8 x 3 = 24 states."""

from checker import Array, Bool, Enum, Int, Model, Not, Var, all_of, ite, when

SWITCH = Enum("off", "on")

model = Model("flags", __doc__)
model.param("glitches", 1, min=0, doc="how often the power can fail")


@model.variables
def _(p):
    return [Var("flag", Array(3, Bool()), "the flags"),
            Var("ptr", Int(0, 2), "which flag is next"),
            Var("power", SWITCH, "the power switch", init=SWITCH.on)]


@model.action
def Set(s):
    """Set the flag under the pointer."""
    when(s.power == SWITCH.on, Not(s.flag[s.ptr]))
    s.flag[s.ptr] = True


@model.action
def Move(s):
    """Move the pointer on, cyclically."""
    when(s.power == SWITCH.on)
    s.ptr = ite(s.ptr == 2, 0, s.ptr + 1)


@model.action
def Restore(s):
    """The power comes back."""
    when(s.power == SWITCH.off)
    s.power = SWITCH.on


glitch = model.failure_mode("glitch", budget="glitches", counter="glitched", doc="The power fails.")


@glitch.action
def Outage(s):
    """The power fails and clears every flag."""
    for i in range(3):
        s.flag[i] = False
    s.power = SWITCH.off


@model.sometimes
def all_set(s):
    """Every flag is set."""
    return all_of(s.flag)


@model.always(expect="violated")
def never_off(s):
    """The power stays on."""
    return s.power == SWITCH.on
