"""The `_fastscan` hot path: both implementations on literal cases, and agreeing on any input."""

import errno
import gc
import hashlib
import os
import pickle
import stat
import tempfile
import threading
import time
import types
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import _fastscan
from _fastscan import _pyscan
from tests.conftest import wait_for

IMPLS = _fastscan.implementations()
REQUIRED = os.environ.get("STRMSYNC_REQUIRE_EXTENSIONS") == "1"
FORCED_PURE = os.environ.get("STRMSYNC_NO_EXTENSIONS") == "1" and not REQUIRED

MEDIA = frozenset({"mkv", "mp4", "iso"})
META = frozenset({"nfo", "jpg", "srt"})
NOBODY = 65534

fast = settings(max_examples=60, deadline=None, database=None)
with_files = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _module(impl_id):
    if impl_id not in IMPLS:
        if REQUIRED:
            pytest.fail("STRMSYNC_REQUIRE_EXTENSIONS=1 but the compiled _fastscan is not built")
        pytest.skip("compiled _fastscan not built")
    return IMPLS[impl_id]


@pytest.fixture(params=["py", "cy"])
def impl(request):
    """Each implementation of the hot path in turn (`cy` skipped if not built, unless required)."""
    return _module(request.param)


@pytest.fixture(scope="module")
def cy():
    """The compiled implementation, for agreement tests against the twin."""
    return _module("cy")


def outcome(fn, *args):
    """A call's result, or the type and text of what it raised, so two calls can be compared."""
    try:
        return ("ok", fn(*args))
    except Exception as exc:  # noqa: BLE001 - any difference in failure is a difference
        return ("raised", type(exc), str(exc))


# ----------------------------------------------------------------------------- build and API


def test_required_build_is_active():
    if REQUIRED:
        assert "cy" in IMPLS
    expected = "pure" if FORCED_PURE or "cy" not in IMPLS else "compiled"
    assert expected == _fastscan.IMPLEMENTATION


def test_compiled_exports_the_same_api(cy):
    for name in _fastscan.API:
        assert hasattr(cy, name), name
    for name in _fastscan.API:
        if not callable(getattr(_pyscan, name)) or name == "PathEscape":
            assert getattr(cy, name) is getattr(_pyscan, name), name


# ----------------------------------------------------------------------------- path mapping


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("Movies/Film (2020)/Film.mkv", "Movies/Film (2020)/Film.mkv"),
        ("a/./b", "a/b"),
        ("a//b", "a/b"),
        ("./a/", "a"),
        ("...", "..."),
        ("a/..b/c..", "a/..b/c.."),
    ],
)
def test_safe_relpath_normalises(impl, path, expected):
    assert impl.safe_relpath(path) == expected


@pytest.mark.parametrize(
    "path", ["..", "a/../b", "a/..", "/abs", "//x", "a\x00b", "", ".", "./", "//"]
)
def test_safe_relpath_rejects_escapes(impl, path):
    with pytest.raises(_fastscan.PathEscape):
        impl.safe_relpath(path)


def test_path_escape_is_one_class(impl):
    assert impl.PathEscape is _pyscan.PathEscape
    assert issubclass(impl.PathEscape, ValueError)


@pytest.mark.parametrize(
    ("root", "rel", "expected"),
    [
        ("/media/strm", "Movies/a.strm", "/media/strm/Movies/a.strm"),
        ("/media/strm/", "Movies//a.strm", "/media/strm/Movies/a.strm"),
        ("/", "a.strm", "/a.strm"),
    ],
)
def test_join_relpath(impl, root, rel, expected):
    assert impl.join_relpath(root, rel) == expected


@pytest.mark.parametrize("rel", ["../etc/passwd", "/etc/passwd", "a/\x00", "", "a/../.."])
def test_join_relpath_keeps_paths_inside_root(impl, rel):
    with pytest.raises(_fastscan.PathEscape):
        impl.join_relpath("/media/strm", rel)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Film.mkv", _pyscan.KIND_STRM),
        ("Film.MKV", _pyscan.KIND_STRM),
        ("Film.Mp4", _pyscan.KIND_STRM),
        ("movie.NFO", _pyscan.KIND_META),
        ("poster.jpg", _pyscan.KIND_META),
        (".nfo", _pyscan.KIND_NONE),
        ("..nfo", _pyscan.KIND_NONE),
        ("a..nfo", _pyscan.KIND_META),
        ("Film", _pyscan.KIND_NONE),
        ("Film.", _pyscan.KIND_NONE),
        ("notes.txt", _pyscan.KIND_NONE),
    ],
)
def test_classify(impl, name, kind):
    assert impl.classify(name, MEDIA, META) == kind


@pytest.mark.parametrize(
    ("name", "kind", "expected"),
    [
        ("Film.2020.MKV", _pyscan.KIND_STRM, "Film.2020.strm"),
        ("千と千尋.mkv", _pyscan.KIND_STRM, "千と千尋.strm"),
        ("movie.nfo", _pyscan.KIND_META, "movie.nfo"),
        ("notes.txt", _pyscan.KIND_NONE, "notes.txt"),
    ],
)
def test_target_name(impl, name, kind, expected):
    assert impl.target_name(name, kind) == expected


# ----------------------------------------------------------------------------- STRM text


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "Movies/What? #1 100% & more+; x=y.mkv",
            "Movies/What%3F%20%231%20100%25%20%26%20more%2B%3B%20x%3Dy.mkv",
        ),
        ("電影/千と千尋.mkv", "%E9%9B%BB%E5%BD%B1/%E5%8D%83%E3%81%A8%E5%8D%83%E5%B0%8B.mkv"),
        ("Séries/🎬 ~ok_.-", "S%C3%A9ries/%F0%9F%8E%AC%20~ok_.-"),
        ("plain/Name-1_2.3~", "plain/Name-1_2.3~"),
        ("", ""),
        ("a//b/", "a//b/"),
    ],
)
def test_quote_path(impl, path, expected):
    assert impl.quote_path(path) == expected


def test_quote_path_refuses_lone_surrogates(impl):
    with pytest.raises(UnicodeEncodeError):
        impl.quote_path("ok/bad\udcff.mkv")


@pytest.mark.parametrize("base", ["http://nas:5244/d/115", "http://nas:5244/d/115/"])
def test_build_strm_url_ignores_trailing_slash(impl, base):
    text = impl.build_strm("url", base, "/Movies/A b/Film #1.mkv")
    assert text == "http://nas:5244/d/115/Movies/A%20b/Film%20%231.mkv"


@pytest.mark.parametrize("mode", ["path", "mount"])
def test_build_strm_path_modes_keep_the_name(impl, mode):
    text = impl.build_strm(mode, "/mnt/115/", "Movies/A b/Film #1.mkv/")
    assert text == "/mnt/115/Movies/A b/Film #1.mkv"


def test_build_strm_rejects_unknown_mode(impl):
    with pytest.raises(ValueError, match="strm mode"):
        impl.build_strm("URL", "http://x", "a.mkv")


# ----------------------------------------------------------------------------- compare, write


def test_compare_files(impl, tmp_path):
    (tmp_path / "same.strm").write_bytes(b"http://x/a.mkv")
    (tmp_path / "other.strm").write_bytes(b"http://x/b.mkv")
    (tmp_path / "short.strm").write_bytes(b"http://x/")
    (tmp_path / "empty.strm").write_bytes(b"")
    (tmp_path / "dir.strm").mkdir()
    os.symlink("nowhere", tmp_path / "dangling.strm")
    names = ["same", "other", "short", "empty", "missing", "dir", "dangling"]
    paths = [f"{tmp_path}/{name}.strm" for name in names] + [f"{tmp_path}/same.strm/x"]
    want = [b"http://x/a.mkv"] * 3 + [b""] * 5
    assert impl.compare_files(paths, want) == [
        impl.CMP_EQUAL,
        impl.CMP_DIFFERENT,
        impl.CMP_DIFFERENT,
        impl.CMP_EQUAL,
        impl.CMP_MISSING,
        impl.CMP_ERROR,
        impl.CMP_MISSING,
        impl.CMP_ERROR,
    ]


def test_compare_files_needs_matching_lengths(impl):
    with pytest.raises(ValueError):
        impl.compare_files(["/nonexistent"], [])


def test_compare_files_sees_a_longer_or_shorter_file(impl, tmp_path):
    (tmp_path / "a.strm").write_bytes(b"x" * 40000)  # longer than one read
    paths = [f"{tmp_path}/a.strm"] * 3
    assert impl.compare_files(paths, [b"x" * 40000, b"x" * 39999, b"x" * 40001]) == [
        impl.CMP_EQUAL, impl.CMP_DIFFERENT, impl.CMP_DIFFERENT]


def test_stat_files(impl, tmp_path):
    (tmp_path / "a.nfo").write_bytes(b"12345")
    os.utime(tmp_path / "a.nfo", ns=(1, 1_600_000_000_123_456_789))
    (tmp_path / "dir.nfo").mkdir()
    os.symlink("a.nfo", tmp_path / "link.nfo")
    os.symlink("nowhere", tmp_path / "dangling.nfo")
    os.mkfifo(tmp_path / "fifo.nfo")
    names = ["a.nfo", "link.nfo", "missing.nfo", "dangling.nfo", "dir.nfo", "fifo.nfo",
             "a.nfo/x", "missing/x"]
    assert impl.stat_files([f"{tmp_path}/{name}" for name in names]) == [
        (5, 1_600_000_000_123_456_789),
        (5, 1_600_000_000_123_456_789),
        None,
        None,
        impl.STAT_BROKEN,
        impl.STAT_BROKEN,
        impl.STAT_BROKEN,
        None,
    ]
    assert impl.stat_files([]) == []


def test_write_files_replaces_atomically(impl, tmp_path):
    target = tmp_path / "Film.strm"
    target.write_bytes(b"old text that is longer")
    assert impl.write_files([str(target)], [b"new"]) == [0]
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["Film.strm"]


def test_write_files_creates_missing_directories(impl, tmp_path):
    path = f"{tmp_path}/Series/Show (2020)/Season 1/E01.strm"
    assert impl.write_files([path], [b"http://x/e01.mkv"]) == [0]
    with open(path, "rb") as fh:
        assert fh.read() == b"http://x/e01.mkv"
    assert os.listdir(os.path.dirname(path)) == ["E01.strm"]


def test_writers_making_the_same_new_folders_at_once_all_succeed(impl, tmp_path):
    # Each thread finds the folders missing and makes them; the others' mkdir then fails
    # with EEXIST, which must count as made (os.makedirs(exist_ok=True) in the twin).
    start = threading.Barrier(6)
    codes = {}

    def write(n):
        paths = [f"{tmp_path}/Show/Season {s}/E{n}.strm" for s in range(30)]
        start.wait()
        codes[n] = impl.write_files(paths, [b"x"] * len(paths))
        sources = [f"{tmp_path}/Show/Season {s}/E{n}.strm" for s in range(30)]
        codes[-n - 1] = impl.copy_files(sources, [f"{tmp_path}/Copy/{p[len(str(tmp_path)):]}"
                                                  for p in sources], [0] * len(sources))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == {k: [0] * 30 for k in [*range(6), *range(-6, 0)]}
    assert len(os.listdir(tmp_path / "Copy/Show/Season 7")) == 6


def test_a_write_job_answers_as_write_files_and_is_done_when_it_answers(impl, tmp_path):
    paths = [f"{tmp_path}/Show/S01/E{i:02d}.strm" for i in range(50)]
    paths += [f"{tmp_path}/Show/S01/E03.strm", f"{tmp_path}/Show/S01", "/proc/nope/x.strm"]
    datas = [f"http://x/{i}".encode() for i in range(len(paths))]
    job = impl.WriteJob(paths, datas)
    codes = job.codes()
    assert codes == [0] * 51 + [errno.EISDIR, errno.ENOENT]
    assert job.codes() == codes and job.seconds > 0  # asked again: the same answer
    assert (tmp_path / "Show/S01/E03.strm").read_bytes() == datas[50]  # the later text wins
    assert sorted(os.listdir(tmp_path / "Show/S01")) == [f"E{i:02d}.strm" for i in range(50)]


def test_a_write_job_dropped_unanswered_still_finishes_its_files(impl, tmp_path):
    paths = [f"{tmp_path}/d{i % 7}/f{i}.strm" for i in range(2000)]
    impl.WriteJob(paths, [b"x"] * len(paths))  # never asked: freed at once
    gc.collect()
    assert sum(len(os.listdir(tmp_path / f"d{d}")) for d in range(7)) == 2000
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(_pyscan.TEMP_SUFFIX)]


def test_a_copy_job_dropped_unanswered_still_finishes_its_copies(impl, tmp_path):
    (tmp_path / "src").mkdir()
    sources = []
    for i in range(300):
        sources.append(str(tmp_path / f"src/{i}.nfo"))
        (tmp_path / f"src/{i}.nfo").write_bytes(b"<nfo/>" * i)
    dests = [f"{tmp_path}/out/d{i % 5}/{i}.nfo" for i in range(300)]
    impl.CopyJob(sources, dests, [1_600_000_000_000_000_000] * 300)  # never asked
    gc.collect()
    for i in (0, 7, 299):
        copied = tmp_path / f"out/d{i % 5}/{i}.nfo"
        assert copied.read_bytes() == b"<nfo/>" * i
        assert copied.stat().st_mtime_ns == 1_600_000_000_000_000_000
    assert len(list((tmp_path / "out").rglob("*.nfo"))) == 300


def test_write_files_reports_errno_and_leaves_no_temp(impl, tmp_path):
    (tmp_path / "file").write_bytes(b"")
    (tmp_path / "dir").mkdir()
    paths = [f"{tmp_path}/file/sub/a.strm", f"{tmp_path}/dir", f"{tmp_path}/ok.strm"]
    assert impl.write_files(paths, [b"a", b"b", b"c"]) == [errno.ENOTDIR, errno.EISDIR, 0]
    assert sorted(os.listdir(tmp_path)) == ["dir", "file", "ok.strm"]
    assert os.listdir(tmp_path / "dir") == []


def test_write_files_goes_through_the_twins_temp_name(impl, tmp_path):
    os.mkdir(_pyscan.temp_path(f"{tmp_path}/Film.strm"))  # a temp name nobody can open
    assert impl.write_files([f"{tmp_path}/Film.strm"], [b"x"]) == [errno.EISDIR]
    assert not os.path.exists(f"{tmp_path}/Film.strm")


def test_write_files_keeps_the_temp_beside_a_bare_name(impl, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert impl.write_files(["bare.strm"], [b"x"]) == [0]
    assert os.listdir(tmp_path) == ["bare.strm"]
    assert not os.path.exists("/.bare.strm" + _pyscan.TEMP_SUFFIX)


def test_copy_files(impl, tmp_path):
    big = bytes(range(256)) * 3000  # several copy chunks
    (tmp_path / "src").mkdir()
    (tmp_path / "src/a.nfo").write_bytes(b"nfo")
    (tmp_path / "src/big.jpg").write_bytes(big)
    (tmp_path / "out").mkdir()
    (tmp_path / "out/a.nfo").write_bytes(b"older and longer")
    (tmp_path / "out/dir.nfo").mkdir()
    pairs = [
        ("a.nfo", "out/a.nfo"),  # replaced
        ("big.jpg", "out/new/deeper/big.jpg"),  # folders made
        ("missing.nfo", "out/missing.nfo"),
        ("", "out/from-a-dir.nfo"),  # the source is the src folder itself
        ("a.nfo", "out/dir.nfo"),  # a folder where the copy should go
    ]
    sources = [f"{tmp_path}/src/{src}".rstrip("/") for src, _ in pairs]
    dests = [f"{tmp_path}/{dest}" for _, dest in pairs]
    mtime = 1_500_000_000_987_654_321
    assert impl.copy_files(sources, dests, [mtime] * len(pairs)) == [
        0, 0, errno.ENOENT, errno.EISDIR, errno.EISDIR]
    assert (tmp_path / "out/a.nfo").read_bytes() == b"nfo"
    assert (tmp_path / "out/new/deeper/big.jpg").read_bytes() == big
    for done in ("out/a.nfo", "out/new/deeper/big.jpg"):
        assert (tmp_path / done).stat().st_mtime_ns == mtime
    assert sorted(os.listdir(tmp_path / "out")) == ["a.nfo", "dir.nfo", "new"]
    assert os.listdir(tmp_path / "out/dir.nfo") == []
    assert impl.copy_files([], [], []) == []


def test_write_and_compare_from_several_threads(impl, tmp_path):
    def job(n):
        paths = [f"{tmp_path}/t{n}/{i}.strm" for i in range(50)]
        datas = [f"http://x/{n}/{i}".encode() for i in range(50)]
        written = impl.write_files(paths, datas)
        return written, impl.compare_files(paths, datas)

    with ThreadPoolExecutor(4) as pool:
        for written, compared in pool.map(job, range(8)):
            assert written == [0] * 50
            assert compared == [impl.CMP_EQUAL] * 50


# ----------------------------------------------------------------------------- walk


def _files(root, rel, *names):
    out = []
    for name in names:
        st_ = os.stat(f"{root}/{rel}/{name}" if rel else f"{root}/{name}")
        out.append((name, st_.st_size, st_.st_mtime_ns))
    return out


def _library(root):
    os.makedirs(f"{root}/A/deeper/deepest")
    with open(f"{root}/b.mkv", "wb") as fh:
        fh.write(b"12345")
    with open(f"{root}/A/x.nfo", "wb") as fh:
        fh.write(b"n")
    with open(f"{root}/A/deeper/deepest/z.mkv", "wb") as fh:
        fh.write(b"zz")
    os.symlink(".", f"{root}/back")
    os.symlink("..", f"{root}/A/up")
    os.symlink("nowhere", f"{root}/gone")
    os.symlink("self", f"{root}/self")
    os.symlink("A/deeper", f"{root}/linkdir")
    os.mkfifo(f"{root}/fifo")


def test_walk_tree(impl, tmp_path):
    root = str(tmp_path)
    _library(root)
    report = []
    result = list(impl.walk(root, max_depth=2, report=report))
    assert result == [
        ("", _files(root, "", "b.mkv"), ["A", "linkdir"]),
        ("A", _files(root, "A", "x.nfo"), ["deeper"]),
        ("A/deeper", [], ["deepest"]),
        ("linkdir", [], ["deepest"]),
        ("linkdir/deepest", _files(root, "linkdir/deepest", "z.mkv"), []),
    ]
    assert report == [
        ("error", "self", os.strerror(errno.ELOOP)),
        ("loop", "back", "symlink loop"),
        ("loop", "A/up", "symlink loop"),
        ("depth", "A/deeper/deepest", "deeper than 2 levels"),
    ]


def test_walk_without_stats_types_files_from_the_directory(impl, tmp_path):
    root = str(tmp_path)
    _library(root)
    os.symlink("b.mkv", f"{root}/alias.mkv")
    unknown = (impl.UNKNOWN, impl.UNKNOWN)
    report = []
    result = list(impl.walk(root, max_depth=2, report=report, stat_files=False))
    assert result == [
        ("", [("alias.mkv", *unknown), ("b.mkv", *unknown)], ["A", "linkdir"]),
        ("A", [("x.nfo", *unknown)], ["deeper"]),
        ("A/deeper", [], ["deepest"]),
        ("linkdir", [], ["deepest"]),
        ("linkdir/deepest", [("z.mkv", *unknown)], []),
    ]
    assert report == [
        ("error", "self", os.strerror(errno.ELOOP)),
        ("loop", "back", "symlink loop"),
        ("loop", "A/up", "symlink loop"),
        ("depth", "A/deeper/deepest", "deeper than 2 levels"),
    ]


def test_walk_missing_root(impl, tmp_path):
    report = []
    assert list(impl.walk(f"{tmp_path}/absent", report=report)) == []
    assert report == [("error", "", os.strerror(errno.ENOENT))]


def test_walk_sorts_by_str_and_keeps_undecodable_names(impl, tmp_path):
    for raw in (b"\xff.mkv", "\ue000.mkv".encode(), b"B.mkv", b"a.mkv"):
        with open(os.fsencode(tmp_path) + b"/" + raw, "wb"):
            pass
    [(rel, files, subdirs)] = list(impl.walk(str(tmp_path)))
    assert [name for name, _, _ in files] == ["B.mkv", "a.mkv", "\udcff.mkv", "\ue000.mkv"]


def test_walk_reports_too_long_paths_like_the_twin(impl, tmp_path):
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        for level in range(17):
            os.mkdir(f"{level:02d}" + "d" * 240, dir_fd=fd)
            child = os.open(f"{level:02d}" + "d" * 240, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = child
    finally:
        os.close(fd)
    walked = _walk_with_report(impl, str(tmp_path))
    assert walked == _walk_with_report(_pyscan, str(tmp_path))
    assert [(kind, msg) for kind, _, msg in walked[1]] == [
        ("error", os.strerror(errno.ENAMETOOLONG))
    ]


def _as_nobody(fn, *args):
    """`fn(*args)` in a forked child without root, where chmod 000 really blocks reads."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.close(reader)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            with os.fdopen(writer, "wb") as fh:
                fh.write(pickle.dumps(fn(*args)))
            code = 0
        finally:
            os._exit(code)
    os.close(writer)
    with os.fdopen(reader, "rb") as fh:
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return pickle.loads(data)


def _walk_with_report(module, root, stat_files=True, workers=1):
    report = []
    walked = list(module.walk(root, report=report, stat_files=stat_files, workers=workers))
    if workers == 1:
        return walked, report
    return sorted(walked), sorted(report)  # the order listings finish in is the pool's


@pytest.mark.parametrize("workers", [1, 4])
@pytest.mark.parametrize("stat_files", [True, False])
def test_walk_reports_unreadable_directories(impl, stat_files, workers, monkeypatch):
    monkeypatch.setattr(_pyscan, "SLOW_STREAK", 0)  # the pool, however quick the disk
    with tempfile.TemporaryDirectory() as base:
        os.chmod(base, 0o755)
        os.makedirs(f"{base}/locked/inner")
        os.mkdir(f"{base}/listonly")
        with open(f"{base}/listonly/f.mkv", "wb"):
            pass
        os.chmod(f"{base}/locked", 0)
        os.chmod(f"{base}/listonly", stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        try:
            if os.geteuid() == 0:
                walked, report = _as_nobody(_walk_with_report, impl, base, stat_files,
                                            workers)
            else:
                walked, report = _walk_with_report(impl, base, stat_files, workers)
        finally:
            os.chmod(f"{base}/locked", 0o755)
            os.chmod(f"{base}/listonly", 0o755)
    denied = os.strerror(errno.EACCES)
    if stat_files:
        assert walked == [("", [], ["listonly", "locked"]), ("listonly", [], [])]
        assert report == [("error", "listonly/f.mkv", denied), ("error", "locked", denied)]
    else:  # the listing types f.mkv as a regular file: no stat, so nothing to deny
        unknown = ("f.mkv", impl.UNKNOWN, impl.UNKNOWN)
        assert walked == [("", [], ["listonly", "locked"]), ("listonly", [unknown], [])]
        assert report == [("error", "locked", denied)]


# ----------------------------------------------------------------------------- agreement


awkward_chars = st.one_of(
    st.characters(),
    st.sampled_from(list("/./..\x00 ?#%&+;=~_-é日本🎬") + ["\ud800", "\udcff"]),
)
awkward_text = st.text(awkward_chars, max_size=24)


@fast
@given(awkward_text)
def test_safe_relpath_agrees(cy, path):
    assert outcome(cy.safe_relpath, path) == outcome(_pyscan.safe_relpath, path)


@fast
@given(awkward_text, awkward_text)
def test_join_relpath_agrees(cy, root, rel):
    assert outcome(cy.join_relpath, root, rel) == outcome(_pyscan.join_relpath, root, rel)


ext_sets = st.frozensets(st.sampled_from(["mkv", "nfo", "jpg", "i̇so", "ß", ""]), max_size=4)
names = st.text(st.sampled_from(list(".aBxİßéMKVnfo日")), max_size=10)


@fast
@given(names, ext_sets, ext_sets, st.sampled_from([0, 1, 2, 3, True, 1.0]))
def test_classify_and_target_name_agree(cy, name, media, meta, kind):
    assert cy.classify(name, media, meta) == _pyscan.classify(name, media, meta)
    assert outcome(cy.target_name, name, kind) == outcome(_pyscan.target_name, name, kind)


@fast
@given(awkward_text)
def test_quote_path_agrees_with_urllib(cy, path):
    expected = outcome(_pyscan.quote_path, path)
    assert outcome(cy.quote_path, path) == expected
    if expected[0] == "ok":
        oracle = "/".join(urllib.parse.quote(seg, safe="") for seg in path.split("/"))
        assert expected[1] == oracle


@fast
@given(st.sampled_from(["url", "path", "mount", "URL", ""]), awkward_text, awkward_text)
def test_build_strm_agrees(cy, mode, base, rel):
    assert outcome(cy.build_strm, mode, base, rel) == outcome(_pyscan.build_strm, mode, base, rel)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("safe_relpath", (b"a/b",)),
        ("safe_relpath", (None,)),
        ("join_relpath", (None, "a")),
        ("classify", (b"a.mkv", MEDIA, META)),
        ("quote_path", (b"a b",)),
        ("build_strm", ("url", None, "a")),
        ("build_strm", (None, "http://x", "a")),
        ("compare_files", (["/a\x00b"], [b""])),
        ("compare_files", (["/a"], ["text"])),
        ("compare_files", (["/a", "/b"], [b""])),
        ("stat_files", (["/a\x00b"],)),
        ("stat_files", ([b"/nonexistent", "/tmp/\ud800"],)),
        ("stat_files", (None,)),
        ("write_files", (["/a\x00b"], [b""])),
        ("write_files", ([b"/a"], [b""])),
        ("copy_files", (["/a\x00b"], ["/tmp/x"], [0])),
        ("copy_files", (["/nonexistent"], ["/tmp/x"], [0, 1])),
        ("copy_files", ([b"/nonexistent"], ["/nonexistent/x"], [0])),
        ("copy_files", (["/nonexistent"], ["/nonexistent/x"], [2**70])),
    ],
)
def test_odd_inputs_fail_alike(cy, name, args):
    assert outcome(getattr(cy, name), *args) == outcome(getattr(_pyscan, name), *args)


def test_walk_with_odd_root_fails_alike(cy):
    def walked(module, root):
        return list(module.walk(root))

    for root in ("/a\x00b", b"/nonexistent", "/tmp/\ud800"):
        assert outcome(walked, cy, root) == outcome(walked, _pyscan, root)
    assert outcome(list, cy.walk("/tmp", "1")) == outcome(list, _pyscan.walk("/tmp", "1"))


file_states = st.lists(
    st.tuples(
        st.sampled_from(["file", "missing", "dir"]), st.binary(max_size=40), st.binary(max_size=40)
    ),
    max_size=8,
)


@with_files
@given(file_states)
def test_compare_files_agrees(cy, states):
    with tempfile.TemporaryDirectory() as base:
        paths, expected = [], []
        for i, (state, content, want) in enumerate(states):
            path = f"{base}/{i}.strm"
            if state == "file":
                with open(path, "wb") as fh:
                    fh.write(content)
            elif state == "dir":
                os.mkdir(path)
            paths.append(path)
            expected.append(content if i % 2 else want)
        assert cy.compare_files(paths, expected) == _pyscan.compare_files(paths, expected)


stat_states = st.lists(
    st.sampled_from(["file", "empty", "missing", "dir", "fifo", "link", "dangling", "under"]),
    max_size=8,
)


@with_files
@given(stat_states, st.integers(-(2**40), 2**62))
def test_stat_files_agrees(cy, states, mtime_ns):
    with tempfile.TemporaryDirectory() as base:
        with open(f"{base}/target", "wb") as fh:
            fh.write(b"content")
        paths = []
        for i, state in enumerate(states):
            path = f"{base}/{i}"
            if state in ("file", "empty"):
                with open(path, "wb") as fh:
                    fh.write(b"x" * (i + 1) if state == "file" else b"")
                os.utime(path, ns=(mtime_ns, mtime_ns))
            elif state == "dir":
                os.mkdir(path)
            elif state == "fifo":
                os.mkfifo(path)
            elif state in ("link", "dangling"):
                os.symlink("target" if state == "link" else "nowhere", path)
            elif state == "under":
                path = f"{base}/target/{i}"
            paths.append(path)
        assert cy.stat_files(paths) == _pyscan.stat_files(paths)


@with_files
@given(
    st.lists(st.tuples(st.sampled_from(["a", "a/b", "c/d/e"]), st.binary(max_size=20)), max_size=6)
)
def test_write_files_agrees(cy, writes):
    trees = []
    for write in (_pyscan.write_files, cy.write_files, lambda p, d: cy.WriteJob(p, d).codes()):
        with tempfile.TemporaryDirectory() as base:
            codes = write([f"{base}/{rel}" for rel, _ in writes], [data for _, data in writes])
            trees.append((codes, _snapshot(base)))
    assert trees[0] == trees[1] == trees[2]


@with_files
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["file", "empty", "missing", "dir"]),
            st.sampled_from(["a", "a/b", "c/d/e", "file/x", "dir"]),
            st.integers(-(2**40), 2**62),
        ),
        max_size=6,
    )
)
# A destination twice, the second copy's mtime one only the twin takes: still in order.
@example(copies=[("file", "a", 0), ("file", "a", 2**62)])
def test_copy_files_agrees(cy, copies):
    trees = []
    copy_job = types.SimpleNamespace(copy_files=lambda *lists: cy.CopyJob(*lists).codes())
    for module in (_pyscan, cy, copy_job):
        with tempfile.TemporaryDirectory() as base:
            os.makedirs(f"{base}/src/dir")
            os.makedirs(f"{base}/out/dir")
            with open(f"{base}/out/file", "wb"):
                pass
            os.utime(f"{base}/out/file", ns=(0, 0))
            sources = []
            for i, (state, _, _) in enumerate(copies):
                sources.append(f"{base}/src/dir" if state == "dir" else f"{base}/src/{i}")
                if state in ("file", "empty"):
                    with open(sources[-1], "wb") as fh:
                        fh.write(b"x" * i if state == "file" else b"")
            codes = module.copy_files(
                sources, [f"{base}/out/{dest}" for _, dest, _ in copies], [m for *_, m in copies]
            )
            trees.append((codes, _snapshot(f"{base}/out", mtimes=True)))
    assert trees[0] == trees[1] == trees[2]


def _snapshot(base, mtimes=False):
    out = []
    for dirpath, dirs, files in sorted(os.walk(base)):
        if mtimes:
            out += [(os.path.relpath(f"{dirpath}/{name}", base), "dir") for name in sorted(dirs)]
        for name in sorted(files):
            path = f"{dirpath}/{name}"
            with open(path, "rb") as fh:
                entry = (os.path.relpath(path, base), fh.read())
            out.append(entry + (os.stat(path).st_mtime_ns,) if mtimes else entry)
    return out


SYMLINKS = {"<up>": "..", "<self>": ".", "<dangling>": "nowhere", "<loop>": "<loop>"}
entry_names = st.text(st.sampled_from(list("aB.é🎬 -_")), min_size=1, max_size=6).filter(
    lambda name: name not in (".", "..")
)
trees = st.recursive(
    st.one_of(st.binary(max_size=8), st.sampled_from(sorted(SYMLINKS))),
    lambda children: st.dictionaries(entry_names, children, max_size=4),
    max_leaves=14,
)


def _materialise(path, node):
    if isinstance(node, dict):
        os.mkdir(path)
        for name, child in node.items():
            _materialise(f"{path}/{name}", child)
    elif isinstance(node, bytes):
        with open(path, "wb") as fh:
            fh.write(node)
    else:
        os.symlink(os.path.basename(path) if node == "<loop>" else SYMLINKS[node], path)


@with_files
@given(st.dictionaries(entry_names, trees, max_size=5), st.integers(0, 4), st.booleans())
def test_walk_agrees(cy, tree, max_depth, stat_files):
    with tempfile.TemporaryDirectory() as base:
        _materialise(f"{base}/root", tree)
        results = []
        for module in (_pyscan, cy):
            report = []
            walked = list(module.walk(f"{base}/root", max_depth, report, stat_files))
            results.append((walked, report))
        assert results[0] == results[1]
        if not stat_files:  # the same tree as a stat'ing walk, without the sizes and times
            full = list(_pyscan.walk(f"{base}/root", max_depth, []))
            assert results[0][0] == [
                (rel, [(name, cy.UNKNOWN, cy.UNKNOWN) for name, *_ in files], subdirs)
                for rel, files, subdirs in full
            ]


def test_walk_is_lazy_and_threads_do_not_interfere(cy, tmp_path):
    for i in range(20):
        os.makedirs(tmp_path / f"d{i:02d}" / "sub")
        (tmp_path / f"d{i:02d}" / "sub" / "f.mkv").write_bytes(b"x" * i)
    expected = list(_pyscan.walk(str(tmp_path)))
    results = []

    def run():
        results.append(list(cy.walk(str(tmp_path))))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 4
    walker = cy.walk(str(tmp_path))
    assert next(walker)[0] == ""
    walker.close()


# ----------------------------------------------------------------------------- walk, workers


def _by_folder(walked):
    return sorted(walked, key=lambda listing: listing[0])


@pytest.mark.parametrize("workers", [2, 8])
def test_walk_with_workers_lists_the_same_tree(impl, tmp_path, workers, monkeypatch):
    monkeypatch.setattr(_pyscan, "SLOW_STREAK", 0)  # the pool from the root on
    root = str(tmp_path)
    _library(root)
    for i in range(12):
        _materialise(f"{root}/A/many{i:02d}", {"e.mkv": b"e" * i, "sub": {"f.nfo": b""}})
    alone, together = [], []
    one = list(impl.walk(root, 2, alone, stat_files=False))
    many = list(impl.walk(root, 2, together, stat_files=False, workers=workers))
    assert _by_folder(many) == one  # the one-worker walk is depth-first, sorted by name
    assert sorted(together) == sorted(alone)
    assert ("depth", "A/deeper/deepest", "deeper than 2 levels") in together


@with_files
@given(st.dictionaries(entry_names, trees, max_size=5), st.integers(0, 4), st.booleans(),
       st.integers(2, 8))
def test_walk_with_workers_agrees(cy, tree, max_depth, stat_files, workers):
    with tempfile.TemporaryDirectory() as base, mock.patch.object(_pyscan, "SLOW_STREAK", 0):
        _materialise(f"{base}/root", tree)
        expected_report = []
        expected = list(_pyscan.walk(f"{base}/root", max_depth, expected_report, stat_files))
        for module in (_pyscan, cy):
            report = []
            walked = list(module.walk(f"{base}/root", max_depth, report, stat_files, workers))
            assert _by_folder(walked) == _by_folder(expected)
            assert sorted(report) == sorted(expected_report)


def _slowed_walk(module, monkeypatch, delay):
    """Make each folder of `module.walk` take `delay` s more; returns what it saw."""
    seen = {"started": [], "running": 0, "most": 0}
    lock = threading.Lock()
    traverse = _pyscan.traverse

    def slowed(expand, start, report, workers):
        def slow_expand(node):
            with lock:
                seen["started"].append(node[0])
                seen["running"] += 1
                seen["most"] = max(seen["most"], seen["running"])
            try:
                time.sleep(delay)
                return expand(node)
            finally:
                with lock:
                    seen["running"] -= 1

        return traverse(slow_expand, start, report, workers)

    monkeypatch.setattr(module, "traverse", slowed)  # both builds' walk call it by this name
    return seen


def _walk_threads():
    return [thread for thread in threading.enumerate()
            if thread.name.startswith("fastscan-walk")]


def test_walk_with_workers_stays_inline_while_listings_are_quick(impl, tmp_path, monkeypatch):
    _library(str(tmp_path))
    monkeypatch.setattr(_pyscan, "SLOW_LISTING", 3600.0)
    wait_for(lambda: not _walk_threads(), timeout=10)  # those of earlier walks
    walked = []
    for listing in impl.walk(str(tmp_path), 2, [], workers=8):
        assert not _walk_threads()
        walked.append(listing)
    assert walked == list(impl.walk(str(tmp_path), 2, []))  # depth-first, as with one


def test_walk_with_workers_lists_folders_at_once(impl, tmp_path, monkeypatch):
    for i in range(24):
        os.makedirs(tmp_path / f"d{i:02d}")
    seen = _slowed_walk(impl, monkeypatch, 0.01)
    assert len(list(impl.walk(str(tmp_path), workers=4))) == 25
    assert 1 < seen["most"] <= 4
    seen["most"] = 0
    assert len(list(impl.walk(str(tmp_path)))) == 25
    assert seen["most"] == 1


def test_walk_given_up_half_way_lists_nothing_more(impl, tmp_path, monkeypatch):
    for i in range(60):
        os.makedirs(tmp_path / f"d{i:02d}" / "sub")
    seen = _slowed_walk(impl, monkeypatch, 0.01)
    walker = impl.walk(str(tmp_path), workers=4)
    assert next(walker)[0] == ""
    walker.close()
    wait_for(lambda: not _walk_threads(), timeout=10)
    # The root, then at most the folders already handed to the pool (2 × workers): none of
    # those waiting was started, and nothing found by the ones running was queued.
    assert len(seen["started"]) <= 1 + 2 * 4
    with pytest.raises(StopIteration):
        next(walker)


# ----------------------------------------------------------------------------- the manifest index


def _digest(text: bytes) -> str:
    return hashlib.blake2b(text, digest_size=8).hexdigest()


def _records(entries) -> bytes:
    return b"".join(f"{path}\0{kind}\0{digest or ''}\0".encode() for path, kind, digest in entries)


def test_manifest_index_loads_checks_off_and_lists_orphans(impl):
    index = impl.ManifestIndex()
    digest = _digest(b"http://x/a.mkv")
    assert index.add_records(_records([("a.strm", "strm", digest), ("d/b.nfo", "meta", None),
                                       ("d/c.strm", "strm", "not-a-digest")])) == 3
    assert index.add_records(b"") == 0
    assert len(index) == 3
    assert index.get("a.strm") == ("strm", digest)
    assert index.get("d/b.nfo") == ("meta", None)
    assert index.get("d/c.strm") == ("strm", None)  # only 16 lower-case hex digits are kept
    assert index.get("nope") is None and index.get(7) is None and index.get("\ud800") is None
    assert "d/b.nfo" in index and "d" not in index and None not in index
    index.check_off(["a.strm", "not managed", 3])
    assert index.unseen() == ["d/b.nfo", "d/c.strm"]
    index.check_off(iter(["d/c.strm"]))
    assert index.unseen() == ["d/b.nfo"]


def test_manifest_index_replaces_a_path_given_again(impl):
    index = impl.ManifestIndex()
    index.add_records(_records([("x/é.strm", "strm", _digest(b"1"))]))
    index.add_records(_records([("x/é.strm", "meta", _digest(b"2"))]))
    assert len(index) == 1 and index.get("x/é.strm") == ("meta", None)  # no digest for meta


def test_manifest_index_remembers_listed_folders(impl):
    index = impl.ManifestIndex()
    for folder in ("", "a/b", "电影"):
        index.note_listed(folder)
    index.note_listed("bad\udcff")  # not UTF-8 text: no manifest path lies under it
    assert index.was_listed("") and index.was_listed("a/b") and index.was_listed("电影")
    assert not index.was_listed("a") and not index.was_listed("bad\udcff")


@pytest.mark.parametrize("blob", [b"a\0strm\0", b"a\0strm\0\0b", b"a\0file\0\0",
                                  b"\xff\0strm\0\0", b"a\xed\xa0\x80\0meta\0\0"])
def test_manifest_index_refuses_bad_records_alike(cy, blob):
    def added(module):
        index = module.ManifestIndex()
        return index.add_records(blob), index.unseen()

    assert outcome(added, cy) == outcome(added, _pyscan)
    assert outcome(added, cy)[0] == "raised"


def test_manifest_index_holds_many_paths(cy):
    index = cy.ManifestIndex()
    paths = [f"show {i % 97}/season {i % 7}/episode {i}.strm" for i in range(50_000)]
    index.add_records(_records((path, "strm", _digest(path.encode())) for path in paths))
    assert len(index) == 50_000
    assert all(index.get(path) == ("strm", _digest(path.encode())) for path in paths[::997])
    index.check_off(paths[1:])
    assert index.unseen() == [paths[0]]


# ----------------------------------------------------------------------------- one folder

MEDIA_META = (frozenset({"mkv", "mp4"}), frozenset({"nfo", "jpg"}))


def _rules(mode="url", base="http://nas/d/", read_strm=True, meta_rule=_pyscan.META_KEEP):
    return (*MEDIA_META, mode, base, read_strm, meta_rule)


def _entries(*names):
    return [(name, -1, -1) for name in names]


def test_scan_folder_skips_what_is_done_and_hands_back_the_rest(impl, tmp_path):
    target = tmp_path / "t"
    (target / "电影 1").mkdir(parents=True)
    same = b"http://nas/d/%E7%94%B5%E5%BD%B1%201/a%20%23.mkv"
    (target / "电影 1" / "a #.strm").write_bytes(same)
    (target / "电影 1" / "b.strm").write_bytes(b"old")
    (target / "电影 1" / "c.strm").write_bytes(b"http://nas/d/%E7%94%B5%E5%BD%B1%201/c.mp4")
    (target / "电影 1" / "a #.nfo").write_bytes(b"<nfo/>")
    (target / "电影 1" / "p.jpg").mkdir()
    index = impl.ManifestIndex()
    index.add_records(_records([("电影 1/a #.strm", "strm", _digest(same)),
                                ("电影 1/gone.strm", "strm", _digest(b"x"))]))
    files = _entries("a #.mkv", "a #.nfo", "b.mkv", "c.mp4", "d.mkv", "e.txt", "p.jpg")
    todo, odd, skipped, ignored = impl.scan_folder(str(target), "电影 1", files, _rules(), index)
    assert (odd, skipped, ignored) == ([], 2, 0)  # a #.strm (equal, managed), a #.nfo (there)
    assert [(entry[0], rel, kind, observed) for entry, rel, kind, _, observed in todo] == [
        ("b.mkv", "电影 1/b.strm", impl.KIND_STRM, impl.CMP_DIFFERENT),
        ("c.mp4", "电影 1/c.strm", impl.KIND_STRM, impl.CMP_EQUAL),  # equal, not managed
        ("d.mkv", "电影 1/d.strm", impl.KIND_STRM, impl.CMP_MISSING),
        ("p.jpg", "电影 1/p.jpg", impl.KIND_META, impl.STAT_BROKEN),
    ]
    assert todo[0][3] == b"http://nas/d/%E7%94%B5%E5%BD%B1%201/b.mkv"
    assert index.unseen() == ["电影 1/gone.strm"]


def test_scan_folder_sees_a_changed_digest_and_a_missing_folder(impl, tmp_path):
    (tmp_path / "a.strm").write_bytes(b"/mnt/a.mkv")
    index = impl.ManifestIndex()
    index.add_records(_records([("a.strm", "strm", _digest(b"/mnt/other.mkv"))]))
    todo, *_ = impl.scan_folder(str(tmp_path) + "/", "", _entries("a.mkv"),
                                _rules("mount", "/mnt/"), index)
    assert [(rel, observed) for _, rel, _, _, observed in todo] == [("a.strm", impl.CMP_EQUAL)]
    todo, odd, skipped, _ = impl.scan_folder(str(tmp_path), "no/such", _entries("x.mkv", "x.nfo"),
                                             _rules("path", "/src"), index)
    assert [(rel, text, observed) for _, rel, _, text, observed in todo] == [
        ("no/such/x.strm", b"/src/no/such/x.mkv", impl.CMP_MISSING),
        ("no/such/x.nfo", b"", None)]


def test_scan_folder_incremental_and_meta_rules(impl, tmp_path):
    (tmp_path / "a.strm").write_bytes(b"anything")
    (tmp_path / "a.nfo").write_bytes(b"x")
    index = impl.ManifestIndex()
    index.add_records(_records([("a.nfo", "meta", None)]))
    files = _entries("a.mkv", "b.mkv", "a.nfo")
    todo, _, skipped, _ = impl.scan_folder(str(tmp_path), "", files, _rules(read_strm=False),
                                           index)
    assert skipped == 2 and [t[1:3] + t[4:] for t in todo] == [("b.strm", 1, impl.CMP_MISSING)]
    todo, _, skipped, ignored = impl.scan_folder(
        str(tmp_path), "", files, _rules(read_strm=False, meta_rule=impl.META_IGNORE), index)
    assert (skipped, ignored) == (1, 1)
    todo, _, skipped, _ = impl.scan_folder(
        str(tmp_path), "", files, _rules(read_strm=False, meta_rule=impl.META_COMPARE), index)
    size, mtime = todo[-1][4]
    assert todo[-1][1] == "a.nfo" and size == 1 and mtime == os.stat(tmp_path / "a.nfo").st_mtime_ns


def test_scan_folder_leaves_odd_entries_to_the_general_path(impl, tmp_path):
    files = [("a/b.mkv", 1, 1), ("x\udcff.mkv", 1, 1), ("..", 1, 1), ("s.mkv", 1, 1, "sign"),
             ["l.mkv", 1, 1], ("ok.mkv", 1, 1)]
    todo, odd, _, _ = impl.scan_folder(str(tmp_path), "", files, _rules(), impl.ManifestIndex())
    assert odd == files[:5] and [t[1] for t in todo] == ["ok.strm"]
    todo, odd, _, _ = impl.scan_folder(str(tmp_path), "a//b", files[-1:], _rules(),
                                       impl.ManifestIndex())
    assert (todo, odd) == ([], files[-1:])
    with pytest.raises(ValueError, match="strm mode"):
        impl.scan_folder(str(tmp_path), "", files, _rules("URL"), impl.ManifestIndex())


def test_scan_folder_digests_texts_of_any_length(cy, tmp_path):
    # blake2b works in 128-byte blocks: texts on both sides of one and two blocks, and more.
    (tmp_path / "n.strm").touch()
    for length in (8, 9, 100, 127, 128, 129, 255, 256, 257, 1000, 5000):
        base = "/" + "b" * (length - 7)
        text = f"{base}/n.mkv".encode()
        assert len(text) == length
        (tmp_path / "n.strm").write_bytes(text)
        index = cy.ManifestIndex()
        index.add_records(_records([("n.strm", "strm", _digest(text))]))
        _, _, skipped, _ = cy.scan_folder(str(tmp_path), "", _entries("n.mkv"),
                                          _rules("path", base), index)
        assert skipped == 1, length


folder_files = st.lists(
    st.tuples(
        st.text(st.sampled_from(list("ab é#%?+ 电")), min_size=1, max_size=5),
        st.sampled_from([".mkv", ".MP4", ".nfo", ".jpg", ".txt", ""]),
        st.sampled_from(["equal", "different", "missing", "dir", "managed", "stale"]),
    ),
    max_size=8,
)


@with_files
@given(folder_files, st.sampled_from(["", "s 1", "电/a"]),
       st.sampled_from(["url", "path", "mount"]), st.booleans(),
       st.sampled_from([_pyscan.META_IGNORE, _pyscan.META_KEEP, _pyscan.META_COMPARE]))
def test_scan_folder_agrees(cy, files, dir_rel, mode, read_strm, meta_rule):
    rules = _rules(mode, "http://h/d/" if mode == "url" else "/m", read_strm, meta_rule)
    results = []
    for module in (_pyscan, cy):
        with tempfile.TemporaryDirectory() as base:
            folder = f"{base}/{dir_rel}" if dir_rel else base
            os.makedirs(folder, exist_ok=True)
            records, entries = [], []
            for stem, ext, state in files:
                name = stem + ext
                kind = _pyscan.classify(name, *MEDIA_META)
                target = _pyscan.target_name(name, kind)
                rel = f"{dir_rel}/{target}" if dir_rel else target
                text = _pyscan.build_strm(mode, rules[3], f"{dir_rel}/{name}").encode()
                path = f"{folder}/{target}"
                if state == "dir" and not os.path.exists(path):
                    os.mkdir(path)
                elif state != "missing" and not os.path.isdir(path):
                    with open(path, "wb") as fh:
                        fh.write(text if state != "different" else b"other")
                if state in ("managed", "stale") and kind != _pyscan.KIND_NONE:
                    records.append((rel, "strm" if kind == _pyscan.KIND_STRM else "meta",
                                    _digest(text if state == "managed" else b"old")))
                entries.append((name, -1, -1))
            index = module.ManifestIndex()
            index.add_records(_records(records))
            found = module.scan_folder(base, dir_rel, entries, rules, index)
            todo = [(entry, rel, kind, text, observed if kind == _pyscan.KIND_STRM
                     or type(observed) is not tuple else observed[0])
                    for entry, rel, kind, text, observed in found[0]]
            results.append((todo, *found[1:], index.unseen()))
    assert results[0] == results[1]


def test_scan_folder_follows_symlinked_metadata_like_stat(impl, tmp_path):
    (tmp_path / "real.nfo").write_bytes(b"x")
    (tmp_path / "a.nfo").symlink_to("real.nfo")
    (tmp_path / "b.nfo").symlink_to("nowhere.nfo")
    (tmp_path / "c.strm").symlink_to("nowhere.strm")
    files = _entries("a.nfo", "b.nfo", "c.mkv")
    todo, _, skipped, _ = impl.scan_folder(str(tmp_path), "", files, _rules(), impl.ManifestIndex())
    assert skipped == 1 and [(t[1], t[4]) for t in todo] == [("b.nfo", None),
                                                             ("c.strm", impl.CMP_MISSING)]
    todo, _, skipped, _ = impl.scan_folder(str(tmp_path), "", files, _rules(read_strm=False),
                                           impl.ManifestIndex())
    assert skipped == 2 and [t[1] for t in todo] == ["b.nfo"]  # lexists: the link is there
