"""Crash-safe file writes, and a TinyDB `Storage` built on them.

TinyDB's own `JSONStorage` rewrites its file in place, so a kill -9 mid-write can leave a torn
file (see GUIDE §3). Here every write goes to a new temp file in the same folder and is
fsynced, then `os.replace`d over the old file and the folder is fsynced: after a crash the file
holds either the old or the new content, never a mix.

`AtomicJSONStorage` also keeps the last content it read or wrote in memory, so TinyDB does not
re-read the file before every change, and offers `transaction()` so several TinyDB operations
reach the disk as one write (all or nothing).
"""

from __future__ import annotations

import contextlib
import copy
import errno
import json
import os
import re
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import orjson
from tinydb.storages import Storage

from bot.errors import StorageError, UnreadableDataError

Tables = dict[str, dict[str, Any]]
T = TypeVar("T")

TEMP_SUFFIX = ".tmp"
_TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp$")  # what write_temp names, nothing else
FILE_MODE = 0o600
DIR_MODE = 0o700


def unreadable(path: Path, why: str) -> UnreadableDataError:
    """The one message for a data file we refuse to load (and so never overwrite)."""
    return UnreadableDataError(
        f"The data file {path} cannot be read ({why}). The bot will not start until the file "
        "is restored from a backup or moved aside."
    )


def write_failed(path: Path, exc: OSError) -> StorageError:
    # Only the file name and the OS reason: never any of the content being written.
    reason = exc.strerror or type(exc).__name__
    return StorageError(f"Could not save {path.name} in {path.parent}: {reason}.")


def odd_target(path: Path) -> str | None:
    """What stands at `path` if a write there must be refused rather than followed: a link,
    a folder, a pipe... None when it is an ordinary file or nothing. (lstat: links not followed.)"""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "a folder" if stat.S_ISDIR(mode) else "not an ordinary file"


def write_temp(path: Path, payload: bytes) -> Path:
    """Write `payload` to a new 0600 temp file beside `path`, durably; return the temp path."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
    try:
        # O_EXCL: never follow or reuse someone else's file. Mode given here, not left to umask.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    except OSError as exc:
        raise write_failed(path, exc) from exc
    try:
        try:
            os.fchmod(fd, FILE_MODE)  # a umask can only remove bits; set exactly 0600 anyway
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)  # the data is on disk before the rename can make it the file
        finally:
            os.close(fd)
    except OSError as exc:
        discard(tmp)
        raise write_failed(path, exc) from exc
    return tmp


def append(path: Path, payload: bytes, size: int) -> int:
    """Append `payload` to the file at `path`, which is `size` bytes long, durably; returns its
    new size. A missing file is not created (FileNotFoundError: the caller writes it whole),
    and a link is never followed. On failure the file is cut back to `size`, best effort: the
    caller must not append to it again before rewriting it whole."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise write_failed(path, exc) from exc
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, size)
        raise write_failed(path, exc) from exc
    finally:
        os.close(fd)
    return size + len(payload)


def replace(tmp: Path, path: Path) -> None:
    """Atomically put `tmp` in place of `path`; on failure remove `tmp` and keep `path`."""
    try:
        os.replace(tmp, path)
    except OSError as exc:
        discard(tmp)
        raise write_failed(path, exc) from exc


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable. Filesystems that cannot fsync a folder are tolerated."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        if exc.errno in (errno.EINVAL, errno.ENOTSUP):
            return
        reason = exc.strerror or type(exc).__name__
        raise StorageError(f"Could not save changes in {folder}: {reason}.") from exc


def discard(path: Path) -> None:
    # Best effort: a stray temp file is removed at the next start.
    with contextlib.suppress(OSError):
        os.unlink(path)


def remove_stale_temps(folder: Path) -> None:
    """Delete temp files a killed process left behind. Call only while holding the data lock."""
    for tmp in folder.glob(f".*{TEMP_SUFFIX}"):
        if _TEMP_NAME.match(tmp.name) and tmp.is_file():
            discard(tmp)


def check_tinydb_shape(path: Path, data: Any) -> Tables:
    """TinyDB's file format: {table: {"<int doc id>": {document}}}."""
    if not isinstance(data, dict):
        raise unreadable(path, "it is not a TinyDB database")
    for name, table in data.items():
        if not isinstance(table, dict):
            raise unreadable(path, f"table {name!r} is not a table")
        for doc_id, doc in table.items():
            if not (doc_id.isascii() and doc_id.isdigit()) or not isinstance(doc, dict):
                raise unreadable(path, f"table {name!r} has a malformed document")
    return data


# What json would refuse, orjson must not quietly write (a datetime, a dataclass): handed to
# its (absent) default, they raise, and json then says what it cannot hold. What json writes,
# orjson must write too, or every write falls back to json (about 7x slower): str subclasses
# (the flow's StrEnum steps, as values and as keys) are written as their text.
_STRICT = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
)


def serialise(data: object) -> bytes:
    """JSON bytes, by orjson: about 7x faster than json on a live.json of a few hundred KB,
    and every step writes one. What orjson refuses (a lone surrogate, a huge integer) goes
    through json and its ASCII escapes, which raises TypeError for a value JSON cannot hold."""
    try:
        return orjson.dumps(data, option=_STRICT)
    except TypeError:
        return json.dumps(data, ensure_ascii=True).encode("ascii")


def json_copy(value: T) -> T:
    """A copy sharing nothing with `value`, a JSON document: orjson's round trip is about six
    times faster than copy.deepcopy, and every read of a case or conversation makes one."""
    try:
        return cast(T, orjson.loads(orjson.dumps(value, option=_STRICT)))
    except (TypeError, orjson.JSONDecodeError):  # not plain JSON after all: copy it the slow way
        return copy.deepcopy(value)


def parse(raw: bytes) -> Any:
    """Parse what `serialise` wrote (or an older file); ValueError if it is not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)  # json's escapes of lone surrogates, which orjson refuses


class AtomicJSONStorage(Storage):
    """A TinyDB storage whose every write is atomic and whose reads come from memory.

    Only ever used from one thread (the store's worker), so it needs no locking of its own.
    `_raw` and `_committed` always equal what is on disk: they are replaced only after a write
    succeeded, and `_committed` is never handed to TinyDB (which mutates what `read()` returns
    before it calls `write()`): TinyDB gets a fresh parse of `_raw` instead.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._raw = b"{}"  # the file's bytes, as last read or written
        self._committed: Tables | None = None  # the same, parsed
        self._in_transaction = False
        self._pending: Tables | None = None
        self._dirty = False

    # -- loading -------------------------------------------------------------------------------
    def load(self) -> Tables:
        """Read and check the file (a missing file is an empty database); see `snapshot()`."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            self._raw, self._committed = b"{}", {}
            return self._committed
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise StorageError(f"Could not read {self.path}: {reason}.") from exc
        try:
            data = parse(raw)
        except (ValueError, RecursionError):
            # An empty file is refused too: we never write one, so it means damage.
            raise unreadable(self.path, "it is not valid JSON") from None
        self._raw, self._committed = raw, check_tinydb_shape(self.path, data)
        return self._committed

    @property
    def size(self) -> int:
        """Bytes of the file, as last read or written."""
        return len(self._raw)

    def snapshot(self) -> Tables:
        """What is on disk, parsed. Shared, so callers must treat it as read-only."""
        return self._committed if self._committed is not None else self.load()

    # -- the TinyDB Storage interface ------------------------------------------------------------
    def read(self) -> Tables | None:
        if not self._in_transaction:
            return self._fresh_copy()
        if self._pending is None:
            self._pending = self._fresh_copy()
        # Inside a transaction TinyDB may mutate the pending copy freely: it is discarded on error.
        return self._pending

    def _fresh_copy(self) -> Tables:
        if self._committed is None:
            self.load()
        # Parsing the bytes again shares nothing with the cache, and is far cheaper than
        # copy.deepcopy (about 30x on a live.json of a few thousand small documents).
        data: Tables = parse(self._raw)
        return data

    def write(self, data: Tables) -> None:
        if self._in_transaction:
            self._pending = data
            self._dirty = True
        else:
            self._commit(data)

    def close(self) -> None:
        return None  # no file handle is held between writes

    # -- transactions ----------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Gather every TinyDB write inside the block into one atomic file write.

        If the block raises, or the write fails, nothing reaches the disk and the in-memory
        copy still equals the file.
        """
        if self._in_transaction:
            raise RuntimeError("transactions do not nest")
        self._in_transaction, self._pending, self._dirty = True, None, False
        try:
            yield
            if self._dirty and self._pending is not None:
                self._commit(self._pending)
        finally:
            self._in_transaction, self._pending, self._dirty = False, None, False

    def _commit(self, data: Tables) -> None:
        # ASCII escapes keep any string (even a lone surrogate) encodable; a TypeError for a
        # value JSON cannot hold is raised here, before the disk is touched.
        payload = serialise(data)
        replace(write_temp(self.path, payload), self.path)
        # The file is now the new one: the cache must follow even if the folder fsync fails.
        # Parsing our own output gives a cache that shares nothing with the caller's objects.
        self._raw, self._committed = payload, parse(payload)
        fsync_dir(self.path.parent)
