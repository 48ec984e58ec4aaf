"""Named configurations (`Config`): a model instance and the verdicts its source expects.

A model package publishes its matrix rows as `CONFIGS`, a list of `Config`; building
one needs only the language, so loading models loads no engine (the matrix run is
`matrix.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from checker.lang.system import System

__all__ = ["Config", "build_config"]


@dataclass(frozen=True)
class Config:
    """One named configuration: a model instance and what its source says it does."""

    id: str
    description: str
    model: str
    params: dict[str, Any] = field(default_factory=dict)
    failures: tuple[str, ...] = ()
    expect: dict[str, str] = field(default_factory=dict)  # property -> expected verdict
    source: str = ""  # where the expectation comes from, one line
    remedies: tuple[str, ...] = ()  # the remedies (ids of the model package's catalogue) the row applies

    def settings(self) -> dict[str, Any]:
        return {"model": self.model, "params": dict(self.params), "failure_modes": list(self.failures)}

    def settings_line(self) -> str:
        ps = [f"{k}={v}" for k, v in self.params.items()]
        return " ".join(ps + [f"-f {f}" for f in self.failures]) or "defaults"


def build_config(cfg: Config, model: Any, params: dict[str, Any] | None = None,
                 enable: Iterable[str] = (), disable: Iterable[str] = ()) -> System:
    """The system of a configuration: exactly its failure modes, its expectations.

    `params`, `enable` and `disable` (from the command line) apply on top of it. When they
    change the instance, the row's expectations (its source's word about that instance)
    no longer follow, and the model's own expectations apply instead (None where the
    model states none), so that a correct finding is not called NOT AS EXPECTED.
    """
    enable, disable = list(enable), list(disable)
    on = [f for f in cfg.failures if f not in disable] + [f for f in enable if f not in cfg.failures]
    off = [f for f in model.failure_modes if f not in on]
    system = model.build({**cfg.params, **(params or {})}, on, off)
    row = model.build(dict(cfg.params), list(cfg.failures),
                      [f for f in model.failure_modes if f not in cfg.failures]) if (params or enable or disable) else system
    if row.params == system.params and sorted(row.failure_modes) == sorted(system.failure_modes):
        for p in system.properties:  # the source's word replaces the model's default expectation
            if p.name in cfg.expect:
                p.expected = cfg.expect[p.name]
    return system
