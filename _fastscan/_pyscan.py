"""Pure-Python twin of the compiled hot path; same API and results as `_cscan`."""

import contextlib
import os
import stat
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from urllib.parse import quote

KIND_NONE, KIND_STRM, KIND_META = 0, 1, 2
CMP_EQUAL, CMP_DIFFERENT, CMP_MISSING, CMP_ERROR = 0, 1, 2, 3
REPORT_ERROR, REPORT_DEPTH, REPORT_LOOP = "error", "depth", "loop"
STAT_BROKEN = "broken"  # stat_files: there, but not a regular file, or the stat failed
UNKNOWN = -1  # walk(stat_files=False): the size and mtime of a file that was not stat'ed
TEMP_SUFFIX = ".strmsync-tmp"


class PathEscape(ValueError):
    """A path that would leave the root it is joined to (`..`, absolute, NUL, empty)."""


def safe_relpath(path: str) -> str:
    """Normalise a `/`-separated relative path, rejecting anything that could escape."""
    if "\x00" in path:
        raise PathEscape(f"path contains NUL: {path!r}")
    if path.startswith("/"):
        raise PathEscape(f"absolute path where a relative one was expected: {path!r}")
    parts = []
    for seg in path.split("/"):
        if seg == "..":
            raise PathEscape(f"path leaves its root: {path!r}")
        if seg and seg != ".":
            parts.append(seg)
    if not parts:
        raise PathEscape(f"empty path: {path!r}")
    return "/".join(parts)


def join_relpath(root: str, rel: str) -> str:
    """Join a checked relative path under `root`; the only way target paths are built."""
    rel = safe_relpath(rel)
    if root == "/":
        return "/" + rel
    return root.rstrip("/") + "/" + rel


def _extension(name: str) -> str:
    dot = name.rfind(".")
    if dot <= 0 or dot == len(name) - 1:
        return ""
    # A name made only of leading dots ("..nfo") has no stem, like os.path.splitext says.
    if not name[:dot].strip("."):
        return ""
    return name[dot + 1 :].lower()


def classify(name: str, media_exts: frozenset, meta_exts: frozenset) -> int:
    """KIND_STRM for a media file, KIND_META for a metadata file, else KIND_NONE."""
    ext = _extension(name)
    if not ext:
        return KIND_NONE
    if ext in media_exts:
        return KIND_STRM
    if ext in meta_exts:
        return KIND_META
    return KIND_NONE


def target_name(name: str, kind: int) -> str:
    """The file name in the target tree: `<stem>.strm` for media, unchanged for metadata."""
    if kind == KIND_STRM:
        return name[: name.rfind(".")] + ".strm"
    return name


def quote_path(path: str) -> str:
    """Percent-encode each `/`-separated segment on its own (UTF-8, nothing kept but unreserved)."""
    return "/".join(quote(seg, safe="") for seg in path.split("/"))


def build_strm(mode: str, base: str, rel: str) -> str:
    """The text of a `.strm`: `url` = base + escaped path; `path`/`mount` = base + path."""
    rel = rel.strip("/")
    base = base.rstrip("/")
    if mode == "url":
        return base + "/" + quote_path(rel)
    if mode in ("path", "mount"):
        return base + "/" + rel
    raise ValueError(f"strm mode: unknown mode {mode!r}")


def compare_files(paths: list, expected: list) -> list:
    """For each path, CMP_EQUAL/CMP_DIFFERENT/CMP_MISSING/CMP_ERROR against expected bytes."""
    out = []
    for path, want in zip(paths, expected, strict=True):
        # os.open/os.read rather than open(): no buffered file object, no isatty or lseek.
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            out.append(CMP_MISSING)
            continue
        except OSError:
            out.append(CMP_ERROR)
            continue
        try:
            out.append(_compare_fd(fd, want))
        except OSError:
            out.append(CMP_ERROR)
        finally:
            os.close(fd)
    return out


def _compare_fd(fd: int, want: bytes) -> int:
    st = os.fstat(fd)
    if stat.S_ISDIR(st.st_mode):
        return CMP_ERROR
    if st.st_size != len(want):
        return CMP_DIFFERENT
    chunks, got = [], 0
    while True:
        # One byte more than remains shows a file grown since fstat; a read that stops at
        # the size fstat gave is the whole file (the compiled build skips the final read).
        ask = len(want) - got + 1
        chunk = os.read(fd, ask)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
        if got > len(want) or (got == len(want) and len(chunk) < ask):
            break
    return CMP_EQUAL if b"".join(chunks) == want else CMP_DIFFERENT


def stat_files(paths: list) -> list:
    """For each path, `(size, mtime_ns)` of a regular file, None if missing, else STAT_BROKEN."""
    out = []
    for path in paths:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            out.append(None)
            continue
        except OSError:
            out.append(STAT_BROKEN)
            continue
        out.append((st.st_size, st.st_mtime_ns) if stat.S_ISREG(st.st_mode) else STAT_BROKEN)
    return out


def temp_path(path: str) -> str:
    """The temporary sibling a write goes through before `os.replace`."""
    # Keep the separator rpartition found: a bare name's temp must stay in the current
    # directory, not become "/.<name>" at the filesystem root.
    head, sep, name = path.rpartition("/")
    return f"{head}{sep}.{name}{TEMP_SUFFIX}"


def write_files(paths: list, datas: list) -> list:
    """Write each file atomically (temp sibling, then rename); 0 or an errno per file."""
    out = []
    for path, data in zip(paths, datas, strict=True):
        tmp = temp_path(path)
        try:
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            except FileNotFoundError:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            os.replace(tmp, path)
            out.append(0)
        except OSError as exc:
            _discard(tmp)
            out.append(exc.errno or -1)
    return out


COPY_CHUNK = 1 << 18  # a poster in one or a few reads; small enough to allocate per call


def copy_files(sources: list, dests: list, mtimes_ns: list) -> list:
    """Copy each file atomically (temp sibling, then rename) with the given mtime; 0 or an
    errno per file. Missing parent folders of a destination are made."""
    out = []
    for source, dest, mtime_ns in zip(sources, dests, mtimes_ns, strict=True):
        tmp = temp_path(dest)
        try:
            _copy_one(source, tmp, mtime_ns)
            os.replace(tmp, dest)
            out.append(0)
        except OSError as exc:
            _discard(tmp)
            out.append(exc.errno or -1)
        except BaseException:
            _discard(tmp)
            raise
    return out


def _copy_one(source: str, tmp: str, mtime_ns: int) -> None:
    src = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(tmp), exist_ok=True)
            fd = os.open(tmp, flags, 0o666)
        try:
            while chunk := os.read(src, COPY_CHUNK):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
            os.utime(fd, ns=(mtime_ns, mtime_ns))
        finally:
            os.close(fd)
    finally:
        os.close(src)


def _discard(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def walk(root: str, max_depth: int = 25, report: list | None = None,
         stat_files: bool = True, workers: int = 1) -> Iterator[tuple]:
    """Yield `(dir_rel, files, subdirs)` for every folder; files are `(name, size, mtime_ns)`.

    Entries are sorted by name. Directories deeper than `max_depth`, symlink loops and
    unreadable entries are appended to `report` as `(kind, rel, message)` and skipped.
    With `stat_files=False` an entry the directory itself types as a regular file is not
    stat'ed: its size and mtime are UNKNOWN (every file's are, for one result shape).
    With one worker folders come depth-first; with more, up to `workers` folders are
    listed at once and each is yielded as soon as it is listed (mostly depth-first).
    """
    if report is None:
        report = []
    try:
        top = os.stat(root)
    except OSError as exc:
        report.append((REPORT_ERROR, "", exc.strerror or str(exc)))
        return

    def expand(node: tuple) -> tuple:
        rel, depth, ancestors = node
        found: list = []
        listed = _list_dir(root, rel, found, stat_files)
        if listed is None:
            return None, found, ()
        files, dirs = listed
        subdirs, children = [], []
        for name, st in dirs:
            child = f"{rel}/{name}" if rel else name
            key = (st.st_dev, st.st_ino)
            if key in ancestors:
                found.append((REPORT_LOOP, child, "symlink loop"))
                continue
            subdirs.append(name)
            if depth + 1 > max_depth:
                found.append((REPORT_DEPTH, child, f"deeper than {max_depth} levels"))
                continue
            children.append((child, depth + 1, ancestors + (key,)))
        return (rel, files, subdirs), found, children

    yield from traverse(expand, ("", 0, ((top.st_dev, top.st_ino),)), report, workers)


def traverse(expand, start, report: list, workers: int) -> Iterator[tuple]:
    """Run `expand(node) -> (listing or None, report entries, child nodes)` over a tree.

    Shared by both builds' `walk`. One worker: inline and depth-first, no thread. More: a
    pool lists up to `workers` folders at once (a FUSE mount answers each readdir after a
    cloud round trip, and listdir, scandir and the compiled readdir loop release the GIL),
    at most `2 * workers` submitted at a time, so memory holds a few listings and the
    nodes still to visit, never the whole tree. Nodes are taken last in, first out: the
    order stays close to depth-first and the frontier stays small. Report entries are
    added here, in the caller's thread, as each listing is taken.
    """
    stack = [start]
    if workers <= 1:
        while stack:
            listing, found, children = expand(stack.pop())
            report.extend(found)
            if listing is not None:
                yield listing
            stack.extend(reversed(children))
        return
    pool = ThreadPoolExecutor(workers, thread_name_prefix="fastscan-walk")
    running: set = set()
    try:
        while stack or running:
            while stack and len(running) < 2 * workers:
                running.add(pool.submit(expand, stack.pop()))
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                listing, found, children = future.result()
                report.extend(found)
                stack.extend(reversed(children))
                # Refill before handing the listing over: the consumer may take a while.
                while stack and len(running) < 2 * workers:
                    running.add(pool.submit(expand, stack.pop()))
                if listing is not None:
                    yield listing
    finally:
        # A walk given up half-way (a cancelled run) leaves at most the folders being
        # listed to finish on their own; none not yet started is listed.
        pool.shutdown(wait=False, cancel_futures=True)


def _list_dir(root: str, rel: str, report: list, stat_files: bool):
    path = f"{root}/{rel}" if rel else root
    try:
        names = _names(path, stat_files)
    except OSError as exc:
        report.append((REPORT_ERROR, rel, exc.strerror or str(exc)))
        return None
    files, dirs = [], []
    for name, regular in names:
        if regular:
            files.append((name, UNKNOWN, UNKNOWN))
            continue
        try:
            st = os.stat(f"{path}/{name}")
        except FileNotFoundError:
            continue  # a dangling symlink or a file gone since the listing: not a file
        except OSError as exc:
            child = f"{rel}/{name}" if rel else name
            report.append((REPORT_ERROR, child, exc.strerror or str(exc)))
            continue
        if stat.S_ISDIR(st.st_mode):
            dirs.append((name, st))
        elif stat.S_ISREG(st.st_mode):
            files.append((name, UNKNOWN, UNKNOWN) if not stat_files
                         else (name, st.st_size, st.st_mtime_ns))
    return files, dirs


def _names(path: str, stat_files: bool) -> list:
    """`(name, regular)` sorted by name; regular when the directory entry says so and
    `stat_files` is off (directories, symlinks and untyped entries still need a stat)."""
    if stat_files:
        return [(name, False) for name in sorted(os.listdir(path))]
    with os.scandir(path) as entries:
        return sorted((entry.name, _typed_regular(entry)) for entry in entries)


def _typed_regular(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file(follow_symlinks=False)
    except OSError:
        return False  # the stat that follows reports it
