"""Where the CLI finds models by name, without the checker importing any model itself.

Models are published under the entry-point group `checker.models` (see pyproject.toml);
a package name there (or in the CHECKER_MODELS environment variable, comma-separated)
is imported and its `MODELS` list read. From a source checkout that was never
installed, the conventional package `spec` is tried.

Commands that need more than a model (`conform` drives a real Kafka client) are
plugins published the same way, under the entry-point group `checker.commands`: the
checker adds a subcommand per plugin without importing what the plugin drives.
"""

from __future__ import annotations

import importlib
import os
import re
from importlib.metadata import entry_points
from typing import Any, Callable

from checker.config import Config
from checker.errors import CheckerError, SpecError
from checker.lang.model import Model

__all__ = ["models", "get_model", "configs", "get_config", "fixes", "commands", "setup_reader"]

_cache: dict[str, Model] | None = None
_configs: dict[str, Any] | None = None


_PACKAGE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _providers() -> list[str]:
    """The model packages: CHECKER_MODELS when it is set and not empty, else the entry points."""
    env = os.environ.get("CHECKER_MODELS", "")
    if env.strip():
        names = [p.strip() for p in env.split(",")]
        if not any(names):
            raise CheckerError(f"CHECKER_MODELS={env!r} names no package; set it to package names separated by "
                               "commas (CHECKER_MODELS=spec) or unset it")
        for name in names:
            if name and not (name.isascii() and _PACKAGE.fullmatch(name)):
                raise CheckerError(f"CHECKER_MODELS: {name!r} is not a package name; write dotted Python "
                                   "names separated by commas (CHECKER_MODELS=spec)")
        return list(dict.fromkeys(n for n in names if n))
    found = sorted({ep.value for ep in entry_points(group="checker.models")})
    return found or ["spec"]


def _missing(package: str, e: ModuleNotFoundError) -> CheckerError:
    """The one-line error for a model package that is not there, or that imports a module that is not."""
    missing = e.name or str(e)
    if package == missing or package.startswith(missing + "."):
        return CheckerError(f"cannot import model package {package!r}: there is no module {missing!r}; install "
                            "the package that provides it or set CHECKER_MODELS to a package on the Python path")
    where = ""
    tb = e.__traceback__
    while tb is not None:  # the innermost line of the package's own code, where it imports the module
        if tb.tb_frame.f_globals.get("__name__", "").split(".")[0] == package.split(".")[0]:
            where = f" ({tb.tb_frame.f_code.co_filename}, line {tb.tb_lineno})"
        tb = tb.tb_next
    return CheckerError(f"model package {package!r} imports the module {missing!r}{where}, which is not "
                        "installed: install it or remove the import")


def models() -> dict[str, Model]:
    """Every registered model by name, in the order their packages list them."""
    global _cache
    if _cache is None:
        out: dict[str, Model] = {}
        for name in _providers():
            try:
                mod = importlib.import_module(name)
            except ModuleNotFoundError as e:
                raise _missing(name, e) from None
            except CheckerError:
                raise
            except Exception as e:  # a user's model package that does not even import
                where = ""
                tb = e.__traceback__
                while tb is not None:  # name the innermost line of the package's own code
                    where = f" ({tb.tb_frame.f_code.co_filename}, line {tb.tb_lineno})"
                    tb = tb.tb_next
                if isinstance(e, SyntaxError):
                    where = ""  # its message names the file and line already
                raise SpecError(f"model package {name!r} failed to import: {type(e).__name__}: "
                                f"{e}{where}") from None
            _gather(out, name, mod, "MODELS", Model, lambda m: m.name, "models", "model names must be unique")
        if not out:
            raise SpecError(f"the model packages ({', '.join(_providers())}) declare no models: list them in "
                            "each package's MODELS")
        _cache = out
    return _cache


def _gather(out: dict[str, Any], package: str, mod: Any, attr: str, kind: type, key: Callable[[Any], str],
            what: str, rule: str) -> None:
    """Add a package's MODELS or CONFIGS to `out` by name: each must be a `kind`, each name unique."""
    items = getattr(mod, attr, [])
    if not isinstance(items, (list, tuple)):
        raise SpecError(f"{package}.{attr} must be a list of checker.{kind.__name__} objects, not {items!r}")
    for item in items:
        if not isinstance(item, kind):
            raise SpecError(f"{package}.{attr} must hold checker.{kind.__name__} objects, found {item!r}")
        if key(item) in out:
            raise SpecError(f"two {what} are named {key(item)!r}; {rule}")
        out[key(item)] = item


def get_model(name: str) -> Model:
    ms = models()
    if not name:
        raise CheckerError(f"the model name is empty; known models: {', '.join(ms)} (checker list shows them)")
    if name not in ms:
        raise CheckerError(f"unknown model {name!r}; known models: {', '.join(ms)} "
                           "(checker list shows them)")
    return ms[name]


def configs() -> dict[str, Config]:
    """Every named configuration (a `checker.Config`) of the model packages, by id."""
    global _configs
    if _configs is None:
        known = models()  # imports the packages, with their one-line errors
        out: dict[str, Any] = {}
        for name in _providers():
            _gather(out, name, importlib.import_module(name), "CONFIGS", Config, lambda c: c.id,
                    "configurations", "their ids must be unique")
        for c in out.values():
            if c.model not in known:
                raise SpecError(f"configuration {c.id}: unknown model {c.model!r}")
        _configs = out
    return _configs


def get_config(name: str) -> Config:
    cs = configs()
    if name not in cs:
        raise CheckerError(f"unknown configuration {name!r}; known: {', '.join(cs) or 'none'} "
                           "(checker list shows them)")
    return cs[name]


def fixes() -> Callable[[Config, Config], set[str]]:
    """`fixes(row, fix)`: the properties of configuration `row` that the remedies `fix` applies
    address, by the model packages' `FIXES` (the union over packages; one without addresses none).

    The packages know what a remedy prevents; `checker.matrix.fixed_by` keeps the cells that
    the search shows violated in `row` and holding in `fix`.
    """
    models()  # imports the packages, with their one-line errors
    found = [getattr(importlib.import_module(name), "FIXES", None) for name in _providers()]
    for name, f in zip(_providers(), found):
        if f is not None and not callable(f):
            raise SpecError(f"{name}.FIXES must be a function (row, fix) -> the properties of row that fix's "
                            f"remedies address, not {f!r}")
    given = [f for f in found if f is not None]
    return lambda row, fix: set().union(*(set(f(row, fix)) for f in given))


def commands() -> dict[str, Any]:
    """Command plugins by name: modules with HELP, DESCRIPTION, EXIT_CODES ((code, meaning) pairs for
    `--help`), add_arguments(parser) and run(args) -> exit code.

    Published under the entry-point group `checker.commands` (name -> module); from a
    source checkout that was never installed, the conventional `conform.command` is tried.
    A plugin module must import cheaply: the parser is built on every run, so what the
    command drives is imported inside run().
    """
    found = {ep.name: ep.value for ep in entry_points(group="checker.commands")}
    if not found:
        found = {"conform": "conform.command"}
    out: dict[str, Any] = {}
    for name in sorted(found):
        try:
            mod = importlib.import_module(found[name])
        except ModuleNotFoundError as e:
            if e.name is not None and found[name].startswith(e.name):
                continue  # the plugin's package is not here: the command does not exist
            raise SpecError(f"command plugin {found[name]!r} failed to import: {e}") from None
        missing = [a for a in ("HELP", "DESCRIPTION", "EXIT_CODES", "add_arguments", "run") if not hasattr(mod, a)]
        if missing:
            raise SpecError(f"command plugin {found[name]!r} lacks {', '.join(missing)}")
        out[name] = mod
    return out


def setup_reader() -> Any:
    """The settings reader of the model packages (`SETUP`, see checker/setup.py), for `check`.

    The first package (in the order of `_providers`) that publishes one; none is a one-line error.
    """
    models()  # imports the packages, with their one-line errors
    for name in _providers():
        reader = getattr(importlib.import_module(name), "SETUP", None)
        if reader is not None:
            if not callable(getattr(reader, "read", None)):
                raise SpecError(f"{name}.SETUP must have read(files, overrides, faults) -> checker.setup.Setup")
            return reader
    raise CheckerError(f"no model package ({', '.join(_providers())}) publishes a settings reader (SETUP), so "
                       "`check` cannot read settings files; use verify MODEL -p NAME=VALUE")
