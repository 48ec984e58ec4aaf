"""The layout shows the architecture: folders by role, imports that point one way, no
module reaching into another's private names, and ARCHITECTURE.md naming every file."""

import ast
import os
import re

import networkx as nx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("checker", "spec", "conform")


def _modules() -> dict[str, str]:
    """Module name -> file, for every module of the project's packages."""
    out = {}
    for pkg in PACKAGES:
        for dirpath, dirnames, files in os.walk(os.path.join(ROOT, pkg)):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for f in sorted(files):
                if f.endswith(".py"):
                    path = os.path.join(dirpath, f)
                    name = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                    out[name.removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def _imports(name: str, top_level_only: bool):
    """(imported module, imported names) of one module; relative imports resolved."""
    path = MODULES[name]
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names = [a.name for a in node.names]
            # `from pkg import module` names a module, not an attribute.
            subs = [n for n in names if f"{base}.{n}" in MODULES]
            yield base, [n for n in names if n not in subs]
            for n in subs:
                yield f"{base}.{n}", []


def _own(mod: str) -> str | None:
    """The project module an import refers to (its longest known prefix), if any."""
    while mod:
        if mod in MODULES:
            return mod
        mod = mod.rpartition(".")[0]
    return None


def test_no_import_cycles_between_modules():
    g = nx.DiGraph()
    for name in MODULES:
        g.add_node(name)
        for mod, _ in _imports(name, top_level_only=True):
            target = _own(mod)
            # A package's __init__ re-exporting its own modules is not a cycle of roles.
            if target and target != name and not name.startswith(target + ".") \
                    and not target.startswith(name + "."):
                g.add_edge(name, target)
    cycles = list(nx.simple_cycles(g))
    assert not cycles, f"import cycles: {cycles[:3]}"


def test_no_module_imports_another_modules_private_names():
    bad = []
    for name in MODULES:
        for mod, names in _imports(name, top_level_only=False):
            target = _own(mod)
            if target and target != name:
                bad += [f"{name} imports {target}.{n}" for n in names if n.startswith("_")]
    assert not bad, bad


def test_the_checker_knows_no_kafka_and_the_models_know_no_engine():
    for name in MODULES:
        targets = {_own(m) or m for m, _ in _imports(name, top_level_only=False)}
        if name.startswith("checker"):
            assert not any(t.split(".")[0] in ("spec", "conform", "confluent_kafka") for t in targets), name
        if name.startswith("spec"):
            assert not any(t.startswith(("checker.engines", "checker.proofs", "checker.render", "checker.cli"))
                           for t in targets), name


def test_architecture_lists_every_file():
    text = open(os.path.join(ROOT, "ARCHITECTURE.md"), encoding="utf-8").read()
    listed = set(re.findall(r"`([\w/.-]+\.py)`", text))
    # A line may list several sibling files: "`spec/failures/crash.py`, `shutdown.py`".
    for line in text.splitlines():
        first = re.match(r"- `([\w/-]+/)[\w.-]+\.py`", line)
        if first:
            listed |= {first.group(1) + f for f in re.findall(r"`([\w.-]+\.py)`", line)}
    files = {os.path.relpath(p, ROOT).replace(os.sep, "/") for p in MODULES.values()}
    for folder in ("tests", "scripts"):
        for dirpath, dirnames, names in os.walk(os.path.join(ROOT, folder)):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            files |= {os.path.relpath(os.path.join(dirpath, f), ROOT).replace(os.sep, "/")
                      for f in names if f.endswith(".py")}
    missing = sorted(files - listed)
    assert not missing, f"ARCHITECTURE.md does not list: {missing}"
