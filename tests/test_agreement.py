"""The engines agree: same counts, verdicts and traces.

All read the one definition of every action (lang.Model.build); the explicit engine
runs it compiled to Python, the fast engine compiled to machine code through LLVM, Z3
as a transition formula. A drift between them would show up here as a different trace.
"""

import pytest

from checker import ENGINES, Options, Result, SpecError, Verdict, check
from spec import kafka, partitions
import toys

EXPLICIT = Options(engine="explicit")  # the reference engine


def bmc(system, prop, max_depth):
    """Z3 bounded model checking of one property, through the same entry point as the others."""
    return check(system, Options(engine="bmc", properties=[prop], max_depth=max_depth)).prop(prop)

CASES = [
    (kafka, {}, (), "duplicate-delivery"),
    (kafka, {"commit": "before"}, (), "no-loss"),
    (kafka, {"messages": 2, "max_crashes": 1}, (), "duplicate-delivery"),
    (partitions, {}, (), "duplicate-delivery"),
    (partitions, {"commit": "before"}, (), "no-loss"),
    (toys.grid, {}, (), "corner"),
    (toys.grid, {}, (), "small-sum"),
    (toys.flags, {}, ("glitch",), "all-set"),
    (toys.flags, {}, ("glitch",), "never-off"),
    (toys.counter, {"bound": 4}, (), "at-bound"),
    (toys.badinit, {}, (), "positive"),
]


@pytest.mark.parametrize("model, params, enable, prop", CASES,
                         ids=[f"{c[0].name}-{c[3]}-{i}" for i, c in enumerate(CASES)])
def test_same_shortest_trace(model, params, enable, prop):
    system = model.build(params, enable=enable)
    explicit = check(system, EXPLICIT).prop(prop)
    symbolic = bmc(system, prop, max_depth=12)
    assert symbolic.verdict == explicit.verdict
    assert symbolic.trace.steps == explicit.trace.steps


def test_bmc_never_claims_a_bounded_pass_holds():
    r = bmc(kafka.build(), "no-loss", max_depth=6)
    assert r.verdict == "unknown" and "bounded search proves nothing" in r.reason
    r = bmc(kafka.build(), "duplicate-delivery", max_depth=5)  # the witness needs 6 steps
    assert r.verdict == "unknown"


@pytest.mark.parametrize("params, prop", [
    ({"messages": 2, "max_crashes": 1}, "no-loss"),
    ({"messages": 2, "max_crashes": 1, "commit": "before"}, "duplicate-delivery"),
])
def test_no_trace_within_the_diameter_when_explicit_proves_none(params, prop):
    # Every reachable state is within `depth` steps, so a property the explicit engine
    # proves must have no bounded trace up to that depth either.
    system = kafka.build(params)
    r = check(system, EXPLICIT)
    assert r.prop(prop).verdict in ("holds", "unreachable")
    assert bmc(system, prop, max_depth=r.depth).verdict == "unknown"


@pytest.mark.slow
def test_no_trace_within_the_diameter_at_the_defaults():
    system = kafka.build()
    r = check(system, EXPLICIT)
    assert r.prop("no-loss").verdict == "holds" and r.depth == 18
    assert bmc(system, "no-loss", max_depth=18).verdict == "unknown"


# The distributed engine needs a Ray cluster: tests/test_distributed.py checks it against the fast engine.
@pytest.mark.parametrize("engine", [e for e in ENGINES if e != "distributed"])
def test_check_returns_one_result_type_for_every_engine(engine):
    # check() is the one entry point: every engine answers with a Result holding one
    # PropertyResult per property; what bmc decides is the reference's verdict and trace.
    system = kafka.build({"commit": "before", "messages": 2, "max_crashes": 1})
    ref = check(system, EXPLICIT)
    r = check(system, Options(engine=engine))
    assert isinstance(r, Result) and r.engine == engine and r.system is system
    assert [p.name for p in r.properties] == [p.name for p in ref.properties]
    assert all(isinstance(p.verdict, Verdict) for p in r.properties)
    if engine == "simulate":
        # A simulation decides only what a walk finds, and each finding is the reference's.
        assert not r.complete and r.states <= ref.states
        for p in r.properties:
            if p.verdict != Verdict.UNKNOWN:
                assert p.verdict == ref.prop(p.name).verdict and p.trace is not None and not p.shortest
        assert r.prop("no-loss").verdict == "violated"  # the walks find at-most-once's loss
        return
    if engine != "bmc":
        assert comparable(r) == comparable(ref)
        return
    assert (r.states, r.transitions, r.depth, r.complete, r.exit_code) == (None, None, 30, False, 3)
    assert r.json()["states"] is None and r.json()["engine"] == "bmc"
    for p in r.properties:
        want = ref.prop(p.name)
        if p.kind == "eventually":  # bmc decides no eventually property, and says so
            assert p.verdict == Verdict.UNKNOWN and "always and sometimes properties only" in p.reason
        elif want.trace is not None:
            assert (p.verdict, p.trace.steps) == (want.verdict, want.trace.steps)
        else:  # the explicit engine's holds is, bounded, unknown: no trace of up to 30 steps
            assert p.verdict == Verdict.UNKNOWN and "no trace of up to 30 steps" in p.reason
    assert r.stopped == r.properties[1].reason  # duplicate-delivery: the first undecided


def test_bmc_checks_the_properties_named():
    system = kafka.build({"commit": "before"})
    r = check(system, Options(engine="bmc", properties=["no-loss"], max_depth=8))
    assert [p.name for p in r.properties] == ["no-loss"] and r.complete and r.exit_code == 0
    assert r.depth == 4 and len(r.prop("no-loss").trace.steps) == 5
    # Traces are of the whole system: every property is a column of their tables.
    assert r.prop("no-loss").trace.system is system
    with pytest.raises(KeyError, match="not checked in this run"):
        r.prop("duplicate-delivery")


# The fast engine against the reference engine: every shipped model and toy, whole results.
INSTANCES = [
    (kafka, {}, (), False),
    (kafka, {"commit": "before"}, (), False),
    (kafka, {"messages": 2, "max_crashes": 1}, (), True),
    (kafka, {"max_crashes": 0}, (), True),
    (partitions, {}, (), False),
    (partitions, {"commit": "before"}, (), False),
    (partitions, {"partitions": 1}, (), True),
    (partitions, {"partitions": 3, "messages": 2, "max_crashes": 1}, (), False),
    (toys.grid, {}, (), True),
    (toys.flags, {}, (), False),
    (toys.flags, {}, ("glitch",), True),
    (toys.counter, {"bound": 4}, (), True),
    (toys.badinit, {}, (), False),
]


def comparable(result):
    d = result.json()
    for k in ("engine", "seconds", "bytes_per_state", "liveness_seconds", "peak_bytes_search", "peak_bytes"):
        d.pop(k, None)
    return d


@pytest.mark.parametrize("model, params, enable, deadlock", INSTANCES,
                         ids=[f"{c[0].name}-{i}" for i, c in enumerate(INSTANCES)])
def test_fast_engine_gives_the_reference_results(model, params, enable, deadlock):
    # Every property, eventually included (verdicts, lassos, fairness lines), fired
    # counts, vacuity and the cover traces.
    system = model.build(params, enable=enable)
    ref = check(system, Options(engine="explicit", deadlock=deadlock, cover=True))
    fast = check(system, Options(deadlock=deadlock, cover=True))
    assert comparable(fast) == comparable(ref)  # counts, verdicts, every state of every trace
    assert fast.engine == "fast" and sum(fast.fired.values()) == fast.transitions
    assert fast.fired == ref.fired and fast.vacuous == ref.vacuous
    assert fast.cover is not None and fast.cover.keys() == ref.cover.keys()
    assert all((f is None and r is None) or f.steps == r.steps
               for f, r in zip(fast.cover.values(), ref.cover.values()))
    assert [p.notes for p in fast.properties] == [p.notes for p in ref.properties]


def test_fast_engine_without_cover_gives_the_same_results():
    # The graph is recorded for the eventually property alone too, and the plain kernel
    # (no graph) is used when nothing needs it.
    system = kafka.build({"messages": 2, "max_crashes": 1})
    assert comparable(check(system)) == comparable(check(system, EXPLICIT))
    safety = toys.flags.build({})
    assert comparable(check(safety)) == comparable(check(safety, EXPLICIT))


@pytest.mark.slow
def test_fast_engine_at_the_benchmark_size():
    system = partitions.build({"partitions": 3, "messages": 4, "max_crashes": 2})
    fast = check(system)
    assert (fast.states, fast.transitions, fast.depth) == (1_617_000, 7_965_300, 54)
    assert comparable(fast) == comparable(check(system, EXPLICIT))


# --------------------------------------------------------------------------- every shipped model

def _small_instances(tiny=False):
    """Every shipped model at small sizes: each choice, each failure mode alone and none;
    a model with matrix configurations (too many choices to multiply out) by those, except
    for the tiny diameter check (bounded model checking to its depth takes minutes there).

    Integer parameters are 2 (or their default if smaller); tiny: 1, except those that
    index actions (two partitions, say), which stay 2."""
    import itertools

    from checker.registry import configs, models

    # A row run under several Kafka versions (ID@kafka-X-client-Y) takes the actions of the
    # other rows of its model; its 16-step traces would put bmc's unrolling past many minutes.
    rows = [c for c in configs().values() if "@" not in c.id]
    out = []
    for name, m in sorted(models().items()):
        mine = [c for c in rows if c.model == name]
        if mine:
            if not tiny:
                out += [(name, m, dict(c.params), tuple(c.failures)) for c in mine]
            continue
        indexing = {a.over for a in m._actions if isinstance(a.over, str)}
        ints = {n: max(p.min or 0, min(p.default, 1 if tiny and n not in indexing else 2))
                for n, p in m.params.items() if not p.choices}
        choices = [[(n, c) for c in p.choices] for n, p in m.params.items() if p.choices]
        modes = [()] + [(f,) for f in m.failure_modes]
        for combo in itertools.product(*choices):
            for on in modes:
                out.append((name, m, {**ints, **dict(combo)}, on))
    return out


SHIPPED = _small_instances()
TINY = _small_instances(tiny=True)


def _agree(model, params, on, unproved_depth):
    """Every engine gives the explicit engine's least shortest trace, or none where it has none
    (checked up to unproved_depth steps, or the explicit engine's depth when None)."""
    from checker.engines.symbolic import sym_bmc, symbolic_build

    off = [f for f in model.failure_modes if f not in on]
    system = model.build(params, enable=on, disable=off)
    result = check(system, EXPLICIT)
    assert result.complete
    try:  # the symbolic system with nothing left symbolic: a third engine, where the model allows it
        ss = symbolic_build(model, params, [], enable=on, disable=off)
    except SpecError:
        ss = None  # e.g. a model that loops over range(parameter); bmc still checks it
    for p in system.properties:
        if p.kind == "eventually":
            continue
        explicit = result.prop(p.name)
        depth = (len(explicit.trace.steps) - 1 if explicit.trace
                 else result.depth if unproved_depth is None else min(unproved_depth, result.depth))
        engines = {"bmc": bmc(system, p.name, max_depth=depth).trace}
        if p.kind == "always" and ss is not None:
            engines["symbolic bmc"] = sym_bmc(ss, p.name, depth).trace
        for engine, trace in engines.items():
            if explicit.trace is None:
                assert trace is None, (p.name, engine)
            else:
                assert trace is not None and trace.steps == explicit.trace.steps, (p.name, engine)


_IDS = [f"{c[0]}-{'-'.join(f'{k}={v}' for k, v in c[2].items())}-{'+'.join(c[3]) or 'none'}" for c in SHIPPED]


@pytest.mark.parametrize("name, model, params, on", SHIPPED, ids=_IDS)
def test_shortest_traces_agree_on_every_shipped_model(name, model, params, on):
    _agree(model, params, on, unproved_depth=6)


@pytest.mark.slow
@pytest.mark.parametrize("name, model, params, on", TINY, ids=[f"{c[0]}-{'-'.join(f'{k}={v}' for k, v in c[2].items())}-"
                                                         f"{'+'.join(c[3]) or 'none'}" for c in TINY])
def test_no_trace_up_to_the_diameter_on_every_shipped_model(name, model, params, on):
    _agree(model, params, on, unproved_depth=None)
