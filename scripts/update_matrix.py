"""Rewrite the matrix in docs/matrix.md and the trace pages under docs/traces from a fresh `matrix` run.

`matrix --markdown` links the trace pages relative to the repository's top folder
(docs/traces/ROW.md); docs/matrix.md sits in docs/, so its links are rewritten to
traces/ROW.md here (`page_links`). tests/test_matrix.py fails when the page or the trace
pages differ from a fresh run; run `python scripts/update_matrix.py` to fix.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN, END = "<!-- matrix:begin (scripts/update_matrix.py) -->", "<!-- matrix:end -->"
PAGE = os.path.join("docs", "matrix.md")  # the page holding the matrix, relative to ROOT
TRACES = "docs/traces"  # where `matrix -o` writes the pages, relative to ROOT


def page_links(markdown: str) -> str:
    """`matrix --markdown`'s table with its trace links made relative to docs/matrix.md."""
    return markdown.replace("](docs/traces/", "](traces/")


def main() -> None:
    pages = os.path.join(ROOT, TRACES)
    for name in os.listdir(pages) if os.path.isdir(pages) else []:
        if name.endswith(".md"):  # pages of rows that no longer exist go too
            os.remove(os.path.join(pages, name))
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}  # the pages show the piped width
    out = subprocess.run([sys.executable, "-m", "checker", "matrix", "--markdown", "-o", TRACES],
                         cwd=ROOT, check=False, capture_output=True, text=True, env=env).stdout
    path = os.path.join(ROOT, PAGE)
    text = open(path, encoding="utf-8").read()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    assert pattern.search(text), f"{PAGE} should hold the matrix markers"
    text = pattern.sub(lambda _: BEGIN + "\n" + page_links(out) + END, text)
    open(path, "w", encoding="utf-8").write(text)


if __name__ == "__main__":
    main()
