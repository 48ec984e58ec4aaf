"""A failure mode is one file: the how-to's own example, dropped into a copy of the
package, is picked up by every command with no other edit; what a mode may declare
(its variables, free actions, lanes, event handlers); the errors of a malformed mode;
`list -f`; and `conform` on an action it cannot drive."""

from __future__ import annotations

import glob
import json
import os
import re
import textwrap

import pytest

from checker import Bool, Int, Model, Not, SpecError, Var, when
from checker.cli.main import main
from checker.engines.explicit import explore
from checker.registry import get_model
from checker.render.text import describe_models
from checker.engines.replay import replay
from conform.harness import DRIVEN, not_driven, replay_on_client
from spec_copy import ROOT, copy_spec, run_checker

DOC = os.path.join(ROOT, "docs", "failure-modes.md")


def howto() -> dict:
    """What docs/failure-modes.md shows: the example module, its matrix row, its commands and its trace."""
    text = open(DOC, encoding="utf-8").read()
    example = text[text.index("## The example"):]
    module = re.search(r"`spec/failures/(\w+\.py)`:\n\n```python\n(.*?)```", example, re.S)
    blocks = [textwrap.dedent(b) for _, b in re.findall(r"\n( *)```python\n(.*?)\n\1```", example, re.S)]
    rows = [b for b in blocks if b.startswith("row(")]
    trace = re.search(r"explores (\d+)\s+states and prints `(\S+) violated` with its shortest trace, (\d+)\s+"
                      r"steps: `([^`]+)`", example)
    return {"file": module.group(1), "source": module.group(2),
            "mode": module.group(2).split('"""', 2)[1].split(":")[0],
            "row": rows[0] if rows else None,
            "commands": [" ".join(c.split()) for c in re.findall(r"`checker ([^`]+)`", example)],
            "states": int(trace.group(1)), "property": trace.group(2), "steps": int(trace.group(3)),
            "trace": trace.group(4).split()}


def test_the_howto_example_is_picked_up_by_every_command_with_no_other_edit(tmp_path):
    ex = howto()
    assert ex["file"] == "commit_retry.py" and ex["mode"] == "commit-retry" and ex["row"]
    where = copy_spec(tmp_path)
    (where / "spec" / "failures" / ex["file"]).write_text(ex["source"])
    with open(where / "spec" / "matrix.py", "a", encoding="utf-8") as f:  # "added to CONFIGS"
        f.write(f"\nCONFIGS.append({ex['row']})\n")
    row_id = re.match(r'row\("([^"]+)"', ex["row"]).group(1)
    mode = re.escape(ex["mode"])

    ran = set()
    for command in ex["commands"]:  # every command the example shows, as it shows it
        args = command.split()
        r = run_checker(where, *args)
        assert "Traceback" not in r.stderr, (command, r.stderr)
        ran.add(args[0])
        if args[0] == "list" and "-f" not in args:
            assert r.returncode == 0, r.stderr
            assert re.search(rf"^ {mode}\s+no\s", r.stdout, re.M)
            assert re.search(rf"^ CommitFails\(i\)\s+{mode} \(off\)\s", r.stdout, re.M)
            assert re.search(rf"^ RetryCommit\(i\)\s+{mode} \(off\)\s", r.stdout, re.M)
        elif args[0] == "list":
            assert r.returncode == 0, r.stderr
            assert re.search(rf"^ {mode}\s+yes\s", r.stdout, re.M)
            assert re.search(rf"^ RetryCommit\(i\)\s+{mode}\s+The callback", r.stdout, re.M)
            assert re.search(r"^ retry\s", r.stdout, re.M) and re.search(r"^ commit_failures\s", r.stdout, re.M)
        elif args[0] == "verify":
            assert r.returncode == 0 and f"{ex['states']} distinct states" in r.stdout  # group: findings
            d = json.loads(run_checker(where, *args, "--json").stdout)
            (p,) = [p for p in d["properties"] if p["verdict"] == "violated"]
            assert p["name"] == ex["property"] and len(p["trace"]) - 1 == ex["steps"]
            assert [step["action"] for step in p["trace"][1:]] == ex["trace"]
        elif args[0] == "matrix":
            assert args[1:] == ["--config", row_id] and r.returncode == 0, r.stdout + r.stderr  # agrees with the catalogue
            assert re.search(rf"^{re.escape(row_id)}\s", r.stdout, re.M)
        elif args[0] == "diagrams":
            assert r.returncode == 0, r.stderr
            (svg,) = glob.glob(str(where / "diagrams" / "*" / f"{ex['property']}.sequence.svg"))
            text = open(svg, encoding="utf-8").read()
            assert "RetryCommit(0)" in text
            assert f">{ex['mode']}<" not in text  # drawn on the lanes the module names, not on a lane of its own
        elif args[0] == "report":
            assert r.returncode == 0, r.stderr
            assert "RetryCommit(0)" in open(where / "report.html", encoding="utf-8").read()
        elif args[0] == "conform":
            assert r.returncode == 3, r.stdout + r.stderr  # nothing replayed: incomplete
            assert (f"  {row_id}: not driven: CommitFails: a commitAsync() whose response is lost needs the "
                    "proxy in front of a real broker" in r.stdout)
        else:
            pytest.fail(f"the how-to shows a command this test does not check: {command}")
    assert ran == {"list", "verify", "matrix", "diagrams", "report", "conform"}


# --------------------------------------------------------------------------- the language

def toy(mode_counter: str = "glitches") -> Model:
    """A counter to a bound that restarts; the mode `glitch` sticks it, and it may come loose for free."""
    m = Model("toy", "A counter that restarts at its bound.")
    m.param("bound", 2, min=1, doc="how far to count")
    m.param("max_glitches", 1, min=0, doc="glitches in one run")
    m.event("restart", "the counter starts again from 0")

    @m.variables
    def _(p):
        return [Var("n", Int(0, p.bound), "the count")]

    @m.action
    def Inc(s):
        """Count one up."""
        when(s.n < s.params.bound)
        s.n += 1

    @m.action
    def Restart(s):
        """Start again from 0."""
        when(s.n == s.params.bound)
        s.n = 0
        m.fire("restart", s)

    m.pictures(actors={"Inc": "counter", "Restart": "counter"})
    glitch = m.failure_mode("glitch", budget="max_glitches", counter=mode_counter, doc="The counter sticks.")

    @glitch.variables
    def _(p):
        return [Var("stuck", Bool(), "whether a glitch holds the counter")]

    @glitch.action(actor=("power", "counter"))
    def Glitch(s):
        """The counter sticks."""
        when(Not(s.stuck))
        s.stuck = True

    @glitch.action(budget=False)
    def Unstick(s):
        """The counter comes loose."""
        when(s.stuck)
        s.stuck = False

    @glitch.on("restart")
    def _(s):
        s.stuck = False

    return m


def test_a_mode_that_is_off_declares_nothing_into_the_system():
    s = toy().build()
    assert [r[0] for r in s.roots] == ["n"] and [a.name for a in s.actions] == ["Inc", "Restart"]
    assert explore(s).states == 3


def test_a_modes_variables_then_its_counter_follow_the_models_while_it_is_on():
    s = toy().build({}, ["glitch"])
    assert [r[0] for r in s.roots] == ["n", "stuck", "glitches"]
    assert [(a.name, a.failure) for a in s.actions] == [("Inc", None), ("Restart", None), ("Glitch", "glitch"),
                                                        ("Unstick", "glitch")]


def test_a_free_action_spends_no_budget_and_a_handler_runs_inside_the_firing_action():
    s = toy().build({}, ["glitch"])
    names = [v.name for v in s.variables]
    act = {a.name: a for a in s.actions}
    assert names.index("glitches") in act["Glitch"].updates and "glitches" in str(act["Glitch"].guard)
    assert names.index("glitches") not in act["Unstick"].updates and "glitches" not in str(act["Unstick"].guard)
    assert names.index("stuck") in act["Restart"].updates  # the mode's handler of `restart`
    # One glitch, freed any number of times: Glitch, Unstick, and no second Glitch.
    assert explore(s).states == 3 * 2 + 3  # n x stuck before the glitch is spent, n after (stuck false)
    assert explore(toy().build({"max_glitches": 2}, ["glitch"])).states == 3 * 2 + 3 * 2 + 3


def test_a_modes_lanes_come_after_the_models():
    m = toy()
    assert m.picture_spec.lanes == ("counter", "power")
    assert m.picture_spec.actors == {"Inc": ("counter",), "Restart": ("counter",), "Glitch": ("power", "counter")}


@pytest.mark.parametrize("declare, message", [
    (lambda m: m.failure_modes["glitch"].on("reboot"),
     "failure mode glitch (model toy): on('reboot') names no event of model toy; its events: restart"),
    (lambda m: m.failure_modes["glitch"].action(lambda s: None, name="Bad", actor=("a", "b", "c")),
     "failure mode glitch: the actor of Bad must be a lane name or a (from, to) pair of lane names"),
    (lambda m: m.failure_mode("flood", budget="bound", counter="glitches", doc="x"),
     "failure mode flood (model toy): counter 'glitches' already counts failure mode glitch (model toy) "
     "against budget max_glitches; give flood a counter of its own, or budget='max_glitches' to share it"),
    (lambda m: m.param("bound", 1),
     "model toy: parameter 'bound' is declared twice (in model toy); rename one"),
])
def test_a_malformed_mode_is_refused_when_declared(declare, message):
    with pytest.raises(SpecError) as e:
        declare(toy())
    assert message in str(e.value)


def test_declared_twice_names_both_declarers():
    m = toy()
    with m.declared_by("failure module spec.failures.a"):
        m.param("max_floods", 1, min=0, doc="floods")
    with m.declared_by("failure module spec.failures.b"), pytest.raises(SpecError) as e:
        m.param("max_floods", 1, min=0, doc="floods")
    assert str(e.value) == ("model toy: parameter 'max_floods' is declared twice (by failure module "
                            "spec.failures.a and by failure module spec.failures.b); rename one")


def test_modes_of_one_budget_share_its_counter():
    m = toy()
    flood = m.failure_mode("flood", budget="max_glitches", counter="glitches", doc="Another way to stick.")

    @flood.action
    def Flood(s):
        """The counter floods."""
        s.stuck = True

    s = m.build({}, ["glitch", "flood"])
    assert [r[0] for r in s.roots] == ["n", "stuck", "glitches"]


@pytest.mark.parametrize("counter, message", [
    ("n", "failure mode glitch (model toy): its counter 'n' is also a variable of model toy; "
          "give the counter another name"),
    ("stuck", "failure mode glitch (model toy): its counter 'stuck' is also a variable of failure mode glitch"),
])
def test_a_counter_named_like_a_variable_is_refused(counter, message):
    with pytest.raises(SpecError, match=re.escape(message)):
        toy(mode_counter=counter).build({}, ["glitch"])


def test_a_mode_variable_named_like_a_model_variable_is_refused():
    m = toy()
    m.failure_modes["glitch"].variables(lambda p: [Var("n", Bool(), "a clash")])
    with pytest.raises(SpecError, match=re.escape("variable 'n' is declared twice: by failure mode glitch "
                                                  "(model toy) and by model toy; rename one")):
        m.build({}, ["glitch"])


def test_a_parameter_typo_lists_the_parameters():
    m = toy()

    @m.failure_modes["glitch"].action
    def Typo(s):
        """Reads a parameter the model does not have."""
        when(s.n < s.params.bund)

    with pytest.raises(SpecError) as e:
        m.build({}, ["glitch"])
    assert "model toy has no parameter 'bund' (" in str(e.value) and "test_failure_modes.py, line" in str(e.value)
    assert str(e.value).endswith("; its parameters: bound, max_glitches")


def test_fire_of_an_undeclared_event_is_refused():
    m = toy()

    @m.action
    def Reboot(s):
        """Fires an event nobody declared."""
        m.fire("reboot", s)

    with pytest.raises(SpecError, match="model toy: fire\\('reboot'\\) names no declared event; its events: restart"):
        m.build()


# --------------------------------------------------------------------------- spec/failures

FIELDS = '"""zz: a test mode.\n\nReal Kafka: none. Prevented: by not. Documented: nowhere.\n"""\n'
INSTALL = ('\n\ndef install(model):\n'
           '    model.param("max_zz", 1, min=0, doc="zz")\n'
           '    model.failure_mode("zz", budget="max_zz", counter="zzs", doc=__doc__)\n')


@pytest.mark.parametrize("source, command, message", [
    (FIELDS + 'CATALOGUE = ("B9",)\nORDER = 30\n' + INSTALL, "list",
     "failure modules spec.failures.offset_expiry and spec.failures.zz both have ORDER = 30 for model group; "
     "give each its own"),
    (FIELDS + 'CATALOGUE = ("B9",)\n' + INSTALL, "list",
     "failure module spec.failures.zz needs ORDER = <an integer>"),
    (FIELDS + 'CATALOGUE = ("C51",)\nORDER = 99\n' + INSTALL, "list",
     "failure module spec.failures.zz: CATALOGUE cites 'C51', which the failure catalogue "
     "(kafka-failure-modes.md) does not have; its ids are P1-P9, B1-B11, C1-C16, T1-T7"),
    (FIELDS + 'CATALOGUE = ("B9",)\nORDER = 99\n' + INSTALL.replace('"max_zz", 1', '"max_crashes", 1'), "list",
     "model group: parameter 'max_crashes' is declared twice (by failure module spec.failures.crash and by "
     "failure module spec.failures.zz); rename one"),
    (FIELDS + 'CATALOGUE = ("B9",)\nORDER = 99\n' + INSTALL.replace('"zzs"', '"crashes"'), "list",
     "failure mode zz (failure module spec.failures.zz): counter 'crashes' already counts failure mode crash "
     "(failure module spec.failures.crash) against budget max_crashes"),
    (None, "matrix",
     "matrix row 'zz-row' (spec/matrix.py) cites 'C51', which the failure catalogue (kafka-failure-modes.md) "
     "does not have"),
])
def test_a_malformed_failure_module_or_row_is_one_line_exit_2(tmp_path, source, command, message):
    where = copy_spec(tmp_path)
    if source is None:
        with open(where / "spec" / "matrix.py", "a", encoding="utf-8") as f:
            f.write('\nCONFIGS.append(row("zz-row", "a row citing an id the catalogue lacks", {"C51": "D"}, ()))\n')
    else:
        (where / "spec" / "failures" / "zz.py").write_text(source)
    r = run_checker(where, command)
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert message in r.stderr and r.stderr.count("\n") == 1, r.stderr


# --------------------------------------------------------------------------- list, conform

def test_list_marks_the_actions_of_modes_that_are_off_and_f_turns_one_on():
    (d,) = describe_models({"group": get_model("group")})
    acts = {a["name"]: a for a in d["actions"]}
    assert acts["Crash"]["on"] and not acts["DeleteRecords"]["on"]
    assert acts["DeleteRecords"] == {"name": "DeleteRecords", "indexed": False, "failure_mode": "retention",
                                     "on": False, "description": "Retention deletes the oldest record still in "
                                                                 "the log (the log start moves up)."}
    assert {f["name"]: f["on"] for f in d["failure_modes"]}["retention"] is False
    (d,) = describe_models({"group": get_model("group")}, ["retention"])
    assert {a["name"]: a["on"] for a in d["actions"]}["DeleteRecords"] is True
    assert "deletions" in [v["name"] for v in d["variables"]]


@pytest.mark.parametrize("args, message", [
    (["list", "-f", "retention"], "list -f retention needs a model: list MODEL -f retention"),
    (["list", "group", "-f", "flood"], "unknown failure mode 'flood' for model group"),
])
def test_list_f_bad_input_is_one_line(capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_an_action_conform_cannot_drive_is_not_driven_with_the_reason_before_any_client_starts():
    assert not_driven("Poll") is None and "Poll" in DRIVEN
    assert not_driven("ShrinkIsr") == ("the harness has no client operation for ShrinkIsr (conform/harness.py "
                                         f"drives {', '.join(sorted(DRIVEN))})")
    out = replay_on_client(replay(get_model("group").build({}, ["retention"]), ["Produce", "DeleteRecords"]))
    assert out.not_driven.startswith("DeleteRecords: retention deletes segments") and not out.matched
    assert out.steps == 0 and out.mismatch is None and not out.error
