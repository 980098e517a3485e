"""Pure-Python twin of the compiled hot path; same API and results as `_cscan`."""

import contextlib
import hashlib
import os
import stat
import time
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
    # No fstat: a folder fails its read (IsADirectoryError, an OSError: CMP_ERROR), and
    # asking for one byte more than remains shows a longer file as different; a read that
    # stops short with all of `want` read is the end of the file.
    chunks, got = [], 0
    while True:
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


class _DoneAtOnce:
    """A started call as the twin starts it: done here and now. `codes()` answers as the
    call does, `seconds` is how long it took."""

    def __init__(self, call, *lists):
        began = time.perf_counter()
        self._codes = call(*lists)
        self.seconds = time.perf_counter() - began

    def codes(self) -> list:
        """0 or an errno per file, in the order given."""
        return list(self._codes)


class WriteJob(_DoneAtOnce):
    """`write_files(paths, datas)`, started: the compiled build writes on a thread of its own
    while the caller goes on; the twin writes at once."""

    def __init__(self, paths: list, datas: list):
        super().__init__(write_files, paths, datas)


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


class CopyJob(_DoneAtOnce):
    """`copy_files(sources, dests, mtimes_ns)`, started, as WriteJob starts write_files:
    the twin copies at once."""

    def __init__(self, sources: list, dests: list, mtimes_ns: list):
        super().__init__(copy_files, sources, dests, mtimes_ns)


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
    With one worker folders come depth-first. With more they do too while listings are
    quick (a local disk); once they prove slow (a mount's round trips), up to `workers`
    folders are listed at once, each yielded as soon as it is listed (mostly depth-first).
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


# A listing slower than this is a round trip (a cloud drive's mount, a cold disk), and
# after SLOW_STREAK more slow listings than quick ones the walk goes on with a pool: only
# then does one pay. A warm local disk lists a folder in ~20 us (a folder of thousands,
# or a thread preempted on a busy machine, now and then in a few ms), and a pool adds
# ~15 us of CPU per folder plus the GIL passing between threads (a walk of 38,600
# folders on tmpfs: 0.6 s inline, 1.2-1.4 s with 8 workers).
SLOW_LISTING = 0.001
SLOW_STREAK = 3


def traverse(expand, start, report: list, workers: int) -> Iterator[tuple]:
    """Run `expand(node) -> (listing or None, report entries, child nodes)` over a tree.

    Shared by both builds' `walk`. Folders are listed inline, depth-first, while there is
    one worker or listings are quick. Once they prove slow, a pool lists up to `workers`
    folders at once (a FUSE mount answers each readdir after a cloud round trip; listdir,
    scandir and the compiled readdir loop release the GIL), at most `2 * workers`
    submitted at a time, so memory holds a few listings and the nodes still to visit,
    never the whole tree. Nodes are taken last in, first out: the order stays close to
    depth-first and the frontier stays small. Report entries are added here, in the
    caller's thread, as each listing is taken.
    """
    stack = [start]
    slow = 0  # one more for each slow listing, one less for each quick one
    while stack:
        if workers > 1 and slow >= SLOW_STREAK:
            yield from _traverse_pooled(expand, stack, report, workers)
            return
        began = time.perf_counter()
        listing, found, children = expand(stack.pop())
        if time.perf_counter() - began > SLOW_LISTING:
            slow += 1
        elif slow:
            slow -= 1
        report.extend(found)
        if listing is not None:
            yield listing
        stack.extend(reversed(children))


def _traverse_pooled(expand, stack: list, report: list, workers: int) -> Iterator[tuple]:
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


# ----------------------------------------------------------------------------- the manifest

STRM_KIND, META_KIND = "strm", "meta"
DIGEST_HEX = frozenset(b"0123456789abcdef")


def _canonical_digest(digest: bytes) -> str | None:
    # The compiled index keeps a digest as its 8 bytes: anything else reads back as None.
    return digest.decode() if len(digest) == 16 and set(digest) <= DIGEST_HEX else None


class ManifestIndex:
    """One job's manifest for a run: `path -> (kind, digest)`, each path checked off when the
    run produces it, and the folders the run listed non-empty."""

    def __init__(self):
        self._entries: dict = {}
        self._seen: set = set()
        self._listed: set = set()

    def add_records(self, blob: bytes) -> int:
        """Add `path NUL kind NUL digest NUL` records (UTF-8, kind strm or meta); returns how
        many. A path given again replaces its entry."""
        parts = bytes(blob).split(b"\0")
        if parts[-1] != b"" or len(parts) % 3 != 1:
            raise ValueError("manifest records: not path, kind, digest triples")
        for i in range(0, len(parts) - 1, 3):
            path, kind = parts[i].decode(), parts[i + 1]
            if kind not in (b"strm", b"meta"):
                raise ValueError(f"manifest records: unknown kind {kind!r}")
            # One str a path: its digest, or its kind when it has none (a tuple each would
            # cost another 56 bytes a managed file).
            digest = _canonical_digest(parts[i + 2]) if kind == b"strm" else None
            self._entries[path] = digest or (STRM_KIND if kind == b"strm" else META_KIND)
        return (len(parts) - 1) // 3

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, path) -> bool:
        return type(path) is str and path in self._entries

    def get(self, path):
        """`(kind, digest)` of a managed path (digest None for metadata), else None."""
        value = self._entries.get(path) if type(path) is str else None
        if value is None:
            return None
        if value in (STRM_KIND, META_KIND):
            return value, None
        return STRM_KIND, value

    def check_off(self, paths) -> None:
        """Note that this run produced these paths (unmanaged ones are ignored)."""
        entries = self._entries
        self._seen.update([path for path in paths if type(path) is str and path in entries])

    def unseen(self) -> list:
        """The managed paths not checked off, sorted: the orphans of a finished scan."""
        return sorted(path for path in self._entries if path not in self._seen)

    def note_listed(self, folder: str) -> None:
        """Note a folder this run listed with something in it (a name that is not UTF-8
        text is not noted: no manifest path can lie under it)."""
        if type(folder) is str and _utf8(folder):
            self._listed.add(folder)

    def was_listed(self, folder: str) -> bool:
        """True when `note_listed(folder)` was called."""
        return folder in self._listed


# ----------------------------------------------------------------------------- one folder

# scan_folder's metadata rule: meta mode "none"; keep an existing file; compare a managed one.
META_IGNORE, META_KEEP, META_COMPARE = 0, 1, 2
STRM_MODES = ("url", "path", "mount")


def scan_folder(root: str, dir_rel: str, files: list, rules: tuple, manifest) -> tuple:
    """Map one folder's files to targets, observe the targets and check them off `manifest`.

    `rules` is `(media_exts, meta_exts, strm_mode, strm_base, read_strm, meta_rule)`.
    Returns `(todo, odd, skipped, ignored)`: `todo` holds `(entry, target_rel, kind, text,
    observed)` for every file planning must decide (observed as `compare_files` or
    `stat_files` give it; CMP_MISSING for a `.strm` not read); `skipped` counts files that
    planning would skip without recording anything (a `.strm` equal to its text and managed
    with its digest, an unread `.strm` that exists, metadata kept as it is), `ignored`
    metadata of meta mode "none"; `odd` the entries left to the general path (`map_names`):
    not `(name, size, mtime_ns)`, or a name that is not a plain UTF-8 file name.
    """
    media, meta, mode, base, read_strm, meta_rule = rules
    if mode not in STRM_MODES:
        raise ValueError(f"strm mode: unknown mode {mode!r}")
    if not _plain_folder(root, dir_rel, base):
        return [], list(files), 0, 0
    todo, odd, produced = [], [], []
    skipped = ignored = 0
    prefix = dir_rel + "/" if dir_rel else ""
    head = root.rstrip("/") + "/" + prefix  # join_relpath(root, prefix + name) without a call
    # build_strm(mode, base, prefix + name), its folder part made once for the folder.
    text_head = base.rstrip("/") + "/" + (
        (quote_path(dir_rel) + "/" if dir_rel else "") if mode == "url" else prefix)
    for entry in files:
        if not _plain_entry(entry):
            odd.append(entry)
            continue
        name = entry[0]
        kind = classify(name, media, meta)
        if kind == KIND_NONE:
            continue
        tname = target_name(name, kind)
        target_rel = prefix + tname
        produced.append(target_rel)
        if kind == KIND_STRM:
            text = (text_head + (quote(name, safe="") if mode == "url" else name)).encode()
            if not read_strm:
                if os.path.lexists(head + tname):
                    skipped += 1
                else:
                    todo.append((entry, target_rel, kind, text, CMP_MISSING))
                continue
            code = _compare_path(head + tname, text)
            if code == CMP_EQUAL:
                managed = manifest.get(target_rel)
                if managed is not None and managed[1] == _digest(text):
                    skipped += 1
                    continue
            todo.append((entry, target_rel, kind, text, code))
        elif meta_rule == META_IGNORE:
            ignored += 1
        else:
            seen = _stat_path(head + tname)
            if type(seen) is tuple and (meta_rule != META_COMPARE or target_rel not in manifest):
                skipped += 1
            else:
                todo.append((entry, target_rel, kind, b"", seen))
    manifest.check_off(produced)
    return todo, odd, skipped, ignored


def _compare_path(path: str, want: bytes) -> int:
    # compare_files for one path, without the lists.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return CMP_MISSING
    except OSError:
        return CMP_ERROR
    try:
        return _compare_fd(fd, want)
    except OSError:
        return CMP_ERROR
    finally:
        os.close(fd)


def _stat_path(path: str):
    # stat_files for one path, without the lists.
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError:
        return STAT_BROKEN
    return (st.st_size, st.st_mtime_ns) if stat.S_ISREG(st.st_mode) else STAT_BROKEN


def _digest(data: bytes) -> str:
    # The manifest's digest of a `.strm` (strmsync.strm.engine.plan.digest).
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def _plain_folder(root, dir_rel, base) -> bool:
    if type(root) is not str or type(dir_rel) is not str or type(base) is not str:
        return False
    if dir_rel and (dir_rel.startswith("/") or _safe_or_none(dir_rel) != dir_rel):
        return False
    return _utf8(root + dir_rel + base) and "\x00" not in root


def _plain_entry(entry) -> bool:
    if type(entry) is not tuple or len(entry) != 3 or type(entry[0]) is not str:
        return False
    name = entry[0]
    return (name not in ("", ".", "..") and "/" not in name and "\x00" not in name
            and (name.isascii() or _utf8(name)))


def _safe_or_none(path: str) -> str | None:
    try:
        return safe_relpath(path)
    except PathEscape:
        return None


def _utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
