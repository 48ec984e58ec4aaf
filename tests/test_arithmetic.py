"""The language's arithmetic, the same in every engine: Python's `/`, `//` and `%` for
every sign, a division by zero and an update outside its domain as the same one-line
model error, and the fast engine's refusal of what 64 bits cannot hold.

Each reproducer of issue 15 ("Wrong answers found") is a test here: the toy model is
built with the language and checked by the explicit, fast and bmc engines through
`checker.check`, with exact verdicts, traces and messages.
"""

import os
import subprocess
import sys
import textwrap

import pytest
import z3

from checker import (And, Array, CheckerError, Implies, Int, Model, Options, Or, Var, check, ite,
                     when)
from checker.lang.arith import Bounds, PythonArith
from checker.lang.compile import compiled, domain_checks
from checker.lang.system import take
import toys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENGINES = ("explicit", "fast", "bmc")


def run(system, engine, max_depth=6):
    """The Result of one engine, or the one-line error it stops with (as text)."""
    opts = Options(engine=engine, max_depth=max_depth) if engine == "bmc" else Options(engine=engine)
    try:
        return check(system, opts)
    except CheckerError as e:
        return f"{type(e).__name__}: {e}"


def answers(result):
    """Each property's verdict and trace as (action, state) pairs."""
    if isinstance(result, str):
        return result
    return {p.name: (str(p.verdict), p.trace and [(s.action, s.state) for s in p.trace.steps])
            for p in result.properties}


def every_engine(system, max_depth=6):
    return {e: answers(run(system, e, max_depth)) for e in ENGINES}


def same_error(system, text, max_depth=6):
    """Every engine stops with this one-line error."""
    assert "\n" not in text
    assert every_engine(system, max_depth) == {e: text for e in ENGINES}


def model(variables, *actions, props=()):
    """A toy model: variables as (name, lo, hi, init), actions as functions, and
    properties as (kind, name, fn)."""
    m = Model("toy", "A toy of the arithmetic tests.")
    m.variables(lambda p: [Var(n, Int(lo, hi), n, init=i) for n, lo, hi, i in variables])
    for a in actions:
        m.action(a)
    for kind, name, fn in props:
        getattr(m, kind)(fn, name=name)
    return m


# --------------------------------------------------------------------------- 1: Python's division

def test_reproducer_1_division_by_a_negative_variable_is_pythons():
    def Div(s):
        """q = 7 / d."""
        s.q = 7 / s.d

    system = model([("d", -2, 2, -2), ("q", -10, 10, -10)], Div,
                   props=[("sometimes", "q-is-minus-4", lambda s: s.q == -4),
                          ("sometimes", "q-is-minus-3", lambda s: s.q == -3)]).build()
    trace = [(None, (-2, -10)), ("Div", (-2, -4))]  # 7 // -2 == -4
    assert every_engine(system) == {
        "explicit": {"q-is-minus-4": ("reachable", trace), "q-is-minus-3": ("unreachable", None)},
        "fast": {"q-is-minus-4": ("reachable", trace), "q-is-minus-3": ("unreachable", None)},
        "bmc": {"q-is-minus-4": ("reachable", trace), "q-is-minus-3": ("unknown", None)},
    }
    assert take(system, (-2, -10), 0) == (-2, -4)  # Z3's evaluation, as the fast engine's traces use


def test_modulo_by_a_negative_number_takes_the_divisors_sign():
    def Mod(s):
        """r = z % -2."""
        s.r = s.z % -2

    system = model([("z", 0, 1, 1), ("r", -2, 2, 0)], Mod,
                   props=[("sometimes", "r-is-minus-1", lambda s: s.r == -1),
                          ("sometimes", "r-is-1", lambda s: s.r == 1)]).build()
    trace = [(None, (1, 0)), ("Mod", (1, -1))]  # 1 % -2 == -1
    assert every_engine(system) == {
        "explicit": {"r-is-minus-1": ("reachable", trace), "r-is-1": ("unreachable", None)},
        "fast": {"r-is-minus-1": ("reachable", trace), "r-is-1": ("unreachable", None)},
        "bmc": {"r-is-minus-1": ("reachable", trace), "r-is-1": ("unknown", None)},
    }


PAIRS = [(x, y) for x in range(-7, 8) for y in (-3, -2, -1, 1, 2, 3)]
RESULTS = {  # name -> (domain, the term over s, Python's value for (x, y))
    "q": ((-7, 7), lambda s: s.x / s.y, lambda x, y: x // y),
    "fq": ((-7, 7), lambda s: s.x // s.y, lambda x, y: x // y),
    "r": ((-3, 3), lambda s: s.x % s.y, lambda x, y: x % y),
    "qc": ((-4, 4), lambda s: s.x / -2, lambda x, y: x // -2),
    "rc": ((-2, 2), lambda s: s.x % -2, lambda x, y: x % -2),
    "cq": ((-7, 7), lambda s: -7 / s.y, lambda x, y: -7 // y),
    "cr": ((-3, 3), lambda s: 7 % s.y, lambda x, y: 7 % y),
    "nested": ((-8, 8), lambda s: (s.x / s.y) % 3 - s.x % (s.y * 2) / 2,
               lambda x, y: (x // y) % 3 - x % (y * 2) // 2),
}


def table_model():
    """Picks one (x, y) of PAIRS, then computes every operator of RESULTS on it; `wrong`
    is a state where some result is not Python's, computed here when the model is built."""
    m = Model("table", "Every sign of x and y, computed as Python does.")

    @m.variables
    def _(p):
        return ([Var("x", Int(-7, 7), "x", init=0), Var("y", Int(-3, 3), "y", init=0),
                 Var("done", Int(0, 1), "done")] + [Var(n, Int(*dom), n, init=0) for n, (dom, _, _) in RESULTS.items()])

    @m.action(over=lambda p: range(len(PAIRS)))
    def Pick(s, i):
        """Pick a pair."""
        when(s.done == 0)
        s.x, s.y = PAIRS[i]

    @m.action
    def Compute(s):
        """Compute every result."""
        when(s.done == 0, s.y != 0)
        for n, (_, term, _) in RESULTS.items():
            setattr(s, n, term(s))
        s.done = 1

    @m.sometimes(expect="unreachable")
    def wrong(s):
        """Some result is not Python's."""
        return And(s.done == 1, Or([And(s.x == x, s.y == y, Or([getattr(s, n) != py(x, y)
                                                             for n, (_, _, py) in RESULTS.items()]))
                                    for x, y in PAIRS]))

    @m.sometimes
    def computed(s):
        """Something was computed."""
        return s.done == 1

    return m


def test_every_sign_gives_pythons_result_in_every_engine():
    system = table_model().build()
    results = {e: run(system, e, max_depth=2) for e in ENGINES}
    first = PAIRS[0]  # Pick(0) is the least first step, then Compute
    zero = (0,) * len(RESULTS)
    computed = [(None, (0, 0, 0) + zero), ("Pick(0)", first + (0,) + zero),
                ("Compute", first + (1,) + tuple(py(*first) for _, _, py in RESULTS.values()))]
    for engine, r in results.items():
        assert answers(r) == {"wrong": ("unknown" if engine == "bmc" else "unreachable", None),
                              "computed": ("reachable", computed)}, engine
    assert results["explicit"].states == results["fast"].states == 1 + 2 * len(PAIRS)


def test_the_simplifier_at_build_time_folds_constants_as_python_does():
    m = Model("fold", "Constants folded when the model is built.")
    m.param("d", -2, doc="a negative divisor")
    m.variables(lambda p: [Var("x", Int(0, 1), "x"), Var("q", Int(-9, 9), "q"), Var("r", Int(-9, 9), "r")])

    @m.action
    def Fold(s):
        """Constants only, once simplified."""
        s.q = (s.x * 0 + 7) / s.params.d
        s.r = (s.x * 0 + 7) % s.params.d

    (fold,) = m.build().actions
    assert {k: str(v) for k, v in fold.updates.items()} == {1: "-4", 2: "-1"}


def test_the_rewrite_is_pythons_for_every_sign_through_z3():
    x, y = z3.Ints("x y")
    py = PythonArith()
    for a in range(-9, 10):
        for b in (-4, -3, -2, -1, 1, 2, 3, 4):
            sub = [(x, z3.IntVal(a)), (y, z3.IntVal(b))]
            for term, want in ((x / y, a // b), (x % y, a % b), (x / b, a // b), (x % b, a % b),
                               (a / y, a // b), (a % y, a % b)):
                assert z3.simplify(z3.substitute(z3.simplify(py(term)), *sub)).as_long() == want, (term, a, b)


# --------------------------------------------------------------------------- 2: no corrupted state

def issue_model_2(guarded):
    def Act(s):
        """a = z % -2."""
        v = s.z % -2  # -1: Python's sign follows the divisor
        if guarded:
            when(And(0 <= v, v <= 2))
        s.a = v

    return model([("z", 0, 1, 1), ("a", 0, 2, 0), ("b", 0, 3, 2)], Act,
                 props=[("always", "b-is-2", lambda s: s.b == 2)]).build()


def test_reproducer_2_the_guard_reads_the_same_value_as_the_update():
    system = issue_model_2(guarded=True)
    results = {e: run(system, e) for e in ENGINES}
    for e in ("explicit", "fast"):  # the guard is false: Act is never enabled
        assert answers(results[e]) == {"b-is-2": ("holds", None)}
        assert (results[e].states, results[e].transitions) == (1, 0)
    assert answers(results["bmc"]) == {"b-is-2": ("unknown", None)}


def test_reproducer_2_an_update_outside_its_domain_is_one_error_in_every_engine():
    system = issue_model_2(guarded=False)
    assert domain_checks(system) == {0: [1]}  # the compiled code keeps the check
    assert "_fail(st)" in compiled(system).source
    same_error(system, "DomainError: action Act sets a to -1, outside its domain 0..2, from the state "
                       "z=1, a=0, b=2; widen the domain or strengthen the guard")


# --------------------------------------------------------------------------- 3: 64 bits

def power_model(n):
    def Set(s):
        """n = N."""
        when(s.n == 0)
        s.n = n

    def Mod(s):
        """r = n**4 % 7."""
        s.r = (s.n * s.n * s.n * s.n) % 7

    return model([("n", 0, n, 0), ("r", 0, 6, 0)], Set, Mod,
                 props=[("sometimes", "r-is-4", lambda s: s.r == 4),
                        ("sometimes", "r-is-1", lambda s: s.r == 1)]).build()


def test_reproducer_3_the_fast_engine_refuses_what_64_bits_cannot_hold():
    system = power_model(4_000_000_000)
    assert (4_000_000_000 ** 4) % 7 == 4
    trace = [(None, (0, 0)), ("Set", (4_000_000_000, 0)), ("Mod", (4_000_000_000, 4))]
    assert every_engine(system) == {
        "explicit": {"r-is-4": ("reachable", trace), "r-is-1": ("unreachable", None)},
        "fast": "CheckerError: action Mod: `n*n*n*n` can reach 2.56e+38 with the domains' values, beyond the "
                "fast engine's 64-bit integers; use --engine explicit (or bmc), which compute with unbounded integers",
        "bmc": {"r-is-4": ("reachable", trace), "r-is-1": ("unknown", None)},
    }


def test_the_64_bit_limit_is_exact():
    def Square(s):
        """q = n * n."""
        s.q = s.n * s.n

    largest = 3_037_000_499  # the largest n with n * n < 2**63
    fits = model([("n", 0, largest, largest), ("q", 0, largest ** 2, 0)], Square,
                 props=[("sometimes", "squared", lambda s: s.q == largest ** 2)]).build()
    assert answers(run(fits, "fast")) == answers(run(fits, "explicit")) == {
        "squared": ("reachable", [(None, (largest, 0)), ("Square", (largest, largest ** 2))])}
    wider = model([("n", 0, largest + 1, 0), ("q", 0, 9, 0)], Square).build()
    assert run(wider, "fast") == (
        "CheckerError: action Square: `n*n` can reach 9,223,372,037,000,250,000 with the domains' values, beyond "
        "the fast engine's 64-bit integers; use --engine explicit (or bmc), which compute with unbounded integers")


def test_a_liveness_goal_beyond_64_bits_is_not_evaluated_by_numpy():
    # The goal is 2.5e19 > 0 at x = 1; numpy's int64 would wrap it negative.
    m = model([("x", 0, 1, 0)])

    @m.action
    def Step(s):
        """x = 1."""
        when(s.x == 0)
        s.x = 1

    m.eventually(lambda s: s.x * 5_000_000_000 * 5_000_000_000 > 0, name="big", fair=["Step"])
    system = m.build()
    for e in ("explicit", "fast"):
        assert answers(run(system, e)) == {"big": ("holds", None)}, e


@pytest.mark.parametrize("name", ["kafka", "partitions", "group", "pipeline", "eos"])
def test_the_shipped_models_fit_in_64_bits(name):
    from checker.engines.fast.kernel import compiled_fast
    from checker.registry import get_model
    compiled_fast(get_model(name).build())  # raises if a term could leave 64 bits


def test_bounds_contain_every_value():
    x, y = z3.Ints("x y")
    box = Bounds(lambda c: {"x": (-5, 7), "y": (-3, 2)}[str(c)])
    py = PythonArith()
    for term in (x / y, x % y, py(x / y), py(x % y), (x - y) * (x + 3) / (y - 4), py((x * y) % (y + 1)), -x * y):
        term = z3.simplify(term)
        lo, hi = box(term)
        for a in range(-5, 8):
            for b in range(-3, 3):
                v = z3.simplify(z3.substitute(term, (x, z3.IntVal(a)), (y, z3.IntVal(b))))
                if z3.is_int_value(v):  # not a division by zero
                    assert lo <= v.as_long() <= hi, (term, a, b)


# --------------------------------------------------------------------------- 4: bmc's domain errors

def test_reproducer_4_bmc_reports_the_domain_error_of_the_explicit_engines():
    same_error(toys.overflow.build(), "DomainError: action Inc sets n to 4, outside its domain 0..3, from the "
                                      "state n=3; widen the domain or strengthen the guard")


def test_bmc_checks_the_states_it_searches():
    # The error is at depth 3: a search of 2 steps does not reach it, and says unknown.
    assert answers(run(toys.overflow.build(), "bmc", max_depth=2)) == {
        "in-range": ("unknown", None), "at-bound": ("unknown", None)}


def test_every_engine_stops_at_the_first_error_in_breadth_first_order():
    def ViaA(s):
        """x = 1, d = 0."""
        when(s.x == 0)
        s.x, s.d = 1, 0

    def ViaB(s):
        """x = 2, d = 0."""
        when(s.x == 0)
        s.x, s.d = 2, 0

    def Div(s):
        """q = 7 / d."""
        s.q = 7 / s.d

    system = model([("x", 0, 2, 0), ("d", 0, 1, 1), ("q", 0, 7, 0)], ViaB, ViaA, Div,
                   props=[("sometimes", "q-is-7", lambda s: s.q == 7)]).build()
    same_error(system, "DivisionByZero: action Div divides by zero: `7/d` with d = 0, from the state x=2, d=0, "
                       "q=0; make the divisor nonzero there (when(d != 0) in an action, or ite(d != 0, ..., ...))")


# --------------------------------------------------------------------------- 5: division by zero

def division_model(div, prop=None):
    def SetD(s):
        """d = 1."""
        s.d = 1

    props = [("sometimes", "q-is-7", lambda s: s.q == 7), ("sometimes", "q-is-0", lambda s: s.q == 0)]
    return model([("d", 0, 1, 0), ("q", 0, 7, 0)], div, SetD, props=props + ([prop] if prop else [])).build()


def test_reproducer_5_division_by_zero_is_one_error_in_every_engine():
    def Div(s):
        """q = 7 / d."""
        s.q = 7 / s.d

    same_error(division_model(Div), "DivisionByZero: action Div divides by zero: `7/d` with d = 0, from the state "
                                    "d=0, q=0; make the divisor nonzero there (when(d != 0) in an action, "
                                    "or ite(d != 0, ..., ...))")


def test_a_division_in_a_value_assigned_again_is_still_evaluated():
    """Python evaluates every assignment, the ones a later assignment replaces too (found by
    the fuzzer's long profile: the division had vanished with the replaced term)."""
    def Div(s):
        """q = 7 / d, then q = 0."""
        s.q = 7 / s.d
        s.q = 0

    same_error(division_model(Div), "DivisionByZero: action Div divides by zero: `7/d` with d = 0, from the state "
                                    "d=0, q=0; make the divisor nonzero there (when(d != 0) in an action, "
                                    "or ite(d != 0, ..., ...))")


def test_a_division_in_an_index_assigned_at_is_evaluated():
    def Div(s):
        """a[1 / d] = 1."""
        s.a[1 / s.d] = 1

    m = Model("toy", "An index that divides.")
    m.variables(lambda p: [Var("d", Int(0, 1), "d", init=0), Var("a", Array(2, Int(0, 1)), "a", init=[0, 0])])
    m.action(Div)
    m.sometimes(lambda s: s.a[1] == 1, name="set")
    errors = every_engine(m.build())
    assert all(e.startswith("DivisionByZero: action Div divides by zero: `1/d` with d = 0") for e in errors.values()), errors


def test_the_value_of_an_assignment_at_an_index_out_of_range_is_evaluated():
    """`a[i] = v` evaluates v even where i is out of range and no cell is written, as Python
    does (found by the fuzzer's long profile)."""
    def Div(s):
        """a[d - 1] = 0 / d."""
        s.a[s.d - 1] = 0 / s.d

    m = Model("toy", "A value that divides, at an index out of range.")
    m.variables(lambda p: [Var("d", Int(0, 1), "d", init=0), Var("a", Array(2, Int(0, 1)), "a", init=[0, 0])])
    m.action(Div)
    m.always(lambda s: s.a[0] == 0, name="zero")
    errors = every_engine(m.build())
    assert all(e.startswith("DivisionByZero: action Div divides by zero: `0/d` with d = 0") for e in errors.values()), errors


def test_every_division_of_an_action_is_checked_not_only_the_first_of_equal_looking_ones():
    """Two divisions in one assignment, the index's guarded and the value's not: the value's
    is checked too (found by the fuzzer's long profile, where it was dropped as a duplicate)."""
    def Div(s):
        """x = (x + 1) % 4; a[0 / ite(x == 0, 1, x)] = 0 / x."""
        s.x = (s.x + 1) % 4
        s.x = s.x
        s.a[0 / ite(s.x == 0, 1, s.x)] = 0 / s.x

    m = Model("toy", "An index that divides safely and a value that does not.")
    m.variables(lambda p: [Var("x", Int(0, 3), "x", init=3), Var("a", Array(2, Int(0, 1)), "a", init=[0, 0])])
    m.action(Div)
    m.always(lambda s: s.x != 5, name="never-five")
    errors = every_engine(m.build())
    assert all(e.startswith("DivisionByZero: action Div divides by zero: `0/((x + 1)%4)` with (x + 1)%4 = 0")
               for e in errors.values()), errors


def test_modulo_by_zero_in_a_guard_names_the_guard():
    def Div(s):
        """when 7 % d == 0."""
        when(7 % s.d == 0)
        s.q = 7

    same_error(division_model(Div), "DivisionByZero: the guard of action Div divides by zero: `7%d` with d = 0, "
                                    "in the state d=0, q=0; make the divisor nonzero there (when(d != 0) in an "
                                    "action, or ite(d != 0, ..., ...))")


def test_a_property_that_divides_by_zero_is_an_error():
    def Div(s):
        """q = 7 // d, guarded."""
        when(s.d != 0)
        s.q = 7 // s.d

    same_error(division_model(Div, ("always", "positive", lambda s: 7 / s.d > 0)),
               "DivisionByZero: property positive divides by zero: `7/d` with d = 0, in the state d=0, q=0; "
               "make the divisor nonzero there (when(d != 0) in an action, or ite(d != 0, ..., ...))")


def guarded(how):
    def Div(s):
        """q = 7 / d, where it is defined."""
        how(s)
    return Div


def _when(s):
    when(s.d != 0)
    s.q = 7 / s.d


def _ite(s):
    s.q = ite(s.d != 0, 7 / s.d, s.q)


def _and(s):
    when(And(s.d != 0, 7 / s.d == 7))
    s.q = 7


def _or(s):
    when(Or(s.d == 0, 7 % s.d == 0))
    s.q = ite(s.d == 0, 0, 7)


def _implies(s):
    when(Implies(s.d != 0, 7 / s.d == 7), s.d == 1)
    s.q = 7


def _after(s):
    s.q = 7 / s.d
    when(s.d != 0)  # guards are read before any update is evaluated


@pytest.mark.parametrize("how", [_when, _ite, _and, _or, _implies, _after],
                         ids=["when", "ite", "and", "or", "implies", "when-after"])
def test_a_division_that_is_not_evaluated_is_no_error(how):
    system = division_model(guarded(how))
    got = every_engine(system)
    witness = [(None, (0, 0)), ("SetD", (1, 0)), ("Div", (1, 7))]
    for e in ENGINES:
        assert got[e]["q-is-7"] == ("reachable", witness), (e, got[e])
        assert got[e]["q-is-0"] == ("reachable", [(None, (0, 0))]), (e, got[e])


def test_and_reads_left_to_right():
    def Div(s):
        """The division is evaluated before the test that would protect it."""
        when(And(7 / s.d == 7, s.d != 0))
        s.q = 7

    assert "the guard of action Div divides by zero" in every_engine(division_model(Div))["fast"]


def test_a_divisor_that_cannot_be_zero_is_not_checked():
    def Div(s):
        """q = 7 / d, d in 1..3."""
        s.q = 7 / s.d

    system = model([("d", 1, 3, 1), ("q", 0, 7, 0)], Div).build()
    assert system.actions[0].update_divisions == ()
    assert "_div" not in compiled(system).source  # and the compiled code uses Python's //


MODULE = '''
"""Division by zero."""
from checker import Int, Model, Var

model = Model("zero", __doc__)
model.variables(lambda p: [Var("d", Int(0, 1), "d"), Var("q", Int(0, 7), "q")])


@model.action
def Div(s):
    """q = 7 / d."""
    s.q = 7 / s.d


@model.sometimes
def seven(s):
    """q is 7."""
    return s.q == 7
'''


@pytest.mark.parametrize("args", [["verify", "zero"], ["verify", "zero", "--engine", "explicit"],
                                  ["trace", "zero", "--property", "seven", "--engine", "bmc"]],
                         ids=["fast", "explicit", "bmc"])
def test_division_by_zero_on_the_command_line_is_one_line_and_exit_2(tmp_path, args):
    (tmp_path / "zero_models.py").write_text(textwrap.dedent(MODULE) + "\nMODELS = [model]\n")
    env = dict(os.environ, CHECKER_MODELS="zero_models", PYTHONPATH=os.pathsep.join([str(tmp_path), ROOT]))
    r = subprocess.run([sys.executable, "-m", "checker", *args], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=120)
    assert (r.returncode, r.stdout, r.stderr) == (
        2, "", "checker: error: action Div divides by zero: `7/d` with d = 0, from the state d=0, q=0; make the "
               "divisor nonzero there (when(d != 0) in an action, or ite(d != 0, ..., ...))\n")


def test_the_documented_example_prints_what_the_page_shows():
    page = open(os.path.join(ROOT, "docs", "writing-a-model.md"), encoding="utf-8").read()
    (shown,) = [line for line in page.splitlines() if line.startswith("checker: error: action Share")]

    def Share(s):
        """Split the budget between the workers."""
        s.each = s.budget / s.workers

    system = model([("budget", 0, 6, 6), ("workers", 0, 3, 0), ("each", 0, 6, 0)], Share,
                   props=[("always", "within-budget", lambda s: s.each <= s.budget)]).build()
    same_error(system, "DivisionByZero: " + shown[len("checker: error: "):])


def test_reproducer_4_on_the_command_line():
    env = dict(os.environ, CHECKER_MODELS="registry_toys",
               PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "tests"), ROOT]))
    r = subprocess.run([sys.executable, "-m", "checker", "trace", "overflow", "--property", "at-bound",
                        "--engine", "bmc"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert (r.returncode, r.stdout, r.stderr) == (
        2, "", "checker: error: action Inc sets n to 4, outside its domain 0..3, from the state n=3; "
               "widen the domain or strengthen the guard\n")
