"""Rewrite the example output the docs show with what the checker prints now.

README.md: the two ```text blocks, `checker verify`. docs/proofs.md: the ```console
block, `checker prove`. Both at the width of piped output (COLUMNS unset).
tests/test_docs.py and tests/test_prove.py fail when they differ; run
`python scripts/update_readme.py` to fix.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
PROOFS = os.path.join(ROOT, "docs", "proofs.md")
ENV = {k: v for k, v in os.environ.items() if k != "COLUMNS"}  # the examples show the piped width


def main() -> None:
    out = subprocess.run([sys.executable, "-m", "checker", "verify"], cwd=ROOT, check=False,
                         capture_output=True, text=True, env=ENV).stdout.splitlines()
    out[1] = re.sub(r"\d+\.\d+ s \(", "0.02 s (", out[1])  # a typical figure, not this run's
    cut = next(i for i, line in enumerate(out) if line.startswith("DuplicateDelivery reached"))
    blocks = ["\n".join(out[:cut]).rstrip() + "\n", "\n".join(out[cut:]).rstrip() + "\n"]
    text = open(README, encoding="utf-8").read()
    parts = re.split(r"(```text\n.*?```)", text, flags=re.S)
    fenced = [i for i, p in enumerate(parts) if p.startswith("```text\n")]
    assert len(fenced) == 2, "the README should hold exactly two ```text blocks"
    for i, block in zip(fenced, blocks):
        parts[i] = "```text\n" + block + "```"
    open(README, "w", encoding="utf-8").write("".join(parts))
    update_prove_block(PROOFS)


def update_prove_block(path: str) -> None:
    """The `prove` example (a ```console block): what `checker prove` prints now."""
    out = subprocess.run([sys.executable, "-m", "checker", "prove"], cwd=ROOT, check=False,
                         capture_output=True, text=True, env=ENV).stdout
    text = open(path, encoding="utf-8").read()
    new = "```console\n$ checker prove\n" + out.rstrip() + "\n```"
    text, n = re.subn(r"```console\n\$ checker prove\n.*?```", lambda _: new, text, count=1, flags=re.S)
    assert n == 1, f"{path} should hold the `checker prove` example"
    open(path, "w", encoding="utf-8").write(text)


if __name__ == "__main__":
    main()
