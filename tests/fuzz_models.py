"""Small random models in the checker's language, for the differential fuzzer (tests/test_fuzz.py).

A model is data: a `ModelSpec` of variables (integers with small domains, negative
bounds too, a boolean, an array, an enum), one to four actions, an optional failure
mode with a budget, and always, sometimes and eventually properties (with fairness),
whose guards, updates and formulas are expression trees over the full operator set
(+, -, *, / and % with negative operands and large constants, comparisons,
And/Or/Not/Implies, ite, array reads with symbolic indices, all_of/any_of). The
Hypothesis strategy `models(features)` draws them, and shrinks them like any other
value; `source(spec)` renders one as the Python module a user would write (it declares
`model` at module level), so a failing example is a model to paste and run;
`reference(spec)` runs it by direct interpretation in Python, independently of the
checker: the reachable states, the depth, each always and sometimes property's verdict
and shortest trace length, or the first error (a division by zero, a value outside its
domain) and the number of steps that reach it.

Nothing here imports the checker: the checker reads the rendered source, the
reference reads the same tree, so the two meet only in the test.

The language's arithmetic is Python's: `/` rounds towards minus infinity and `%` takes
the divisor's sign, and ite, And, Or and Implies evaluate only what they need (a
division in a branch not taken divides by nothing). `Features` switches on the classes
of terms that make a model refused or hard for a 64-bit kernel: negative divisors,
divisors that may be 0 (in updates), constants whose products may leave 64 bits,
updates that may leave their variable's domain, and divisors guarded by an ite. Off, a
model is valid and within 2**62 by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from hypothesis import strategies as st

__all__ = ["Features", "ModelSpec", "models", "source", "reference", "Reference", "peak", "flat_names"]

# Bounds of the generated state space and terms.
MAX_STATES = 2000  # the product of the domains' sizes (the failure counter's included)
SAFE = 2**62  # off, int64_overflow keeps every intermediate value below this
LARGE = (2**31, 10**9 + 7, 4_000_000_000, -(2**33), 2**40, 10**18, -(2**62), 2**63 - 1, -(2**63), 3**41)
LABELS = ("red", "green", "blue")


@dataclass(frozen=True)
class Features:
    """Which classes of terms the generated models may contain (each on by default).

    negative_divisors: a divisor may be negative. division_by_zero: a divisor in an
    update may be 0 (guards and properties always divide by a non-zero value).
    int64_overflow: large constants, whose products may leave 64 bits. out_of_domain:
    an update may set a variable outside its domain. A model in which a reachable state
    divides by 0 or leaves a domain is one every engine must refuse. guarded_divisors: a
    divisor that may be 0 (or negative) is made safe by an ite, `x / ite(y == 0, 2, y)`,
    so the division by y is needed only where y is not 0; off, by arithmetic,
    `x / (y % 3 + 1)`.
    """

    negative_divisors: bool = True
    division_by_zero: bool = True
    int64_overflow: bool = True
    out_of_domain: bool = True
    guarded_divisors: bool = True

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def without(self, names) -> "Features":
        return replace(self, **{n: False for n in names})


class Undefined(Exception):
    """The reference's refusal: a division by zero, or a value outside its domain."""


# --------------------------------------------------------------------------- expressions

class Expr:
    """An expression tree: `code()` is its Python text in an action (`s.x`), `value(env)` its
    value under Python's arithmetic, lazily (ite, And, Or, Implies evaluate what they need)."""

    is_const = False

    def children(self) -> tuple["Expr", ...]:
        return ()

    def bounds(self, sc) -> tuple[int, int]:
        """The least and greatest value (a condition: 0 and 1)."""
        return 0, 1

    def reads(self) -> set[str]:
        out: set[str] = set()
        for c in self.children():
            out |= c.reads()
        return out


@dataclass(frozen=True)
class Const(Expr):
    v: int
    is_const = True

    def code(self) -> str:
        return str(self.v)

    def value(self, env):
        return self.v

    def bounds(self, sc):
        return self.v, self.v


@dataclass(frozen=True)
class BoolConst(Expr):
    v: bool
    is_const = True

    def code(self) -> str:
        return str(self.v)

    def value(self, env):
        return self.v

    def bounds(self, sc):
        return int(self.v), int(self.v)


@dataclass(frozen=True)
class Ref(Expr):
    """A scalar variable: an integer, the boolean or the enum."""
    name: str

    def code(self) -> str:
        return f"s.{self.name}"

    def value(self, env):
        return env[self.name]

    def bounds(self, sc):
        v = sc.var(self.name)
        return v.lo, v.hi

    def reads(self):
        return {self.name}


@dataclass(frozen=True)
class Read(Expr):
    """An array cell, at a number or a term; a term out of range reads the last cell (as
    the language's if-then-else chain over the cells does)."""
    name: str
    index: Expr

    def children(self):
        return (self.index,)

    def code(self) -> str:
        return f"s.{self.name}[{self.index.code()}]"

    def value(self, env):
        cells, i = env[self.name], self.index.value(env)
        return cells[i] if 0 <= i < len(cells) else cells[-1]

    def bounds(self, sc):
        v = sc.var(self.name)
        return v.lo, v.hi

    def reads(self):
        return {self.name} | self.index.reads()


def floordiv(a: int, b: int) -> int:
    if b == 0:
        raise Undefined("division by zero")
    return a // b


def mod(a: int, b: int) -> int:
    if b == 0:
        raise Undefined("modulo by zero")
    return a % b


ARITH = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": floordiv, "%": mod}
COMPARE = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
           ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def _div_bounds(a: tuple[int, int], b: tuple[int, int], op: str) -> tuple[int, int]:
    """Bounds of a / b or a % b (Python's rounding) over the non-zero b in range."""
    parts = [p for p in ((b[0], min(b[1], -1)), (max(b[0], 1), b[1])) if p[0] <= p[1]]
    if not parts:
        return 0, 0  # b is always 0: undefined, and then no value to bound
    if op == "%":
        los = [lo + 1 for lo, hi in parts if lo < 0] + [0]
        his = [hi - 1 for lo, hi in parts if hi > 0] + [0]
        return min(los), max(his)
    qs = [x // y for x in a for lo, hi in parts for y in (lo, hi)]
    return min(qs), max(qs)


@dataclass(frozen=True)
class Bin(Expr):
    op: str  # + - * / %
    a: Expr
    b: Expr

    def children(self):
        return self.a, self.b

    def code(self) -> str:
        return f"({self.a.code()} {self.op} {self.b.code()})"

    def value(self, env):
        return ARITH[self.op](self.a.value(env), self.b.value(env))

    def bounds(self, sc):
        a, b = self.a.bounds(sc), self.b.bounds(sc)
        if self.op in "/%":
            return _div_bounds(a, b, self.op)
        corners = [ARITH[self.op](x, y) for x in a for y in b]
        return min(corners), max(corners)


@dataclass(frozen=True)
class Neg(Expr):
    a: Expr

    def children(self):
        return (self.a,)

    def code(self) -> str:
        return f"(-{self.a.code()})"

    def value(self, env):
        return -self.a.value(env)

    def bounds(self, sc):
        lo, hi = self.a.bounds(sc)
        return -hi, -lo


@dataclass(frozen=True)
class Ite(Expr):
    c: Expr
    a: Expr
    b: Expr

    def children(self):
        return self.c, self.a, self.b

    def code(self) -> str:
        return f"ite({self.c.code()}, {self.a.code()}, {self.b.code()})"

    def value(self, env):
        return self.a.value(env) if self.c.value(env) else self.b.value(env)

    def bounds(self, sc):
        (a, b), (c, d) = self.a.bounds(sc), self.b.bounds(sc)
        return min(a, c), max(b, d)


@dataclass(frozen=True)
class Cmp(Expr):
    op: str
    a: Expr
    b: Expr

    def children(self):
        return self.a, self.b

    def code(self) -> str:
        return f"({self.a.code()} {self.op} {self.b.code()})"

    def value(self, env):
        return COMPARE[self.op](self.a.value(env), self.b.value(env))


@dataclass(frozen=True)
class Logic(Expr):
    op: str  # And, Or, Not, Implies
    args: tuple[Expr, ...]

    def children(self):
        return self.args

    def code(self) -> str:
        return f"{self.op}({', '.join(a.code() for a in self.args)})"

    def value(self, env):
        if self.op == "Not":
            return not self.args[0].value(env)
        if self.op == "Implies":
            return (not self.args[0].value(env)) or bool(self.args[1].value(env))
        if self.op == "And":
            return all(a.value(env) for a in self.args)
        return any(a.value(env) for a in self.args)


@dataclass(frozen=True)
class EnumConst(Expr):
    label: str
    is_const = True

    def code(self) -> str:
        return f"COLOR.{self.label}"

    def value(self, env):
        return LABELS.index(self.label)

    def bounds(self, sc):
        return LABELS.index(self.label), LABELS.index(self.label)


@dataclass(frozen=True)
class Quant(Expr):
    """all_of or any_of over the array's cells, each compared with a number."""
    op: str  # all_of, any_of
    name: str
    cmp: str
    k: int

    def code(self) -> str:
        return f"{self.op}(s.{self.name}, lambda v: v {self.cmp} {self.k})"

    def value(self, env):
        test = (COMPARE[self.cmp](v, self.k) for v in env[self.name])
        return all(test) if self.op == "all_of" else any(test)

    def reads(self):
        return {self.name}


def peak(e: Expr, sc: "Scope") -> int:
    """The largest magnitude any integer subterm of e can take (by intervals)."""
    lo, hi = e.bounds(sc)
    return max([abs(lo), abs(hi)] + [peak(c, sc) for c in e.children()])


# --------------------------------------------------------------------------- models

@dataclass(frozen=True)
class Variable:
    name: str
    kind: str  # int, bool, enum, array (of integers lo..hi)
    lo: int = 0
    hi: int = 1
    size: int = 0  # array cells
    labels: int = 0  # enum: how many of LABELS
    init: Any = 0  # a number, a bool, a label, or a tuple of numbers

    def domain_code(self) -> str:
        if self.kind == "int":
            return f"Int({self.lo}, {self.hi})"
        if self.kind == "bool":
            return "Bool()"
        if self.kind == "enum":
            return "COLOR"
        return f"Array({self.size}, Int({self.lo}, {self.hi}))"

    def init_code(self) -> str:
        if self.kind == "enum":
            return f"COLOR.{self.init}"
        if self.kind == "array":
            return "[" + ", ".join(map(str, self.init)) + "]"
        return str(self.init)

    def flat_init(self) -> list[int]:
        if self.kind == "enum":
            return [LABELS.index(self.init)]
        if self.kind == "array":
            return list(self.init)
        return [int(self.init)]


@dataclass(frozen=True)
class Assign:
    target: str
    index: Expr | None  # array cell: a number or a term (out of range: no cell is written)
    value: Expr

    def code(self) -> str:
        at = "" if self.index is None else f"[{self.index.code()}]"
        return f"s.{self.target}{at} = {self.value.code()}"


@dataclass(frozen=True)
class Action:
    name: str
    guards: tuple[Expr, ...]
    assigns: tuple[Assign, ...]
    failure: bool = False  # an action of the failure mode
    spends: bool = True  # a failure action that spends the budget (False: budget=False)


@dataclass(frozen=True)
class Prop:
    kind: str  # always, sometimes, eventually
    name: str  # kebab-case
    formula: Expr
    fair: Any = None  # eventually: None (the model's), a tuple of names, or a tuple of (name, weak|strong)

    def fair_code(self) -> str:
        return fairness_code(self.fair)


def fairness_code(fair) -> str:
    if fair and isinstance(fair[0], tuple):
        return "{" + ", ".join(f"{n!r}: {k!r}" for n, k in fair) + "}"
    return "[" + ", ".join(repr(n) for n in fair) + "]"


@dataclass(frozen=True)
class ModelSpec:
    variables: tuple[Variable, ...]
    actions: tuple[Action, ...]  # the model's, then the failure mode's
    properties: tuple[Prop, ...]
    budget: Any = None  # the failure mode's budget: None (no mode), a number or "unbounded"
    fairness: Any = None  # the model's fairness declaration, or None
    deadlock: bool = False  # checked with no-deadlock too (explicit-state engines)
    features: Features = field(default_factory=Features)

    def var(self, name: str) -> Variable:
        return next(v for v in self.variables if v.name == name)

    def __repr__(self) -> str:  # what Hypothesis prints for a falsifying example; the source is printed too
        return f"ModelSpec({len(self.variables)} variables, {len(self.actions)} actions, {len(self.properties)} properties)"

    def _repr_pretty_(self, p, cycle) -> None:  # Hypothesis's pretty printer
        p.text(repr(self))

    @property
    def counter(self) -> bool:
        """Whether the failure mode keeps a counter (it is on with a bounded budget)."""
        return self.budget is not None and self.budget != "unbounded"


@dataclass(frozen=True)
class Scope:
    """What an expression may read while it is drawn."""
    variables: tuple[Variable, ...]
    features: Features

    def var(self, name: str) -> Variable:
        return next(v for v in self.variables if v.name == name)

    def of(self, kind: str) -> list[Variable]:
        return [v for v in self.variables if v.kind == kind]


def flat_names(spec: ModelSpec) -> list[str]:
    """The flat variables in the checker's order: declared order, arrays by index, the counter last."""
    out = []
    for v in spec.variables:
        out += [f"{v.name}[{i}]" for i in range(v.size)] if v.kind == "array" else [v.name]
    return out + (["glitches"] if spec.counter else [])


# --------------------------------------------------------------------------- rendering

def source(spec: ModelSpec, footer: str = "") -> str:
    """The model as a Python module that declares `model`, plus `footer`."""
    out = ['"""A model drawn by tests/fuzz_models.py."""', "",
           "from checker import And, Array, Bool, Enum, Implies, Int, Model, Not, Or, Var, all_of, any_of, ite, when",
           ""]
    enum = [v for v in spec.variables if v.kind == "enum"]
    if enum:
        out += [f"COLOR = Enum({', '.join(repr(x) for x in LABELS[:enum[0].labels])})", ""]
    out += ['model = Model("fuzz", "A generated model.")']
    if spec.budget is not None:
        out += [f"model.param(\"max_glitches\", {spec.budget!r}, min=0, unbounded=True, doc=\"the glitch budget\")"]
    out += ["", "", "@model.variables", "def variables(p):", "    return ["]
    out += [f"        Var({v.name!r}, {v.domain_code()}, \"{v.kind}\", init={v.init_code()})," for v in spec.variables]
    out += ["    ]"]
    mode_declared = False
    for a in spec.actions:
        if a.failure and not mode_declared:
            out += ["", "", "glitch = model.failure_mode(\"glitch\", budget=\"max_glitches\", counter=\"glitches\", "
                    "doc=\"A glitch.\", default=True)"]
            mode_declared = True
        deco = ("@glitch.action" if a.spends else "@glitch.action(budget=False)") if a.failure else "@model.action"
        out += ["", "", deco, f"def {a.name}(s):", f'    """{a.name}."""']
        if a.guards:
            out += [f"    when({', '.join(g.code() for g in a.guards)})"]
        out += [f"    {x.code()}" for x in a.assigns]
    if spec.fairness is not None:
        out += ["", "", f"model.fairness({fairness_code(spec.fairness)})"]
    for p in spec.properties:
        args = [] if p.fair is None else [f"fair={p.fair_code()}"]
        deco = f"@model.{p.kind}" + (f"({', '.join(args)})" if args else "")
        out += ["", "", deco, f"def {p.name.replace('-', '_')}(s):", f'    """{p.name}."""',
                f"    return {p.formula.code()}"]
    text = "\n".join(out) + "\n"
    return text + ("\n\n" + footer.strip("\n") + "\n" if footer else "")


# --------------------------------------------------------------------------- the reference

@dataclass
class Reference:
    """What direct interpretation finds (breadth-first, actions in declaration order)."""

    states: set[tuple[int, ...]]
    depth: int
    # always/sometimes property -> ("violated"|"reachable", steps of a shortest trace) or ("holds"|"unreachable", None);
    # with an error, only the traces found before it
    verdicts: dict[str, tuple[str, int | None]]
    error: str | None = None  # the first error found, if any
    error_depth: int | None = None  # the steps that reach it: its state's depth + 1


def _env(spec: ModelSpec, flat: tuple[int, ...]) -> dict[str, Any]:
    env: dict[str, Any] = {}
    i = 0
    for v in spec.variables:
        if v.kind == "array":
            env[v.name] = list(flat[i:i + v.size])
            i += v.size
        else:
            env[v.name] = bool(flat[i]) if v.kind == "bool" else flat[i]
            i += 1
    if spec.counter:
        env["glitches"] = flat[i]
    return env


def _flat(spec: ModelSpec, env: dict[str, Any]) -> tuple[int, ...]:
    out: list[int] = []
    for v in spec.variables:
        out += env[v.name] if v.kind == "array" else [int(env[v.name])]
    return tuple(out + ([env["glitches"]] if spec.counter else []))


def take(spec: ModelSpec, a: Action, env: dict[str, Any]) -> dict[str, Any] | None:
    """The successor of env by action a, or None if it is disabled; Undefined if it divides
    by 0 or leaves a variable outside its domain (the values it ends with: an assignment
    may pass through any value on the way, as a term does)."""
    bounded = a.failure and a.spends and spec.counter
    if bounded and env["glitches"] >= spec.budget:
        return None
    for g in a.guards:
        if not g.value(env):
            return None
    new = {k: list(x) if isinstance(x, list) else x for k, x in env.items()}
    for x in a.assigns:
        if x.index is None:
            new[x.target] = x.value.value(new)
        else:  # as Python runs `a[i] = v`: the value first, then the index, both always evaluated
            value, i = x.value.value(new), x.index.value(new)
            if 0 <= i < len(new[x.target]):
                new[x.target][i] = value
    for v in spec.variables:
        if v.kind in ("int", "array"):
            for value in new[v.name] if v.kind == "array" else [new[v.name]]:
                if not v.lo <= value <= v.hi:
                    raise Undefined(f"action {a.name} sets {v.name} to {value}, outside {v.lo}..{v.hi}")
    if bounded:
        new["glitches"] += 1
    return new


def reference(spec: ModelSpec) -> Reference:
    """Every reachable state breadth-first, with each always and sometimes property's
    verdict and shortest trace length, or the first error and the steps that reach it."""
    init = tuple(x for v in spec.variables for x in v.flat_init()) + ((0,) if spec.counter else ())
    seen, level, depth = {init}, [init], 0
    found: dict[str, int] = {}
    checked = [p for p in spec.properties if p.kind != "eventually"]

    def look(states, d):
        for state in states:
            env = _env(spec, state)
            for p in checked:
                if p.name not in found and bool(p.formula.value(env)) == (p.kind == "sometimes"):
                    found[p.name] = d

    look(level, 0)
    while level:
        nxt = []
        for state in level:
            env = _env(spec, state)
            for a in spec.actions:
                try:
                    new = take(spec, a, env)
                except Undefined as e:  # what is decided by then: the traces found up to this depth
                    verdicts = {p.name: ("violated" if p.kind == "always" else "reachable", found[p.name])
                                for p in checked if p.name in found}
                    return Reference(seen, depth, verdicts, f"{e} (from {state})", depth + 1)
                if new is not None:
                    t = _flat(spec, new)
                    if t not in seen:
                        seen.add(t)
                        nxt.append(t)
        if nxt:
            depth += 1
            look(nxt, depth)
        level = nxt
    verdicts = {}
    for p in checked:
        yes, no = ("violated", "holds") if p.kind == "always" else ("reachable", "unreachable")
        verdicts[p.name] = (yes, found[p.name]) if p.name in found else (no, None)
    return Reference(seen, depth, verdicts)


# --------------------------------------------------------------------------- strategies

def _const(draw, sc: Scope, nonzero: bool = False, positive: bool = False) -> int:
    kinds = ["small"] * 6 + ["medium"] + (["large"] if sc.features.int64_overflow else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "small":
        k = draw(st.integers(-4, 4))
    elif kind == "medium":
        k = draw(st.integers(-1000, 1000))
    else:
        k = draw(st.sampled_from(LARGE))
    if positive:
        k = abs(k) or 1
    elif nonzero and k == 0:
        k = 1
    return k


@st.composite
def int_atom(draw, sc: Scope, nonconst: bool = False) -> Expr:
    kinds = ([] if nonconst else ["const"]) + ["ref"] + (["read"] if sc.of("array") else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "const":
        return Const(_const(draw, sc))
    if kind == "ref":
        return Ref(draw(st.sampled_from([v.name for v in sc.of("int")])))
    arr = sc.of("array")[0]
    if draw(st.booleans()):
        index: Expr = Ref(draw(st.sampled_from([v.name for v in sc.of("int")])))  # symbolic, maybe out of range
    else:
        index = Const(draw(st.integers(0, arr.size - 1)))
    return Read(arr.name, index)


@st.composite
def int_expr(draw, sc: Scope, depth: int, nonconst: bool = False, zero_ok: bool = False) -> Expr:
    """An integer term; nonconst: not a bare number (so that Python never computes number op number)."""
    if depth <= 0:
        return draw(int_atom(sc, nonconst))
    kind = draw(st.sampled_from(["atom", "+", "-", "*", "/", "%", "neg", "ite"]))
    sub = depth - 1
    if kind == "atom":
        return draw(int_atom(sc, nonconst))
    if kind in "+-*":
        a = draw(int_expr(sc, sub, zero_ok=zero_ok))
        b = draw(int_expr(sc, sub, nonconst=a.is_const, zero_ok=zero_ok))
        e: Expr = Bin(kind, a, b)
        if not sc.features.int64_overflow and peak(e, sc) >= 2**40:
            e = Bin("+", a, b)  # keep every value far inside 64 bits
        return e
    if kind in "/%":
        a = draw(int_expr(sc, sub, zero_ok=zero_ok))
        return Bin(kind, a, draw(divisor(sc, sub, nonconst=a.is_const, zero_ok=zero_ok)))
    if kind == "neg":
        return Neg(draw(int_expr(sc, sub, nonconst=True, zero_ok=zero_ok)))
    c = draw(bool_expr(sc, sub, zero_ok=zero_ok))
    return Ite(c, draw(int_expr(sc, sub, zero_ok=zero_ok)), draw(int_expr(sc, sub, zero_ok=zero_ok)))


@st.composite
def divisor(draw, sc: Scope, depth: int, nonconst: bool, zero_ok: bool) -> Expr:
    """A divisor: negative only with negative_divisors, possibly 0 only where zero_ok (updates)
    and with division_by_zero; otherwise guarded by an ite where its bounds allow a bad value."""
    negative = sc.features.negative_divisors
    zero = zero_ok and sc.features.division_by_zero
    if not nonconst and draw(st.booleans()):
        if zero and draw(st.integers(0, 7)) == 0:
            return Const(0)
        return Const(_const(draw, sc, nonzero=True, positive=not negative))
    e = draw(int_expr(sc, depth, nonconst=True, zero_ok=zero_ok))
    lo, hi = e.bounds(sc)
    safe = lo >= 1 or (negative and hi <= -1)
    allowed = safe or (negative and zero) or (zero and lo >= 0)
    if allowed and (safe or draw(st.booleans())):
        return e
    if sc.features.guarded_divisors and draw(st.booleans()):
        fallback = Const(_const(draw, sc, nonzero=True, positive=not negative))
        if negative:
            return Ite(Cmp("==", e, Const(0)), fallback, e)
        return Ite(Cmp(">", e, Const(0)), e, fallback)
    k = draw(st.integers(2, 5))
    shifted = Bin("+", Bin("%", e, Const(k)), Const(1))  # 1..k
    return Neg(shifted) if negative and draw(st.booleans()) else shifted


@st.composite
def bool_atom(draw, sc: Scope) -> Expr:
    kinds = ["cmp"] + (["bool"] if sc.of("bool") else []) + (["enum"] if sc.of("enum") else []) \
        + (["quant"] if sc.of("array") else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "cmp":
        a = draw(int_atom(sc))
        b = draw(int_atom(sc, nonconst=a.is_const))
        return Cmp(draw(st.sampled_from(sorted(COMPARE))), a, b)
    if kind == "bool":
        return Ref(sc.of("bool")[0].name)
    if kind == "enum":
        e = sc.of("enum")[0]
        return Cmp(draw(st.sampled_from(["==", "!="])), Ref(e.name),
                   EnumConst(draw(st.sampled_from(LABELS[:e.labels]))))
    arr = sc.of("array")[0]
    return Quant(draw(st.sampled_from(["all_of", "any_of"])), arr.name, draw(st.sampled_from(sorted(COMPARE))),
                 draw(st.integers(arr.lo - 1, arr.hi + 1)))


@st.composite
def bool_expr(draw, sc: Scope, depth: int, zero_ok: bool = False) -> Expr:
    if depth <= 0:
        return draw(bool_atom(sc))
    kind = draw(st.sampled_from(["atom", "cmp", "And", "Or", "Not", "Implies", "ite"]))
    sub = depth - 1
    if kind == "atom":
        return draw(bool_atom(sc))
    if kind == "cmp":
        a = draw(int_expr(sc, sub, zero_ok=zero_ok))
        b = draw(int_expr(sc, sub, nonconst=a.is_const, zero_ok=zero_ok))
        return Cmp(draw(st.sampled_from(sorted(COMPARE))), a, b)
    if kind in ("And", "Or"):
        n = draw(st.integers(2, 3))
        return Logic(kind, tuple(draw(bool_expr(sc, sub, zero_ok)) for _ in range(n)))
    if kind == "Not":
        return Logic("Not", (draw(bool_expr(sc, sub, zero_ok)),))
    if kind == "Implies":
        return Logic("Implies", (draw(bool_expr(sc, sub, zero_ok)), draw(bool_expr(sc, sub, zero_ok))))
    c = draw(bool_expr(sc, sub, zero_ok))
    a = draw(st.one_of(bool_expr(sc, sub, zero_ok), st.builds(BoolConst, st.booleans())))
    return Ite(c, a, draw(bool_expr(sc, sub, zero_ok)))


@st.composite
def int_update(draw, sc: Scope, lo: int, hi: int, assigned: set[str], old: Expr,
               step: bool) -> tuple[Expr, list[Expr]]:
    """A value for a variable of domain lo..hi (now `old`): a step from the old value, or
    any term; and the guards that keep it in the domain (if any)."""
    if step:
        e = Bin(draw(st.sampled_from("+-")), old, Const(draw(st.sampled_from([1, 1, 2]))))
    else:
        e = draw(int_expr(sc, draw(st.integers(0, 2)), zero_ok=True))
    elo, ehi = e.bounds(sc)
    if lo <= elo and ehi <= hi:
        return e, []
    if e.is_const:
        return Const(draw(st.integers(lo, hi))), []
    how = ["wrap", "clamp"] + ([] if e.reads() & assigned else ["guard", "guard"]) \
        + (["raw"] if sc.features.out_of_domain else [])
    kind = draw(st.sampled_from(how))
    if kind == "raw":
        return e, []
    if kind == "guard":
        return e, [Cmp("<=", Const(lo), e), Cmp("<=", e, Const(hi))]
    if kind == "clamp":
        k = Const(draw(st.integers(lo, hi)))
        return Ite(Logic("And", (Cmp("<=", Const(lo), e), Cmp("<=", e, Const(hi)))), e, k), []
    shifted = e if lo == 0 else Bin("-", e, Const(lo))  # lo + (e - lo) % width: in range
    wrapped = Bin("%", shifted, Const(hi - lo + 1))
    return (wrapped if lo == 0 else Bin("+", Const(lo), wrapped)), []


@st.composite
def assignment(draw, sc: Scope, target: str, step: bool, assigned: set[str]) -> tuple[Assign, list[Expr]]:
    """An assignment to target, a step (a counter moves, a flag flips, an enum goes round)
    or any value, and the guards that keep it in the domain (if any)."""
    v = sc.var(target)
    index, more = None, []
    if v.kind == "int":
        value, more = draw(int_update(sc, v.lo, v.hi, assigned, Ref(v.name), step))
    elif v.kind == "array":
        if draw(st.booleans()):
            index = Const(draw(st.integers(0, v.size - 1)))
        else:
            index = draw(int_expr(sc, draw(st.integers(0, 1)), nonconst=True))
        value, more = draw(int_update(sc, v.lo, v.hi, assigned, Read(v.name, index), step))
    elif v.kind == "bool":
        value = Logic("Not", (Ref(v.name),)) if step else draw(st.one_of(
            st.builds(BoolConst, st.booleans()), st.integers(0, 2).flatmap(lambda d: bool_expr(sc, d, zero_ok=True))))
    elif step:
        names = LABELS[:v.labels]
        value = EnumConst(names[0])  # round the labels: red -> green (-> blue) -> red
        for i in range(len(names) - 2, -1, -1):
            value = Ite(Cmp("==", Ref(v.name), EnumConst(names[i])), EnumConst(names[i + 1]), value)
    else:
        labels = st.sampled_from(LABELS[:v.labels]).map(EnumConst)
        value = draw(st.one_of(labels, st.builds(Ite, st.integers(0, 1).flatmap(lambda d: bool_expr(sc, d)),
                                                 labels, st.one_of(labels, st.just(Ref(v.name))))))
    return Assign(target, index, value), more


@st.composite
def action(draw, sc: Scope, name: str, failure: bool = False, spends: bool = True) -> Action:
    """Guards (at most one drawn, and those that keep updates in their domains) and up to
    three assignments, the first a step and each other one a step or any value."""
    guards = list(draw(st.lists(st.integers(0, 1).flatmap(lambda d: bool_expr(sc, d)), max_size=1)))
    assigns: list[Assign] = []
    assigned: set[str] = set()
    targets = st.sampled_from([v.name for v in sc.variables])
    for n, target in enumerate(draw(st.lists(targets, min_size=0 if failure else 1, max_size=3))):
        x, more = draw(assignment(sc, target, n == 0 or draw(st.booleans()), assigned))
        assigns.append(x)
        guards += more
        assigned.add(target)
    return Action(name, tuple(guards), tuple(assigns), failure, spends)


@st.composite
def variables(draw) -> tuple[Variable, ...]:
    """One or two integers, maybe a boolean, an enum and an array: the product of their
    domains' sizes at most MAX_STATES // 3 (the failure counter takes up to 3 values)."""
    kinds = ["int"] + ["int"] * (draw(st.integers(0, 2)) > 0)
    kinds += [k for k in ("array", "bool", "enum") if draw(st.booleans())]
    least = {"int": 1, "bool": 2, "enum": 2, "array": 4}
    room = MAX_STATES // 3
    out: list[Variable] = []
    for i, kind in enumerate(kinds):
        rest = 1
        for k in kinds[i + 1:]:
            rest *= least[k]
        cap = room // rest
        if kind == "int":
            name = "x" if not out else "y"
            lo = draw(st.integers(-4, 2))
            hi = lo + min(draw(st.sampled_from([4, 3, 5, 2, 6, 1])), cap) - 1
            out.append(Variable(name, "int", lo, hi, init=draw(st.integers(lo, hi))))
            size = hi - lo + 1
        elif kind == "bool":
            out.append(Variable("b", "bool", 0, 1, init=draw(st.booleans())))
            size = 2
        elif kind == "enum":
            n = draw(st.integers(2, min(3, cap)))
            out.append(Variable("c", "enum", 0, n - 1, labels=n, init=draw(st.sampled_from(LABELS[:n]))))
            size = n
        else:
            cells = draw(st.integers(2, 3 if cap >= 8 else 2))
            width = draw(st.integers(2, 3 if cap >= 3 ** cells else 2))
            lo = draw(st.integers(-2, 1))
            init = tuple(draw(st.integers(lo, lo + width - 1)) for _ in range(cells))
            out.append(Variable("a", "array", lo, lo + width - 1, size=cells, init=init))
            size = width ** cells
        room //= size
    return tuple(out)


@st.composite
def models(draw, features: Features = Features()) -> ModelSpec:
    """A model: variables, two to four actions, maybe a failure mode, one to three properties."""
    vs = draw(variables())
    sc = Scope(vs, features)
    n = draw(st.integers(2, 4))
    actions = [draw(action(sc, f"A{i}")) for i in range(n)]
    for v in vs:  # every variable moves: a step in some action that does not assign it yet
        if not any(x.target == v.name for a in actions for x in a.assigns):
            i = draw(st.integers(0, n - 1))
            a = actions[i]
            x, more = draw(assignment(sc, v.name, True, {x.target for x in a.assigns}))
            actions[i] = replace(a, guards=a.guards + tuple(more), assigns=a.assigns + (x,))
    budget = draw(st.one_of(st.none(), st.integers(0, 2), st.just("unbounded")))
    if budget is not None:
        free = draw(st.booleans())
        actions.append(draw(action(sc, "F0", failure=True)))
        if free:
            actions.append(draw(action(sc, "F1", failure=True, spends=False)))
    names = [a.name for a in actions]
    kinds = st.sampled_from(["weak", "strong"])
    fair = st.one_of(
        st.lists(st.sampled_from(names), unique=True, max_size=3).map(tuple),
        st.lists(st.sampled_from(names), unique=True, max_size=3).flatmap(
            lambda ns: st.tuples(*[st.tuples(st.just(n), kinds) for n in ns])))
    fairness = draw(st.one_of(st.none(), fair))
    props = []
    for i, kind in enumerate(draw(st.lists(st.sampled_from(["always", "sometimes", "eventually"]),
                                           min_size=1, max_size=3))):
        formula = draw(st.integers(0, 2).flatmap(lambda d: bool_expr(sc, d)))
        pf = draw(st.one_of(st.none(), fair)) if kind == "eventually" else None
        props.append(Prop(kind, f"{kind}-{i}", formula, pf))
    return ModelSpec(vs, tuple(actions), tuple(props), budget, fairness, draw(st.booleans()), features)
