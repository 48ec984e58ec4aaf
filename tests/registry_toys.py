"""A model package for the CLI tests (CHECKER_MODELS=registry_toys): toys, one broken."""

import toys

MODELS = [toys.flags, toys.overflow]
