"""The command line: output, JSON, exit codes, and one-line errors for bad input."""

import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args, env=None):
    e = dict(os.environ)
    e.pop("CHECKER_MODELS", None)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "checker", *args], cwd=ROOT, env=e,
                          capture_output=True, text=True, timeout=120)


def toys_env():
    return {"CHECKER_MODELS": "registry_toys",
            "PYTHONPATH": os.pathsep.join([os.path.join(ROOT, "tests"), ROOT])}


def test_verify_tells_the_seed_story():
    r = run("verify")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith("model kafka  messages=3 max_crashes=2 commit=after fairness=weak  failure modes: crash\n")
    assert "193 distinct states, 324 transitions, depth 18, complete" in out
    assert re.search(r"^liveness: 1 eventually property on that graph, \d+\.\d+ s \(peak memory [\d,]+ MB, "
                     r"[\d,]+ MB after the search\)$", out, re.M)
    assert re.search(r"no-loss\s+always\s+holds\s+holds\s+yes", out)
    assert re.search(r"duplicate-delivery\s+sometimes\s+reachable\s+reachable\s+yes\s+6 steps", out)
    assert re.search(r"all-processed\s+eventually\s+holds\s+holds\s+yes\s+-", out)
    assert "actions fired: Produce 85, Poll 53, Process 53, Commit 53, Crash 80\n" in out
    assert "no dead actions; no implication premise or fairness condition is vacuous\n" in out
    assert "duplicate-delivery reached in 6 steps (a shortest trace)" in out
    actions = re.findall(r"^\s+\d+\s+(\w+)\s", out.split("a shortest trace")[1], re.M)
    assert actions[:6] == ["Produce", "Poll", "Process", "Crash", "Poll", "Process"]
    assert re.search(r"processed\[0\]\s+0\s+0\s+0\s+1\*\s+1\s+1\s+2\*", out)  # the tracker
    assert out.rstrip().endswith("verdict: as expected")


def test_verify_output_is_the_same_every_run():
    strip = lambda s: re.sub(r"[\d,]+ MB", "N MB", re.sub(r"\d+\.\d+ s \(", "T s (", s))
    assert strip(run("verify", "partitions").stdout) == strip(run("verify", "partitions").stdout)


def test_verify_json_schema():
    r = run("verify", "kafka", "-p", "commit=before", "--json")
    assert r.returncode == 0
    d = json.loads(r.stdout)
    assert set(d) >= {"model", "params", "failure_modes", "states", "transitions", "depth",
                      "seconds", "complete", "properties"}
    assert d["model"] == "kafka"
    assert d["params"] == {"messages": 3, "max_crashes": 2, "commit": "before", "fairness": "weak"}
    assert d["failure_modes"] == ["crash"]
    assert (d["states"], d["complete"]) == (109, True)
    props = {p["name"]: p for p in d["properties"]}
    loss = props["no-loss"]
    assert {k: loss[k] for k in ("kind", "expected", "verdict", "as_expected")} == {
        "kind": "always", "expected": "violated", "verdict": "violated", "as_expected": True}
    assert loss["trace"][0]["action"] is None
    assert [s["action"] for s in loss["trace"][1:]] == ["Produce", "Poll", "Commit", "Crash"]
    assert loss["trace"][-1]["state"]["committed"] == 1
    assert props["duplicate-delivery"]["trace"] is None
    lasso = props["all-processed"]
    assert (lasso["verdict"], lasso["as_expected"], lasso["loop"]) == ("violated", True, 12)
    assert [s["action"] for s in lasso["trace"][1:]] == [
        "Produce", "Produce", "Produce", "Poll", "Commit", "Process", "Poll", "Commit", "Process",
        "Poll", "Commit", "Crash"]
    assert lasso["trace"][-1]["state"]["processed"] == [1, 1, 0]
    assert lasso["fairness"][0].startswith("the run stops at step 12: no fair action is enabled there")
    assert d["fired"] == {"Produce": 49, "Poll": 27, "Process": 27, "Commit": 27, "Crash": 62}
    assert sum(d["fired"].values()) == d["transitions"]
    assert d["never_enabled"] == [] and d["vacuous"] == []
    assert d["liveness_seconds"] >= 0 and d["peak_bytes"] >= d["peak_bytes_search"] > 0


def test_trace_command_and_engines_agree_on_the_printed_trace():
    a = run("trace", "duplicate-delivery")
    b = run("trace", "kafka", "duplicate-delivery", "--engine", "bmc")
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout
    assert "duplicate-delivery reached in 6 steps" in a.stdout
    j = json.loads(run("trace", "kafka", "no-loss", "-p", "commit=before", "--json", "--engine", "bmc").stdout)
    assert j["verdict"] == "violated" and len(j["trace"]) == 5


def test_trace_of_a_property_that_holds():
    r = run("trace", "kafka", "no-loss")
    assert r.returncode == 0
    assert "no-loss holds (expected holds); no trace to show" in r.stdout


def test_list():
    r = run("list")
    assert r.returncode == 0
    for word in ("kafka", "partitions", "messages", "max_crashes", "commit", "after|before",
                 ">= 1", ">= 0", "crash", "no-loss", "duplicate-delivery", "all-processed", "Poll(i)"):
        assert word in r.stdout, word


@pytest.mark.parametrize("args, message", [
    (["verify", "nosuchmodel"], "unknown model 'nosuchmodel'; known models: kafka, partitions"),
    (["verify", "-p", "messages=0"], "messages=0 is out of range: it must be >= 1"),
    (["verify", "-p", "messages=three"], "messages=three: expected an integer"),
    (["verify", "-p", "colour=red"], "unknown parameter 'colour' for model kafka"),
    (["verify", "-p", "messages"], "write parameters as NAME=VALUE"),
    (["verify", "-p", "commit=sometimes"], "commit=sometimes: must be one of after, before"),
    (["verify", "--with", "flood"], "unknown failure mode 'flood' for model kafka; known: crash"),
    (["verify", "--max-states", "0"], "expected a positive integer"),
    (["verify", "--timeout", "soon"], "expected a positive number of seconds"),
    (["trace", "kafka", "NoSuchThing"], "unknown property 'NoSuchThing' for model kafka"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["verify", "--frobnicate"], "unrecognized arguments: --frobnicate"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    r = run(*args)
    assert r.returncode == 2
    assert r.stdout == ""
    assert message in r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_limits_exit_3():
    r = run("verify", "--max-states", "50", "--json")
    assert r.returncode == 3
    d = json.loads(r.stdout)
    assert d["complete"] is False and "state limit" in d["stopped"]
    assert {p["name"]: p["verdict"] for p in d["properties"]}["no-loss"] == "unknown"


def test_not_as_expected_exits_1():
    r = run("verify", "flags", env=toys_env())
    assert r.returncode == 1
    assert re.search(r"never-off\s+always\s+violated\s+holds\s+NO", r.stdout)
    assert "verdict: NOT AS EXPECTED" in r.stdout
    assert run("verify", "flags", "--with", "glitch", env=toys_env()).returncode == 0


def test_malformed_user_model_is_one_line_and_exit_2():
    r = run("verify", "overflow", env=toys_env())
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == ("checker: error: action Inc sets n to 4, outside its domain 0..3, "
                                "from the state n=3; widen the domain or strengthen the guard")


def test_progress_goes_to_stderr():
    r = run("verify", "partitions", "--progress", "--no-traces")
    assert r.returncode == 0
    assert re.search(r"explored 8,336 states, frontier 0, depth 30, [\d,]+ states/s", r.stderr)


def test_model_package_that_does_not_import_is_one_line(tmp_path):
    (tmp_path / "broken_models.py").write_text("MODELS = [\n")
    r = run("list", env={"CHECKER_MODELS": "broken_models", "PYTHONPATH": str(tmp_path)})
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1
    assert "model package 'broken_models' failed to import: SyntaxError" in r.stderr


def test_every_printed_trace_replays_to_the_same_table():
    out = run("verify", "kafka", "-p", "commit=before").stdout
    line = [x for x in out.splitlines() if x.startswith("replay: ")][0]
    assert line == ("replay: python -m checker replay kafka Produce Poll Commit Crash "
                    "-p messages=3 -p max_crashes=2 -p commit=before -p fairness=weak")
    args = line.split("python -m checker ")[1].split()
    r = run(*args)
    assert r.returncode == 0
    table = lambda text: text[text.index(" step "):text.index("replay:") if "replay:" in text else None]
    assert table(out.split("a shortest trace)")[1]).split("verdict")[0].strip() == \
        table(r.stdout).split("verdict")[0].strip()
    assert r.stdout.rstrip().endswith("verdict: every step is enabled")


def test_replay_errors():
    r = run("replay", "Produce", "Poll", "Commit")
    assert r.returncode == 1
    assert "verdict: step 3: Commit is not enabled in the state sent=1, position=1, committed=0, pc=fetched" in r.stdout
    r = run("replay", "partitions", "Produce(2)")
    assert r.returncode == 2 and "unknown action 'Produce(2)' for model partitions" in r.stderr
    j = json.loads(run("replay", "partitions", "Produce(1)", "Poll(1)", "--json").stdout)
    assert j["error"] is None and j["trace"][-1]["state"]["position"] == [0, 1]


def test_list_json_and_one_model():
    d = json.loads(run("list", "kafka", "--json").stdout)
    assert [m["name"] for m in d] == ["kafka"]
    k = d[0]
    assert [p["name"] for p in k["params"]] == ["messages", "max_crashes", "commit", "fairness"]
    assert [p["range"] for p in k["params"]] == [">= 1", ">= 0 or unbounded", "after|before",
                                                 "weak|strong-commit|strong"]
    assert {v["name"]: v["domain"] for v in k["variables"]} == {
        "sent": "0..3", "position": "0..3", "committed": "0..3", "pc": "{idle, fetched, processed}",
        "cur": "0..2", "processed": "array[0..2] of 0..3", "crashes": "0..2"}
    assert [a["name"] for a in k["actions"]] == ["Produce", "Poll", "Process", "Commit", "Crash"]
    assert k["actions"][-1]["failure_mode"] == "crash"
    assert [(p["name"], p["kind"], p["expected"]) for p in k["properties"]] == [
        ("no-loss", "always", "holds"), ("duplicate-delivery", "sometimes", "reachable"),
        ("all-processed", "eventually", "holds")]


def test_verify_checks_only_the_named_properties():
    r = run("verify", "--property", "no-loss", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert [p["name"] for p in d["properties"]] == ["no-loss"] and d["states"] == 193
    assert d.get("liveness_seconds") is None  # no eventually property, no transition graph
    bad = run("verify", "--property", "Nope")
    assert bad.returncode == 2 and "unknown property 'Nope' for model kafka" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
