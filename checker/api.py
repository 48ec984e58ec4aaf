"""The one way to run a check: `check(system, Options(...)) -> Result`, for every engine.

`Options` is checked once, when it is made: a bad value, or an option the chosen
engine would not honour, is a one-line CheckerError naming it. `check` then calls the
engine. Engines are imported only when a check runs, so loading models (and `import
checker`) loads no engine and no numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from checker.errors import CheckerError
from checker.lang.system import System
from checker.result import DEADLOCK, Result

__all__ = ["Options", "check", "ENGINES"]

ENGINES = ("fast", "explicit", "bmc", "simulate", "distributed")
DEFAULT_MAX_DEPTH = 30  # the bmc engine's bound when max_depth is not given
DEFAULT_WALKS, DEFAULT_WALK_DEPTH = 1000, 100  # simulate's walks and their length when not given


@dataclass(frozen=True)
class Options:
    """How to run one check. Every field has a default: `Options()` is the fast engine, no limits.

    engine: "fast" (the search compiled to machine code), "explicit" (the reference
    search in Python), "bmc" (Z3 bounded model checking; states are not counted) or
    "simulate" (seeded random walks: it decides only what a walk finds, never `holds`) or
    "distributed" (the explicit engine's search over Ray actors; safety properties only).
    properties: the property names to check (None: every property). With `deadlock`,
    "no-deadlock" may be named too.
    max_states, timeout: stop after this many distinct states or seconds; the run is
    then incomplete (bmc: timeout only, for the whole run).
    max_memory: fast engine: bytes the search's tables may use; distributed: bytes of resident
    memory each worker may use; past it the run stops, incomplete.
    deadlock: report a state with no enabled action as a violation of no-deadlock.
    cover: also find, for each action, the shortest trace that takes it.
    symmetry: fast engine: explore one state per orbit of the model's declared symmetry.
    max_depth: bmc engine: the longest trace looked for (default 30); simulate: the
    longest walk (default 100).
    walks, seed: simulate: how many random walks (default 1000) and their seed (default 0).
    distributed: simulate: take the walks in batches as Ray tasks (the same result as in one process).
    workers, address: the distributed engine, or simulate with `distributed`: how many Ray actors
    or tasks at a time (default: one per CPU of the cluster) and the address of a running Ray
    cluster to join (default: a local one, started for the run).
    progress: called now and then with (states, frontier, depth, seconds[, memory bytes])
    during an explicit-state search (bmc never calls it); progress_every: seconds between calls.
    """

    engine: str = "fast"
    properties: tuple[str, ...] | None = None
    max_states: int | None = None
    timeout: float | None = None
    max_memory: int | None = None
    deadlock: bool = False
    cover: bool = False
    symmetry: bool = False
    max_depth: int | None = None
    walks: int | None = None
    seed: int = 0
    distributed: bool = False
    workers: int | None = None
    address: str | None = None
    progress: Callable[..., None] | None = None
    progress_every: float = 0.5

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise CheckerError(f"unknown engine {self.engine!r}; the engines are {', '.join(ENGINES)}")
        if self.properties is not None:
            if isinstance(self.properties, str) or not all(isinstance(n, str) for n in self.properties):
                raise CheckerError(f"properties takes a list of property names, not {self.properties!r}")
            object.__setattr__(self, "properties", tuple(self.properties))  # frozen: a list given becomes a tuple
        for name in ("max_states", "max_memory", "max_depth", "walks", "workers"):
            _positive(name, getattr(self, name), integer=True)
        _positive("seed", self.seed, integer=True, zero=True)
        _positive("timeout", self.timeout, integer=False)
        _positive("progress_every", self.progress_every, integer=False, zero=True)
        for name in ("deadlock", "cover", "symmetry", "distributed"):
            if not isinstance(getattr(self, name), bool):
                raise CheckerError(f"{name} is true or false, not {getattr(self, name)!r}")
        if self.progress is not None and not callable(self.progress):
            raise CheckerError(f"progress must be a function or None, not {self.progress!r}")
        if self.address is not None and (not isinstance(self.address, str) or not self.address.strip()):
            raise CheckerError(f"address must be a Ray cluster's address (host:port), not {self.address!r}")
        # The combinations: each option the chosen engine would not honour, in the CLI's words.
        if self.distributed and self.engine != "simulate":
            raise CheckerError(f"distributed is an option of simulate (engine \"simulate\"), not of the "
                               f"{self.engine} engine; a distributed search is engine \"distributed\"")
        if self.engine == "distributed":
            if self.cover or self.symmetry:
                raise CheckerError("--distributed does not take --cover or --symmetry (their traces and orbits "
                                   "are of one process's search); run without --distributed")
            if _ray_missing():
                from checker.engines.distributed import INSTALL
                raise CheckerError(INSTALL)
        elif self.distributed:
            if _ray_missing():
                from checker.engines.distributed import INSTALL
                raise CheckerError(INSTALL)
        elif self.workers is not None or self.address is not None:
            raise CheckerError("workers and address are options of the distributed engine (--distributed) "
                               "and of a distributed simulation (simulate --distributed)")
        if (self.max_memory is not None and self.engine not in ("fast", "distributed")
                or self.symmetry and self.engine != "fast"):
            raise CheckerError("--max-memory and --symmetry need the fast engine (--engine fast)")
        if self.engine == "bmc":
            if self.deadlock:
                raise CheckerError("the bmc engine does not check no-deadlock; use --engine explicit")
            if self.cover:
                raise CheckerError("--cover needs an explicit-state engine (--engine fast or explicit)")
            if self.max_states is not None:
                raise CheckerError("--max-states bounds the explicit-state engines; the bmc engine is "
                                   "bounded by --max-depth")
        elif self.engine == "simulate":
            if self.cover or self.max_states is not None:
                raise CheckerError("--cover and --max-states need an exhaustive search (--engine fast or "
                                   "explicit); simulate is bounded by its walks and their depth")
        elif self.max_depth is not None:
            raise CheckerError(f"--max-depth bounds the bmc engine only; the {self.engine} engine is "
                               "bounded by --max-states")
        if self.engine != "simulate" and (self.walks is not None or self.seed != 0):
            raise CheckerError("walks and seed are options of simulate (engine \"simulate\")")
        if self.symmetry and self.cover:
            raise CheckerError("--cover does not combine with --symmetry: the covering traces are of real states")


def _positive(name: str, value: Any, integer: bool, zero: bool = False) -> None:
    """None or a number above 0 (at least 0 with `zero`); a bool is not a number here."""
    if value is None and not zero:
        return
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not (value >= 0 if zero else value > 0):
        what = ("a non-negative " if zero else "a positive ") + ("integer" if integer else "number")
        raise CheckerError(f"{name} must be {what}{'' if zero else ' or None'}, not {value!r}")


def _ray_missing() -> bool:
    """Whether Ray cannot be imported, without importing it (a second or more)."""
    import importlib.util
    try:
        return importlib.util.find_spec("ray") is None
    except (ImportError, ValueError):  # a module set to None, or one without a spec
        return True


def check(system: System, options: Options | None = None) -> Result:
    """Run one check of a built system (`model.build(...)`) and return its Result.

    Every engine returns the same Result type, with one PropertyResult per property
    checked (explicit-state engines: then no-deadlock, with `deadlock`).
    """
    if not isinstance(system, System):
        raise CheckerError(f"check takes a built System (model.build(...)), not {type(system).__name__}")
    o = Options() if options is None else options
    if not isinstance(o, Options):
        raise CheckerError(f"check takes its options as one checker.Options, not {type(o).__name__}")
    if o.engine == "bmc":
        from checker.engines.bmc import bmc
        return bmc(system, o.properties, DEFAULT_MAX_DEPTH if o.max_depth is None else o.max_depth, o.timeout)
    if o.properties is not None:
        system = system.only([n for n in o.properties if not (o.deadlock and n == DEADLOCK)])
    if o.engine == "simulate" and o.distributed:
        from checker.engines.simdist import simulate_distributed
        return simulate_distributed(system, walks=DEFAULT_WALKS if o.walks is None else o.walks,
                                    depth=DEFAULT_WALK_DEPTH if o.max_depth is None else o.max_depth, seed=o.seed,
                                    workers=o.workers, address=o.address, timeout=o.timeout, deadlock=o.deadlock,
                                    progress=o.progress, progress_every=o.progress_every)
    if o.engine == "simulate":
        from checker.engines.simulate import simulate
        return simulate(system, walks=DEFAULT_WALKS if o.walks is None else o.walks,
                        depth=DEFAULT_WALK_DEPTH if o.max_depth is None else o.max_depth, seed=o.seed,
                        timeout=o.timeout, deadlock=o.deadlock, progress=o.progress,
                        progress_every=o.progress_every)
    if o.engine == "distributed":
        from checker.engines.distributed import distributed
        return distributed(system, workers=o.workers, address=o.address, max_states=o.max_states,
                           timeout=o.timeout, max_memory=o.max_memory, deadlock=o.deadlock,
                           progress=o.progress, progress_every=o.progress_every)
    if o.engine == "explicit":
        from checker.engines.explicit import explore
        return explore(system, max_states=o.max_states, timeout=o.timeout, deadlock=o.deadlock,
                       progress=o.progress, progress_every=o.progress_every, cover=o.cover)
    from checker.engines.fast import explore_fast
    return explore_fast(system, max_states=o.max_states, timeout=o.timeout, deadlock=o.deadlock,
                        progress=o.progress, progress_every=o.progress_every, max_memory=o.max_memory,
                        symmetry=o.symmetry, cover=o.cover)
