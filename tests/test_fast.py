"""The fast engine: same results as the reference engine, limits, memory, symmetry, CLI.

Agreement with `explicit.py` (counts, verdicts, exact traces) is in test_agreement.py;
this file pins what only the fast engine does. No test here measures speed: that is
`python -m checker bench`'s job.
"""

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from checker import Array, CheckerError, Int, Model, Options, SpecError, Var, check, replay, when
from checker.lang.compile import compiled
from checker.engines.fast import FastLayout  # the layout test is of the fast engine's own internals
from spec import kafka, partitions
import toys

EXPLICIT = Options(engine="explicit")  # the reference engine

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args):
    env = dict(os.environ)
    env.pop("CHECKER_MODELS", None)
    return subprocess.run([sys.executable, "-m", "checker", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def fired_by_hand(system):
    """Transitions per action over every reachable state, with the reference compiled code."""
    expand = compiled(system).expand
    init = system.layout.pack(system.init)
    seen, todo, fired = {init}, [init], {a.name: 0 for a in system.actions}
    while todo:
        st = todo.pop()
        for a, t in expand(st):
            fired[system.actions[a].name] += 1
            if t not in seen:
                seen.add(t)
                todo.append(t)
    return fired


@pytest.mark.parametrize("system", [
    kafka.build(), kafka.build({"commit": "before"}), partitions.build(),
    toys.flags.build(enable=["glitch"]), toys.grid.build(),
], ids=["kafka", "kafka-before", "partitions", "flags-glitch", "grid"])
def test_fired_counts_every_transition_of_every_action(system):
    r = check(system)
    assert r.fired == fired_by_hand(system)
    assert sum(r.fired.values()) == r.transitions


def test_one_word_holds_what_the_bit_layout_cannot():
    s = partitions.build({"partitions": 3, "messages": 4, "max_crashes": 2})
    assert s.layout.bits == 65  # bit fields need two words ...
    lay = FastLayout.of(s)
    assert lay.words == 1  # ... mixed radix needs one
    assert lay.unpack(lay.pack(s.init)) == s.init
    big = partitions.build({"partitions": 3, "messages": 5, "max_crashes": 3})
    assert FastLayout.of(big).words == 2
    values = tuple(v.hi for v in big.variables)
    assert FastLayout.of(big).unpack(FastLayout.of(big).pack(values)) == values


def test_state_limit_and_time_limit_give_incomplete():
    r = check(kafka.build(), Options(max_states=50))
    assert not r.complete and "state limit of 50" in r.stopped and r.exit_code == 3
    assert r.prop("no-loss").verdict == "unknown"
    assert r.prop("duplicate-delivery").verdict == "reachable"  # found before the limit: definite
    r = check(partitions.build({"partitions": 3, "messages": 4}), Options(timeout=0.05))
    assert not r.complete and "time limit" in r.stopped and r.states < 1_617_000


def test_memory_limit_says_how_far_it_got():
    r = check(partitions.build({"partitions": 3, "messages": 3}), Options(max_memory=2 * 2**20))
    assert not r.complete and r.exit_code == 3
    assert "memory limit of 2 MB" in r.stopped and f"after {r.states:,} states to depth {r.depth}" in r.stopped
    assert r.prop("no-loss").verdict == "unknown" and "memory limit" in r.prop("no-loss").reason
    assert 0 < r.states < 119_000  # the complete run has more


def test_bytes_per_state_is_reported():
    system = partitions.build({"partitions": 3, "messages": 3})
    # The eventually property needs the graph: every state and every transition are kept.
    r = check(system)
    assert 64 < r.bytes_per_state < 160
    assert json.loads(json.dumps(r.json()))["bytes_per_state"] == round(r.bytes_per_state, 1)
    # Without it the search keeps the states only (for the premises), no transitions.
    safety = dataclasses.replace(system, properties=[p for p in system.properties if p.kind != "eventually"])
    assert 8 < check(safety).bytes_per_state < 64


def test_domain_errors_read_as_in_the_reference_engine():
    system = toys.overflow.build()
    with pytest.raises(SpecError) as a:
        check(system, EXPLICIT)
    with pytest.raises(SpecError) as b:
        check(system)
    assert str(a.value) == str(b.value) and "outside its domain" in str(b.value)


def test_progress_reports_memory():
    seen = []
    check(partitions.build(), Options(progress=lambda *a: seen.append(a), progress_every=0.0))
    assert seen[-1][0] == 8336 and seen[-1][4] > 0


# -- symmetry --------------------------------------------------------------------------

@pytest.mark.parametrize("params", [{}, {"commit": "before"}, {"partitions": 3, "messages": 2},
                                    {"partitions": 3, "messages": 2, "max_crashes": 1, "commit": "before"}])
def test_symmetry_orbits_add_up_to_the_full_state_count(params):
    system = partitions.build(params)
    full = check(system)
    red = check(system, Options(symmetry=True))
    assert red.symmetry == "partitions" and red.full_states == full.states  # honest: summed orbit sizes
    assert red.states < full.states and red.depth == full.depth
    for a, b in zip(full.properties, red.properties):
        if b.kind == "eventually":  # not decided on orbits: unknown, saying why, never a guess
            assert b.verdict == "unknown" and "not decided under --symmetry" in b.reason
            assert a.verdict in ("holds", "violated")
            continue
        assert a.verdict == b.verdict
        if b.trace:  # a real, replayable trace of the same (shortest) length
            assert len(b.trace.steps) == len(a.trace.steps)
            assert replay(system, b.trace.actions).steps == b.trace.steps


def test_symmetry_counts_are_pinned():
    r = check(partitions.build(), Options(symmetry=True))
    assert (r.states, r.full_states, r.transitions) == (4219, 8336, 13529)


def test_symmetry_needs_a_declaration():
    with pytest.raises(CheckerError, match="declares no symmetry"):
        check(kafka.build(), Options(symmetry=True))


def test_a_model_that_is_not_symmetric_is_refused():
    m = Model("lopsided", "Counter 0 may count further than counter 1.")
    m.param("n", 2, min=2, doc="counters")
    m.symmetric("n")

    @m.variables
    def _(p):
        return [Var("x", Array(p.n, Int(0, 3)), "counters")]

    @m.action(over="n")
    def Inc(s, i):
        """Count."""
        when(s.x[i] < (3 if i == 0 else 2))
        s.x[i] += 1
    with pytest.raises(SpecError, match=r"action Inc\(0\) does not map onto Inc\(1\)"):
        check(m.build(), Options(symmetry=True))


def test_an_asymmetric_initial_state_is_refused():
    m = Model("tilted", "Counter 0 starts ahead.")
    m.param("n", 2, min=2, doc="counters")
    m.symmetric("n")

    @m.variables
    def _(p):
        return [Var("x", Array(p.n, Int(0, 3)), "counters", init=[1] + [0] * (p.n - 1))]

    @m.action(over="n", at=True)
    def Inc(c):
        """Count."""
        when(c.x < 3)
        c.x += 1
    with pytest.raises(SpecError, match="initial state changes"):
        check(m.build(), Options(symmetry=True))


def test_symmetric_declaration_names_a_parameter():
    m = Model("m", "x")
    with pytest.raises(SpecError, match="names no parameter"):
        m.symmetric("nope")


# -- command line ----------------------------------------------------------------------

def test_engines_print_the_same_report():
    fast = run("verify", "partitions", "--engine", "fast")
    ref = run("verify", "partitions", "--engine", "explicit")
    assert fast.returncode == ref.returncode == 0
    # Everything but the engine's line and the liveness line's seconds and memory.
    f, e = fast.stdout.splitlines(), ref.stdout.splitlines()
    assert "(fast engine, " in f[1] and "bytes/state)" in f[1] and "(explicit engine)" in e[1]
    assert f[1].split(", complete")[0] == e[1].split(", complete")[0]
    assert f[2].startswith("liveness: 1 eventually property on that graph, ")
    assert f[2].split(", ")[0] == e[2].split(", ")[0]
    assert f[0] == e[0] and f[3:] == e[3:]
    assert "all-processed        eventually   holds       holds" in fast.stdout


def test_verify_and_trace_default_to_the_fast_engine_with_liveness():
    r = run("verify", "--json", "--cover")
    d = json.loads(r.stdout)
    assert r.returncode == 0 and d["engine"] == "fast"
    assert next(p for p in d["properties"] if p["name"] == "all-processed")["verdict"] == "holds"
    assert [s["action"] for s in d["cover"]["Poll"]] == [None, "Produce", "Poll"]
    t = json.loads(run("trace", "--property", "all-processed", "-p", "max_crashes=unbounded", "--json").stdout)
    assert t["engine"] == "fast" and t["verdict"] == "violated" and t["loop"] == 3


def test_cli_memory_limit_is_incomplete():
    r = run("verify", "partitions", "-p", "partitions=3", "--max-memory", "1", "--no-traces")
    assert r.returncode == 3
    assert "INCOMPLETE (stopped at the memory limit of 1 MB, after" in r.stdout


def test_cli_symmetry():
    r = run("verify", "partitions", "--symmetry", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert (d["states"], d["states_without_symmetry"], d["symmetry"]) == (4219, 8336, "partitions")
    text = run("verify", "partitions", "--symmetry", "--no-traces").stdout
    assert "4,219 distinct states" in text and "symmetry: the partitions are interchangeable; the 4,219 states are orbits of 8,336 states" in text
    assert "dead actions and vacuity are not judged under --symmetry" in text
    live = next(p for p in d["properties"] if p["kind"] == "eventually")
    assert live["verdict"] == "unknown" and "not decided under --symmetry" in live["reason"]


@pytest.mark.parametrize("args, message", [
    (("verify", "--symmetry"), "model kafka declares no symmetry"),
    (("verify", "partitions", "--symmetry", "--engine", "explicit"), "need the fast engine"),
    (("verify", "--max-memory", "0"), "expected a positive number of megabytes"),
    (("trace", "--property", "no-loss", "--engine", "bmc", "--symmetry"), "need the fast engine"),
    (("verify", "partitions", "--symmetry", "--cover"), "--cover does not combine with --symmetry"),
])
def test_cli_bad_combinations_are_one_line_errors(args, message):
    r = run(*args)
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_progress_line_shows_memory():
    r = run("verify", "partitions", "--engine", "fast", "--progress", "--no-traces")
    assert r.returncode == 0 and " MB" in r.stderr and "states/s" in r.stderr


def test_bench_measures_each_size_in_its_own_process():
    r = run("bench", "--size", "2,2,1", "--size", "1,2,1", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [(x["partitions"], x["messages"], x["max_crashes"]) for x in rows] == [(2, 2, 1), (1, 2, 1)]
    ref = check(partitions.build({"partitions": 2, "messages": 2, "max_crashes": 1}), EXPLICIT)
    assert rows[0]["states"] == ref.states and rows[0]["transitions"] == ref.transitions
    for x in rows:  # figures are measured, so only their presence and sense are pinned
        assert x["complete"] and x["process_seconds"] >= x["search_seconds"] >= 0
        assert x["peak_rss_mb"] > 0 and x["bytes_per_state"] > 0
        assert "liveness_seconds" not in x  # by default the safety properties only
    live = json.loads(run("bench", "--size", "2,2,1", "--liveness", "--json").stdout)[0]
    assert live["states"] == ref.states
    assert live["process_seconds"] >= live["search_seconds"] + live["liveness_seconds"]  # all-processed decided
    text = run("bench", "--size", "2,2,1")
    assert text.returncode == 0 and "states/s" in text.stdout and "(safety properties, fast engine" in text.stdout


def test_bench_size_must_be_three_numbers():
    r = run("bench", "--size", "2,2")
    assert r.returncode == 2 and "write PARTITIONS,MESSAGES,MAX_CRASHES" in r.stderr


def test_graph_states_convert_to_the_reference_packing():
    # The liveness graph takes states in System.layout's packing; at P=3,M=4,K=2 that is
    # 65 bits, so fields straddle two words. Random states of the domains, both ways.
    import numpy as np
    from checker.engines.fast.layout import Packed as _Packed, layout_words as _layout_words
    from checker.engines.vector import Words
    system = partitions.build({"partitions": 3, "messages": 4, "max_crashes": 2})
    assert system.layout.bits > 63
    lay = FastLayout.of(system)
    rng = np.random.default_rng(7)
    values = [tuple(int(rng.integers(v.lo, v.hi + 1)) for v in system.variables) for _ in range(500)]
    S = np.array([lay.pack(v) for v in values], dtype=np.int64).reshape(len(values), lay.words)
    packed = [system.layout.pack(v) for v in values]
    assert list(_Packed(system, lay, S)) == packed
    got, want = _layout_words(system, lay, S).words, Words(system, packed).words
    assert len(got) == len(want) == 2 and all((g == w).all() for g, w in zip(got, want))


def test_bench_row_that_finished_inside_the_clock_resolution_has_no_rate():
    from checker.cli.bench import Row, table
    row = Row(size=(1, 1, 0), states=5, transitions=4, search_seconds=0.0, process_seconds=0.4,
              peak_rss=2**20, bytes_per_state=None, complete=True)
    assert row.rate is None and row.json()["states_per_second"] is None
    assert table([row], "t").row_count == 1


def test_premises_are_decided_in_the_kernel_without_keeping_states():
    """A run with no transition graph decides implication premises as bits of the kernel,
    so it keeps no state for them, and says what the explicit engine says."""
    from toys import modulo, spin
    system = spin.build({"fairness": "spin-dead"}).only(["small"])
    fast, ref = check(system, Options(engine="fast")), check(system, Options(engine="explicit"))
    assert fast.vacuous == ref.vacuous == ["small: the premise `x > 2` of an implication never holds"]
    assert "_with_premises" in system.__dict__
    held = kafka.build().only(["no-loss"])
    assert check(held, Options(engine="fast")).vacuous == [] and "_with_premises" in held.__dict__
    modular = modulo.build().only(["odd"])
    fast, ref = check(modular, Options(engine="fast")), check(modular, Options(engine="explicit"))
    assert fast.vacuous == ref.vacuous == ["odd: the premise `x%5 == 4` of an implication never holds"]
