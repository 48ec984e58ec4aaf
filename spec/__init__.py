"""The Kafka models, the matrix configurations and the settings reader: the checker reads `MODELS`, `CONFIGS`, `FIXES` and `SETUP` (checker/registry.py)."""

from .kafka import model as kafka
from .partitions import model as partitions
from .group import model as group
from .pipeline import model as pipeline
from .eos import model as eos
from .matrix import CONFIGS, FIXES  # the rows of `checker matrix`; which rows' remedies fix which cells
from . import settings as SETUP  # the reader of Kafka .properties files, for `checker check`

MODELS = [kafka, partitions, group, pipeline, eos]

__all__ = ["MODELS", "CONFIGS", "FIXES", "SETUP"]
