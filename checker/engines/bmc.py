"""Bounded model checking with Z3, from the same action terms the explicit engine runs.

The transition relation is unrolled step by step: step t has its own copy of every
variable and an action selector; action a at step t means its guard holds on step t
and step t+1 equals its updates (every other variable unchanged). The first depth at
which a bad state (an invariant broken, a goal reached) is satisfiable is the length
of the shortest trace; fixing the selectors one by one to the lowest action that keeps
it satisfiable gives the least such trace in action order, the one BFS finds too.

Before a property is asked at depth t, Z3 is asked whether some state at depth t is a
model error (an enabled action's update outside its domain, a division by zero: see
`system.model_error`); the least trace to one gives the state the explicit engines stop
in, and the same one-line error. So every state this engine searches is checked, once
for all properties.
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

import z3

from checker.errors import CheckerError, SpecError
from checker.lang.arith import defined
from checker.lang.compile import domain_checks
from checker.result import PropertyResult, Result, Step, Trace, Verdict
from checker.lang.system import PropInst, System, model_error

__all__ = ["bmc", "Unrolling", "ModelErrors"]


class ModelErrors:
    """The condition that a state is a model error, and the depth up to which the states
    are known free of one (kept with the system: every run on it shares what is known)."""

    @classmethod
    def of(cls, system: System) -> "ModelErrors":
        got = system.__dict__.get("_model_errors")
        if got is None:
            got = system.__dict__["_model_errors"] = cls(system)
        return got

    def __init__(self, system: System):
        self.system = system
        self.clean = -1
        bad: list[z3.BoolRef] = []
        props_ok = defined(d for p in system.properties for d in p.divisions)
        if props_ok is not None:
            bad.append(z3.Not(props_ok))
        checks = domain_checks(system)
        for ai, a in enumerate(system.actions):
            guard_ok, updates_ok = defined(a.guard_divisions), defined(a.update_divisions)
            if guard_ok is not None:
                bad.append(z3.Not(guard_ok))
            wrong = [z3.Not(updates_ok)] if updates_ok is not None else []
            for vi in checks.get(ai, ()):
                v, u = system.variables[vi], a.updates[vi]
                wrong.append(z3.Or(u < v.lo, u > v.hi))
            if wrong:
                bad.append(z3.And(a.guard, z3.Or(wrong)))
        self.term: z3.BoolRef | None = z3.Or(bad) if bad else None

    def raise_at(self, state: tuple[int, ...]) -> None:
        raise model_error(self.system, state) or SpecError(
            f"Z3 found a model error in the state {self.system.show_state(state)} that its evaluation "
            "does not confirm; please report this model")


class Unrolling:
    """The transition system unrolled step by step in one incremental Z3 solver.

    The symbolic unrolling of `prove` (symbolic.py) is this one with parameters and
    action indices left to Z3: it overrides how a step's variables are made, what a term
    is substituted with, and which extra conditions an action carries.
    """

    def __init__(self, system: System, start: bool = True):
        self.system = system
        self.actions = system.actions
        self.solver = z3.Solver()
        self.steps: list[list[z3.ExprRef]] = []
        self.selectors: list[z3.ArithRef] = []
        if start:
            x0 = self._new_step()
            self.solver.add([x == self._value(i, v) for i, (x, v) in enumerate(zip(x0, system.init))])

    def _value(self, i: int, v: int) -> z3.ExprRef:
        return z3.BoolVal(bool(v)) if self.system.variables[i].kind == "bool" else z3.IntVal(v)

    def _step_vars(self, t: int) -> list[z3.ExprRef]:
        """The variables of step t, with their domains asserted."""
        xs = [z3.Bool(f"{v.name}@{t}") if v.kind == "bool" else z3.Int(f"{v.name}@{t}")
              for v in self.system.variables]
        for v, x in zip(self.system.variables, xs):
            if v.kind != "bool":
                self.solver.add(x >= v.lo, x <= v.hi)
        return xs

    def _new_step(self) -> list[z3.ExprRef]:
        xs = self._step_vars(len(self.steps))
        self.steps.append(xs)
        return xs

    def _pairs(self, t: int, action=None) -> list[tuple[z3.ExprRef, z3.ExprRef]]:
        return list(zip(self.system.consts, self.steps[t]))

    def _conditions(self, a, t: int) -> list[z3.BoolRef]:
        """What action a needs at step t besides its guard."""
        return []

    def at(self, term: z3.ExprRef, t: int, action=None) -> z3.ExprRef:
        """The term over the variables of step t (and the index of `action` there)."""
        return z3.substitute(term, *self._pairs(t, action))

    def extend(self) -> None:
        """Add one more step to the unrolling: some action's guard and effect, the rest unchanged."""
        t = len(self.steps) - 1
        now, nxt = self.steps[t], self._new_step()
        sel = z3.Int(f"action@{t}")
        self.selectors.append(sel)
        self.solver.add(sel >= 0, sel < len(self.actions))
        for ai, a in enumerate(self.actions):
            frame = [nxt[i] == (self.at(a.updates[i], t, a) if i in a.updates else now[i])
                     for i in range(len(now))]
            self.solver.add(z3.Implies(sel == ai, z3.And(self._conditions(a, t) + [self.at(a.guard, t, a)] + frame)))

    def deepen(self, bad: z3.BoolRef, max_depth: int, deadline: float | None,
               progress: Callable[[str], None] | None = None,
               errors: ModelErrors | None = None) -> tuple[str, int]:
        """Unroll one step at a time until `bad` can hold at the last step: ("sat", k) with the
        solver at that model (then `least_actions`), ("timeout", k) when the deadline passed
        before depth k, ("unknown", k) when Z3 gave up there, ("bound", max_depth) otherwise.
        With `errors`, each depth not yet known free of model errors is first checked for
        one, and the first found is raised (see `system.model_error`)."""
        for k in range(max_depth + 1):
            if k:
                self.extend()
            if deadline is not None:
                left = deadline - time.perf_counter()
                if left <= 0:
                    return "timeout", k
                self.solver.set("timeout", max(1, int(left * 1000)))
            if progress is not None:
                progress(f"bounded model checking: depth {k}")
            if errors is not None and errors.term is not None and k > errors.clean:
                # One query for both where neither can hold (every depth but the last),
                # then the model error alone where something can.
                for term in (z3.Or(bad, errors.term), errors.term):
                    self.solver.push()
                    self.solver.add(self.at(term, k))
                    r = self.solver.check()
                    if r == z3.sat and term is errors.term:
                        errors.raise_at(self.least_trace().steps[-1].state)
                    self.solver.pop()
                    if r != z3.sat:
                        break
                if r == z3.unknown:
                    return "unknown", k
                errors.clean = k
                if r == z3.unsat and term is not errors.term:
                    continue  # bad cannot hold at depth k either
            self.solver.push()
            self.solver.add(self.at(bad, k))
            r = self.solver.check()
            if r == z3.sat:
                return "sat", k
            self.solver.pop()
            if r == z3.unknown:
                return "unknown", k
        return "bound", max_depth

    def least_actions(self) -> list[int]:
        """After a sat check: fix each step's action to the lowest one that stays sat; their numbers."""
        chosen = []
        for sel in self.selectors:
            for ai in range(len(self.actions)):
                self.solver.push()
                self.solver.add(sel == ai)
                if self.solver.check() == z3.sat:
                    break
                self.solver.pop()
            else:  # pragma: no cover - the unrolling was sat, so some action fits
                raise AssertionError("no action fits a satisfiable unrolling")
            chosen.append(ai)
        return chosen

    def least_trace(self) -> Trace:
        """After a sat check: the least shortest trace in action order."""
        chosen = self.least_actions()
        m = self.solver.model()
        steps = []
        for t, xs in enumerate(self.steps):
            state = tuple(int(z3.is_true(m.eval(x, model_completion=True))) if v.kind == "bool"
                          else m.eval(x, model_completion=True).as_long()
                          for v, x in zip(self.system.variables, xs))
            steps.append(Step(None if t == 0 else self.actions[chosen[t - 1]].name, state))
        return Trace(self.system, steps)


def bmc(system: System, properties: Sequence[str] | None = None, max_depth: int = 30,
        timeout: float | None = None) -> Result:
    """The shortest trace to a violation of each `always` and a witness of each `sometimes` property.

    properties: the names to check (default every property; an `eventually` one is then
    unknown, and naming one is refused). Up to max_depth steps; past that (or the
    timeout, for the whole run) a verdict is `unknown`, because a bounded search proves
    nothing about longer runs. The Result counts no states or transitions (None); its
    depth is the deepest unrolling searched.
    """
    # Traces are of the whole system, so that they show every property at every step.
    chosen = system.only(list(properties)).properties if properties is not None else system.properties
    if properties is not None:
        for p in chosen:
            if p.kind == "eventually":
                raise CheckerError(f"{p.name} is an eventually property; bounded model checking here decides "
                                   "always and sometimes properties only")
    start = time.perf_counter()
    deadline = None if timeout is None else start + timeout
    results: list[PropertyResult] = []
    depth = 0
    errors = ModelErrors.of(system)
    for p in chosen:
        if p.kind == "eventually":
            results.append(PropertyResult(p.name, p.kind, p.expected, Verdict.UNKNOWN,
                                          reason="bounded model checking decides always and sometimes "
                                                 "properties only"))
            continue
        res, searched = _one(system, p, max_depth, timeout, deadline, errors)
        results.append(res)
        depth = max(depth, searched)
    undecided = [r.reason for r in results if r.verdict == Verdict.UNKNOWN]
    return Result(system, "bmc", None, None, depth, time.perf_counter() - start, not undecided,
                  undecided[0] if undecided else "", results)


def _one(system: System, prop: PropInst, max_depth: int, timeout: float | None,
         deadline: float | None, errors: ModelErrors) -> tuple[PropertyResult, int]:
    """One property's result, and the deepest unrolling searched for it."""
    u = Unrolling(system)
    how, k = u.deepen(z3.Not(prop.formula) if prop.kind == "always" else prop.formula, max_depth, deadline,
                      errors=errors)
    if how == "sat":
        verdict = Verdict.VIOLATED if prop.kind == "always" else Verdict.REACHABLE
        return PropertyResult(prop.name, prop.kind, prop.expected, verdict, u.least_trace()), k
    if how == "timeout":
        reason = f"time limit of {timeout:g} s at depth {k}"
    elif how == "unknown":
        reason = f"Z3 gave up at depth {k}: {u.solver.reason_unknown()}"
    else:
        reason = f"no trace of up to {max_depth} steps; a bounded search proves nothing about longer runs"
    searched = max_depth if how == "bound" else max(0, k - 1)
    return PropertyResult(prop.name, prop.kind, prop.expected, Verdict.UNKNOWN, reason=reason), searched
