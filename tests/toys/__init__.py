"""Toy models for the engine tests: nothing about Kafka, every count and answer known by hand.

One model per module, declared at module level like the shipped models; a variant of a
toy is its own module that declares the base toy's functions by direct calls.
"""

from .badinit import model as badinit
from .budget import model as budget
from .chain import model as chain
from .counter import model as counter
from .detour import model as detour
from .flags import model as flags
from .grid import model as grid
from .handoff import model as handoff
from .modulo import model as modulo
from .overflow import model as overflow
from .passing import model as passing
from .ranged import model as ranged
from .spin import model as spin
from .trap import model as trap

__all__ = ["badinit", "budget", "chain", "counter", "detour", "flags", "grid", "handoff", "modulo", "overflow",
           "passing", "ranged", "spin", "trap"]
