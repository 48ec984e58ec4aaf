"""Rewrite the example output the docs show with what the checker prints now.

README.md: the two ```text blocks, `checker verify`. docs/proofs.md: the ```console
block, `checker prove`. docs/writing-a-model.md: the output of its example model, run
from the files its ```python blocks spell out. All at the width of piped output
(COLUMNS unset). tests/test_docs.py and tests/test_prove.py fail when they differ; run
`python scripts/update_readme.py` to fix.
"""

import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
PROOFS = os.path.join(ROOT, "docs", "proofs.md")
WRITING = os.path.join(ROOT, "docs", "writing-a-model.md")
# A ```python block whose first line names its file, and the ```console block that runs them.
EXAMPLE_FILE = re.compile(r"```python\n# (\S+\.py)\n(.*?)```", re.S)
EXAMPLE_RUN = re.compile(r"(```console\n\$ CHECKER_MODELS=(\w+) checker ([^\n]*)\n)(.*?)```", re.S)
ENV = {k: v for k, v in os.environ.items() if k != "COLUMNS"}  # the examples show the piped width


def main() -> None:
    out = subprocess.run([sys.executable, "-m", "checker", "verify"], cwd=ROOT, check=False,
                         capture_output=True, text=True, env=ENV).stdout.splitlines()
    out[1] = re.sub(r"\d+\.\d+ s \(", "0.02 s (", out[1])  # a typical figure, not this run's
    cut = next(i for i, line in enumerate(out) if line.startswith("duplicate-delivery reached"))
    blocks = ["\n".join(out[:cut]).rstrip() + "\n", "\n".join(out[cut:]).rstrip() + "\n"]
    text = open(README, encoding="utf-8").read()
    parts = re.split(r"(```text\n.*?```)", text, flags=re.S)
    fenced = [i for i, p in enumerate(parts) if p.startswith("```text\n")]
    assert len(fenced) == 2, "the README should hold exactly two ```text blocks"
    for i, block in zip(fenced, blocks):
        parts[i] = "```text\n" + block + "```"
    open(README, "w", encoding="utf-8").write("".join(parts))
    update_prove_block(PROOFS)
    update_example_block(WRITING)


def update_prove_block(path: str) -> None:
    """The `prove` example (a ```console block): what `checker prove` prints now."""
    out = subprocess.run([sys.executable, "-m", "checker", "prove"], cwd=ROOT, check=False,
                         capture_output=True, text=True, env=ENV).stdout
    text = open(path, encoding="utf-8").read()
    new = "```console\n$ checker prove\n" + out.rstrip() + "\n```"
    text, n = re.subn(r"```console\n\$ checker prove\n.*?```", lambda _: new, text, count=1, flags=re.S)
    assert n == 1, f"{path} should hold the `checker prove` example"
    open(path, "w", encoding="utf-8").write(text)


def run_example(text: str) -> tuple[str, subprocess.CompletedProcess]:
    """Write the page's example files into a fresh folder and run its console command there:
    (the output the page shows, the run)."""
    run = EXAMPLE_RUN.search(text)
    assert run, "the page should hold a ```console block `$ CHECKER_MODELS=PACKAGE checker ...`"
    with tempfile.TemporaryDirectory() as tmp:
        for name, source in EXAMPLE_FILE.findall(text):
            os.makedirs(os.path.join(tmp, os.path.dirname(name)), exist_ok=True)
            with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
                f.write(source)
        env = dict(ENV, CHECKER_MODELS=run.group(2), PYTHONPATH=os.pathsep.join([tmp, ROOT]))
        done = subprocess.run([sys.executable, "-m", "checker", *run.group(3).split()], cwd=tmp, env=env,
                              check=False, capture_output=True, text=True, timeout=120)
    return run.group(4), done


def update_example_block(path: str) -> None:
    """The output of the page's example model: what its console command prints now."""
    text = open(path, encoding="utf-8").read()
    _, done = run_example(text)
    assert done.returncode == 0, done.stderr
    text = EXAMPLE_RUN.sub(lambda m: m.group(1) + done.stdout.rstrip() + "\n```", text, count=1)
    open(path, "w", encoding="utf-8").write(text)


if __name__ == "__main__":
    main()
