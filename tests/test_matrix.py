"""The delivery-guarantee matrix: every row's verdicts and shortest traces, its agreement
with the failure catalogue, the failure-mode library's discovery, and the CLI around it."""

import json
import os
import re
import subprocess
import sys

import pytest

from checker import Options, SpecError, check
from checker.matrix import columns_of, matrix_json, matrix_markdown, run_matrix, trace_page
from checker.registry import configs, get_model
from spec import catalogue, failures
from spec.matrix import EFFECT_PROPERTY, EOS_PROPERTY, PIPELINE_PROPERTY
from spec_copy import copy_spec, run_checker

EXPLICIT = Options(engine="explicit")  # the reference engine

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATALOGUE = os.path.join(ROOT, "docs", "kafka-failure-modes.md")
# The ground truth lives next to the main checkout (../shared) or the worktrees (../../shared).
SHARED = [os.path.join(ROOT, *up, "shared", "kafka-failure-modes.md") for up in ([".."], ["..", ".."])]

CRASH_DUP = "Produce Poll(0) Process(0) Crash(0) Restart(0) Poll(0) Process(0)"
FAILOVER = "Send(0) Append(0) Ack(0) BrokerFails(0) Elect(1)"  # P2: acked by the leader alone
UNCLEAN = "Send(0) Append(0) ShrinkIsr(1) Ack(0) BrokerFails(0) Elect(1)"  # B1, B2
RESENT = "Send(0) Append(0) LoseResponse(0) Retry(0) Append(0)"  # P3
# T3: commitTransaction() times out, the application aborts and retries the record; the delayed
# EndTxn then arrives while the retry's transaction is ongoing.
TIMED_OUT = ("Poll(0) AddPartition(0) Produce(0) SendOffsets(0) CommitTimesOut(0) Abort(0) FetchOffset(0) Poll(0) "
             "AddPartition(0)")
RESENT_PROCESSED = "Send(0) Append(0) Poll Process Commit LoseResponse(0) Retry(0) Append(0) Poll Process"
# B1 without KIP-966 and KIP-320: the consumer reads m0, whose write failed after its append (the ISR
# shrank), the unclean election takes it back, and m1, acknowledged at the same offset, is never read.
OFFSET_REUSE = ("Send(0) Append(0) ShrinkIsr(1) Expire(0) Send(1) Poll Process Commit BrokerFails(0) Elect(1) "
                "RestartBroker(0) Truncate(0) Fetch(0) Append(1) Fetch(0) Ack(1)")
# Row id -> (states explored, {violated property: its least shortest trace}); every
# property not listed holds.
EXPECTED = {
    "at-least-once": (102, {"no-duplicate-processing": CRASH_DUP}),
    "at-most-once": (84, {"no-loss": "Produce Poll(0) Commit(0) Crash(0)"}),
    "batch-commit": (159, {"no-duplicate-processing": CRASH_DUP}),
    "auto-commit-sync": (181, {"no-duplicate-processing": CRASH_DUP}),
    "auto-commit-async": (335, {"no-loss": "Produce Poll(0) PollAutoCommit(0) Crash(0)",
                                "no-duplicate-processing": CRASH_DUP}),
    "auto-commit-background": (248, {"no-loss": "Produce Poll(0) BackgroundAutoCommit(0) Crash(0)",
                                     "no-duplicate-processing": CRASH_DUP}),
    "auto-commit-close": (155, {"no-loss": "Produce Poll(0) Close(0)"}),
    "commit-sync-mid-batch": (157, {"no-loss": "Produce Produce Poll(0) Process(0) Commit(0) Crash(0)",
                                    "no-duplicate-processing": CRASH_DUP}),
    "commit-off-by-one": (90, {"no-duplicate-processing":
                               "Produce Poll(0) Process(0) Commit(0) Close(0) Restart(0) Poll(0) Process(0)"}),
    "rebalance-zombie": (130, {"no-duplicate-processing": "Produce Poll(0) Process(0) Evict(0) Poll(1) Process(1)"}),
    "rebalance-commit-on-revoke": (130, {"no-duplicate-processing":
                                         "Produce Poll(0) Process(0) Evict(0) Poll(1) Process(1)"}),
    "rebalance-uncommitted": (234, {"no-duplicate-processing":
                                    "Produce Poll(0) Process(0) SkipCommit(0) Rebalance(0) Poll(1) Process(1)"}),
    "rebalance-revoke-commits": (105, {}),
    "offset-expiry-latest": (123, {"no-loss": "Produce Produce Produce Close(0) ExpireOffsets Restart(0)"}),
    "offset-expiry-earliest": (134, {"no-duplicate-processing":
                                     "Produce Poll(0) Process(0) Commit(0) Close(0) ExpireOffsets Restart(0) "
                                     "Poll(0) Process(0)"}),
    "new-group-latest": (44, {"no-loss": "Produce Produce Produce Restart(0)"}),
    "new-group-earliest": (26, {}),
    "retention-lag": (43, {"no-loss": "Produce DeleteRecords"}),
    # The pipeline model: producer and broker failure modes (P1-P4, B1, B2).
    "acks-0": (27, {"no-acked-loss": "Send(0) LoseRequest(0)", "no-loss": "Send(0) LoseRequest(0)"}),
    "acks-1-failover": (885, {"no-acked-loss": FAILOVER, "no-loss": FAILOVER}),
    "acks-all-failover": (760, {}),
    "acks-all-min-isr-2": (8479, {}),
    "unclean-election": (2540, {"no-acked-loss": UNCLEAN, "no-loss": UNCLEAN}),
    "producer-retry": (143, {"no-duplicate-in-log": RESENT, "no-duplicate-processing": RESENT_PROCESSED}),
    "idempotent-producer": (82, {}),
    "in-flight-reorder": (373, {"no-duplicate-in-log": RESENT, "no-duplicate-processing": RESENT_PROCESSED,
                                "in-order": "Send(0) Send(1) LoseRequest(0) Append(1) Retry(0) Append(0) "
                                            "Poll Process Commit Poll Process"}),
    "in-flight-idempotent": (221, {}),
    # The eos model: the consume-transform-produce loop in transactions (T1-T3, T5, T7, C14, R4).
    "eos-transactional": (116, {}),
    "eos-abort-no-rewind": (30, {"no-loss": "Poll(0) AddPartition(0) Produce(0) SendOffsets(0) Commit(0) "
                                            "Poll(0) AddPartition(0) SendFails(0) Abort(0)",
                                 "atomic-offsets": "Poll(0) AddPartition(0) SendFails(0) Abort(0) "
                                                   "Poll(0) AddPartition(0) Produce(0) SendOffsets(0) Commit(0)"}),
    "eos-abort-rewind": (42, {}),
    "eos-commit-timeout-abort": (61, {"no-loss": f"{TIMED_OUT} LateEndTxn(0) Produce(0) SendOffsets(0) Commit(0)",
                                      "atomic-offsets": f"{TIMED_OUT} Produce(0) LateEndTxn(0)"}),
    "eos-commit-timeout-abort-kip890": (29, {}),
    "eos-zombie-unfenced": (67, {"no-duplicate-processing":
                                 "Poll(0) AddPartition(0) Produce(0) Evict(0) FetchOffset(1) Poll(1) AddPartition(1) "
                                 "Produce(1) SendOffsets(0) SendOffsets(1) Commit(0) Commit(1)"}),
    "eos-zombie-fenced": (70, {}),
    "eos-zombie-static-id": (99, {}),
    "eos-txn-timeout": (38, {}),
    "eos-auto-commit": (21, {"no-loss": "Poll(0) AddPartition(0) TxnTimeout(0) Close(0)",
                             "atomic-offsets": "Poll(0) AddPartition(0) TxnTimeout(0) Close(0)"}),
    "read-uncommitted": (48, {"no-aborted-read": "Poll(0) AddPartition(0) Produce(0) Read Crash(0) Restart(0)"}),
    "read-committed": (40, {}),
    # librdkafka's auto-commit (C16) and its remedy R3; a rewinding commit retry (C15).
    "librdkafka-auto-commit": (248, {"no-loss": "Produce Poll(0) BackgroundAutoCommit(0) Crash(0)",
                                     "no-duplicate-processing": CRASH_DUP}),
    "librdkafka-manual-store": (186, {"no-duplicate-processing": CRASH_DUP}),
    "async-commit-retry": (158, {"no-duplicate-processing": "Produce Produce Poll(0) Process(0) CommitFails(0) "
                                 "Poll(0) Process(0) Commit(0) RetryCommit(0) Close(0) Restart(0) Poll(0) "
                                 "Process(0)"}),
    # C11: the committed offset of a group.id that another assign()ing instance shares.
    "shared-group-assign": (257, {"no-loss": "Produce ForeignCommit(1)",
                                  "no-duplicate-processing": "Produce Poll(0) Process(0) Commit(0) Close(0) "
                                  "ForeignCommit(0) Restart(0) Poll(0) Process(0)"}),
    # The remedies R1 and R2 on the settings of the rows they fix.
    "idempotent-sink": (78, {}),
    "idempotent-sink-auto-commit": (120, {}),
    "idempotent-sink-off-by-one": (69, {}),
    "idempotent-sink-zombie": (130, {}),
    "idempotent-sink-offset-expiry": (110, {}),
    "offsets-in-sink": (560, {}),
    "offsets-in-sink-commit-before": (78, {}),
    "offsets-in-sink-mid-batch": (118, {}),
    "idempotent-sink-producer-id": (143, {"no-duplicate-in-log": RESENT}),
    "idempotent-sink-by-offset": (143, {"no-duplicate-in-log": RESENT, "no-duplicate-processing": RESENT_PROCESSED}),
    # Rows under the Kafka versions where their answer changes (spec/versions.py).
    "min-isr-2-unclean@kafka-3.9-client-2.2": (2496, {"no-loss": OFFSET_REUSE}),
    "min-isr-2-unclean@kafka-3.9-client-4.1": (2502, {}),  # KIP-320: the consumer reads the reused offset
    "min-isr-2-unclean@kafka-4.1-client-2.2": (2211, {}),  # KIP-966: the high watermark never covered m0
    "async-auto-commit@kafka-4.1-client-3.9": (248, {"no-loss": "Produce Poll(0) BackgroundAutoCommit(0) Crash(0)",
                                                     "no-duplicate-processing": CRASH_DUP}),
    "async-auto-commit@kafka-4.1-client-4.1": (181, {"no-duplicate-processing": CRASH_DUP}),  # KAFKA-18641
}
# Rows whose effect shows only in what the consumer processes, not in the leader's log.
CONSUMER_ONLY = {"min-isr-2-unclean@kafka-3.9-client-2.2"}
REQUIRED = ["at-least-once", "at-most-once", "batch-commit", "auto-commit-sync", "auto-commit-async",
            "commit-sync-mid-batch", "commit-off-by-one", "rebalance-zombie", "rebalance-commit-on-revoke",
            "offset-expiry-latest", "offset-expiry-earliest", "retention-lag",
            "acks-0", "acks-1-failover", "acks-all-min-isr-2", "unclean-election", "producer-retry",
            "idempotent-producer", "in-flight-reorder", "in-flight-idempotent",
            "eos-transactional", "eos-abort-no-rewind", "eos-abort-rewind", "eos-commit-timeout-abort",
            "eos-commit-timeout-abort-kip890", "eos-zombie-unfenced", "eos-zombie-fenced", "eos-auto-commit",
            "read-uncommitted", "read-committed",
            "librdkafka-auto-commit", "librdkafka-manual-store", "idempotent-sink", "offsets-in-sink",
            "async-commit-retry", "shared-group-assign"]


@pytest.fixture(scope="module")
def rows():
    return {r.config.id: r for r in run_matrix(list(configs().values()), get_model)}


def run(*args):
    env = dict(os.environ)
    env.pop("CHECKER_MODELS", None)
    return subprocess.run([sys.executable, "-m", "checker", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_every_required_row_is_there_and_pinned(rows):
    assert set(REQUIRED) <= set(rows)
    assert set(rows) == set(EXPECTED)


@pytest.mark.parametrize("row_id", sorted(EXPECTED))
def test_row_verdicts_and_shortest_traces(rows, row_id):
    r = rows[row_id]
    states, violated = EXPECTED[row_id]
    assert r.result.complete and r.result.states == states
    for p in r.result.properties:
        if p.name in violated:
            assert p.verdict == "violated", p.name
            assert " ".join(p.trace.actions) == violated[p.name]
        else:
            assert p.verdict == "holds" and p.trace is None, p.name


def catalogue_effects():
    """Catalogue id -> the effect letters of its Eff. column (L, D, R), as the spec package reads them."""
    return {i: set(e.effects) for i, e in catalogue.entries().items()}


def test_the_package_reads_the_docs_copy_of_the_catalogue():
    packaged = os.path.join(ROOT, "spec", catalogue.FILE)
    assert open(packaged, encoding="utf-8").read() == open(CATALOGUE, encoding="utf-8").read(), \
        "copy docs/kafka-failure-modes.md to spec/ (the package reads that copy at run time)"
    assert len(catalogue.entries()) == 43 and catalogue.summary() == "P1-P9, B1-B11, C1-C16, T1-T7"


def test_catalogue_copy_is_the_shared_one():
    found = [p for p in SHARED if os.path.exists(p)]
    if not found:
        pytest.skip("the shared catalogue is not next to this checkout")
    assert open(found[0], encoding="utf-8").read() == open(CATALOGUE, encoding="utf-8").read()


def test_catalogue_has_c16_and_the_remedies():
    # C16: librdkafka stores the offset before the hand-over (loss, and duplicates on a later crash).
    assert catalogue_effects()["C16"] == {"L", "D"}
    text = open(CATALOGUE, encoding="utf-8").read()
    remedies = re.findall(r"^\| (R\d+) \|", text, flags=re.M)
    assert remedies == ["R1", "R2", "R3", "R4", "R5"]


def test_remedies_are_read_with_what_they_prevent():
    got = {r.id: {k: "".join(sorted(v)) for k, v in r.prevents.items()} for r in catalogue.remedies().values()}
    assert got == {
        "R1": {"C2": "D", "C3": "D", "C8": "D", "C9": "D", "C10": "D", "C12": "D", "P3": "D"},
        "R2": {"C2": "D", "C9": "D", "C10": "D", "C1": "L", "C7": "L"},
        "R3": {"C16": "L"},
        "R4": {"C2": "D", "C9": "D", "C10": "D", "P3": "D"},
        "R5": {"C10": "D"},
    }
    with pytest.raises(SpecError, match="applies 'R9', which the failure catalogue .* its remedies are R1, R2"):
        catalogue.check_remedies(["R9"], "matrix row 'x'")


@pytest.mark.parametrize("row_id", sorted(EXPECTED))
def test_row_agrees_with_the_catalogue_effect_column(rows, row_id):
    effects = catalogue_effects()
    assert effects["C9"] == {"D"} and effects["C12"] == {"L", "D"} and effects["B9"] == {"L"}
    r = rows[row_id]
    ids = re.findall(r"([PBCT]\d+) \(([^)]*)\)", r.config.source)
    assert ids, r.config.source
    prevents = {k: v for rid in r.config.remedies for k, v in catalogue.remedies()[rid].prevents.items()}
    shown, remedied = set(), set()
    for cid, eff in ids:
        assert cid in effects, cid
        if eff != "prevented":
            assert set(eff) <= effects[cid], (cid, eff, effects[cid])  # an effect the catalogue gives
            shown |= set(eff)
            remedied |= set(eff) & set(prevents.get(cid, ()))
    # What the search found: exactly the properties of the effects the catalogue gives, except
    # that an effect the row's remedy prevents does not reach what the application processes.
    violated = {p.name for p in r.result.properties if p.verdict == "violated"}
    if r.config.model == "pipeline":  # each effect shows in the log and in what is processed
        log = {"no-acked-loss", "no-duplicate-in-log"} if row_id in CONSUMER_ONLY else set()
        assert violated == ({p for e in shown for p in PIPELINE_PROPERTY[e]} - log
                            - {EFFECT_PROPERTY[e] for e in remedied})
    elif r.config.model == "eos":  # a loss is an offset committed without its output
        assert violated == {p for e in shown for p in EOS_PROPERTY[e]}
    else:
        assert violated == {EFFECT_PROPERTY[e] for e in shown - remedied}
    assert r.agrees() is True


def test_violations_agree_with_bounded_model_checking(rows):
    for row_id in ("at-most-once", "auto-commit-async", "rebalance-zombie", "offset-expiry-latest"):
        r = rows[row_id]
        for prop, trace in EXPECTED[row_id][1].items():
            bmc = Options(engine="bmc", properties=[prop], max_depth=len(trace.split()))
            res = check(r.result.system, bmc).prop(prop)
            assert res.verdict == "violated" and " ".join(res.trace.actions) == trace


def test_commit_on_revoke_and_commit_per_batch_prevent_c10_not_c9():
    m = get_model("group")
    no_crash = [f for f in m.failure_modes if f != "rebalance"]
    r = check(m.build({"consumers": 2, "commit": "after"}, ["rebalance"], no_crash), EXPLICIT)
    assert r.prop("no-duplicate-processing").verdict == "holds"  # committed before every poll
    r = check(m.build({"consumers": 2, "commit": "after", "commit_on_revoke": "yes", "batch": 2},
                        ["max-poll-exceeded"], [f for f in m.failure_modes if f != "max-poll-exceeded"]), EXPLICIT)
    assert r.prop("no-duplicate-processing").verdict == "violated"  # the zombie's commit fails


def test_in_order_is_not_vacuous_a_zombie_and_commit_before_reorder():
    m = get_model("group")
    r = check(m.build({"consumers": 2, "commit": "before"}, ["max-poll-exceeded"], ["crash"]), EXPLICIT)
    assert r.prop("in-order").trace.actions == [
        "Produce", "Produce", "Poll(0)", "Commit(0)", "Evict(0)", "Poll(1)", "Commit(1)", "Process(1)", "Process(0)"]


def test_shutdown_alone_keeps_at_least_once_exact():
    m = get_model("group")
    r = check(m.build({}, ["shutdown"], ["crash"]), EXPLICIT)
    assert [p.verdict for p in r.properties] == ["holds", "holds", "holds"]


def test_matrix_json_shape(rows):
    cfgs = list(configs().values())
    d = matrix_json([rows[c.id] for c in cfgs], columns_of(cfgs))
    assert d["columns"] == ["no-loss", "no-duplicate-processing", "in-order", "no-acked-loss",
                            "no-duplicate-in-log", "no-aborted-read", "atomic-offsets"]
    row = next(x for x in d["rows"] if x["id"] == "auto-commit-async")
    assert set(row) == {"id", "description", "settings", "remedies", "cells", "fixed_by"}
    assert row["remedies"] == [] and row["fixed_by"] == {"no-loss": [],
                                                         "no-duplicate-processing": ["idempotent-sink-auto-commit"]}
    assert row["settings"] == {"model": "group", "params": {"commit": "auto", "processing": "worker"},
                               "failure_modes": ["crash"]}
    assert row["cells"]["no-loss"] == {"verdict": "violated", "states": 335, "trace_length": 4, "proved": None}
    assert row["cells"]["in-order"] == {"verdict": "holds", "states": 335, "trace_length": None, "proved": None}


def test_matrix_cli_json_and_exit_code():
    r = run("matrix", "--json", "--config", "retention-lag", "--config", "at-most-once")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert [x["id"] for x in d["rows"]] == ["retention-lag", "at-most-once"]
    assert d["rows"][0]["cells"]["no-loss"]["trace_length"] == 2


def test_matrix_limits_make_cells_unknown_and_exit_3():
    r = run("matrix", "--json", "--max-states", "5", "--config", "at-least-once")
    assert r.returncode == 3
    cells = json.loads(r.stdout)["rows"][0]["cells"]
    assert cells["no-loss"] == {"verdict": "unknown", "states": cells["no-loss"]["states"],
                                "trace_length": None, "proved": None}
    r = run("matrix", "--max-states", "5", "--config", "at-least-once")
    assert r.returncode == 3 and "undecided: at-least-once" in r.stdout


def test_matrix_text_lists_every_row_and_agrees():
    r = run("matrix")
    assert r.returncode == 0, r.stderr
    for row_id in EXPECTED:
        assert re.search(rf"^{re.escape(row_id)}\s", r.stdout, re.M), row_id
    assert "every cell agrees with its source" in r.stdout


def _update_matrix_script():
    """scripts/update_matrix.py, which rewrites the matrix page (its `page_links` relinks the table)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("update_matrix", os.path.join(ROOT, "scripts", "update_matrix.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_matrix_page_and_trace_pages_are_current(rows):
    cfgs = list(configs().values())
    ordered = [rows[c.id] for c in cfgs]
    script = _update_matrix_script()
    md = script.page_links(matrix_markdown(ordered, columns_of(cfgs)))
    page_path = os.path.join(ROOT, script.PAGE)
    text = open(page_path, encoding="utf-8").read()
    block = re.search(r"<!-- matrix:begin[^>]*-->\n(.*?)<!-- matrix:end -->", text, re.S).group(1)
    assert block == md, "run python scripts/update_matrix.py"
    for r in ordered:
        path = os.path.join(ROOT, "docs", "traces", f"{r.config.id}.md")
        assert open(path, encoding="utf-8").read() == trace_page(r), f"run python scripts/update_matrix.py ({path})"
    assert sorted(os.listdir(os.path.join(ROOT, "docs", "traces"))) == sorted(f"{r.config.id}.md" for r in ordered)
    links = re.findall(r"\]\(([^)#]+)#([\w-]+)\)", block)
    assert links and all(link.startswith("traces/") for link, _ in links)
    for link, anchor in links:  # relative to the matrix page
        page = open(os.path.join(os.path.dirname(page_path), link), encoding="utf-8").read()
        assert f"\n## {anchor}\n" in page


def test_verify_config_and_f_alias():
    r = run("verify", "--config", "auto-commit-async", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["model"] == "group" and d["failure_modes"] == ["crash"]
    assert d["params"]["commit"] == "auto" and d["params"]["processing"] == "worker"
    assert {p["name"]: (p["expected"], p["verdict"]) for p in d["properties"]} == {
        "no-loss": ("violated", "violated"), "no-duplicate-processing": ("violated", "violated"),
        "in-order": ("holds", "holds")}
    # -f is --with. The group model states no expectation of its own: its verdicts are findings.
    r = run("verify", "group", "-f", "retention", "--without", "crash", "--json")
    d = json.loads(r.stdout)
    assert d["failure_modes"] == ["retention"] and r.returncode == 0
    assert {p["name"]: (p["expected"], p["verdict"]) for p in d["properties"]}["no-loss"] == (None, "violated")
    # On top of a config, --without takes a mode away: the row's expectations no longer follow, and
    # are dropped instead of calling the correct finding NOT AS EXPECTED.
    r = run("verify", "--config", "at-most-once", "--without", "crash", "--json")
    d = json.loads(r.stdout)
    assert r.returncode == 0 and d["failure_modes"] == []
    assert all(p["expected"] is None and p["verdict"] == "holds" for p in d["properties"])
    # the case: a correct librdkafka finding on top of the auto-commit-sync row
    r = run("verify", "--config", "auto-commit-sync", "-p", "auto_commit_on=librdkafka", "--json")
    assert r.returncode == 0, r.stdout
    assert {p["name"]: p["verdict"] for p in json.loads(r.stdout)["properties"]}["no-loss"] == "violated"
    # the pipeline's own expectations follow from the catalogue, so they stay
    r = run("verify", "--config", "acks-all-failover", "-p", "acks=1", "--json")
    d = json.loads(r.stdout)
    assert r.returncode == 0 and {p["name"]: p["expected"] for p in d["properties"]}["no-acked-loss"] == "violated"
    r = run("trace", "--property", "no-loss", "--config", "retention-lag")
    assert r.returncode == 0 and "replay: checker replay group Produce DeleteRecords" in r.stdout


@pytest.mark.parametrize("args, message", [
    (["verify", "--config", "nope"], "unknown configuration 'nope'; known: at-least-once"),
    (["verify", "kafka", "--config", "at-least-once"], "configuration at-least-once is of model group, not kafka"),
    (["matrix", "--config", "nope"], "unknown configuration 'nope'"),
    (["verify", "group", "-f", "flood"], "unknown failure mode 'flood' for model group"),
    (["verify", "group", "-p", "processing=worker"], "processing=worker is modelled with commit=auto only"),
    (["verify", "group", "-p", "auto_commit_on=librdkafka"],
     "auto_commit_on=librdkafka has no effect without auto-commit; add -p commit=auto"),
    (["verify", "group", "-p", "commit=auto", "-p", "offset_store=manual"],
     "offset_store=manual (enable.auto.offset.store=false) is a setting of librdkafka's auto-commit"),
    (["verify", "group", "-p", "commit=auto", "-p", "commit_on_revoke=yes"],
     "commit_on_revoke=yes has no effect with commit=auto"),
    (["verify", "pipeline", "-p", "replicas=2", "-p", "min_isr=2", "-p", "acks=1", "-p", "kafka_version=3.9"],
     "min_isr=2 has no effect with acks=1 and kafka_version=3.9"),
    (["verify", "pipeline", "-p", "kafka_version=5.0"], "kafka_version=5.0: must be one of 2.1, 2.2"),
    (["verify", "pipeline", "-p", "client_version=2.0"], "client_version=2.0 cannot talk to kafka_version=4.1"),
    (["verify", "group", "-p", "group_protocol=consumer", "-p", "kafka_version=3.9"],
     "group_protocol=consumer needs kafka_version 4.0 or later"),
    (["verify", "group", "-p", "group_protocol=consumer", "-p", "client_version=3.6"],
     "group_protocol=consumer needs client_version 3.7 or later"),
    (["verify", "group", "-p", "consumers=4"], "consumers=4 is out of range"),
])
def test_bad_input_is_one_line(args, message):
    r = run(*args)
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert message in r.stderr and r.stderr.count("\n") == 1


def test_list_shows_configurations_and_failure_modes_one_line_each():
    r = run("list")
    assert r.returncode == 0
    for row_id in EXPECTED:
        model = configs()[row_id].model
        assert re.search(rf"^ {re.escape(row_id)}\s+{model}\s", r.stdout, re.M), row_id
    for mod in failures.modules():
        first = mod.__doc__.strip().splitlines()[0]
        name = first.split(":")[0]
        assert re.search(rf"^ {re.escape(name)}\s+(yes|no)\s", r.stdout, re.M), name


def test_every_failure_module_is_documented_and_installed():
    mods = failures.modules()
    installed = []
    for name in ("group", "pipeline", "eos"):
        m = get_model(name)
        # Each model's modes from modules are those modules' modes, in ORDER.
        origins = [f.origin for f in m.failure_modes.values() if f.origin.startswith("failure module ")]
        assert origins == [f"failure module {mod.__name__}" for mod in failures.modules(name)], name
        assert [mod.ORDER for mod in failures.modules(name)] == sorted({mod.ORDER for mod in failures.modules(name)})
        installed += origins
    assert sorted(installed) == sorted(f"failure module {mod.__name__}" for mod in mods)
    for mod in mods:
        doc = mod.__doc__
        for word in ("Real Kafka", "Prevented", "Documented"):
            assert word in doc, (mod.__name__, word)
        assert mod.CATALOGUE and all(c in catalogue_effects() for c in mod.CATALOGUE)


NEW_MODULE = '''"""purge: an operator deletes records with kafka-delete-records.sh (AdminClient.deleteRecords).

Real Kafka: the log start offset moves up at once. Prevented: by not purging unread
records. Documented: AdminClient.deleteRecords javadoc.
"""
from checker import when

CATALOGUE = ()
ORDER = 99


def install(model):
    model.param("max_purges", 1, min=0, doc="purges in one run")
    mode = model.failure_mode("purge", budget="max_purges", counter="purges", doc=__doc__)

    @mode.action
    def Purge(s):
        """The operator deletes every record of the partition."""
        when(s.log_start < s.sent)
        s.log_start = s.sent
'''


def test_a_module_dropped_into_the_package_is_picked_up(tmp_path):
    where = copy_spec(tmp_path)
    (where / "spec" / "failures" / "zz_purge.py").write_text(NEW_MODULE)
    r = run_checker(where, "verify", "group", "-f", "purge", "--without", "crash", "-p", "messages=1", "--json")
    d = json.loads(r.stdout)
    assert d["failure_modes"] == ["purge"] and d["params"]["max_purges"] == 1
    (no_loss,) = [p for p in d["properties"] if p["name"] == "no-loss"]
    assert [step["action"] for step in no_loss["trace"]] == [None, "Produce", "Purge"]
    assert "purge" not in get_model("group").failure_modes  # the package itself is untouched


def test_a_failure_module_without_install_is_refused(tmp_path):
    where = copy_spec(tmp_path)
    (where / "spec" / "failures" / "zz_broken.py").write_text('"""broken."""\n')
    r = run_checker(where, "list", "group")
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1
    assert "failure module spec.failures.zz_broken needs a docstring and an install(model) function" in r.stderr


def test_matrix_is_deterministic():
    assert run("matrix", "--markdown").stdout == run("matrix", "--markdown").stdout


@pytest.mark.parametrize("model, params", [("group", {"consumers": 2}),
                                           ("pipeline", {"replicas": 2, "retries": 1, "in_flight": 2}),
                                           ("eos", {"instances": 2, "commit": "sync"})])
def test_every_variable_and_action_carries_a_note(model, params):
    m = get_model(model)
    s = m.build(params, list(m.failure_modes))
    for name, _domain, note in s.roots:
        assert len(note) > 20, f"{model}.{name} needs a note"
    for a in s.actions:
        assert a.description and "Real Kafka" in a.note and "Left out" in a.note, a.name


@pytest.mark.parametrize("model", ["kafka", "partitions", "group", "pipeline", "eos"])
def test_every_shipped_model_default_instance_exits_0(model):
    r = run("verify", model, "--no-traces")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "NOT AS EXPECTED" not in r.stdout


def test_no_shipped_row_warns_of_an_action_its_model_does_not_use():
    from checker.api import Options, check
    from checker.config import build_config
    from checker.registry import configs, get_model
    dead = {}
    for cfg in configs().values():
        result = check(build_config(cfg, get_model(cfg.model)), Options(engine="explicit"))
        if result.dead:
            dead[cfg.id] = result.dead
    # what remains is budget-bound (a replica that a single failure cannot make leader again; an
    # instance that a single eviction cannot give the input partition back to, or fence)
    zombie = ["FetchOffset(0)"]
    assert dead == {"acks-1-failover": ["Truncate(1)", "Elect(0)"], "acks-all-failover": ["Truncate(1)", "Elect(0)"],
                    "acks-all-min-isr-2": ["Elect(0)"], "unclean-election": ["Truncate(1)"],
                    "min-isr-2-unclean@kafka-3.9-client-2.2": ["Truncate(1)"],
                    "min-isr-2-unclean@kafka-3.9-client-4.1": ["Truncate(1)"],
                    "min-isr-2-unclean@kafka-4.1-client-2.2": ["Truncate(1)"],
                    "eos-zombie-unfenced": zombie, "eos-zombie-fenced": ["Abort(1)", *zombie],
                    "eos-zombie-static-id": [*zombie, "Close(1)", "Restart(1)"]}, dead


def test_aborted_read_is_an_effect_and_rows_name_the_remedies_they_apply():
    from spec.matrix import row
    effects = catalogue_effects()
    assert effects["C14"] == {"D", "A"} and effects["T3"] == {"L", "A"} and effects["T1"] == {"D"}
    applied = {c.id: c.remedies for c in configs().values() if c.remedies}
    assert applied == {"eos-transactional": ("R4",), "eos-zombie-fenced": ("R4",),
                       "rebalance-revoke-commits": ("R5",), "librdkafka-manual-store": ("R3",),
                       "idempotent-sink": ("R1",), "idempotent-sink-auto-commit": ("R1",),
                       "idempotent-sink-off-by-one": ("R1",), "idempotent-sink-zombie": ("R1",),
                       "idempotent-sink-offset-expiry": ("R1",), "idempotent-sink-producer-id": ("R1",),
                       "offsets-in-sink": ("R2",), "offsets-in-sink-commit-before": ("R2",),
                       "offsets-in-sink-mid-batch": ("R2",)}
    with pytest.raises(SpecError, match="matrix row 'x' .* applies 'R9', which the failure catalogue"):
        row("x", "a row", {"C2": "D"}, ("crash",), remedies=("R9",))


# Violated cell -> the rows whose remedy makes the same cell hold, as the search finds them
# (`fixed_by`); a violated cell not listed has none.
FIXED_BY = {
    "at-least-once": {"no-duplicate-processing": ["idempotent-sink", "offsets-in-sink", "offsets-in-sink-mid-batch",
                                                  "eos-transactional"]},
    "at-most-once": {"no-loss": ["offsets-in-sink-commit-before"]},
    "batch-commit": {"no-duplicate-processing": ["idempotent-sink", "offsets-in-sink", "offsets-in-sink-mid-batch",
                                                 "eos-transactional"]},
    "auto-commit-sync": {"no-duplicate-processing": ["idempotent-sink-auto-commit"]},
    "auto-commit-async": {"no-duplicate-processing": ["idempotent-sink-auto-commit"]},
    "auto-commit-background": {"no-duplicate-processing": ["idempotent-sink-auto-commit"]},
    "async-auto-commit@kafka-4.1-client-3.9": {"no-duplicate-processing": ["idempotent-sink-auto-commit"]},
    "async-auto-commit@kafka-4.1-client-4.1": {"no-duplicate-processing": ["idempotent-sink-auto-commit"]},
    "commit-sync-mid-batch": {"no-loss": ["offsets-in-sink-mid-batch"],
                              "no-duplicate-processing": ["idempotent-sink", "offsets-in-sink",
                                                          "offsets-in-sink-mid-batch", "eos-transactional"]},
    "commit-off-by-one": {"no-duplicate-processing": ["idempotent-sink-off-by-one"]},
    "rebalance-zombie": {"no-duplicate-processing": ["idempotent-sink-zombie", "eos-zombie-fenced"]},
    "rebalance-commit-on-revoke": {"no-duplicate-processing": ["idempotent-sink-zombie", "eos-zombie-fenced"]},
    "rebalance-uncommitted": {"no-duplicate-processing": ["rebalance-revoke-commits", "offsets-in-sink"]},
    "offset-expiry-earliest": {"no-duplicate-processing": ["idempotent-sink-offset-expiry"]},
    "librdkafka-auto-commit": {"no-loss": ["librdkafka-manual-store"],
                               "no-duplicate-processing": ["idempotent-sink-auto-commit"]},
    "librdkafka-manual-store": {"no-duplicate-processing": ["idempotent-sink-auto-commit"]},
    "producer-retry": {"no-duplicate-processing": ["idempotent-sink-producer-id"]},
    "in-flight-reorder": {"no-duplicate-processing": ["idempotent-sink-producer-id"]},
    "idempotent-sink-by-offset": {"no-duplicate-processing": ["idempotent-sink-producer-id"]},
}


def test_fixed_by_is_pinned(rows):
    got = {i: {c: ys for c, ys in r.fixed_by.items() if ys} for i, r in rows.items()}
    assert {i: f for i, f in got.items() if f} == FIXED_BY
    for i, r in rows.items():  # every violated cell has an entry, possibly empty
        assert set(r.fixed_by) == {p.name for p in r.result.properties if p.verdict == "violated"}, i


def test_every_row_in_fixed_by_holds_that_cell_with_a_remedy(rows):
    for x in rows.values():
        for column, fixers in x.fixed_by.items():
            assert x.result.prop(column).verdict == "violated"
            for y in map(rows.get, fixers):
                assert y.config.remedies, (x.config.id, y.config.id)
                assert y.result.prop(column).verdict == "holds", (x.config.id, column, y.config.id)


def test_every_violated_cell_with_a_catalogue_remedy_is_fixed(rows):
    """A cell whose cited failure and effect some remedy of the catalogue prevents names a row
    that shows it; the log's own cells (no-duplicate-in-log) are not the application's to fix."""
    prevents = [r.prevents for r in catalogue.remedies().values()]
    for x in rows.values():
        cited = dict(re.findall(r"([PBCT]\d+) \(([^)]*)\)", x.config.source))
        for column in x.fixed_by:
            remediable = [cid for cid, eff in cited.items() for e in eff if EFFECT_PROPERTY.get(e) == column
                          and any(e in p.get(cid, ()) for p in prevents)]
            if remediable:
                assert x.fixed_by[column], (x.config.id, column, remediable)


def test_fixed_by_needs_the_fixing_row_in_the_run():
    (r,) = run_matrix([configs()["at-least-once"]], get_model)
    assert r.fixed_by == {"no-duplicate-processing": []}


def test_fixed_by_in_every_output(rows):
    cfgs = list(configs().values())
    md = matrix_markdown([rows[c.id] for c in cfgs], columns_of(cfgs))
    assert "| source | fixed by |" in md
    line = next(x for x in md.splitlines() if x.startswith("| `librdkafka-auto-commit`"))
    assert line.endswith("| `no-loss`: `librdkafka-manual-store`; `no-duplicate-processing`: "
                         "`idempotent-sink-auto-commit` |")
    from checker.render.html import _matrix_table
    page = _matrix_table({f"matrix-{i}": r.result for i, r in rows.items()})
    assert "<th>fixed by</th>" in page and "no-loss: offsets-in-sink-commit-before" in page
    r = run("matrix", "--config", "at-least-once", "--config", "idempotent-sink")
    assert r.returncode == 0 and "at-least-once fixed by: no-duplicate-processing: idempotent-sink" in r.stdout
    r = run("matrix", "--json", "--config", "at-most-once", "--config", "offsets-in-sink-commit-before")
    d = json.loads(r.stdout)
    assert d["rows"][0]["fixed_by"] == {"no-loss": ["offsets-in-sink-commit-before"]}
    assert d["rows"][1]["remedies"] == ["R2"] and d["rows"][1]["fixed_by"] == {}


def test_a_row_applying_an_unknown_remedy_is_refused():
    from spec.matrix import row
    with pytest.raises(SpecError, match="matrix row 'x' .* applies 'R9'"):
        row("x", "nothing", {"C2": "-"}, ("crash",), remedies=("R9",))


def test_offsets_in_the_sink_do_not_fence_a_zombie():
    # The catalogue lists C9 among what R2 prevents; an unconditional sink transaction (the
    # javadoc's pattern) lets the evicted consumer write its batch's output a second time.
    m = get_model("group")
    r = check(m.build({"consumers": 2, "commit": "after", "sink": "offsets-in-sink"}, ["max-poll-exceeded"],
                      ["crash"]), EXPLICIT)
    assert r.prop("no-loss").verdict == "holds"
    assert " ".join(r.prop("no-duplicate-processing").trace.actions) == \
        "Produce Poll(0) Evict(0) Poll(1) Process(0) Process(1)"


def test_a_failed_commit_retried_before_any_newer_one_is_harmless():
    m = get_model("group")
    r = check(m.build({"messages": 1}, ["commit-retry", "shutdown"], ["crash"]), EXPLICIT)
    assert [p.verdict for p in r.properties] == ["holds", "holds", "holds"]


def test_every_row_with_a_remedy_fixes_a_violated_cell(rows):
    # The catalogue's rule for remedies: a row that applies one shows the property it
    # protects holding where a row without it is violated.
    fixers = {y for r in rows.values() for ys in r.fixed_by.values() for y in ys}
    assert {i for i, r in rows.items() if r.config.remedies} == fixers


def test_two_foreign_commits_also_reorder():
    # Beyond the catalogue's C11 (L, D): ahead, then behind, and record 0 is processed after record 1.
    m = get_model("group")
    r = check(m.build({"max_foreign_commits": 2, "max_shutdowns": 2}, ["shutdown", "shared-group-id"], ["crash"]),
              EXPLICIT)
    assert " ".join(r.prop("in-order").trace.actions) == (
        "Produce Close(0) ForeignCommit(1) Produce Restart(0) Poll(0) Process(0) Commit(0) Close(0) "
        "ForeignCommit(0) Restart(0) Poll(0) Process(0)")
