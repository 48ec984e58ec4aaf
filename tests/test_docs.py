"""The README shows real output: it must be what `python -m checker verify` prints now."""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_readme_output_is_current():
    out = subprocess.run([sys.executable, "-m", "checker", "verify"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120).stdout
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    blocks = re.findall(r"```text\n(.*?)```", readme, re.S)
    def normal(text):  # blank lines and the run time may differ
        return [re.sub(r"[\d,]+ MB", "N MB", re.sub(r"\d+\.\d+ s \(", "T s (", line))
                for line in text.splitlines() if line.strip()]
    assert len(blocks) == 2
    assert normal(blocks[0] + blocks[1]) == normal(out), "regenerate the README's example output"


def test_quick_start_has_exactly_two_commands_and_ci_runs_the_second():
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    block = re.search(r"## Quick start.*?```sh\n(.*?)```", readme, re.S).group(1)
    cmds = [line for line in block.splitlines() if line.strip()]
    assert len(cmds) == 2 and "python -m checker verify" in cmds[0] and "pytest" in cmds[1]
    ci = open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8").read()
    assert cmds[1] in ci
