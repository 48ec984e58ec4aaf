"""A copy of the `spec` package in a temporary directory, and the checker run on it.

Tests that add (or break) a failure module or a matrix row do it in the copy, so the
package every other test imports is never touched. The checker runs in a subprocess
whose working directory holds the copy: `python -m` puts that directory first on the
import path, so `spec` is the copy, while `checker` and `conform` come from this checkout.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def copy_spec(tmp_path: pathlib.Path) -> pathlib.Path:
    """A directory holding a fresh copy of spec/ (no bytecode), to edit and run the checker in."""
    where = tmp_path / "copy"
    shutil.copytree(os.path.join(ROOT, "spec"), where / "spec", ignore=shutil.ignore_patterns("__pycache__"))
    return where


def run_checker(where: pathlib.Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m checker ARGS` on the copy in `where` (its outputs land in `where` too)."""
    env = dict(os.environ)
    env.pop("CHECKER_MODELS", None)
    env["PYTHONPATH"] = os.pathsep.join([str(where), ROOT])
    return subprocess.run([sys.executable, "-m", "checker", *args], cwd=where, env=env,
                          capture_output=True, text=True, timeout=timeout)
