"""Outputs are written whole or not at all (checker/outputs.py): a full disk, a read-only
directory or a failed rename leaves the previous output as it was, says so in one line
(exit 2, no traceback) and leaves no staged file behind; a finished write is exactly
what was asked for, with the permissions open() would give."""

import errno
import os
import stat

import pytest

from checker import outputs
from checker.cli import main
from checker.errors import CheckerError


def snapshot(root):
    """Every file under root (relative path -> bytes) and every directory."""
    out = {}
    for dirpath, dirnames, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        out[rel + "/"] = None
        for f in files:
            with open(os.path.join(dirpath, f), "rb") as fh:
                out[os.path.normpath(os.path.join(rel, f))] = fh.read()
    return out


def staged_left(root):
    return [os.path.join(d, n) for d, dirs, files in os.walk(root) for n in dirs + files if outputs.is_staged(n)]


def full_disk(monkeypatch, after=0):
    """os.fsync raises ENOSPC from its (after+1)-th call on: the data did not reach the disk."""
    calls = {"n": 0}
    real = os.fsync

    def fsync(fd):
        calls["n"] += 1
        if calls["n"] > after:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)
    monkeypatch.setattr(outputs.os, "fsync", fsync)


# --------------------------------------------------------------------------- one file

def test_write_file_replaces_whole_with_open_permissions(tmp_path):
    path = tmp_path / "report.html"
    path.write_text("old")
    outputs.write_file(str(path), "new é")
    assert path.read_bytes() == "new é".encode()
    assert stat.S_IMODE(path.stat().st_mode) == outputs.FILE_MODE
    assert os.listdir(tmp_path) == ["report.html"]


@pytest.mark.parametrize("broken", ["fsync", "replace"])
def test_write_file_failure_keeps_the_previous_file(tmp_path, monkeypatch, broken):
    path = tmp_path / "report.html"
    path.write_text("the previous report")
    if broken == "fsync":
        full_disk(monkeypatch)
    else:
        def replace(a, b):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        monkeypatch.setattr(outputs.os, "replace", replace)
    with pytest.raises(CheckerError) as e:
        outputs.write_file(str(path), "x" * 100_000)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(f"cannot write {path}: ")
    assert msg.endswith(f"the previous {path} is left as it was")
    assert path.read_text() == "the previous report"
    assert os.listdir(tmp_path) == ["report.html"]


def test_write_file_new_file_failure_writes_nothing(tmp_path, monkeypatch):
    full_disk(monkeypatch)
    with pytest.raises(CheckerError, match="No space left on device; nothing was written$"):
        outputs.write_file(str(tmp_path / "new.html"), "data")
    assert os.listdir(tmp_path) == []


def test_write_file_read_only_directory(tmp_path, monkeypatch):
    def mkstemp(**kw):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))
    monkeypatch.setattr(outputs.tempfile, "mkstemp", mkstemp)
    (tmp_path / "r.html").write_text("kept")
    with pytest.raises(CheckerError, match="Read-only file system; the previous .* is left as it was$"):
        outputs.write_file(str(tmp_path / "r.html"), "data")
    assert (tmp_path / "r.html").read_text() == "kept"


def test_write_file_refuses_devices_and_directories_and_writes_through_links(tmp_path):
    for bad in ("/dev/null", str(tmp_path)):
        with pytest.raises(CheckerError, match="not a regular file|names a directory"):
            outputs.write_file(bad, "x")
    with pytest.raises(CheckerError, match="names a directory"):
        outputs.write_file(str(tmp_path) + "/", "x")
    target = tmp_path / "target.html"
    target.write_text("old")
    (tmp_path / "link.html").symlink_to(target)
    outputs.write_file(str(tmp_path / "link.html"), "new")
    assert (tmp_path / "link.html").is_symlink() and target.read_text() == "new"


# --------------------------------------------------------------------------- a directory

def fill(root):
    os.makedirs(root / "a")
    (root / "a" / "stale.svg").write_text("stale")
    (root / "a" / "one").write_text("old one")
    os.makedirs(root / "b")
    (root / "b" / "x").write_text("old b")
    (root / "README.md").write_text("old index")


def stage_all(st):
    st.tree("a", {"one": b"new one", "two": b"new two"})
    st.tree("c", {"z": b"new c"})
    st.remove("b")
    st.file("README.md", "new index")
    st.commit()


def test_staging_replaces_directories_whole(tmp_path):
    out = tmp_path / "out"
    fill(out)
    with outputs.Staging(str(out)) as st:
        stage_all(st)
    assert snapshot(out) == {"./": None, "a/": None, "c/": None, "README.md": b"new index",
                             "a/one": b"new one", "a/two": b"new two", "c/z": b"new c"}
    assert stat.S_IMODE((out / "a").stat().st_mode) == outputs.DIR_MODE
    assert stat.S_IMODE((out / "a" / "one").stat().st_mode) == outputs.FILE_MODE


def test_staging_a_new_directory_appears_whole(tmp_path):
    out = tmp_path / "deep" / "out"
    with outputs.Staging(str(out)) as st:
        st.tree("a", {"one": b"1"})
        st.file("README.md", "i")
        assert not out.exists()
        st.commit()
    assert snapshot(out) == {"./": None, "a/": None, "a/one": b"1", "README.md": b"i"}
    assert os.listdir(tmp_path / "deep") == ["out"]


@pytest.mark.parametrize("after", [0, 1, 2, 3])
def test_staging_full_disk_keeps_the_previous_directory(tmp_path, monkeypatch, after):
    out = tmp_path / "out"
    fill(out)
    before = snapshot(out)
    full_disk(monkeypatch, after)
    with pytest.raises(CheckerError) as e:
        with outputs.Staging(str(out), "the previous out") as st:
            stage_all(st)
    assert "\n" not in str(e.value)
    assert str(e.value).endswith("No space left on device; the previous out is left as it was")
    assert snapshot(out) == before and staged_left(tmp_path) == []


@pytest.mark.parametrize("fail_at", [1, 2, 3])
def test_staging_failed_rename_rolls_back(tmp_path, monkeypatch, fail_at):
    """A rename into place that fails (after others succeeded) puts everything back."""
    out = tmp_path / "out"
    fill(out)
    before = snapshot(out)
    real, calls = os.rename, {"n": 0}

    def rename(a, b):
        if not outputs.is_staged(os.path.basename(b)):  # a rename into place, not away
            calls["n"] += 1
            if calls["n"] == fail_at:
                raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real(a, b)
    monkeypatch.setattr(outputs.os, "rename", rename)
    with pytest.raises(CheckerError, match="Input/output error; .*/out is left as it was$"):
        with outputs.Staging(str(out)) as st:
            stage_all(st)
    assert snapshot(out) == before and staged_left(tmp_path) == []


def test_staging_new_directory_failure_leaves_nothing(tmp_path, monkeypatch):
    full_disk(monkeypatch, 1)
    with pytest.raises(CheckerError, match="nothing was written$"):
        with outputs.Staging(str(tmp_path / "out")) as st:
            stage_all(st)
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- the commands

def test_report_on_a_full_disk_keeps_the_previous_report(tmp_path, monkeypatch, capsys):
    path = tmp_path / "report.html"
    path.write_text("<html>the previous report</html>")
    full_disk(monkeypatch)
    assert main(["report", "kafka", "-p", "messages=1", "-o", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == (f"checker: error: cannot write {path}: No space left on device; "
                   f"the previous {path} is left as it was\n")
    assert path.read_text() == "<html>the previous report</html>" and os.listdir(tmp_path) == ["report.html"]


def test_diagrams_replace_an_instance_whole_and_survive_a_full_disk(tmp_path, monkeypatch, capsys):
    out = tmp_path / "pics"
    args = ["diagrams", "kafka", "-p", "messages=1", "-o", str(out)]
    assert main(args) == 0
    first = snapshot(out)
    (out / "kafka_messages-1" / "left-over.svg").write_text("from an older drawing")
    (out / "other").mkdir()
    (out / "other" / "notes.txt").write_text("not an instance: left alone")
    kept = snapshot(out)
    capsys.readouterr()

    full_disk(monkeypatch, 2)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"checker: error: cannot write {out}/") and \
        err.endswith(f"No space left on device; the previous {out} is left as it was\n")
    assert snapshot(out) == kept and staged_left(tmp_path) == []

    monkeypatch.undo()
    assert main(args) == 0
    again = snapshot(out)
    assert "kafka_messages-1/left-over.svg" not in again  # the instance's folder is replaced whole
    assert again == {**first, "other/": None, "other/notes.txt": b"not an instance: left alone"}


def test_matrix_trace_pages_survive_a_full_disk(tmp_path, monkeypatch, capsys):
    pages = tmp_path / "traces"
    pages.mkdir()
    (pages / "at-most-once.md").write_text("the previous page")
    (pages / "other-row.md").write_text("another row's page")
    full_disk(monkeypatch)
    assert main(["matrix", "--config", "at-most-once", "-o", str(pages)]) == 2
    err = capsys.readouterr().err
    assert err == (f"checker: error: cannot write {pages}/at-most-once.md: No space left on device; "
                   f"the previous {pages} is left as it was\n")
    assert (pages / "at-most-once.md").read_text() == "the previous page"
    assert sorted(os.listdir(pages)) == ["at-most-once.md", "other-row.md"]
    monkeypatch.undo()
    assert main(["matrix", "--config", "at-most-once", "-o", str(pages)]) == 0
    assert "Re-run: `checker verify --config at-most-once`" in (pages / "at-most-once.md").read_text()
    assert (pages / "other-row.md").read_text() == "another row's page"
