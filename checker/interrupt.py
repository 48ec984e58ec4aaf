"""How a command ends before its answer: SIGINT, SIGTERM and the command's time limit.

The CLI runs every command inside `guarded()`. A signal raises nothing in the main
thread, where it could land in a `finally`, a `__del__`, a ctypes callback or a Z3 call
that would swallow it and let the command go on to a verdict. Python's handler only
records it: the signal number goes to a socket (`signal.set_wakeup_fd`, written by the
C-level handler at once, even while the main thread is inside Z3 or the compiled search)
that a watcher thread reads. The watcher then ends the process itself, the same way for
every moment of every command (`_end`):

1. it takes the output lock, so an output being renamed into place is first complete
   (`committing`), and no later one starts;
2. it prints `checker: interrupted; no verdict` on stderr, and sends stdout and stderr
   to /dev/null, so nothing the main thread still prints (a verdict) gets out;
3. it kills every child process (registered with `adopt`, and every descendant found in
   /proc: conform's consumers, bench's runs, graphviz's `dot`) and reaps its own;
4. it removes the temporary outputs (`temporary`: staged files and directories that
   were not yet renamed into place), so the previous outputs stay as they were;
5. it exits with 130 (SIGINT) or 143 (SIGTERM) through `os._exit`.

The command's time limit (`start_clock(seconds)`, `--timeout`) is checked by the
command between steps (`check_time`, e.g. after each action traced) and handed to the
search as the time left (`remaining`). Code that checks nothing (a model's own loop, a
long Z3 query, the compiler) is bounded by the watcher too: past the limit and a grace
of 2 s plus a quarter of the limit, it ends the process the same way with
`checker: incomplete: time limit of S s reached while DOING; no verdict`, exit 3. `prove`
keeps its own time (it gives each Z3 query whole minutes, so that the answers do not
change with the time left): the watcher's grace for it is a minute.
`decided()` says the answer is known (only printing is left), which ends that bound.

Tests find the moments to interrupt at through `phase(doing)`: with the environment
variable CHECKER_PHASE_LOG set to a file name, each phase's name is appended to that
file as a line when it starts.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Callable, Iterator

__all__ = ["EXIT_CODES", "INTERRUPTED", "TimeLimit", "guarded", "install", "exit", "adopt", "release",
           "temporary", "committing", "start_clock", "remaining", "check_time", "phase", "decided"]

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}  # 128 + the signal's number, as a shell reports it
INTERRUPTED = "interrupted; no verdict"
PHASE_LOG = "CHECKER_PHASE_LOG"
_SIGNALS = {int(s): code for s, code in EXIT_CODES.items()}
_STOP, _WAKE = 255, 254  # bytes the main thread writes to the watcher (signal numbers are below 65)


class TimeLimit(Exception):
    """The command's time limit passed before its answer; the message says while doing what (exit 3)."""


_lock = threading.RLock()  # held while outputs are renamed into place, and by the watcher at the end
_temporaries: set[str] = set()  # staged outputs to remove when the process ends early
_children: set[subprocess.Popen] = set()
_state: dict = {"limit": None, "end": None, "checked": True, "grace": 2.0, "phase": "starting",
                "installed": False, "wake": None, "ending": False}


# --------------------------------------------------------------------------- the time limit

def start_clock(seconds: float | None, checked: bool = True, grace: float = 2.0) -> None:
    """The command's time limit starts now (None: no limit). checked False: the command keeps
    its own time (`prove`), so `check_time` raises nothing; the watcher still ends it once
    `grace` seconds and a quarter of the limit have passed after the limit."""
    _state.update(limit=seconds, end=None if seconds is None else time.perf_counter() + seconds,
                  checked=checked, grace=grace)
    _wake()


def remaining() -> float | None:
    """Seconds left of the command's time limit (None: no limit); raises TimeLimit when none are."""
    if _state["end"] is None:
        return None
    left = _state["end"] - time.perf_counter()
    if left <= 0:
        _expire()
    return left


def check_time(doing: str | None = None) -> None:
    """Raise TimeLimit when the command's time limit has passed (doing: what the command was doing)."""
    if doing is not None:
        _state["phase"] = doing
    if _state["end"] is not None and _state["checked"] and time.perf_counter() >= _state["end"]:
        _expire()


def _expire() -> None:
    """The main thread acts on the time limit (unless the watcher already is: then it waits here)."""
    with _lock:
        _state["end"] = None
    raise TimeLimit(_limit_text())


def decided() -> None:
    """The answer is known: the watcher no longer ends the command for its time limit."""
    _state["end"] = None
    _wake()


def phase(doing: str) -> None:
    """What the command does from now on: said when the time limit ends it, logged for tests."""
    _state["phase"] = doing
    log = os.environ.get(PHASE_LOG)
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(doing + "\n")


def _limit_text() -> str:
    return f"time limit of {_state['limit']:g} s reached while {_state['phase']}"


def _grace(limit: float) -> float:
    return _state["grace"] + limit / 4


# --------------------------------------------------------------------------- children and outputs

def adopt(proc: subprocess.Popen) -> None:
    """Kill proc if the process ends early (until `release`)."""
    _children.add(proc)


def release(proc: subprocess.Popen) -> None:
    """proc has ended (or is someone else's to end)."""
    _children.discard(proc)


@contextlib.contextmanager
def temporary(make: Callable[[], str]) -> Iterator[str]:
    """A staged output: make() creates it and returns its path; it is removed when the process
    ends early or when the block is left without renaming it into place."""
    with _lock:
        path = make()
        _temporaries.add(path)
    try:
        yield path
    finally:
        with _lock:
            _temporaries.discard(path)
        _remove(path)


@contextlib.contextmanager
def committing() -> Iterator[None]:
    """Hold while renaming outputs into place: an interrupt waits until the renames are done."""
    with _lock:
        yield


def _remove(path: str, moving: bool = False) -> None:
    """Remove a staged output. moving: while the main thread may still be writing into it,
    so it is first renamed, where no new file can be created by name."""
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            if moving:
                gone = path + ".gone"
                os.rename(path, gone)
                path = gone
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            os.unlink(path)
    except OSError:
        pass


# --------------------------------------------------------------------------- the guard

def _noted(signum: int, frame: object) -> None:
    """Python's handler: nothing. The C-level handler has already told the watcher."""


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Run a command with SIGINT and SIGTERM handled as the module says (from the main thread;
    elsewhere, and when already guarded, nothing is installed). The time limit ends with it."""
    saved = install()
    try:
        yield
    finally:
        if _state["ending"]:  # the watcher is ending the process: the command must not end it first
            threading.Event().wait()
        _state.update(limit=None, end=None)
        if saved is not None:
            _uninstall(saved)


def install() -> tuple | None:
    """Install the handlers and the watcher (for the rest of the process: `checker`'s entry
    point); what they replaced, or None when nothing was installed."""
    if _state["installed"] or threading.current_thread() is not threading.main_thread():
        return None
    _z3_leaves_ctrl_c_alone()
    recv, send = socket.socketpair()
    recv.setblocking(True)
    send.setblocking(False)
    old_fd = signal.set_wakeup_fd(send.fileno(), warn_on_full_buffer=False)
    old = {s: signal.signal(s, _noted) for s in EXIT_CODES}
    _state.update(installed=True, wake=send)
    watcher = threading.Thread(target=_watch, args=(recv,), name="checker-interrupt", daemon=True)
    watcher.start()
    phase("starting")
    return recv, send, old_fd, old, watcher


def exit(code: int) -> None:
    """End the process with code once the command is done (the console script's last step).

    Output is flushed and the process ends with os._exit, before the interpreter's own
    finalization, during which a signal would meet the default handlers again (SIGINT then
    kills the process with no message). If the watcher is already ending the process, its
    exit code wins."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with _lock:  # the watcher holds it from the moment it decides to end the process
        if not _state["ending"]:
            os._exit(code)
    threading.Event().wait()


def _uninstall(saved: tuple) -> None:
    recv, send, old_fd, old, watcher = saved
    with contextlib.suppress(OSError):
        send.send(bytes([_STOP]))
    watcher.join()
    for s, h in old.items():
        signal.signal(s, h)
    signal.set_wakeup_fd(old_fd)
    _state.update(installed=False, wake=None)
    recv.close()
    send.close()


def _z3_leaves_ctrl_c_alone() -> None:
    """By default Z3 takes SIGINT during a query and answers `unknown` instead: the interrupt
    would be lost (and `prove` could go on to print `proved`). Off, SIGINT reaches the watcher."""
    if "z3" in sys.modules:
        sys.modules["z3"].set_param("ctrl_c", False)
    else:
        try:
            import z3
        except ImportError:  # pragma: no cover - z3 is a dependency
            return
        z3.set_param("ctrl_c", False)


def _wake() -> None:
    send = _state["wake"]
    if send is not None:
        with contextlib.suppress(OSError):
            send.send(bytes([_WAKE]))


def _watch(recv: socket.socket) -> None:
    while True:
        end = _state["end"]
        wait = None if end is None else max(0.0, end + _grace(_state["limit"]) - time.perf_counter())
        ready, _, _ = select.select([recv], [], [], wait)
        if not ready:
            with _lock:  # the main thread acting on the limit itself first (`_expire`) ends this
                if _state["end"] is not None and time.perf_counter() >= _state["end"] + _grace(_state["limit"]):
                    _end(3, f"incomplete: {_limit_text()}; no verdict")
            continue
        for b in recv.recv(64):
            if b == _STOP:
                return
            if b in _SIGNALS:
                _end(_SIGNALS[b], INTERRUPTED)


def _end(code: int, line: str) -> None:
    """End the process now: one line on stderr, no child left, no staged output left."""
    _state["ending"] = True  # from here the main thread cannot end the process itself (`guarded`)
    _lock.acquire(timeout=30)  # a rename into place in progress completes first
    tty = os.isatty(2)
    # On a terminal: erase the progress line and show the cursor the status line hid.
    text = ("\r\x1b[2K" if tty else "") + f"checker: {line}\n" + ("\x1b[?25h" if tty else "")
    with contextlib.suppress(OSError):
        os.write(2, text.encode())
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
    _kill_children()
    for path in list(_temporaries):
        _remove(path, moving=True)
    os._exit(code)


def _descendants(root: int) -> list[int]:
    """Every process below root, from /proc (empty where there is none)."""
    parent: dict[int, int] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rpartition(b")")[2].split()
        if len(fields) > 1:
            parent[int(name)] = int(fields[1])
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += kids
        todo += kids
    return out


def _kill_children() -> None:
    mine = {p.pid for p in list(_children)}
    every = mine | set(_descendants(os.getpid()))
    for pid in every:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    end = time.monotonic() + 2.0
    for pid in every:  # reap our own children; wait (briefly) for the others to go
        while time.monotonic() < end:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # not ours: gone when /proc no longer shows it running
                if not _alive(pid):
                    break
                time.sleep(0.005)
                continue
            except OSError:
                break
            if done:
                break
            time.sleep(0.005)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[0] != b"Z"
    except OSError:
        return False
