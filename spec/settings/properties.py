"""Java `.properties` files, read as java.util.Properties.load reads them.

A logical line is a key, a separator (`=`, `:` or whitespace, with whitespace around
it) and a value; `#` and `!` start a comment line; a line ending in an odd number of
backslashes continues on the next line, whose leading whitespace is dropped; `\\t`,
`\\n`, `\\r`, `\\f`, `\\uXXXX` are escapes and any other backslash drops itself (`\\=`
is `=`). Kafka reads its client and topic files with exactly this (Utils.loadProps).
"""

from __future__ import annotations

from checker import CheckerError

__all__ = ["parse"]

_WHITE = " \t\f"
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _logical_lines(text: str):
    """(line number, logical line) pairs: comments and blank lines dropped, continuations joined."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i = 0
    while i < len(lines):
        start, line = i + 1, lines[i].lstrip(_WHITE)
        i += 1
        if not line or line[0] in "#!":
            continue
        while _continues(line) and i < len(lines):
            line = line[:-1] + lines[i].lstrip(_WHITE)
            i += 1
        if _continues(line):  # a backslash at the end of the file continues into nothing
            line = line[:-1]
        yield start, line


def _continues(line: str) -> bool:
    n = len(line) - len(line.rstrip("\\"))
    return n % 2 == 1


def _unescape(text: str, where: str) -> str:
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c != "\\" or i + 1 == len(text):
            out.append(c if c != "\\" else "")
            i += 1
            continue
        n = text[i + 1]
        if n == "u":
            digits = text[i + 2:i + 6]
            if len(digits) != 4 or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise CheckerError(f"{where}: malformed \\uxxxx escape; write four hexadecimal digits after \\u")
            out.append(chr(int(digits, 16)))
            i += 6
        else:
            out.append(_ESCAPES.get(n, n))
            i += 2
    return "".join(out)


def _split(line: str) -> tuple[str, str]:
    """The raw key and raw value of a logical line (escapes still in them)."""
    i = 0
    while i < len(line):
        c = line[i]
        if c == "\\":
            i += 2
            continue
        if c in "=:" or c in _WHITE:
            break
        i += 1
    key, rest = line[:i], line[i:]
    rest = rest.lstrip(_WHITE)
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(_WHITE)
    return key, rest


def parse(text: str, name: str) -> list[tuple[str, str, int]]:
    """The (key, value, line number) entries of a properties file, in file order; `name` is for messages."""
    out = []
    for number, line in _logical_lines(text):
        where = f"{name}, line {number}"
        key, value = _split(line)
        out.append((_unescape(key, where), _unescape(value, where), number))
    return out
