"""Which traces conformance replays: shortest traces from the checker, and seeded random walks.

For the `kafka` model: the duplicate-delivery witness (commit=after) and the no-loss
counterexample (commit=before). For each matrix row of the `group` model, and each row of
the `pipeline` model that conform/pipeline.py drives on the real broker: the shortest
trace of every violated property, found by the same explicit search as `python -m
checker matrix` (`checker.check` with the explicit engine), plus random walks. A row
whose failure modes need an action the harness cannot drive (conform/harness.py
`not_driven`: the actions it knows it cannot perform, and any it has no operation for,
such as a new failure mode's) is reported as not driven, with the reason. Rows with commit=auto describe Java consumers; they run as
auto_commit_on=librdkafka, the model's variant for the client driven here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from checker import Config, Options, Step, System, Trace, build_config, check
from checker.lang.compile import compiled
from checker.registry import configs, get_config, get_model

import z3

from spec.versions import CURRENT

from .backends import MOCK, Backend
from .harness import DRIVERS, backend_not_driven, not_driven
from .realcluster import KAFKA_VERSION

__all__ = ["Job", "Skipped", "KAFKA", "plan", "row_system", "walk"]

KAFKA = "kafka"  # the id that selects the kafka model's two traces
KAFKA_INSTANCES = ({"commit": "after"}, {"commit": "before"})


@dataclass
class Job:
    """One trace to replay on the client."""

    row: str  # "kafka" or a matrix row id
    title: str  # e.g. "no-loss violated, 4 steps" or "walk, seed 1"
    trace: Trace
    note: str = ""  # e.g. "as auto_commit_on=librdkafka"


@dataclass
class Skipped:
    row: str
    reason: str


# Why the rows of the other models are not driven on librdkafka's mock cluster.
NOT_DRIVEN_MODELS: dict[str, str] = {}


# Rows that describe one client only: the other client does not define them.
LIBRDKAFKA_ONLY = "a librdkafka row (auto_commit_on=librdkafka): the Java consumer has no offset store"


# ... and on a real broker: what the harness lacks there.
NOT_DRIVEN_MODELS_REAL: dict[str, str] = {}


def row_system(cfg: Config, backend: Backend = MOCK) -> tuple[System, str]:
    """The row's instance as driven on `backend`: commit=auto rows as the client's variant
    (auto_commit_on=librdkafka for librdkafka, poll for the Java consumer)."""
    model = get_model(cfg.model)
    if cfg.params.get("commit") != "auto":
        return build_config(cfg, model), ""
    want = "poll" if backend.client == "java" else "librdkafka"
    if cfg.params.get("auto_commit_on", "poll") != want:
        return build_config(cfg, model, {"auto_commit_on": want}), f"as auto_commit_on={want}"
    return build_config(cfg, model), ""


def _blocked(system: System, backend: Backend = MOCK) -> str | None:
    """Why the row cannot be driven: an action of the instance the harness cannot perform.

    An action whose guard is false whatever the state (PollAutoCommit when auto-commit
    runs as librdkafka's) never occurs in a trace, so it needs no driving."""
    for a in system.actions:
        why = not_driven(a.base, backend, system.model)
        if why is not None and not z3.is_false(a.guard):
            return f"{a.base}: {why}"
    return None


def _other_versions(cfg: Config, client: str) -> str | None:
    """Why a row is not driven on the real cluster when it names Kafka or client versions other than its own."""
    running = (cfg.params.get("kafka_version", CURRENT), cfg.params.get("client_version", CURRENT))
    if running == (CURRENT, CURRENT):
        return None
    return (f"the row is Kafka {running[0]} with {client} {running[1]}; the real cluster and client are "
            f"{CURRENT} (Kafka {KAFKA_VERSION})")


def _driver_not_driven(cfg: Config, backend: Backend) -> str | None:
    """Why a row of a model with its own driver (conform/pipeline.py, conform/eos.py) is not driven on
    `backend`, or None."""
    driver = DRIVERS[cfg.model]
    other = _other_versions(cfg, "client")
    if other is not None and hasattr(driver, "versions_not_driven"):  # what the versions change for the row
        other = driver.versions_not_driven(cfg.params, cfg.failures, other)
    why = backend_not_driven(cfg.model, backend) or other or driver.row_not_driven(cfg.params, cfg.failures)
    if why is not None:
        return why
    return _blocked(build_config(cfg, get_model(cfg.model)), backend)


def _shortest(system: System) -> list[tuple[str, Trace]]:
    res = check(system, Options(engine="explicit"))
    out = []
    for p in res.properties:
        if p.trace is not None and p.kind in ("always", "sometimes"):
            what = "witness" if p.kind == "sometimes" else "counterexample"
            out.append((f"{p.name} {what}, {len(p.trace.steps) - 1} steps", p.trace))
    return out


def walk(system: System, seed: str, length: int, backend: Backend = MOCK) -> Trace:
    """A random run of at most `length` steps, each chosen uniformly among the enabled drivable actions.

    Seeded with a string (random.Random hashes it with SHA-512, not Python's salted
    hash), so the same seed gives the same walk in every process.
    """
    rng = random.Random(seed)
    expand = compiled(system).expand
    layout = system.layout
    st = layout.pack(system.init)
    steps = [Step(None, system.init)]
    for _ in range(length):
        options = [(a, t) for a, t in expand(st) if not_driven(system.actions[a].base, backend, system.model) is None]
        if not options:
            break
        a, st = options[rng.randrange(len(options))]
        steps.append(Step(system.actions[a].name, layout.unpack(st)))
    return Trace(system, steps)


def plan(ids: list[str], walks: int, length: int, seed: int,
         backend: Backend = MOCK) -> tuple[list[Job], list[Skipped]]:
    """The jobs for the chosen rows (the kafka model and every row when `ids` is empty).

    Rows of models other than `group` are reported as not driven, like the rows whose
    failure modes the harness cannot perform.
    """
    known = configs()
    for i in ids:
        if i != KAFKA:
            get_config(i)  # unknown id: a one-line error (exit 2) before any client starts
    chosen = ids or [KAFKA, *known]
    jobs: list[Job] = []
    skipped: list[Skipped] = []
    for rid in dict.fromkeys(chosen):
        if rid == KAFKA:
            model = get_model("kafka")
            for params in KAFKA_INSTANCES:
                system = model.build(params)
                label = f"commit={params['commit']}"
                for title, trace in _shortest(system):
                    jobs.append(Job(KAFKA, f"{label}: {title}", trace))
                for w in range(walks):
                    jobs.append(Job(KAFKA, f"{label}: walk, seed {seed + w}",
                                    walk(system, f"{seed + w}:{KAFKA}:{label}", length, backend)))
            continue
        cfg = known[rid]
        if cfg.model in DRIVERS:
            why = _driver_not_driven(cfg, backend)
            if why is not None:
                skipped.append(Skipped(rid, why))
                continue
            system = build_config(cfg, get_model(cfg.model))
            for title, trace in _shortest(system):
                jobs.append(Job(rid, title, trace))
            for w in range(walks):
                jobs.append(Job(rid, f"walk, seed {seed + w}", walk(system, f"{seed + w}:{rid}", length, backend)))
            continue
        if cfg.model != "group":
            table = NOT_DRIVEN_MODELS_REAL if backend.real else NOT_DRIVEN_MODELS
            skipped.append(Skipped(rid, table.get(cfg.model, f"model {cfg.model}: the harness drives "
                                                             "the kafka, group and pipeline models only")))
            continue
        if cfg.params.get("group_protocol", "classic") != "classic" and backend.protocol != "consumer":
            skipped.append(Skipped(rid, "group_protocol=consumer is the Java AsyncKafkaConsumer (KIP-848); only "
                                        "the java-consumer backend (conform --backend kafka) has it"))
            continue
        other = _other_versions(cfg, "Java client") if backend.client == "java" else None
        if other is not None:
            skipped.append(Skipped(rid, other))
            continue
        if backend.client == "java" and cfg.params.get("auto_commit_on") == "librdkafka":
            skipped.append(Skipped(rid, LIBRDKAFKA_ONLY))
            continue
        system, note = row_system(cfg, backend)
        why = _blocked(system, backend)
        if why is not None:
            skipped.append(Skipped(rid, why))
            continue
        for title, trace in _shortest(system):
            jobs.append(Job(rid, title, trace, note))
        for w in range(walks):
            jobs.append(Job(rid, f"walk, seed {seed + w}", walk(system, f"{seed + w}:{rid}", length, backend), note))
    return jobs, skipped
