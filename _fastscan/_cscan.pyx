# cython: language_level=3
"""Compiled hot path of strmsync; same API and results as the pure `_pyscan` twin.

Inputs of any type other than the expected exact ones (str paths, bytes contents, int
depths) are handed to the twin, so odd inputs fail or succeed exactly as they do there.
"""

import os
import time

from _fastscan import _pyscan
from _fastscan._pyscan import (  # noqa: F401 - the same objects make up this module's API
    CMP_DIFFERENT, CMP_EQUAL, CMP_ERROR, CMP_MISSING, KIND_META, KIND_NONE, KIND_STRM,
    REPORT_DEPTH, REPORT_ERROR, REPORT_LOOP, STAT_BROKEN, TEMP_SUFFIX, UNKNOWN, PathEscape,
)
from _fastscan._pyscan import traverse

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.unicode cimport (
    PyUnicode_1BYTE_DATA, PyUnicode_AsUTF8String, PyUnicode_DATA, PyUnicode_GET_LENGTH,
    PyUnicode_KIND, PyUnicode_New, PyUnicode_READ, PyUnicode_Substring,
)
from libc.errno cimport EEXIST, EINTR, ENAMETOOLONG, ENOENT, ENOMEM, errno
from libc.stdio cimport rename
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memchr, memcmp, memcpy, strlen
from posix.fcntl cimport O_CLOEXEC, O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY
from posix.fcntl cimport open as c_open
from posix.stat cimport S_ISDIR, S_ISREG, fstat, fstatat, futimens, mkdir, struct_stat
from posix.time cimport clock_gettime, timespec, CLOCK_MONOTONIC
from posix.stat cimport stat as stat_path
from posix.unistd cimport close, read, unlink, write


cdef extern from "Python.h":
    ctypedef unsigned char Py_UCS1
    ctypedef unsigned short Py_UCS2
    enum:
        PyUnicode_1BYTE_KIND
        PyUnicode_2BYTE_KIND
    bint PyUnicode_IS_ASCII(object)
    object PyUnicode_DecodeFSDefaultAndSize(const char *, Py_ssize_t)
    object PyUnicode_EncodeFSDefault(object)

cdef extern from *:
    """
    #include <errno.h>
    static inline void strmsync_clear_errno(void) { errno = 0; }
    """
    void clear_errno "strmsync_clear_errno"() nogil

cdef extern from "<limits.h>":
    enum: PATH_MAX

cdef extern from "<pthread.h>" nogil:
    ctypedef struct pthread_attr_t:
        pass
    ctypedef int pthread_t  # opaque here: only handed back to pthread_join
    int pthread_create(pthread_t *, const pthread_attr_t *, void *(*)(void *) noexcept nogil,
                       void *)
    int pthread_join(pthread_t, void **)

cdef extern from "<dirent.h>" nogil:
    ctypedef struct DIR:
        pass
    struct dirent:
        unsigned char d_type
        char d_name[256]
    enum: DT_REG
    DIR *opendir(const char *)
    dirent *readdir(DIR *)
    int closedir(DIR *)
    int dirfd(DIR *)


cdef enum:
    C_EQUAL = 0
    C_DIFFERENT = 1
    C_MISSING = 2
    C_ERROR = 3
    NO_MEMORY = -1
    # STRM texts are a few hundred bytes and .nfo files a few KiB: one read covers them,
    # and 16 KiB stays small on musl's 128 KiB thread stacks (Alpine-based add-on images).
    COMPARE_CHUNK = 16384
    # Metadata copies: a poster in one or a few reads (a heap buffer, once per call).
    COPY_BYTES = 262144

if (CMP_EQUAL, CMP_DIFFERENT, CMP_MISSING, CMP_ERROR) != (C_EQUAL, C_DIFFERENT, C_MISSING, C_ERROR):
    raise ImportError("_fastscan._cscan: comparison codes differ from _pyscan's")

cdef bytes _TEMP_SUFFIX = os.fsencode(TEMP_SUFFIX)

# The unreserved set of urllib.parse.quote (safe=""), plus "/" which joins the segments.
cdef char _SAFE[256]
cdef const char *_HEX = b"0123456789ABCDEF"


cdef void _init_safe(const unsigned char *chars) noexcept:
    while chars[0]:
        _SAFE[chars[0]] = 1
        chars += 1


_init_safe(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~/")


# ----------------------------------------------------------------------------- paths

def safe_relpath(path):
    """Normalise a `/`-separated relative path, rejecting anything that could escape."""
    if type(path) is not str:
        return _pyscan.safe_relpath(path)
    return _safe_relpath(<str>path)


ctypedef fused uchar:
    Py_UCS1
    Py_UCS2
    Py_UCS4

cdef enum:
    SEG_NUL = 1      # a NUL anywhere
    SEG_DOTDOT = 2   # a ".." segment
    SEG_UNCLEAN = 4  # an empty or "." segment: normalise


cdef int _scan_segments(const uchar *s, Py_ssize_t n, Py_ssize_t *kept) noexcept nogil:
    # One pass over the characters of one kind (no PyUnicode_READ switch per character):
    # safe_relpath runs twice per item of a run (mapping, then joining under the root).
    cdef Py_ssize_t i = 0, start
    cdef const void *found
    cdef int flags = 0
    kept[0] = 0
    if uchar is Py_UCS1:  # most paths: memchr finds NULs and slashes many bytes at a time
        if memchr(s, 0, n) != NULL:
            flags |= SEG_NUL
    while True:
        start = i
        if uchar is Py_UCS1:
            found = memchr(s + i, 47, n - i)  # "/"
            i = <const uchar *>found - s if found != NULL else n
        else:
            while i < n and s[i] != 47:  # "/"
                if s[i] == 0:
                    flags |= SEG_NUL
                i += 1
        if i == start or (i - start == 1 and s[start] == 46):  # "" or "."
            flags |= SEG_UNCLEAN
        elif i - start == 2 and s[start] == 46 and s[start + 1] == 46:  # ".."
            flags |= SEG_DOTDOT
        else:
            kept[0] += 1
        if i >= n:
            return flags
        i += 1


cdef str _safe_relpath(str path):
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(path), kept
    cdef int kind = PyUnicode_KIND(path), flags
    cdef void *data = PyUnicode_DATA(path)
    if kind == PyUnicode_1BYTE_KIND:
        flags = _scan_segments(<const Py_UCS1 *>data, n, &kept)
    elif kind == PyUnicode_2BYTE_KIND:
        flags = _scan_segments(<const Py_UCS2 *>data, n, &kept)
    else:
        flags = _scan_segments(<const Py_UCS4 *>data, n, &kept)
    # The twin's order of checks decides which error a path with several problems gets.
    if flags & SEG_NUL:
        raise PathEscape(f"path contains NUL: {path!r}")
    if n and PyUnicode_READ(kind, data, 0) == u"/":
        raise PathEscape(f"absolute path where a relative one was expected: {path!r}")
    if flags & SEG_DOTDOT:
        raise PathEscape(f"path leaves its root: {path!r}")
    if not kept:
        raise PathEscape(f"empty path: {path!r}")
    if not flags:
        return path  # already normal: skip the split/join and its allocations
    return "/".join([seg for seg in path.split("/") if seg and seg != "."])


cdef str _strip_slashes(str s, bint left):
    cdef Py_ssize_t start = 0, end = PyUnicode_GET_LENGTH(s)
    cdef int kind = PyUnicode_KIND(s)
    cdef void *data = PyUnicode_DATA(s)
    while end > 0 and PyUnicode_READ(kind, data, end - 1) == u"/":
        end -= 1
    while left and start < end and PyUnicode_READ(kind, data, start) == u"/":
        start += 1
    if start == 0 and end == PyUnicode_GET_LENGTH(s):
        return s
    return PyUnicode_Substring(s, start, end)


def join_relpath(root, rel):
    """Join a checked relative path under `root`; the only way target paths are built."""
    if type(root) is not str or type(rel) is not str:
        return _pyscan.join_relpath(root, rel)
    rel = _safe_relpath(<str>rel)
    if root == "/":
        return "/" + rel
    return f"{_strip_slashes(<str>root, False)}/{rel}"  # one allocation, not two


cdef Py_ssize_t _rfind_dot(str name):
    cdef Py_ssize_t i = PyUnicode_GET_LENGTH(name)
    cdef int kind = PyUnicode_KIND(name)
    cdef void *data = PyUnicode_DATA(name)
    while i > 0:
        i -= 1
        if PyUnicode_READ(kind, data, i) == u".":
            return i
    return -1


cdef str _extension(str name):
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(name), dot = _rfind_dot(name), i
    cdef int kind = PyUnicode_KIND(name)
    cdef void *data = PyUnicode_DATA(name)
    if dot <= 0 or dot == n - 1:
        return ""
    for i in range(dot):
        if PyUnicode_READ(kind, data, i) != u".":
            return _lower_tail(name, dot + 1, n)
    return ""


cdef str _lower_tail(str name, Py_ssize_t start, Py_ssize_t end):
    # An extension is a few ASCII letters (even in a CJK title): lower-case them here
    # rather than through a method call (classify runs once per source file).
    cdef str ext = PyUnicode_Substring(name, start, end)
    cdef const Py_UCS1 *src
    cdef Py_UCS1 *dst
    cdef Py_ssize_t i, n = end - start
    if not PyUnicode_IS_ASCII(ext):
        return ext.lower()
    src = PyUnicode_1BYTE_DATA(ext)
    for i in range(n):
        if 65 <= src[i] <= 90:  # "A".."Z"
            break
    else:
        return ext
    out = PyUnicode_New(n, 127)
    dst = PyUnicode_1BYTE_DATA(out)
    for i in range(n):
        dst[i] = src[i] + 32 if 65 <= src[i] <= 90 else src[i]
    return out


def classify(name, media_exts, meta_exts):
    """KIND_STRM for a media file, KIND_META for a metadata file, else KIND_NONE."""
    if type(name) is not str:
        return _pyscan.classify(name, media_exts, meta_exts)
    ext = _extension(<str>name)
    if not ext:
        return KIND_NONE
    if ext in media_exts:
        return KIND_STRM
    if ext in meta_exts:
        return KIND_META
    return KIND_NONE


def target_name(name, kind):
    """The file name in the target tree: `<stem>.strm` for media, unchanged for metadata."""
    cdef Py_ssize_t stop
    if type(name) is not str:
        return _pyscan.target_name(name, kind)
    if kind == KIND_STRM:
        stop = _rfind_dot(<str>name)
        if stop < 0:  # the twin's name[:-1]
            stop = max(PyUnicode_GET_LENGTH(name) - 1, 0)
        return f"{PyUnicode_Substring(name, 0, stop)}.strm"
    return name


# ----------------------------------------------------------------------------- STRM text

def quote_path(path):
    """Percent-encode each `/`-separated segment on its own (UTF-8, nothing kept but unreserved)."""
    if type(path) is not str:
        return _pyscan.quote_path(path)
    return _quote(<str>path)


cdef str _quote(str path):
    cdef bytes utf8
    cdef const unsigned char *src
    cdef unsigned char *dst
    cdef Py_ssize_t n, i, extra = 0
    if PyUnicode_IS_ASCII(path):
        src = PyUnicode_1BYTE_DATA(path)  # ASCII text is its own UTF-8: no encoding copy
        n = PyUnicode_GET_LENGTH(path)
    else:
        try:
            # A temporary bytes rather than PyUnicode_AsUTF8, which would pin a UTF-8
            # copy inside every long-lived path string.
            utf8 = PyUnicode_AsUTF8String(path)
        except UnicodeEncodeError:
            return _pyscan.quote_path(path)  # raises the twin's exact error (per segment)
        src = <const unsigned char *>PyBytes_AS_STRING(utf8)
        n = len(utf8)
    for i in range(n):
        if not _SAFE[src[i]]:
            extra += 2
    if not extra:
        return path
    out = PyUnicode_New(n + extra, 127)
    dst = PyUnicode_1BYTE_DATA(out)
    for i in range(n):
        if _SAFE[src[i]]:
            dst[0] = src[i]
            dst += 1
        else:
            dst[0] = b"%"
            dst[1] = _HEX[src[i] >> 4]
            dst[2] = _HEX[src[i] & 15]
            dst += 3
    return out


def build_strm(mode, base, rel):
    """The text of a `.strm`: `url` = base + escaped path; `path`/`mount` = base + path."""
    if type(mode) is not str or type(base) is not str or type(rel) is not str:
        return _pyscan.build_strm(mode, base, rel)
    rel = _strip_slashes(<str>rel, True)
    base = _strip_slashes(<str>base, False)
    if mode == "url":
        return base + "/" + _quote(<str>rel)
    if mode == "path" or mode == "mount":
        return base + "/" + rel
    raise ValueError(f"strm mode: unknown mode {mode!r}")


# ----------------------------------------------------------------------------- comparing, writing

cdef bytes _fs_path(str path):
    """The OS bytes of `path`, or None when only the twin reproduces the error it causes."""
    try:
        encoded = PyUnicode_EncodeFSDefault(path)
    except UnicodeEncodeError:
        return None
    if memchr(PyBytes_AS_STRING(encoded), 0, len(encoded)) != NULL:
        return None
    return encoded


cdef int _open(const char *path, int flags, int mode) noexcept nogil:
    cdef int fd
    while True:  # Python's open() retries EINTR (PEP 475); so must we
        fd = c_open(path, flags | O_CLOEXEC, mode)
        if fd >= 0 or errno != EINTR:
            return fd


cdef int _compare_fd(int fd, const char *want, Py_ssize_t n) noexcept nogil:
    # No fstat (a syscall per file, most of a no-op's): a folder fails its read (EISDIR),
    # and asking for one byte more than remains shows a longer file as different.
    cdef char buf[COMPARE_CHUNK]
    cdef Py_ssize_t off = 0, got, ask
    while True:
        ask = min(n - off + 1, COMPARE_CHUNK)
        got = read(fd, buf, ask)
        if got < 0:
            if errno == EINTR:
                continue
            return C_ERROR
        if got == 0:
            return C_EQUAL if off == n else C_DIFFERENT
        if got > n - off or memcmp(buf, want + off, got) != 0:
            return C_DIFFERENT
        off += got
        if off == n and got < ask:
            # Asked past the end and got only the rest: the end of the file (a regular
            # file's read stops short only there), so skip the read that would return 0.
            return C_EQUAL


cdef int _compare_path(const char *path, const char *want, Py_ssize_t n) noexcept nogil:
    cdef int fd = _open(path, O_RDONLY, 0), code
    if fd < 0:
        return C_MISSING if errno == ENOENT else C_ERROR
    code = _compare_fd(fd, want, n)
    close(fd)
    return code


cdef struct Job:
    const char *path  # NULL: an odd input, done by the twin instead
    const char *temp  # write_files: the temp sibling written, then renamed
    const char *data
    Py_ssize_t size
    int code


cdef class _Jobs:
    """Paths (and data) of a whole call as C strings, so its syscalls run in one GIL release.

    Releasing the GIL once per call rather than once per file matters on fast file systems:
    with several threads, every release/re-acquire is a futex hand-off that costs more than
    the open/read/close of a small file on tmpfs or in the page cache.
    """

    cdef Job *jobs
    cdef Py_ssize_t count
    cdef list keep  # the bytes objects the C strings point into

    def __cinit__(self, Py_ssize_t count):
        self.jobs = <Job *>malloc(max(count, 1) * sizeof(Job))
        if self.jobs == NULL:
            raise MemoryError()
        self.count, self.keep = count, []

    def __dealloc__(self):
        free(self.jobs)

    cdef bytes set(self, Py_ssize_t i, object path, object data, bint with_data):
        """Fill job i and return its path's bytes; None (and a NULL path) when only the
        twin handles these inputs."""
        cdef bytes encoded = _fs_path(path) if type(path) is str else None
        cdef Job *job = &self.jobs[i]
        job.path, job.code = NULL, 0
        if encoded is None or (with_data and type(data) is not bytes):
            return None
        self.keep.append(encoded)
        job.path = encoded
        if with_data:
            self.keep.append(data)
            job.data, job.size = <bytes>data, len(<bytes>data)
        return encoded

    cdef void add_temp(self, Py_ssize_t i, bytes encoded):
        """Give job i the temp sibling its write goes through."""
        temp = _temp_path(encoded)
        self.keep.append(temp)
        self.jobs[i].temp = temp


def compare_files(paths, expected):
    """For each path, CMP_EQUAL/CMP_DIFFERENT/CMP_MISSING/CMP_ERROR against expected bytes."""
    pairs = list(zip(paths, expected, strict=True))
    cdef Py_ssize_t n = len(pairs), i
    cdef _Jobs todo = _Jobs(n)
    out = [None] * n
    for i in range(n):
        path, want = pairs[i]
        if todo.set(i, path, want, True) is None:
            out[i] = _pyscan.compare_files([path], [want])[0]
    cdef Job *jobs = todo.jobs
    with nogil:  # the whole call's comparisons at once; other threads run meanwhile
        for i in range(n):
            if jobs[i].path != NULL:
                jobs[i].code = _compare_path(jobs[i].path, jobs[i].data, jobs[i].size)
    for i in range(n):
        if jobs[i].path != NULL:
            out[i] = jobs[i].code
    return out


cdef struct Stat:
    int err
    unsigned int mode
    long long size
    long long mtime_sec
    long mtime_nsec


def stat_files(paths):
    """For each path, `(size, mtime_ns)` of a regular file, None if missing, else STAT_BROKEN."""
    paths = list(paths)
    cdef Py_ssize_t n = len(paths), i
    cdef _Jobs todo = _Jobs(n)
    cdef Stat *stats = <Stat *>malloc(max(n, 1) * sizeof(Stat))
    cdef struct_stat st
    if stats == NULL:
        raise MemoryError()
    try:
        out = [None] * n
        for i in range(n):
            if todo.set(i, paths[i], None, False) is None:
                out[i] = _pyscan.stat_files([paths[i]])[0]
        with nogil:  # one GIL release for the whole call, as in compare_files
            for i in range(n):
                if todo.jobs[i].path == NULL:
                    continue
                if stat_path(todo.jobs[i].path, &st) != 0:
                    stats[i].err = errno
                else:
                    stats[i].err, stats[i].mode, stats[i].size = 0, st.st_mode, st.st_size
                    stats[i].mtime_sec, stats[i].mtime_nsec = st.st_mtim.tv_sec, st.st_mtim.tv_nsec
        for i in range(n):
            if todo.jobs[i].path == NULL:
                continue
            if stats[i].err:
                out[i] = None if stats[i].err == ENOENT else STAT_BROKEN
            elif not S_ISREG(stats[i].mode):
                out[i] = STAT_BROKEN
            else:
                out[i] = (stats[i].size, _ns(stats[i].mtime_sec, stats[i].mtime_nsec))
        return out
    finally:
        free(stats)


cdef bytes _temp_path(bytes path):
    cdef Py_ssize_t n = len(path), cut = n, k = len(_TEMP_SUFFIX)
    cdef const char *src = path
    while cut > 0 and src[cut - 1] != b"/":
        cut -= 1
    tmp = PyBytes_FromStringAndSize(NULL, n + 1 + k)
    cdef char *dst = PyBytes_AS_STRING(tmp)
    memcpy(dst, src, cut)
    dst[cut] = b"."
    memcpy(dst + cut + 1, src + cut, n - cut)
    memcpy(dst + n + 1, <const char *>_TEMP_SUFFIX, k)
    return tmp


cdef int _write_fd(int fd, const char *data, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t done
    while n > 0:
        done = write(fd, data, n)
        if done < 0:
            if errno == EINTR:
                continue
            return errno
        data += done
        n -= done
    return 0


cdef class _Started:
    """A call's work on a thread of its own: started by `_start`, waited for by `codes()`.
    A subclass fills `out` with the thread's codes in `_collect`, and joins in its own
    `__dealloc__` too: its fields (the buffers the thread works from) are let go before
    this class's `__dealloc__` runs."""

    cdef pthread_t thread
    cdef bint running
    cdef list out
    cdef double seconds_taken  # a call done at once, here
    cdef double *thread_seconds  # the thread's own timing, once started

    cdef void _start(self, void *(*work)(void *) noexcept nogil, void *arg,
                     double *seconds):
        self.thread_seconds = seconds
        if pthread_create(&self.thread, NULL, work, arg) == 0:
            self.running = True
        else:  # no thread to be had: do it here, as the plain call would
            with nogil:
                work(arg)

    cdef void _collect(self):
        pass

    @property
    def seconds(self) -> float:
        """How long the work took (0.0 until it is done)."""
        return self.seconds_taken + (self.thread_seconds[0] if self.thread_seconds else 0.0)

    def codes(self) -> list:
        """Wait for the work; 0 or an errno per file, in the order given."""
        self._join()
        self._collect()
        return list(self.out)

    cdef void _join(self) noexcept:
        if self.running:
            with nogil:
                pthread_join(self.thread, NULL)
            self.running = False

    def __dealloc__(self):
        self._join()


cdef struct WriteRun:
    Job *jobs
    Py_ssize_t count
    double seconds  # how long the writes took on their thread


cdef void *_write_all(void *arg) noexcept nogil:
    """A WriteJob's thread: every job in order, as write_files does; never takes the GIL."""
    cdef WriteRun *run = <WriteRun *>arg
    cdef timespec began, ended
    cdef Py_ssize_t i
    clock_gettime(CLOCK_MONOTONIC, &began)
    for i in range(run.count):
        if run.jobs[i].path != NULL:
            run.jobs[i].code = _write_path(run.jobs[i].temp, run.jobs[i].path, run.jobs[i].data,
                                           run.jobs[i].size)
    clock_gettime(CLOCK_MONOTONIC, &ended)
    run.seconds = (ended.tv_sec - began.tv_sec) + (ended.tv_nsec - began.tv_nsec) / 1e9
    return NULL


cdef class WriteJob(_Started):
    """`write_files(paths, datas)` started on a thread of its own, which never takes the GIL:
    the caller goes on with Python work while the kernel does the writes on another CPU.
    `codes()` waits and answers as write_files does; `seconds` is how long the writes took.
    A call with inputs only the twin handles is done at once, in order, by write_files.
    """

    cdef _Jobs todo
    cdef WriteRun run

    def __init__(self, paths, datas):
        pairs = list(zip(paths, datas, strict=True))
        cdef Py_ssize_t n = len(pairs), i
        self.todo = _Jobs(n)
        self.run.jobs, self.run.count, self.run.seconds = self.todo.jobs, 0, 0.0
        for i in range(n):
            encoded = self.todo.set(i, pairs[i][0], pairs[i][1], True)
            if encoded is None:  # rare: the whole call in order, here (a path may recur)
                began = time.perf_counter()
                self.out = write_files([path for path, _ in pairs], [data for _, data in pairs])
                self.seconds_taken = time.perf_counter() - began
                return
            self.todo.add_temp(i, encoded)
        self.out = [None] * n
        self.run.count = n
        self._start(_write_all, &self.run, &self.run.seconds)

    cdef void _collect(self):
        cdef Py_ssize_t i
        for i in range(self.run.count):
            if self.todo.jobs[i].path != NULL:
                self.out[i] = self.todo.jobs[i].code

    def __dealloc__(self):
        self._join()  # before `todo`, whose buffers the thread writes from, is let go


cdef int _make_parents(const char *path) noexcept nogil:
    """Make the missing folders above `path` as the twin's os.makedirs(dirname, exist_ok=True)
    does; 0 or an errno. Once per new folder, without the GIL."""
    cdef Py_ssize_t cut = strlen(path)
    cdef char *parent
    cdef int err
    while cut > 0 and path[cut - 1] != b"/":
        cut -= 1
    while cut > 1 and path[cut - 1] == b"/":
        cut -= 1
    if cut <= 1:  # "name" or "/name": the folder is the current one or the root
        return 0
    parent = <char *>malloc(cut + 1)
    if parent == NULL:
        return NO_MEMORY
    memcpy(parent, path, cut)
    parent[cut] = 0
    err = _make_dirs(parent, cut)
    free(parent)
    return err


cdef int _make_dirs(char *path, Py_ssize_t n) noexcept nogil:
    """mkdir -p of `path` (n bytes, NUL-terminated, modified and restored on the way)."""
    cdef Py_ssize_t cut = n
    cdef int err = _make_dir(path)
    if err != ENOENT:
        return err
    while cut > 0 and path[cut - 1] != b"/":
        cut -= 1
    while cut > 1 and path[cut - 1] == b"/":
        cut -= 1
    if cut <= 1:
        return err
    path[cut] = 0
    err = _make_dirs(path, cut)
    path[cut] = b"/"
    # As os.makedirs, a parent that exists as something else is left to the mkdir below.
    if err and err != EEXIST:
        return err
    return _make_dir(path)


cdef int _make_dir(const char *path) noexcept nogil:
    """mkdir; 0 when made or already a folder (another thread made it), else an errno."""
    cdef struct_stat st
    cdef int err
    if mkdir(path, 0o777) == 0:
        return 0
    err = errno
    if err == EEXIST and stat_path(path, &st) == 0 and S_ISDIR(st.st_mode):
        return 0
    return err


cdef int _write_path(const char *tmp, const char *path, const char *data,
                     Py_ssize_t n) noexcept nogil:
    cdef int fd = _open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644), err
    if fd < 0 and errno == ENOENT:  # a new folder: make it, as the twin does, and retry
        err = _make_parents(path)
        if err:
            unlink(tmp)
            return err
        fd = _open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    if fd < 0:
        err = errno
        unlink(tmp)
        return err
    err = _write_fd(fd, data, n)
    # As in the twin's `finally: os.close(fd)`, a failing close wins; EINTR is not a failure.
    if close(fd) != 0 and errno != EINTR:
        err = errno
    if not err and rename(tmp, path) != 0:
        err = errno
    if err:
        unlink(tmp)
    return err


cdef Py_ssize_t _write_run(Job *jobs, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """Write jobs from i on until one is the twin's."""
    while i < n and jobs[i].path != NULL:
        jobs[i].code = _write_path(jobs[i].temp, jobs[i].path, jobs[i].data, jobs[i].size)
        i += 1
    return i


def write_files(paths, datas):
    """Write each file atomically (temp sibling, then rename); 0 or an errno per file."""
    pairs = list(zip(paths, datas, strict=True))
    cdef Py_ssize_t n = len(pairs), i = 0, stop
    cdef _Jobs todo = _Jobs(n)
    cdef Job *job
    out = [None] * n
    for i in range(n):
        encoded = todo.set(i, pairs[i][0], pairs[i][1], True)
        if encoded is not None:
            todo.add_temp(i, encoded)
    i = 0
    while i < n:  # in order, as the twin: a path given twice ends with its last data
        job = &todo.jobs[i]
        if job.path == NULL:
            out[i] = _pyscan.write_files([pairs[i][0]], [pairs[i][1]])[0]
            i += 1
            continue
        with nogil:  # a run of writes per GIL release, as in compare_files
            stop = _write_run(todo.jobs, i, n)
        for i in range(i, stop):
            out[i] = todo.jobs[i].code
        i = stop
    return out


cdef struct Copy:
    const char *source  # NULL: an odd input, done by the twin instead
    const char *dest
    const char *temp
    timespec mtime[2]   # atime, mtime for futimens
    int code


cdef int _copy_path(Copy *job, char *buf) noexcept nogil:
    cdef int src = _open(job.source, O_RDONLY, 0), fd, err = 0
    cdef Py_ssize_t got
    if src < 0:
        return errno
    fd = _open(job.temp, O_WRONLY | O_CREAT | O_TRUNC, 0o666)
    if fd < 0 and errno == ENOENT:  # a new folder, as in _write_path
        err = _make_parents(job.dest)
        if err:
            close(src)
            return err
        fd = _open(job.temp, O_WRONLY | O_CREAT | O_TRUNC, 0o666)
    if fd < 0:
        err = errno
        close(src)
        unlink(job.temp)
        return err
    while True:
        got = read(src, buf, COPY_BYTES)
        if got < 0:
            if errno == EINTR:
                continue
            err = errno
            break
        if got == 0:
            break
        err = _write_fd(fd, buf, got)
        if err:
            break
    if not err and futimens(fd, job.mtime) != 0:
        err = errno
    if close(fd) != 0 and errno != EINTR and not err:
        err = errno
    close(src)
    if not err and rename(job.temp, job.dest) != 0:
        err = errno
    if err:
        unlink(job.temp)
    return err


cdef Py_ssize_t _copy_run(Copy *jobs, Py_ssize_t i, Py_ssize_t n, char *buf) noexcept nogil:
    """Copy jobs from i on until one is the twin's."""
    while i < n and jobs[i].source != NULL:
        jobs[i].code = _copy_path(&jobs[i], buf)
        i += 1
    return i


def copy_files(sources, dests, mtimes_ns):
    """Copy each file atomically (temp sibling, then rename) with the given mtime; 0 or an
    errno per file. Missing parent folders of a destination are made."""
    triples = list(zip(sources, dests, mtimes_ns, strict=True))
    cdef Py_ssize_t n = len(triples), i, stop
    cdef Copy *jobs = <Copy *>malloc(max(n, 1) * sizeof(Copy))
    # One buffer for the whole call, on the heap: musl's thread stacks are 128 KiB.
    cdef char *buf = <char *>malloc(COPY_BYTES)
    keep, out = [], [None] * n
    try:
        if jobs == NULL or buf == NULL:
            raise MemoryError()
        for i in range(n):
            _fill_copy(&jobs[i], triples[i], keep)
        i = 0
        while i < n:  # in order, as the twin
            if jobs[i].source == NULL:
                out[i] = _pyscan.copy_files(*[[part] for part in triples[i]])[0]
                i += 1
                continue
            with nogil:  # a run of copies per GIL release, as in write_files
                stop = _copy_run(jobs, i, n, buf)
            for i in range(i, stop):
                out[i] = jobs[i].code
            i = stop
        return out
    finally:
        free(jobs)
        free(buf)


cdef struct CopyRun:
    Copy *jobs
    Py_ssize_t count
    double seconds


cdef void *_copy_all(void *arg) noexcept nogil:
    """A CopyJob's thread: every copy in order, as copy_files does; never takes the GIL."""
    cdef CopyRun *run = <CopyRun *>arg
    cdef timespec began, ended
    cdef Py_ssize_t i
    cdef char *buf = <char *>malloc(COPY_BYTES)
    clock_gettime(CLOCK_MONOTONIC, &began)
    for i in range(run.count):
        if run.jobs[i].source != NULL:
            run.jobs[i].code = ENOMEM if buf == NULL else _copy_path(&run.jobs[i], buf)
    free(buf)
    clock_gettime(CLOCK_MONOTONIC, &ended)
    run.seconds = (ended.tv_sec - began.tv_sec) + (ended.tv_nsec - began.tv_nsec) / 1e9
    return NULL


cdef class CopyJob(_Started):
    """`copy_files(sources, dests, mtimes_ns)` started on a thread of its own, as WriteJob
    starts write_files: `codes()` waits and answers as copy_files does. A call with inputs
    only the twin handles is done at once, in order, by copy_files."""

    cdef Copy *jobs
    cdef list keep
    cdef CopyRun run

    def __cinit__(self):
        self.jobs = NULL

    def __init__(self, sources, dests, mtimes_ns):
        triples = list(zip(sources, dests, mtimes_ns, strict=True))
        cdef Py_ssize_t n = len(triples), i
        self.jobs = <Copy *>malloc(max(n, 1) * sizeof(Copy))
        if self.jobs == NULL:
            raise MemoryError()
        self.keep = []
        self.run.jobs, self.run.count, self.run.seconds = self.jobs, 0, 0.0
        for i in range(n):
            _fill_copy(&self.jobs[i], triples[i], self.keep)
            if self.jobs[i].source == NULL:  # rare: the whole call in order, here
                began = time.perf_counter()
                self.out = copy_files([t[0] for t in triples], [t[1] for t in triples],
                                      [t[2] for t in triples])
                self.seconds_taken = time.perf_counter() - began
                return
        self.out = [None] * n
        self.run.count = n
        self._start(_copy_all, &self.run, &self.run.seconds)

    cdef void _collect(self):
        cdef Py_ssize_t i
        for i in range(self.run.count):
            if self.jobs[i].source != NULL:
                self.out[i] = self.jobs[i].code

    def __dealloc__(self):
        self._join()  # before the buffers the thread copies from go (the base joins after)
        free(self.jobs)


cdef void _fill_copy(Copy *job, tuple triple, list keep) except *:
    source, dest, mtime_ns = triple
    cdef bytes src_b = _fs_path(source) if type(source) is str else None
    cdef bytes dest_b = _fs_path(dest) if type(dest) is str else None
    job.source, job.code = NULL, 0
    # Odd inputs, and mtimes the twin's os.utime would refuse, go to the twin.
    if src_b is None or dest_b is None or type(mtime_ns) is not int \
            or not -(2 ** 62) < mtime_ns < 2 ** 62:
        return
    temp = _temp_path(dest_b)
    keep += (src_b, dest_b, temp)
    job.source, job.dest, job.temp = src_b, dest_b, temp
    sec, nsec = divmod(mtime_ns, 1_000_000_000)
    job.mtime[0].tv_sec = job.mtime[1].tv_sec = sec
    job.mtime[0].tv_nsec = job.mtime[1].tv_nsec = nsec


# ----------------------------------------------------------------------------- walking

cdef struct Entry:
    Py_ssize_t name_at
    Py_ssize_t name_len
    int err
    bint unstated  # typed DT_REG by the directory and left unstat'ed (stat_files=False)
    unsigned int mode
    long long size
    long long mtime_sec
    long mtime_nsec
    unsigned long long dev
    unsigned long long ino


cdef struct Listing:
    Entry *entries
    Py_ssize_t count
    Py_ssize_t capacity
    char *names
    Py_ssize_t names_len
    Py_ssize_t names_capacity


cdef Entry *_add_entry(Listing *ls, const char *name, Py_ssize_t length) noexcept nogil:
    cdef void *grown
    if ls.count == ls.capacity:
        grown = realloc(ls.entries, (ls.capacity * 2 + 64) * sizeof(Entry))
        if grown == NULL:
            return NULL
        ls.entries, ls.capacity = <Entry *>grown, ls.capacity * 2 + 64
    if ls.names_len + length > ls.names_capacity:
        grown = realloc(ls.names, ls.names_capacity * 2 + length + 4096)
        if grown == NULL:
            return NULL
        ls.names, ls.names_capacity = <char *>grown, ls.names_capacity * 2 + length + 4096
    memcpy(ls.names + ls.names_len, name, length)
    cdef Entry *e = &ls.entries[ls.count]
    e.name_at, e.name_len, e.err, e.unstated = ls.names_len, length, 0, False
    ls.names_len += length
    ls.count += 1
    return e


cdef void _stat_entry(Entry *e, int dir_fd, const char *name, Py_ssize_t path_len) noexcept nogil:
    cdef struct_stat st
    # fstatat on the open directory saves re-resolving the whole path for every entry;
    # the twin stats "<dir>/<name>", so its ENAMETOOLONG past PATH_MAX is kept.
    if path_len + 1 + e.name_len >= PATH_MAX:
        e.err = ENAMETOOLONG
    elif fstatat(dir_fd, name, &st, 0) != 0:
        e.err = errno
    else:
        e.mode, e.size, e.dev, e.ino = st.st_mode, st.st_size, st.st_dev, st.st_ino
        e.mtime_sec, e.mtime_nsec = st.st_mtim.tv_sec, st.st_mtim.tv_nsec


cdef int _read_dir(const char *path, Py_ssize_t path_len, Listing *ls,
                   bint stat_files) noexcept nogil:
    cdef DIR *d = opendir(path)
    cdef dirent *ent
    cdef const char *name
    cdef Entry *e
    cdef int err = 0
    if d == NULL:
        return errno
    while True:
        clear_errno()  # readdir() tells end from failure only through errno
        ent = readdir(d)
        if ent == NULL:
            err = errno
            break
        name = ent.d_name
        if name[0] == b"." and (name[1] == 0 or (name[1] == b"." and name[2] == 0)):
            continue
        e = _add_entry(ls, name, strlen(name))
        if e == NULL:
            err = NO_MEMORY
            break
        if not stat_files and ent.d_type == DT_REG:
            # The directory already says "regular file": skip the fstatat that used to be
            # most of a walk's syscalls (one per file). Directories are still stat'ed for
            # their (dev, ino), which loop detection needs (bind mounts, symlinks), and
            # symlinks and untyped entries (DT_UNKNOWN) to learn what they are.
            e.unstated = True
        else:
            _stat_entry(e, dirfd(d), name, path_len)
    closedir(d)
    return err


cdef object _ns(long long sec, long nsec):
    if -9_000_000_000 < sec < 9_000_000_000:  # fits a C long long in ns
        return sec * 1_000_000_000 + nsec
    return (<object>sec) * 1_000_000_000 + nsec


cdef tuple _entries(Listing *ls, str rel, object report, bint stat_files):
    cdef Entry *e
    cdef Py_ssize_t i
    names = [PyUnicode_DecodeFSDefaultAndSize(ls.names + ls.entries[i].name_at,
                                              ls.entries[i].name_len)
             for i in range(ls.count)]
    # Python's str order, as the twin's sorted(os.listdir()). Sorting the indices by name
    # compares strings only; sorting (name, index) pairs tests each pair for equality first.
    order = sorted(range(ls.count), key=names.__getitem__)
    files, dirs = [], []
    for i in order:
        name = names[i]
        e = &ls.entries[i]
        if e.unstated or (not stat_files and not e.err and S_ISREG(e.mode)):
            files.append((name, UNKNOWN, UNKNOWN))
        elif e.err:
            if e.err != ENOENT:  # a dangling symlink or a file gone since the listing
                report.append((REPORT_ERROR, f"{rel}/{name}" if rel else name,
                               os.strerror(e.err)))
        elif S_ISDIR(e.mode):
            dirs.append((name, PyBytes_FromStringAndSize(ls.names + e.name_at, e.name_len),
                         (e.dev, e.ino)))
        elif S_ISREG(e.mode):
            files.append((name, e.size, _ns(e.mtime_sec, e.mtime_nsec)))
    return files, dirs


cdef object _list_dir(bytes path, str rel, object report, bint stat_files):
    cdef Listing ls
    cdef const char *p = path
    cdef Py_ssize_t n = len(path)
    cdef int err
    ls.entries, ls.count, ls.capacity = NULL, 0, 0
    ls.names, ls.names_len, ls.names_capacity = NULL, 0, 0
    try:
        with nogil:  # the whole directory's syscalls at once, other threads run meanwhile
            err = _read_dir(p, n, &ls, stat_files)
        if err == NO_MEMORY:
            raise MemoryError()
        if err:
            report.append((REPORT_ERROR, rel, os.strerror(err)))
            return None
        return _entries(&ls, rel, report, stat_files)
    finally:
        free(ls.entries)
        free(ls.names)


cdef object _root_key(bytes root):
    cdef struct_stat st
    cdef const char *p = root
    cdef int rc
    with nogil:
        rc = stat_path(p, &st)
        if rc != 0:
            rc = errno
    if rc != 0:
        return rc
    return (st.st_dev, st.st_ino)


def walk(root, max_depth=25, report=None, stat_files=True, workers=1):
    """Yield `(dir_rel, files, subdirs)` for every folder; files are `(name, size, mtime_ns)`.

    Entries are sorted by name. Directories deeper than `max_depth`, symlink loops and
    unreadable entries are appended to `report` as `(kind, rel, message)` and skipped.
    With `stat_files=False` an entry the directory itself types as a regular file is not
    stat'ed: its size and mtime are UNKNOWN (every file's are, for one result shape).
    With one worker folders come depth-first. With more they do too while listings are
    quick (a local disk); once they prove slow (a mount's round trips), up to `workers`
    folders are listed at once, each yielded as soon as it is listed (mostly depth-first).
    """
    root_b = _fs_path(root) if type(root) is str else None
    if root_b is None or type(max_depth) is not int or type(workers) is not int:
        yield from _pyscan.walk(root, max_depth, report, stat_files, workers)
        return
    if report is None:
        report = []
    top = _root_key(root_b)
    if type(top) is int:
        report.append((REPORT_ERROR, "", os.strerror(top)))
        return
    # The pool, if any, is the twin's: each task is one _list_dir, whose readdir and
    # fstatat loop runs without the GIL, so a Python scheduler costs little per folder.
    yield from traverse(_Expand(max_depth, stat_files), ("", root_b, 0, (top,)), report,
                        workers)


cdef class _Expand:
    """One folder of a walk: list it, check its subfolders for loops and depth."""

    cdef object max_depth  # any int, as in the twin
    cdef bint stat_files

    def __cinit__(self, object max_depth, bint stat_files):
        self.max_depth, self.stat_files = max_depth, stat_files

    def __call__(self, tuple node):
        rel, path, depth, ancestors = node
        found = []
        listed = _list_dir(path, rel, found, self.stat_files)
        if listed is None:
            return None, found, ()
        files, dirs = listed
        subdirs, children = [], []
        for name, name_b, key in dirs:
            child = f"{rel}/{name}" if rel else name
            if key in ancestors:
                found.append((REPORT_LOOP, child, "symlink loop"))
                continue
            subdirs.append(name)
            if depth + 1 > self.max_depth:
                found.append((REPORT_DEPTH, child, f"deeper than {self.max_depth} levels"))
                continue
            children.append((child, path + b"/" + name_b, depth + 1, ancestors + (key,)))
        return (rel, files, subdirs), found, children


# ----------------------------------------------------------------------------- the manifest

cdef extern from *:
    """
    #include <stdint.h>
    #include <stdlib.h>
    #include <string.h>

    /* BLAKE2b (RFC 7693, unkeyed): the manifest's digest of a .strm is blake2b with an
       8-byte output. Computed here so a no-op folder checks digests without a hashlib call
       per file. */
    #define STRMSYNC_ROTR64(x, y) (((x) >> (y)) ^ ((x) << (64 - (y))))
    static const uint64_t strmsync_b2b_iv[8] = {
        0x6A09E667F3BCC908ULL, 0xBB67AE8584CAA73BULL, 0x3C6EF372FE94F82BULL,
        0xA54FF53A5F1D36F1ULL, 0x510E527FADE682D1ULL, 0x9B05688C2B3E6C1FULL,
        0x1F83D9ABFB41BD6BULL, 0x5BE0CD19137E2179ULL};
    static const uint8_t strmsync_b2b_sigma[12][16] = {
        {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
        {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
        {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
        {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
        {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
        {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
        {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
        {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
        {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
        {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
        {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
        {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}};
    #define STRMSYNC_B2B_G(a, b, c, d, x, y) { \\
        v[a] = v[a] + v[b] + x; v[d] = STRMSYNC_ROTR64(v[d] ^ v[a], 32); \\
        v[c] = v[c] + v[d];     v[b] = STRMSYNC_ROTR64(v[b] ^ v[c], 24); \\
        v[a] = v[a] + v[b] + y; v[d] = STRMSYNC_ROTR64(v[d] ^ v[a], 16); \\
        v[c] = v[c] + v[d];     v[b] = STRMSYNC_ROTR64(v[b] ^ v[c], 63); }

    static uint64_t strmsync_le64(const uint8_t *p) {
        uint64_t r = 0; int i;
        for (i = 7; i >= 0; i--) r = (r << 8) | p[i];
        return r;
    }

    static void strmsync_b2b_compress(uint64_t h[8], const uint8_t block[128],
                                      uint64_t t, int last) {
        uint64_t v[16], m[16]; int i;
        for (i = 0; i < 8; i++) { v[i] = h[i]; v[i + 8] = strmsync_b2b_iv[i]; }
        v[12] ^= t;  /* texts are far below 2**64 bytes: the high counter word stays 0 */
        if (last) v[14] = ~v[14];
        for (i = 0; i < 16; i++) m[i] = strmsync_le64(block + 8 * i);
        for (i = 0; i < 12; i++) {
            const uint8_t *s = strmsync_b2b_sigma[i];
            STRMSYNC_B2B_G(0, 4, 8, 12, m[s[0]], m[s[1]]);
            STRMSYNC_B2B_G(1, 5, 9, 13, m[s[2]], m[s[3]]);
            STRMSYNC_B2B_G(2, 6, 10, 14, m[s[4]], m[s[5]]);
            STRMSYNC_B2B_G(3, 7, 11, 15, m[s[6]], m[s[7]]);
            STRMSYNC_B2B_G(0, 5, 10, 15, m[s[8]], m[s[9]]);
            STRMSYNC_B2B_G(1, 6, 11, 12, m[s[10]], m[s[11]]);
            STRMSYNC_B2B_G(2, 7, 8, 13, m[s[12]], m[s[13]]);
            STRMSYNC_B2B_G(3, 4, 9, 14, m[s[14]], m[s[15]]);
        }
        for (i = 0; i < 8; i++) h[i] ^= v[i] ^ v[i + 8];
    }

    /* blake2b(data, digest_size=8).digest() into out[8]. */
    static void strmsync_digest8(const char *data, size_t n, uint8_t out[8]) {
        uint64_t h[8]; uint8_t block[128]; uint64_t t = 0; int i;
        for (i = 0; i < 8; i++) h[i] = strmsync_b2b_iv[i];
        h[0] ^= 0x01010000ULL ^ 8;
        while (n > 128) {
            memcpy(block, data, 128); t += 128;
            strmsync_b2b_compress(h, block, t, 0);
            data += 128; n -= 128;
        }
        memset(block, 0, 128); memcpy(block, data, n); t += n;
        strmsync_b2b_compress(h, block, t, 1);
        for (i = 0; i < 8; i++) out[i] = (uint8_t)(h[0] >> (8 * i));
    }

    /* A set of byte strings, packed: one buffer of bytes, an offset, length, digest and flags
       per entry, and an open-addressed table of entry numbers. A manifest of 1,000,000 paths
       costs its bytes plus ~30 bytes a path, not a Python str, tuple and dict slot each. */
    typedef struct {
        char *buf; size_t len, cap;
        uint32_t *off; uint16_t *plen; uint32_t *hash; uint8_t *dig; uint8_t *flags;
        size_t n, ncap;
        uint32_t *slots; size_t nslots;  /* entry number + 1; 0 is empty */
    } strmsync_ptab;

    /* 8 bytes a step (paths run to ~100 bytes): a multiply-xorshift mix of each word. */
    static uint32_t strmsync_hash(const char *s, size_t n) {
        uint64_t h = 0x9E3779B97F4A7C15ULL ^ n, w;
        while (n >= 8) {
            memcpy(&w, s, 8); s += 8; n -= 8;
            h = (h ^ w) * 0xBF58476D1CE4E5B9ULL; h ^= h >> 31;
        }
        w = 0; memcpy(&w, s, n);
        h = (h ^ w) * 0x94D049BB133111EBULL; h ^= h >> 29;
        h *= 0xBF58476D1CE4E5B9ULL;
        return (uint32_t)(h >> 32);
    }

    static long strmsync_ptab_find_h(const strmsync_ptab *t, const char *s, size_t n,
                                     uint32_t h) {
        size_t mask, i; uint32_t e;
        if (!t->nslots) return -1;
        mask = t->nslots - 1;
        for (i = h & mask; (e = t->slots[i]) != 0; i = (i + 1) & mask) {
            e -= 1;
            if (t->hash[e] == h && t->plen[e] == n && memcmp(t->buf + t->off[e], s, n) == 0)
                return (long)e;
        }
        return -1;
    }

    static long strmsync_ptab_find(const strmsync_ptab *t, const char *s, size_t n) {
        return strmsync_ptab_find_h(t, s, n, strmsync_hash(s, n));
    }

    static int strmsync_ptab_rehash(strmsync_ptab *t, size_t nslots) {
        uint32_t *slots = calloc(nslots, sizeof(uint32_t)); size_t e, i;
        if (!slots) return -1;
        for (e = 0; e < t->n; e++) {
            i = t->hash[e] & (nslots - 1);
            while (slots[i]) i = (i + 1) & (nslots - 1);
            slots[i] = (uint32_t)(e + 1);
        }
        free(t->slots); t->slots = slots; t->nslots = nslots;
        return 0;
    }

    #if defined(__linux__)
    #include <sys/mman.h>
    #endif

    static size_t strmsync_pages(size_t size) { return (size + 4095) & ~(size_t)4095; }

    /* The arrays live in mappings of their own, grown with mremap: no copy, and no heap
       left behind (a heap realloc of tens of MiB leaves the old block in the process's
       resident set). */
    static int strmsync_grow(void **p, size_t old, size_t size) {
    #if defined(__linux__) && defined(MREMAP_MAYMOVE)
        void *q = old ? mremap(*p, strmsync_pages(old), strmsync_pages(size), MREMAP_MAYMOVE)
                      : mmap(NULL, strmsync_pages(size), PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (q == MAP_FAILED) return -1;
    #else
        void *q = realloc(*p, size ? size : 1);
        (void)old;
        if (!q) return -1;
    #endif
        *p = q; return 0;
    }

    static void strmsync_release(void *p, size_t size) {
    #if defined(__linux__) && defined(MREMAP_MAYMOVE)
        if (p) munmap(p, strmsync_pages(size));
    #else
        (void)size; free(p);
    #endif
    }

    /* The entry number of s, added if new; -1 when out of memory (or past 2**31 entries). */
    static long strmsync_ptab_add(strmsync_ptab *t, const char *s, size_t n) {
        uint32_t h = strmsync_hash(s, n);
        long found = strmsync_ptab_find_h(t, s, n, h); size_t e, i;
        if (found >= 0) return found;
        /* 32-bit offsets and 16-bit lengths: 6 bytes a path less (paths stop at 4 KiB). */
        if (t->n >= 0x7fffffffUL || n > 0xffffUL || t->len + n > 0xffffffffUL) return -1;
        if (t->n == t->ncap) {
            size_t o = t->ncap, c = t->ncap + t->ncap / 2 + 1024;
            if (strmsync_grow((void **)&t->off, o * 4, c * 4)
                || strmsync_grow((void **)&t->plen, o * 2, c * 2)
                || strmsync_grow((void **)&t->hash, o * 4, c * 4)
                || strmsync_grow((void **)&t->dig, o * 8, c * 8)
                || strmsync_grow((void **)&t->flags, o, c)) return -1;
            t->ncap = c;
        }
        if (t->len + n > t->cap) {
            size_t c = t->cap + t->cap / 2 + n + 65536;
            if (strmsync_grow((void **)&t->buf, t->cap, c)) return -1;
            t->cap = c;
        }
        if ((t->n + 1) * 2 > t->nslots
                && strmsync_ptab_rehash(t, t->nslots ? t->nslots * 2 : 4096)) return -1;
        e = t->n++;
        memcpy(t->buf + t->len, s, n);
        t->off[e] = (uint32_t)t->len; t->plen[e] = (uint16_t)n; t->hash[e] = h; t->flags[e] = 0;
        memset(t->dig + 8 * e, 0, 8);
        t->len += n;
        i = h & (t->nslots - 1);
        while (t->slots[i]) i = (i + 1) & (t->nslots - 1);
        t->slots[i] = (uint32_t)(e + 1);
        return (long)e;
    }

    /* 1 when s is well-formed UTF-8 as Python's strict decoder takes it (no overlong forms,
       no surrogates, nothing past U+10FFFF). */
    static int strmsync_utf8_ok(const unsigned char *s, size_t n) {
        size_t i = 0, k, need; uint32_t c;
        while (i < n) {
            c = s[i];
            if (c < 0x80) { i++; continue; }
            if (c >= 0xC2 && c <= 0xDF) { need = 1; c &= 0x1F; }
            else if (c >= 0xE0 && c <= 0xEF) { need = 2; c &= 0x0F; }
            else if (c >= 0xF0 && c <= 0xF4) { need = 3; c &= 0x07; }
            else return 0;
            if (i + need >= n) return 0;
            for (k = 1; k <= need; k++) {
                if ((s[i + k] & 0xC0) != 0x80) return 0;
                c = (c << 6) | (s[i + k] & 0x3F);
            }
            if ((need == 2 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF)))
                    || (need == 3 && (c < 0x10000 || c > 0x10FFFF))) return 0;
            i += need + 1;
        }
        return 1;
    }

    /* The names of one target folder, from getdents64 on its descriptor: one or two
       syscalls for the folder instead of a stat per metadata file. A name found here
       with its type settles the file; a name not found is still opened or stat'ed, so a
       case-insensitive target file system answers as it does to the twin's paths. */
    typedef struct {
        char *buf; size_t len, cap;
        uint32_t *slots; size_t nslots;  /* record offset + 1; 0 is empty */
        int loaded;                      /* 1 loaded, -1 could not be read */
    } strmsync_names;

    #if defined(__linux__)
    #include <sys/syscall.h>
    #include <unistd.h>
    #endif

    static int strmsync_names_load(strmsync_names *t, int fd) {
    #if defined(__linux__) && defined(SYS_getdents64)
        long got; size_t at, count = 0, i; uint16_t reclen;
        t->loaded = -1;
        for (;;) {
            if (t->cap - t->len < 32768) {
                size_t c = t->cap * 2 + 32768; char *b = realloc(t->buf, c);
                if (!b) return -1;
                t->buf = b; t->cap = c;
            }
            got = syscall(SYS_getdents64, fd, t->buf + t->len, t->cap - t->len);
            if (got < 0) return -1;
            if (got == 0) break;
            t->len += (size_t)got;
        }
        if (t->len >= 0xffffffffUL) return -1;
        for (at = 0; at < t->len; at += reclen) { memcpy(&reclen, t->buf + at + 16, 2); count++; }
        t->nslots = 16;
        while (t->nslots < count * 2) t->nslots *= 2;
        t->slots = calloc(t->nslots, sizeof(uint32_t));
        if (!t->slots) return -1;
        for (at = 0; at < t->len; at += reclen) {
            const char *name = t->buf + at + 19;
            memcpy(&reclen, t->buf + at + 16, 2);
            i = strmsync_hash(name, strlen(name)) & (t->nslots - 1);
            while (t->slots[i]) i = (i + 1) & (t->nslots - 1);
            t->slots[i] = (uint32_t)(at + 1);
        }
        t->loaded = 1;
        return 0;
    #else
        (void)fd; t->loaded = -1; return -1;
    #endif
    }

    /* The d_type of name in the folder, or -1 when it is not listed (or not loaded). */
    static int strmsync_names_type(const strmsync_names *t, const char *name, size_t n) {
        size_t i; uint32_t e;
        if (t->loaded != 1) return -1;
        for (i = strmsync_hash(name, n) & (t->nslots - 1); (e = t->slots[i]) != 0;
                i = (i + 1) & (t->nslots - 1)) {
            const char *found = t->buf + e - 1 + 19;
            if (memcmp(found, name, n) == 0 && found[n] == 0)
                return (unsigned char)t->buf[e - 1 + 18];
        }
        return -1;
    }

    static void strmsync_names_free(strmsync_names *t) {
        free(t->buf); free(t->slots);
        memset(t, 0, sizeof(*t));
    }

    static void strmsync_ptab_free(strmsync_ptab *t) {
        strmsync_release(t->buf, t->cap); strmsync_release(t->off, t->ncap * 4);
        strmsync_release(t->plen, t->ncap * 2); strmsync_release(t->hash, t->ncap * 4);
        strmsync_release(t->dig, t->ncap * 8); strmsync_release(t->flags, t->ncap);
        free(t->slots);
        memset(t, 0, sizeof(*t));
    }
    """
    ctypedef struct ptab "strmsync_ptab":
        char *buf
        unsigned int *off
        unsigned short *plen
        unsigned char *dig
        unsigned char *flags
        size_t n
    void digest8 "strmsync_digest8"(const char *data, size_t n, unsigned char *out) noexcept nogil
    long ptab_find "strmsync_ptab_find"(const ptab *t, const char *s, size_t n) noexcept nogil
    long ptab_add "strmsync_ptab_add"(ptab *t, const char *s, size_t n) noexcept nogil
    void ptab_free "strmsync_ptab_free"(ptab *t) noexcept nogil
    int utf8_ok "strmsync_utf8_ok"(const char *s, size_t n) noexcept nogil
    ctypedef struct names_t "strmsync_names":
        int loaded
    int names_load "strmsync_names_load"(names_t *t, int fd) noexcept nogil
    int names_type "strmsync_names_type"(const names_t *t, const char *name, size_t n) noexcept nogil
    void names_free "strmsync_names_free"(names_t *t) noexcept nogil

from libc.string cimport memset

cdef enum:
    F_STRM = 1     # the entry is a .strm (else metadata)
    F_DIGEST = 2   # dig holds its digest's 8 bytes
    F_SEEN = 4     # checked off by this run

cdef const char *_HEX_LOWER = b"0123456789abcdef"


cdef int _unhex(const char *s, Py_ssize_t n, unsigned char *out) noexcept:
    """The 8 bytes of a 16-character lower-case hex digest; 0 when it is not one."""
    cdef Py_ssize_t i
    cdef int hi, lo
    if n != 16:
        return 0
    for i in range(8):
        hi, lo = _hexval(s[2 * i]), _hexval(s[2 * i + 1])
        if hi < 0 or lo < 0:
            return 0
        out[i] = hi * 16 + lo
    return 1


cdef inline int _hexval(char c) noexcept:
    if 48 <= c <= 57:
        return c - 48
    if 97 <= c <= 102:
        return c - 87
    return -1


cdef str _hexdigest(const unsigned char *d):
    out = PyUnicode_New(16, 127)
    cdef Py_UCS1 *dst = PyUnicode_1BYTE_DATA(out)
    cdef int i
    for i in range(8):
        dst[2 * i] = _HEX_LOWER[d[i] >> 4]
        dst[2 * i + 1] = _HEX_LOWER[d[i] & 15]
    return out


cdef int _utf8_of(object text, const char **data, Py_ssize_t *size):
    """Point at the UTF-8 of a str (its own data when ASCII); 0 when it has none."""
    if type(text) is not str:
        return 0
    try:
        data[0] = PyUnicode_AsUTF8AndSize(text, size)
    except UnicodeEncodeError:
        return 0
    return 1


cdef extern from "Python.h":
    const char *PyUnicode_AsUTF8AndSize(object, Py_ssize_t *) except NULL
    object PyUnicode_DecodeUTF8(const char *, Py_ssize_t, const char *)


cdef class ManifestIndex:
    """One job's manifest for a run: `path -> (kind, digest)`, each path checked off when the
    run produces it, and the folders the run listed non-empty."""

    cdef ptab entries
    cdef ptab listed

    def __dealloc__(self):
        ptab_free(&self.entries)
        ptab_free(&self.listed)

    def add_records(self, blob):
        """Add `path NUL kind NUL digest NUL` records (UTF-8, kind strm or meta); returns how
        many. A path given again replaces its entry."""
        cdef bytes data = blob if type(blob) is bytes else bytes(blob)
        cdef const char *p = data
        cdef const char *end = p + len(data)
        cdef const char *at = p
        cdef const char *kind
        cdef const char *digest
        cdef const char *stop
        cdef Py_ssize_t nuls = 0
        cdef long e
        while at < end:
            stop = <const char *>memchr(at, 0, end - at)
            if stop == NULL:
                break
            nuls += 1
            at = stop + 1
        if at != end or nuls % 3:
            raise ValueError("manifest records: not path, kind, digest triples")
        at = p
        while at < end:
            kind = <const char *>memchr(at, 0, end - at) + 1
            digest = <const char *>memchr(kind, 0, end - kind) + 1
            stop = <const char *>memchr(digest, 0, end - digest)
            _check_utf8(at, kind - 1 - at)
            if not _is_kind(kind, digest - 1 - kind):
                raise ValueError("manifest records: unknown kind"
                                 f" {PyBytes_FromStringAndSize(kind, digest - 1 - kind)!r}")
            e = ptab_add(&self.entries, at, kind - 1 - at)
            if e < 0:
                raise MemoryError()
            self.entries.flags[e] = (self.entries.flags[e] & F_SEEN) | (
                F_STRM if kind[0] == b"s" else 0)
            if kind[0] == b"s" and _unhex(digest, stop - digest, self.entries.dig + 8 * e):
                self.entries.flags[e] |= F_DIGEST
            at = stop + 1
        return nuls // 3

    def __len__(self):
        return self.entries.n

    def __contains__(self, path):
        return self._find(path) >= 0

    cdef long _find(self, object path):
        cdef const char *s
        cdef Py_ssize_t n
        if not _utf8_of(path, &s, &n):
            return -1
        return ptab_find(&self.entries, s, n)

    def get(self, path):
        """`(kind, digest)` of a managed path (digest None for metadata), else None."""
        cdef long e = self._find(path)
        if e < 0:
            return None
        kind = _pyscan.STRM_KIND if self.entries.flags[e] & F_STRM else _pyscan.META_KIND
        if self.entries.flags[e] & F_DIGEST:
            return kind, _hexdigest(self.entries.dig + 8 * e)
        return kind, None

    def check_off(self, paths):
        """Note that this run produced these paths (unmanaged ones are ignored)."""
        cdef long e
        for path in paths:
            e = self._find(path)
            if e >= 0:
                self.entries.flags[e] |= F_SEEN

    def unseen(self):
        """The managed paths not checked off, sorted: the orphans of a finished scan."""
        cdef size_t e
        out = [PyUnicode_DecodeUTF8(self.entries.buf + self.entries.off[e],
                                    self.entries.plen[e], NULL)
               for e in range(self.entries.n) if not self.entries.flags[e] & F_SEEN]
        out.sort()
        return out

    def note_listed(self, folder):
        """Note a folder this run listed with something in it (a name that is not UTF-8
        text is not noted: no manifest path can lie under it)."""
        cdef const char *s
        cdef Py_ssize_t n
        if not _utf8_of(folder, &s, &n):
            return
        if ptab_add(&self.listed, s, n) < 0:
            raise MemoryError()

    def was_listed(self, folder):
        """True when `note_listed(folder)` was called."""
        cdef const char *s
        cdef Py_ssize_t n
        if not _utf8_of(folder, &s, &n):
            return False
        return ptab_find(&self.listed, s, n) >= 0


cdef inline bint _is_kind(const char *s, Py_ssize_t n) noexcept:
    return n == 4 and (memcmp(s, b"strm", 4) == 0 or memcmp(s, b"meta", 4) == 0)


cdef int _check_utf8(const char *s, Py_ssize_t n) except -1:
    if not utf8_ok(s, n):
        PyUnicode_DecodeUTF8(s, n, NULL)  # raises the twin's exact error
    return 0


# ----------------------------------------------------------------------------- one folder

from _fastscan._pyscan import META_COMPARE, META_IGNORE, META_KEEP, STRM_MODES  # noqa: F401

cdef extern from "<fcntl.h>" nogil:
    int openat(int, const char *, int, ...)
    enum:
        O_DIRECTORY
        AT_SYMLINK_NOFOLLOW


cdef int _reserve(char **buf, Py_ssize_t *cap, Py_ssize_t need) except -1:
    cdef void *grown
    if need <= cap[0]:
        return 0
    grown = realloc(buf[0], need * 2)
    if grown == NULL:
        raise MemoryError()
    buf[0], cap[0] = <char *>grown, need * 2
    return 0


cdef Py_ssize_t _put_quoted(char *dst, const unsigned char *src, Py_ssize_t n) noexcept:
    cdef Py_ssize_t i, at = 0
    for i in range(n):
        if _SAFE[src[i]]:
            dst[at] = src[i]
            at += 1
        else:
            dst[at], dst[at + 1], dst[at + 2] = b"%", _HEX[src[i] >> 4], _HEX[src[i] & 15]
            at += 3
    return at


cdef int _openat(int dfd, const char *name, int flags) noexcept nogil:
    cdef int fd
    while True:
        fd = openat(dfd, name, flags | O_CLOEXEC)
        if fd >= 0 or errno != EINTR:
            return fd


cdef class _Folder:
    """The C buffers of one scan_folder call: the target path, the STRM text, the folder."""

    cdef char *rel      # prefix + target name, NUL-terminated from `name_at` on
    cdef Py_ssize_t rel_cap, name_at
    cdef char *text     # base + "/" + (quoted) prefix + source name
    cdef Py_ssize_t text_cap, base_len
    cdef int dfd, dir_err
    cdef Py_ssize_t root_len  # length of the root's bytes without trailing slashes
    cdef names_t names        # the folder's names, read when a metadata file needs them

    def __cinit__(self):
        self.rel = self.text = NULL
        self.rel_cap = self.text_cap = 0
        self.dfd = -1
        memset(&self.names, 0, sizeof(names_t))

    cdef int type_of(self, const char *name, Py_ssize_t n) noexcept:
        """The directory's type for name (DT_*), or -1: not listed, or no listing."""
        if self.names.loaded == 0:
            names_load(&self.names, self.dfd)
        return names_type(&self.names, name, n)

    def __dealloc__(self):
        names_free(&self.names)
        free(self.rel)
        free(self.text)
        if self.dfd >= 0:
            close(self.dfd)


def scan_folder(root, dir_rel, files, rules, manifest):
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
    if type(manifest) is not ManifestIndex or type(files) is not list \
            or not _plain_folder(root, dir_rel, base):
        return _pyscan.scan_folder(root, dir_rel, files, rules, manifest)
    return _scan_folder(_open_folder(root, dir_rel, base), dir_rel, files, media, meta,
                        mode == "url", bool(read_strm), meta_rule == META_IGNORE,
                        meta_rule == META_COMPARE, <ManifestIndex>manifest)


cdef bint _plain_folder(object root, object dir_rel, object base):
    """The twin's _plain_folder: str arguments, UTF-8 text, a normal folder, no NUL."""
    if type(root) is not str or type(dir_rel) is not str or type(base) is not str:
        return False
    if dir_rel:
        try:
            if _safe_relpath(<str>dir_rel) != dir_rel:
                return False
        except PathEscape:
            return False
    for text in (root, dir_rel, base):
        if not PyUnicode_IS_ASCII(text):
            try:
                PyUnicode_AsUTF8String(text)
            except UnicodeEncodeError:
                return False
    return "\x00" not in root


cdef _Folder _open_folder(str root, str dir_rel, str base):
    cdef _Folder f = _Folder()
    cdef bytes root_b = PyUnicode_EncodeFSDefault(_strip_slashes(root, False))
    cdef bytes prefix_b = PyUnicode_AsUTF8String(dir_rel + "/") if dir_rel else b""
    cdef bytes base_b = PyUnicode_AsUTF8String(_strip_slashes(base, False))
    cdef bytes dir_b = root_b + b"/" + prefix_b
    f.root_len = len(root_b)
    f.name_at = len(prefix_b)
    _reserve(&f.rel, &f.rel_cap, f.name_at + 300)
    memcpy(f.rel, <const char *>prefix_b, f.name_at)
    f.base_len = len(base_b)
    _reserve(&f.text, &f.text_cap, f.base_len + 1 + 3 * (f.name_at + 300))
    memcpy(f.text, <const char *>base_b, f.base_len)
    f.text[f.base_len] = b"/"
    # One descriptor for the folder: each file is then opened or stat'ed relative to it,
    # without the kernel walking the whole path again for each of them.
    f.dfd = _open(dir_b, O_RDONLY | O_DIRECTORY, 0)
    f.dir_err = 0 if f.dfd >= 0 else errno
    return f


cdef tuple _scan_folder(_Folder f, str dir_rel, list files, object media, object meta,
                        bint url, bint read_strm, bint ignore_meta, bint compare_meta,
                        ManifestIndex manifest):
    cdef const char *name
    cdef Py_ssize_t name_len, stem, rel_len, text_len, i
    cdef long e
    cdef int err, code, fd
    cdef struct_stat st
    cdef unsigned char digest[8]
    cdef bint strm
    todo, odd = [], []
    cdef Py_ssize_t skipped = 0, ignored = 0
    for entry in files:
        if type(entry) is not tuple or len(<tuple>entry) != 3 \
                or not _utf8_of((<tuple>entry)[0], &name, &name_len) \
                or not _plain_name(name, name_len):
            odd.append(entry)
            continue
        ext = _extension(<str>(<tuple>entry)[0])
        if not ext:
            continue
        if ext in media:
            strm = True
        elif ext in meta:
            strm = False
        else:
            continue
        # The target's path relative to the root: prefix + "<stem>.strm" or prefix + name.
        stem = name_len
        if strm:
            while name[stem - 1] != b".":
                stem -= 1
            stem -= 1
        _reserve(&f.rel, &f.rel_cap, f.name_at + stem + 6)
        memcpy(f.rel + f.name_at, name, stem)
        rel_len = f.name_at + stem
        if strm:
            memcpy(f.rel + rel_len, b".strm", 5)
            rel_len += 5
        f.rel[rel_len] = 0
        e = ptab_find(&manifest.entries, f.rel, rel_len)
        if e >= 0:
            manifest.entries.flags[e] |= F_SEEN
        err = f.dir_err
        if not err and f.root_len + 1 + rel_len >= PATH_MAX:
            err = ENAMETOOLONG  # what opening the whole path says, as the twin does
        if not strm:
            if ignore_meta:
                ignored += 1
                continue
            if not err and (not compare_meta or e < 0) \
                    and f.type_of(f.rel + f.name_at, rel_len - f.name_at) == DT_REG:
                skipped += 1  # listed as a regular file: what the stat would have said
                continue
            if not err and fstatat(f.dfd, f.rel + f.name_at, &st, 0) != 0:
                err = errno
            if not err and S_ISREG(st.st_mode) and (not compare_meta or e < 0):
                skipped += 1
                continue
            if err:
                seen = None if err == ENOENT else STAT_BROKEN
            elif not S_ISREG(st.st_mode):
                seen = STAT_BROKEN
            else:
                seen = (st.st_size, _ns(st.st_mtim.tv_sec, st.st_mtim.tv_nsec))
            todo.append((entry, PyUnicode_DecodeUTF8(f.rel, rel_len, NULL), KIND_META, b"",
                         seen))
            continue
        # The .strm text: base + "/" + the source path, percent-encoded in url mode.
        _reserve(&f.text, &f.text_cap, f.base_len + 1 + 3 * (f.name_at + name_len))
        text_len = f.base_len + 1
        if url:
            text_len += _put_quoted(f.text + text_len, <const unsigned char *>f.rel, f.name_at)
            text_len += _put_quoted(f.text + text_len, <const unsigned char *>name, name_len)
        else:
            memcpy(f.text + text_len, f.rel, f.name_at)
            memcpy(f.text + text_len + f.name_at, name, name_len)
            text_len += f.name_at + name_len
        if not read_strm:
            if not err and (f.type_of(f.rel + f.name_at, rel_len - f.name_at) >= 0 or fstatat(
                    f.dfd, f.rel + f.name_at, &st, AT_SYMLINK_NOFOLLOW) == 0):
                skipped += 1  # listed, or there when asked: os.path.lexists
                continue
            code = C_MISSING
        elif err:
            code = C_MISSING if err == ENOENT else C_ERROR
        else:
            fd = _openat(f.dfd, f.rel + f.name_at, O_RDONLY)
            if fd < 0:
                code = C_MISSING if errno == ENOENT else C_ERROR
            else:
                code = _compare_fd(fd, f.text, text_len)
                close(fd)
        if code == C_EQUAL and e >= 0 and manifest.entries.flags[e] & F_DIGEST:
            digest8(f.text, text_len, digest)
            if memcmp(digest, manifest.entries.dig + 8 * e, 8) == 0:
                skipped += 1
                continue
        todo.append((entry, PyUnicode_DecodeUTF8(f.rel, rel_len, NULL), KIND_STRM,
                     PyBytes_FromStringAndSize(f.text, text_len), code))
    return todo, odd, skipped, ignored


cdef inline bint _plain_name(const char *name, Py_ssize_t n) noexcept:
    if n == 0 or memchr(name, 47, n) != NULL or memchr(name, 0, n) != NULL:  # "/", NUL
        return False
    return not (name[0] == b"." and (n == 1 or (n == 2 and name[1] == b".")))
