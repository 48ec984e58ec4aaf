"""The failure-mode library: one module per failure mode, found automatically.

Every module in this package (any name not starting with `_`) is a failure mode. It
must have a docstring (what real Kafka does, which settings cause and prevent it,
where that is documented), `CATALOGUE`, the ids of ../shared/kafka-failure-modes.md it
exposes, and `install(model)`, which declares the mode's budget parameter, the mode
(`model.failure_mode(...)`) and its actions. `MODEL` names the model it perturbs:
`group` (the consumer group, the default) or `pipeline` (producer and replicated
partition). Modules are installed in name order, so the order of actions, and with
it every least shortest trace, is fixed.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from checker import SpecError

__all__ = ["modules", "install_all"]


def modules(model: str | None = None) -> list[ModuleType]:
    """The failure-mode modules of this package (those for `model`, if given), sorted by module name."""
    names = sorted({m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")})
    out = []
    for name in names:
        mod = importlib.import_module(f"{__name__}.{name}")
        if not (mod.__doc__ or "").strip() or not callable(getattr(mod, "install", None)):
            raise SpecError(f"failure module {mod.__name__} needs a docstring and an install(model) function")
        if model is None or getattr(mod, "MODEL", "group") == model:
            out.append(mod)
    return out


def install_all(model) -> None:
    """Install every failure mode of the package meant for `model` into it."""
    for mod in modules(model.name):
        before = len(model.failure_modes)
        mod.install(model)
        if len(model.failure_modes) == before:
            raise SpecError(f"failure module {mod.__name__}: install() declared no failure mode")
