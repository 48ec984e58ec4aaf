"""The engines agree on random models: a differential fuzzer (Hypothesis).

Each model drawn by `tests/fuzz_models.py` is rendered as Python, loaded like a user's
module, built, and checked by every engine; they must agree with each other and with
the reference (the model interpreted directly in Python, outside the checker):
- explicit and the reference: the reachable states, the depth, each always and
  sometimes property's verdict and shortest trace length;
- fast and explicit: the whole results (counts, verdicts, every state of every trace,
  lassos and their fairness, fired counts, vacuity, cover traces, no-deadlock);
- bmc (max_depth the explicit engine's depth, so every reachable state is within
  reach) and explicit: each always and sometimes property's verdict and least
  shortest trace;
- the compiled Python (`compiled(system)`) and Z3's evaluation of the same terms: the
  successors and property values on every reachable state.
Where a reachable state divides by 0 or sets a variable outside its domain, every
engine refuses the model with a one-line error of the same kind (SpecError or
CheckerError), bmc given the steps that reach it (unless it finds every trace in fewer
steps: a bounded search sees no further; its traces are then the reference's); the
fast engine may also refuse, in one line, a model whose terms may leave 64 bits.

A disagreement fails with the model shrunk by Hypothesis and printed as a module to
paste and run (`python repro.py` prints each engine's answer). `CHECKER_FUZZ=long`
runs the long profile (docs/tests.md).
"""

from __future__ import annotations

import os

import z3
from hypothesis import HealthCheck, event, given, settings

import fuzz_models as fm
from checker import CheckerError, Options, SpecError, check
from checker.lang.compile import compiled
from test_compile import reachable

# Every generation feature is on in both profiles; CHECKER_FUZZ_FEATURES (a comma-separated
# list of names) narrows a run to some of them, to chase one disagreement.


def _features() -> fm.Features:
    chosen = os.environ.get("CHECKER_FUZZ_FEATURES", "")
    if chosen in ("", "all"):
        return fm.Features()
    on = {n.strip() for n in chosen.split(",") if n.strip()}
    unknown = on - set(fm.Features.names())
    assert not unknown, f"CHECKER_FUZZ_FEATURES: unknown {sorted(unknown)}; the features: {fm.Features.names()}"
    return fm.Features().without(set(fm.Features.names()) - on)


FEATURES = _features()

_COMMON = dict(deadline=None, database=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
PROFILES = {
    # CI: the same few hundred models on every run, about 2 minutes on 2 cores.
    "quick": settings(max_examples=300, derandomize=True, **_COMMON),
    # Nightly: new models every run; a failure prints the blob that replays it.
    "long": settings(max_examples=5000, derandomize=False, print_blob=True, **_COMMON),
}
PROFILE = os.environ.get("CHECKER_FUZZ", "quick")
assert PROFILE in PROFILES, f"CHECKER_FUZZ={PROFILE!r}: the profiles are {', '.join(PROFILES)}"
SETTINGS = PROFILES[PROFILE]
if os.environ.get("CHECKER_FUZZ_EXAMPLES"):  # another number of models, e.g. for a short local run
    SETTINGS = settings(SETTINGS, max_examples=int(os.environ["CHECKER_FUZZ_EXAMPLES"]))

OVERFLOW = 2**62  # the reference's bound past which the fast engine may refuse a model (64 bits, with a margin)


def load(text: str):
    """The model a rendered module declares, loaded the way a model package is."""
    namespace: dict = {"__name__": "fuzz_model"}
    exec(compile(text, "<fuzz model>", "exec"), namespace)
    return namespace["model"]


def run(system, options: Options):
    """An engine's Result, or what it raised: ("refused", kind, message) for a CheckerError,
    ("crashed", exception type, message) for anything else."""
    try:
        return check(system, options)
    except CheckerError as e:
        return ("refused", "SpecError" if isinstance(e, SpecError) else "CheckerError", str(e))
    except Exception as e:  # noqa: BLE001 - any other exception is what the fuzzer looks for
        return ("crashed", type(e).__name__, str(e))


def comparable(result) -> dict:
    d = result.json()
    for k in ("engine", "seconds", "bytes_per_state", "liveness_seconds", "peak_bytes_search", "peak_bytes"):
        d.pop(k, None)
    return d


def z3_values(system, values, bundle):
    """Each enabled action's successor and each property's value, by Z3's evaluation of
    the terms on one state ("undefined" where Z3 gives no value, as for x div 0).

    `bundle` holds every guard, update and property as the arguments of one
    uninterpreted function, so that a state costs one substitute and one simplify."""
    sub = [(c, z3.BoolVal(bool(x)) if v.kind == "bool" else z3.IntVal(x))
           for c, v, x in zip(system.consts, system.variables, values)]
    args = iter(z3.simplify(z3.substitute(bundle, *sub)).children())

    def value(r):
        if z3.is_true(r) or z3.is_false(r):
            return int(z3.is_true(r))
        return r.as_long() if z3.is_int_value(r) else "undefined"

    out = []
    for ai, a in enumerate(system.actions):
        g = value(next(args))
        new = list(values)
        for vi in a.updates:
            new[vi] = value(next(args))
        if g == 1:
            out.append((ai, tuple(new)))
        elif g != 0:
            out.append((ai, "undefined"))
    return out, [value(next(args)) for _ in system.properties]


def bundled(system):
    """Every guard, update and property term, as the arguments of one function application."""
    terms = [t for a in system.actions for t in (a.guard, *a.updates.values())] + [p.formula for p in system.properties]
    f = z3.Function("terms", *[t.sort() for t in terms], z3.BoolSort())
    return f(*terms)


def compiled_agrees_with_z3(system, problems: list[str]) -> set[tuple[int, ...]]:
    """Every reachable state by the compiled expand; a problem for each state where the
    compiled code and Z3's evaluation differ (the first few)."""
    comp, lay = compiled(system), system.layout
    seen = reachable(system)
    bad = 0
    bundle = bundled(system)
    for st in seen:
        values = lay.unpack(st)
        succ, props = z3_values(system, values, bundle)
        mine = [(a, lay.unpack(t)) for a, t in comp.expand(st)]
        preds = [int(bool(p(st))) for p in comp.predicates]
        if mine != succ or preds != props:
            bad += 1
            if bad <= 3:
                names = [a.name for a in system.actions]
                problems.append(f"compiled code and Z3 differ at {system.show_state(values)}: compiled "
                                f"{[(names[a], system.show_state(t)) for a, t in mine]} and properties {preds}, "
                                f"Z3 {[(names[a], t if t == 'undefined' else system.show_state(t)) for a, t in succ]} "
                                f"and properties {props}")
    if bad > 3:
        problems.append(f"... and at {bad - 3} more states")
    return {tuple(lay.unpack(st)) for st in seen}


def may_overflow(spec: fm.ModelSpec) -> bool:
    """Whether some term may leave OVERFLOW in magnitude, by the reference's intervals."""
    sc = fm.Scope(spec.variables, spec.features)
    terms = [p.formula for p in spec.properties]
    for a in spec.actions:
        terms += list(a.guards) + [x.value for x in a.assigns] + [x.index for x in a.assigns if x.index is not None]
    return max(fm.peak(t, sc) for t in terms) >= OVERFLOW


def bmc_stops_short(result, ref: fm.Reference, depth: int, problems: list[str]) -> bool:
    """Whether bmc decided every property before reaching the error's depth (a bounded
    search sees no further); then each of its traces is a shortest one the reference found."""
    if any(p.trace is None or len(p.trace.steps) - 1 >= ref.error_depth for p in result.properties):
        return False
    for p in result.properties:
        want = ref.verdicts.get(p.name)
        if want != (p.verdict, len(p.trace.steps) - 1):
            problems.append(f"{p.name}: bmc says {p.verdict} in {len(p.trace.steps) - 1} steps, the reference "
                            f"{want or 'nothing'} before its error at {ref.error_depth} steps")
    return True


def describe(outcome) -> str:
    if isinstance(outcome, tuple):
        return f"{outcome[0]} ({outcome[1]}: {outcome[2]})"
    return "answered: " + ", ".join(f"{p.name} {p.verdict}" for p in outcome.properties)


def agreement(spec: fm.ModelSpec, tags: list[str] | None = None) -> tuple[list[str], int]:
    """The disagreements on one model (empty: none), and the bmc depth used; what kind of
    model it was goes into `tags` (Hypothesis's statistics)."""
    problems: list[str] = []
    event = (tags if tags is not None else []).append
    try:
        system = load(fm.source(spec)).build()
    except CheckerError as e:
        return [f"the model is refused while it is built: {type(e).__name__}: {e}"], 1
    ref = fm.reference(spec)
    checked = [p.name for p in spec.properties if p.kind != "eventually"]
    explicit = run(system, Options(engine="explicit", deadlock=spec.deadlock, cover=True))
    fast = run(system, Options(engine="fast", deadlock=spec.deadlock, cover=True))
    depth = (ref.error_depth if ref.error else max(1, explicit.depth if not isinstance(explicit, tuple) else ref.depth))
    bmc = run(system, Options(engine="bmc", properties=checked, max_depth=depth)) if checked else None
    outcomes = {"explicit": explicit, "fast": fast, **({"bmc": bmc} if checked else {})}

    for engine, out in outcomes.items():
        if isinstance(out, tuple) and out[0] == "crashed":
            problems.append(f"{engine} crashed: {out[1]}: {out[2][:300]}")
        elif isinstance(out, tuple) and "\n" in out[2]:
            problems.append(f"{engine} refused in more than one line: {out[2][:300]!r}")
    overflow = may_overflow(spec)
    if overflow:
        event("terms may leave 64 bits")
    if isinstance(fast, tuple) and fast[0] == "refused" and overflow:
        event("fast refused: terms may leave 64 bits")
        outcomes.pop("fast")  # allowed, whatever else the model does
    if ref.error:
        event("refused: " + ("division by zero" if "by zero" in ref.error else "out of domain"))
        kinds = {engine: out[1] for engine, out in outcomes.items() if isinstance(out, tuple) and out[0] == "refused"}
        for engine, out in outcomes.items():
            if engine == "bmc" and not isinstance(out, tuple) and bmc_stops_short(out, ref, depth, problems):
                event("bmc answered: every trace shorter than the error")
            elif not isinstance(out, tuple):
                problems.append(f"{engine} answered, but {ref.error_depth} steps reach an error "
                                f"({ref.error}): {describe(out)}")
        if len(set(kinds.values())) > 1:
            problems.append(f"the engines refuse with different kinds of error: {kinds}")
        return problems, depth
    for engine, out in outcomes.items():
        if isinstance(out, tuple) and out[0] == "refused":
            problems.append(f"{engine} refused a valid model: {out[2][:300]}")
    if isinstance(explicit, tuple):
        return problems, depth
    event(f"states: {'1' if explicit.states == 1 else '2-9' if explicit.states < 10 else '10-99' if explicit.states < 100 else '100+'}")

    # explicit and the reference
    if (explicit.states, explicit.depth) != (len(ref.states), ref.depth):
        problems.append(f"explicit finds {explicit.states} states, depth {explicit.depth}; the reference "
                        f"{len(ref.states)} states, depth {ref.depth}")
    for name, (verdict, steps) in ref.verdicts.items():
        mine = explicit.prop(name)
        got = (mine.verdict, len(mine.trace.steps) - 1 if mine.trace else None)
        if got != (verdict, steps):
            problems.append(f"{name}: explicit says {got[0]} (trace of {got[1]} steps), the reference "
                            f"{verdict} (trace of {steps} steps)")

    # fast and explicit: the whole results
    if "fast" in outcomes and not isinstance(fast, tuple):
        a, b = comparable(explicit), comparable(fast)
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                problems.append(f"fast and explicit differ on {key}: fast {str(b.get(key))[:400]}, "
                                f"explicit {str(a.get(key))[:400]}")
        covered = {k: t and t.steps for k, t in (fast.cover or {}).items()}
        if covered != {k: t and t.steps for k, t in (explicit.cover or {}).items()}:
            problems.append("fast and explicit differ on the cover traces")
        if [p.notes for p in fast.properties] != [p.notes for p in explicit.properties]:
            problems.append("fast and explicit differ on the fairness notes")

    # bmc and explicit: always and sometimes properties
    if checked and not isinstance(bmc, tuple):
        for name in checked:
            want, got = explicit.prop(name), bmc.prop(name)
            if want.trace is None:
                if got.trace is not None or got.verdict != "unknown":
                    problems.append(f"{name}: explicit says {want.verdict}, bmc up to {depth} steps says "
                                    f"{got.verdict} with {len(got.trace.steps) - 1 if got.trace else 'no'} steps")
            elif got.trace is None or got.verdict != want.verdict or got.trace.steps != want.trace.steps:
                problems.append(f"{name}: explicit says {want.verdict} by {want.trace.actions}, bmc says "
                                f"{got.verdict} by {got.trace.actions if got.trace else None} ({got.reason})")

    # the compiled code and Z3, on every reachable state; and the states are the reference's
    try:
        states = compiled_agrees_with_z3(system, problems)
    except Exception as e:  # noqa: BLE001 - the compiled code is the explicit engine's, which answered
        problems.append(f"the compiled code raises {type(e).__name__}: {e}")
        return problems, depth
    if states != ref.states:
        problems.append(f"the compiled code reaches {len(states)} states, the reference {len(ref.states)}: "
                        f"only compiled {sorted(states - ref.states)[:3]}, only the reference "
                        f"{sorted(ref.states - states)[:3]}")
    return problems, depth


def reproducer(spec: fm.ModelSpec, depth: int) -> str:
    """The model as a module whose main block prints each engine's answer."""
    checked = [p.name for p in spec.properties if p.kind != "eventually"]
    dl = ", deadlock=True" if spec.deadlock else ""
    engines = [f'Options(engine="explicit"{dl})', f'Options(engine="fast"{dl})']
    if checked:
        engines.append(f'Options(engine="bmc", properties={checked!r}, max_depth={depth})')
    footer = "\n".join([
        'if __name__ == "__main__":  # each engine\'s answer',
        "    from checker import CheckerError, Options, check",
        "",
        "    system = model.build()",
        f"    for options in ({', '.join(engines)}):",
        "        try:",
        "            r = check(system, options)",
        "        except CheckerError as e:",
        "            print(options.engine, 'refused:', e)",
        "            continue",
        "        print(r.engine, r.states, r.depth, [(p.name, str(p.verdict), p.trace and p.trace.actions)",
        "                                           for p in r.properties])",
    ])
    return fm.source(spec, footer)


@SETTINGS
@given(spec=fm.models(FEATURES))
def test_engines_agree_on_random_models(spec):
    tags: list[str] = []
    problems, depth = agreement(spec, tags)
    for tag in tags:
        event(tag)
    assert not problems, ("the engines disagree on this model:\n- " + "\n- ".join(problems)
                          + "\n\n" + reproducer(spec, depth))
