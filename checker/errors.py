"""Errors the CLI reports in one line with exit code 2 (never a traceback)."""

__all__ = ["CheckerError", "SpecError"]


class CheckerError(Exception):
    """Bad input from the user: unknown model, parameter or property, out-of-range value.

    The message is one sentence that says what to do; the CLI prints it and exits 2.
    """


class SpecError(CheckerError):
    """A malformed model definition (raised while a model is declared or built)."""
