"""The public API: `checker.check` with one `Options`, its one-line errors, the `Verdict` enum,
and loading models without loading an engine."""

import json
import os
import subprocess
import sys

import pytest

import checker
from checker import CheckerError, Options, PropertyResult, Verdict, check
from spec import kafka
import toys
from test_cli import ROOT, run

# ------------------------------------------------------------------ Options are checked once

BAD_OPTIONS = [
    ({"engine": "spin"}, "unknown engine 'spin'; the engines are fast, explicit, bmc"),
    ({"max_states": 0}, "max_states must be a positive integer or None, not 0"),
    ({"max_states": 2.5}, "max_states must be a positive integer or None, not 2.5"),
    ({"max_states": True}, "max_states must be a positive integer or None, not True"),
    ({"timeout": -1}, "timeout must be a positive number or None, not -1"),
    ({"max_memory": "1GB"}, "max_memory must be a positive integer or None, not '1GB'"),
    ({"engine": "bmc", "max_depth": 0}, "max_depth must be a positive integer or None, not 0"),
    ({"progress_every": -0.5}, "progress_every must be a non-negative number, not -0.5"),
    ({"deadlock": "yes"}, "deadlock is true or false, not 'yes'"),
    ({"progress": 3}, "progress must be a function or None, not 3"),
    ({"properties": "no-loss"}, "properties takes a list of property names, not 'no-loss'"),
    ({"properties": [1]}, "properties takes a list of property names, not [1]"),
    ({"engine": "explicit", "symmetry": True}, "--max-memory and --symmetry need the fast engine"),
    ({"engine": "bmc", "max_memory": 2**20}, "--max-memory and --symmetry need the fast engine"),
    ({"engine": "bmc", "deadlock": True}, "the bmc engine does not check no-deadlock; use --engine explicit"),
    ({"engine": "bmc", "cover": True}, "--cover needs an explicit-state engine (--engine fast or explicit)"),
    ({"engine": "bmc", "max_states": 10}, "--max-states bounds the explicit-state engines"),
    ({"max_depth": 10}, "--max-depth bounds the bmc engine only; the fast engine is bounded by --max-states"),
    ({"symmetry": True, "cover": True}, "--cover does not combine with --symmetry"),
]


@pytest.mark.parametrize("kw, message", BAD_OPTIONS, ids=[m[:40] for _, m in BAD_OPTIONS])
def test_bad_options_are_one_line_errors_naming_the_option(kw, message):
    with pytest.raises(CheckerError) as e:
        Options(**kw)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_good_options():
    o = Options(engine="bmc", properties=["no-loss"], max_depth=5, timeout=1)
    assert o.properties == ("no-loss",)  # a list becomes a tuple: Options is frozen and hashable
    assert Options() == Options(engine="fast") and hash(Options()) == hash(Options(engine="fast"))
    assert Options(progress_every=0).progress_every == 0


def test_check_refuses_what_is_not_a_system_or_options():
    with pytest.raises(CheckerError, match=r"check takes a built System \(model.build\(...\)\), not Model"):
        check(kafka)
    with pytest.raises(CheckerError, match="check takes its options as one checker.Options, not dict"):
        check(kafka.build(), {"engine": "explicit"})


# The distributed engine needs a Ray cluster: tests/test_distributed.py runs it on its own.
@pytest.mark.parametrize("engine", [e for e in checker.ENGINES if e != "distributed"])
def test_properties_choose_what_is_checked(engine):
    system = toys.counter.build()
    r = check(system, Options(engine=engine, properties=["at-bound"]))
    assert [p.name for p in r.properties] == ["at-bound"] and r.prop("at-bound").verdict == "reachable"
    with pytest.raises(CheckerError, match="unknown property"):
        check(system, Options(engine=engine, properties=["Nope"]))


def test_no_deadlock_may_be_named_with_deadlock():
    system = toys.counter.build()
    r = check(system, Options(engine="explicit", deadlock=True, properties=["no-deadlock"]))
    assert [(p.name, p.verdict) for p in r.properties] == [("no-deadlock", "violated")]
    with pytest.raises(CheckerError, match="unknown property"):  # without deadlock it is no property
        check(system, Options(engine="explicit", properties=["no-deadlock"]))


def test_bmc_refuses_an_eventually_property_by_name():
    with pytest.raises(CheckerError, match="all-processed is an eventually property; bounded model checking"):
        check(kafka.build(), Options(engine="bmc", properties=["all-processed"]))


# ------------------------------------------------------------------ verdicts

def test_verdict_is_its_word():
    assert [v.value for v in Verdict] == ["holds", "violated", "reachable", "unreachable", "unknown",
                                          "proved", "refuted"]
    for v in Verdict:
        assert v == v.value and str(v) == f"{v}" == v.value and hash(v) == hash(v.value)
        assert json.dumps({"verdict": v}) == json.dumps({"verdict": v.value})
    assert Verdict("holds") is Verdict.HOLDS


def test_results_carry_the_enum_and_serialise_the_words():
    r = check(kafka.build({"commit": "before"}), Options(engine="explicit"))
    assert all(type(p.verdict) is Verdict for p in r.properties)
    text = json.dumps(r.json())
    assert '"verdict": "violated"' in text and "Verdict" not in text
    assert PropertyResult("P", "always", "holds", "holds").verdict is Verdict.HOLDS  # a word becomes the member
    with pytest.raises(ValueError):
        PropertyResult("P", "always", "holds", "hold")


def test_cli_json_and_text_print_the_words():
    r = run("trace", "--property", "no-loss", "-p", "commit=before", "--engine", "bmc", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert (out["verdict"], out["expected"], out["as_expected"], out["complete"]) == ("violated", "violated", True, True)
    r = run("trace", "--property", "no-loss", "-p", "commit=before", "--engine", "bmc")
    assert r.stdout.rstrip().endswith("verdict: violated, as expected")


def test_prove_verdicts_are_the_enum():
    r = checker.prove(toys.handoff)
    assert all(type(p.verdict) is Verdict for p in r.properties)
    assert isinstance(r.properties[0], PropertyResult) and r.properties[0].kind == "always"


# ------------------------------------------------------------------ the package

def test_loading_models_loads_no_engine():
    code = ("import sys, spec, checker.registry as r; r.models(); r.configs(); "
            "print(sorted(m for m in sys.modules if m.startswith('checker.engines') or m.split('.')[0] in "
            "('numpy', 'scipy', 'llvmlite', 'networkx')))")
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("CHECKER_MODELS", None)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_package_exports_what_users_need():
    for name in ("check", "Options", "Result", "PropertyResult", "Trace", "Step", "Verdict", "Config",
                 "build_config", "replay", "replay_command", "NotEnabled", "prove", "state_graph"):
        assert name in checker.__all__ and name in dir(checker)
        assert getattr(checker, name) is not None
    with pytest.raises(AttributeError, match="has no attribute 'explore'"):
        checker.explore  # noqa: B018 - the engines are not part of the API


def test_the_documented_example_prints_what_it_says(capsys):
    # docs/engines.md shows the Python entry point with its output as a comment.
    with open(os.path.join(ROOT, "docs", "engines.md"), encoding="utf-8") as f:
        text = f.read()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "docs/engines.md", "exec"), {})
    said = [line.split("  # ", 1)[1] for line in code.splitlines() if line.startswith("print(")]
    assert capsys.readouterr().out.splitlines() == said


def test_the_matrix_refuses_an_engine_that_counts_no_states():
    from checker.matrix import run_matrix
    from checker.registry import configs, get_model
    with pytest.raises(CheckerError, match="the matrix needs an explicit-state engine"):
        run_matrix(list(configs().values())[:1], get_model, options=Options(engine="bmc"))
