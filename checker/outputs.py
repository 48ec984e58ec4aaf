"""Outputs written whole or not at all: staged under a temporary name next to their place,
then renamed into place.

`write_file(path, data)` writes one file (`report -o FILE`): `FILE.tmp-XXXXXXXX` in the
same directory, written and flushed to disk, then `os.replace`d onto FILE. `Staging(dir)`
writes several files and whole subdirectories of one directory at once (`diagrams`: an
instance's folder is replaced as a whole, and the index; `matrix -o DIR`: the trace
pages): each is staged as `NAME.tmp-XXXXXXXX` inside the directory (or, when the
directory does not exist yet, the whole directory as a sibling `DIR.tmp-XXXXXXXX`), and
`commit` then renames them all into place; what they replace is renamed away first
(`NAME.old-XXXXXXXX`) and removed afterwards, and a failure renames back what was
already in place. The renames run under `interrupt.committing()`, so a signal waits for
them; staged and replaced names are `interrupt.temporary`, removed when the process ends
early.

A failure (a full disk, a read-only directory, a name that is not a directory) is a
CheckerError (exit 2) of one line: what could not be written, why, and that the previous
output is left as it was (or that nothing was written).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Iterator

from checker import interrupt
from checker.errors import CheckerError

__all__ = ["write_file", "Staging", "is_staged"]

_UMASK = os.umask(0o022)
os.umask(_UMASK)
FILE_MODE, DIR_MODE = 0o666 & ~_UMASK, 0o777 & ~_UMASK  # what open() and mkdir() would give
_TMP, _OLD = ".tmp-", ".old-"


def is_staged(name: str) -> bool:
    """Whether a directory entry is a staged or replaced output (never an output itself)."""
    return _TMP in name or _OLD in name


def _prefix(name: str) -> str:
    return name[:200] + _TMP  # the random part must still fit in a file name (255 bytes)


def _new_file(directory: str, name: str) -> str:
    fd, path = tempfile.mkstemp(prefix=_prefix(name), dir=directory)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def _new_dir(directory: str, name: str) -> str:
    path = tempfile.mkdtemp(prefix=_prefix(name), dir=directory)
    os.chmod(path, DIR_MODE)
    return path


def _fill(path: str, data: bytes | str) -> None:
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
        f.flush()
        os.fsync(f.fileno())


def _why(e: OSError) -> str:
    return e.strerror or str(e)


def write_file(path: str, data: bytes | str) -> None:
    """Replace the file at path with data, whole or not at all (never a device or a directory)."""
    if os.path.islink(path):
        path = os.path.realpath(path)  # write where the link points, as open() would, keeping the link
    directory, name = os.path.split(path)
    if not name:
        raise CheckerError(f"cannot write {path!r}: it names a directory, not a file")
    existed = os.path.lexists(path)
    if existed and not os.path.isfile(path):
        raise CheckerError(f"cannot write {path}: it is not a regular file; choose another file")
    try:
        with interrupt.temporary(lambda: _new_file(directory or ".", name)) as tmp:
            _fill(tmp, data)
            with interrupt.committing():
                os.replace(tmp, path)
    except OSError as e:
        kept = f"the previous {path} is left as it was" if existed else "nothing was written"
        raise CheckerError(f"cannot write {path}: {_why(e)}; {kept}") from None


class Staging:
    """Files and subdirectories of one directory, staged and then renamed into place together.

    Use as a context manager: `file`, `tree` and `remove` stage, `commit` puts everything
    in place; leaving the block without `commit` (an error) removes what was staged.
    `what` names the output in messages (e.g. "the diagrams in diagrams").
    """

    def __init__(self, directory: str, what: str | None = None):
        self.directory = directory
        self.what = what or directory
        self.fresh = not os.path.isdir(directory)  # then the whole directory is staged
        self._stack = contextlib.ExitStack()
        self._root: str | None = None  # fresh: the staged directory
        self._items: list[tuple[str, str | None]] = []  # (name, staged path; None: remove)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._stack.close()  # staged leftovers and replaced outputs go
        except OSError:
            pass

    # -- staging

    def file(self, name: str, data: bytes | str) -> None:
        """Stage directory/name with data."""
        with self._failure(name):
            if self.fresh:
                _fill(os.path.join(self._where(), name), data)
                return
            tmp = self._stack.enter_context(interrupt.temporary(lambda: _new_file(self.directory, name)))
            _fill(tmp, data)
            self._items.append((name, tmp))

    def tree(self, name: str, files: dict[str, bytes]) -> None:
        """Stage the subdirectory directory/name holding exactly files (name -> bytes)."""
        with self._failure(name):
            if self.fresh:
                where = os.path.join(self._where(), name)
                os.mkdir(where, DIR_MODE)
            else:
                where = self._stack.enter_context(interrupt.temporary(lambda: _new_dir(self.directory, name)))
                self._items.append((name, where))
        for f, data in sorted(files.items()):
            with self._failure(os.path.join(name, f)):
                _fill(os.path.join(where, f), data)

    def remove(self, name: str) -> None:
        """Remove the subdirectory (or file) directory/name at the commit."""
        if not self.fresh:
            self._items.append((name, None))

    def _where(self) -> str:
        if self._root is None:
            parent, name = os.path.split(os.path.normpath(self.directory))
            parent = parent or "."
            os.makedirs(parent, exist_ok=True)
            self._root = self._stack.enter_context(interrupt.temporary(lambda: _new_dir(parent, name)))
        return self._root

    # -- commit

    def commit(self) -> None:
        """Rename everything staged into place, all or nothing."""
        with self._failure(None), interrupt.committing():
            if self.fresh:
                os.rename(self._where(), self.directory)
                return
            done: list[tuple[str, str | None, str | None]] = []  # (final, replaced as, staged)
            try:
                for name, staged in self._items:
                    final = os.path.join(self.directory, name)
                    old = None
                    if os.path.lexists(final):
                        token = os.path.basename(staged).rpartition(_TMP)[2] if staged else os.urandom(4).hex()
                        old = self._stack.enter_context(interrupt.temporary(
                            lambda: _rename(final, os.path.join(self.directory, name[:200] + _OLD + token))))
                    if staged is not None:
                        try:
                            os.rename(staged, final)
                        except OSError:
                            if old is not None:
                                os.rename(old, final)
                            raise
                    done.append((final, old, staged))
            except OSError:
                for final, old, staged in reversed(done):
                    with contextlib.suppress(OSError):
                        if staged is not None:
                            os.rename(final, staged)
                        if old is not None:
                            os.rename(old, final)
                raise

    @contextlib.contextmanager
    def _failure(self, name: str | None) -> Iterator[None]:
        try:
            yield
        except OSError as e:
            where = self.directory if name is None else os.path.join(self.directory, name)
            kept = "nothing was written" if self.fresh else f"{self.what} is left as it was"
            raise CheckerError(f"cannot write {where}: {_why(e)}; {kept}") from None


def _rename(src: str, dst: str) -> str:
    os.rename(src, dst)
    return dst
