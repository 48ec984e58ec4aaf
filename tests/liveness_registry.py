"""A model package of liveness toys for CLI tests through `CHECKER_MODELS`."""

from liveness_toys import spin, trap

MODELS = [spin(), trap()]
