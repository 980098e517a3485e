"""The SMB client against a real Samba server: what lands on the share's disk, and how it fails."""

from __future__ import annotations

import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from strmsync.errors import ChangedUnderneath, NetworkError, NotFoundError, PermissionRefused
from strmsync.mirror.smbremote import TEMP_PREFIX, RemoteFile, SmbRemote, SmbTarget
from strmsync.mirror.smbwire import LIST_BUFFER
from tests.standins.tcpcount import CountingProxy

MTIME = 1_600_000_000_123_456_789  # SMB keeps 100 ns ticks: ...789 comes back as ...700


class Stop(Exception):
    """What a stop button raises from a checkpoint."""


def smb_ns(ns: int) -> int:
    return ns // 100 * 100


def write(path: Path, data: bytes, mtime_ns: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def scan_all(remote: SmbRemote, skip=None) -> tuple[dict[str, RemoteFile], list]:
    errors: list = []
    found = {f.path: f for f in remote.scan(lambda rel, exc: errors.append((rel, exc)), skip)}
    return found, errors


def leftovers(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob(f"{TEMP_PREFIX}*")]


@pytest.fixture
def remote(smb_share):
    with SmbRemote(smb_share.target()) as made:
        yield made


def test_target_names_the_folder_without_secrets():
    target = SmbTarget("nas", "media", "a/b", 4450, "alice", "S3cret-pw")
    assert target.unc("Movies/x.nfo") == r"\\nas\media\a\b\Movies\x.nfo"
    assert target.label() == "smb://nas:4450/media/a/b"
    assert "S3cret-pw" not in repr(target)
    assert "S3cret-pw" not in repr(SmbRemote(target))


def test_scan_reports_every_file_with_size_and_mtime(smb_share, remote):
    d = smb_share.dir
    write(d / "Movies/A (2020)/a.nfo", b"nfo", 1_500_000_000_000_000_000)
    write(d / "Movies/A (2020)/poster.jpg", b"x" * 5000)
    write(d / "Shows/S/Season 1/e1.strm", b"http://e1")
    write(d / "top.txt", b"")
    (d / "Empty/Deeper").mkdir(parents=True)

    found, errors = scan_all(remote)

    assert errors == []
    assert set(found) == {"Movies/A (2020)/a.nfo", "Movies/A (2020)/poster.jpg",
                          "Shows/S/Season 1/e1.strm", "top.txt"}
    for rel, entry in found.items():
        on_disk = os.stat(d / rel)
        assert entry.size == on_disk.st_size
        assert entry.mtime_ns == smb_ns(on_disk.st_mtime_ns)
    assert found["Movies/A (2020)/a.nfo"].mtime_ns == 1_500_000_000_000_000_000


def test_a_folder_bigger_than_one_listing_answer_is_listed_completely(smb_share, remote):
    names = {f"Season 01/Some Long Show Name - S01E{i:04d} - An Episode Title.nfo": i
             for i in range(1200)}
    for rel, size in names.items():
        write(smb_share.dir / rel, b"x" * size)
    write(smb_share.dir / "small/one.nfo", b"1")
    assert len(names) * 2 * 60 > 2 * LIST_BUFFER  # needs several answers

    found, errors = scan_all(remote)

    assert errors == []
    assert {rel: f.size for rel, f in found.items()} == {**names, "small/one.nfo": 1}


def test_threads_listing_and_uploading_at_once_share_one_connection(smb_share, tmp_path):
    files = {f"Dir{i % 5}/f{i}.nfo": os.urandom(1000 + i) for i in range(40)}
    for rel, data in files.items():
        write(tmp_path / rel, data)
    for i in range(30):
        write(smb_share.dir / f"old{i}/a/b.nfo", b"b")
    server = smb_share.server

    with CountingProxy(server.host, server.port) as proxy, \
            SmbRemote(smb_share.target(port=proxy.port)) as remote, ThreadPoolExecutor(8) as pool:
        listed = pool.submit(scan_all, remote)
        sent = list(pool.map(lambda rel: remote.upload(str(tmp_path / rel), rel, MTIME), files))
        found, errors = listed.result()
        assert proxy.accepted == 1
        assert len(scan_all(remote)[0]) == 30 + len(files)

    assert errors == [] and len(found) >= 30
    assert sent == [len(data) for data in files.values()]
    for rel, data in files.items():
        assert (smb_share.dir / rel).read_bytes() == data


def test_scan_skips_what_skip_says_and_hides_temp_files(smb_share, remote):
    d = smb_share.dir
    write(d / "keep/a.nfo", b"a")
    write(d / "keep/b.tmp", b"b")
    write(d / ".strmsync-trash/2024-01-01/old.nfo", b"old")
    write(d / f"keep/{TEMP_PREFIX}1234-a.nfo", b"half")
    asked: list[str] = []

    def skip(rel: str) -> bool:
        asked.append(rel)
        return rel.startswith(".strmsync-trash") or rel.endswith(".tmp")

    found, errors = scan_all(remote, skip)

    assert (set(found), errors) == ({"keep/a.nfo"}, [])
    assert ".strmsync-trash" in asked and "keep/b.tmp" in asked
    assert not any(rel.startswith(".strmsync-trash/") for rel in asked)  # not descended into


def test_a_folder_that_fails_to_list_is_reported_and_the_walk_goes_on(smb_share, remote):
    # As root Samba ignores file modes, so the failing folder is one that vanishes between
    # being listed in its parent and being listed itself.
    d = smb_share.dir
    write(d / "a/one.nfo", b"1")
    write(d / "gone/two.nfo", b"2")
    write(d / "z/three.nfo", b"3")

    def skip(rel: str) -> bool:
        if rel == "gone":
            (d / "gone/two.nfo").unlink()
            (d / "gone").rmdir()
        return False

    found, errors = scan_all(remote, skip)

    assert set(found) == {"a/one.nfo", "z/three.nfo"}
    assert [(rel, type(exc)) for rel, exc in errors] == [("gone", ChangedUnderneath)]
    assert "/gone" in str(errors[0][1])


def test_a_missing_root_goes_through_on_error(smb_share):
    with SmbRemote(smb_share.target(path=f"{smb_share.path}/nope")) as remote:
        found, errors = scan_all(remote)
        with pytest.raises(NotFoundError):
            remote.check()
        remote.ensure_root()
        remote.check()
    assert found == {}
    assert [(rel, type(exc)) for rel, exc in errors] == [("", ChangedUnderneath)]
    assert (smb_share.dir / "nope").is_dir()


def test_upload_writes_bytes_and_mtime_through_a_temp_name(smb_share, remote, tmp_path):
    data = os.urandom(2_500_000)  # three chunks
    local = write(tmp_path / "a.bin", data)
    seen: list[int] = []

    sent = remote.upload(str(local), "Movies/A (2020)/a.bin", MTIME, on_bytes=seen.append)

    on_disk = smb_share.dir / "Movies/A (2020)/a.bin"
    assert sent == len(data) == sum(seen) and len(seen) == 3
    assert on_disk.read_bytes() == data
    assert on_disk.stat().st_mtime_ns == smb_ns(MTIME)
    assert leftovers(smb_share.dir) == []
    assert remote.stat("Movies/A (2020)/a.bin") == RemoteFile(
        "Movies/A (2020)/a.bin", len(data), smb_ns(MTIME))


def test_upload_replaces_an_existing_file(smb_share, remote, tmp_path):
    write(smb_share.dir / "a.nfo", b"old and longer")
    assert remote.upload(str(write(tmp_path / "a.nfo", b"new")), "a.nfo", MTIME) == 3
    assert (smb_share.dir / "a.nfo").read_bytes() == b"new"
    assert (smb_share.dir / "a.nfo").stat().st_mtime_ns == smb_ns(MTIME)
    seen: list[int] = []
    assert remote.upload(str(write(tmp_path / "e.nfo", b"")), "e.nfo", MTIME, seen.append) == 0
    assert (smb_share.dir / "e.nfo").read_bytes() == b"" and seen == []
    assert leftovers(smb_share.dir) == []


def test_a_stopped_upload_leaves_neither_temp_nor_final_file(smb_share, remote, tmp_path):
    write(smb_share.dir / "kept.bin", b"previous")
    local = write(tmp_path / "big.bin", os.urandom(3_000_000))
    calls = []

    def checkpoint():
        calls.append(1)
        if len(calls) == 2:
            raise Stop("stop pressed")

    with pytest.raises(Stop, match="stop pressed"):
        remote.upload(str(local), "new.bin", MTIME, checkpoint=checkpoint)
    calls.clear()
    with pytest.raises(Stop):
        remote.upload(str(local), "kept.bin", MTIME, checkpoint=checkpoint)

    assert not (smb_share.dir / "new.bin").exists()
    assert (smb_share.dir / "kept.bin").read_bytes() == b"previous"
    assert leftovers(smb_share.dir) == []


def test_download_writes_bytes_and_mtime_through_a_temp_name(smb_share, remote, tmp_path):
    data = os.urandom(1_500_000)
    write(smb_share.dir / "Shows/e1.mkv", data, MTIME)
    seen: list[int] = []

    got = remote.download("Shows/e1.mkv", str(tmp_path / "out/Shows/e1.mkv"), on_bytes=seen.append)

    local = tmp_path / "out/Shows/e1.mkv"
    assert local.read_bytes() == data and sum(seen) == len(data)
    assert local.stat().st_mtime_ns == smb_ns(MTIME) == got.mtime_ns
    assert got == RemoteFile("Shows/e1.mkv", len(data), smb_ns(MTIME))
    assert leftovers(tmp_path) == []


def test_a_stopped_download_keeps_the_local_file_as_it_was(smb_share, remote, tmp_path):
    write(smb_share.dir / "e1.mkv", os.urandom(2_500_000))
    local = write(tmp_path / "e1.mkv", b"mine")
    calls = []

    def checkpoint():
        calls.append(1)
        if len(calls) == 2:
            raise Stop()

    with pytest.raises(Stop):
        remote.download("e1.mkv", str(local), checkpoint=checkpoint)
    with pytest.raises(ChangedUnderneath):
        remote.download("missing.mkv", str(tmp_path / "missing.mkv"))

    assert local.read_bytes() == b"mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e1.mkv"]


def test_eight_threads_upload_at_once(smb_share, remote, tmp_path):
    files = {f"Dir{i % 5}/f{i}.nfo": os.urandom(1000 + i) for i in range(40)}
    for rel, data in files.items():
        write(tmp_path / rel, data)

    with ThreadPoolExecutor(8) as pool:
        sent = list(pool.map(
            lambda rel: remote.upload(str(tmp_path / rel), rel, MTIME), files))

    assert sent == [len(data) for data in files.values()]
    for rel, data in files.items():
        assert (smb_share.dir / rel).read_bytes() == data
    assert leftovers(smb_share.dir) == []


def test_rename_remove_stat_and_marker_text(smb_share, remote):
    d = smb_share.dir
    write(d / "a.nfo", b"a", MTIME)
    write(d / "b.nfo", b"b")

    remote.rename("a.nfo", "Trash/2024/a.nfo")
    with pytest.raises(ChangedUnderneath):
        remote.rename("b.nfo", "Trash/2024/a.nfo")  # never over an existing file
    remote.remove("b.nfo")
    remote.write_text(".strmsync-mirror", "job 7\n")

    assert (d / "Trash/2024/a.nfo").read_bytes() == b"a"
    assert not (d / "a.nfo").exists() and not (d / "b.nfo").exists()
    assert remote.stat("Trash/2024/a.nfo") == RemoteFile("Trash/2024/a.nfo", 1, smb_ns(MTIME))
    assert remote.stat("b.nfo") is None
    assert (d / ".strmsync-mirror").read_text() == "job 7\n"
    assert remote.read_text(".strmsync-mirror") == "job 7\n"
    assert remote.read_text("missing") is None
    assert remote.free_bytes() > 0


def test_remove_empty_dirs_only_removes_empty_ones(smb_share, remote):
    d = smb_share.dir
    (d / "a/b/c").mkdir(parents=True)
    write(d / "x/keep.nfo", b"k")
    remote.remove_empty_dirs(["a", "a/b", "a/b/c", "x"])
    assert sorted(p.name for p in d.iterdir()) == ["x"]


def test_a_wrong_password_is_a_permission_error_without_the_password(smb_share):
    with SmbRemote(smb_share.target(password="Wr0ng-pw-S3cret")) as remote:
        with pytest.raises(PermissionRefused, match="logon failed") as raised:
            remote.check()
        found, errors = scan_all(remote)
    assert "Wr0ng-pw-S3cret" not in str(raised.value)
    assert found == {} and [type(exc) for _, exc in errors] == [PermissionRefused]


def test_nothing_listening_is_a_network_error(smb_share):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with SmbRemote(smb_share.target(port=port, timeout=3)) as remote:
        with pytest.raises(NetworkError, match="cannot reach"):
            remote.check()
        with pytest.raises(NetworkError):
            remote.upload(__file__, "x.py", MTIME)


def test_a_reply_that_never_comes_is_a_network_error_after_the_timeout(smb_share):
    write(smb_share.dir / "a.nfo", b"a")
    server = smb_share.server
    with CountingProxy(server.host, server.port) as proxy, \
            SmbRemote(smb_share.target(port=proxy.port, timeout=2)) as remote:
        assert remote.stat("a.nfo").size == 1
        proxy.losing_replies.set()
        started = time.monotonic()
        with pytest.raises(NetworkError):
            remote.stat("a.nfo")
        found, errors = scan_all(remote)
        assert time.monotonic() - started < 15
        assert found == {} and [type(exc) for _, exc in errors] == [NetworkError]

        proxy.losing_replies.clear()  # the next call connects again
        assert remote.stat("a.nfo").size == 1
        assert proxy.accepted == 3


def test_threads_waiting_on_a_connect_that_fails_fail_with_it(smb_share):
    server = smb_share.server
    with CountingProxy(server.host, server.port) as proxy, \
            SmbRemote(smb_share.target(port=proxy.port, timeout=2)) as remote, \
            ThreadPoolExecutor(8) as pool:
        proxy.losing_replies.set()
        started = time.monotonic()
        outcomes = list(pool.map(lambda i: _error_of(remote.stat, f"f{i}.nfo"), range(8)))
        took = time.monotonic() - started

    assert [type(exc) for exc in outcomes] == [NetworkError] * 8
    # Threads that waited on a failing connect fail with it; one per thread in turn would
    # take 8 connects (~8 s here).
    assert proxy.accepted <= 3 and took < 6


def _error_of(fn, *args) -> Exception | None:
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001 - the test looks at which one
        return exc
    return None


def test_a_server_killed_mid_scan_is_a_network_error(smb_share, remote):
    for i in range(30):
        write(smb_share.dir / f"d{i}/e/f.nfo", b"x")
    errors: list = []
    found = []
    for entry in remote.scan(lambda rel, exc: errors.append((rel, exc))):
        if not found:
            smb_share.server.kill()
        found.append(entry)

    assert len(found) < 30
    assert errors and all(isinstance(exc, NetworkError) for _, exc in errors)

    smb_share.server.start()  # the same remote reconnects once the server is back
    assert len(scan_all(remote)[0]) == 30


def test_a_server_killed_mid_upload_is_a_network_error(smb_share, remote, tmp_path):
    local = write(tmp_path / "big.bin", os.urandom(3_000_000))
    calls = []

    def checkpoint():
        calls.append(1)
        if len(calls) == 2:
            smb_share.server.kill()

    with pytest.raises(NetworkError):
        remote.upload(str(local), "big.bin", MTIME, checkpoint=checkpoint)
    assert not (smb_share.dir / "big.bin").exists()
    # The fixture starts the server again for the next test.
