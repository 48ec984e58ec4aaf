"""The explicit-state engine on toy models: counts, shortest traces, limits, determinism."""


from checker import Options, check
import toys

EXPLICIT = Options(engine="explicit")  # the reference engine


def verdicts(result):
    return {p.name: (p.verdict, p.trace.actions if p.trace else None) for p in result.properties}


def test_counter_counts_and_traces():
    r = check(toys.counter.build({"bound": 5}), EXPLICIT)
    assert (r.states, r.transitions, r.depth, r.complete) == (6, 5, 5, True)
    assert verdicts(r) == {"in-range": ("holds", None), "at-bound": ("reachable", ["Inc"] * 5)}
    assert r.exit_code == 0


def test_shortest_trace_is_the_least_in_action_order():
    r = check(toys.grid.build(), EXPLICIT)
    assert (r.states, r.transitions) == (9, 12)
    # IncY, IncX, IncX also has 3 steps; IncX comes first in declaration order.
    assert verdicts(r)["corner"] == ("reachable", ["IncX", "IncX", "IncY"])
    assert verdicts(r)["small-sum"] == ("violated", ["IncX", "IncX", "IncY"])
    trace = r.prop("corner").trace
    assert [s.state for s in trace.steps] == [(0, 0), (1, 0), (2, 0), (2, 1)]


def test_arrays_enums_bools_and_failure_modes():
    m = toys.flags
    off = check(m.build(), EXPLICIT)
    assert off.states == 24
    assert verdicts(off) == {"all-set": ("reachable", ["Set", "Move", "Set", "Move", "Set"]),
                             "never-off": ("holds", None)}
    assert off.exit_code == 1  # never-off was expected violated: the glitch is off
    on = check(m.build(enable=["glitch"]), EXPLICIT)
    assert on.states == 51  # 24 before the outage, 3 dark states, 24 after it
    assert verdicts(on)["never-off"] == ("violated", ["Outage"])
    assert on.exit_code == 0
    assert check(m.build({"glitches": 0}, enable=["glitch"]), EXPLICIT).states == 24


def test_invariant_checked_on_the_initial_state():
    r = check(toys.badinit.build(), EXPLICIT)
    assert verdicts(r) == {"positive": ("violated", [])}
    assert r.prop("positive").trace.steps[0].action is None


def test_terminal_states_are_normal_unless_deadlock_is_asked_for():
    s = toys.counter.build()
    assert [p.name for p in check(s, EXPLICIT).properties] == ["in-range", "at-bound"]
    r = check(s, Options(engine="explicit", deadlock=True))
    assert verdicts(r)["no-deadlock"] == ("violated", ["Inc", "Inc", "Inc"])
    assert r.exit_code == 1


def test_state_limit_gives_incomplete_never_holds():
    from spec import kafka
    r = check(kafka.build(), Options(engine="explicit", max_states=50))
    assert not r.complete and "state limit of 50" in r.stopped
    assert r.prop("no-loss").verdict == "unknown"
    assert r.prop("duplicate-delivery").verdict == "reachable"  # found before the limit: definite
    assert r.exit_code == 3


def test_time_limit_gives_incomplete():
    from spec import partitions
    r = check(partitions.build({"partitions": 3, "messages": 4}), Options(engine="explicit", timeout=0.2))
    assert not r.complete and "time limit" in r.stopped
    assert r.prop("no-loss").verdict == "unknown"
    assert r.states < 1_617_000
    assert r.exit_code == 3


def test_progress_is_reported_on_long_runs():
    from spec import partitions
    seen = []
    check(partitions.build(), Options(engine="explicit", progress=lambda *a: seen.append(a), progress_every=0.0))
    assert seen and seen[-1][0] == 8336


def test_same_results_every_run():
    from spec import partitions
    a, b = check(partitions.build(), EXPLICIT), check(partitions.build(), EXPLICIT)
    same = {"seconds": 0, "liveness_seconds": 0, "peak_bytes": 0, "peak_bytes_search": 0}
    assert a.json() | same == b.json() | same


def test_eventually_is_unknown_when_the_search_stops_early():
    from spec import kafka
    r = check(kafka.build(), Options(engine="explicit", max_states=50))
    p = r.prop("all-processed")
    assert p.verdict == "unknown" and "stopped early at the state limit of 50" in p.reason
    assert p.as_expected is None and r.liveness_seconds is None and r.vacuous == []
