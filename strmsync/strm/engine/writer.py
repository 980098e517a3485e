"""The only code that touches the target tree: observe, write atomically, delete managed."""

import contextlib
import errno
import os
from typing import BinaryIO

import _fastscan
from strmsync.errors import FatalError
from strmsync.strm.engine.plan import META, OBSERVED_STRM, PRESENT, STRM, Item, digest

TEMP_SUFFIX = ".strmsync-tmp"
COPY_CHUNK = 1 << 20  # metadata is mostly a few KiB; artwork can run to a few MiB
# Write failures that no other file in the run would escape: stop instead of failing each.
FATAL_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT})


class TargetWriter:
    """Reads and writes files under one target root; every path is checked on the way in."""

    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        self.last_job = None  # the writes or copies started last (start_strm, start_copies)

    def path(self, rel: str) -> str:
        """The absolute target path for `rel`, refusing anything that leaves the root."""
        return _fastscan.join_relpath(self.root, rel)

    def ensure_root(self, dry_run: bool) -> None:
        """Create the target root (unless dry) and check that it is writable."""
        if dry_run:
            probe = self.root
            while not os.path.exists(probe):
                probe = os.path.dirname(probe)
            if not os.access(probe, os.W_OK):
                raise FatalError(f"target: not writable: {self.root}")
            return
        try:
            os.makedirs(self.root, exist_ok=True)
        except OSError as exc:
            raise FatalError(f"target: cannot create {self.root}: {exc.strerror}") from exc
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise FatalError(f"target: not writable: {self.root}")

    # observing -----------------------------------------------------------------------------

    def observe(self, items: list, read_strm: bool) -> list:
        """What each item's target holds now; `.strm` files are read only if `read_strm`."""
        observed: list = [None] * len(items)
        join, root = _fastscan.join_relpath, self.root  # self.path, without a call per item
        strm_index = [i for i, item in enumerate(items) if item.kind == STRM]
        if read_strm:
            codes = _fastscan.compare_files([join(root, items[i].target_rel) for i in strm_index],
                                            [items[i].text for i in strm_index])
            for i, code in zip(strm_index, codes, strict=True):
                observed[i] = OBSERVED_STRM[code]
        else:
            for i in strm_index:
                observed[i] = PRESENT if os.path.lexists(self.path(items[i].target_rel)) \
                    else OBSERVED_STRM[_fastscan.CMP_MISSING]
        # One C call for the batch: os.stat per file cost more in Python than in the kernel.
        meta_index = [i for i, item in enumerate(items) if item.kind == META]
        stats = _fastscan.stat_files([join(root, items[i].target_rel) for i in meta_index])
        for i, seen in zip(meta_index, stats, strict=True):
            observed[i] = seen
        return observed

    # writing -------------------------------------------------------------------------------

    def write_strm(self, items: list) -> list:
        """Write `.strm` files atomically; returns an errno (0 for success) per item."""
        return self.checked(_fastscan.write_files([self.path(item.target_rel) for item in items],
                                                  [item.text for item in items]))

    def start_strm(self, items: list) -> "_fastscan.WriteJob":
        """Start writing `.strm` files atomically, on a thread of their own in the compiled
        build; `checked(job.codes())` gives what write_strm would. One job (of writes or
        copies) works at a time, in the order they were started, so a path written twice
        ends with what was given last."""
        return self._started(_fastscan.WriteJob, [self.path(item.target_rel) for item in items],
                             [item.text for item in items])

    def start_copies(self, items: list, sources: list) -> "_fastscan.CopyJob":
        """Start `copy_local`'s copies as start_strm starts writes."""
        return self._started(_fastscan.CopyJob, sources,
                             [self.path(item.target_rel) for item in items],
                             [item.mtime_ns for item in items])

    def _started(self, job_type, *lists):
        if self.last_job is not None:
            self.last_job.codes()  # waits for it
        self.last_job = job_type(*lists)
        return self.last_job

    def checked(self, codes: list) -> list:
        """Write errnos as they are, but those that fail the whole run (a full disk) raise."""
        for code in codes:
            if code in FATAL_ERRNOS:
                raise FatalError(f"target: {os.strerror(code)} under {self.root}")
        return codes

    def copy_local(self, items: list, sources: list) -> list:
        """Copy metadata from local paths atomically with the items' source mtimes; returns an
        errno (0 for success) per item."""
        return self.checked(_fastscan.copy_files(
            sources, [self.path(item.target_rel) for item in items],
            [item.mtime_ns for item in items]))

    def copy_meta(self, item: Item, source: BinaryIO) -> None:
        """Copy a metadata file atomically, giving it the source's mtime."""
        dest = self.path(item.target_rel)
        tmp = _temp_path(dest)
        # Plain descriptors, folders made only when missing and the mtime set through the
        # descriptor: about half the syscalls of open()/makedirs/utime(path), and each
        # syscall from Python is a GIL hand-off between the run's threads.
        try:
            with source:
                fd = _create(tmp)
                try:
                    _copy_into(source, fd)
                    os.utime(fd, ns=(item.mtime_ns, item.mtime_ns))
                finally:
                    os.close(fd)
            os.replace(tmp, dest)
        except OSError as exc:
            _discard(tmp)
            if exc.errno in FATAL_ERRNOS:
                raise FatalError(f"target: {exc.strerror} under {self.root}") from exc
            raise

    # deleting ------------------------------------------------------------------------------

    def delete_managed(self, rel: str, entry: tuple) -> str:
        """Delete a file strmsync wrote if it is still as written: deleted, kept or gone."""
        path = self.path(rel)
        kind, want_digest, size, mtime_ns = entry
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return "gone"
        if not os.path.isfile(path) or os.path.islink(path):
            return "kept"
        if kind == STRM:
            with open(path, "rb") as fh:
                unchanged = digest(fh.read()) == want_digest
        else:
            unchanged = st.st_size == size and st.st_mtime_ns // 10**9 == mtime_ns // 10**9
        if not unchanged:
            return "kept"
        os.unlink(path)
        self._prune_dirs(os.path.dirname(path))
        return "deleted"

    def _prune_dirs(self, directory: str) -> None:
        # rmdir only removes empty folders, so a folder holding any user file survives.
        while directory != self.root and directory.startswith(self.root + "/"):
            try:
                os.rmdir(directory)
            except OSError:
                return
            directory = os.path.dirname(directory)

    def sweep_temp_files(self) -> int:
        """Remove temp files an interrupted run left behind; returns how many."""
        removed = 0
        for dirpath, _dirs, names in os.walk(self.root):
            for name in names:
                if name.startswith(".") and name.endswith(TEMP_SUFFIX):
                    _discard(os.path.join(dirpath, name))
                    removed += 1
        return removed


def _create(path: str) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    try:
        return os.open(path, flags, 0o666)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return os.open(path, flags, 0o666)


def _copy_into(source: BinaryIO, fd: int) -> None:
    while chunk := source.read(COPY_CHUNK):
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view):]


def _temp_path(path: str) -> str:
    head, _, name = path.rpartition("/")
    return f"{head}/.{name}{TEMP_SUFFIX}"


def _discard(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
