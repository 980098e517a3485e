"""Mirror runs end to end against a real Samba server: the first run, the decision table in
each mode, conflict policies, a killed run resumed, a server killed mid-run, pause and stop,
and dry runs (DESIGN.md §8). Outcomes are read back from both folders on disk."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from strmsync.mirror.engine import Controls
from strmsync.mirror.localside import MARKER
from strmsync.mirror.progress import MirrorProgress
from strmsync.mirror.smbremote import TEMP_PREFIX
from tests.mirrorkit import (
    T0,
    Mirror,
    cli_command,
    cli_env,
    conflict_copies,
    disk,
    files,
    final_names,
    run_cli,
    today_trash,
    write,
)

S = 1_000_000_000


# --- the first run ----------------------------------------------------------------------------


def test_first_run_is_the_union_keeps_both_of_a_difference_and_deletes_nothing(
        local, smb_share, tmp_path):
    remote = smb_share.dir
    write(local / "Movies/A (2020)/a.nfo", "local only a")
    write(local / "b.strm", "http://b")
    write(local / "same.nfo", "same on both", T0)
    write(local / "both.nfo", "the local copy", T0)
    write(remote / "Shows/c.nfo", "remote only c")
    write(remote / "same.nfo", "same on both", T0)
    write(remote / "both.nfo", "the share's copy, longer", T0 + 5 * S)
    data = tmp_path / "data"

    first = run_cli(local, smb_share, data, "--json")

    assert (first.code, first.summary["status"]) == (0, "succeeded"), first.err
    s = first.summary
    assert (s["uploaded"], s["downloaded"], s["conflicts"]) == (3, 1, 1)  # a, b, both.nfo; c
    assert s["unchanged"] == 1  # same.nfo
    assert s["deleted_local"] == s["deleted_remote"] == s["failed"] == 0
    local_files, remote_files = files(local), files(remote)
    assert local_files == remote_files
    kept = conflict_copies(local_files, "both", "remote", ".nfo")
    assert list(kept.values()) == [b"the share's copy, longer"]
    assert local_files == {"Movies/A (2020)/a.nfo": b"local only a", "b.strm": b"http://b",
                           "same.nfo": b"same on both", "both.nfo": b"the local copy",
                           "Shows/c.nfo": b"remote only c", **kept}
    assert (local / MARKER).is_file() and (remote / MARKER).is_file()
    assert not (local / ".strmsync-trash").exists() and not (remote / ".strmsync-trash").exists()

    again = run_cli(local, smb_share, data, "--json")

    assert (again.code, again.summary["status"]) == (0, "succeeded"), again.err
    assert again.summary["run_id"] != s["run_id"]
    assert [again.summary[k] for k in ("uploaded", "downloaded", "conflicts", "deleted_local",
                                       "deleted_remote")] == [0, 0, 0, 0, 0]
    assert again.summary["unchanged"] == 6
    assert files(local) == files(remote) == local_files


def test_first_run_with_one_side_smaller_deletes_nothing(mirror, local, smb_share):
    remote = smb_share.dir
    for i in range(6):
        write(remote / f"d/f{i}.nfo", f"remote {i}", T0)
    write(local / "d/f0.nfo", "remote 0", T0)

    outcome = mirror.run()

    assert outcome.status == "succeeded", outcome.log
    assert (outcome.counts["downloaded"], outcome.counts["deleted_remote"]) == (5, 0)
    assert files(local) == files(remote) == {f"d/f{i}.nfo": f"remote {i}".encode()
                                             for i in range(6)}


# --- the decision table, second runs ----------------------------------------------------------

SCENARIOS = ("new_local", "new_remote", "chg_local", "chg_remote", "del_local", "del_remote",
             "chg_local_del_remote", "del_local_chg_remote", "both_equal", "both_diff",
             "unchanged")


def _synced_pair(mirror: Mirror) -> None:
    """Both sides holding the same files, recorded by a first run."""
    for name in SCENARIOS:
        if not name.startswith("new_"):
            data = f"{name} as synced"
            write(mirror.local / f"dir/{name}.nfo", data, T0)
            write(mirror.remote / f"dir/{name}.nfo", data, T0)
    first = mirror.run()
    assert first.status == "succeeded", first.log
    assert first.counts["uploaded"] + first.counts["downloaded"] == 0  # equal: recorded


def _change_both_sides(local: Path, remote: Path) -> None:
    d = "dir"
    write(local / d / "new_local.nfo", "new on local", T0 + 10 * S)
    write(remote / d / "new_remote.nfo", "new on remote", T0 + 10 * S)
    write(local / d / "chg_local.nfo", "changed on local", T0 + 20 * S)
    write(remote / d / "chg_remote.nfo", "changed on remote", T0 + 20 * S)
    (local / d / "del_local.nfo").unlink()
    (remote / d / "del_remote.nfo").unlink()
    write(local / d / "chg_local_del_remote.nfo", "changed on local, gone there", T0 + 30 * S)
    (remote / d / "chg_local_del_remote.nfo").unlink()
    (local / d / "del_local_chg_remote.nfo").unlink()
    write(remote / d / "del_local_chg_remote.nfo", "changed on remote, gone here", T0 + 30 * S)
    write(local / d / "both_equal.nfo", "changed alike", T0 + 40 * S)
    write(remote / d / "both_equal.nfo", "changed alike", T0 + 40 * S)
    write(local / d / "both_diff.nfo", "changed here", T0 + 50 * S)
    write(remote / d / "both_diff.nfo", "changed there, differently", T0 + 60 * S)


def _b(name: str, how: str) -> bytes:
    return {"synced": f"{name} as synced"}.get(how, how).encode()


# What each side holds after the second run, per mode ("-" = absent), and the trash.
EXPECTED = {
    "mirror": {
        "local": {"new_local": "new on local", "new_remote": "new on remote",
                  "chg_local": "changed on local", "chg_remote": "changed on remote",
                  "chg_local_del_remote": "changed on local, gone there",
                  "del_local_chg_remote": "changed on remote, gone here",
                  "both_equal": "changed alike", "both_diff": "changed here",
                  "unchanged": "synced"},
        "counts": {"uploaded": 4, "downloaded": 3, "deleted_local": 1, "deleted_remote": 1,
                   "conflicts": 1},
        "local_trash": {"chg_remote": "synced", "del_remote": "synced"},
        "remote_trash": {"chg_local": "synced", "del_local": "synced"},
    },
    "upload": {
        "counts": {"uploaded": 4, "downloaded": 0, "deleted_local": 0, "deleted_remote": 1,
                   "conflicts": 1},
        "remote": {"new_local": "new on local", "new_remote": "new on remote",
                   "chg_local": "changed on local", "chg_remote": "changed on remote",
                   "chg_local_del_remote": "changed on local, gone there",
                   "del_local_chg_remote": "changed on remote, gone here",
                   "both_equal": "changed alike", "both_diff": "changed here",
                   "unchanged": "synced"},
        "remote_trash": {"chg_local": "synced", "del_local": "synced"},
    },
    "download": {
        "counts": {"uploaded": 0, "downloaded": 4, "deleted_local": 1, "deleted_remote": 0,
                   "conflicts": 1},
        "local": {"new_local": "new on local", "new_remote": "new on remote",
                  "chg_local": "changed on local", "chg_remote": "changed on remote",
                  "chg_local_del_remote": "changed on local, gone there",
                  "del_local_chg_remote": "changed on remote, gone here",
                  "both_equal": "changed alike", "both_diff": "changed there, differently",
                  "unchanged": "synced"},
        "local_trash": {"chg_remote": "synced", "del_remote": "synced"},
    },
}


@pytest.mark.parametrize("mode", ["mirror", "upload", "download"])
def test_second_run_follows_the_decision_table(mirror, local, smb_share, mode):
    remote = smb_share.dir
    _synced_pair(mirror)
    _change_both_sides(local, remote)
    local_before, remote_before = mirror.states()

    outcome = mirror.run(mode=mode)

    assert outcome.status == "succeeded", outcome.log
    want = EXPECTED[mode]
    assert {k: outcome.counts[k] for k in want["counts"]} == want["counts"]
    got_local, got_remote = mirror.both()

    def side(expected: dict) -> dict:
        return {f"dir/{name}.nfo": _b(name, how) for name, how in expected.items()}

    def trash(expected: dict) -> dict:
        return {f"dir/{name}.nfo": _b(name, how) for name, how in expected.items()}

    if mode == "mirror":
        kept = conflict_copies(got_local, "dir/both_diff", "remote", ".nfo")
        assert list(kept.values()) == [b"changed there, differently"]
        assert got_local == got_remote == {**side(want["local"]), **kept}
    if mode == "upload":  # never writes to the local folder
        assert mirror.states()[0] == local_before
        kept = conflict_copies(got_remote, "dir/both_diff", "remote", ".nfo")
        assert list(kept.values()) == [b"changed there, differently"]
        assert got_remote == {**side(want["remote"]), **kept}
    if mode == "download":  # never writes to the share
        assert mirror.states()[1] == remote_before
        kept = conflict_copies(got_local, "dir/both_diff", "local", ".nfo")
        assert list(kept.values()) == [b"changed here"]
        assert got_local == {**side(want["local"]), **kept}
    assert today_trash(local) == trash(want.get("local_trash", {}))
    assert today_trash(remote) == trash(want.get("remote_trash", {}))
    changed = {c["path"] for c in outcome.changes}
    assert "dir/both_equal.nfo" not in changed and "dir/unchanged.nfo" not in changed

    third = mirror.run(mode=mode)

    assert third.status == "succeeded", third.log
    assert [third.counts[k] for k in ("uploaded", "downloaded", "deleted_local",
                                      "deleted_remote", "conflicts")] == [0] * 5
    assert mirror.both() == (got_local, got_remote)


# --- conflicts under each policy --------------------------------------------------------------

@pytest.mark.parametrize("policy, newer, name_holds, trash_side, trash_holds", [
    ("keep-both", "remote", "mine", None, None),
    ("newer", "remote", "theirs, longer", "local", "mine"),
    ("newer", "local", "mine", "remote", "theirs, longer"),
    ("local", "remote", "mine", "remote", "theirs, longer"),
    ("remote", "local", "theirs, longer", "local", "mine"),
])
def test_a_conflict_is_settled_by_the_policy(mirror, local, smb_share, policy, newer,
                                             name_holds, trash_side, trash_holds):
    remote = smb_share.dir
    write(local / "a/x.nfo", "synced", T0)
    write(remote / "a/x.nfo", "synced", T0)
    assert mirror.run().status == "succeeded"
    write(local / "a/x.nfo", "mine", T0 + (200 if newer == "local" else 100) * S)
    write(remote / "a/x.nfo", "theirs, longer", T0 + (200 if newer == "remote" else 100) * S)

    outcome = mirror.run(conflict=policy)

    assert (outcome.status, outcome.counts["conflicts"]) == ("succeeded", 1), outcome.log
    got_local, got_remote = mirror.both()
    assert got_local == got_remote
    assert got_local["a/x.nfo"] == name_holds.encode()
    kept = conflict_copies(got_local, "a/x", "remote", ".nfo")
    if policy == "keep-both":
        assert list(kept.values()) == [b"theirs, longer"]
        assert len(got_local) == 2
    else:
        assert kept == {} and len(got_local) == 1
        side = local if trash_side == "local" else remote
        assert today_trash(side) == {"a/x.nfo": trash_holds.encode()}
    assert "conflict: a/x.nfo" in outcome.log
    assert mirror.run(conflict=policy).counts["conflicts"] == 0


# --- a killed run, resumed --------------------------------------------------------------------

def test_a_run_killed_mid_transfer_leaves_no_partial_file_and_the_next_run_resumes(
        local, smb_share, tmp_path):
    remote, data = smb_share.dir, tmp_path / "data"
    total = 300
    content = {f"d{i % 10}/f{i:03}.bin": os.urandom(200_000) for i in range(total)}
    for rel, blob in content.items():
        write(local / rel, blob)
    child = subprocess.Popen(cli_command(local, smb_share, data, "--json"),
                             env=cli_env(smb_share.server.password), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while len(final_names(remote)) < 20 and time.monotonic() < deadline:
            assert child.poll() is None, child.communicate()
            time.sleep(0.01)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
    arrived = files(remote)
    assert 20 <= len(arrived) < total

    for rel, blob in arrived.items():  # every final-named file is whole
        assert blob == content[rel], rel
    assert files(local) == content  # the source is untouched

    again = run_cli(local, smb_share, data, "--json")

    s = again.summary
    assert (again.code, s["status"]) == (0, "succeeded"), again.err
    assert s["uploaded"] <= total - len(arrived)
    assert s["uploaded"] + s["unchanged"] == total and s["conflicts"] == 0
    assert files(remote) == files(local) == content
    assert not [p for p in disk(local) if TEMP_PREFIX in p]
    assert run_cli(local, smb_share, data, "--json").summary["unchanged"] == total


# --- the server killed mid-run ----------------------------------------------------------------

def test_a_server_killed_mid_run_ends_it_unsucceeded_and_the_next_run_finishes(
        mirror, local, smb_share):
    remote = smb_share.dir
    content = {f"d{i % 4}/f{i:03}.bin": os.urandom(200_000) for i in range(80)}
    for rel, blob in content.items():
        write(local / rel, blob)
    killed = threading.Event()

    def kill_after_some(snapshot: dict) -> None:
        if snapshot["files_done"] >= 10 and not killed.is_set():
            killed.set()
            threading.Thread(target=smb_share.server.kill).start()

    started = time.monotonic()
    outcome = mirror.run(progress=MirrorProgress(kill_after_some, interval=0), concurrency=2,
                         attempts=2)
    took = time.monotonic() - started

    assert killed.is_set()
    assert outcome.status in ("failed", "partial"), outcome.log
    assert "cannot reach the server" in outcome.summary.error
    assert took < 30, f"a dead server kept the run going {took:.0f} s"
    arrived = files(remote)
    assert len(arrived) < len(content)
    for rel, blob in arrived.items():
        assert blob == content[rel], rel

    down = mirror.run()  # a run that starts with the server still down
    assert down.status == "failed"
    assert "cannot reach the server" in down.summary.error
    assert "internal error" not in down.log

    smb_share.server.start()
    again = mirror.run()

    assert again.status == "succeeded", again.log
    assert files(remote) == files(local) == content


# --- pause, resume, stop ----------------------------------------------------------------------

def _paused_run(mirror: Mirror, controls: Controls, count: int) -> tuple:
    content = {f"p/f{i:03}.bin": os.urandom(100_000) for i in range(count)}
    for rel, blob in content.items():
        write(mirror.local / rel, blob)
    seen: dict = {}

    def pause_early(snapshot: dict) -> None:
        seen.update(snapshot)
        if snapshot["files_done"] >= 3 and "paused_at" not in seen:
            seen["paused_at"] = snapshot["files_done"]
            controls.paused.set()

    result: dict = {}
    runner = threading.Thread(target=lambda: result.update(outcome=mirror.run(
        controls=controls, progress=MirrorProgress(pause_early, interval=0), concurrency=2)))
    runner.start()
    deadline = time.monotonic() + 20
    while seen.get("phase") != "paused" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert seen.get("phase") == "paused"
    time.sleep(0.3)  # files already past their last checkpoint finish
    return runner, result, seen


def test_a_paused_run_moves_nothing_until_resumed(mirror, local, smb_share):
    controls = Controls()
    runner, result, seen = _paused_run(mirror, controls, 40)

    while_paused = files(smb_share.dir)
    time.sleep(1.0)
    assert files(smb_share.dir) == while_paused
    assert 3 <= len(while_paused) < 40
    controls.paused.clear()
    deadline = time.monotonic() + 10
    while len(final_names(smb_share.dir)) < len(while_paused) + 2 \
            and time.monotonic() < deadline:
        time.sleep(0.01)
    resumed_phase = seen["phase"]
    runner.join(30)

    outcome = result["outcome"]
    assert outcome.status == "succeeded", outcome.log
    assert outcome.counts["uploaded"] == 40
    assert files(smb_share.dir) == files(local)
    assert "paused" in outcome.log and "resumed" in outcome.log
    assert resumed_phase == "execute"  # what the panel shows once resumed


def test_a_run_stopped_while_paused_is_cancelled(mirror, local, smb_share):
    controls = Controls()
    runner, result, _seen = _paused_run(mirror, controls, 40)

    controls.cancel.set()
    runner.join(30)

    outcome = result["outcome"]
    assert outcome.status == "cancelled", outcome.log
    arrived = files(smb_share.dir)
    assert len(arrived) < 40
    for rel, blob in arrived.items():
        assert blob == (local / rel).read_bytes()
    again = mirror.run()
    assert again.status == "succeeded"
    assert again.counts["uploaded"] == 40 - len(arrived)
    assert files(smb_share.dir) == files(local)


# --- dry runs ---------------------------------------------------------------------------------

def test_a_dry_run_shows_the_plan_and_changes_nothing(local, smb_share, tmp_path):
    remote, data = smb_share.dir, tmp_path / "data"
    write(local / "up/a.nfo", "a")
    write(remote / "down/b.nfo", "b")
    write(local / "gone.nfo", "g", T0)
    write(remote / "gone.nfo", "g", T0)
    before = (disk(local), disk(remote))

    dry = run_cli(local, smb_share, data, "--dry-run")

    assert dry.code == 0, dry.err
    assert "dry run: nothing changed" in dry.out
    assert "upload        up/a.nfo" in dry.out and "download      down/b.nfo" in dry.out
    assert (disk(local), disk(remote)) == before
    assert not (local / MARKER).exists() and not (remote / MARKER).exists()

    assert run_cli(local, smb_share, data, "--json").summary["status"] == "succeeded"
    (local / "gone.nfo").unlink()
    before = (disk(local), disk(remote))

    dry = run_cli(local, smb_share, data, "--dry-run", "--json")

    assert dry.summary["dry_run"] is True and dry.summary["deleted_remote"] == 1
    assert (disk(local), disk(remote)) == before
    text = run_cli(local, smb_share, data, "--dry-run")
    assert "delete_remote gone.nfo" in text.out
    real = run_cli(local, smb_share, data, "--json")
    assert real.summary["deleted_remote"] == 1  # the dry runs left the change to be done
    assert not (remote / "gone.nfo").exists()
    assert today_trash(remote) == {"gone.nfo": b"g"}
