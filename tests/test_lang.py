"""The spec language: declarations are checked, misuse gets a sentence that says what to do."""

import pytest
import z3

from checker import Array, Bool, Int, Model, SpecError, Var, when
from checker.errors import CheckerError
from checker import Options, check
import toys

EXPLICIT = Options(engine="explicit")  # the reference engine


def tiny(body, prop=None):
    m = Model("tiny", "A tiny model.")

    @m.variables
    def _(p):
        return [Var("x", Int(0, 3), "x"), Var("a", Array(2, Int(0, 3)), "a"), Var("b", Bool(), "b")]

    m.action(body)
    if prop:
        m.always(prop)
    return m


def test_python_if_on_a_term_is_refused_with_advice():
    def Act(s):
        """Act."""
        if s.x > 0:
            s.x = 0
    with pytest.raises(SpecError, match=r"action Act: Python `if`.*use when\(...\)"):
        tiny(Act).build()


def test_python_and_on_terms_is_refused():
    def Act(s):
        """Act."""
        when(s.x > 0 and s.b)
    with pytest.raises(SpecError, match="And/Or/Not"):
        tiny(Act).build()


def test_unknown_variable_names_the_known_ones():
    def Act(s):
        """Act."""
        s.y = 1
    with pytest.raises(SpecError, match="no variable 'y' to assign; the variables are x, a, b"):
        tiny(Act).build()


def test_type_errors_in_assignments():
    def ToBool(s):
        """Act."""
        s.b = 3
    with pytest.raises(SpecError, match="b is a boolean"):
        tiny(ToBool).build()

    def ToInt(s):
        """Act."""
        s.x = s.b
    with pytest.raises(SpecError, match="x holds numbers"):
        tiny(ToInt).build()


def test_array_misuse():
    def Whole(s):
        """Act."""
        s.a = 1
    with pytest.raises(SpecError, match=r"a is an array; assign its elements"):
        tiny(Whole).build()

    def OutOfRange(s):
        """Act."""
        s.a[2] = 1
    with pytest.raises(SpecError, match=r"index 2 is out of range for a \(0..1\)"):
        tiny(OutOfRange).build()


def test_properties_cannot_assign():
    def Act(s):
        """Act."""
        when(s.x < 3)
        s.x += 1

    def bad(s):
        s.x = 1
        return s.x == 1
    with pytest.raises(SpecError, match="properties cannot assign"):
        tiny(Act, bad).build()


def test_when_outside_an_action():
    with pytest.raises(SpecError, match="only be called inside an action"):
        when(True)


def test_action_needs_a_description():
    m = Model("m", "")
    with pytest.raises(SpecError, match="docstring"):
        @m.action
        def Nameless(s):
            pass


def test_symbolic_index_reads_and_writes_every_cell():
    def Act(s):
        """Bump a[x]."""
        when(s.x < 2, s.a[s.x] < 3)
        s.a[s.x] += 1
    a = tiny(Act).build().actions[0]
    assert sorted(a.updates) == [1, 2]  # a[0] and a[1], not x or b
    assert z3.is_true(z3.simplify(z3.substitute(
        a.updates[1] == 1, (z3.Int("x"), z3.IntVal(0)), (z3.Int("a[0]"), z3.IntVal(0)))))


def test_bad_declarations():
    m = Model("m", "")
    m.param("n", 1, min=1)
    with pytest.raises(SpecError, match="declared twice"):
        m.param("n", 2)
    with pytest.raises(SpecError, match="the default of k=0 is out of range"):
        m.param("k", 0, min=1)
    with pytest.raises(SpecError, match="budget 'nope' must be an integer parameter"):
        m.failure_mode("f", budget="nope", counter="c", doc="f")
    with pytest.raises(SpecError, match="expects one of holds, violated"):
        m.always(lambda s: True, expect="reachable")
    with pytest.raises(SpecError, match="lo <= hi"):
        Int(3, 1)


def test_parameters_are_parsed_and_checked():
    m = toys.counter
    assert m.resolve_params({"bound": "5"}) == {"bound": 5}
    with pytest.raises(CheckerError, match="bound=abc: expected an integer"):
        m.build({"bound": "abc"})
    with pytest.raises(CheckerError, match="bound=0 is out of range: it must be >= 1"):
        m.build({"bound": "0"})
    with pytest.raises(CheckerError, match="unknown parameter 'size' for model counter; known: bound"):
        m.build({"size": "1"})


def test_failure_modes_are_opt_in_and_budgeted():
    m = toys.flags
    assert m.build().failure_modes == []
    s = m.build(enable=["glitch"])
    assert s.failure_modes == ["glitch"]
    assert [v.name for v in s.variables][-1] == "glitched"
    outage = [a for a in s.actions if a.name == "Outage"][0]
    assert outage.failure == "glitch"
    g = lambda n: z3.simplify(z3.substitute(outage.guard, (z3.Int("glitched"), z3.IntVal(n))))
    assert z3.is_true(g(0)) and z3.is_false(g(1))  # the budget guard was added
    assert str(outage.updates[5]) == "1 + glitched"  # and the counter increment
    with pytest.raises(CheckerError, match="unknown failure mode 'flood'"):
        m.build(enable=["flood"])


def test_updates_outside_the_domain_are_a_spec_error():
    with pytest.raises(SpecError, match="action Inc sets n to 4, outside its domain 0..3, from the state n=3"):
        check(toys.overflow.build(), EXPLICIT)


def test_errors_inside_model_code_name_the_action():
    def Act(s):
        """Act."""
        s.x = s.x + "one"
    with pytest.raises(SpecError, match=r"^action Act: (TypeError|Z3Exception|.*)"):
        tiny(Act).build()

    def Crash(s):
        """Act."""
        raise KeyError("oops")
    with pytest.raises(SpecError, match=r"^action Crash: KeyError: 'oops'$"):
        tiny(Crash).build()


def test_terms_the_engine_cannot_compile_are_refused_in_one_line():
    def Act(s):
        """x to the power x."""
        when(s.x < 2)
        s.x = s.x ** s.x
    with pytest.raises(SpecError, match=r"^action Act: the term `x\*\*x` uses \*\*, which the explicit engine cannot compile$"):
        check(tiny(Act).build(), EXPLICIT)


def test_property_names_are_kebab_case_from_the_function_name():
    def Act(s):
        """Act."""
        s.x = 0

    def no_loss(s):
        return s.x >= 0
    m = tiny(Act, no_loss)
    m.sometimes(lambda s: s.x == 1, name="x-is-1")
    assert [p.name for p in m.build().properties] == ["no-loss", "x-is-1"]


RULE = "must be kebab-case (lowercase letters, digits and single hyphens)"


@pytest.mark.parametrize("name, function, message", [
    ("NoLoss", "f", f"property name 'NoLoss' {RULE}: write name='no-loss'"),
    ("ISRShrink", "f", f"property name 'ISRShrink' {RULE}: write name='isr-shrink'"),
    ("no_loss", "f", f"property name 'no_loss' {RULE}: write name='no-loss'"),
    ("no--loss", "f", f"property name 'no--loss' {RULE}: write name='no-loss'"),
    ("-x", "f", f"property name '-x' {RULE}: write name='x'"),
    ("--", "f", f"property name '--' {RULE}"),
    (None, "NoLoss", f"property name 'NoLoss', from the function NoLoss, {RULE}: "
                     "rename the function no_loss or pass name='no-loss'"),
    (None, "_hidden", f"property name '-hidden', from the function _hidden, {RULE}: "
                      "rename the function hidden or pass name='hidden'"),
    (None, "<lambda>", "a property written as a lambda needs a kebab-case name: pass name='...' "
                       "(lowercase letters, digits and hyphens)"),
])
def test_a_property_name_that_is_not_kebab_case_is_refused_where_declared(name, function, message):
    def prop(s):
        """A property."""
        return True
    prop.__name__ = function
    m = Model("m", "")
    for declare in (m.always, m.sometimes, m.eventually):
        with pytest.raises(SpecError) as e:
            declare(prop, name=name)
        assert str(e.value) == "model m: " + message


def test_a_malformed_property_name_in_a_user_package_is_one_line(tmp_path):
    from test_cli import run
    (tmp_path / "camel_models.py").write_text(
        "from checker import Int, Model, Var\n"
        "model = Model('camel', 'A model whose property is named in CamelCase.')\n"
        "model.variables(lambda p: [Var('x', Int(0, 1), 'x')])\n"
        "model.always(lambda s: s.x >= 0, name='NoLoss')\n"
        "MODELS = [model]\n")
    r = run("list", env={"CHECKER_MODELS": "camel_models", "PYTHONPATH": str(tmp_path)})
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert r.stderr == ("checker: error: model camel: property name 'NoLoss' must be kebab-case (lowercase "
                        "letters, digits and single hyphens): write name='no-loss'\n")
