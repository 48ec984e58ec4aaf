"""Where the CLI finds models by name, without the checker importing any model itself.

Models are published under the entry-point group `checker.models` (see pyproject.toml);
a package name there (or in the CHECKER_MODELS environment variable, comma-separated)
is imported and its `MODELS` list read. From a source checkout that was never
installed, the conventional package `spec` is tried.
"""

from __future__ import annotations

import importlib
import os
from importlib.metadata import entry_points

from .errors import CheckerError, SpecError
from .lang import Model

__all__ = ["models", "get_model"]

_cache: dict[str, Model] | None = None


def _providers() -> list[str]:
    env = os.environ.get("CHECKER_MODELS")
    if env:
        return [p.strip() for p in env.split(",") if p.strip()]
    found = sorted({ep.value for ep in entry_points(group="checker.models")})
    return found or ["spec"]


def models() -> dict[str, Model]:
    """Every registered model by name, in the order their packages list them."""
    global _cache
    if _cache is None:
        out: dict[str, Model] = {}
        for name in _providers():
            try:
                mod = importlib.import_module(name)
            except ModuleNotFoundError as e:
                raise CheckerError(f"cannot import model package {name!r} ({e}); install the project "
                                   "with `pip install -e .` or set CHECKER_MODELS") from None
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
            for m in getattr(mod, "MODELS", []):
                if not isinstance(m, Model):
                    raise SpecError(f"{name}.MODELS must hold checker.Model objects, found {m!r}")
                if m.name in out:
                    raise SpecError(f"two models are named {m.name!r}; model names must be unique")
                out[m.name] = m
        _cache = out
    return _cache


def get_model(name: str) -> Model:
    ms = models()
    if name not in ms:
        raise CheckerError(f"unknown model {name!r}; known models: {', '.join(ms)} "
                           "(python -m checker list shows them)")
    return ms[name]
