"""Rewrite the README's matrix and the trace pages under docs/traces from a fresh `matrix` run.

tests/test_matrix.py fails when they differ; run `python scripts/update_matrix.py` to fix.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN, END = "<!-- matrix:begin (scripts/update_matrix.py) -->", "<!-- matrix:end -->"


def main() -> None:
    pages = os.path.join(ROOT, "docs", "traces")
    for name in os.listdir(pages) if os.path.isdir(pages) else []:
        if name.endswith(".md"):  # pages of rows that no longer exist go too
            os.remove(os.path.join(pages, name))
    out = subprocess.run([sys.executable, "-m", "checker", "matrix", "--markdown", "--traces", "docs/traces"],
                         cwd=ROOT, check=False, capture_output=True, text=True).stdout
    path = os.path.join(ROOT, "README.md")
    text = open(path, encoding="utf-8").read()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    assert pattern.search(text), "the README should hold the matrix markers"
    text = pattern.sub(lambda _: BEGIN + "\n" + out + END, text)
    open(path, "w", encoding="utf-8").write(text)


if __name__ == "__main__":
    main()
