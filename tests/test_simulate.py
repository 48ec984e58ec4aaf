"""`simulate`: seeded random walks. What they find is the reference's verdict, with a trace
that replays; what they do not find stays unknown; the same seed walks the same way."""

import json

import pytest

from checker import CheckerError, Options, Verdict, check
from checker.cli import main
from checker.config import build_config
from checker.engines.replay import replay
from checker.engines.simulate import loop_free
from checker.registry import get_config, get_model


def run(capsys, *args):
    try:
        code = main(list(args))
    except SystemExit as e:  # argparse's refusals
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def test_loop_free_cuts_every_loop_and_keeps_transitions():
    # states 1 -> 2 -> 3 -> 2 -> 4 -> 1 -> 5: back at 2 and at 1, the loops go
    path = [(-1, 1), (0, 2), (1, 3), (2, 2), (3, 4), (4, 1), (5, 5)]
    assert loop_free(path) == [(-1, 1), (5, 5)]
    assert loop_free([(-1, 1), (0, 2), (1, 3), (2, 2), (3, 4)]) == [(-1, 1), (0, 2), (3, 4)]
    assert loop_free([(-1, 7)]) == [(-1, 7)]


def test_the_walks_find_the_acks_1_failover_loss_on_three_replicas_and_four_messages():
    cfg = get_config("acks-1-failover")
    system = build_config(cfg, get_model("pipeline"), {"replicas": 3, "messages": 4})
    r = check(system, Options(engine="simulate", seed=0))
    loss = r.prop("no-acked-loss")
    assert loss.verdict == "violated" and not loss.shortest
    # The trace is a real run: replayed action by action it ends where the walk ended.
    again = replay(system, loss.trace.actions)
    assert again.steps == loss.trace.steps
    assert " ".join(loss.trace.actions) == (
        "Send(0) Append(0) BrokerFails(0) Ack(0) Send(1) Elect(1)")
    # It stopped at the first violation: the rest is unknown, and says why.
    for p in r.properties:
        if p.verdict == Verdict.UNKNOWN:
            assert p.reason.startswith("the simulation stopped at the first violation, after 107 random walks")


def test_a_property_no_walk_breaks_is_unknown_never_holds(capsys):
    code, out, err = run(capsys, "simulate", "--walks", "50", "--depth", "30", "--no-traces")
    assert code == 3 and err == ""
    assert "no-loss              always       holds       unknown" in out
    assert ("no-loss is unknown: no walk broke it in 50 random walks of up to 30 steps (seed 0); "
            "a simulation proves nothing") in out
    assert "all-processed is unknown: a simulation does not judge eventually properties" in out
    assert "dead actions and vacuity are not judged by a simulation" in out
    assert out.rstrip().endswith("verdict: incomplete")


def test_every_property_decided_as_expected_exits_0(capsys):
    code, out, _ = run(capsys, "simulate", "--config", "at-most-once", "--property", "no-loss")
    assert code == 0
    assert "(a random walk with its loops cut out; a shorter trace may exist)" in out
    assert "replay: checker replay group" in out


def test_the_same_seed_prints_the_same_walks_and_another_seed_may_not(capsys):
    def walk(seed):
        code, out, _ = run(capsys, "simulate", "--config", "acks-1-failover", "-p", "replicas=3",
                           "--seed", str(seed), "--json")
        data = json.loads(out)
        data.pop("seconds")
        data.pop("peak_bytes", None)
        data.pop("peak_bytes_search", None)
        return code, data
    first, second = walk(7), walk(7)
    assert first == second
    assert first[1]["engine"] == "simulate" and first[1]["complete"] is False
    loss = next(p for p in first[1]["properties"] if p["name"] == "no-acked-loss")
    assert loss["verdict"] == "violated" and loss["shortest"] is False


@pytest.mark.parametrize("args, message", [
    (["simulate", "--walks", "0"], "argument --walks: expected a positive integer from 1"),
    (["simulate", "--seed", "-1"], "argument --seed: expected a whole number from 0"),
    (["simulate", "--depth", "x"], "argument --depth: expected a positive integer from 1"),
    (["simulate", "--property", "nope"], "unknown property"),
])
def test_bad_options_are_one_line_errors(capsys, args, message):
    code, out, err = run(capsys, *args)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("options, message", [
    (dict(engine="simulate", cover=True), "--cover and --max-states need an exhaustive search"),
    (dict(engine="simulate", max_states=10), "--cover and --max-states need an exhaustive search"),
    (dict(engine="fast", walks=10), "walks and seed are options of simulate"),
    (dict(engine="explicit", seed=3), "walks and seed are options of simulate"),
    (dict(engine="simulate", seed=-1), "seed must be a non-negative integer"),
])
def test_options_simulate_would_not_honour_are_refused(options, message):
    with pytest.raises(CheckerError, match=message):
        Options(**options)


def test_a_walk_ending_in_a_deadlock_is_reported_with_deadlock():
    system = get_model("kafka").build({"messages": 1, "max_crashes": 0})
    r = check(system, Options(engine="simulate", deadlock=True, seed=1))
    dead = r.prop("no-deadlock")
    assert dead.verdict == "violated" and dead.trace is not None
    assert " ".join(dead.trace.actions) == "Produce Poll Process Commit"
