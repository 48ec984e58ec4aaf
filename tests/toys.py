"""Small toy models for the engine tests: nothing about Kafka, every count known by hand."""

from checker import And, Array, Bool, Enum, Int, Model, Not, Var, all_of, ite, when


def counter(guarded: bool = True) -> Model:
    """n counts 0..bound: bound+1 states, a straight line."""
    m = Model("counter", "A counter.")
    m.param("bound", 3, min=1, doc="how far to count")

    @m.variables
    def _(p):
        return [Var("n", Int(0, p.bound), "the count")]

    @m.action
    def Inc(s):
        """Add one."""
        if guarded:
            when(s.n < s.params.bound)
        s.n += 1

    @m.always
    def InRange(s):
        """n never exceeds the bound."""
        return s.n <= s.params.bound

    @m.sometimes
    def AtBound(s):
        """n reaches the bound."""
        return s.n == s.params.bound

    return m


def grid() -> Model:
    """x, y in 0..2 with IncX and IncY: 9 states; several shortest paths to each corner."""
    m = Model("grid", "Two counters.")

    @m.variables
    def _(p):
        return [Var("x", Int(0, 2), "x"), Var("y", Int(0, 2), "y")]

    @m.action
    def IncX(s):
        """x + 1."""
        when(s.x < 2)
        s.x += 1

    @m.action
    def IncY(s):
        """y + 1."""
        when(s.y < 2)
        s.y += 1

    @m.sometimes
    def Corner(s):
        """x = 2 and y = 1."""
        return And(s.x == 2, s.y == 1)

    @m.always(expect="violated")
    def SmallSum(s):
        """x + y stays below 3."""
        return s.x + s.y < 3

    return m


SWITCH = Enum("off", "on")


def flags() -> Model:
    """Three flags set one at a time by a pointer that cycles: 8 x 3 = 24 states."""
    m = Model("flags", "Flags, a pointer, an enum and a failure mode.")
    m.param("glitches", 1, min=0, doc="how often the power can fail")

    @m.variables
    def _(p):
        return [Var("flag", Array(3, Bool()), "the flags"),
                Var("ptr", Int(0, 2), "which flag is next"),
                Var("power", SWITCH, "the power switch", init=SWITCH.on)]

    @m.action
    def Set(s):
        """Set the flag under the pointer."""
        when(s.power == SWITCH.on, Not(s.flag[s.ptr]))
        s.flag[s.ptr] = True

    @m.action
    def Move(s):
        """Move the pointer on, cyclically."""
        when(s.power == SWITCH.on)
        s.ptr = ite(s.ptr == 2, 0, s.ptr + 1)

    @m.action
    def Restore(s):
        """The power comes back."""
        when(s.power == SWITCH.off)
        s.power = SWITCH.on

    glitch = m.failure_mode("glitch", budget="glitches", counter="glitched", doc="The power fails.")

    @glitch.action
    def Outage(s):
        """The power fails and clears every flag."""
        for i in range(3):
            s.flag[i] = False
        s.power = SWITCH.off

    @m.sometimes
    def AllSet(s):
        """Every flag is set."""
        return all_of(s.flag)

    @m.always(expect="violated")
    def NeverOff(s):
        """The power stays on."""
        return s.power == SWITCH.on

    return m


def bad_init() -> Model:
    """An invariant false in the initial state: its trace has no steps."""
    m = Model("badinit", "Broken from the start.")

    @m.variables
    def _(p):
        return [Var("x", Int(0, 1), "x")]

    @m.action
    def Flip(s):
        """Flip x."""
        s.x = 1 - s.x

    @m.always
    def Positive(s):
        """x is positive."""
        return s.x > 0

    return m


def handoff() -> Model:
    """a and b take turns to count up to a bound; b <= a holds but is not inductive alone.

    From b = a with b's turn, IncB would break b <= a; no reachable state is like that,
    because on b's turn a = b + 1. Proving it needs that strengthening invariant.
    """
    m = Model("handoff", "Two counters taking turns.")
    m.param("bound", 3, min=1, doc="how far a counts")
    turn = Enum("a_turn", "b_turn")

    @m.variables
    def _(p):
        return [Var("a", Int(0, p.bound), "a"), Var("b", Int(0, p.bound), "b"),
                Var("turn", turn, "whose turn")]

    @m.action
    def IncA(s):
        """a counts."""
        when(s.turn == turn.a_turn, s.a < s.params.bound)
        s.a += 1
        s.turn = turn.b_turn

    @m.action
    def IncB(s):
        """b follows."""
        when(s.turn == turn.b_turn)
        s.b += 1
        s.turn = turn.a_turn

    @m.always
    def BehindOrEqual(s):
        """b never overtakes a."""
        return s.b <= s.a

    @m.always(expect="violated")
    def BBelowBound(s):
        """b stays below the bound (false: b reaches it after a does)."""
        return s.b < s.params.bound

    return m


def ranged() -> Model:
    """A property that loops over range(bound): fine when built, not symbolic for `prove`."""
    m = Model("ranged", "A property written with range(bound).")
    m.param("bound", 2, min=1, doc="array size")

    @m.variables
    def _(p):
        return [Var("a", Array(p.bound, Int(0, 1)), "cells")]

    @m.action
    def Set(s):
        """Set the first cell."""
        s.a[0] = 1

    @m.always
    def Small(s):
        """Every cell is 0 or 1."""
        return all_of(range(s.params.bound), lambda i: s.a[i] <= 1)

    return m
