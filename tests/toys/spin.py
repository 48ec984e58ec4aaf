"""Spin, or exit when at 0: x goes 0 -> 1 -> 0 -> ... (Spin); Exit, enabled only at x = 0,
goes to 2, the goal.

Exit is enabled infinitely often on the spin cycle but not continuously: weak fairness
of Exit allows spinning forever, strong fairness does not. Spin is fair too, so a run
cannot just stop at x = 0 or 1.
"""

from checker import Implies, Int, Model, Var, when

# The fairness `exits` assumes, by the `fairness` parameter: the cases the tests compare.
FAIRNESS = {
    "weak": {"Spin": "weak", "Exit": "weak"},
    "strong-exit": {"Spin": "weak", "Exit": "strong"},
    "strong-exit-dead": {"Spin": "weak", "Exit": "strong", "Never": "weak"},
    "exit-alone": {"Exit": "strong"},
    "none": {},
    "spin-dead": {"Spin": "weak", "Never": "weak"},
}

model = Model("spin", __doc__)
model.param("fairness", "weak", choices=tuple(FAIRNESS),
            doc="the fairness exits assumes: weak (Spin, Exit weak), strong-exit (Exit strong), "
                "strong-exit-dead (and the dead Never weak), exit-alone (Exit strong, Spin not fair), "
                "none, spin-dead (Spin and Never weak, Exit not fair)")


@model.variables
def variables(p):
    return [Var("x", Int(0, 3), "where we are")]


@model.action
def Spin(s):
    """Between 0 and 1."""
    when(s.x <= 1)
    s.x = 1 - s.x


@model.action
def Exit(s):
    """From 0 to the goal."""
    when(s.x == 0)
    s.x = 2


@model.action
def Never(s):
    """A dead action: no reachable state enables it."""
    when(s.x == 3)
    s.x = 0


@model.always
def small(s):
    """x stays at most 2 (the premise x > 2 never holds: vacuous)."""
    return Implies(s.x > 2, s.x == 3)


@model.fairness
def fairness(p):
    return FAIRNESS[p.fairness]


@model.eventually(expect="violated")
def exits(s):
    """x reaches 2."""
    return s.x == 2
