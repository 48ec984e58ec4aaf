"""The Kafka models. The checker finds them through `MODELS` (see checker/registry.py)."""

from .kafka import model as kafka
from .partitions import model as partitions
from .group import model as group

MODELS = [kafka, partitions, group]
