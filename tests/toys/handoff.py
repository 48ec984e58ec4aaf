"""Two counters taking turns: a and b count up to a bound in turn; b <= a holds but is not
inductive alone.

From b = a with b's turn, IncB would break b <= a; no reachable state is like that,
because on b's turn a = b + 1. Proving it needs that strengthening invariant.
"""

from checker import Enum, Int, Model, Var, when

TURN = Enum("a_turn", "b_turn")

model = Model("handoff", __doc__)
model.param("bound", 3, min=1, doc="how far a counts")


@model.variables
def _(p):
    return [Var("a", Int(0, p.bound), "a"), Var("b", Int(0, p.bound), "b"),
            Var("turn", TURN, "whose turn")]


@model.action
def IncA(s):
    """a counts."""
    when(s.turn == TURN.a_turn, s.a < s.params.bound)
    s.a += 1
    s.turn = TURN.b_turn


@model.action
def IncB(s):
    """b follows."""
    when(s.turn == TURN.b_turn)
    s.b += 1
    s.turn = TURN.a_turn


@model.always
def behind_or_equal(s):
    """b never overtakes a."""
    return s.b <= s.a


@model.always(expect="violated")
def b_below_bound(s):
    """b stays below the bound (false: b reaches it after a does)."""
    return s.b < s.params.bound
