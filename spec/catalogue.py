"""The failure catalogue the models are checked against, read at run time.

The catalogue is `kafka-failure-modes.md`, shipped inside this package (package data,
so an installed wheel has it too); it is a copy of ../shared/kafka-failure-modes.md,
as docs/kafka-failure-modes.md is, and a test keeps the three equal. Its failure ids
(P producer, B broker, C consumer, T transactions) are what a failure module's
`CATALOGUE` and a matrix row may cite; `check` refuses any other id in one line. Its
remedies (R1...) are what a matrix row may apply (`remedies`), each with the effects of
the failures it prevents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from checker import SpecError

__all__ = ["FILE", "Entry", "Remedy", "entries", "remedies", "check", "check_remedies", "summary"]

FILE = "kafka-failure-modes.md"
_ID = re.compile(r"[PBCT]\d+")
_REMEDY = re.compile(r"R\d+")


@dataclass(frozen=True)
class Entry:
    """One failure of the catalogue: its id, where it happens, what happens, and its effect letters."""

    id: str
    area: str
    what: str
    effects: frozenset[str]  # L loss, D duplicate, R reorder, A aborted read (G1a), as the "Eff." column gives them


@dataclass(frozen=True)
class Remedy:
    """One remedy of the catalogue (section 2.5): its id, layer, what users do, and what it
    prevents: failure id -> the effect letters it removes there."""

    id: str
    layer: str
    what: str
    prevents: dict[str, frozenset[str]]
    caveat: str


def _rows() -> list[list[str]]:
    text = files(__package__).joinpath(FILE).read_text(encoding="utf-8")
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines()
            if line.lstrip().startswith("|")]


@cache
def entries() -> dict[str, Entry]:
    """Every failure of the catalogue by id, in the catalogue's order."""
    out = {}
    for cells in _rows():
        if len(cells) >= 4 and _ID.fullmatch(cells[0]):
            letters = set(re.findall(r"\b([LDR])\b", cells[3]))
            if re.search(r"aborted read", cells[3], re.I):  # G1a: a reader sees a record of an aborted transaction
                letters.add("A")
            out[cells[0]] = Entry(cells[0], cells[1], cells[2], frozenset(letters))
    return out


def _prevents(text: str) -> dict[str, frozenset[str]]:
    """`the D of C2, C9 and the L of C1` -> {C2: D, C9: D, C1: L}; an id named without a
    letter (`C10`) is prevented in every effect the catalogue gives it."""
    out: dict[str, frozenset[str]] = {}
    letter: str | None = None
    for effect, ident in re.findall(r"\b([LDR]) of\b|\b([PBCT]\d+)\b", text):
        if effect:
            letter = effect
        elif ident not in out:
            out[ident] = frozenset(letter) if letter else entries()[ident].effects
    return out


@cache
def remedies() -> dict[str, Remedy]:
    """Every remedy of the catalogue by id, in the catalogue's order."""
    return {c[0]: Remedy(c[0], c[1], c[2], _prevents(c[3]), c[4])
            for c in _rows() if len(c) >= 5 and _REMEDY.fullmatch(c[0])}


def summary() -> str:
    """The ids as ranges per letter, e.g. `P1-P9, B1-B11, C1-C16, T1-T7`."""
    runs: list[list] = []  # [letter, first, last] of consecutive numbers
    for i in entries():
        k, n = i[0], int(i[1:])
        if runs and runs[-1][0] == k and runs[-1][2] == n - 1:
            runs[-1][2] = n
        else:
            runs.append([k, n, n])
    return ", ".join(f"{k}{a}" if a == b else f"{k}{a}-{k}{b}" for k, a, b in runs)


def check_remedies(ids, where: str) -> None:
    """Refuse remedy ids the catalogue does not have, as `check` does failure ids."""
    unknown = [i for i in ids if i not in remedies()]
    if unknown:
        raise SpecError(f"{where} applies {', '.join(map(repr, unknown))}, which the failure catalogue "
                        f"({FILE}) does not have; its remedies are {', '.join(remedies())}")


def check(ids, where: str) -> None:
    """Refuse ids the catalogue does not have: a SpecError naming `where` and the ids it has."""
    unknown = [i for i in ids if i not in entries()]
    if unknown:
        raise SpecError(f"{where} cites {', '.join(map(repr, unknown))}, which the failure catalogue "
                        f"({FILE}) does not have; its ids are {summary()}")
