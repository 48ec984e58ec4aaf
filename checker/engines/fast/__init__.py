"""The fast explicit-state engine: the explicit engine's search compiled to machine code.

`layout.py` packs states in mixed radix, `kernel.py` generates and compiles the LLVM
module of one system, `search.py` runs it level by level and builds the `Result`.
"""

from checker.engines.fast.kernel import compiled_fast
from checker.engines.fast.layout import FastLayout
from checker.engines.fast.search import LIVENESS_NOT_UNDER_SYMMETRY, explore_fast

__all__ = ["explore_fast", "FastLayout", "compiled_fast", "LIVENESS_NOT_UNDER_SYMMETRY"]
