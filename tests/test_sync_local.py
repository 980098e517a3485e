"""End-to-end syncs of a local source through the `strmsync sync` command."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote

from tests.conftest import make_files, tree

AWKWARD = "Films/A ? # % & + ; = 中文 🎬 x/Movie ? # % & + ; 中文 🎬.mkv"


def sync_json(cli, source, target, *flags):
    result = cli("sync", source, target, "--json", *flags)
    return result, (result.summary if result.out else None)


def test_first_sync_writes_strm_and_copies_metadata(cli, source, target):
    make_files(source, {"Films/Heat (1995)/Heat.mkv": "v", "Films/Heat (1995)/Heat.nfo": "<nfo/>",
                        "Films/Heat (1995)/poster.JPG": b"\x89img", "Films/notes.txt": "x"})
    result, summary = sync_json(cli, source, target)
    assert result.code == 0, result.err
    assert summary["status"] == "succeeded"
    assert (summary["created"], summary["meta_copied"], summary["failed"]) == (1, 2, 0)
    files = tree(target)
    assert files == {
        "Films/Heat (1995)/Heat.strm": str(source / "Films/Heat (1995)/Heat.mkv").encode(),
        "Films/Heat (1995)/Heat.nfo": b"<nfo/>",
        "Films/Heat (1995)/poster.JPG": b"\x89img",
    }
    src_mtime = (source / "Films/Heat (1995)/Heat.nfo").stat().st_mtime_ns
    assert (target / "Films/Heat (1995)/Heat.nfo").stat().st_mtime_ns == src_mtime


def test_equal_content_is_skipped_without_touching_the_file(cli, source, target):
    make_files(source, {"a/one.mkv": "1", "a/two.mp4": "2"})
    sync_json(cli, source, target)
    strm = target / "a/one.strm"
    os.utime(strm, ns=(1_000_000_000, 1_000_000_000))
    inode = strm.stat().st_ino
    result, summary = sync_json(cli, source, target)
    assert summary["skipped"] == 2 and summary["created"] == summary["updated"] == 0
    assert strm.stat().st_mtime_ns == 1_000_000_000
    assert strm.stat().st_ino == inode


def test_changed_content_is_rewritten(cli, source, target):
    make_files(source, {"a/one.mkv": "1"})
    sync_json(cli, source, target, "--strm", "mount", "--mount-prefix", "/mnt/old")
    result, summary = sync_json(cli, source, target, "--strm", "mount", "--mount-prefix",
                                "/mnt/new/")
    assert summary["updated"] == 1
    assert (target / "a/one.strm").read_text() == "/mnt/new/a/one.mkv"


def test_incremental_skips_existing_targets_unread(cli, source, target):
    make_files(source, {"a/one.mkv": "1"})
    sync_json(cli, source, target)
    (target / "a/one.strm").write_text("edited by hand")
    make_files(source, {"a/two.mkv": "2"})
    result, summary = sync_json(cli, source, target, "--mode", "incremental")
    assert (summary["created"], summary["skipped"]) == (1, 1)
    assert (target / "a/one.strm").read_text() == "edited by hand"
    assert (target / "a/two.strm").exists()


def test_trailing_slash_on_url_base_changes_nothing(cli, source, target):
    make_files(source, {"a/one.mkv": "1"})
    sync_json(cli, source, target, "--strm", "url", "--url-base", "http://nas:5244/d/lib")
    result, summary = sync_json(cli, source, target, "--strm", "url", "--url-base",
                                "http://nas:5244/d/lib/")
    assert summary["skipped"] == 1 and summary["updated"] == 0


def test_awkward_names_end_to_end(cli, source, target):
    make_files(source, {AWKWARD: "v", AWKWARD.replace(".mkv", ".zh.srt"): "sub"})
    result, summary = sync_json(cli, source, target, "--strm", "url", "--url-base",
                                "http://nas:5244/d/lib")
    assert summary["status"] == "succeeded", result.out
    strm = target / AWKWARD.replace(".mkv", ".strm")
    url = strm.read_text()
    base = "http://nas:5244/d/lib/"
    assert url.startswith(base)
    assert "?" not in url and "#" not in url and " " not in url
    assert [unquote(seg) for seg in url[len(base):].split("/")] == AWKWARD.split("/")
    assert (target / AWKWARD.replace(".mkv", ".zh.srt")).read_text() == "sub"
    again, summary = sync_json(cli, source, target, "--strm", "url", "--url-base",
                               "http://nas:5244/d/lib")
    assert summary["skipped"] == 2 and summary["created"] == 0


def test_dry_run_writes_nothing(cli, source, target, data_dir):
    make_files(source, {"a/one.mkv": "1", "a/one.nfo": "n"})
    result = cli("sync", source, target, "--dry-run")
    assert result.code == 0
    assert "dry run" in result.out and "a/one.strm" in result.out
    assert not target.exists()
    sync_json(cli, source, target)
    (source / "a/one.mkv").unlink()
    before = tree(target)
    result, summary = sync_json(cli, source, target, "--dry-run", "--max-delete", "100%")
    assert summary["deleted"] == 1 and summary["dry_run"] is True
    assert tree(target) == before


def test_cleanup_deletes_only_managed_files(cli, source, target):
    make_files(source, {f"show/e{i:02}.mkv": str(i) for i in range(20)})
    make_files(source, {"show/e00.nfo": "n"})
    sync_json(cli, source, target)
    make_files(target, {"show/e00-fanart.jpg": "user art", "show/e00.plugin.xml": "sidecar",
                        "show/e01.nfo": "user nfo"})
    (source / "show/e00.mkv").unlink()
    (source / "show/e00.nfo").unlink()
    result, summary = sync_json(cli, source, target, "--max-delete", "20%")
    assert summary["deleted"] == 2, result.out
    files = tree(target)
    assert "show/e00.strm" not in files and "show/e00.nfo" not in files
    assert files["show/e00-fanart.jpg"] == b"user art"
    assert files["show/e00.plugin.xml"] == b"sidecar"
    assert files["show/e01.nfo"] == b"user nfo"


def test_cleanup_keeps_a_managed_file_the_user_changed(cli, source, target):
    make_files(source, {f"m/{i}.mkv": "v" for i in range(10)})
    sync_json(cli, source, target)
    (target / "m/0.strm").write_text("my own link")
    (source / "m/0.mkv").unlink()
    result, summary = sync_json(cli, source, target, "--max-delete", "50%")
    assert summary["deleted"] == 0
    assert (target / "m/0.strm").read_text() == "my own link"


def test_max_delete_guard_stops_a_mass_delete(cli, source, target, store):
    make_files(source, {f"lib/{i:03}.mkv": "v" for i in range(50)})
    sync_json(cli, source, target)
    for i in range(10):
        (source / f"lib/{i:03}.mkv").unlink()
    result, summary = sync_json(cli, source, target)
    assert result.code != 0
    assert summary["status"] == "partial" and summary["deleted"] == 0
    assert "max-delete" in summary["error"]
    assert len([p for p in tree(target) if p.endswith(".strm")]) == 50
    run = store.run(summary["run_id"])
    assert run["status"] == "partial" and "max-delete" in run["error"]


def test_emptied_source_folder_is_deleted_once_confirmed(cli, source, target):
    make_files(source, {f"lib/{i:02}/{i}.mkv": "v" for i in range(20)})
    sync_json(cli, source, target)
    (source / "lib/05/5.mkv").unlink()
    result, summary = sync_json(cli, source, target)
    assert summary["status"] == "succeeded" and summary["deleted"] == 1
    assert not (target / "lib/05").exists()


def test_depth_limit_warns_and_keeps_deeper_files(cli, source, target, store):
    deep = "/".join(f"d{i}" for i in range(27))
    make_files(source, {f"{deep}/deep.mkv": "v", "top.mkv": "t"})
    result, summary = sync_json(cli, source, target)
    assert summary["created"] == 1 and summary["status"] == "succeeded"
    assert not (target / deep / "deep.strm").exists()
    log = " ".join(line["message"] for line in store.run_log(summary["run_id"]))
    assert "deeper than 25 levels" in log


def test_unusable_arguments_fail_clearly_and_write_nothing(cli, tmp_path, target):
    result = cli("sync", tmp_path / "missing", target)
    assert result.code == 2 and "source: not a directory" in result.err
    src = tmp_path / "src"
    src.mkdir()
    result = cli("sync", src, target, "--strm", "mount")
    assert result.code == 2 and "mount_prefix: required" in result.err
    result = cli("sync", src, src / "strm")
    assert result.code == 2 and "target: must not be inside the source" in result.err
    result = cli("sync", src, target, "--max-delete", "lots")
    assert result.code == 2 and "max_delete:" in result.err
    result = cli("sync", src, target, "--list-concurrency", "0")
    assert result.code == 2 and "list_concurrency: must be between 1 and 64" in result.err
    assert not target.exists() and not (src / "strm").exists()


def test_summary_is_printed_for_humans(cli, source, target):
    make_files(source, {"a.mkv": "1"})
    result = cli("sync", source, target)
    assert result.code == 0
    assert "succeeded" in result.out and "created 1" in result.out


def test_run_and_log_are_recorded(cli, source, target, store):
    make_files(source, {"a.mkv": "1"})
    result, summary = sync_json(cli, source, target)
    run = store.run(summary["run_id"])
    assert run["status"] == "succeeded" and run["created"] == 1 and run["mode"] == "full"
    assert run["finished_at"] >= run["started_at"]
    assert store.run_changes(summary["run_id"]) == [
        {"action": "create", "kind": "strm", "path": "a.strm"}]
    assert any("run succeeded" in line["message"] for line in store.run_log(summary["run_id"]))


CRASH_SCRIPT = """
import os, sys
from strmsync.cli import main
real_replace = os.replace
def crash(src, dst, *a, **k):
    if dst.endswith("victim.strm"):
        os._exit(9)  # the process dies between the temp write and the rename
    return real_replace(src, dst, *a, **k)
os.replace = crash
sys.exit(main(sys.argv[1:]))
"""


def test_a_crash_mid_write_keeps_the_old_file_and_the_next_run_cleans_up(
        tmp_path, source, target, data_dir, store):
    make_files(source, {"a/victim.mkv": "v"})
    args = ["sync", str(source), str(target), "--data", str(data_dir), "--strm", "mount"]
    # The pure twin calls os.replace from Python, so the crash can be placed exactly.
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent),
           "STRMSYNC_NO_EXTENSIONS": "1"}
    env.pop("STRMSYNC_REQUIRE_EXTENSIONS", None)  # it would override the switch to the twin
    subprocess.run([sys.executable, "-m", "strmsync", *args, "--mount-prefix", "/old"],
                   check=True, env=env, capture_output=True)
    killed = subprocess.run([sys.executable, "-c", CRASH_SCRIPT, *args, "--mount-prefix", "/new"],
                            env=env, capture_output=True)
    assert killed.returncode == 9
    assert (target / "a/victim.strm").read_text() == "/old/a/victim.mkv"
    assert (target / "a/.victim.strm.strmsync-tmp").exists()
    done = subprocess.run([sys.executable, "-m", "strmsync", *args, "--mount-prefix", "/new"],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert tree(target) == {"a/victim.strm": b"/new/a/victim.mkv"}
    statuses = [run["status"] for run in store.runs_of_job(1)]
    assert statuses == ["succeeded", "failed", "succeeded"]


def test_a_killed_run_leaves_only_whole_files(tmp_path, source, target, data_dir):
    make_files(source, {f"s{i // 50}/e{i}.mkv": "v" for i in range(3000)})
    args = ["sync", str(source), str(target), "--data", str(data_dir), "--strm", "mount",
            "--meta", "none"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    subprocess.run([sys.executable, "-m", "strmsync", *args, "--mount-prefix", "/old"],
                   check=True, env=env, capture_output=True)
    proc = subprocess.Popen([sys.executable, "-m", "strmsync", *args, "--mount-prefix", "/new"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.read_text().startswith("/new") for p in target.glob("s0/*.strm")):
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for rel, content in tree(target).items():
        if rel.endswith(".strm"):
            name = rel[: -len(".strm")] + ".mkv"
            assert content in (f"/old/{name}".encode(), f"/new/{name}".encode()), rel
    done = subprocess.run([sys.executable, "-m", "strmsync", *args, "--mount-prefix", "/new"],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    files = tree(target)
    assert len(files) == 3000
    assert all(content.startswith(b"/new/") for content in files.values())
