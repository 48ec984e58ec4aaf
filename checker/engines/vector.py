"""Evaluate a property's Z3 formula on many packed states at once, with numpy.

The liveness check needs the goal of an `eventually` property in every state of the
graph; calling the compiled Python predicate a million times takes seconds, numpy takes
milliseconds. States become int64 words of 63 bits each, fields are unpacked by shift
and mask (a field may straddle two words), and the term is interpreted once per block
of states, each shared subterm once.
Terms numpy cannot mirror exactly (integer division, say, or a value that may not fit
in int64 by the domains' bounds, see `arith.Bounds`) return None: the caller then falls
back to the compiled predicate.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import z3

from checker.lang.arith import first_overflow
from checker.lang.system import System, bounds

__all__ = ["Words", "vector_predicate", "ever_true"]

_BLOCK = 1 << 16  # states per block: keeps every intermediate array small
WORD_BITS = 63  # bits per int64 word (the sign bit stays clear)

_OPS: dict[int, Callable[..., Any]] = {
    z3.Z3_OP_LE: np.less_equal, z3.Z3_OP_LT: np.less, z3.Z3_OP_GE: np.greater_equal,
    z3.Z3_OP_GT: np.greater, z3.Z3_OP_SUB: np.subtract, z3.Z3_OP_UMINUS: np.negative,
    z3.Z3_OP_NOT: np.logical_not, z3.Z3_OP_ITE: np.where,
}


class Words:
    """Packed states split into int64 words once, for several evaluations."""

    def __init__(self, system: System, states: list[int]):
        n_words = max(1, -(-system.layout.bits // WORD_BITS))
        mask = (1 << WORD_BITS) - 1
        if n_words == 1:
            self.words = [np.fromiter(states, dtype=np.int64, count=len(states))]
        else:
            self.words = [np.fromiter(((x >> (WORD_BITS * k)) & mask for x in states), dtype=np.int64, count=len(states))
                          for k in range(n_words)]

    @classmethod
    def of_words(cls, words: list[np.ndarray]) -> "Words":
        """States already split (by an engine that builds the words with numpy)."""
        out = cls.__new__(cls)
        out.words = words
        return out

    def __len__(self) -> int:
        return len(self.words[0])


def vector_predicate(system: System, formula: z3.BoolRef) -> Callable[[Any], np.ndarray] | None:
    """A function from packed states to the formula's truth values (a bool array), or None."""
    many = vector_predicates(system, [formula])
    return None if many is None else (lambda states: many(states)[0])


def vector_predicates(system: System, formulas: list[z3.BoolRef]) -> Callable[[Any], np.ndarray] | None:
    """A function from packed states (a list, or `Words`) to a (formula, state) array of
    truth values, or None.

    The states are split into words and unpacked once for all the formulas.
    """
    if not all(_supported(system, f) for f in formulas):
        return None
    lay = system.layout
    index = {c.get_id(): i for i, c in enumerate(system.consts)}

    def field(words: list[np.ndarray], i: int) -> np.ndarray:
        k, off = divmod(lay.shifts[i], WORD_BITS)
        w = lay.widths[i]
        v = (words[k] >> off) & ((1 << min(w, WORD_BITS - off)) - 1)
        if off + w > WORD_BITS:  # the rest of the field is at the bottom of the next word
            v = v | ((words[k + 1] & ((1 << (off + w - WORD_BITS)) - 1)) << (WORD_BITS - off))
        return v + lay.los[i]

    def evaluate(states: Any) -> np.ndarray:
        out = np.empty((len(formulas), len(states)), dtype=bool)
        for lo in range(0, len(states), _BLOCK):
            if isinstance(states, Words):
                words = [w[lo:lo + _BLOCK] for w in states.words]
            else:
                words = Words(system, states[lo:lo + _BLOCK]).words
            block = words[0]
            memo: dict[int, Any] = {}

            def ev(e: z3.ExprRef) -> Any:
                k = e.get_id()
                if k in memo:
                    return memo[k]
                if z3.is_int_value(e):
                    v: Any = e.as_long()
                elif z3.is_true(e) or z3.is_false(e):
                    v = z3.is_true(e)
                elif k in index:
                    v = field(words, index[k])
                else:
                    kind, args = e.decl().kind(), [ev(c) for c in e.children()]
                    if kind == z3.Z3_OP_AND:
                        v = np.logical_and.reduce(np.broadcast_arrays(*args)) if args else True
                    elif kind == z3.Z3_OP_OR:
                        v = np.logical_or.reduce(np.broadcast_arrays(*args)) if args else False
                    elif kind == z3.Z3_OP_ADD:
                        v = sum(args[1:], args[0])
                    elif kind == z3.Z3_OP_MUL:
                        v = args[0]
                        for a in args[1:]:
                            v = v * a
                    elif kind == z3.Z3_OP_EQ:
                        v = np.equal(args[0], args[1])
                    elif kind == z3.Z3_OP_DISTINCT:
                        v = np.logical_and.reduce(np.broadcast_arrays(
                            *[np.not_equal(a, b) for i, a in enumerate(args) for b in args[i + 1:]], True))
                    elif kind == z3.Z3_OP_IMPLIES:
                        v = np.logical_or(np.logical_not(args[0]), args[1])
                    else:
                        v = _OPS[kind](*args)
                memo[k] = v
                return v

            for fi, formula in enumerate(formulas):
                out[fi, lo:lo + _BLOCK] = np.broadcast_to(ev(formula), block.shape)
        return out

    return evaluate


def ever_true(system: System, formulas: list[z3.BoolRef], states: list[int],
              fallback: list[Callable[[int], bool]], words: Words | None = None) -> list[bool]:
    """For each formula, whether it holds in some of the states (numpy where it can)."""
    vectorised = [i for i, f in enumerate(formulas) if _supported(system, f)]
    out = [False] * len(formulas)
    many = vector_predicates(system, [formulas[i] for i in vectorised])
    if many is not None and vectorised:
        table = np.asarray(many(words if words is not None else states))
        for j, i in enumerate(vectorised):
            out[i] = bool(table[j].any())
    for i, pred in enumerate(fallback):
        if i not in vectorised:
            out[i] = any(map(pred, states))
    return out


def _supported(system: System, formula: z3.ExprRef) -> bool:
    """Whether numpy computes the formula exactly: operators it has, values within int64."""
    return _operators_supported(formula) and first_overflow([formula], bounds(system)) is None


def _operators_supported(formula: z3.ExprRef) -> bool:
    ok = {z3.Z3_OP_AND, z3.Z3_OP_OR, z3.Z3_OP_ADD, z3.Z3_OP_MUL, z3.Z3_OP_EQ, z3.Z3_OP_DISTINCT,
          z3.Z3_OP_IMPLIES, *_OPS}
    seen: set[int] = set()
    stack = [formula]
    while stack:
        e = stack.pop()
        if e.get_id() in seen:
            continue
        seen.add(e.get_id())
        if z3.is_int_value(e) or z3.is_true(e) or z3.is_false(e):
            continue
        if z3.is_const(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            continue
        if e.decl().kind() not in ok:
            return False
        stack.extend(e.children())
    return True
