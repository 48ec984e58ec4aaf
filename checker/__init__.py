"""A model checker for protocols written in a small language over Z3 terms.

Models are declared with `Model` (see `lang.py`); `explore` searches every reachable
state; `bmc` asks Z3 for the same shortest traces. The checker knows nothing about
any particular protocol: models come from a registry (`registry.py`).
"""

from checker.errors import CheckerError, SpecError
from checker.lang.model import (UNBOUNDED, And, Array, Bool, Enum, FailureMode, Implies, Int, Model, Not, Or, Var,
                   all_of, any_of, indices, is_unbounded, ite, when)

__all__ = [
    "CheckerError", "SpecError", "Model", "Var", "Int", "Bool", "Enum", "Array", "FailureMode",
    "when", "ite", "And", "Or", "Not", "Implies", "any_of", "all_of", "indices", "UNBOUNDED", "is_unbounded",
]
