"""The Promela export: SPIN searches the same transition system (same stored states,
the same assertion failure), and what it cannot express is refused in one line."""

import os
import shutil
import subprocess

import pytest

from checker import Int, Model, Var, when
from checker.errors import CheckerError
from checker.render.promela import promela
from spec import kafka, partitions

needs_spin = pytest.mark.skipif(shutil.which("spin") is None or shutil.which("cc") is None,
                                reason="needs spin and a C compiler (./setup.sh --test installs them)")


def spin(tmp_path, text):
    """SPIN's stored states and error count for a Promela text."""
    (tmp_path / "m.pml").write_text(text)
    subprocess.run(["spin", "-a", "m.pml"], cwd=tmp_path, check=True, capture_output=True)
    subprocess.run(["cc", "-O2", "-DSAFETY", "-DNOREDUCE", "-o", "pan", "pan.c"], cwd=tmp_path, check=True,
                   capture_output=True)
    out = subprocess.run([os.path.join(tmp_path, "pan"), "-m10000"], cwd=tmp_path, capture_output=True,
                         text=True).stdout
    stored = int(out.split(" states, stored")[0].split()[-1])
    errors = int(out.split("errors: ")[1].split()[0])
    return stored, errors


def test_the_export_is_one_d_step_per_action_with_the_invariant_after_each():
    text = promela(kafka.build())
    # the invariant after each action, and Process's three processed[o] checked within 0..K+1
    assert text.count(":: d_step") == 5 and text.count("assert(") == 5 + 3
    assert "byte v_processed_0 = 0;" in text and "hidden int t0;" in text
    assert ":: d_step { /* Produce */ ((!(3 <= v_sent))) -> t0 = (1 + v_sent); v_sent = t0; assert(" in text
    assert "assert(0 <= t1 && t1 <= 3)" in text
    assert promela(kafka.build()) == text  # deterministic


@needs_spin
@pytest.mark.parametrize("build, states, errors", [
    (lambda: kafka.build(), 193, 0),
    (lambda: kafka.build({"max_crashes": 1}), 80, 0),
    (lambda: partitions.build({"partitions": 2, "messages": 3, "max_crashes": 2}), 8336, 0),
])
def test_spin_stores_the_published_state_counts(tmp_path, build, states, errors):
    assert spin(tmp_path, promela(build())) == (states, errors)


@needs_spin
def test_spin_finds_the_at_most_once_loss(tmp_path):
    _, errors = spin(tmp_path, promela(kafka.build({"commit": "before"})))
    assert errors == 1


def test_what_promela_cannot_say_is_refused():
    m = Model("halves", "A counter halved.")
    m.variables(lambda p: [Var("x", Int(-4, 4), "x", init=3)])

    def Halve(s):
        """x = x / 2 (floor division)."""
        when(s.x != 0)
        s.x = s.x / 2
    m.action(Halve)
    m.always(lambda s: s.x < 4, name="small")
    with pytest.raises(CheckerError, match="division and modulo differ from C's"):
        promela(m.build())
    bad = Model("bad", "Broken at the start.")
    bad.variables(lambda p: [Var("x", Int(0, 1), "x", init=1)])

    def Stay(s):
        """x = x."""
        s.x = s.x
    bad.action(Stay)
    bad.always(lambda s: s.x == 0, name="zero")
    with pytest.raises(CheckerError, match="zero already fails in the initial state"):
        promela(bad.build())
