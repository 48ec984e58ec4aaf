"""The failure catalogue the models are checked against, read at run time.

The catalogue is `kafka-failure-modes.md`, shipped inside this package (package data,
so an installed wheel has it too); it is a copy of ../shared/kafka-failure-modes.md,
as docs/kafka-failure-modes.md is, and a test keeps the three equal. Its failure ids
(P producer, B broker, C consumer, T transactions) are what a failure module's
`CATALOGUE` and a matrix row may cite; `check` refuses any other id in one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from checker import SpecError

__all__ = ["FILE", "Entry", "entries", "check", "summary"]

FILE = "kafka-failure-modes.md"
_ID = re.compile(r"[PBCT]\d+")


@dataclass(frozen=True)
class Entry:
    """One failure of the catalogue: its id, where it happens, what happens, and its effect letters."""

    id: str
    area: str
    what: str
    effects: frozenset[str]  # L loss, D duplicate, R reorder, as the "Eff." column gives them


@cache
def entries() -> dict[str, Entry]:
    """Every failure of the catalogue by id, in the catalogue's order."""
    text = files(__package__).joinpath(FILE).read_text(encoding="utf-8")
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and _ID.fullmatch(cells[0]):
            out[cells[0]] = Entry(cells[0], cells[1], cells[2], frozenset(re.findall(r"\b([LDR])\b", cells[3])))
    return out


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


def check(ids, where: str) -> None:
    """Refuse ids the catalogue does not have: a SpecError naming `where` and the ids it has."""
    unknown = [i for i in ids if i not in entries()]
    if unknown:
        raise SpecError(f"{where} cites {', '.join(map(repr, unknown))}, which the failure catalogue "
                        f"({FILE}) does not have; its ids are {summary()}")
