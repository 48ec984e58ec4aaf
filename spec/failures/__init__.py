"""The failure-mode library: one module per failure mode, found automatically.

Every module in this package (any name not starting with `_`) is a failure mode. It
must have a docstring (what real Kafka does, which settings cause and prevent it,
where that is documented), `CATALOGUE`, the ids of the failure catalogue
(spec/kafka-failure-modes.md) it exposes, `ORDER`, an integer that places it among the
modules of its model, and `install(model)`, which declares the mode's budget
parameter, the mode (`model.failure_mode(...)`), its actions and, if it needs them,
its own variables, lanes and handlers of the model's events. `MODEL` names the model
it perturbs: `group` (the consumer group, the default), `pipeline` (producer and
replicated partition) or `eos` (the exactly-once loop with transactions). Modules install in ORDER, so the order of parameters and
actions, and with it every least shortest trace, is fixed: a new module takes an
unused number and moves nothing already there.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from checker import SpecError

from .. import catalogue

__all__ = ["modules", "install_all"]


def _order(mod: ModuleType) -> int:
    order = getattr(mod, "ORDER", None)
    if isinstance(order, bool) or not isinstance(order, int):
        raise SpecError(f"failure module {mod.__name__} needs ORDER = <an integer>, its place among the modules "
                        f"of its model (the modules of spec/failures/ use 10, 20, ...: take an unused one)")
    return order


def modules(model: str | None = None) -> list[ModuleType]:
    """The failure-mode modules of this package (those for `model`, if given), by model, then ORDER."""
    names = sorted({m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")})
    out = []
    for name in names:
        mod = importlib.import_module(f"{__name__}.{name}")
        if not (mod.__doc__ or "").strip() or not callable(getattr(mod, "install", None)):
            raise SpecError(f"failure module {mod.__name__} needs a docstring and an install(model) function")
        cited = getattr(mod, "CATALOGUE", None)
        if not isinstance(cited, tuple) or not all(isinstance(c, str) for c in cited):
            raise SpecError(f"failure module {mod.__name__} needs CATALOGUE = (the catalogue ids it exposes, ...)")
        catalogue.check(cited, f"failure module {mod.__name__}: CATALOGUE")
        _order(mod)
        if model is None or getattr(mod, "MODEL", "group") == model:
            out.append(mod)
    out.sort(key=lambda m: (getattr(m, "MODEL", "group"), _order(m)))
    for a, b in zip(out, out[1:]):
        if getattr(a, "MODEL", "group") == getattr(b, "MODEL", "group") and _order(a) == _order(b):
            raise SpecError(f"failure modules {a.__name__} and {b.__name__} both have ORDER = {_order(a)} "
                            f"for model {getattr(a, 'MODEL', 'group')}; give each its own")
    return out


def install_all(model) -> None:
    """Install every failure mode of the package meant for `model` into it, in ORDER."""
    for mod in modules(model.name):
        before = len(model.failure_modes)
        with model.declared_by(f"failure module {mod.__name__}"):
            mod.install(model)
        if len(model.failure_modes) == before:
            raise SpecError(f"failure module {mod.__name__}: install() declared no failure mode")
