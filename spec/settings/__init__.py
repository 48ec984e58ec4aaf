"""Kafka settings in Kafka's words: the reader `checker check` uses (the package's `SETUP`).

`read` takes Java `.properties` files (consumer, producer, topic or broker settings,
merged in order, then the `-s` overrides), refuses a key that is not Kafka's (with the
nearest one) and a combination Kafka refuses (with Kafka's reason), fills in the
documented defaults of the chosen client, and turns the settings into instances of the
`group` model (the consumer side), the `pipeline` model (the producer and the brokers)
or, with `transactional.id`, the `eos` model (the consume-transform-produce loop in
transactions; the pipeline model beside it when replication keys are given), with every
realistic fault on at a budget of one. `label` names the failure
catalogue's ids behind a violation, `remedies` the changes the catalogue prevents them
with (its "Prevents" column and remedies R1-R5); `checker check` re-runs the search
with each and offers only those that make the guarantee hold.
"""

from __future__ import annotations

import difflib

from checker import CheckerError
from checker.setup import Run, Setup

from .. import versions

from .keys import KEYS, NO_EFFECT, NO_EFFECT_PREFIXES, Key
from .properties import parse

__all__ = ["read", "label", "remedies", "REQUIREMENTS", "GROUP_FAULTS", "PIPELINE_FAULTS", "EOS_FAULTS"]

GROUP_FAULTS = ("crash", "shutdown", "rebalance", "max-poll-exceeded", "offset-expiry", "retention")
PIPELINE_FAULTS = ("request-timeout", "broker-failure", "isr-shrink")
EOS_FAULTS = ("crash", "max-poll-exceeded", "send-error", "txn-timeout", "commit-timeout", "produce-timeout")
# Each fault's budget parameter (rebalance and max-poll-exceeded share one in the group model).
BUDGETS = {"crash": "max_crashes", "shutdown": "max_shutdowns", "rebalance": "max_rebalances",
           "max-poll-exceeded": "max_rebalances", "offset-expiry": "max_expiries", "retention": "max_deletions",
           "request-timeout": "max_timeouts", "broker-failure": "max_broker_failures",
           "isr-shrink": "max_isr_shrinks", "send-error": "max_send_errors", "txn-timeout": "max_txn_timeouts",
           "commit-timeout": "max_commit_timeouts", "produce-timeout": "max_produce_timeouts"}
REQUIREMENTS = {"at-least-once": ("no-loss", "no-acked-loss"),
                "at-most-once": ("no-duplicate-processing", "no-duplicate-in-log"),
                "exactly-once": ("no-loss", "no-acked-loss", "no-duplicate-processing", "no-duplicate-in-log",
                                 "no-aborted-read", "atomic-offsets")}
GROUP_GUARANTEES = ("no-loss", "no-duplicate-processing", "in-order")
PIPELINE_GUARANTEES = ("no-acked-loss", "no-duplicate-in-log", "no-loss", "no-duplicate-processing", "in-order")
EOS_GUARANTEES = ("no-loss", "no-duplicate-processing", "no-aborted-read", "atomic-offsets")
# The topic keys that, beside transactional.id, also run the pipeline model (the replicated partition).
REPLICATION_KEYS = ("replication.factor", "default.replication.factor", "min.insync.replicas",
                    "unclean.leader.election.enable")
# Consumer and topic keys the eos loop does not read, each with why (listed as not modelled).
EOS_LEAVES_OUT = {
    "max.poll.records": "the eos model's loop takes one record per transaction (max.poll.records=1)",
    "auto.offset.reset": "the eos model's group has a valid committed offset from the start: the reset is never "
                         "used",
    "group.protocol": "the eos model hands the input partition over in one step, whatever the group protocol",
    "enable.auto.offset.store": "the eos model's loop is the Java client's (offsets go into the transaction)",
    "app.processing": "the eos model's loop processes on the polling thread, inside the transaction",
    "app.sink": "the eos model's output is the output topic, written in the transaction",
    "app.commit.on.revoke": "the eos model commits offsets in the transaction (or as app.commit and "
                            "enable.auto.commit say), not in onPartitionsRevoked",
    "retention.ms": "the eos model's input keeps its records (retention is not among its faults)",
    "log.retention.ms": "the eos model's input keeps its records (retention is not among its faults)",
}
TXN_REFUSAL = "Cannot set a transactional.id without also enabling idempotence."
APP_CONSUMER = ("app.commit", "app.processing", "app.commit.on.revoke", "app.consumers")  # app.sink: both sides
IDEMPOTENT_IN_FLIGHT = 5  # the Java and librdkafka producers keep order with at most 5 requests in flight


def _known(key: str) -> bool:
    return key in KEYS or key in NO_EFFECT or key.startswith(NO_EFFECT_PREFIXES)


def _unknown(key: str, where: str) -> CheckerError:
    near = difflib.get_close_matches(key, sorted(set(KEYS) | NO_EFFECT), n=1, cutoff=0.6)
    hint = f"; did you mean {near[0]!r}?" if near else (
        f"; the app. keys are {', '.join(k for k in KEYS if k.startswith('app.'))}" if key.startswith("app.")
        else "; check its spelling against the Kafka documentation")
    return CheckerError(f"{where}: {key!r} is not a Kafka setting{hint}")


def _value(key: Key, raw: str, where: str) -> str:
    """The canonical value, or Kafka's refusal of it."""
    v = raw.strip()
    if key.kind == "bool":
        if v.lower() not in ("true", "false"):
            raise CheckerError(f"{where}: invalid value {raw!r} for configuration {key.name}: expected value to be "
                               "either true or false")
        return v.lower()
    if key.kind == "int":
        if not (v.lstrip("-").isascii() and v.lstrip("-").isdigit() and v.count("-") <= 1 and not v.endswith("-")):
            raise CheckerError(f"{where}: invalid value {raw!r} for configuration {key.name}: not a number of "
                               "type INT (write whole numbers in digits)")
        n = int(v)
        if key.minimum is not None and n < key.minimum:
            raise CheckerError(f"{where}: invalid value {v} for configuration {key.name}: value must be at least "
                               f"{key.minimum}")
        return str(n)
    if key.kind == "choice":
        v = key.aliases.get(v.lower(), v.lower() if key.name != "app.client" else v)
        if v not in key.choices:
            raise CheckerError(f"{where}: invalid value {raw!r} for configuration {key.name}: string must be one "
                               f"of: {', '.join(key.choices)}")
        return v
    if key.kind == "version":
        known = versions.KAFKA_VERSIONS if key.name == "app.kafka.version" else versions.CLIENT_VERSIONS
        try:
            versions.line(v, known, key.name)
        except CheckerError as e:
            raise CheckerError(f"{where}: {e}") from None
        return v
    return v


def _gather(files, overrides):
    """key -> (raw value, source, where) after every file and override, and the no-effect keys."""
    given: dict[str, tuple[str, str, str]] = {}
    for name, text in files:
        for key, value, line in parse(text, name):
            where = f"{name}, line {line}"
            if not _known(key):
                raise _unknown(key, where)
            given[key] = (value, "file", where)
    for key, value in overrides:
        where = f"-s {key}={value}"
        if not _known(key):
            raise _unknown(key, where)
        given[key] = (value, "override", where)
    return given


class _Settings:
    """The settings being resolved: values by key with their sources, and what is said about them."""

    def __init__(self, given):
        self.given = given
        self.values: dict[str, tuple[str, str]] = {}
        self.ignored: list[str] = []
        self.not_modelled: list[tuple[str, str]] = []
        self.notes: list[str] = []
        for key, (raw, source, where) in given.items():
            if key in KEYS:
                self.values[key] = (_value(KEYS[key], raw, where), source)
            else:
                self.ignored.append(key)

    def get(self, key: str) -> str | None:
        return self.values[key][0] if key in self.values else None

    def set_default(self, key: str, client: str) -> str | None:
        if key not in self.values:
            d = KEYS[key].default_for(client)
            if d is None:
                return None
            self.values[key] = (d, "default")
        return self.values[key][0]

    def where(self, key: str) -> str:
        return self.given[key][2] if key in self.given else "the default"


def _client(st: _Settings) -> str:
    client = st.get("app.client")
    protocol = st.get("group.protocol")
    if client is None:
        client = "java-consumer" if protocol == "consumer" else "java-classic"
        st.values["app.client"] = (client, "default")
    elif protocol == "consumer" and client != "java-consumer":
        raise CheckerError(f"group.protocol=consumer ({st.where('group.protocol')}) is the Java AsyncKafkaConsumer: "
                           f"set app.client=java-consumer, or group.protocol=classic for {client}")
    elif client == "java-consumer" and protocol == "classic" and "group.protocol" in st.given:
        raise CheckerError("app.client=java-consumer is the consumer of group.protocol=consumer; "
                           "set group.protocol=consumer or app.client=java-classic")
    if client == "java-consumer":
        st.values["group.protocol"] = ("consumer", st.values.get("group.protocol", ("", "default"))[1])
    return client


def _versions(st: _Settings, client: str) -> tuple[str, str]:
    """The brokers' and the Java clients' releases (release lines), said in a note; defaults when absent."""
    if client == "librdkafka" and "app.client.version" in st.given:
        raise CheckerError("app.client.version is the Java clients' release; librdkafka's versions are not "
                           "mapped (drop app.client.version, or set app.client to a Java client)")
    kafka = st.set_default("app.kafka.version", client)
    given = "app.kafka.version" in st.given
    if client != "librdkafka":
        java = st.set_default("app.client.version", client)
        given_client = "app.client.version" in st.given
    else:
        java, given_client = versions.CURRENT, False
    lines = (versions.line(kafka, versions.KAFKA_VERSIONS, "app.kafka.version"),
             versions.line(java, versions.CLIENT_VERSIONS, "app.client.version"))
    try:
        versions.check_pair(*lines)
    except CheckerError:
        raise CheckerError(f"app.client.version={java} cannot talk to app.kafka.version={kafka}: Kafka 4.0 "
                           f"brokers refuse clients older than {versions.PROTOCOL_BASELINE} (KIP-896)") from None

    def said(key, value, known):
        return f"{value} ({key}{'' if known else ', the default'})"

    java_note = (f", Java clients {said('app.client.version', java, given_client)}" if client != "librdkafka"
                 else f" (the pipeline's consumer is the Java reference loop at {versions.CURRENT})")
    st.notes.insert(0, f"versions assumed: Kafka {said('app.kafka.version', kafka, given)}{java_note}")
    return lines


def _sides(st: _Settings) -> tuple[bool, bool]:
    consumer = any(KEYS[k].side == "consumer" for k in st.given if k in KEYS) or any(k in st.given for k in APP_CONSUMER)
    producer = any(KEYS[k].side in ("producer", "topic") for k in st.given if k in KEYS)
    return consumer, producer


def _not_modelled(st: _Settings, modelled: tuple[str, ...] = ()) -> None:
    for key in sorted(st.values):
        k = KEYS[key]
        if key in modelled:
            continue
        if k.status == "not-modelled" and st.values[key][1] != "default":
            st.not_modelled.append((key, k.reason))
    for key in list(st.values):  # a not-modelled key's default is not something the answer rests on
        if KEYS[key].status == "not-modelled" and st.values[key][1] == "default" and key not in modelled:
            del st.values[key]
    st.not_modelled.sort()


def _group(st: _Settings, client: str, faults: list[str] | None, kafka: str,
           java: str) -> tuple[Run, list[tuple[str, int]]]:
    for key in ("enable.auto.commit", "auto.offset.reset", "app.processing", "app.sink", "app.commit.on.revoke",
                "app.consumers"):
        st.set_default(key, client)
    if client != "librdkafka":
        st.set_default("group.protocol", client)
    if "log.retention.ms" not in st.values:
        st.set_default("retention.ms", client)
    auto = st.get("enable.auto.commit") == "true"
    if client == "librdkafka":
        st.set_default("enable.auto.offset.store", client)
        if "max.poll.records" in st.values:
            del st.values["max.poll.records"]
            st.ignored.append("max.poll.records")  # not a librdkafka key: poll() hands over one message
    else:
        st.set_default("max.poll.records", client)
        if "enable.auto.offset.store" in st.values:
            del st.values["enable.auto.offset.store"]
            st.ignored.append("enable.auto.offset.store")  # a librdkafka key the Java client ignores
    commit = st.get("app.commit")
    if commit is None:
        if not auto:
            raise CheckerError("enable.auto.commit=false: say how the application commits with app.commit "
                               "(after-each-record, after-batch, before-processing or periodic)")
        commit = "none"
        st.values["app.commit"] = (commit, "default")
    if commit == "none" and not auto:
        raise CheckerError("app.commit=none means the application never commits, so enable.auto.commit must be "
                           "true; set enable.auto.commit=true or app.commit=after-each-record (or another)")
    if commit != "none" and auto:
        raise CheckerError(f"app.commit={commit} with enable.auto.commit=true: the model has one commit strategy; "
                           "set enable.auto.commit=false to check the manual commits, or app.commit=none")
    processing, sink = st.get("app.processing"), st.get("app.sink")
    if processing == "worker" and commit != "none":
        raise CheckerError("app.processing=worker is modelled with auto-commit only (app.commit=none, "
                           "enable.auto.commit=true); a worker that commits its own offsets is not modelled")
    if st.get("auto.offset.reset") == "none":
        raise CheckerError("auto.offset.reset=none is not modelled (the consumer throws instead of resetting); "
                           "check earliest or latest")
    consumers = int(st.get("app.consumers"))
    if consumers > 3:
        raise CheckerError(f"app.consumers={consumers}: the group model has at most 3 consumers (one partition "
                           "has one owner; a third member already shows every hand-over); use 1 to 3")
    messages = _messages(st, "group", 3, 4, "the messages produced")
    params = {"messages": messages, "consumers": consumers, "reset": st.get("auto.offset.reset"),
              "commit_on_revoke": "yes" if st.get("app.commit.on.revoke") == "true" else "no",
              "kafka_version": kafka, "client_version": java}
    if client == "java-consumer":
        if not versions.has("consumer_protocol", kafka, java):
            raise CheckerError(f"group.protocol=consumer needs app.kafka.version 4.0 or later (KIP-848 is "
                               f"generally available from 4.0), not {st.get('app.kafka.version')}")
        if versions.parse(java) < versions.parse(versions.CONSUMER_PROTOCOL_CLIENT):
            raise CheckerError(f"group.protocol=consumer needs app.client.version {versions.CONSUMER_PROTOCOL_CLIENT}"
                               f" or later (the first AsyncKafkaConsumer), not {st.get('app.client.version')}")
        params["group_protocol"] = "consumer"
    if sink != "plain":
        params["sink"] = sink
    mode = {"after-each-record": "after", "after-batch": "after", "before-processing": "before",
            "periodic": "periodic", "none": "auto"}[commit]
    params["commit"] = mode
    batch = 1
    if client != "librdkafka" and commit != "after-each-record":
        batch = min(int(st.get("max.poll.records")), messages)
    if batch > 1:
        params["batch"] = batch
    if mode == "auto":
        if processing == "worker":
            params["processing"] = "worker"
        if client == "java-consumer" and not versions.has("async_auto_commit_fixed", kafka, java):
            st.notes.append(f"app.client=java-consumer {java} is the AsyncKafkaConsumer before the KAFKA-18641 "
                            "fix (4.0): its background auto-commit can cover records not yet processed")
        elif client == "java-consumer":
            st.notes.append(f"app.client=java-consumer {java} has the KAFKA-18641 fix: its auto-commit covers "
                            "what earlier polls returned, as the classic consumer's does")
        elif client == "librdkafka":
            params["auto_commit_on"] = "librdkafka"
            if st.get("enable.auto.offset.store") == "false":  # R3
                params["offset_store"] = "manual"
                st.notes.append("enable.auto.offset.store=false: the application calls store_offsets() after "
                                "processing, so librdkafka's auto-commit covers processed messages only")
    possible = ["crash", "shutdown", "offset-expiry"]
    if consumers >= 2:
        possible.append("rebalance")
        if processing == "poll-thread":
            possible.append("max-poll-exceeded")
    retention = st.get("retention.ms") or st.get("log.retention.ms")
    if retention != "-1":
        possible.append("retention")
    chosen = _narrow(possible, faults, GROUP_FAULTS)
    for f in chosen:
        params[BUDGETS[f]] = 1
    if "rebalance" in chosen and "max-poll-exceeded" in chosen:
        st.notes.append("rebalance and max-poll-exceeded share their budget of one: a run has one or the other")
    return Run("group", params, tuple(chosen), GROUP_GUARANTEES), [(f, 1) for f in chosen]


def _eos(st: _Settings, client: str, faults: list[str] | None, kafka: str,
         java: str) -> tuple[list[Run], list[tuple[str, int]]]:
    """transactional.id with the consumer's settings: the eos model's consume-transform-produce loop."""
    # The transactional producer is idempotent with acks=all; Kafka refuses anything else.
    explicit = "enable.idempotence" in st.values
    if explicit and st.get("enable.idempotence") == "false":
        raise CheckerError(f"Kafka refuses transactional.id with enable.idempotence=false: \"{TXN_REFUSAL}\" "
                           "(set enable.idempotence=true, or drop transactional.id)")
    if "acks" not in st.values:
        st.values["acks"] = ("all", "default")  # a transactional producer defaults to acks=all in every release
    for key in ("retries", "max.in.flight.requests.per.connection"):
        st.set_default(key, client)
    acks, retries = st.get("acks"), int(st.get("retries"))
    in_flight = int(st.get("max.in.flight.requests.per.connection"))
    why = ("acks" if acks != "all" else "retries" if retries == 0
           else "max.in.flight.requests.per.connection" if in_flight > IDEMPOTENT_IN_FLIGHT else None)
    if why:
        reason = TXN_REFUSAL if not explicit else {
            "acks": "Must set acks to all in order to use the idempotent producer. Otherwise we cannot guarantee "
                    "idempotence.",
            "retries": "Must set retries to non-zero when using the idempotent producer.",
            "max.in.flight.requests.per.connection": "Must set max.in.flight.requests.per.connection to at most "
            f"{IDEMPOTENT_IN_FLIGHT} to use the idempotent producer."}[why]
        fix = {"acks": "acks=all", "retries": "retries above 0",
               "max.in.flight.requests.per.connection": f"max.in.flight.requests.per.connection at most "
                                                        f"{IDEMPOTENT_IN_FLIGHT}"}[why]
        raise CheckerError(f"Kafka refuses transactional.id with {why}={st.get(why)}: \"{reason}\" (set {fix}, "
                           "or drop transactional.id)")
    if not explicit:
        st.values["enable.idempotence"] = ("true", "default")
    # The consumer: how offsets are committed besides sendOffsetsToTransaction (T7).
    auto = st.set_default("enable.auto.commit", client) == "true"
    commit = st.get("app.commit")
    if commit is None:
        st.values["app.commit"] = ("none", "default")
        commit = "none"
    if commit == "none":
        mode = "auto" if auto else "txn"
    elif commit in ("after-each-record", "after-batch"):
        if auto:
            raise CheckerError(f"app.commit={commit} with enable.auto.commit=true: the model has one commit strategy;"
                               " set enable.auto.commit=false to check the commitSync() calls, or app.commit=none")
        mode = "sync"
    else:
        raise CheckerError(f"app.commit={commit} with transactional.id is not modelled: the transactional loop "
                           "commits offsets with sendOffsetsToTransaction (app.commit=none), or with commitSync() "
                           "as well (after-each-record, after-batch)")
    if mode == "auto":
        source = "the default" if st.values["enable.auto.commit"][1] == "default" else st.where("enable.auto.commit")
        st.notes.append(f"enable.auto.commit=true ({source}): poll() and close() also commit the position, outside "
                        "the transaction (T7)")
    elif mode == "sync":
        st.notes.append(f"app.commit={commit}: commitSync() in the transactional loop, after "
                        "sendOffsetsToTransaction and before commitTransaction (T7)")
    consumers = int(st.set_default("app.consumers", client))
    if consumers > 2:
        raise CheckerError(f"app.consumers={consumers}: the eos model has at most 2 instances (one input partition "
                           "has one owner; a second already shows a zombie and its fencing); use 1 or 2")
    messages = _messages(st, "eos", 2, 3, "the input records")
    fencing = st.set_default("app.txn.fencing", client)
    if consumers == 1:
        if fencing != "group-metadata":
            raise CheckerError(f"app.txn.fencing={fencing} has no effect with app.consumers=1 (there is no other "
                               "instance to fence); set app.consumers=2, or drop app.txn.fencing")
        if st.values["app.txn.fencing"][1] == "default":
            del st.values["app.txn.fencing"]
    elif fencing == "group-metadata" and not versions.has("kip447", kafka, java):
        raise CheckerError(f"app.txn.fencing=group-metadata (sendOffsetsToTransaction(offsets, "
                           "consumer.groupMetadata()), KIP-447) needs app.kafka.version and app.client.version 2.5 "
                           f"or later, not {st.get('app.kafka.version')} and {st.get('app.client.version')}; set "
                           "app.txn.fencing=static-id (one transactional.id per input partition), or later versions")
    isolation = st.set_default("isolation.level", client)
    st.notes.append(f"isolation.level={isolation} is read as the output topic's readers' (the eos model's input "
                    "is plain records, written without transactions)")
    if client == "librdkafka":
        st.notes.append(f"app.client=librdkafka runs the Java client's transactional loop at {versions.CURRENT} "
                        "(librdkafka's transactional API takes the same steps)")
    for key in list(st.values):
        if key in EOS_LEAVES_OUT:
            if st.values[key][1] != "default":
                st.not_modelled.append((key, EOS_LEAVES_OUT[key]))
            del st.values[key]
    base = {"commit": mode, "isolation": isolation, "kafka_version": kafka, "client_version": java}
    # One instance with every fault but the zombie's; with two, a second run for the zombie and its fencing
    # (two instances with every fault at once take minutes before KIP-890).
    single = _narrow(["crash", "send-error", "txn-timeout", "commit-timeout", "produce-timeout"], faults, EOS_FAULTS)
    runs = [Run("eos", {"messages": messages, "instances": 1, **base, **{BUDGETS[f]: 1 for f in single}},
                tuple(single), EOS_GUARANTEES)]
    chosen = list(single)
    if consumers == 2:
        pair = _narrow(["crash", "max-poll-exceeded", "send-error", "txn-timeout"], faults, EOS_FAULTS)
        if "max-poll-exceeded" in pair:
            runs.append(Run("eos", {"messages": 1, "instances": 2, "fencing": fencing, **base,
                                    **{BUDGETS[f]: 1 for f in pair}}, tuple(pair), EOS_GUARANTEES))
            chosen = [f for f in EOS_FAULTS if f in chosen or f in pair]
            st.notes.append("app.consumers=2 runs the eos model twice: one instance with "
                            f"{', '.join(single) or 'no fault'} and {messages} input record{'s' if messages > 1 else ''};"
                            f" two instances with {', '.join(pair)} and one input record (the zombie and its "
                            "fencing: two instances with every fault take minutes)")
    return runs, [(f, 1) for f in chosen]


def _messages(st: _Settings, model: str, default: int, most: int, what: str) -> int:
    """app.messages for a model's runs: its default said in a note when unset, refused above what it checks."""
    if st.get("app.messages") is None:
        st.notes.append(f"app.messages={default} in the {model} model's runs ({what}; set app.messages to change)")
    messages = int(st.get("app.messages") or default)
    if messages > most:
        unit = "input records" if model == "eos" else "messages"
        raise CheckerError(f"app.messages={messages}: the {model} model checks at most {most} {unit}; "
                           f"use 1 to {most}")
    return messages


def _narrow(possible: list[str], faults: list[str] | None, order: tuple[str, ...]) -> list[str]:
    ordered = [f for f in order if f in possible]
    if faults is None:
        return ordered
    return [f for f in ordered if f in faults]


def _pipeline(st: _Settings, client: str, faults: list[str] | None, kafka: str, java: str):
    java_client = client != "librdkafka"
    if java_client and not versions.has("producer_defaults", kafka, java) and "acks" not in st.values:
        st.values["acks"] = ("1", "default")  # KIP-679: acks=all is the default from 3.0
    if java_client and not versions.has("retries_default", kafka, java) and "retries" not in st.values:
        st.values["retries"] = ("0", "default")  # KIP-91: retries=2147483647 is the default from 2.1
    for key in ("acks", "retries", "max.in.flight.requests.per.connection", "min.insync.replicas",
                "unclean.leader.election.enable"):
        st.set_default(key, client)
    acks, retries = st.get("acks"), int(st.get("retries"))
    in_flight = int(st.get("max.in.flight.requests.per.connection"))
    rf_key = "default.replication.factor" if ("default.replication.factor" in st.values
                                              and "replication.factor" not in st.values) else "replication.factor"
    rf = int(st.set_default(rf_key, client))
    min_isr = int(st.get("min.insync.replicas"))
    explicit = "enable.idempotence" in st.values
    idem = st.get("enable.idempotence") if explicit else KEYS["enable.idempotence"].default_for(client)
    if java_client and not explicit and not versions.has("idempotence_default", kafka, st.get("app.client.version")):
        idem = "false"  # KIP-679 made it true in 3.0, applied from 3.0.1, 3.1.1 and 3.2.0 (KAFKA-13598)
    if idem == "true":
        why = ("acks" if acks != "all" else "retries" if retries == 0
               else "max.in.flight.requests.per.connection" if in_flight > IDEMPOTENT_IN_FLIGHT else None)
        if why and explicit:
            reason = {"acks": "Must set acks to all in order to use the idempotent producer. Otherwise we cannot "
                              "guarantee idempotence.",
                      "retries": "Must set retries to non-zero when using the idempotent producer.",
                      "max.in.flight.requests.per.connection": "Must set max.in.flight.requests.per.connection "
                      f"to at most {IDEMPOTENT_IN_FLIGHT} to use the idempotent producer."}[why]
            raise CheckerError(f"Kafka refuses enable.idempotence=true with {why}={st.get(why)}: \"{reason}\" "
                               f"(set {why} accordingly or enable.idempotence=false)")
        if why:
            idem = "false"
            st.notes.append(f"enable.idempotence=false: the default true is turned off because {why}="
                            f"{st.get(why)} (Java 3.2 and later, KAFKA-13673)")
    if not explicit:
        st.values["enable.idempotence"] = (idem, "default")
    if rf > 3:
        raise CheckerError(f"{rf_key}={rf}: the pipeline model has at most 3 replicas; check with "
                           "-s replication.factor=3 (and min.insync.replicas at most 3)")
    if min_isr > rf:
        raise CheckerError(f"min.insync.replicas={min_isr} is more than the replication factor {rf}: every acks=all "
                           "write would fail with NotEnoughReplicasException; set min.insync.replicas to at most "
                           f"{rf}")
    messages = _messages(st, "pipeline", 2, 3, "the messages sent")
    if min_isr > 1 and acks != "all" and not versions.has("strict_min_isr", kafka, java):
        st.notes.append(f"min.insync.replicas={min_isr} bounds acks=all writes only before strict min ISR "
                        f"(KIP-966, Kafka 4.1): with acks={acks} it has no effect")
        min_isr = 1
    params = {"messages": messages, "replicas": rf, "acks": acks, "min_isr": min_isr,
              "unclean": "yes" if st.get("unclean.leader.election.enable") == "true" else "no",
              "retries": min(retries, 1), "idempotence": "yes" if idem == "true" else "no",
              "in_flight": min(in_flight, 2), "max_crashes": 0, "kafka_version": kafka, "client_version": java}
    if st.get("app.sink") == "offsets-in-sink":
        st.notes.append("app.sink=offsets-in-sink runs as a plain sink in the pipeline model: its consumer does not "
                        "crash here, and a resent copy has a new offset, which the stored offset does not catch")
    elif st.get("app.sink") not in (None, "plain"):
        params["sink"] = st.get("app.sink")
    if retries > 1:
        st.notes.append(f"retries={retries} is checked as 1 retry: one retry already writes a record twice (P3) "
                        "or out of order (P4); the producer's giving up after more failures is not modelled")
    if in_flight > 2:
        st.notes.append(f"max.in.flight.requests.per.connection={in_flight} is checked as 2 requests in flight, "
                        "enough to reorder (P4)")
    possible = ["request-timeout"] + (["broker-failure", "isr-shrink"] if rf > 1 else [])
    chosen = _narrow(possible, faults, PIPELINE_FAULTS)
    for f in chosen:
        params[BUDGETS[f]] = 1
    return Run("pipeline", params, tuple(chosen), PIPELINE_GUARANTEES), [(f, 1) for f in chosen]


def read(files: list[tuple[str, str]], overrides: list[tuple[str, str]], faults: list[str] | None) -> Setup:
    """The setup the files and overrides describe; bad input or what Kafka refuses: a CheckerError."""
    st = _Settings(_gather(files, overrides))
    client = _client(st)
    consumer, producer = _sides(st)
    transactional = "transactional.id" in st.values
    if transactional:  # the consume-transform-produce loop; the replicated partition only when its keys are given
        consumer, producer = False, any(k in st.given for k in REPLICATION_KEYS)
    if not consumer and not producer and not transactional:
        raise CheckerError("nothing to check: the settings have no consumer, producer or topic key that bears on "
                           "delivery (e.g. enable.auto.commit, acks, replication.factor)")
    if faults is not None:
        everything = ((EOS_FAULTS if transactional else ()) + (GROUP_FAULTS if consumer else ())
                      + (PIPELINE_FAULTS if producer else ()))
        for f in faults:
            if f not in everything:
                raise CheckerError(f"--faults: unknown fault {f!r} for these settings; the faults are "
                                   f"{', '.join(everything)}")
    kafka, java = _versions(st, client)
    runs, considered = [], []
    if transactional:
        eos_runs, fs = _eos(st, client, faults, kafka, java)
        runs += eos_runs
        considered += fs
    if consumer:
        run, fs = _group(st, client, faults, kafka, java)
        runs.append(run)
        considered += fs
    if producer:
        run, fs = _pipeline(st, client, faults, kafka, java)
        runs.append(run)
        considered += fs
    if faults is not None:
        unusable = [f for f in faults if f not in {name for name, _ in considered}]
        if unusable:
            raise CheckerError(f"--faults: {', '.join(unusable)} cannot happen with these settings (e.g. "
                               "broker-failure needs replication.factor > 1, rebalance and max-poll-exceeded "
                               "app.consumers > 1, retention retention.ms other than -1)")
    eos_line = "the eos model (the consume-transform-produce loop in transactions)"
    if transactional and producer:
        line = (f"answered by {eos_line} and the pipeline model (the transactional producer as the idempotent "
                "producer it is, and the replicated partition) together")
        st.notes.append("the pipeline model answers for the replicated partition: its producer is the idempotent "
                        "one (acks=all) without transactions, its consumer a plain one that commits after "
                        "processing; the transactions are the eos model's")
    elif transactional:
        line = f"answered by {eos_line}; the output partition is not replicated (give replication.factor to check it)"
    elif consumer and producer:
        line = ("answered by the group model (the consumer group) and the pipeline model (the producer and the "
                "replicated partition) together")
    elif consumer:
        line = "answered by the group model (the consumer group; the producer and the brokers never fail)"
    else:
        line = ("answered by the pipeline model (the producer and the replicated partition; its consumer "
                "commits after processing and never crashes)")
    _not_modelled(st, ("isolation.level",) if transactional else ())
    settings = {k: st.values[k] for k in sorted(st.values)}
    return Setup(settings=settings, ignored=sorted(set(st.ignored)), not_modelled=st.not_modelled,
                 model_line=line, runs=runs, faults=[(f, b) for f, b in dict(considered).items()], notes=st.notes,
                 requirements={w: tuple(g for g in gs if any(g in r.guarantees for r in runs))
                               for w, gs in REQUIREMENTS.items()},
                 label=label, remedies=remedies)


# ----------------------------------------------------------------------- causes and remedies

def label(run: Run, events: list[str], guarantee: str) -> list[str]:
    """The catalogue ids that explain a violation of `guarantee` found by `run`, from its settings
    and the actions and faults its trace took (spec/kafka-failure-modes.md)."""
    p, m = run.params, set(events)
    # L loss, D duplicate, R reordering, A an aborted record read, T a torn transaction (offsets and output apart)
    effect = {"no-loss": "L", "no-acked-loss": "L", "no-duplicate-processing": "D", "no-duplicate-in-log": "D",
              "in-order": "R", "no-aborted-read": "A", "atomic-offsets": "LDT"}[guarantee]
    out = []
    if run.model == "eos":
        commit, uncommitted = p["commit"], p["isolation"] == "read_uncommitted"
        bumped = versions.has("kip890", p["kafka_version"], p["client_version"])
        verified = versions.has("verification", p["kafka_version"], p["client_version"])
        rules = [
            ("T7", "L", commit in ("auto", "sync")),
            ("T1", "D", p.get("fencing") == "none" and "max-poll-exceeded" in m),
            ("T3", "LDAT", not bumped and ("LateEndTxn" in m or "LateProduce" in m)),
            ("T4", "LDAT", not verified and "LateProduce" in m),
            ("T5", "A", uncommitted and "txn-timeout" in m),
            ("C14", "A", uncommitted),
        ]
    elif run.model == "group":
        commit, worker, on = p["commit"], p.get("processing") == "worker", p.get("auto_commit_on", "poll")
        if p.get("group_protocol") == "consumer" and not versions.has(
                "async_auto_commit_fixed", p["kafka_version"], p["client_version"]):
            on = "background"  # the AsyncKafkaConsumer before KAFKA-18641
        rules = [
            ("B9", "L", "retention" in m),
            ("C12", "L" if p["reset"] == "latest" else "D", "offset-expiry" in m),
            ("C5", "L", commit == "auto" and worker and "shutdown" in m),
            ("C4", "L", commit == "auto" and worker and "crash" in m),
            ("C6", "L", on == "background" and "BackgroundAutoCommit" in m),
            ("C16", "L", on == "librdkafka" and "BackgroundAutoCommit" in m),
            ("C1", "L", commit == "before" and "crash" in m),
            ("C9", "DR", "max-poll-exceeded" in m),
            ("C10", "D", "rebalance" in m),
            ("C3", "D", commit == "auto" and ("crash" in m or "shutdown" in m)),
            ("C2", "D", commit in ("after", "periodic") and "crash" in m),
        ]
    else:
        rules = [
            ("P1", "L", p["acks"] == "0" and ("request-timeout" in m or "broker-failure" in m)),
            ("P2", "L", p["acks"] == "1" and "broker-failure" in m),
            ("B1", "L", p["unclean"] == "yes" and "broker-failure" in m),
            ("B2", "L", p["acks"] == "all" and p["min_isr"] < 2 and "broker-failure" in m),
            ("P4", "R", p["in_flight"] > 1 and "Retry" in m),
            ("P3", "D", p["idempotence"] == "no" and "Retry" in m),
        ]
    for cid, effects, applies in rules:
        if applies and set(effect) & set(effects):
            out.append(cid)
    return out


def _upgrades(current: dict[str, str]) -> list[dict[str, str]]:
    """Against B1's offset reuse: truncation detection (KIP-320) in the client, strict min ISR (KIP-966)."""
    out = []
    client, kafka = current.get("app.client.version"), current.get("app.kafka.version")
    if client and not versions.has("truncation_detection", client=client):
        out.append({"app.client.version": versions.CURRENT})
    if kafka and not versions.has("strict_min_isr", kafka=kafka):
        out.append({"app.kafka.version": versions.CURRENT})
    return out


DUP = {"app.sink": "idempotent"}  # R1: the side effect keyed by offset or message id, applied at most once
MANUAL = {"enable.auto.commit": "false", "app.commit": "after-each-record"}
# Against T3 and T4: KIP-890 (part 1, verification, in the brokers from 3.6; part 2 in brokers and clients from 4.0)
KIP890 = [{"app.kafka.version": versions.CURRENT}, {"app.client.version": versions.CURRENT},
          {"app.kafka.version": versions.CURRENT, "app.client.version": versions.CURRENT}]


def remedies(guarantee: str, ids: list[str], current: dict[str, str]) -> list[dict[str, str]]:
    """Candidate changes against the causes `ids` (the catalogue's "Prevents" column and R1-R5), to be
    re-checked: `checker check` offers one only when its re-run shows the guarantee holding."""
    out: list[dict[str, str]] = []
    for cid in ids:
        out += {
            "B9": [{"retention.ms": "-1"}],
            "C12": [{"auto.offset.reset": "earliest"}] if guarantee == "no-loss" else [DUP],
            "C5": [{"app.processing": "poll-thread"}],
            "C4": [{"app.processing": "poll-thread"}],
            "C6": [{"app.client.version": versions.CURRENT},
                   {"app.client": "java-classic", "group.protocol": "classic"}, MANUAL],
            "C16": [{"enable.auto.offset.store": "false"}, MANUAL],  # R3
            "C1": [{"app.commit": "after-each-record"}],
            "C9": [DUP],
            "C10": [{"app.commit.on.revoke": "true"}, DUP],  # R5, R1
            "C3": [DUP], "C2": [DUP],
            "P1": [{"acks": "all"}], "P2": [{"acks": "all"}],
            "B1": [{"unclean.leader.election.enable": "false"}] + _upgrades(current),
            "B2": [{"min.insync.replicas": "2"}, {"min.insync.replicas": "2", "replication.factor": "3"}],
            "P3": [{"enable.idempotence": "true"}, {"enable.idempotence": "true", "acks": "all"}, DUP],
            "P4": [{"enable.idempotence": "true"}, {"enable.idempotence": "true", "acks": "all"},
                   {"max.in.flight.requests.per.connection": "1"}],
            # the transactional loop (T1-T7, C14)
            "T7": [{"enable.auto.commit": "false"} if current.get("enable.auto.commit") == "true"
                   else {"app.commit": "none"}],
            "T1": [{"app.txn.fencing": "group-metadata"}, {"app.txn.fencing": "static-id"}],
            "T3": KIP890, "T4": KIP890,
            "T5": [{"isolation.level": "read_committed"}], "C14": [{"isolation.level": "read_committed"}],
        }.get(cid, [])
    transactional = "transactional.id" in current  # the eos model's output is a topic: no sink to make idempotent
    if guarantee in ("no-duplicate-processing",) and DUP not in out and not transactional:
        out.append(DUP)
    seen, unique = set(), []
    for c in out:
        k = tuple(sorted(c.items()))
        if k not in seen:
            seen.add(k)
            unique.append(c)
    return unique
