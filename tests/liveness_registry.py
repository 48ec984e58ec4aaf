"""A model package of liveness toys for CLI tests through `CHECKER_MODELS`."""

import toys

MODELS = [toys.spin, toys.trap]
