"""`diagrams`: the committed pictures are current, and what they show comes from the model."""

import filecmp
import html
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

import toys
from checker import Model, Options, SpecError, check
from checker.render.diagrams import draw, sequence_svg, trace_markdown
from spec import kafka, partitions
from test_cli import ROOT, run, toys_env

EXPLICIT = Options(engine="explicit")  # the reference engine

DIAGRAMS = os.path.join(ROOT, "diagrams")


def _tree(top):
    out = {}
    for d, _, files in os.walk(top):
        for f in files:
            out[os.path.relpath(os.path.join(d, f), top)] = os.path.join(d, f)
    return out


def test_committed_diagrams_are_current(tmp_path):
    r = run("diagrams", "--all", "-o", str(tmp_path))
    assert r.returncode == 0, r.stderr
    fresh, committed = _tree(tmp_path), _tree(DIAGRAMS)
    assert sorted(fresh) == sorted(committed), "regenerate with: checker diagrams --all"
    stale = [k for k in fresh if not filecmp.cmp(fresh[k], committed[k], shallow=False)]
    font = subprocess.run(["fc-match", "Helvetica"], capture_output=True, text=True).stdout.strip() if shutil.which("fc-match") else "none"
    hint = "" if "Liberation" in font else f" (dot found the font {font!r}: install fonts-liberation, as setup.sh does)"
    assert not stale, f"out of date: {stale}; regenerate with: checker diagrams --all{hint}"


def test_output_names_what_was_drawn(tmp_path):
    r = run("diagrams", "-o", str(tmp_path))
    assert r.returncode == 0, r.stderr
    out = os.path.join(str(tmp_path), "kafka")
    assert r.stdout == (f"{out}: kafka 193 states, drew the projection over pc, committed: "
                        "10 nodes standing for 193 states\n"
                        f"index: {os.path.join(str(tmp_path), 'README.md')}\n")
    r = run("diagrams", "kafka", "-p", "messages=1", "-p", "max_crashes=1", "-o", str(tmp_path))
    assert "drew the full graph: 14 states, 16 edges" in r.stdout, r.stdout
    r = run("diagrams", "kafka", "--project", "crashes", "-p", "messages=1", "-o", str(tmp_path))
    assert "drew the projection over crashes: 3 nodes standing for 27 states" in r.stdout, r.stdout
    index = open(os.path.join(str(tmp_path), "README.md")).read()  # every instance drawn so far
    assert index.count("\n## kafka") == 3


@pytest.mark.parametrize("args, message", [
    (["diagrams", "--project", "nope"], "cannot project on 'nope'"),
    (["diagrams", "--project", ","], "--project takes variable names"),
    (["diagrams", "--all", "-p", "messages=2"], "--all draws the instances the models declare"),
    (["diagrams", "nomodel"], "unknown model 'nomodel'"),
    (["diagrams", "-p", "messages=0"], "out of range"),
    (["diagrams", "--project", "sent,position,committed,pc,processed,crashes"],
     "still has 193 nodes and 324 edges, too many to draw legibly"),
    (["diagrams", "partitions", "-p", "partitions=3", "-p", "messages=3"], "more than 50,000 states, too many"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    r = run(*args, "-o", str(tmp_path))
    assert r.returncode == 2 and message in r.stderr and r.stderr.count("\n") == 1, r.stderr


def test_seed_table_of_the_duplicate_delivery():
    result = check(kafka.build(), EXPLICIT)
    md = trace_markdown(kafka, "t", result.prop("duplicate-delivery").trace)
    rows = [line for line in md.splitlines() if re.match(r"\| \d", line)]
    assert rows[:7] == [
        "| 0 | (initial) | m0 unsent; m1 unsent; m2 unsent | committed 0, position 0 | - |",
        "| 1 | Produce | m0 in log; m1 unsent; m2 unsent | committed 0, position 0 | - |",
        "| 2 | Poll | m0 in log, in hand; m1 unsent; m2 unsent | committed 0, position 1 | - |",
        "| 3 | Process | m0 processed 1x, in hand; m1 unsent; m2 unsent | committed 0, position 1 | - |",
        "| 4 | **Crash** (failure: crash) | m0 processed 1x; m1 unsent; m2 unsent | committed 0, position 0 | - |",
        "| 5 | Poll | m0 processed 1x, in hand; m1 unsent; m2 unsent | committed 0, position 1 | - |",
        "| 6 | Process | m0 processed 2x, in hand; m1 unsent; m2 unsent | committed 0, position 1 "
        "| duplicate-delivery reached |",
    ]
    assert "| processed[0] | 0 | 0 | 0 | 1* | 1 | 1 | 2* |" in md  # the variable tracker


def _svg(text):
    return ET.fromstring(text)


def test_sequence_diagram_lanes_arrows_and_the_crash():
    trace = check(kafka.build({"commit": "before"}), EXPLICIT).prop("no-loss").trace
    svg = sequence_svg(kafka, "t", trace)
    root = _svg(svg)
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text for t in root.iter(ns + "text")]
    assert texts[1:5] == ["producer", "log", "consumer", "coordinator"]
    steps = [g for g in root.iter(ns + "g") if g.get("class") == "step"]
    assert [g.get("data-step") for g in steps] == ["1", "2", "3", "4"]
    arrows = [len([x for x in g.iter(ns + "line")]) for g in steps]
    assert arrows == [1, 1, 1, 0]  # Produce, Poll, Commit are arrows; Crash is a mark on the consumer
    assert len([r for r in root.iter(ns + "rect") if r.get("class") == "failure-bg"]) == 1
    assert "=&gt; no-loss violated" in svg


def test_partitions_lanes_come_from_the_indexed_declaration():
    trace = check(partitions.build({"messages": 1, "max_crashes": 1}), EXPLICIT).prop("duplicate-delivery").trace
    root = _svg(sequence_svg(partitions, "t", trace))
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert texts[1:8] == ["producer 0", "log 0", "consumer 0", "producer 1", "log 1", "consumer 1", "coordinator"]


def test_a_model_without_pictures_draws_generically(tmp_path):
    m = toys.flags
    d = draw(m, m.build(enable=["glitch"]))
    assert d.graph_kind == "full graph: 51 states, 99 edges"
    md = d.files["all-set.md"].decode()
    assert "| step | action | what changed | result |" in md
    texts = [t.text for t in _svg(d.files["all-set.sequence.svg"]).iter("{http://www.w3.org/2000/svg}text")]
    assert "system" in texts  # undeclared actors share one generic lane
    for name, data in d.files.items():
        if name.endswith(".svg"):
            _svg(data)  # well-formed
            assert b"Generated by graphviz" not in data
    r = run("diagrams", "flags", "--with", "glitch", "-o", str(tmp_path), env=toys_env())
    assert r.returncode == 0 and "flags_with-glitch" in r.stdout, r.stderr


def test_state_graph_marks_and_highlights():
    d = draw(kafka, kafka.build({"messages": 1, "max_crashes": 1}))
    dot = d.files["duplicate-delivery.graph.svg"].decode()
    assert d.graph_kind.startswith("full graph")
    src = d.files["statespace.dot"].decode()
    assert src.count("penwidth=3") == 1 + 6 + 6 + 1 - 1  # legend excluded: 7 trace nodes, 6 trace edges
    assert "start -> s0" in src and "shape=doublecircle" in src and "#ffe08a" in src
    assert 'label="4. Crash"' in src
    assert "duplicate-delivery reached in 6 steps" in html.unescape(dot)  # graphviz writes - as &#45;


def test_pictures_declaration_errors():
    m = Model("m", "m")
    with pytest.raises(SpecError, match="not an action declared so far"):
        m.pictures(actors={"Nope": "x"})
    m = toys.counter
    with pytest.raises(SpecError, match="lane name or a"):
        m.pictures(actors={"Inc": ("a", "b", "c")})
    with pytest.raises(SpecError, match="may use only"):
        m.pictures(actors={"Inc": "lane {j}"})
    with pytest.raises(SpecError, match="unknown parameter 'nope'"):
        m.pictures(instances=({"nope": 1},))
    with pytest.raises(SpecError, match="must be a function"):
        m.pictures(columns={"x": 3})


def test_json_lists_what_was_drawn(tmp_path):
    import json
    r = run("diagrams", "kafka", "-p", "commit=before", "--json", "-o", str(tmp_path))
    assert r.returncode == 0, r.stderr
    (d,) = json.loads(r.stdout)
    assert d["directory"] == os.path.join(str(tmp_path), "kafka_commit-before")
    assert d["states"] == 109 and d["graph"].startswith("projection over pc, committed")
    lasso = ["Produce"] * 3 + ["Poll", "Commit", "Process"] * 2 + ["Poll", "Commit", "Crash"]
    assert [p["trace"] for p in d["properties"]] == [["Produce", "Poll", "Commit", "Crash"], None, lasso]
    assert sorted(os.listdir(d["directory"])) == ["all-processed.graph.svg", "all-processed.md",
                                                  "all-processed.sequence.svg", "no-loss.graph.svg", "no-loss.md",
                                                  "no-loss.sequence.svg", "statespace.dot", "statespace.svg",
                                                  "summary.json"]


def test_named_instances_get_their_directory_and_heading(tmp_path):
    from checker.render.diagrams import write_diagrams
    from checker.render.html import render_report
    job = (kafka, kafka.build({"messages": 1}), "row-one", "row one: a single message")
    ((where, sm),) = write_diagrams(str(tmp_path), [job])
    assert where == os.path.join(str(tmp_path), "row-one") and sm["title"] == "row one: a single message"
    assert "\n## row one: a single message\n" in open(os.path.join(str(tmp_path), "README.md")).read()
    page = render_report([job], "cmd")
    assert '<h2 id="i-row-one">row one: a single message</h2>' in page
