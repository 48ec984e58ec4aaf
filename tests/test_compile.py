"""The compiled Python agrees with Z3's own evaluation of the same terms, state by state."""

import z3

from checker.lang.compile import compiled
from checker import Options, check
from spec import kafka, partitions
import toys

EXPLICIT = Options(engine="explicit")  # the reference engine


def z3_successors(system, values):
    """Successors by evaluating every guard and update with Z3 (slow, obviously right)."""
    sub = [(c, z3.BoolVal(bool(x)) if v.kind == "bool" else z3.IntVal(x))
           for c, v, x in zip(system.consts, system.variables, values)]
    ev = lambda t: z3.simplify(z3.substitute(t, *sub))
    out = []
    for ai, a in enumerate(system.actions):
        if z3.is_true(ev(a.guard)):
            new = list(values)
            for vi, t in a.updates.items():
                r = ev(t)
                new[vi] = int(z3.is_true(r)) if z3.is_bool(r) else r.as_long()
            out.append((ai, tuple(new)))
    props = [z3.is_true(ev(p.formula)) for p in system.properties]
    return out, props


def reachable(system):
    """Every reachable state, by a plain search over the compiled expand."""
    comp = compiled(system)
    start = system.layout.pack(system.init)
    seen, todo = {start}, [start]
    while todo:
        for _, t in comp.expand(todo.pop()):
            if t not in seen:
                seen.add(t)
                todo.append(t)
    return sorted(seen)


def test_compiled_code_matches_z3_on_every_reachable_state():
    for system in (kafka.build(), kafka.build({"commit": "before"}), toys.flags.build(enable=["glitch"]),
                   partitions.build({"messages": 1, "max_crashes": 1})):
        comp, lay = compiled(system), system.layout
        states = reachable(system)
        assert len(states) == check(system, EXPLICIT).states
        for st in states:
            values = lay.unpack(st)
            succ, props = z3_successors(system, values)
            assert [(a, lay.unpack(t)) for a, t in comp.expand(st)] == succ
            assert [bool(p(st)) for p in comp.predicates] == props


def test_large_arrays_compile_linearly():
    system = kafka.build({"messages": 100})  # the longest array an instance may have (MAX_ARRAY_SIZE)
    comp = compiled(system)
    assert len(comp.source) < 200_000  # shared reads are bound once, not copied per cell
    r = check(system, Options(engine="explicit", max_states=2000))
    assert not r.complete and r.prop("no-loss").verdict == "unknown"


def test_domain_checks_only_where_an_update_can_leave_its_domain():
    from checker.lang.compile import domain_checks
    system = kafka.build()
    src = compiled(system).source
    names = [a.name for a in system.actions]
    checked = {names[ai] for ai in domain_checks(system)}
    assert src.count("_fail(st)") == sum(map(len, domain_checks(system).values())) == 3
    # Commit and Crash copy offsets that are in range by their domains; Z3 proves
    # Produce (guarded by sent < messages) and Poll (position < sent) safe too.
    # processed[cur] + 1 needs an invariant (processed <= crashes + 1) Z3 is not given.
    assert checked == {"Process"}


def test_compiled_code_matches_z3_on_the_group_model():
    # offset-expiry reaches committed = -1: a variable whose domain does not start at 0.
    from checker import build_config
    from checker.registry import configs, get_model
    for cid in ("offset-expiry-latest", "rebalance-zombie", "auto-commit-async"):
        system = build_config(configs()[cid], get_model("group"), {"messages": 2})
        comp, lay = compiled(system), system.layout
        states = reachable(system)
        assert min(lay.unpack(st)[2] for st in states) == (-1 if cid == "offset-expiry-latest" else 0)
        for st in states:
            succ, props = z3_successors(system, lay.unpack(st))
            assert [(a, lay.unpack(t)) for a, t in comp.expand(st)] == succ
            assert [bool(p(st)) for p in comp.predicates] == props


def test_compiled_formulas_read_variables_whose_domain_does_not_start_at_0():
    # The vacuity check compiles premises with compile_formulas; committed runs from -1.
    from checker.lang.compile import compile_formulas
    from checker import build_config
    from checker.registry import configs, get_model
    system = build_config(configs()["offset-expiry-latest"], get_model("group"), {"messages": 2})
    committed = system.consts[[v.name for v in system.variables].index("committed")]
    (is_minus_one, is_zero) = compile_formulas(system, [committed == -1, committed == 0])
    states = reachable(system)
    for st in states:
        value = system.layout.unpack(st)[2]
        assert (is_minus_one(st), is_zero(st)) == (value == -1, value == 0)
    assert any(is_minus_one(st) for st in states)
