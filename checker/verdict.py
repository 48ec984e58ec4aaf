"""Verdicts: what a run says about one property, for every engine, `prove` and the renderers.

A module of its own, importing nothing, so that the language (which declares the
verdicts a property may be expected to have) and the results can both use it.
"""

from enum import StrEnum

__all__ = ["Verdict"]


class Verdict(StrEnum):
    """A verdict. A `str` enum: equal to its word (`Verdict.HOLDS == "holds"`), and printed,
    formatted and serialised to JSON as the word."""

    HOLDS = "holds"  # always, eventually: true on every run explored (every run, when complete)
    VIOLATED = "violated"  # always, eventually: a trace (or lasso) breaks it
    REACHABLE = "reachable"  # sometimes: a trace reaches it
    UNREACHABLE = "unreachable"  # sometimes: no explored state reaches it (complete runs only)
    UNKNOWN = "unknown"  # not decided: a limit was hit, or the engine cannot decide this kind
    PROVED = "proved"  # prove: an inductive invariant implies it for every value of the unbounded parameters
    REFUTED = "refuted"  # prove: bounded model checking over every value found a violation
