"""The fast engine's state layout: a state is W signed 64-bit words in mixed radix.

Variable i is the digit value - lo in base hi - lo + 1, the densest packing that keeps
reading a variable to a division by a constant: partitions=3, messages=4 fits one word
where the bit fields of `System.layout` need 65 bits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from checker.engines.vector import WORD_BITS, Words
from checker.errors import CheckerError
from checker.lang.system import System

__all__ = ["FastLayout", "Packed", "layout_words"]

WORD_LIMIT = 1 << 63  # a word's codes stay below this: int64, never negative


@dataclass(frozen=True)
class FastLayout:
    """Variable i is digit (word[i], radix[i]) of a mixed-radix number, base sizes[i]."""

    word: tuple[int, ...]
    radix: tuple[int, ...]
    sizes: tuple[int, ...]
    los: tuple[int, ...]
    words: int

    @classmethod
    def of(cls, system: System) -> "FastLayout":
        word, radix, sizes = [], [], []
        w, r = 0, 1
        for v in system.variables:
            d = v.hi - v.lo + 1
            if d >= WORD_LIMIT:
                raise CheckerError(f"variable {v.name} has {d} values; the fast engine packs at most 2**63")
            if r * d > WORD_LIMIT:
                w, r = w + 1, 1
            word.append(w)
            radix.append(r)
            sizes.append(d)
            r *= d
        return cls(tuple(word), tuple(radix), tuple(sizes), tuple(v.lo for v in system.variables), w + 1)

    def pack(self, values) -> list[int]:
        out = [0] * self.words
        for i, x in enumerate(values):
            out[self.word[i]] += (x - self.los[i]) * self.radix[i]
        return out

    def unpack(self, words) -> tuple[int, ...]:
        return tuple(int(words[w]) // r % d + lo
                     for w, r, d, lo in zip(self.word, self.radix, self.sizes, self.los))



class Packed(Sequence):
    """The explored states packed in `System.layout` (the explicit engine's ints), one
    made on each access from the engine's mixed-radix words."""

    def __init__(self, system: System, lay: FastLayout, S: np.ndarray):
        self.system, self.lay, self.S = system, lay, S

    def __len__(self) -> int:
        return len(self.S)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self.system.layout.pack(self.lay.unpack(self.S[i]))


def layout_words(system: System, lay: FastLayout, S: np.ndarray) -> Words:
    """The states S (mixed radix) as `vector.Words` (System.layout's bits, 63 a word), by numpy."""
    out = system.layout
    n_words = max(1, -(-out.bits // WORD_BITS))
    words = [np.zeros(len(S), dtype=np.uint64) for _ in range(n_words)]
    mask = np.uint64((1 << WORD_BITS) - 1)
    for i in range(len(system.variables)):
        digit = (S[:, lay.word[i]] // lay.radix[i] % lay.sizes[i]).astype(np.uint64)  # value - lo
        k, off = divmod(out.shifts[i], WORD_BITS)
        words[k] |= (digit << np.uint64(off)) & mask
        if off + out.widths[i] > WORD_BITS:  # the field's top bits start the next word
            words[k + 1] |= digit >> np.uint64(WORD_BITS - off)
    return Words.of_words([w.view(np.int64) for w in words])

