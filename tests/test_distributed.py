"""The distributed engine on a local 2-worker Ray cluster: the fast engine's results.

One cluster is started for the module; `check` joins it, and the CLI runs join it
through --address (one run starts and stops its own). Counts, verdicts, fired counts,
vacuity and every state of every trace must be the fast engine's; eventually properties
are unknown with the reason, never dropped. `simulate --distributed` must be `simulate`:
the same walks counted, counts, verdicts and traces, whatever the walks per task.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

from checker import And, CheckerError, Not, Options, Verdict, check, when
from checker.config import build_config
from checker.registry import configs, models
from spec import kafka, partitions
import toys

ray = pytest.importorskip("ray")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKERS = 2


@pytest.fixture(scope="module")
def cluster():
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=WORKERS, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def row(cid):
    c = configs()[cid]
    return build_config(c, models()[c.model], {}, [], [])


INSTANCES = [
    ("kafka-default", lambda: kafka.build(), {}),
    ("kafka-at-most-once", lambda: kafka.build({"commit": "before"}), {}),  # no-loss violated
    ("partitions-small", lambda: partitions.build({"partitions": 3, "messages": 2, "max_crashes": 1}),
     {"deadlock": True}),
    ("group-auto-commit-async", lambda: row("auto-commit-async"), {"deadlock": True}),
    ("pipeline-in-flight-reorder", lambda: row("in-flight-reorder"), {}),
    ("pipeline-acks-1-failover", lambda: row("acks-1-failover"), {}),
    ("toy-badinit", lambda: toys.badinit.build({}), {}),  # the initial state breaks the invariant
]


def same_as_fast(system, **kw):
    fast = check(system, Options(**kw))
    dist = check(system, Options(engine="distributed", workers=WORKERS, **kw))
    assert dist.engine == "distributed" and dist.workers == WORKERS and dist.bytes_sent >= 0
    assert (dist.states, dist.transitions, dist.depth, dist.complete) == \
           (fast.states, fast.transitions, fast.depth, fast.complete)
    assert dist.fired == fast.fired and dist.vacuous == fast.vacuous
    assert [p.name for p in dist.properties] == [p.name for p in fast.properties]
    for d, f in zip(dist.properties, fast.properties):
        if d.kind == "eventually":
            assert d.verdict == Verdict.UNKNOWN and "always and sometimes properties only" in d.reason
            continue
        assert d.verdict == f.verdict, d.name
        assert (d.trace is None) == (f.trace is None), d.name
        if f.trace is not None:
            assert d.trace.steps == f.trace.steps, d.name  # the least shortest trace, state by state
    return fast, dist


@pytest.mark.parametrize("name, build, kw", INSTANCES, ids=[i[0] for i in INSTANCES])
def test_same_results_as_the_fast_engine(cluster, name, build, kw):
    fast, dist = same_as_fast(build(), **kw)
    live = any(p.kind == "eventually" for p in dist.properties)
    assert dist.exit_code == (1 if fast.exit_code == 1 else 3 if live else fast.exit_code)


def wide():
    """Three variables of 30 bits (states of 90 bits: rows of 12 bytes), each doubled plus
    one up to its bound: 31 ** 3 states, a violation 35 steps deep, one deadlocked state."""
    from test_arithmetic import model

    top = 2 ** 30 - 1

    def grow(name):
        def act(s):
            when(getattr(s, name) < top)
            setattr(s, name, getattr(s, name) * 2 + 1)
        act.__name__, act.__doc__ = f"Grow{name.upper()}", f"{name} = 2 {name} + 1."
        return act

    return model([(v, 0, top, 0) for v in "xyz"], *map(grow, "xyz"),
                 props=[("always", "not-there", lambda s: Not(And(s.x == 2 ** 20 - 1, s.y == 2 ** 10 - 1,
                                                                  s.z == 31))),
                        ("sometimes", "z-top", lambda s: s.z == top)]).build()


def test_states_wider_than_a_word(cluster):
    system = wide()
    assert system.layout.bits == 90
    _, dist = same_as_fast(system, deadlock=True)
    assert dist.states == 31 ** 3 and dist.prop("not-there").verdict == "violated"
    assert len(dist.prop("not-there").trace.steps) == 36


@pytest.mark.parametrize("bits, weak", [(90, False), (64, False), (3, False), (70, True)],
                         ids=["90-bits", "64-bits", "3-bits", "collisions"])
def test_the_visited_arrays_are_a_set(monkeypatch, bits, weak):
    """A shard's visited states (rows of bytes, a hash table grown part by part) are a set
    of packed states of any width, and stay one when different states share a hash."""
    import random

    import numpy as np

    from checker.engines import distributed as D

    if weak:  # 256 hash values: long probe sequences, different rows under one hash
        real = D._hash
        monkeypatch.setattr(D, "_hash", lambda rows: real(rows) & np.uint64(0xF00000000000000F))
    rng = random.Random(bits)
    nb = D._row_bytes(bits)
    states, held = D._States(nb), []
    for _ in range(12):
        batch = {rng.getrandbits(bits) for _ in range(rng.randrange(1, 2000))}
        known = set(held)
        ask = list(batch) + held[:50]
        at = states.index(D._rows(ask, nb)).tolist()
        assert [held[i] if i >= 0 else None for i in at] == [x if x in known else None for x in ask]
        new = [x for x in batch if x not in known]
        states.add(D._rows(new, nb))
        held += new
    assert states.n == len(held) and D._ints(states.rows) == held


def test_properties_choose_what_is_checked(cluster):
    r = check(toys.counter.build(), Options(engine="distributed", properties=["at-bound"]))
    assert [p.name for p in r.properties] == ["at-bound"] and r.prop("at-bound").verdict == "reachable"
    assert r.workers == WORKERS  # one per CPU of the cluster joined


def test_a_violated_invariant_and_its_trace(cluster):
    _, dist = same_as_fast(kafka.build({"commit": "before"}), properties=["no-loss"])
    p = dist.prop("no-loss")
    assert p.verdict == "violated" and [s.action for s in p.trace.steps] == [None, "Produce", "Poll", "Commit",
                                                                              "Crash"]
    assert dist.exit_code == 0  # as expected, and no eventually property was asked for


def test_incomplete_by_the_state_limit(cluster):
    # A level is the unit: the run stops at the end of the level that passes the limit, so it
    # knows at least as many states as the fast engine, which stops inside it; never holds.
    system = kafka.build()
    fast = check(system, Options(max_states=50))
    dist = check(system, Options(engine="distributed", workers=WORKERS, max_states=50))
    assert not dist.complete and dist.stopped == "state limit of 50" and dist.exit_code == 3
    assert 50 < dist.states < 193 and dist.states >= fast.states
    assert dist.prop("no-loss").verdict == "unknown" and "state limit of 50" in dist.prop("no-loss").reason
    d, f = dist.prop("duplicate-delivery"), fast.prop("duplicate-delivery")
    assert d.verdict == f.verdict == "reachable" and d.trace.steps == f.trace.steps
    assert dist.vacuous == []


def test_memory_and_time_limits(cluster):
    system = partitions.build()
    r = check(system, Options(engine="distributed", workers=WORKERS, max_memory=2**20))
    assert not r.complete and r.exit_code == 3 and r.stopped.startswith("memory limit of 1 MB per worker, after ")
    r = check(partitions.build({"partitions": 3, "messages": 3}), Options(engine="distributed", workers=WORKERS,
                                                                          timeout=0.5))
    assert not r.complete and "time limit of 0.5 s" in r.stopped and r.states < 301_884
    assert r.prop("no-loss").verdict == "unknown"


def test_a_model_error_is_the_first_in_breadth_first_order(cluster):
    # Two states of a level divide by zero; the one the explicit engine expands first is named.
    from checker import when
    from test_arithmetic import model, run

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
    assert run(system, "distributed") == run(system, "fast")
    assert "from the state x=2, d=0, q=0" in run(system, "distributed")


def test_options_refused(cluster):
    for kw, msg in [({"cover": True}, "--distributed does not take --cover or --symmetry"),
                    ({"symmetry": True}, "--distributed does not take --cover or --symmetry"),
                    ({"max_depth": 3}, "--max-depth bounds the bmc engine only"),
                    ({"workers": 0}, "workers must be a positive integer"),
                    ({"address": ""}, "address must be a Ray cluster's address")]:
        with pytest.raises(CheckerError, match=msg.replace("-", r"\-")):
            Options(engine="distributed", **kw)
    with pytest.raises(CheckerError, match="workers and address are options of the distributed engine"):
        Options(workers=2)
    with pytest.raises(CheckerError, match="needs 99 CPUs; the Ray cluster has 2"):
        check(kafka.build(), Options(engine="distributed", workers=99))


def test_without_ray_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` does when it is not installed
    with pytest.raises(CheckerError, match=r"pip install 'kafka-semantics-checker\[distributed\]'"):
        Options(engine="distributed")
    with pytest.raises(CheckerError, match=r"pip install 'kafka-semantics-checker\[distributed\]'"):
        Options(engine="simulate", distributed=True)


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "checker", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "COLUMNS": "120", **(env or {})}, timeout=120)


def test_cli_joins_a_cluster(cluster):
    r = cli("verify", "kafka", "-p", "commit=before", "--property", "no-loss", "--distributed",
            "--address", cluster, "--workers", "2")
    assert r.returncode == 0, r.stderr
    assert "(distributed engine, 2 workers, " in r.stdout and "replay: checker replay kafka Produce Poll Commit Crash" \
        in r.stdout and r.stderr == ""
    # An eventually property is named as skipped, with the reason; the run is then incomplete.
    r = cli("verify", "--distributed", "--address", cluster, "--no-traces")
    assert r.returncode == 3 and "all-processed is unknown: the distributed engine decides always and sometimes" \
        in r.stdout and "verdict: incomplete" in r.stdout
    r = cli("verify", "--distributed", "--address", cluster, "--max-states", "50", "--property", "no-loss")
    assert r.returncode == 3 and "INCOMPLETE (stopped at the state limit of 50)" in r.stdout


def raylets():
    out = subprocess.run(["pgrep", "-f", "ray/raylet/raylet"], capture_output=True, text=True).stdout
    return set(out.split())


@pytest.mark.slow
def test_cli_local_cluster_starts_and_stops():
    before = raylets()
    r = cli("verify", "kafka", "--property", "no-loss", "--distributed", "--workers", "2", "--json")
    assert r.returncode == 0 and r.stderr == ""  # quiet: nothing of Ray's on stderr
    assert '"engine": "distributed"' in r.stdout and '"workers": 2' in r.stdout
    assert raylets() <= before  # the local cluster went with the command


@pytest.mark.parametrize("args, msg", [
    (["--distributed", "--cover"], "--distributed does not take --cover or --symmetry"),
    (["--distributed", "--symmetry"], "--distributed does not take --cover or --symmetry"),
    (["--distributed", "--engine", "explicit"], "--distributed is an engine of its own"),
    (["--workers", "2"], "--address and --workers are options of --distributed"),
    (["--distributed", "--address", "/tmp/x"], "expected a Ray cluster's address, host:port or auto"),
    (["--distributed", "--workers", "0"], "expected a positive number of workers"),
    (["--distributed", "--address", "127.0.0.1:1"], "no Ray cluster answers at 127.0.0.1:1"),
])
def test_cli_bad_options(args, msg):
    r = cli("verify", *args)
    assert r.returncode == 2 and r.stdout == "" and msg in r.stderr and len(r.stderr.splitlines()) == 1


def test_cli_without_ray(tmp_path):
    fake = tmp_path / "ray"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError(\"No module named 'ray'\")\n")
    r = cli("verify", "--distributed", env={"PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"})
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip() == ("checker: error: --distributed needs Ray, which is not installed: "
                                "pip install 'kafka-semantics-checker[distributed]'")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_ends_the_run_and_its_cluster(tmp_path, sig):
    # The local cluster's processes (GCS, raylet, the workers) descend from the command, so the
    # interrupt's watcher ends them with it: one line, no verdict, no Ray process left.
    from test_signals import Run, descendants
    run = Run(tmp_path, "verify", "partitions", "-p", "partitions=3", "-p", "messages=3", "--property", "no-loss",
              "--distributed", "--workers", "2").at("searching")
    run.wait(lambda: sum("default_worker" in cmdline(p) for p in descendants(run.proc.pid)) >= 2, "Ray workers")
    out, _ = run.stop(sig)
    assert out == ""


@pytest.mark.slow
def test_a_signal_ends_a_distributed_simulation_and_its_cluster(tmp_path):
    from test_signals import Run, descendants
    run = Run(tmp_path, "simulate", "partitions", "-p", "partitions=3", "-p", "messages=3", "--walks", "1000000",
              "--distributed", "--workers", "2").at("simulating")
    run.wait(lambda: sum("default_worker" in cmdline(p) for p in descendants(run.proc.pid)) >= 2, "Ray workers")
    time.sleep(4)  # past Ray's start: a signal while `ray.init` connects may end the command with exit 1
    out, _ = run.stop(signal.SIGINT)
    assert out == ""


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


# --------------------------------------------------------------------------- simulate --distributed

def same_as_one_process(system, **kw):
    """simulate --distributed and simulate: the same walks counted, the same verdicts and traces."""
    one = check(system, Options(engine="simulate", **kw))
    dist = check(system, Options(engine="simulate", distributed=True, workers=WORKERS, **kw))
    assert dist.engine == "simulate" and dist.workers == WORKERS and one.workers is None
    assert (dist.states, dist.transitions, dist.depth, dist.complete, dist.stopped, dist.fired) == \
           (one.states, one.transitions, one.depth, one.complete, one.stopped, one.fired)
    assert [(p.name, p.verdict, p.reason) for p in dist.properties] == \
           [(p.name, p.verdict, p.reason) for p in one.properties]
    for d, o in zip(dist.properties, one.properties):
        assert (d.trace and d.trace.steps) == (o.trace and o.trace.steps), d.name
    assert dist.exit_code == one.exit_code
    return one, dist


@pytest.fixture(params=[1, 7, 100], ids=["batch1", "batch7", "batch100"])
def batches(request, monkeypatch):
    """Walks per task: the result must not depend on it."""
    from checker.engines import simdist
    monkeypatch.setattr(simdist, "batch_size", lambda walks, workers: request.param)
    return request.param


def acks_1_failover():
    from checker.registry import get_config, get_model
    return build_config(get_config("acks-1-failover"), get_model("pipeline"), {"replicas": 3, "messages": 4})


SIMULATIONS = [  # (id, system, options): a loss found, nothing broken, a deadlock, witnesses only
    ("acks-1-failover-loss", acks_1_failover, {}),
    ("kafka-nothing-broken", lambda: kafka.build(), {"walks": 60, "max_depth": 30, "seed": 3}),
    ("kafka-deadlock", lambda: kafka.build({"messages": 1, "max_crashes": 0}), {"deadlock": True, "seed": 1}),
    ("counter-sometimes-only", lambda: toys.counter.build(), {"properties": ["at-bound"], "walks": 40}),
    ("kafka-sometimes-only", lambda: kafka.build(), {"properties": ["duplicate-delivery"], "walks": 200}),
    ("toy-badinit", lambda: toys.badinit.build({}), {}),
]


@pytest.mark.parametrize("name, build, kw", SIMULATIONS, ids=[s[0] for s in SIMULATIONS])
def test_simulate_distributed_is_simulate(cluster, batches, name, build, kw):
    one, dist = same_as_one_process(build(), **kw)
    if name == "acks-1-failover-loss":
        assert dist.prop("no-acked-loss").verdict == "violated"
        assert dist.stopped.startswith("107 random walks")  # the first violating walk, whichever task ends first
    if name == "kafka-nothing-broken":
        assert dist.stopped == "60 random walks of up to 30 steps (seed 3)" and dist.exit_code == 3


def test_simulate_distributed_under_a_time_limit_counts_a_prefix_of_the_walks(cluster):
    # Stopped by the time limit after k walks, it is `simulate --walks k`, stopped at the limit.
    system = partitions.build({"partitions": 3, "messages": 3})
    dist = check(system, Options(engine="simulate", distributed=True, workers=WORKERS, walks=10**6, seed=5,
                                 timeout=3.0))
    assert dist.stopped.endswith(", stopped at the time limit of 3 s") and dist.exit_code == 3
    k = int(dist.stopped.split()[0].replace(",", ""))
    assert 0 < k < 10**6
    one = check(system, Options(engine="simulate", walks=k, seed=5))
    assert (dist.states, dist.transitions, dist.depth, dist.fired) == (one.states, one.transitions, one.depth,
                                                                       one.fired)
    assert one.stopped + ", stopped at the time limit of 3 s" == dist.stopped
    assert [(p.name, p.verdict) for p in dist.properties] == [(p.name, p.verdict) for p in one.properties]
    assert [p.trace and p.trace.steps for p in dist.properties] == [p.trace and p.trace.steps for p in one.properties]
    assert dist.prop("no-loss").verdict == "unknown" and "stopped at the time limit of 3 s" in dist.prop("no-loss").reason


def test_simulate_distributed_meets_the_model_error_simulate_meets(cluster, batches):
    from checker import when
    from test_arithmetic import model

    def Up(s):
        """x up to 2."""
        when(s.x < 2)
        s.x = s.x + 1

    def Div(s):
        """q = 7 / (2 - x)."""
        when(s.x == 2)
        s.q = 7 / (2 - s.x)

    system = model([("x", 0, 2, 0), ("q", 0, 7, 0)], Up, Div,
                   props=[("always", "small", lambda s: s.q < 7)]).build()
    errors = []
    for kw in ({}, {"distributed": True, "workers": WORKERS}):
        with pytest.raises(CheckerError) as e:
            check(system, Options(engine="simulate", **kw))
        errors.append(str(e.value))
    assert errors[0] == errors[1] and "x=2" in errors[0]


def test_simulate_distributed_options_refused(cluster):
    for kw, msg in [({"engine": "fast", "distributed": True}, "distributed is an option of simulate"),
                    ({"engine": "distributed", "distributed": True}, "distributed is an option of simulate"),
                    ({"engine": "simulate", "workers": 2}, "workers and address are options of the distributed"),
                    ({"engine": "simulate", "address": "auto"}, "workers and address are options of the "),
                    ({"engine": "simulate", "distributed": "yes"}, "distributed is true or false"),
                    ({"engine": "simulate", "distributed": True, "max_states": 9}, "--cover and --max-states"),
                    ({"engine": "simulate", "distributed": True, "max_memory": 2**20}, "--max-memory and")]:
        with pytest.raises(CheckerError, match=msg.replace("-", r"\-")):
            Options(**kw)
    with pytest.raises(CheckerError, match="needs 99 CPUs; the Ray cluster has 2"):
        check(kafka.build(), Options(engine="simulate", distributed=True, workers=99))


def test_cli_simulate_joins_a_cluster(cluster):
    import json
    args = ("simulate", "--config", "acks-1-failover", "-p", "replicas=3", "-p", "messages=4", "--json")
    one, dist = cli(*args), cli(*args, "--distributed", "--address", cluster, "--workers", "2")
    assert one.returncode == dist.returncode == 3 and dist.stderr == ""
    a, b = json.loads(one.stdout), json.loads(dist.stdout)
    assert b.pop("workers") == 2
    for k in ("seconds", "peak_bytes", "peak_bytes_search"):
        a.pop(k, None), b.pop(k, None)
    assert a == b
    r = cli("simulate", "--config", "acks-1-failover", "-p", "replicas=3", "-p", "messages=4", "--no-traces",
            "--distributed", "--address", cluster, "--workers", "2")
    assert r.returncode == 3 and "s on 2 workers" in r.stdout


@pytest.mark.parametrize("args, msg", [
    (["--workers", "2"], "--address and --workers are options of --distributed"),
    (["--address", "auto"], "--address and --workers are options of --distributed"),
    (["--distributed", "--address", "/tmp/x"], "expected a Ray cluster's address, host:port or auto"),
    (["--distributed", "--workers", "0"], "expected a positive number of workers"),
    (["--distributed", "--address", "127.0.0.1:1"], "no Ray cluster answers at 127.0.0.1:1"),
    (["--distributed", "--max-states", "5"], "unrecognized arguments: --max-states"),
])
def test_cli_simulate_bad_options(args, msg):
    r = cli("simulate", *args)
    assert r.returncode == 2 and r.stdout == "" and msg in r.stderr and len(r.stderr.splitlines()) == 1


@pytest.mark.slow
def test_cli_simulate_local_cluster_starts_and_stops():
    before = raylets()
    r = cli("simulate", "kafka", "--walks", "20", "--distributed", "--workers", "2", "--json")
    assert r.returncode == 3 and r.stderr == ""
    assert '"engine": "simulate"' in r.stdout and '"workers": 2' in r.stdout
    assert raylets() <= before


def test_simulate_distributed_stops_inside_a_batch_that_went_on(cluster, monkeypatch):
    # Walk i sets x to 1..4 at random. With seed 10, walk 0 reaches x=1 and walk 7 first
    # reaches x=2: the run ends after walk 7. The task taking walks 7..13 did not know that walk 0
    # had reached x=1 and went on to walk 13; the driver takes walks 7.. again itself and stops at 7.
    from checker import when
    from checker.engines import simdist
    from test_arithmetic import model

    def setter(v):
        def f(s):
            when(s.x == 0)
            s.x = v
        f.__name__, f.__doc__ = f"Set{v}", f"x = {v}."
        return f

    system = model([("x", 0, 4, 0)], *[setter(v) for v in range(1, 5)],
                   props=[("sometimes", "one", lambda s: s.x == 1), ("sometimes", "two", lambda s: s.x == 2)]).build()
    again = []
    take = simdist.take_walks
    monkeypatch.setattr(simdist, "batch_size", lambda walks, workers: 7)
    monkeypatch.setattr(simdist, "take_walks", lambda *a, **k: again.append(a[9:11]) or take(*a, **k))
    one, dist = same_as_one_process(system, seed=10, walks=40, max_depth=1)
    assert again == [(7, 14)]  # the driver's own walks: the batch from 7
    assert dist.stopped == "8 random walks of up to 1 step (seed 10)"
    assert dist.prop("one").trace.actions == ["Set1"] and dist.prop("two").trace.actions == ["Set2"]
    assert dist.exit_code == 0
