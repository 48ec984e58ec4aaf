"""The `eos` model: the exactly-once loop under every fault at once, the fast engine on its
rows, the output partition's capacity, its settings refused in one line, and its commands."""

import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from checker import Options, check
from checker.config import build_config
from checker.lang.compile import compiled
from checker.registry import configs, get_model
from spec.eos_ops import PC, capacity

EXPLICIT = Options(engine="explicit")  # the reference engine
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALL = ["crash", "max-poll-exceeded", "send-error", "txn-timeout", "commit-timeout", "produce-timeout"]
FIVE = ALL[:-1]  # without the delayed produce, whose instances before KIP-890 reach a million states
ROWS = [c for c in configs().values() if c.model == "eos"]


def run(*args):
    env = dict(os.environ)
    env.pop("CHECKER_MODELS", None)
    return subprocess.run([sys.executable, "-m", "checker", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def verdicts(result):
    return {p.name: p.verdict for p in result.properties}


def test_kip447_and_kip890_keep_exactly_once_under_every_fault_at_once():
    m = get_model("eos")
    r = check(m.build({"messages": 1, "instances": 2}, ALL))
    assert r.complete and r.states == 138111
    assert set(verdicts(r).values()) == {"holds"}
    # the older scheme (a transactional.id per input partition) fences the zombie as well
    r = check(m.build({"messages": 1, "instances": 2, "fencing": "static-id"}, ALL))
    assert r.states == 37825 and set(verdicts(r).values()) == {"holds"}


def test_before_kip890_the_delayed_commit_also_lets_a_zombie_duplicate():
    m = get_model("eos")
    # Kafka 3.6 to 3.9: produce verification (part 1), no epoch bump per transaction (part 2)
    r = check(m.build({"messages": 1, "instances": 2, "kip890": "off"}, FIVE))
    assert r.states == 94504
    assert verdicts(r) == {"no-loss": "holds", "no-duplicate-processing": "violated",
                           "no-aborted-read": "holds", "atomic-offsets": "violated"}
    # the zombie's delayed EndTxn commits its retried transaction after the new owner committed the record
    assert " ".join(r.prop("no-duplicate-processing").trace.actions) == (
        "Poll(0) AddPartition(0) Produce(0) SendOffsets(0) CommitTimesOut(0) Abort(0) FetchOffset(0) Poll(0) "
        "AddPartition(0) Produce(0) Evict(0) FetchOffset(1) Poll(1) AddPartition(1) Produce(1) SendOffsets(1) "
        "Commit(1) LateEndTxn(0)")
    # before 3.6: no verification either, and the record can be lost
    r = check(m.build({"messages": 1, "instances": 2, "kip890": "off", "verification": "off"}, FIVE))
    assert r.states == 111504
    assert verdicts(r) == {"no-loss": "violated", "no-duplicate-processing": "violated",
                           "no-aborted-read": "holds", "atomic-offsets": "violated"}


def test_t3_with_verification_alone_tears_the_transaction_without_losing_the_record():
    m = get_model("eos")
    r = check(m.build({"messages": 1, "kip890": "off"}, ["commit-timeout"], ["crash"]), EXPLICIT)
    assert r.states == 57
    assert {n for n, v in verdicts(r).items() if v == "violated"} == {"atomic-offsets"}
    assert r.prop("atomic-offsets").trace.actions[-3:] == ["AddPartition(0)", "Produce(0)", "LateEndTxn(0)"]
    r = check(m.build({"messages": 1, "kip890": "off"}, ["commit-timeout", "crash"]), EXPLICIT)
    assert len(r.prop("no-duplicate-processing").trace.actions) == 19 and verdicts(r)["no-loss"] == "holds"


def test_a_delayed_produce_joins_the_next_transaction_unless_the_epoch_moved_on():
    # T3's other path: before KIP-890 part 2 the aborted attempt's record lands in the retry's
    # transaction, and a read_committed reader sees the record's output twice (verification alone
    # does not stop it: the partition is in the next transaction, with the same epoch).
    m = get_model("eos")
    for params, states in (({"kip890": "off"}, 46), ({"kip890": "off", "verification": "off"}, 43)):
        r = check(m.build({"messages": 1, **params}, ["produce-timeout"], ["crash"]), EXPLICIT)
        assert r.states == states
        assert {n for n, v in verdicts(r).items() if v == "violated"} == {"no-duplicate-processing"}
        assert " ".join(r.prop("no-duplicate-processing").trace.actions) == (
            "Poll(0) AddPartition(0) ProduceTimesOut(0) Abort(0) FetchOffset(0) Poll(0) AddPartition(0) Produce(0) "
            "SendOffsets(0) LateProduce(0) Commit(0)")
    r = check(m.build({"messages": 1}, ["produce-timeout"], ["crash"]), EXPLICIT)
    assert r.states == 32 and set(verdicts(r).values()) == {"holds"}


def test_commit_sync_in_the_loop_breaks_atomicity_without_any_fault():
    m = get_model("eos")
    r = check(m.build({"messages": 1, "commit": "sync"}, [], ["crash"]), EXPLICIT)
    assert verdicts(r)["atomic-offsets"] == "violated" and verdicts(r)["no-loss"] == "holds"
    assert r.prop("atomic-offsets").trace.actions == ["Poll(0)", "AddPartition(0)", "Produce(0)", "SendOffsets(0)",
                                                      "CommitSync(0)"]
    r = check(m.build({"messages": 1, "commit": "sync"}, ["crash"]), EXPLICIT)
    assert r.prop("no-loss").trace.actions[-2:] == ["CommitSync(0)", "Crash(0)"]


@pytest.mark.parametrize("cfg", ROWS, ids=[c.id for c in ROWS])
def test_fast_engine_gives_the_reference_results_on_every_row(cfg):
    system = build_config(cfg, get_model("eos"))
    fast, ref = check(system).json(), check(system, EXPLICIT).json()
    for d in (fast, ref):
        for k in ("engine", "seconds", "bytes_per_state", "liveness_seconds", "peak_bytes_search", "peak_bytes"):
            d.pop(k, None)
    assert fast == ref


@pytest.mark.parametrize("params, on", [({"messages": 2}, ALL),
                                        ({"messages": 2, "kip890": "off", "verification": "off", "rewind": "no"}, ALL),
                                        ({"messages": 1, "instances": 2, "fencing": "none", "commit": "auto"}, FIVE)])
def test_the_output_partition_never_fills_up(params, on):
    # Produce is guarded by the capacity; no reachable state has a producer ready to send into a full log.
    system = get_model("eos").build(params, on)
    lay, comp = system.layout, compiled(system)
    names = [v.name for v in system.variables]
    full = capacity(SimpleNamespace(**system.params, failure_modes=tuple(on)))
    seen, todo = {lay.pack(system.init)}, [lay.pack(system.init)]
    while todo:
        state = todo.pop()
        v = dict(zip(names, lay.unpack(state)))
        ready = [c for c in range(system.params["instances"]) if v[f"pc[{c}]"] == PC.added]
        assert not (ready and v["out_len"] == full), v
        for _, t in comp.expand(state):
            if t not in seen:
                seen.add(t)
                todo.append(t)
    assert len(seen) == check(system, EXPLICIT).states


@pytest.mark.parametrize("args, message", [
    (["verify", "eos", "-p", "fencing=none"], "fencing=none has no effect with one instance"),
    (["verify", "eos", "-p", "kip890=maybe"], "kip890"),
    (["verify", "eos", "-p", "instances=3"], "instances=3 is out of range"),
    (["verify", "eos", "-p", "verification=off"], "verification=off has no effect while KIP-890 part 2 is on"),
])
def test_bad_settings_are_one_line(args, message):
    r = run(*args)
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert message in r.stderr and r.stderr.count("\n") == 1


def test_list_verify_and_prove():
    r = run("list", "eos")
    assert r.returncode == 0
    for word in ("kip890", "fencing", "isolation", "commit-timeout", "txn-timeout", "LateEndTxn", "Evict"):
        assert word in r.stdout, word
    r = run("verify", "--config", "eos-abort-no-rewind")
    assert r.returncode == 0 and "no-loss violated in 9 steps" in r.stdout
    assert "replay: checker replay eos" in r.stdout and "verdict: as expected" in r.stdout
    r = run("prove", "eos", "-p", "messages=1", "--without", "crash", "--timeout", "60")
    assert r.returncode in (0, 1, 3) and "Traceback" not in r.stderr, r.stderr
    assert "no-loss" in r.stdout
