"""Bad input, case by case: every refusal is exit 2, one line on stderr, nothing on stdout, no traceback.

The table runs `checker.cli.main` in-process (the same function the console script calls, with
stdout and stderr captured and any exception that escapes it counted as a traceback); the
cases that depend on the process itself (environment variables, model packages on the path,
the interpreter's recursion limit) run `python -m checker` in a subprocess.
"""

import errno
import importlib
import io
import os
import subprocess
import sys
import textwrap
from contextlib import redirect_stderr, redirect_stdout

import pytest

from checker.cli import build_parser, main
from checker.errors import CheckerError
from checker.lang.declare import MAX_ARRAY_SIZE, MAX_INSTANCES, MAX_TERM_DEPTH

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(ROOT, "tests")
HUGE = "9" * 40
NON_ASCII = "\u0663"  # ARABIC-INDIC DIGIT THREE: int() and float() read it as 3
PATH = "/proc/nope/x"  # a path nothing can be created under


def run_in_process(*args):
    """main(args) with stdout and stderr captured: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as e:  # argparse's errors and --help
            code = e.code
        except BaseException as e:  # what the console script would print as a traceback
            import traceback
            err.write("Traceback (most recent call last):\n" + "".join(traceback.format_exception(e)))
            code = 1
    return code, out.getvalue(), err.getvalue()


def run_process(*args, env=None, cwd=ROOT):
    e = dict(os.environ)
    e.pop("CHECKER_MODELS", None)
    e.update(env or {})
    r = subprocess.run([sys.executable, "-m", "checker", *args], cwd=cwd, env=e, capture_output=True,
                       text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


def assert_refused(code, out, err, message=""):
    assert "Traceback" not in err, err
    assert code == 2, (code, out, err)
    assert out == "", out
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith("checker: error: "), err
    assert message in err, (message, err)


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Every case runs in an empty directory: an output it would write by default lands there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CHECKER_MODELS", raising=False)


# --------------------------------------------------------------------------- the reported cases

def existing_file():
    with open("afile", "w") as f:
        f.write("x")
    return "afile"


def under_a_file():
    return os.path.join(existing_file(), "sub")


def existing_dir():
    os.makedirs("adir", exist_ok=True)
    return "adir"


OUTPUTS = {  # name -> (make the path, the commands it is bad for)
    "proc": (lambda: "/proc/nope", ("diagrams", "report", "matrix")),
    "dev-full": (lambda: "/dev/full", ("diagrams", "report", "matrix")),
    "existing-file": (existing_file, ("diagrams", "matrix")),
    "existing-dir": (existing_dir, ("report",)),
    "under-a-file": (under_a_file, ("diagrams", "report", "matrix")),
    "empty": (lambda: "", ("diagrams", "report", "matrix")),
}
COMMAND = {"diagrams": ["diagrams", "kafka"], "report": ["report", "kafka"],
           "matrix": ["matrix", "--config", "at-least-once"]}


@pytest.mark.parametrize("command, kind", [(c, k) for k, (_, cs) in OUTPUTS.items() for c in cs])
def test_an_output_that_cannot_be_written_is_refused_before_the_search(command, kind):
    path = OUTPUTS[kind][0]()
    assert_refused(*run_in_process(*COMMAND[command], "-o", path), "-o is empty" if not path else "cannot write")
    assert sorted(os.listdir(".")) == sorted({"afile", "adir"} & set(os.listdir(".")))  # nothing written


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory")
@pytest.mark.parametrize("command", ["diagrams", "report", "matrix"])
def test_a_read_only_directory_is_refused(command):
    os.makedirs("ro")
    os.chmod("ro", 0o555)
    target = "ro/out.html" if command == "report" else "ro/out"
    assert_refused(*run_in_process(*COMMAND[command], "-o", target), "no file can be created in")


@pytest.mark.parametrize("command", ["diagrams", "matrix"])
def test_an_error_while_writing_is_one_line(command, monkeypatch):
    """A disk that fills while the files are written (the path itself was fine)."""
    cli = importlib.import_module("checker.cli.main")  # the module: checker.cli.main is also the function
    diagrams = importlib.import_module("checker.render.diagrams")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "out/x.md")
    monkeypatch.setattr(cli, "write_trace_pages", full)
    monkeypatch.setattr(diagrams, "write_diagrams", full)
    args = ["diagrams", "kafka", "--max-nodes", "5"] if command == "diagrams" else COMMAND["matrix"]
    assert_refused(*run_in_process(*args, "-o", "out"), "cannot write out/x.md: No space left on device")


REPORTED = [
    (["verify", "kafka", "--max-memory", "inf"], "expected a positive number of megabytes"),
    (["verify", "kafka", "--max-memory", "0.0001"], "at least 1"),
    (["verify", "kafka", "--max-memory", "nan"], "megabytes"),
    (["verify", "kafka", "--max-memory", "1e400"], "megabytes"),
    (["verify", "kafka", "-p", "messages=300"], f"variable processed is an array of 300 cells, more than the "
                                                f"{MAX_ARRAY_SIZE}"),
    (["verify", "kafka", "-p", "messages=245"], "model kafka with messages=245"),
    (["verify", "kafka", "-p", "messages=100000", "--timeout", "10"], "messages=100000"),
    (["verify", "kafka", "-p", "messages=1000000000"], "give smaller parameters"),
    (["verify", "-p", "messages=" + "9" * 5000], "is out of range"),  # int() refuses 4,300 digits
    (["verify", ""], "the model name is empty"),
    (["list", ""], "the model name is empty"),
    (["prove", ""], "the model name is empty"),
    (["diagrams", ""], "the model name is empty"),
    (["report", ""], "the model name is empty"),
    (["verify", "kafka", "-f", "crash", "--without", "crash"], "turned both on (-f crash) and off"),
    (["trace", "--property", "no-loss", "-f", "crash", "--without", "crash"], "turned both on"),
    (["prove", "-f", "crash", "--without", "crash"], "turned both on"),
    (["verify", "--config", "at-least-once", "--config", "at-least-once"], "--config is given 2 times"),
    (["verify", "--max-states", "5", "--max-states", "6"], "argument --max-states: given twice"),
    (["verify", "--timeout", "5", "--timeout", "5"], "argument --timeout: given twice"),
    (["verify", "--engine", "fast", "--engine", "explicit"], "argument --engine: given twice"),
    (["verify", "--json", "--json"], "argument --json: given twice"),
    (["matrix", "-o", "a", "--output", "b"], "argument -o/--output: given twice"),
    (["prove", "--max-depth", "5", "--max-depth", "5"], "given twice"),
    (["conform", "--walks", "1", "--walks", "2"], "given twice"),
    (["verify", "-p", "messages=\u0663"], "messages='\u0663': expected an integer"),
    (["verify", "-p", "messages= 3"], "messages=' 3': expected an integer"),
    (["verify", "-p", "messages=3\n"], "messages='3\\n': expected an integer"),
    (["verify", "-p", "messages=1_0"], "messages=1_0: expected an integer"),
    (["verify", "-p", "messages=+3"], "expected an integer"),
    (["verify", "-p", "messages=3.0"], "expected an integer"),
    (["verify", "-p", "messages=0x3"], "expected an integer"),
    (["verify", "-p", "max_crashes=\u0663"], "expected an integer or `unbounded`"),
    (["verify", "-p", "commit=after\n"], "commit='after\\n': must be one of after, before"),
    (["verify", "-p", "x=-1"], "unknown parameter 'x'"),
    (["verify", "-p", "messages=-1"], "messages=-1 is out of range: it must be >= 1"),
    (["verify", "--max-states", "-5"], "expected a positive integer from 1 to 10^18, got '-5'"),
    (["verify", "--timeout", "-1"], "expected a positive number of seconds"),
    (["verify", "--timeout", "-inf"], "got '-inf'"),
    (["verify", "--max-memory", "-1e3"], "got '-1e3'"),
    (["verify", "--max-states", "1_0"], "got '1_0'"),
    (["verify", "--max-states", "\u0663"], "expected a positive integer"),
    (["verify", "--max-states", " 3"], "expected a positive integer"),
    (["verify", "--timeout", "\u0663"], "expected a positive number of seconds"),
    (["verify", "--timeout", "1e400"], "at most 10^9"),
    (["verify", "--config", "-x"], "expected one argument (a value that starts with - is written as --OPTION=VALUE)"),
    (["verify", "kafka", "--max-states", "3", "partitions"], "verify takes one MODEL, and 'kafka' comes first"),
    (["verify", "--frobnicate"], "(see `checker verify --help`)"),
    (["trace", "--max-depth", "x", "--property", "no-loss"], "(see `checker trace --help`)"),
    (["conform", "--walks", "\u0663"], "(see `checker conform --help`)"),
    (["report", "-o", "a\nb/c"], "cannot write a\\nb/c"),  # a line break typed into a value stays on one line
    (["bench", "--size", "200,1,1"], f"from 1 to {MAX_ARRAY_SIZE}"),
    (["bench", "--size", "\u0663,1,1"], "write PARTITIONS,MESSAGES,MAX_CRASHES"),
    (["diagrams", "kafka", "--project", "nosuch"], "cannot project on 'nosuch'"),
    # Kafka versions (spec/versions.py): unknown, unsupported, or a pair the brokers refuse.
    (["verify", "pipeline", "-p", "kafka_version=5.0"], "kafka_version=5.0: must be one of 2.1, 2.2"),
    (["verify", "pipeline", "-p", "kafka_version=3.9.1"], "kafka_version=3.9.1: must be one of"),
    (["verify", "group", "-p", "client_version=1.1"], "client_version=1.1: must be one of 2.0, 2.1"),
    (["verify", "pipeline", "-p", "client_version=2.0"], "client_version=2.0 cannot talk to kafka_version=4.1"),
    (["verify", "group", "-p", "group_protocol=consumer", "-p", "kafka_version=3.9"],
     "group_protocol=consumer needs kafka_version 4.0 or later"),
]


@pytest.mark.parametrize("args, message", REPORTED)
def test_reported_case(args, message):
    assert_refused(*run_in_process(*args), message)
    assert os.listdir(".") == []


DISTRIBUTED = [  # refused before any Ray cluster starts
    (["verify", "--workers", "2"], "--address and --workers are options of --distributed"),
    (["verify", "--address", "127.0.0.1:6379"], "--address and --workers are options of --distributed"),
    (["verify", "--distributed", "--cover"], "--distributed does not take --cover or --symmetry"),
    (["verify", "--distributed", "--symmetry"], "--distributed does not take --cover or --symmetry"),
    (["verify", "--distributed", "--engine", "explicit"], "--distributed is an engine of its own"),
    (["verify", "--distributed", "--address", "localhost"], "expected a Ray cluster's address, host:port or auto"),
    (["verify", "--distributed", "--workers", "2", "--workers", "3"], "argument --workers: given twice"),
    (["verify", "--distributed", "--workers", "1000001"], "expected a positive number of workers from 1 to 10^6"),
    (["simulate", "--workers", "2"], "--address and --workers are options of --distributed"),
    (["simulate", "--address", "127.0.0.1:6379"], "--address and --workers are options of --distributed"),
    (["simulate", "--distributed", "--address", "localhost"], "expected a Ray cluster's address, host:port or auto"),
    (["simulate", "--distributed", "--workers", "0"], "expected a positive number of workers from 1 to 10^6"),
    (["simulate", "--distributed", "--max-states", "9"], "unrecognized arguments: --max-states"),
]


@pytest.mark.parametrize("args, message", DISTRIBUTED, ids=[f"distributed-{i}" for i in range(len(DISTRIBUTED))])
def test_distributed_options(args, message):
    assert_refused(*run_in_process(*args), message)
    assert os.listdir(".") == []


def test_negative_numbers_reach_their_checks():
    """`--max-states -5` is the option's value (out of range), not a missing argument."""
    for args in (["--max-states", "-5"], ["--timeout", "-1.5"], ["--max-memory", "-.5"], ["--timeout", "-inf"]):
        code, _, err = run_in_process("verify", *args)
        assert code == 2 and "expected one argument" not in err and repr(args[1]) in err, err


def test_options_go_anywhere_among_the_positionals():
    code, out, err = run_in_process("replay", "kafka", "--json", "Produce", "-p", "messages=2", "Produce")
    assert code == 0, err
    assert '"error": null' in out and '"messages": 2' in out


# --------------------------------------------------------------------------- every option x bad values

BASE = {  # the least each command needs, so that the option under test is what is wrong
    "verify": ["verify"], "trace": ["trace", "--property", "no-loss"], "replay": ["replay", "Produce"],
    "bench": ["bench"], "prove": ["prove"], "list": ["list"], "matrix": ["matrix"],
    "diagrams": ["diagrams", "--max-nodes", "5"], "report": ["report", "kafka", "--max-nodes", "5"],
    "conform": ["conform"], "simulate": ["simulate"],
    "check": ["check", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples",
                                    "java-auto-commit", "consumer.properties")],
}
VALUES = {"empty": "", "negative": "-1", "huge": HUGE, "non-ascii": NON_ASCII, "path": PATH}
# A value that is a fine name for what the option takes: `-o -1` is a directory called -1.
VALID = {("-o", "negative"), ("-o", "huge"), ("-o", "non-ascii")}


def value_options():
    """(command, option) for every option of every command that takes a value."""
    subs = next(a for a in build_parser()._actions if a.dest == "command").choices
    for name, parser in subs.items():
        for action in parser._actions:
            if action.option_strings and action.nargs != 0 and action.dest != "help":
                if name in ("diagrams", "report") and action.dest == "max_nodes":
                    continue  # in BASE: checked once below through its own value cases
                yield name, action.option_strings[0]
        if any(not a.option_strings for a in parser._actions):
            yield name, "POSITIONAL"


def crossed():
    cases = []
    for command, option in value_options():
        base = BASE[command]
        for kind, value in VALUES.items():
            if (option, kind) in VALID:
                continue
            if option == "POSITIONAL":
                forms = [["replay", value] if command == "replay" else [command, value, *base[1:]]]
                forms = [[a for i, a in enumerate(f) if not (i > 1 and a == "kafka")] for f in forms]  # report's
            elif command == "trace" and option == "--property":
                forms = [["trace", "--property", value]]
            else:  # a value that starts with -: after a space and after =
                forms = [base + [option, value]] + ([base + [f"{option}={value}"]] if value.startswith("-") else [])
            for n, args in enumerate(forms):
                cases.append(pytest.param(args, id=f"{command} {option} {kind}{' =' if n else ''}"))
    for command in ("verify", "trace", "replay", "prove", "diagrams", "report", "simulate"):
        for name in ("messages", "max_crashes", "commit", "fairness"):
            for kind, value in VALUES.items():
                cases.append(pytest.param(BASE[command] + ["-p", f"{name}={value}"], id=f"{command} -p {name} {kind}"))
    for kind, value in VALUES.items():
        cases.append(pytest.param(["diagrams", "--max-nodes", value], id=f"diagrams --max-nodes {kind}"))
        cases.append(pytest.param(["report", "kafka", "--max-nodes", value], id=f"report --max-nodes {kind}"))
    return cases


CROSSED = crossed()


@pytest.mark.parametrize("args", CROSSED)
def test_every_option_refuses_bad_values(args):
    code, out, err = run_in_process(*args)
    assert_refused(code, out, err)
    assert "expected one argument" not in err  # a value that starts with - reaches the option's check


def test_the_table_is_large():
    assert len(REPORTED) + len(CROSSED) >= 150


# --------------------------------------------------------------------------- the language's limits

def deep_model(depth):
    from checker import Int, Model, Var, ite, when
    model = Model("deep", "A nested ite.")
    model.param("depth", depth, min=1, doc="nesting")

    @model.variables
    def variables(p):
        return [Var("n", Int(0, 3), "n")]

    @model.action
    def Inc(s):
        """Add one, through `depth` nested ites."""
        when(s.n < 3)
        e = s.n + 1
        for i in range(s.params.depth):
            e = ite(s.n == i % 4, (i + 1) % 4, e)
        s.n = e

    @model.always
    def in_range(s):
        """n stays in its domain."""
        return s.n <= 3
    return model


def test_a_term_deeper_than_the_limit_is_refused_at_build_time():
    with pytest.raises(CheckerError, match=rf"action Inc's update of n nests \d+ deep, more than the "
                                           rf"{MAX_TERM_DEPTH} a term may"):
        deep_model(2_000).build()
    from checker import Options, check
    system = deep_model(MAX_TERM_DEPTH - 3).build()  # at the limit: every engine takes it
    for engine in ("fast", "explicit", "bmc"):
        r = check(system, Options(engine=engine, **({"max_depth": 4} if engine == "bmc" else {})))
        assert r.prop("in-range").verdict in ("holds", "unknown")


def test_an_action_over_too_many_indices_is_refused_before_tracing():
    from checker import Int, Model, Var
    model = Model("wide", "Many instances.")
    model.param("n", 3, min=1, doc="instances")

    @model.variables
    def variables(p):
        return [Var("x", Int(0, 1), "x")]

    @model.action(over="n")
    def Set(s, i):
        """Set x."""
        s.x = 1

    @model.always
    def ok(s):
        """x stays in its domain."""
        return s.x <= 1
    assert len(model.build({"n": 50}).actions) == 50
    with pytest.raises(CheckerError, match=f"model wide with n=10000000: action Set has 10,000,000 instances, "
                                           f"more than the {MAX_INSTANCES:,}"):
        model.build({"n": 10_000_000})


# --------------------------------------------------------------------------- in a process of its own

def package(tmp_path, name, source):
    os.makedirs(tmp_path / name)
    (tmp_path / name / "__init__.py").write_text(textwrap.dedent(source))
    return {"CHECKER_MODELS": name, "PYTHONPATH": os.pathsep.join([str(tmp_path), TESTS, ROOT])}


def test_checker_models_that_names_no_package(tmp_path):
    for value in (",", " , "):
        assert_refused(*run_process("list", env={"CHECKER_MODELS": value}), "names no package")


def test_checker_models_errors(tmp_path):
    env = package(tmp_path, "needs_missing", """
        import toys
        import frobnitz_not_installed.sub
        MODELS = [toys.counter]
    """)
    assert_refused(*run_process("list", env=env),
                   "model package 'needs_missing' imports the module 'frobnitz_not_installed' (")
    code, out, err = run_process("list", env=env)
    assert "pip install -e ." not in err
    env = package(tmp_path, "no_models", "MODELS = []\n")
    assert_refused(*run_process("verify", env=env), "the model packages (no_models) declare no models")
    assert_refused(*run_process("list", env={"CHECKER_MODELS": "no such"}), "'no such' is not a package name")
    assert_refused(*run_process("list", env={"CHECKER_MODELS": "nosuch_pkg_x"}),
                   "cannot import model package 'nosuch_pkg_x': there is no module 'nosuch_pkg_x'")


@pytest.mark.slow
def test_reported_cases_in_a_process(tmp_path):
    for args, message in [(["verify", "kafka", "--max-memory", "inf"], "megabytes"),
                          (["verify", ""], "the model name is empty"),
                          (["verify", "kafka", "-p", "messages=300"], "messages=300"),
                          (["diagrams", "kafka", "-o", "/dev/full"], "cannot write /dev/full: it is not a directory"),
                          (["matrix", "-o", ""], "-o is empty")]:
        assert_refused(*run_process(*args, cwd=tmp_path, env={"PYTHONPATH": ROOT}), message)


@pytest.mark.slow
def test_a_20000_deep_ite_in_a_process(tmp_path):
    env = package(tmp_path, "deep_models", DEEP)
    for args in (["verify", "deep"], ["verify", "deep", "--engine", "explicit"],
                 ["trace", "deep", "--engine", "bmc", "--property", "in-range"], ["prove", "deep"]):
        assert_refused(*run_process(*args, env=env), f"more than the {MAX_TERM_DEPTH} a term may")


DEEP = '''
from checker import Int, Model, Var, ite, when
model = Model("deep", "A 20,000-deep nested ite.")


@model.variables
def variables(p):
    return [Var("n", Int(0, 3), "n")]


@model.action
def Inc(s):
    """Add one, through 20,000 nested ites."""
    when(s.n < 3)
    e = s.n + 1
    for i in range(20_000):
        e = ite(s.n == i % 4, (i + 1) % 4, e)
    s.n = e


@model.always
def in_range(s):
    """n stays in its domain."""
    return s.n <= 3


MODELS = [model]
'''
