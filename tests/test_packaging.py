"""The package as it installs: the wheel holds every package, its entry points and extras;
`--version`; and `conform` without its optional client says which extra to install.

scripts/check_wheel.sh (run by .ci/run) goes further: it installs the wheel into a fresh
virtual environment and runs `checker verify` and `checker matrix` there.
"""

import configparser
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("checker", "spec", "conform")
DIST = "kafka-semantics-checker"


def pyproject() -> dict:
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)


def source_packages() -> set[str]:
    """Every directory under checker/, spec/ and conform/ that holds an __init__.py, as a/b/c."""
    found = set()
    for top in PACKAGES:
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, top)):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            if "__init__.py" in filenames:
                found.add(os.path.relpath(dirpath, ROOT).replace(os.sep, "/"))
    return found


def _ignore_build_leftovers(directory: str, names: list[str]) -> set[str]:
    # A leftover build/lib would go into the wheel as it is: build from a clean copy.
    ignored = {n for n in names if n == "__pycache__"}
    if os.path.abspath(directory) == ROOT:
        ignored |= {n for n in names
                    if n in (".git", ".venv", "build", ".pytest_cache", "artifacts") or n.endswith(".egg-info")}
    return ignored


def build_wheel(tmp_path) -> zipfile.ZipFile:
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=_ignore_build_leftovers)
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q",
                        "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    return zipfile.ZipFile(wheel)


def test_the_wheel_holds_every_package_its_entry_points_and_extras(tmp_path):
    whl = build_wheel(tmp_path)
    names = set(whl.namelist())

    packages = source_packages()
    assert {"checker", "spec", "spec/failures", "conform"} <= packages
    missing = sorted(p for p in packages if f"{p}/__init__.py" not in names)
    assert not missing, f"packages left out of the wheel: {missing}"
    modules = {os.path.relpath(os.path.join(d, f), ROOT).replace(os.sep, "/")
               for p in packages for d in [os.path.join(ROOT, p)] for f in os.listdir(d) if f.endswith(".py")}
    assert modules <= names, f"modules left out of the wheel: {sorted(modules - names)}"
    assert "spec/kafka-failure-modes.md" in names, "the catalogue spec/catalogue.py reads at run time"
    (info,) = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
    assert {n.split("/")[0] for n in names} == {*PACKAGES, info}, "only the three packages are installed"

    declared = pyproject()["project"]
    eps = configparser.ConfigParser(delimiters=("=",))
    eps.optionxform = str  # entry-point names keep their case
    eps.read_string(whl.read(f"{info}/entry_points.txt").decode())
    got = {s: dict(eps[s]) for s in eps.sections()}
    assert got["console_scripts"] == {"checker": "checker.cli:run"} == declared["scripts"]
    for group in ("checker.models", "checker.commands"):
        assert got[group] == declared["entry-points"][group] != {}, group

    meta = whl.read(f"{info}/METADATA").decode()
    requires = [line.split(":", 1)[1].strip() for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    assert "Provides-Extra: conform" in meta.splitlines()
    client = [r for r in requires if r.startswith("confluent-kafka")]
    assert client and all('extra == "conform"' in r for r in client), "confluent-kafka is only in the conform extra"
    assert "Provides-Extra: distributed" in meta.splitlines()
    ray = [r for r in requires if r.startswith("ray")]
    assert ray and all('extra == "distributed"' in r for r in ray), "ray is only in the distributed extra"


def test_version_prints_the_package_version():
    try:
        expected = importlib.metadata.version(DIST)
    except importlib.metadata.PackageNotFoundError:
        expected = pyproject()["project"]["version"]
    r = subprocess.run([sys.executable, "-m", "checker", "--version"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (0, f"checker {expected}\n", "")


def test_without_package_metadata_the_version_is_the_constant(monkeypatch, capsys):
    from checker.cli import VERSION, main  # VERSION: what --version says when the package is not installed
    assert VERSION == pyproject()["project"]["version"]

    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)
    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out == f"checker {VERSION}\n"


def test_conform_without_the_client_names_the_extra():
    code = ("import sys\n"
            "sys.modules['confluent_kafka'] = None  # as if confluent-kafka were not installed\n"
            "from checker.cli import main\n"
            "raise SystemExit(main(['conform', 'kafka']))\n")
    env = {k: v for k, v in os.environ.items() if k != "CHECKER_MODELS"}
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    assert "confluent-kafka" in r.stderr and "pip install 'kafka-semantics-checker[conform]'" in r.stderr
