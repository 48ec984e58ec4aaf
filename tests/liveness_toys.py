"""Toy models for liveness, fairness, coverage and vacuity: every answer known by hand."""

from checker import UNBOUNDED, Implies, Int, Model, Var, when


def spin(fair=None) -> Model:
    """x goes 0 -> 1 -> 0 -> ... (Spin); Exit, enabled only at x = 0, goes to 2, the goal.

    Exit is enabled infinitely often on the spin cycle but not continuously: weak fairness
    of Exit allows spinning forever, strong fairness does not. Spin is fair too, so a run
    cannot just stop at x = 0 or 1.
    """
    m = Model("spin", "Spin, or exit when at 0.")

    @m.variables
    def _(p):
        return [Var("x", Int(0, 3), "where we are")]

    @m.action
    def Spin(s):
        """Between 0 and 1."""
        when(s.x <= 1)
        s.x = 1 - s.x

    @m.action
    def Exit(s):
        """From 0 to the goal."""
        when(s.x == 0)
        s.x = 2

    @m.action
    def Never(s):
        """A dead action: no reachable state enables it."""
        when(s.x == 3)
        s.x = 0

    @m.always
    def Small(s):
        """x stays at most 2 (the premise x > 2 never holds: vacuous)."""
        return Implies(s.x > 2, s.x == 3)

    m.fairness(fair if fair is not None else {"Spin": "weak", "Exit": "weak"})

    @m.eventually(expect="violated")
    def Exits(s):
        """x reaches 2."""
        return s.x == 2

    return m


def trap(mod: bool = False) -> Model:
    """From 0, Go leads to the goal (1) and Fall to a dead end (2): a terminal state.

    mod: write the goal and an implication with `%`, which numpy does not evaluate here,
    so the checker falls back to the compiled predicates.
    """
    m = Model("trap", "Two ways out of 0.")

    @m.variables
    def _(p):
        return [Var("x", Int(0, 2), "where we are")]

    @m.action
    def Go(s):
        """To the goal."""
        when(s.x == 0)
        s.x = 1

    @m.action
    def Fall(s):
        """Into the dead end."""
        when(s.x == 0)
        s.x = 2

    @m.eventually(fair=["Go", "Fall"], expect="violated")
    def Arrives(s):
        """x reaches 1."""
        return s.x % 2 == 1 if mod else s.x == 1

    if mod:
        @m.always
        def Odd(s):
            """An implication whose premise never holds."""
            return Implies(s.x % 5 == 4, s.x == 0)

    return m


def detour(side: bool = True) -> Model:
    """0 -Up-> 1 (the goal) -Down-> 2, which stays; with side, also 0 -Side-> 3 <-Turn-> 4.

    The goal does not last: state 2 is short of it, but every run to 2 passed the goal,
    so it is no violation. The side loop is one: Up is disabled there.
    """
    m = Model("detour", "A goal that does not last, and a way around it.")

    @m.variables
    def _(p):
        return [Var("x", Int(0, 4), "where we are")]

    @m.action
    def Up(s):
        """To the goal."""
        when(s.x == 0)
        s.x = 1

    @m.action
    def Down(s):
        """Past the goal."""
        when(s.x == 1)
        s.x = 2

    @m.action
    def Stay(s):
        """Stay at 2."""
        when(s.x == 2)
        s.x = 2

    if side:
        @m.action
        def Side(s):
            """Around the goal."""
            when(s.x == 0)
            s.x = 3

    @m.action
    def Turn(s):
        """Between 3 and 4."""
        when(s.x >= 3)
        s.x = 7 - s.x

    m.fairness(["Up", "Down", "Stay", "Turn"])

    @m.eventually(expect="violated" if side else "holds")
    def Reaches(s):
        """x is 1 at some point."""
        return s.x == 1

    return m


def budget() -> Model:
    """A failure mode whose budget may be `unbounded`: then it keeps no counter."""
    m = Model("budget", "Glitches, limited or not.")
    m.param("max_glitches", 1, min=0, unbounded=True, doc="how many glitches")

    @m.variables
    def _(p):
        return [Var("on", Int(0, 1), "a switch")]

    @m.action
    def Toggle(s):
        """Flip the switch."""
        s.on = 1 - s.on

    glitch = m.failure_mode("glitch", budget="max_glitches", counter="glitches", doc="A glitch.",
                            default=True)

    @glitch.action
    def Glitch(s):
        """Turn it off."""
        s.on = 0

    @m.sometimes
    def On(s):
        """It is on."""
        return s.on == 1

    return m


__all__ = ["spin", "trap", "detour", "budget", "UNBOUNDED"]
