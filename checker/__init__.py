"""A model checker for protocols written in a small language over Z3 terms.

Models are declared with `Model` (see `lang/model.py`) and built into a `System`;
`check(system, Options(...))` decides its properties with one of the engines (fast,
explicit, bmc) and returns a `Result`. The checker knows nothing about any particular
protocol: models come from a registry (`registry.py`).

Everything a model, a test or a user needs is here; engine modules are not part of
the API. What needs an engine, numpy or networkx (`replay`, `prove`, `state_graph`, ...)
is imported on first use, so `import checker` and loading models load no engine.
"""

from importlib import import_module
from typing import Any

from checker.api import ENGINES, Options, check
from checker.config import Config, build_config
from checker.errors import CheckerError, SpecError
from checker.lang.model import (UNBOUNDED, And, Array, Bool, Enum, FailureMode, Implies, Int, Model, Not, Or, Var,
                   all_of, any_of, indices, is_unbounded, ite, when)
from checker.lang.system import System
from checker.result import DEADLOCK, PropertyResult, Result, Step, Trace
from checker.verdict import Verdict

# Name -> the module that defines it, imported when the name is first used.
_LAZY = {
    "replay": "checker.engines.replay", "replay_command": "checker.engines.replay",
    "NotEnabled": "checker.engines.replay",
    "prove": "checker.proofs.prove", "ProveResult": "checker.proofs.prove", "ProveProperty": "checker.proofs.prove",
    "state_graph": "checker.render.graph",
}

__all__ = [
    "CheckerError", "SpecError", "Model", "Var", "Int", "Bool", "Enum", "Array", "FailureMode",
    "when", "ite", "And", "Or", "Not", "Implies", "any_of", "all_of", "indices", "UNBOUNDED", "is_unbounded",
    "System", "check", "Options", "ENGINES", "Result", "PropertyResult", "Trace", "Step", "Verdict", "DEADLOCK",
    "Config", "build_config", *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value  # later uses skip this hook
        return value
    raise AttributeError(f"module 'checker' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
