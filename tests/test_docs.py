"""The README and docs/: real output, a short README, links that lead somewhere, no history.

The README shows what `checker verify` prints now; the pages in docs/ say what
is, in the present tense (scripts/update_readme.py and scripts/update_matrix.py rewrite
the output they show).
"""

import contextlib
import glob
import io
import os
import re
import shlex
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README_MAX_BYTES = 10_240
# Wording that tells how the project got here instead of what it is.
HISTORY = ("measured again", "after everything was merged", "figures above predate", "before this change",
           "the engine before", "until the prover lands", "was added to", "predate")


def docs_pages() -> list[str]:
    """README.md and every page of docs/ (the generated trace pages included)."""
    return [os.path.join(ROOT, "README.md")] + sorted(
        glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True))


def test_readme_output_is_current():
    out = subprocess.run([sys.executable, "-m", "checker", "verify"], cwd=ROOT,
                         capture_output=True, text=True, timeout=600).stdout
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    blocks = re.findall(r"```text\n(.*?)```", readme, re.S)
    def normal(text):  # blank lines and the run time may differ
        return [re.sub(r"[\d,]+ MB", "N MB", re.sub(r"\d+\.\d+ s \(", "T s (", line))
                for line in text.splitlines() if line.strip()]
    assert len(blocks) == 2
    assert normal(blocks[0] + blocks[1]) == normal(out), "run python scripts/update_readme.py"


def test_quick_start_has_exactly_two_commands_and_ci_runs_the_second():
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    block = re.search(r"## Quick start.*?```sh\n(.*?)```", readme, re.S).group(1)
    cmds = [line for line in block.splitlines() if line.strip()]
    assert len(cmds) == 2 and "python -m checker verify" in cmds[0] and "pytest" in cmds[1]
    ci = open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8").read()
    assert cmds[1] in ci


def test_readme_is_short():
    size = os.path.getsize(os.path.join(ROOT, "README.md"))
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes: move a topic into docs/"


def links(text: str) -> list[str]:
    """The targets of a markdown text's links, code (fenced or inline) left out."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return re.findall(r"\]\(([^()\s]+)\)", text)


def test_links_lead_to_files_that_exist():
    broken = []
    for path in docs_pages():
        for target in links(open(path, encoding="utf-8").read()):
            if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue  # a web address, or an anchor on the same page
            file = target.split("#")[0]
            if not os.path.exists(os.path.normpath(os.path.join(os.path.dirname(path), file))):
                broken.append(f"{os.path.relpath(path, ROOT)}: {target}")
    assert not broken, broken


def test_link_finder():
    text = "[a](docs/x.md) `[b](no.md)` [c](x.md#y)\n```\n[d](no.md)\n```\n[e](https://e.org)"
    assert links(text) == ["docs/x.md", "x.md#y", "https://e.org"]


@pytest.mark.parametrize("phrase", HISTORY)
def test_docs_say_what_is_not_how_it_came_to_be(phrase):
    found = [os.path.relpath(p, ROOT) for p in docs_pages()
             if phrase in open(p, encoding="utf-8").read().lower()]
    assert not found, f"{phrase!r} in {found}"


def test_writing_a_model_example_runs_as_shown():
    """The page's example model, written out as the files it names, prints what the page shows."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("update_readme", os.path.join(ROOT, "scripts", "update_readme.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    page = open(os.path.join(ROOT, "docs", "writing-a-model.md"), encoding="utf-8").read()
    assert [name for name, _ in script.EXAMPLE_FILE.findall(page)] == ["counters/counter.py", "counters/__init__.py"]
    shown, done = script.run_example(page)
    assert done.returncode == 0, done.stderr
    normal = lambda text: [re.sub(r"\d+\.\d+ s \(", "T s (", line) for line in text.splitlines() if line.strip()]
    assert normal(shown) == normal(done.stdout), "run python scripts/update_readme.py"


def _documented_commands():
    """Every `checker ...` command the README and docs/ show (inline or after `$ `), as arguments."""
    for path in ["README.md"] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))):
        raw = open(os.path.join(ROOT, path), encoding="utf-8").read()
        inline = re.findall(r"`(checker [^`]+)`", re.sub(r"\n\s*", " ", raw))  # inline code may wrap
        for text in inline + re.findall(r"^\$ (?:CHECKER_MODELS=\w+ )?(checker [^\n]+)", raw, re.M):
            if any(mark in text for mark in ("...", "[", "|", "<")):
                continue  # a synopsis with placeholders, not a command
            args = [a for a in shlex.split(text)[1:] if not re.match(r"\d?>", a)]  # shell redirections
            if args and not args[0].isupper():  # `checker COMMAND --help` names no command
                yield os.path.relpath(path, ROOT), text, args


def test_every_documented_command_is_accepted_by_the_parser():
    from checker.cli import build_parser
    seen, refused = 0, []
    for path, text, args in _documented_commands():
        seen += 1
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                build_parser().parse_args(args)
        except SystemExit as e:
            if e.code:
                refused.append(f"{path}: `{text}`: {err.getvalue().strip()}")
    assert seen >= 40 and not refused, refused
