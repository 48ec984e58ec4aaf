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
                          capture_output=True, text=True, timeout=600)  # a guard against a hang, not a speed test


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
    a = run("trace", "--property", "duplicate-delivery")
    b = run("trace", "kafka", "--property", "duplicate-delivery", "--engine", "bmc")
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout
    assert "duplicate-delivery reached in 6 steps" in a.stdout
    j = json.loads(run("trace", "kafka", "--property", "no-loss", "-p", "commit=before", "--json",
                       "--engine", "bmc").stdout)
    assert j["verdict"] == "violated" and len(j["trace"]) == 5


def test_trace_of_a_property_that_holds():
    r = run("trace", "kafka", "--property", "no-loss")
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
    (["trace", "kafka", "--property", "NoSuchThing"], "unknown property 'NoSuchThing' for model kafka"),
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
    assert line == ("replay: checker replay kafka Produce Poll Commit Crash "
                    "-p messages=3 -p max_crashes=2 -p commit=before -p fairness=weak")
    args = line.removeprefix("replay: checker ").split()
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


# One style across the commands: option names, exit codes in --help, width, progress.

def subparsers():
    from checker.cli import build_parser
    top = build_parser()
    action = next(a for a in top._actions if a.dest == "command")
    return top, action.choices


def test_every_output_is_o_output_and_rows_and_properties_are_chosen_one_way():
    _, subs = subparsers()
    options = {name: {s for a in p._actions for s in a.option_strings} for name, p in subs.items()}
    positionals = {name: [a.dest for a in p._actions if not a.option_strings] for name, p in subs.items()}
    for name in ("diagrams", "report", "matrix"):
        assert {"-o", "--output"} <= options[name], name
    assert all(not ({"--out", "--traces"} & opts) for opts in options.values())
    for name in ("verify", "trace", "replay", "diagrams", "report", "matrix", "conform", "prove", "simulate"):
        assert "--config" in options[name], name
    assert positionals["matrix"] == [] and positionals["conform"] == ["model"]
    assert all("--property" in options[name] for name in ("verify", "trace", "prove", "simulate"))
    assert positionals["trace"] == ["model"]
    helps = {name: next(a.help for a in subs[name]._actions if a.dest == "max_depth") for name in ("trace", "prove")}
    assert all("(default 20)" in h for h in helps.values())


@pytest.mark.parametrize("args, message", [
    (["diagrams", "--out", "x"], "unrecognized arguments: --out (see `checker diagrams --help`)"),
    (["matrix", "--traces", "x"], "unrecognized arguments: --traces x (see `checker matrix --help`)"),
    (["matrix", "at-most-once"], "unrecognized arguments: at-most-once"),
    (["trace", "kafka", "no-loss"], "the following arguments are required: --property"),
    (["trace", "--property", "no-loss", "--property", "duplicate-delivery"], "give --property once"),
    (["trace", "--property", "no-loss", "--max-depth", "5"], "--max-depth bounds the bmc engine's traces"),
    (["trace", "--property", "no-loss", "--engine", "bmc", "--max-states", "9"], "the bmc engine takes --max-depth"),
    (["verify", "--config", "at-least-once", "--config", "at-most-once"], "--config is given 2 times"),
    (["verify", "--json", "--no-traces"], "--json always holds the traces"),
    (["prove", "kafka", "--config", "at-least-once"], "configuration at-least-once is of model group, not kafka"),
    (["diagrams", "--all", "kafka"], "drop MODEL"),
])
def test_old_and_unused_option_forms_are_refused(args, message):
    r = run(*args)
    assert r.returncode == 2 and r.stdout == "" and r.stderr.count("\n") == 1
    assert r.stderr.startswith("checker: error: ") and message in r.stderr, r.stderr


def test_matrix_output_writes_the_trace_pages(tmp_path):
    r = run("matrix", "--config", "at-most-once", "-o", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert os.listdir(tmp_path) == ["at-most-once.md"]
    assert "Re-run: `checker verify --config at-most-once`" in (tmp_path / "at-most-once.md").read_text()


def exit_codes_of(help_text):
    section = help_text.split("\nexit codes:\n")[1]
    return [int(m) for m in re.findall(r"^  (\d+) ", section, re.M)]


def test_every_help_lists_its_exit_codes_and_the_program_is_checker():
    top, subs = subparsers()
    assert top.format_help().startswith("usage: checker ")
    cli_doc = open(os.path.join(ROOT, "docs", "cli.md"), encoding="utf-8").read()
    documented = [int(c) for c in re.findall(r"^\| \*\*(\d+)\*\* \|", cli_doc, re.M)]
    assert exit_codes_of(top.format_help()) == documented == [0, 1, 2, 3, 130, 143]
    for name, p in subs.items():
        text = p.format_help()
        assert text.startswith(f"usage: checker {name} "), name
        codes = exit_codes_of(text)
        assert codes[0] == 0 and 2 in codes and set(codes) <= {0, 1, 2, 3}, (name, codes)
    for name in ("verify", "trace", "matrix", "prove", "conform"):
        assert exit_codes_of(subs[name].format_help()) == [0, 1, 2, 3], name
    r = run("verify", "--help")  # what a user sees
    assert r.returncode == 0 and "\nexit codes:\n  0    every property as expected\n" in r.stdout
    assert "  3    incomplete: a limit was hit" in r.stdout


def words(text):
    """The words of an output, table rules and the one-line replay commands left out; the
    run's own figures (seconds, megabytes) read as N, since two runs differ in them."""
    text = re.sub(r"\b\d+\.\d+\b", "N", re.sub(r"\b\d[\d,]*\s+MB\b", "N MB", text))
    return {w for line in text.splitlines() if not line.startswith("replay: ")
            for w in line.split() if set(w) - set("─-")}


@pytest.mark.parametrize("args", [("verify",), ("list", "kafka"), ("matrix", "--config", "at-least-once")])
def test_output_fits_columns_and_never_splits_a_word(args):
    wide = words(run(*args, env={"COLUMNS": "1000"}).stdout)
    piped = run(*args).stdout  # no COLUMNS: the documented width for pipes
    assert max(len(line) for line in piped.splitlines() if not line.startswith("replay: ")) <= 120
    for columns in (80, 60):
        out = run(*args, env={"COLUMNS": str(columns)}).stdout
        too_long = [line for line in out.splitlines() if len(line) > columns and not line.startswith("replay: ")]
        assert not too_long, (columns, too_long)
        split = sorted(w for w in words(out) if w not in wide and w.rstrip(":") not in wide)
        assert not split, (columns, split)


def test_a_table_too_wide_for_its_words_is_stacked():
    out = run("verify", env={"COLUMNS": "60"}).stdout
    assert "\nduplicate-delivery\n  kind: sometimes\n  expected: reachable\n" in out
    assert "\nstep 4\n  action: Crash\n  description: The consumer process dies and restarts from\n" \
           "    the committed offset.\n" in out
    wide = run("verify", env={"COLUMNS": "100"}).stdout  # the verdict table fits: a table
    assert re.search(r"^ property +kind +expected +verdict", wide, re.M)


def test_fit_table_keeps_words_whole():
    import io
    from rich.console import Console
    from rich.table import Table
    from checker.render.text import fit_table

    t = Table()
    t.add_column("id")
    t.add_column("text")
    t.add_row("after|before|per-record|record-offset", "one two three four five six seven eight")
    con = Console(file=io.StringIO(), width=50)
    con.print(fit_table(t, 50, con))
    lines = con.file.getvalue().splitlines()
    assert max(map(len, lines)) <= 50
    assert "after|before|per-record|record-offset" in lines[3]  # kept whole; the prose wraps
    assert fit_table(t, 20, con) is not t  # not even the longest word fits: stacked


def run_on_terminal(*args, env=None):
    """Run the checker with stdout and stderr on a pseudo-terminal; what the terminal shows."""
    import pty
    main_fd, child_fd = pty.openpty()
    e = dict(os.environ, **(env or {}))
    e.pop("CHECKER_MODELS", None)
    p = subprocess.Popen([sys.executable, "-m", "checker", *args], cwd=ROOT, env=e,
                         stdin=subprocess.DEVNULL, stdout=child_fd, stderr=child_fd)
    os.close(child_fd)
    chunks = []
    while True:
        try:
            data = os.read(main_fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(main_fd)
    assert p.wait(timeout=120) == 0
    return b"".join(chunks).decode()


def test_progress_only_on_a_terminal_or_when_asked():
    r = run("verify", "partitions", "--no-traces")  # piped: nothing
    assert r.returncode == 0 and r.stderr == ""
    shown = run_on_terminal("verify", "partitions", "--no-traces", env={"TERM": "xterm"})
    assert "\x1b[" in shown and ("starting" in shown or "explored" in shown)  # a rich status line
    dumb = run_on_terminal("verify", "partitions", "--no-traces", env={"TERM": "dumb"})
    assert "\x1b[" not in dumb and "explored" not in dumb and "starting" not in dumb
    assert "verdict: as expected" in dumb


def test_forced_progress_includes_the_liveness_phase():
    r = run("verify", "partitions", "--progress", "--no-traces")
    assert r.returncode == 0
    lines = r.stderr.splitlines()
    assert "liveness: all-processed (1 of 1)" in lines
    assert re.match(r"explored 8,336 states, frontier 0, depth 30, [\d,]+ states/s", lines[-1])
    r = run("verify", "partitions", "--property", "no-loss", "--progress", "--no-traces")
    assert "liveness" not in r.stderr  # no eventually property, no liveness phase
