"""The Kafka models and the matrix configurations: the checker reads `MODELS` and `CONFIGS` (checker/registry.py)."""

from .kafka import model as kafka
from .partitions import model as partitions
from .group import model as group
from .pipeline import model as pipeline
from .matrix import CONFIGS  # the rows of `checker matrix`

MODELS = [kafka, partitions, group, pipeline]

__all__ = ["MODELS", "CONFIGS"]
